"""Fonts and text shaping: the one seam for fontpkg, arabic-reshaper and python-bidi.

The machine-readable zone is printed in OCR-B (ICAO 9303 requires it), from Debian's
``fonts-ocr-b`` package (public domain); without it, in IBM Plex Mono Medium of about the same
height, with a :class:`MrzFontWarning` (:func:`mrz_face`).

Arabic is shaped with arabic-reshaper and put in visual order with python-bidi, then drawn with
Pillow's BASIC layout engine, pinned, so the output is identical whether or not the system has
libraqm/libfribidi (never combine reshaper+bidi with RAQM: that reverses the text twice). Only
the mandatory lam-alef ligatures are on; the "Allah" and other word ligatures are off (they
produce glyphs with marks that fonts may lack).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import arabic_reshaper
import fontpkg
from bidi import get_display
from PIL import ImageFont

from .._errors import FontError

_RESHAPER_CONFIG = {
    key: (key.startswith("ARABIC LIGATURE LAM WITH ALEF") if "LIGATURE" in key else value)
    for key, value in arabic_reshaper.reshaper_config.default_config.items()
}
_RESHAPER_CONFIG["support_ligatures"] = True
_RESHAPER = arabic_reshaper.ArabicReshaper(configuration=_RESHAPER_CONFIG)

FAMILIES = {"arabic": "Noto Sans Arabic", "latin": "Noto Sans", "mono": "IBM Plex Mono"}

#: Where OCR-B is looked for, in order: Debian's ``fonts-ocr-b`` (``apt-get install fonts-ocr-b``).
OCR_B_PATHS: tuple[str, ...] = ("/usr/share/fonts/opentype/ocr-b/OCRB.otf",)
#: The MRZ type size in px at 300 dpi: OCR-B size I, capitals 29 px (2.46 mm), digits 31 px
#: (2.62 mm), as ECMA-11 gives them (2.46 and 2.60 mm).
MRZ_FONT_PX = 39
#: The fallback, IBM Plex Mono Medium (the MRZ face before OCR-B), at the size that gives its
#: capitals the height of OCR-B's digits, 31 px: (kind, px, weight) for :func:`font`. (At 42 px,
#: capitals as tall as OCR-B's, the MRZ reader declined 38 of 560 degraded scans, telling D from
#: O and B from 8; at 44 px none.)
MRZ_FALLBACK = ("mono", 44, 500)


@lru_cache(maxsize=64)
def font(kind: str, size: int, weight: int = 400) -> ImageFont.FreeTypeFont:
    """A font from the pip-installed font packages, BASIC layout, at ``size`` px."""
    try:
        path = fontpkg.path(FAMILIES[kind], weight=weight, nearest=True)
    except (KeyError, fontpkg.FontpkgError) as err:
        raise FontError(f"font {kind!r} is not installed: pip install 'cardlib[cards]'") from err
    loaded = ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    try:
        axes = loaded.get_variation_axes()
    except OSError:  # not a variable font
        return loaded
    values = [float(weight) if axis.get("name") in (b"Weight", "Weight")
              else float(axis.get("default") or 0) for axis in axes]
    loaded.set_variation_by_axes(values)
    return loaded


class MrzFontWarning(UserWarning):
    """OCR-B is not installed: the machine-readable zone is printed, and read back, in the
    fallback face, which ICAO 9303 does not allow and which cardlib does not read on cards
    printed with OCR-B. Install it: ``apt-get install fonts-ocr-b`` (Debian, Ubuntu)."""


@dataclass(frozen=True, slots=True)
class MrzFace:
    """The face the machine-readable zone is drawn in (and the MRZ reader matches against):
    ``name`` is "OCR-B" or the fallback's name, ``ocr_b`` whether it is OCR-B."""

    font: ImageFont.FreeTypeFont
    name: str
    ocr_b: bool


@lru_cache(maxsize=1)
def mrz_face() -> MrzFace:
    """OCR-B at :data:`MRZ_FONT_PX` from the first of :data:`OCR_B_PATHS` that exists, or
    :data:`MRZ_FALLBACK` with a :class:`MrzFontWarning`, issued once: the answer is kept for
    the life of the process."""
    for candidate in OCR_B_PATHS:
        if Path(candidate).is_file():
            try:
                loaded = ImageFont.truetype(candidate, MRZ_FONT_PX,
                                            layout_engine=ImageFont.Layout.BASIC)
            except OSError:  # unreadable or not a font: try the next, then fall back
                continue
            return MrzFace(loaded, "OCR-B", True)
    warnings.warn(
        "OCR-B is not installed (apt-get install fonts-ocr-b): the machine-readable zone is "
        "printed and read in IBM Plex Mono instead, which ICAO 9303 does not allow, and the "
        "zone of a card printed in OCR-B is not read here",
        MrzFontWarning, stacklevel=2)
    kind, size, weight = MRZ_FALLBACK
    return MrzFace(font(kind, size, weight), "IBM Plex Mono Medium", False)


@lru_cache(maxsize=4096)
def visual(text: str) -> str:
    """Text in the order it is drawn: Arabic shaped and right-to-left, Latin unchanged."""
    if not any("\u0600" <= ch <= "\u08ff" for ch in text):
        return text
    return str(get_display(_RESHAPER.reshape(text)))
