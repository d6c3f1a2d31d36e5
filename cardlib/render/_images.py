"""Small images on the card (the layout's logo, a signed photo): decoded once, bounded."""

from __future__ import annotations

import io
import warnings
from functools import lru_cache

from PIL import Image

from .._errors import ImageError


@lru_cache(maxsize=8)
def logo_image(data: bytes) -> Image.Image:
    """The layout's logo, decoded once, at most 96 × 96 px (RGBA)."""
    return thumbnail(data, "the layout's logo", (96, 96), max_pixels=4_000_000)


def thumbnail(data: bytes, what: str, box: tuple[int, int], *, max_pixels: int) -> Image.Image:
    """Decode ``data`` (bounded) and shrink it to fit ``box``; RGBA."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise ImageError(f"{what} is too large ({image.width}×{image.height} pixels; at "
                                 f"most {max_pixels})")
            image.draft("RGB", box)
            image.load()
            converted = image.convert("RGBA")
    except ImageError:
        raise
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError, ... on bad data
        raise ImageError(f"{what} is not a readable image ({type(err).__name__})") from None
    converted.thumbnail(box)
    return converted
