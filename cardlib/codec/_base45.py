"""Base45 (RFC 9285), strict.

Decoding runs on the verify hot path, so it avoids a Python-level loop: the characters are mapped
to their values with ``bytes.translate``, the three digits of every group are gathered with
slices into 24-bit little-endian slots of three big integers, and one multiply-add yields every
group's 16-bit value at once. A group whose value exceeds 65535 leaves a non-zero third byte in its
slot, which is how overflow is detected. Only the 45 upper-case characters of RFC 9285 are
accepted: lower case, whitespace other than the alphabet's own space, and prefixes are errors.
"""

from __future__ import annotations

from .._errors import Base45Error

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_DECODE_TABLE = bytes(
    ALPHABET.index(chr(i)) if chr(i) in ALPHABET else _INVALID for i in range(256)
)
_ENCODE_PAIRS = tuple(ALPHABET[i % 45] + ALPHABET[i // 45] for i in range(45 * 45))


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text (upper case, QR alphanumeric mode)."""
    out: list[str] = []
    append = out.append
    pairs = _ENCODE_PAIRS
    full = len(data) - len(data) % 2
    for i in range(0, full, 2):
        value = (data[i] << 8) | data[i + 1]
        high, low = divmod(value, 2025)
        append(pairs[low])
        append(ALPHABET[high])
    if full != len(data):
        append(pairs[data[-1]])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode strict Base45 text; raise :class:`Base45Error` on any deviation from RFC 9285."""
    try:
        raw = text.encode("ascii")
    except (UnicodeEncodeError, AttributeError) as err:
        raise Base45Error(
            "the payload contains characters outside the Base45 alphabet "
            "(only 0-9, A-Z, space and $%*+-./: are allowed)"
        ) from err
    digits = raw.translate(_DECODE_TABLE)
    if _INVALID in digits:
        bad = raw[digits.index(_INVALID)]
        raise Base45Error(
            f"the payload contains {chr(bad)!r}, which is not a Base45 character "
            "(only 0-9, A-Z, space and $%*+-./: are allowed; lower case is not)"
        )
    size = len(digits)
    groups, rest = divmod(size, 3)
    if rest == 1:
        raise Base45Error(f"Base45 text cannot have length {size} (a multiple of 3, plus 0 or 2)")
    slots = 3 * groups
    lows = bytearray(slots)
    mids = bytearray(slots)
    highs = bytearray(slots)
    lows[0::3] = digits[0 : slots : 3]
    mids[0::3] = digits[1 : slots : 3]
    highs[0::3] = digits[2 : slots : 3]
    total = (
        int.from_bytes(lows, "little")
        + 45 * int.from_bytes(mids, "little")
        + 2025 * int.from_bytes(highs, "little")
    )
    packed = total.to_bytes(slots, "little")
    if packed[2::3].count(0) != groups:
        raise Base45Error("a Base45 group encodes a value above 65535")
    out = bytearray(2 * groups + (1 if rest else 0))
    out[0 : 2 * groups : 2] = packed[1::3]
    out[1 : 2 * groups : 2] = packed[0::3]
    if rest:
        last = digits[-2] + 45 * digits[-1]
        if last > 255:
            raise Base45Error("the final Base45 pair encodes a value above 255")
        out[-1] = last
    return bytes(out)
