"""Print-ready ID-1 cards: front and back at 300 dpi, single-card and A4-sheet PDFs.

:func:`render_card` (or :func:`render_front` / :func:`render_back`) draws a record and its payload
with a :class:`Layout` (:func:`default_layout`, :func:`layout_from_json`); :func:`card_pdf` and
:func:`sheet_pdf` lay the images out for printing. The card geometry (``WIDTH``, ``HEIGHT``, the
MRZ geometry, the QR module size and area), :func:`font` and :func:`mrz_face` (OCR-B, or a
fallback with a :class:`MrzFontWarning`) are shared with the MRZ reader in :mod:`cardlib.scan`;
:func:`back_capacity` tells how long a payload the back holds, :func:`back_qr` which QR code
it carries. Needs the ``cards`` extra
(Pillow); OCR-B comes from Debian's ``fonts-ocr-b``.
"""

from __future__ import annotations

from ._card import (
    DPI,
    HEIGHT,
    MARGIN,
    MRZ_BASELINE,
    MRZ_INK_TOP,
    MRZ_LEFT,
    MRZ_LINE_PITCH,
    MRZ_PITCH,
    MRZ_ZONE,
    QR_AREA,
    QR_MODULE_PX,
    WIDTH,
    CardImages,
    back_capacity,
    back_qr,
    render_back,
    render_card,
    render_front,
)
from ._layout import Bilingual, Layout, default_layout, layout_from_json
from ._pdf import card_pdf, sheet_pdf
from ._text import MRZ_FONT_PX, MrzFace, MrzFontWarning, font, mrz_face

__all__ = [
    "DPI",
    "HEIGHT",
    "MARGIN",
    "MRZ_BASELINE",
    "MRZ_FONT_PX",
    "MRZ_INK_TOP",
    "MRZ_LEFT",
    "MRZ_LINE_PITCH",
    "MRZ_PITCH",
    "MRZ_ZONE",
    "QR_AREA",
    "QR_MODULE_PX",
    "WIDTH",
    "Bilingual",
    "CardImages",
    "Layout",
    "MrzFace",
    "MrzFontWarning",
    "back_capacity",
    "back_qr",
    "card_pdf",
    "default_layout",
    "font",
    "layout_from_json",
    "mrz_face",
    "render_back",
    "render_card",
    "render_front",
    "sheet_pdf",
]
