"""Print-ready ID-1 cards: front and back at 300 dpi, single-card and A4-sheet PDFs.

:func:`render_card` (or :func:`render_front` / :func:`render_back`) draws a record and its payload
with a :class:`Layout` (:func:`default_layout`, :func:`layout_from_json`); :func:`card_pdf` and
:func:`sheet_pdf` lay the images out for printing. The card geometry (``WIDTH``, ``HEIGHT``, the
MRZ zone, the QR module size) and :func:`font` are shared with the MRZ reader in
:mod:`cardlib.scan`. Needs the ``cards`` extra (Pillow).
"""

from __future__ import annotations

from ._card import (
    DPI,
    HEIGHT,
    MRZ_LINE_PITCH,
    MRZ_ZONE,
    QR_MODULE_PX,
    WIDTH,
    CardImages,
    render_back,
    render_card,
    render_front,
)
from ._layout import Bilingual, Layout, default_layout, layout_from_json
from ._pdf import card_pdf, sheet_pdf
from ._text import font

__all__ = [
    "DPI",
    "HEIGHT",
    "MRZ_LINE_PITCH",
    "MRZ_ZONE",
    "QR_MODULE_PX",
    "WIDTH",
    "Bilingual",
    "CardImages",
    "Layout",
    "card_pdf",
    "default_layout",
    "font",
    "layout_from_json",
    "render_back",
    "render_card",
    "render_front",
    "sheet_pdf",
]
