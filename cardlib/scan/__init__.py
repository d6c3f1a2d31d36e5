"""Reading a card back from a photo or scan: find the barcodes, verify, cross-check the print.

:func:`scan` reads and verifies a card image; :func:`check_decoded` does the same from barcodes
already read; :func:`card_payload` picks the card's QR code among them, :func:`compare_print`
cross-checks the print (a :class:`PrintCheck`) and :func:`read_mrz` reads the printed MRZ.
Needs the ``cards`` extra.
"""

from __future__ import annotations

from ._mrz_ocr import read_mrz
from ._scan import PrintCheck, ScanResult, card_payload, check_decoded, compare_print, scan

__all__ = [
    "PrintCheck",
    "ScanResult",
    "card_payload",
    "check_decoded",
    "compare_print",
    "read_mrz",
    "scan",
]
