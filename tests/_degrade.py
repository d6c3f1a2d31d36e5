"""Degraded-scan recipes shared by the robustness tests (scanning and MRZ reading)."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageFilter

Degradation = Callable[[Image.Image], Image.Image]


def jpeg(image: Image.Image, quality: int = 60) -> Image.Image:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def half_dpi(image: Image.Image) -> Image.Image:
    """300 dpi → 150 dpi."""
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)


def rotate(angle: float) -> Degradation:
    def turned(image: Image.Image) -> Image.Image:
        return image.rotate(angle, expand=True, fillcolor=(255, 255, 255),
                            resample=Image.Resampling.BILINEAR)
    return turned


def blur(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(1))


def skew(image: Image.Image) -> Image.Image:
    """A phone held at an angle: the far edge 6 % narrower."""
    w, h = image.size
    return image.transform((w, h), Image.Transform.QUAD,
                           (0, 0, int(w * 0.03), h, int(w * 0.97), h, w, 0),
                           Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))


def uneven_light(image: Image.Image) -> Image.Image:
    """Light falling off from right to left: the left edge at 59 % brightness."""
    gradient = Image.linear_gradient("L").rotate(90).resize(image.size)
    mask = gradient.point(lambda v: 150 + v * 105 // 255)
    return Image.composite(image.convert("RGB"), Image.new("RGB", image.size, (0, 0, 0)), mask)


def chain_150dpi(image: Image.Image, angle: float = 5) -> Image.Image:
    """The full 150 dpi chain: downscale, rotate, blur, JPEG quality 60."""
    return jpeg(blur(rotate(angle)(half_dpi(image))))
