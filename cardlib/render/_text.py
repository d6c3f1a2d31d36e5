"""Fonts and text shaping: the one seam for fontpkg, arabic-reshaper and python-bidi.

Arabic is shaped with arabic-reshaper and put in visual order with python-bidi, then drawn with
Pillow's BASIC layout engine, pinned, so the output is identical whether or not the system has
libraqm/libfribidi (never combine reshaper+bidi with RAQM: that reverses the text twice). Only
the mandatory lam-alef ligatures are on; the "Allah" and other word ligatures are off (they
produce glyphs with marks that fonts may lack).
"""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=4096)
def visual(text: str) -> str:
    """Text in the order it is drawn: Arabic shaped and right-to-left, Latin unchanged."""
    if not any("\u0600" <= ch <= "\u08ff" for ch in text):
        return text
    return str(get_display(_RESHAPER.reshape(text)))
