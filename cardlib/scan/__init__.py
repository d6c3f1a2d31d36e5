"""Reading a card back from a photo or scan: find the barcodes, verify, cross-check the print.

:func:`scan` reads and verifies a card image; :func:`check_decoded` does the same from barcodes
already read; :func:`card_payload` picks the card's QR code among them, :func:`compare_print`
cross-checks the print (a :class:`PrintCheck`: each printed element agrees, disagrees or was
not read), :func:`read_mrz` and :func:`read_zone` read the printed MRZ with the QR code as the
registration mark, and :func:`unsigned_zone` finds it by its own lines when the QR code cannot
be read (printed, not signed; :func:`add_unsigned_zone` puts it on the error). Needs the
``cards`` extra.
"""

from __future__ import annotations

from ._mrz_ocr import Zone, read_mrz, read_zone
from ._scan import (
    PrintCheck,
    ScanResult,
    add_unsigned_zone,
    card_payload,
    check_decoded,
    compare_print,
    read_card_barcodes,
    scan,
    unsigned_zone,
)

__all__ = [
    "PrintCheck",
    "ScanResult",
    "Zone",
    "add_unsigned_zone",
    "card_payload",
    "check_decoded",
    "compare_print",
    "read_card_barcodes",
    "read_mrz",
    "read_zone",
    "scan",
    "unsigned_zone",
]
