"""zlib (RFC 1950) compression with a bounded, strict decompressor. The only zlib import."""

from __future__ import annotations

import zlib

from .._errors import DecompressError, PayloadTooLargeError

LEVEL = 9  # as MOSIP PixelPass; output bytes may differ between zlib builds


def compress(data: bytes) -> bytes:
    return zlib.compress(data, LEVEL)


def looks_compressed(data: bytes) -> bool:
    """True when ``data`` starts with a valid zlib header (deflate, window <= 32 KiB).

    No CBOR item that can start a COSE message (array 0x84, tag 18 0xD2, tag 61 0xD8 0x3D)
    passes this test, so an uncompressed payload is told apart without guessing.
    """
    if len(data) < 2:
        return False
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and ((cmf << 8) | flg) % 31 == 0


def decompress(data: bytes, max_bytes: int) -> bytes:
    """Inflate ``data``; refuse output above ``max_bytes``, truncation and trailing bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as err:
        raise DecompressError(f"the payload is not valid zlib data ({err})") from err
    if len(out) > max_bytes:
        raise PayloadTooLargeError(
            f"the payload inflates to more than {max_bytes} bytes; refused"
        )
    if not inflater.eof:
        raise DecompressError("the zlib stream is truncated (no end-of-stream marker)")
    if inflater.unused_data:
        raise DecompressError(
            f"{len(inflater.unused_data)} unexpected byte(s) follow the end of the zlib stream"
        )
    return out
