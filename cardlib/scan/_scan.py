"""Scan a card image: decode the QR and Code128, verify the payload, cross-check the print.

The printed national number (Code128 on the front) must equal the signed one: a mismatch is a
tampered print (``print_mismatch``), distinct from a bad signature.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

from .._errors import BarcodeNotFoundError, PrintMismatchError
from .._pipeline import VerifiedCard, verify
from ..barcodes._read import Decoded, read_barcodes
from ..keys._keys import PublicKey
from ..keys._trust import TrustStore

_BASE45 = re.compile(r"[0-9A-Z $%*+\-./:]+")
_NUMBER = re.compile(r"[A-Z0-9]{6,20}")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A verified card and what was found on the image."""

    card: VerifiedCard
    barcodes: tuple[Decoded, ...]
    # True: a printed number (Code128) was found and matches the signed one; None: the image
    # shows no printed number to compare (a mismatch raises PrintMismatchError instead).
    agrees: bool | None


def scan(
    image: Image.Image,
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    backend: str = "zxing",
    now: datetime | None = None,
) -> ScanResult:
    """Decode and verify a card image; raise a :class:`CardError` on any failure."""
    return check_decoded(read_barcodes(image, backend=backend), trust, now=now)


def check_decoded(
    found: tuple[Decoded, ...],
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    now: datetime | None = None,
) -> ScanResult:
    """Verify the QR payload among ``found`` and cross-check every printed Code128 with it."""
    # Other QR codes in the picture (a poster's URL, ...) are not cards: only Base45 text is.
    payloads = [d for d in found if d.format == "qr" and _BASE45.fullmatch(d.text)]
    if not payloads:
        kinds = ", ".join(sorted({d.format for d in found})) or "nothing"
        raise BarcodeNotFoundError(
            f"no card QR code was found (found: {kinds}); scan the back of the card, flat and "
            "sharp")
    if len({d.text for d in payloads}) > 1:
        raise BarcodeNotFoundError("the image holds QR codes of more than one card; scan one card")
    card = verify(payloads[0].text, trust, now=now)
    signed_number = card.record.identifier if card.record is not None else card.claims.id
    # Only Code128 symbols shaped like a holder number are the card's print; others are ignored.
    printed = [d.text for d in found if d.format == "code128" and _NUMBER.fullmatch(d.text)]
    for text in printed:
        if text != signed_number:
            raise PrintMismatchError(
                "the printed number (Code128) does not match the signed number in the QR code: "
                "the card print has been altered")
    return ScanResult(card, found, True if printed else None)
