"""Portrait in, card portrait and payload photo out.

``prepare_portrait`` decodes a JPEG or PNG portrait (bounded: bytes, declared pixels), applies its
EXIF orientation (read by a small reader here, so Pillow's EXIF parser never runs on the input),
crops it to the card portrait's aspect ratio (centred crop) and scales it to the printing size.
A grayscale (or colour) copy is then compressed for the QR payload: per format, a
binary search over the encoder quality at the full payload size and, when even the lowest quality
accepted is too large, at a few smaller sizes. The largest picture that fits the byte budget wins.

``fit_portrait`` finds the budget for a payload that must fit a given number of characters (the
QR code on a card back): it compresses, asks the caller how long the payload carrying the photo
is, and shrinks the budget by what is over, until it fits.

Everything is deterministic (one encoder thread, fixed encoder settings, no metadata written), so
the same input gives the same bytes. Every failure is an :class:`ImageError` (unreadable input) or
a :class:`PhotoBudgetError` (the budget cannot be met); nothing raised by Pillow escapes.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError, features

from .._errors import ImageError, PhotoBudgetError
from ..profile import PhotoFormat

#: Card portrait in pixels: 25 × 32 mm at 300 dpi.
CARD_SIZE: tuple[int, int] = (295, 378)
#: Payload photo before any step down: 25:32, the card portrait's aspect ratio.
PAYLOAD_SIZE: tuple[int, int] = (50, 64)
#: Default byte budget of the payload photo.
DEFAULT_BUDGET = 600
#: Lowest encoder quality (0–100) accepted before a smaller picture is tried.
MIN_QUALITY = 20
#: Largest portrait accepted, in pixels (Pillow's own limit is left untouched).
MAX_PIXELS = 50_000_000
#: Largest portrait accepted, in bytes.
MAX_INPUT_BYTES = 32 * 1024 * 1024

# fit_portrait: rounds of "compress, measure, shrink the budget by what is over" before giving up
# (two or three suffice: a photo byte costs 1.5-1.6 Base45 characters in the payload).
_FIT_ROUNDS = 8
# fit_portrait: characters left over in the payload worth one more, larger try (6 ≈ 4 bytes).
_SPARE = 6
# Fractions of ``payload_size`` tried, largest first, when the full size cannot meet the budget.
_STEPS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
# What Image.open may identify. A JPEG with multi-picture data (many phone cameras) would open as
# MPO; _scan cuts that data out, so it opens as JPEG (its first picture).
_OPEN_AS = ("JPEG", "PNG")
_READABLE = frozenset({"JPEG", "MPO", "PNG"})
_LARGEST_SIDE = 10_000  # of card_size and payload_size (an argument check, not an input bound)
_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG frame headers SOF0..SOF15, which are C0..CF except DHT (C4), JPG (C8) and DAC (CC).
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# EXIF orientation → the turn that shows the picture upright (as ImageOps.exif_transpose does).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Pillow's decoders raise these for broken input (EOFError and struct.error from truncated
# headers, SyntaxError from PNG chunks, the rest from malformed segments). A Warning arrives here
# only when the caller turned warnings into errors (say, a damaged APNG animation chunk).
_PILLOW_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
                  KeyError, TypeError, Warning)


@dataclass(frozen=True, slots=True)
class PreparedPortrait:
    """A portrait ready for a card: the printed picture and the payload photo.

    ``card_image`` is RGB at the card portrait size, metadata-free. ``payload_bytes`` is the
    compressed photo for Claim 169 key 16 (``payload_format`` for key 17), ``payload_size`` its
    length in bytes, ``quality`` the encoder quality used (0–100, per encoder: not comparable
    between formats), ``dimensions`` its (width, height) in pixels, ``grayscale`` whether it was
    encoded without colour.
    """

    card_image: Image.Image = field(hash=False)
    payload_bytes: bytes = field(repr=False)
    payload_format: PhotoFormat
    payload_size: int
    quality: int
    dimensions: tuple[int, int]
    grayscale: bool


@dataclass(frozen=True, slots=True)
class _Codec:
    """One payload format: Pillow's name for it and fixed, deterministic encoder settings."""

    photo_format: PhotoFormat
    pillow_name: str
    feature: str
    options: tuple[tuple[str, int], ...]
    colour_mode: str  # the mode handed to the encoder for a colour picture
    gray_mode: str  # ... and for a grayscale one (WebP has no grayscale: neutral chroma)

    def available(self) -> bool:
        return bool(features.check(self.feature))

    def encode(self, image: Image.Image, quality: int) -> bytes:
        out = io.BytesIO()
        try:
            image.save(out, self.pillow_name, quality=quality, **dict(self.options))
        except (OSError, ValueError) as err:
            raise ImageError(f"the {self.pillow_name} encoder failed: {err}") from err
        return out.getvalue()


