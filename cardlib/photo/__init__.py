"""Portraits: crop a holder's photo for printing and compress a copy into the payload's budget.

:func:`cardlib.photo._photo.prepare_portrait` takes the bytes of a JPEG or PNG portrait and
returns a :class:`~cardlib.photo._photo.PreparedPortrait`: the card portrait (RGB, for printing)
and a small AVIF or WebP copy that fits the byte budget of the QR payload (Claim 169 keys 16 and
17). Pure: bytes in, values out; no files, no clock. This package is the Pillow seam for photos.
"""
