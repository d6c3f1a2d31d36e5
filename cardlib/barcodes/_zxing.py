"""zxing-cpp (pip ``zxing-cpp``, ``import zxingcpp``): the only module that imports it.

What zxing-cpp 3.1.1 offers, found in its source (``core/src/CreateBarcode.cpp``,
``wrappers/python/zxingcpp/zxing.cpp``) and checked by probing:

- ``create_barcode(content, format, **kwargs)`` turns the keyword arguments into an option string
  read by ``CreatorOptions``. Keys are matched ignoring case and underscores (``ec_level`` and
  ``ecLevel`` both work); an unknown key is **silently ignored**, so every option used here is
  checked on the result. The options that exist: ``ecLevel``, ``eci``, ``gs1``, ``readerInit``,
  ``stacked``, ``forceSquare``, ``version``, ``dataMask``, ``columns``, ``rows``.
- The PyPI wheel creates symbols with the bundled libzint. Zint "boosts" the QR error level
  (L → M/Q/H when the data fits the same version) **only when no level is given**: with
  ``ecLevel`` set the level is kept (probed: 10 characters at L stay L in version 1, while the
  same text without a level comes out at H). With ``version`` set zint uses exactly that version
  and fails when the data does not fit it.
- There is **no option to force one encoding mode**: zint picks a bit-optimal segmentation of
  numeric / alphanumeric / byte / kanji segments. For text in the QR alphanumeric set that is one
  alphanumeric segment, unless a run of digits is long enough (about 15+) that a numeric segment
  saves bits. Such a symbol is still standard and never larger; :func:`create_qr` is called with
  the version computed from the alphanumeric capacity table, so the size never depends on it.
  ``tests/test_barcodes.py`` decodes the produced module matrix independently and checks that a
  real payload is one alphanumeric segment.
- The mask is chosen by zint's penalty rules: deterministic (same text → same matrix).
- ``read_barcodes`` takes a PIL image directly; grayscale ("L") avoids a colour conversion.
  Combining formats with ``|`` is deprecated in 3.x (DeprecationWarning): pass a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

import zxingcpp
from PIL import Image

from .._errors import BarcodeError, ImageError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# (format name, text, corners) of one decoded symbol; _read turns it into a Decoded value.
RawSymbol = tuple[str, str, tuple[tuple[int, int], ...]]

_FORMATS = {"qr": zxingcpp.BarcodeFormat.QRCode, "code128": zxingcpp.BarcodeFormat.Code128}
_NAMES = {value: name for name, value in _FORMATS.items()}
# Module values in zxing-cpp's writer image: 0 is dark, 255 is light.
_DARK_TO_ONE = bytes(1 if value < 128 else 0 for value in range(256))


def create_qr(text: str, *, ec_level: str, version: int) -> tuple[int, bytes, str]:
    """Encode ``text`` as a QR code of exactly ``version`` at ``ec_level``.

    Returns ``(size, modules, ec_level)``: the side in modules, ``size * size`` bytes row by row
    (1 = dark, no quiet zone) and the error level zint reports having used.
    """
    try:
        symbol = zxingcpp.create_barcode(
            text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level, version=version
        )
        # zxingcpp.Image exports the buffer protocol; its stub does not say so.
        image = symbol.to_image(scale=1, add_quiet_zones=False)
        view = memoryview(cast("ReadableBuffer", image))
        used_level = symbol.ec_level
        shape = view.shape
        modules = view.tobytes()
    except Exception as err:  # zxing-cpp maps C++ exceptions onto several built-ins
        raise BarcodeError(
            f"zxing-cpp could not build a version {version}-{ec_level} QR code: {err}"
        ) from err
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise BarcodeError(f"zxing-cpp returned a QR image of unexpected shape {shape}")
    return shape[0], modules.translate(_DARK_TO_ONE), used_level


def read(gray: Image.Image, formats: Iterable[str]) -> list[RawSymbol]:
    """Decode the symbols of ``formats`` in a grayscale image, in one pass.

    Options, measured on 1011x638 card images: the local average binarizer (the default);
    ``try_rotate`` (90/270 degree scans) and ``try_downscale`` (oversized photos) on;
    ``try_invert`` (light-on-dark) on, it costs about 3%. On 60 degraded scans of a card (half
    resolution, up to 10 degrees of rotation, blur, JPEG quality 40-80, low contrast, uneven light)
    the global histogram binarizer read 79 of the 120 symbols, the local average 100, and never one
    that the local average missed, so there is no second pass.
    """
    wanted = zxingcpp.BarcodeFormats([_FORMATS[name] for name in sorted(formats)])
    try:
        found = zxingcpp.read_barcodes(
            gray,
            formats=wanted,
            try_rotate=True,
            try_downscale=True,
            try_invert=True,
            text_mode=zxingcpp.TextMode.Plain,
            binarizer=zxingcpp.Binarizer.LocalAverage,
        )
        symbols: list[RawSymbol] = []
        for symbol in found:
            name = _NAMES.get(symbol.symbology) or _NAMES.get(symbol.format)
            if name is None or not symbol.valid:
                continue
            position = symbol.position
            corners = tuple(
                (int(point.x), int(point.y))
                for point in (
                    position.top_left,
                    position.top_right,
                    position.bottom_right,
                    position.bottom_left,
                )
            )
            symbols.append((name, symbol.text, corners))
    except Exception as err:  # zxing-cpp maps C++ exceptions onto several built-ins
        raise ImageError(f"zxing-cpp could not read the image: {err}") from err
    return symbols