_CODECS: dict[PhotoFormat, _Codec] = {
    # libavif/aom: one thread, so the bytes do not depend on scheduling; speed 6 is ~3 ms per
    # encode at 50×64. An "L" picture is written as AV1 monochrome (4:0:0).
    PhotoFormat.AVIF: _Codec(PhotoFormat.AVIF, "AVIF", "avif",
                             (("speed", 6), ("max_threads", 1)), "RGB", "L"),
    # libwebp lossy, method 6 (the slowest, smallest; < 1 ms per encode at this size).
    PhotoFormat.WEBP: _Codec(PhotoFormat.WEBP, "WEBP", "webp", (("method", 6),), "RGB", "RGB"),
}


@dataclass(frozen=True, slots=True)
class _Encoding:
    codec: _Codec
    data: bytes
    quality: int
    dimensions: tuple[int, int]


def prepare_portrait(
    data: bytes,
    *,
    budget: int = DEFAULT_BUDGET,
    formats: tuple[PhotoFormat, ...] = (PhotoFormat.AVIF, PhotoFormat.WEBP),
    grayscale: bool = True,
    card_size: tuple[int, int] = CARD_SIZE,
    payload_size: tuple[int, int] = PAYLOAD_SIZE,
    min_quality: int = MIN_QUALITY,
) -> PreparedPortrait:
    """Crop and scale a portrait for the card and compress a copy to at most ``budget`` bytes.

    ``data`` is a JPEG or PNG file's bytes (any size up to :data:`MAX_PIXELS` pixels and
    :data:`MAX_INPUT_BYTES` bytes). The picture is turned upright (EXIF orientation), cropped
    around its centre to the aspect ratio of ``card_size`` and scaled to it.

    For each format in ``formats`` (AVIF and WebP; those this Pillow cannot write are skipped) the
    highest quality in ``min_quality``..100 whose output fits ``budget`` is found by binary search
    at ``payload_size``; if even ``min_quality`` does not fit, at 90 %, 80 %, … 50 % of it. The
    encoding with the most pixels wins; between equal sizes, the format listed first.

    The budget counts the photo's own bytes. Inside the payload an AVIF file shrinks under zlib
    (its container boxes compress) and a WebP file does not: with the example record, 600 B of
    AVIF stays within QR version 25 at level M, while WebP needs about 520 B or less.

    Raises :class:`ImageError` when the input cannot be used and :class:`PhotoBudgetError`
    (naming the budget and the smallest size reached) when no encoding fits.
    """
    _check_arguments(budget, formats, card_size, payload_size, min_quality)
    codecs = [_CODECS[fmt] for fmt in dict.fromkeys(formats) if _CODECS[fmt].available()]
    if not codecs:
        raise ImageError(
            "this Pillow installation can write none of the requested payload formats "
            f"({', '.join(_CODECS[fmt].pillow_name for fmt in formats)}); "
            "install Pillow with AVIF or WebP support"
        )
    card = _card_portrait(_decode(data, max(card_size)), card_size)

    found: list[tuple[_Encoding, int]] = []
    smallest: _Encoding | None = None
    for rank, codec in enumerate(codecs):
        best, floor = _search(codec, card, payload_size, budget, min_quality, grayscale)
        if best is not None:
            found.append((best, rank))
        if smallest is None or len(floor.data) < len(smallest.data):
            smallest = floor
    if not found:
        assert smallest is not None
        width, height = smallest.dimensions
        raise PhotoBudgetError(
            f"the portrait cannot be compressed into the budget of {budget} bytes: the smallest "
            f"encoding reached is {len(smallest.data)} bytes ({smallest.codec.pillow_name}, "
            f"{width}×{height} pixels, quality {smallest.quality}); raise the budget to at least "
            f"{len(smallest.data)} bytes or lower min_quality"
        )
    chosen, _ = max(found, key=lambda item: (item[0].dimensions[0] * item[0].dimensions[1],
                                             -item[1]))
    return PreparedPortrait(
        card_image=card,
        payload_bytes=chosen.data,
        payload_format=chosen.codec.photo_format,
        payload_size=len(chosen.data),
        quality=chosen.quality,
        dimensions=chosen.dimensions,
        grayscale=grayscale,
    )


