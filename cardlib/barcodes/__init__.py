"""Barcodes on a card: the QR code that carries the signed Base45 payload, the Code128 of the
national number, and reading both back from a card image.

- :mod:`._qr`: ``qr_matrix`` (Base45 text → QR module matrix, alphanumeric mode, fixed error level,
  no automatic boosting, reproducible) and ``qr_image`` (matrix → black-on-white image, with a
  quiet zone of ``QR_QUIET_MODULES`` modules by default).
- :mod:`._code128`: ``code128_image`` (text → Code128 image with exact pixel module widths).
- :mod:`._read`: ``read_barcodes`` (image → decoded QR / Code128 symbols, zxing-cpp or zbar),
  ``available_backends`` and ``load_image``.

The names above are re-exported here (``from cardlib.barcodes import qr_matrix``). Each
third-party library sits behind one module: zxing-cpp in ``_zxing``, pyzbar in ``_zbar``,
python-barcode in ``_code128``. Every function here is pure (values in, values out, no file I/O)
and raises only :class:`cardlib.CardError` subclasses.
"""

from __future__ import annotations

from ._code128 import code128_image
from ._qr import EC_LEVELS, MAX_VERSION, QrMatrix, minimal_version, qr_image, qr_matrix
from ._qr import MIN_QUIET_MODULES as QR_QUIET_MODULES
from ._read import (
    BACKENDS,
    FORMATS,
    Decoded,
    available_backends,
    grayscale,
    load_image,
    read_barcodes,
    read_enlarged,
    reading_order,
)

__all__ = [
    "BACKENDS",
    "EC_LEVELS",
    "FORMATS",
    "MAX_VERSION",
    "QR_QUIET_MODULES",
    "Decoded",
    "QrMatrix",
    "available_backends",
    "code128_image",
    "grayscale",
    "load_image",
    "minimal_version",
    "qr_image",
    "qr_matrix",
    "read_barcodes",
    "read_enlarged",
    "reading_order",
]
