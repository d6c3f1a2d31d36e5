"""Cards you can print and scan (needs ``pip install 'cardlib[cards]'``).

    from cardlib import cards
    portrait = cards.prepare_portrait(jpeg_bytes)                  # card image + payload photo
    images = cards.render_card(record, payload, cards.default_layout(), portrait.card_image)
    pdf = cards.card_pdf(images)                                  # exact ID-1 size, 2 pages
    result = cards.scan(cards.load_image(scan_bytes), trust)      # verify + cross-check print
"""

from __future__ import annotations

from .barcodes import (
    Decoded,
    QrMatrix,
    available_backends,
    code128_image,
    load_image,
    qr_image,
    qr_matrix,
    read_barcodes,
)
from .mrz import Td1, check_digit, parse_td1, td1_lines, transliterate_arabic
from .photo import PreparedPortrait, prepare_portrait
from .render import (
    CardImages,
    Layout,
    card_pdf,
    default_layout,
    layout_from_json,
    render_back,
    render_card,
    render_front,
    sheet_pdf,
)
from .scan import ScanResult, check_decoded, scan

__all__ = [
    "CardImages",
    "Decoded",
    "Layout",
    "PreparedPortrait",
    "QrMatrix",
    "ScanResult",
    "Td1",
    "available_backends",
    "card_pdf",
    "check_decoded",
    "check_digit",
    "code128_image",
    "default_layout",
    "layout_from_json",
    "load_image",
    "parse_td1",
    "prepare_portrait",
    "qr_image",
    "qr_matrix",
    "read_barcodes",
    "render_back",
    "render_card",
    "render_front",
    "scan",
    "sheet_pdf",
    "td1_lines",
    "transliterate_arabic",
]