def fit_portrait(
    data: bytes,
    room: int,
    payload_length: Callable[[PreparedPortrait], int],
    *,
    budget: int = DEFAULT_BUDGET,
    formats: tuple[PhotoFormat, ...] = (PhotoFormat.AVIF, PhotoFormat.WEBP),
    grayscale: bool = True,
    card_size: tuple[int, int] = CARD_SIZE,
    payload_size: tuple[int, int] = PAYLOAD_SIZE,
    min_quality: int = MIN_QUALITY,
) -> PreparedPortrait:
    """The portrait prepared (:func:`prepare_portrait`) within ``budget`` bytes and as close to
    it as lets the payload that carries it fit ``room`` characters.

    ``room`` is what the QR code holds (for a card back: :func:`cardlib.render.back_capacity`)
    and ``payload_length(prepared)`` the length of the payload that carries ``prepared`` (the
    caller signs it; every round signs once). A payload ``n`` characters too long is tried
    again with a budget ``ceil(2n / 3)`` bytes below the photo it carried (Base45 spends 3
    characters on 2 bytes), until it fits (two or three rounds). When that step down went too
    far (the picture shrank to a smaller size), one more try with the budget raised by what is
    left over is kept if it fits too.

    Raises :class:`PhotoBudgetError` when no budget leaves the payload within ``room`` (a
    record that fills the QR code by itself) and what :func:`prepare_portrait` raises.
    """
    if not _is_int(room) or room < 1:
        raise ValueError(f"room must be a positive number of characters, got {room!r}")
    options = _Options(data, formats, grayscale, card_size, payload_size, min_quality)
    current = budget
    over = 0
    for _ in range(_FIT_ROUNDS):
        try:
            prepared = options.prepare(current)
        except PhotoBudgetError as err:
            if current == budget:
                raise
            raise PhotoBudgetError(
                f"the portrait does not fit the room the payload has ({room} characters): it "
                f"would have to be at most {current} bytes ({err.message})"
            ) from None
        over = payload_length(prepared) - room
        if over <= 0:
            return prepared if current == budget else _grown(
                prepared, -over, room, payload_length, budget, options)
        current = min(current, prepared.payload_size) - math.ceil(2 * over / 3)
        if current < 1:
            break
    raise PhotoBudgetError(
        f"the portrait does not fit the room the payload has ({room} characters): the record "
        f"without a photo leaves too little (still {over} characters over); leave the photo out "
        "or make room (on a card: the layout without MRZ)"
    )


@dataclass(frozen=True, slots=True)
class _Options:
    """What fit_portrait passes on to prepare_portrait, but the budget."""

    data: bytes = field(repr=False)
    formats: tuple[PhotoFormat, ...]
    grayscale: bool
    card_size: tuple[int, int]
    payload_size: tuple[int, int]
    min_quality: int

    def prepare(self, budget: int) -> PreparedPortrait:
        return prepare_portrait(self.data, budget=budget, formats=self.formats,
                                grayscale=self.grayscale, card_size=self.card_size,
                                payload_size=self.payload_size, min_quality=self.min_quality)


