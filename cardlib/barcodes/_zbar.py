"""pyzbar (ctypes binding of the system library zbar): the only module that imports it.

``import pyzbar.pyzbar`` loads libzbar at import time and raises ImportError when the library is
missing (Debian package ``libzbar0``), so the import is attempted once, lazily, and its failure is
remembered rather than raised: :func:`available` reports it and :func:`read` turns it into
:class:`DecoderUnavailableError`. zbar reads QR and Code128 (not Data Matrix or PDF417).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from PIL import Image

from .._errors import DecoderUnavailableError, ImageError
from ._zxing import RawSymbol

_SYMBOLS = {"qr": "QRCODE", "code128": "CODE128"}
_NAMES = {value: key for key, value in _SYMBOLS.items()}


@functools.cache
def _load() -> tuple[Any, str]:
    """(the pyzbar.pyzbar module or None, why it could not be loaded)."""
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError) as err:
        return None, f"{type(err).__name__}: {err}"
    return pyzbar, ""


def available() -> tuple[bool, str]:
    """Whether pyzbar and libzbar load on this machine, and if not, why."""
    module, reason = _load()
    return module is not None, reason


def read(gray: Image.Image, formats: Iterable[str]) -> list[RawSymbol]:
    """Decode the symbols of ``formats`` in a grayscale image with zbar."""
    pyzbar, reason = _load()
    if pyzbar is None:
        raise DecoderUnavailableError(
            f"the zbar decoder is not available ({reason}): install the system library libzbar0 "
            "(apt-get install libzbar0) or use backend='zxing'"
        )
    symbols = [pyzbar.ZBarSymbol[_SYMBOLS[name]] for name in sorted(formats)]
    try:
        found = pyzbar.decode(gray, symbols=symbols)
        result: list[RawSymbol] = []
        for symbol in found:
            name = _NAMES.get(str(symbol.type))
            if name is None:
                continue
            data: bytes = symbol.data
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            corners = tuple((int(point.x), int(point.y)) for point in symbol.polygon)
            if not corners:
                left, top, width, height = (int(v) for v in symbol.rect)
                corners = (
                    (left, top),
                    (left + width, top),
                    (left + width, top + height),
                    (left, top + height),
                )
            result.append((name, text, corners))
    except Exception as err:  # pyzbar raises PyZbarError, ctypes and built-in errors
        raise ImageError(f"zbar could not read the image: {err}") from err
    return result
