"""Portraits: crop a holder's photo for printing and compress a copy into the payload's budget.

:func:`prepare_portrait` takes the bytes of a JPEG or PNG portrait and
returns a :class:`PreparedPortrait`: the card portrait (RGB, for printing)
and a small AVIF or WebP copy that fits the byte budget of the QR payload (Claim 169 keys 16 and
17); :func:`fit_portrait` picks that budget for a payload that must fit a number of characters
(the room on a card back). Pure: bytes in, values out; no files, no clock. This package is the
Pillow seam for photos.
"""

from __future__ import annotations

from ._photo import (
    CARD_SIZE,
    DEFAULT_BUDGET,
    PAYLOAD_SIZE,
    PreparedPortrait,
    fit_portrait,
    prepare_portrait,
)

__all__ = [
    "CARD_SIZE",
    "DEFAULT_BUDGET",
    "PAYLOAD_SIZE",
    "PreparedPortrait",
    "fit_portrait",
    "prepare_portrait",
]
