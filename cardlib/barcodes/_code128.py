"""Text (the national number) → Code128 image. The only module that imports python-barcode.

python-barcode sizes everything in millimetres and converts with ``mm * dpi / 25.4``, then
truncates to whole pixels. A module width of exactly ``k * 25.4 / dpi`` mm can land a hair under
``k`` px (0.254 mm gives 2.9999 px) and bars come out uneven; adding 1e-7 mm makes every edge land
on an exact multiple of ``module_px``. The result is checked: width = (modules + 2 × quiet zone) ×
``module_px``, height = ``height_px``.

Printing: X = 4 px at 300 dpi (0.34 mm) with a quiet zone of at least 10 modules each side survived
a simulated 150 dpi scan; 3 px did not. Smaller settings are refused unless ``allow_small=True``.
"""

from __future__ import annotations

from typing import Any

from barcode.codex import Code128
from barcode.writer import ImageWriter
from PIL import Image

from .._errors import BarcodeError

MIN_MODULE_MM = 4 * 25.4 / 300  # 0.339 mm: 4 px at 300 dpi
MIN_QUIET_MODULES = 10
MAX_TEXT = 80
_EPSILON_MM = 1e-7


def code128_image(
    text: str,
    *,
    module_px: int = 4,
    height_px: int = 120,
    quiet_modules: int = MIN_QUIET_MODULES,
    dpi: int = 300,
    human_readable: bool = False,
    allow_small: bool = False,
) -> Image.Image:
    """Draw ``text`` (printable ASCII, up to 80 characters) as a Code128 symbol: a grayscale ("L")
    image, black bars on white, every bar and space an exact multiple of ``module_px`` pixels,
    ``quiet_modules`` light modules on each side, bars ``height_px`` tall.

    No human-readable line is drawn under the bars (the card prints the number itself) unless
    ``human_readable=True``; the image is then taller than ``height_px``.
    """
    if not text or len(text) > MAX_TEXT:
        raise BarcodeError(f"Code128 text must have 1 to {MAX_TEXT} characters, not {len(text)}")
    for index, char in enumerate(text):
        if not " " <= char <= "~":
            raise BarcodeError(
                f"character {char!r} at position {index} cannot go in the card's Code128: use "
                "printable ASCII (the national number is digits)"
            )
    if not 72 <= dpi <= 2400:
        raise BarcodeError(f"dpi must be between 72 and 2400, not {dpi}")
    if not 1 <= module_px <= 64 or not 1 <= height_px <= 4096 or not 0 <= quiet_modules <= 100:
        raise BarcodeError(
            "module_px must be 1-64, height_px 1-4096 and quiet_modules 0-100, not "
            f"{module_px}, {height_px} and {quiet_modules}"
        )
    module_mm = module_px * 25.4 / dpi
    if not allow_small and module_mm < MIN_MODULE_MM - 1e-9:
        raise BarcodeError(
            f"a {module_px} px module at {dpi} dpi is {module_mm:.3f} mm, under the 0.34 mm that "
            "printed cards need to scan; pass allow_small=True only for screen previews"
        )
    if not allow_small and quiet_modules < MIN_QUIET_MODULES:
        raise BarcodeError(
            f"Code128 needs a quiet zone of at least {MIN_QUIET_MODULES} modules, not "
            f"{quiet_modules}"
        )
    options: dict[str, Any] = {
        "module_width": module_mm + _EPSILON_MM,
        "module_height": height_px * 25.4 / dpi + _EPSILON_MM,
        "quiet_zone": quiet_modules * module_mm + _EPSILON_MM,
        "margin_top": 0,
        "margin_bottom": 0,
        "background": "white",
        "foreground": "black",
        "write_text": human_readable,
    }
    try:
        modules = len(Code128(text).build()[0])
        image = Code128(text, writer=ImageWriter(mode="L", dpi=dpi)).render(options)
    except Exception as err:  # python-barcode raises its own errors and built-ins
        raise BarcodeError(f"python-barcode could not draw Code128 for {text!r}: {err}") from err
    if not isinstance(image, Image.Image):
        raise BarcodeError("python-barcode did not return an image")
    width = (modules + 2 * quiet_modules) * module_px
    if image.width != width or (not human_readable and image.height != height_px):
        raise BarcodeError(
            f"python-barcode drew {image.width}x{image.height} px, expected {width}x{height_px}: "
            "module widths are not exact pixel multiples"
        )
    return image
