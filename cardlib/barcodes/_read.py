"""Card image → decoded QR and Code128 symbols, with zxing-cpp (default) or zbar.

:func:`read_barcodes` **returns an empty tuple when nothing is found**: finding no barcode is an
ordinary answer for a scan (a blank back, a bad photo), and the caller knows which symbol it needs
(``cardlib`` verification raises :class:`BarcodeNotFoundError` when the QR code is missing). It
raises :class:`ImageError` for an image it cannot use (not a PIL image, unreadable data, over
:data:`MAX_PIXELS`), :class:`DecoderUnavailableError` for a backend this machine lacks or an
unknown backend name, and :class:`BarcodeError` for an unknown format name.

zxing-cpp reads restricted to the requested formats (restricting to the QR code alone is about 4x
faster than QR + Code128), on a grayscale image (colour costs ~1 ms more), in one pass that also
looks for rotated, downscaled and inverted symbols. zbar is slower and fails more often on
degraded scans (see ``shared/reference/costs.md``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass

from PIL import Image, ImageFilter

from .._errors import BarcodeError, DecoderUnavailableError, ImageError
from . import _zbar, _zxing

FORMATS = frozenset({"qr", "code128"})
BACKENDS = ("zxing", "zbar")
MAX_PIXELS = 40_000_000  # a 300 dpi A4 page is 8.7 MP; a card photo from a phone 12-16 MP
MAX_IMAGE_BYTES = 50_000_000
_UPSCALE_MAX_PIXELS = 4_000_000  # the last pass doubles images up to this size
_OPEN_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")


@dataclass(frozen=True, slots=True)
class Decoded:
    """One symbol found in an image: ``format`` is "qr" or "code128", ``text`` its content and
    ``corners`` its outline in image pixels (zxing: top-left, top-right, bottom-right,
    bottom-left of the symbol; zbar: the polygon zbar reports)."""

    format: str
    text: str
    corners: tuple[tuple[int, int], ...]


def available_backends() -> tuple[str, ...]:
    """The decoder backends that work on this machine, default first."""
    zbar_ok, _ = _zbar.available()
    return ("zxing", "zbar") if zbar_ok else ("zxing",)


def read_barcodes(
    image: Image.Image,
    *,
    backend: str = "zxing",
    formats: Set[str] = FORMATS,
    retry: bool = True,
) -> tuple[Decoded, ...]:
    """Decode every QR / Code128 symbol (as restricted by ``formats``) in ``image``.

    Returns the symbols sorted top to bottom, then left to right; an empty tuple when none is
    found (never raises for that). When nothing is found, or a requested QR code is not (the
    Code128 is on the other side of the card, so its absence alone is normal), a second pass runs
    on a sharpened copy: on blurred 150 dpi phone scans of the card back (rotation, skew,
    JPEG 55-70, uneven light) it took zxing-cpp from 6 to 24 reads out of 24. A QR code still
    not found is looked for once more, in a copy twice the size with an unsharp mask (images
    up to 4 MP). ``retry=False`` reads ``image`` once, as it is.
    """
    reader = _reader(backend)
    wanted = _checked_formats(formats)
    gray = grayscale(image)
    found = {Decoded(name, text, corners) for name, text, corners in reader(gray, wanted)}
    formats_found = {symbol.format for symbol in found}
    if not retry:
        return tuple(sorted(found, key=reading_order))
    if not found or ("qr" in wanted and "qr" not in formats_found):
        sharp = gray.filter(ImageFilter.SHARPEN)
        seen = {(symbol.format, symbol.text) for symbol in found}
        found.update(Decoded(name, text, corners) for name, text, corners in reader(sharp, wanted)
                     if (name, text) not in seen)
    if ("qr" in wanted and not any(symbol.format == "qr" for symbol in found)
            and gray.width * gray.height <= _UPSCALE_MAX_PIXELS):
        found.update(_enlarged(gray, reader))
    return tuple(sorted(found, key=reading_order))


def read_enlarged(image: Image.Image, *, backend: str = "zxing") -> tuple[Decoded, ...]:
    """QR codes read in a copy of ``image`` twice the size with an unsharp mask (corners in
    ``image``'s pixels); nothing for an image over 4 MP. :func:`read_barcodes` does this
    itself when it finds no QR code at all; a caller looking for one QR code among others (a
    card's, beside a poster's) calls it when that one is missing."""
    reader = _reader(backend)
    gray = grayscale(image)
    if gray.width * gray.height > _UPSCALE_MAX_PIXELS:
        return ()
    return tuple(sorted(_enlarged(gray, reader), key=reading_order))


def _reader(backend: str) -> Callable[[Image.Image, Iterable[str]], list[_zxing.RawSymbol]]:
    reader = _BACKENDS.get(backend)
    if reader is None:
        raise DecoderUnavailableError(
            f"unknown barcode decoder {backend!r}: choose one of {', '.join(BACKENDS)}"
        )
    return reader


def _enlarged(gray: Image.Image, reader: Callable[[Image.Image, Iterable[str]],
                                                   list[_zxing.RawSymbol]]) -> set[Decoded]:
    # A blurred photo at 150 dpi (QR modules of 2-3 px): twice the size, then an unsharp mask.
    # On the 26 back photos of the issue 13 corpus (seed 1, 300 photos) that neither first pass
    # read, this read 12 (sharpening alone 2); about 120 ms, on failure only.
    big = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.BICUBIC)
    big = big.filter(ImageFilter.UnsharpMask(3, 200, 2))
    return {Decoded(name, text, tuple((x // 2, y // 2) for x, y in corners))
            for name, text, corners in reader(big, frozenset({"qr"}))}


def load_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode image file bytes (PNG, JPEG, WebP, TIFF, BMP) into a loaded PIL image.

    The pixel count is checked from the header before the pixels are decoded; undecodable or
    truncated data and images over ``max_pixels`` raise :class:`ImageError`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageError(f"expected image file bytes, got {type(data).__name__}")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"the image file is {len(data)} bytes, over {MAX_IMAGE_BYTES}")
    with warnings.catch_warnings():
        # Pillow warns (on stderr) about large images before refusing them; we refuse quietly.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
        except Exception as err:  # Pillow raises UnidentifiedImageError, OSError, ValueError…
            raise ImageError(
                "the data is not a readable PNG, JPEG, WebP, TIFF or BMP image "
                f"({type(err).__name__})"
            ) from None
        _check_size(image, max_pixels)
        try:
            image.load()
        except Exception as err:
            raise ImageError(
                f"the image data is damaged or truncated ({type(err).__name__})") from None
    return image


_BACKENDS: dict[str, Callable[[Image.Image, Iterable[str]], list[_zxing.RawSymbol]]] = {
    "zxing": _zxing.read,
    "zbar": _zbar.read,
}


def _checked_formats(formats: Set[str]) -> frozenset[str]:
    if isinstance(formats, str) or not isinstance(formats, Set):
        raise BarcodeError('formats must be a set of format names, e.g. frozenset({"qr"})')
    unknown = sorted(str(name) for name in formats - FORMATS)
    if unknown or not formats:
        raise BarcodeError(
            f"unknown or no barcode formats {unknown}: choose from {', '.join(sorted(FORMATS))}"
        )
    return frozenset(formats)


def _check_size(image: Image.Image, max_pixels: int | None) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"the image is empty ({width}x{height} px)")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"the image is {width}x{height} px ({width * height / 1e6:.1f} MP), over the "
            f"{max_pixels / 1e6:.0f} MP limit: scan at 300-600 dpi or crop to the card"
        )


def grayscale(image: Image.Image, *, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """``image`` in grey levels ("L"), transparent areas made paper (white); an
    :class:`ImageError` for what is not a readable, non-empty PIL image of at most
    ``max_pixels`` (None: any size)."""
    if not isinstance(image, Image.Image):
        raise ImageError(f"expected a PIL image, got {type(image).__name__}")
    _check_size(image, max_pixels)
    try:
        image.load()
        if image.has_transparency_data:  # transparent areas are paper, not ink
            white = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(white, image.convert("RGBA"))
        return image if image.mode == "L" else image.convert("L")
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError, ...
        raise ImageError(f"the image cannot be read: {err}") from err


def reading_order(symbol: Decoded) -> tuple[int, int, str, str]:
    """The sort key of symbols top to bottom, then left to right."""
    top = min((y for _, y in symbol.corners), default=0)
    left = min((x for x, _ in symbol.corners), default=0)
    return top, left, symbol.format, symbol.text
