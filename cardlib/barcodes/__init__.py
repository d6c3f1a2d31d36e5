"""Barcodes on a card: the QR code that carries the signed Base45 payload, the Code128 of the
national number, and reading both back from a card image.

- :mod:`._qr`: ``qr_matrix`` (Base45 text → QR module matrix, alphanumeric mode, fixed error level,
  no automatic boosting, reproducible) and ``qr_image`` (matrix → black-on-white image).
- :mod:`._code128`: ``code128_image`` (text → Code128 image with exact pixel module widths).
- :mod:`._read`: ``read_barcodes`` (image → decoded QR / Code128 symbols, zxing-cpp or zbar),
  ``available_backends`` and ``load_image``.

Each third-party library sits behind one module: zxing-cpp in ``_zxing``, pyzbar in ``_zbar``,
python-barcode in ``_code128``. Every function here is pure (values in, values out, no file I/O)
and raises only :class:`cardlib.CardError` subclasses.
"""