def _grown(prepared: PreparedPortrait, spare: int, room: int,
           payload_length: Callable[[PreparedPortrait], int], cap: int,
           options: _Options) -> PreparedPortrait:
    """``prepared`` fits with ``spare`` characters left over: when a step down overshot (the
    picture shrank to a smaller size), one more try with the budget raised by what is left
    (at most ``cap``), kept if it fits too."""
    larger = min(cap, prepared.payload_size + 2 * spare // 3)
    if spare < _SPARE or larger <= prepared.payload_size:
        return prepared
    try:
        grown = options.prepare(larger)
    except PhotoBudgetError:  # pragma: no cover - a larger budget than one that was met
        return prepared
    if grown.payload_size > prepared.payload_size and payload_length(grown) <= room:
        return grown
    return prepared


# --- arguments -----------------------------------------------------------------------------------


def _check_arguments(
    budget: int,
    formats: tuple[PhotoFormat, ...],
    card_size: tuple[int, int],
    payload_size: tuple[int, int],
    min_quality: int,
) -> None:
    if not _is_int(budget) or budget < 1:
        raise ValueError(f"budget must be a positive number of bytes, got {budget!r}")
    if not _is_int(min_quality) or not 0 <= min_quality <= 100:
        raise ValueError(f"min_quality must be an integer from 0 to 100, got {min_quality!r}")
    if not isinstance(formats, tuple) or not formats:
        raise ValueError("formats must be a non-empty tuple of PhotoFormat values")
    for fmt in formats:
        if fmt not in _CODECS:
            raise ValueError(
                f"cannot produce a {fmt!r} payload photo; supported: "
                f"{', '.join(f.name for f in _CODECS)}"
            )
    for name, size in (("card_size", card_size), ("payload_size", payload_size)):
        if (not isinstance(size, tuple) or len(size) != 2
                or not all(_is_int(side) and 1 <= side <= _LARGEST_SIDE for side in size)):
            raise ValueError(
                f"{name} must be (width, height) in pixels, each 1 to {_LARGEST_SIDE}, "
                f"got {size!r}"
            )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- decoding ------------------------------------------------------------------------------------


def _decode(data: bytes, longest_side: int) -> Image.Image:
    """JPEG/PNG bytes → an upright RGB picture (alpha flattened onto white)."""
    if not isinstance(data, bytes | bytearray):
        raise ImageError("the portrait must be given as the bytes of a JPEG or PNG file")
    if not data:
        raise ImageError("the portrait is empty; give the bytes of a JPEG or PNG file")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError(
            f"the portrait file has {len(data):,} bytes; at most {MAX_INPUT_BYTES:,} are accepted"
        )
    scan = _scan(bytes(data))
    _check_pixels(scan.size)  # refused from the header, before Pillow warns about it
    try:
        with Image.open(io.BytesIO(scan.data), formats=_OPEN_AS) as opened:
            if opened.format not in _READABLE:
                raise ImageError(f"a {opened.format} picture is not accepted; use JPEG or PNG")
            _check_pixels(opened.size)
            exif = scan.exif if opened.format != "PNG" else opened.info.get("exif")
            # JPEG only: decode at 1/2, 1/4 or 1/8 scale when that still leaves plenty of pixels.
            opened.draft(None, (2 * longest_side, 2 * longest_side))
            opened.load()
            picture = _to_rgb(opened)
    except ImageError:
        raise
    except UnidentifiedImageError as err:
        raise ImageError("the portrait is not a JPEG or PNG picture") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(
            f"the portrait is too large to decode safely; at most {MAX_PIXELS:,} pixels"
        ) from err
    except _PILLOW_ERRORS as err:
        raise ImageError(
            f"the portrait cannot be decoded ({err}); the file is damaged or truncated, "
            "save it again as JPEG or PNG"
        ) from err
    turn = _UPRIGHT.get(_orientation(exif if isinstance(exif, bytes) else None))
    return picture if turn is None else picture.transpose(turn)


def _check_pixels(size: tuple[int, int] | None) -> None:
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise ImageError(
            f"the portrait has {size[0]}×{size[1]} pixels; at most {MAX_PIXELS:,} pixels are "
            "accepted: scale it down first"
        )


@dataclass(frozen=True, slots=True)
class _Scan:
    data: bytes  # what Pillow gets: a JPEG without its EXIF and multi-picture segments
    size: tuple[int, int] | None  # declared (width, height), when the header shows it
    exif: bytes | None  # a JPEG's EXIF segment (TIFF structure)


def _scan(data: bytes) -> _Scan:
    """Read the header before Pillow does.

    The declared size lets an oversized picture be refused before Pillow warns about it. A JPEG's
    EXIF (APP1) and multi-picture (APP2 "MPF") segments are cut out: Pillow would parse them with
    its TIFF reader on open, warning on damaged data; only the orientation is needed, and
    :func:`_orientation` reads it. The rest of the file is passed on byte for byte.
    """
    if data.startswith(_PNG_SIGNATURE):
        size = None
        if data[12:16] == b"IHDR" and len(data) >= 24:  # where the PNG standard puts it
            width, height = struct.unpack(">II", data[16:24])
            size = (int(width), int(height))
        return _Scan(data, size, None)
    if not data.startswith(b"\xff\xd8"):
        return _Scan(data, None, None)
    kept: list[bytes] = [data[:2]]
    largest: tuple[int, int] | None = None
    exif: bytes | None = None
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more headers
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            kept.append(data[at:at + 2])
            at += 2
            continue
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if end < at + 4 or end > len(data):
            break  # damaged: leave the rest to Pillow, which will refuse it
        body = data[at + 4:end]
        if marker == 0xE1 and body.startswith(b"Exif\0\0"):
            exif = exif or body[6:]
        elif not (marker == 0xE2 and body.startswith(b"MPF\0")):
            kept.append(data[at:end])
            if marker in _FRAME_MARKERS and len(body) >= 5:  # P(1) Y(2) X(2)
                size = (int.from_bytes(body[3:5], "big"), int.from_bytes(body[1:3], "big"))
                if largest is None or size[0] * size[1] > largest[0] * largest[1]:
                    largest = size
        at = end
    kept.append(data[at:])
    return _Scan(b"".join(kept), largest, exif)


def _orientation(exif: bytes | None) -> int:
    """EXIF tag 0x0112 (1–8) from a TIFF structure, behind "Exif\\0\\0" or not; 1 if unreadable."""
    if not exif:
        return 1
    if exif.startswith(b"Exif\0\0"):
        exif = exif[6:]
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(exif[:4])
    if order is None:
        return 1
    try:
        (first,) = struct.unpack_from(order + "I", exif, 4)
        (count,) = struct.unpack_from(order + "H", exif, first)
        for entry in range(first + 2, first + 2 + 12 * count, 12):
            tag, kind, number = struct.unpack_from(order + "HHI", exif, entry)
            if tag == 0x0112:
                if kind != 3 or number != 1:  # one SHORT
                    return 1
                (value,) = struct.unpack_from(order + "H", exif, entry + 8)
                return int(value) if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT:  # 16-bit grayscale PNG: scale, do not clip, to 8 bits
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


# --- card portrait and payload photo -------------------------------------------------------------


def _card_portrait(picture: Image.Image, card_size: tuple[int, int]) -> Image.Image:
    fitted = ImageOps.fit(picture, card_size, Image.Resampling.LANCZOS)
    # A fresh image: no EXIF, ICC profile or other metadata travels on.
    return Image.frombytes("RGB", fitted.size, fitted.tobytes())


def _ladder(payload_size: tuple[int, int]) -> list[tuple[int, int]]:
    width, height = payload_size
    sizes = [(max(1, round(width * step)), max(1, round(height * step))) for step in _STEPS]
    return list(dict.fromkeys(sizes))


def _search(
    codec: _Codec,
    card: Image.Image,
    payload_size: tuple[int, int],
    budget: int,
    min_quality: int,
    grayscale: bool,
) -> tuple[_Encoding | None, _Encoding]:
    """The best encoding within budget (or None) and the smallest one made, for one format."""
    smallest: _Encoding | None = None
    for dimensions in _ladder(payload_size):
        picture = ImageOps.fit(card, dimensions, Image.Resampling.LANCZOS)
        picture = (picture.convert("L").convert(codec.gray_mode) if grayscale
                   else picture.convert(codec.colour_mode))
        floor = _Encoding(codec, codec.encode(picture, min_quality), min_quality, dimensions)
        if smallest is None or len(floor.data) < len(smallest.data):
            smallest = floor
        if len(floor.data) > budget:
            continue
        best, low, high = floor, min_quality, 100
        while low < high:  # invariant: quality `low` fits the budget
            quality = (low + high + 1) // 2
            encoded = codec.encode(picture, quality)
            if len(encoded) <= budget:
                best, low = _Encoding(codec, encoded, quality, dimensions), quality
            else:
                high = quality - 1
        return best, smallest
    assert smallest is not None
    return None, smallest
