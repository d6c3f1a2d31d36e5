"""Scan a card image: decode the QR and Code128, verify the payload, cross-check the print.

The printed national number (Code128 on the front) must equal the signed one: a mismatch is a
tampered print (``print_mismatch``), distinct from a bad signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

from .._errors import BarcodeNotFoundError, PrintMismatchError
from .._pipeline import VerifiedCard, verify
from ..barcodes._read import Decoded, read_barcodes
from ..keys._keys import PublicKey
from ..keys._trust import TrustStore


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A verified card and what was found on the image."""

    card: VerifiedCard
    barcodes: tuple[Decoded, ...]
    agrees: bool  # every printed identifier found matches the signed record


def scan(
    image: Image.Image,
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    backend: str = "zxing",
    now: datetime | None = None,
) -> ScanResult:
    """Decode and verify a card image; raise a :class:`CardError` on any failure."""
    found = read_barcodes(image, backend=backend)
    payloads = [d for d in found if d.format == "qr"]
    if not payloads:
        kinds = ", ".join(sorted({d.format for d in found})) or "nothing"
        raise BarcodeNotFoundError(
            f"no QR code was found (found: {kinds}); scan the back of the card, flat and sharp")
    card = verify(payloads[0].text, trust, now=now)
    signed_number = card.record.identifier if card.record is not None else card.claims.id
    for printed in (d for d in found if d.format == "code128"):
        if printed.text != signed_number:
            raise PrintMismatchError(
                "the printed number (Code128) does not match the signed number in the QR code: "
                "the card print has been altered")
    return ScanResult(card, found, True)
