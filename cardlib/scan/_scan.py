"""Scan a card image: decode the QR and Code128, read the MRZ, verify, cross-check the print.

The printed data must equal the signed data: the national number in the Code128 (front), and
the document number and holder number in the MRZ (back). A mismatch is a tampered print
(``print_mismatch``), distinct from a bad signature. An MRZ that cannot be read with certainty
(its check digits decide) is reported as not read, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image

from .._errors import BarcodeNotFoundError, PrintMismatchError
from .._pipeline import VerifiedCard, verify
from ..barcodes import Decoded, read_barcodes
from ..keys import PublicKey, TrustStore
from ..mrz import parse_td1
from ._mrz_ocr import read_mrz

_BASE45 = re.compile(r"[0-9A-Z $%*+\-./:]+")
_NUMBER = re.compile(r"[A-Z0-9]{6,20}")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A verified card and what was found on the image."""

    card: VerifiedCard
    barcodes: tuple[Decoded, ...]
    mrz: tuple[str, str, str] | None  # the machine-readable zone, when read with certainty
    # True: printed data (Code128, MRZ) was found and matches the signed data; None: the image
    # shows nothing printed to compare (a mismatch raises PrintMismatchError instead).
    agrees: bool | None


def scan(
    image: Image.Image,
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    backend: str = "zxing",
    now: datetime | None = None,
    mrz: bool = True,
) -> ScanResult:
    """Decode and verify a card image; raise a :class:`CardError` on any failure.

    With ``mrz`` (the default) the machine-readable zone is read too (≈ 10 ms more) and its
    document and holder numbers are cross-checked with the signed ones.
    """
    found = read_barcodes(image, backend=backend)
    return check_decoded(found, trust, now=now, image=image if mrz else None)


def check_decoded(
    found: tuple[Decoded, ...],
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    now: datetime | None = None,
    image: Image.Image | None = None,
) -> ScanResult:
    """Verify the QR payload among ``found`` and cross-check the printed data with it: every
    Code128 shaped like a holder number, and (given ``image``) the MRZ next to the QR code.
    A disagreement raises :class:`PrintMismatchError`."""
    payload = card_payload(found)
    card = verify(payload.text, trust, now=now)
    check = compare_print(found, card, payload, image=image, now=now)
    if check.mismatch is not None:
        raise PrintMismatchError(check.mismatch)
    return ScanResult(card, found, check.mrz, check.agrees)


def card_payload(found: tuple[Decoded, ...]) -> Decoded:
    """The one card QR code among ``found`` (other QR codes in the picture, a poster's URL, are
    not cards: only Base45 text is); :class:`BarcodeNotFoundError` for none or several."""
    payloads = [d for d in found if d.format == "qr" and _BASE45.fullmatch(d.text)]
    if not payloads:
        kinds = ", ".join(sorted({d.format for d in found})) or "nothing"
        raise BarcodeNotFoundError(
            f"no card QR code was found (found: {kinds}); scan the back of the card, flat and "
            "sharp")
    if len({d.text for d in payloads}) > 1:
        raise BarcodeNotFoundError("the image holds QR codes of more than one card; scan one card")
    return payloads[0]


@dataclass(frozen=True, slots=True)
class PrintCheck:
    """The printed data compared with the signed data: ``agrees`` is True (all printed data
    found matches), False (``mismatch`` says what differs) or None (nothing printed to
    compare); ``mrz`` holds the machine-readable zone when it was read with certainty."""

    agrees: bool | None
    mismatch: str | None
    mrz: tuple[str, str, str] | None


def compare_print(
    found: tuple[Decoded, ...],
    card: VerifiedCard,
    payload: Decoded,
    *,
    image: Image.Image | None = None,
    now: datetime | None = None,
) -> PrintCheck:
    """Compare the print with the verified ``card``: every Code128 shaped like a holder number,
    and (given ``image``) the MRZ next to the QR code ``payload``."""
    record = card.record
    signed_number = record.identifier if record is not None else card.claims.id
    # Only Code128 symbols shaped like a holder number are the card's print; others are ignored.
    printed = [d.text for d in found if d.format == "code128" and _NUMBER.fullmatch(d.text)]
    if any(text != signed_number for text in printed):
        return PrintCheck(False, "the printed number (Code128) does not match the signed number "
                          "in the QR code: the card print has been altered", None)
    lines = read_mrz(image, payload) if image is not None and record is not None else None
    if lines is not None and record is not None:
        today = (now or datetime.now(UTC)).date()
        zone = parse_td1(lines, today=today)
        if zone.document_number != record.document_number or (
                zone.identifier is not None and zone.identifier != record.identifier):
            return PrintCheck(False, "the machine-readable zone does not match the signed "
                              "document or holder number in the QR code: the card print has "
                              "been altered", lines)
    compared = bool(printed) or lines is not None
    return PrintCheck(True if compared else None, None, lines)
