"""Bounds applied to untrusted input on the verify path (documented in specs/format.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """How much untrusted input the decoder accepts before it refuses with a typed error.

    The defaults fit the largest QR code (4,296 alphanumeric characters) with room to spare and
    match the reference Claim 169 decoder's 64 KiB decompression cap.
    """

    max_input_chars: int = 8192
    max_decompressed_bytes: int = 65536
    max_depth: int = 8
    max_items: int = 512
    max_text_chars: int = 1024
    max_kid_bytes: int = 64

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = Limits()
