"""Degraded-scan recipes shared by the robustness tests (scanning and MRZ reading)."""

from __future__ import annotations

import io
import math
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


def tilt(degrees: float, axis: float = 30.0, *, turn: float = 0.0,
         distance: float = 2.0) -> Degradation:
    """A hand-held photo: the card tilted ``degrees`` out of its plane about an axis ``axis``
    degrees from the horizontal, seen by a pinhole camera ``distance`` image widths away
    (true keystone), then turned ``turn`` degrees; on a grey table with a margin."""
    from ._photos import perspective_coefficients  # the corpus' own 8x8 solver

    def photographed(image: Image.Image) -> Image.Image:
        w, h = image.size
        t, a, r = math.radians(degrees), math.radians(axis), math.radians(turn)
        focal = distance * w
        points = []
        for x, y in ((0, 0), (w, 0), (w, h), (0, h)):
            px, py = x - w / 2, y - h / 2
            u = px * math.cos(a) + py * math.sin(a)  # along the tilt axis
            v = -px * math.sin(a) + py * math.cos(a)  # across it: this leaves the plane
            depth = v * math.sin(t)
            v *= math.cos(t)
            px, py = u * math.cos(a) - v * math.sin(a), u * math.sin(a) + v * math.cos(a)
            k = focal / (focal + depth)
            px, py = px * k, py * k
            points.append((px * math.cos(r) - py * math.sin(r),
                           px * math.sin(r) + py * math.cos(r)))
        left = min(p[0] for p in points) - 60
        top = min(p[1] for p in points) - 60
        points = [(x - left, y - top) for x, y in points]
        size = (round(max(p[0] for p in points) + 60), round(max(p[1] for p in points) + 60))
        coefficients = perspective_coefficients(points, [(0, 0), (w, 0), (w, h), (0, h)])
        return image.convert("RGB").transform(size, Image.Transform.PERSPECTIVE, coefficients,
                                              Image.Resampling.BICUBIC, fillcolor=(96, 104, 112))
    return photographed


# The degraded-scan recipes a card back's QR code must survive (tests/test_scan.py for today's
# card, tests/test_render.py for the photo card; the README's robustness table).
BACK_RECIPES: dict[str, Degradation] = {
    "150dpi": half_dpi,
    "jpeg60": jpeg,
    "rotate5": rotate(5),
    "blur1": blur,
    "skew": skew,
    "lighting": uneven_light,
    "150dpi+jpeg60+rotate5+blur1": chain_150dpi,
    "all": lambda im: jpeg(uneven_light(skew(blur(rotate(5)(half_dpi(im)))))),
}
SINGLE_RECIPES = frozenset({"150dpi", "jpeg60", "rotate5", "blur1", "skew", "lighting"})
