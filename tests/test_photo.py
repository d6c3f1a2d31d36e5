"""The portrait: card picture and payload photo within a byte budget (cardlib.photo).

Every input is a real picture made here with Pillow: a synthetic portrait (gradient background,
hair, face, eyes, mouth, shoulders, coarse and fine noise from a fixed seed) saved as JPEG or PNG.
The headline check issues the example record with its photo and measures the QR version at level
M, from the ISO/IEC 18004 capacity table and, when zxing-cpp is installed, from a real QR code.
"""

from __future__ import annotations

import dataclasses
import io
import random
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat, features

import cardlib
from cardlib import ImageError, PhotoBudgetError, PhotoFormat
from cardlib.photo._photo import (
    CARD_SIZE,
    MIN_QUALITY,
    PAYLOAD_SIZE,
    PreparedPortrait,
    fit_portrait,
    prepare_portrait,
)

from .conftest import ISSUED, require

zxingcpp: Any
try:
    import zxingcpp
except ImportError:  # pragma: no cover - the "cards" extra is not installed
    zxingcpp = None

AVIF_OK = bool(features.check("avif"))
WEBP_OK = bool(features.check("webp"))
PILLOW_FORMAT = {PhotoFormat.AVIF: "AVIF", PhotoFormat.WEBP: "WEBP"}

# Alphanumeric-mode capacity (characters) of QR versions 1..40 at error correction level M,
# ISO/IEC 18004 (the table published at qrcode.com "Information capacity and versions"; the same
# numbers are in zxing, libqrencode and many encoders, and test_capacity_table_matches_zxing below
# checks every boundary against a real encoder).
ALPHANUMERIC_M = (
    20, 38, 61, 90, 122, 154, 178, 221, 262, 311,
    366, 419, 483, 528, 600, 656, 734, 816, 909, 970,
    1035, 1134, 1248, 1326, 1451, 1542, 1637, 1732, 1839, 1994,
    2113, 2238, 2369, 2506, 2632, 2780, 2894, 3054, 3220, 3391,
)
MAX_QR_VERSION = 25


def qr_version_m(chars: int) -> int:
    """Smallest QR version holding ``chars`` alphanumeric characters at level M."""
    for version, capacity in enumerate(ALPHANUMERIC_M, start=1):
        if chars <= capacity:
            return version
    raise AssertionError(f"{chars} characters do not fit any QR version at level M")


def zxing_version_m(text: str) -> int:
    """The version of the QR code zxing-cpp makes for ``text`` at level M."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    # create_barcode ignores unknown options silently: make sure the level really is M.
    assert barcode.ec_level == "M"
    side = barcode.to_image(scale=1, add_quiet_zones=False).shape[0]
    assert (side - 17) % 4 == 0
    return int((side - 17) // 4)


# --- pictures ------------------------------------------------------------------------------------


def synthetic_portrait(width: int, height: int, seed: int = 169) -> Image.Image:
    """A face-like RGB picture whose texture survives scaling down (so it costs real bytes)."""
    rnd = random.Random(seed)
    ramp = Image.linear_gradient("L").resize((width, height))
    im = Image.merge("RGB", (ramp.point(lambda v: 90 + v // 3), ramp.point(lambda v: 140 + v // 4),
                             ramp.point(lambda v: 200 - v // 5)))
    draw = ImageDraw.Draw(im)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * width, y0 * height, x1 * width, y1 * height)

    draw.ellipse(box(0.05, 0.78, 0.95, 1.3), fill=(45, 55, 95))  # shoulders
    draw.rectangle(box(0.42, 0.62, 0.58, 0.85), fill=(190, 145, 115))  # neck
    draw.ellipse(box(0.26, 0.12, 0.74, 0.62), fill=(60, 40, 30))  # hair
    draw.ellipse(box(0.30, 0.20, 0.70, 0.72), fill=(210, 165, 135))  # face
    for x in (0.38, 0.55):
        draw.ellipse(box(x, 0.38, x + 0.07, 0.42), fill=(245, 245, 240))
        draw.ellipse(box(x + 0.02, 0.385, x + 0.05, 0.415), fill=(50, 35, 25))
        draw.line(box(x - 0.01, 0.35, x + 0.08, 0.34), fill=(50, 35, 25), width=max(1, width // 60))
    draw.polygon([(0.5 * width, 0.42 * height), (0.47 * width, 0.53 * height),
                  (0.53 * width, 0.53 * height)], fill=(185, 135, 110))  # nose
    draw.chord(box(0.42, 0.55, 0.58, 0.63), 0, 180, fill=(150, 60, 60))  # mouth
    cw, ch = max(1, width // 12), max(1, height // 12)
    coarse = Image.frombytes("L", (cw, ch), rnd.randbytes(cw * ch)).resize(
        (width, height), Image.Resampling.BICUBIC)
    fine = Image.frombytes("L", (width, height), rnd.randbytes(width * height))
    im = Image.blend(im, Image.merge("RGB", (coarse,) * 3), 0.18)
    im = Image.blend(im, Image.merge("RGB", (fine,) * 3), 0.06)
    return im.filter(ImageFilter.GaussianBlur(max(0.5, width / 600)))


def to_jpeg(im: Image.Image, *, orientation: int | None = None, quality: int = 90) -> bytes:
    out = io.BytesIO()
    if orientation is None:
        im.save(out, "JPEG", quality=quality)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def to_png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int, *, text_first: bool = False) -> bytes:
    """A ~70-byte PNG declaring ``width`` × ``height`` pixels (a decompression bomb's header)."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    before = png_chunk(b"tEXt", b"Comment\0IHDR comes second") if text_first else b""
    return (b"\x89PNG\r\n\x1a\n" + before + ihdr + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))


def jpeg_header_only(width: int, height: int) -> bytes:
    """The start of a baseline JPEG declaring ``width`` × ``height`` pixels."""
    small = to_jpeg(Image.new("RGB", (8, 8), (128, 128, 128)))
    at = small.index(b"\xff\xc0")
    return small[:at + 5] + struct.pack(">HH", height, width) + small[at + 9:]


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def spread(band: Image.Image) -> float:
    """Largest value minus smallest value of a one-band image."""
    low, high = band.getextrema()
    assert isinstance(low, int | float) and isinstance(high, int | float)
    return high - low


def largest(band: Image.Image) -> float:
    high = band.getextrema()[1]
    assert isinstance(high, int | float)
    return high


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    return synthetic_portrait(600, 768)


@pytest.fixture(scope="module")
def portrait_jpeg(portrait: Image.Image) -> bytes:
    return to_jpeg(portrait)


@pytest.fixture(scope="module", params=[PhotoFormat.AVIF, PhotoFormat.WEBP], ids=["avif", "webp"])
def payload_format(request: pytest.FixtureRequest) -> PhotoFormat:
    fmt: PhotoFormat = request.param
    require(fmt.name, AVIF_OK if fmt is PhotoFormat.AVIF else WEBP_OK,
            f"this Pillow cannot write {fmt.name}")
    return fmt


@pytest.fixture(scope="module")
def prepared(portrait_jpeg: bytes, payload_format: PhotoFormat) -> PreparedPortrait:
    return prepare_portrait(portrait_jpeg, formats=(payload_format,))


# --- the budget ----------------------------------------------------------------------------------


def test_default_budget_is_met_and_the_bytes_decode(
    prepared: PreparedPortrait, payload_format: PhotoFormat
) -> None:
    assert prepared.payload_format is payload_format
    assert prepared.payload_size == len(prepared.payload_bytes) <= 600
    assert MIN_QUALITY <= prepared.quality <= 100
    assert prepared.grayscale
    width, height = prepared.dimensions
    assert width <= PAYLOAD_SIZE[0] and height <= PAYLOAD_SIZE[1]
    assert abs(width / height - 25 / 32) < 0.03  # the card portrait's aspect ratio
    photo = decoded(prepared.payload_bytes)
    assert photo.format == PILLOW_FORMAT[payload_format]
    assert photo.size == prepared.dimensions
    if payload_format is PhotoFormat.AVIF:
        assert photo.mode == "L"  # AV1 monochrome
    else:  # WebP has no grayscale mode: neutral chroma, so the three channels agree
        assert photo.mode == "RGB"
        red, green, blue = photo.split()
        assert largest(ImageChops.difference(red, green)) <= 2
        assert largest(ImageChops.difference(red, blue)) <= 2
    assert "exif" not in photo.info and "icc_profile" not in photo.info


def test_default_formats_pick_the_largest_picture(portrait_jpeg: bytes) -> None:
    require("AVIF and WebP", AVIF_OK and WEBP_OK, "this Pillow lacks AVIF or WebP")
    both = prepare_portrait(portrait_jpeg)
    each = [prepare_portrait(portrait_jpeg, formats=(fmt,))
            for fmt in (PhotoFormat.AVIF, PhotoFormat.WEBP)]
    pixels = max(p.dimensions[0] * p.dimensions[1] for p in each)
    assert both.dimensions[0] * both.dimensions[1] == pixels
    # Between equal sizes the first format listed wins.
    first = next(p for p in each if p.dimensions[0] * p.dimensions[1] == pixels)
    assert both.payload_bytes == first.payload_bytes


def test_colour_payload(portrait_jpeg: bytes, payload_format: PhotoFormat) -> None:
    colour = prepare_portrait(portrait_jpeg, formats=(payload_format,), grayscale=False)
    assert colour.payload_size <= 600 and not colour.grayscale
    photo = decoded(colour.payload_bytes)
    assert photo.mode == "RGB" and photo.size == colour.dimensions
    red, _, blue = photo.split()
    assert largest(ImageChops.difference(red, blue)) > 20


def test_a_tight_budget_steps_down_to_a_smaller_picture(portrait_jpeg: bytes) -> None:
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    budget = 200
    small = prepare_portrait(portrait_jpeg, formats=(PhotoFormat.WEBP,), budget=budget)
    assert small.payload_size <= budget
    assert small.dimensions[0] < PAYLOAD_SIZE[0] and small.dimensions[1] < PAYLOAD_SIZE[1]
    assert decoded(small.payload_bytes).size == small.dimensions
    # ... because the full size does not fit even at the lowest quality accepted.
    full = ImageOps.fit(small.card_image, PAYLOAD_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    full.convert("L").convert("RGB").save(out, "WEBP", quality=MIN_QUALITY, method=6)
    assert len(out.getvalue()) > budget


def test_avif_container_too_big_for_budget_falls_back_to_webp(portrait_jpeg: bytes) -> None:
    # An AVIF file carries ~300 bytes of boxes (ftyp, meta, iloc, av1C, ...) before any pixel.
    require("AVIF and WebP", AVIF_OK and WEBP_OK, "this Pillow lacks AVIF or WebP")
    prepared = prepare_portrait(portrait_jpeg, budget=250)
    assert prepared.payload_format is PhotoFormat.WEBP and prepared.payload_size <= 250


def test_budget_too_small_is_refused(portrait_jpeg: bytes, payload_format: PhotoFormat) -> None:
    with pytest.raises(PhotoBudgetError) as caught:
        prepare_portrait(portrait_jpeg, budget=40, formats=(payload_format,))
    err = caught.value
    assert err.code == "photo_budget" and isinstance(err, cardlib.CardError)
    assert "budget of 40 bytes" in err.message
    reached = int(err.message.split("smallest encoding reached is ")[1].split(" bytes")[0])
    assert reached > 40
    assert PILLOW_FORMAT[payload_format] in err.message


def test_determinism(portrait_jpeg: bytes, prepared: PreparedPortrait,
                     payload_format: PhotoFormat) -> None:
    again = prepare_portrait(portrait_jpeg, formats=(payload_format,))
    assert again.payload_bytes == prepared.payload_bytes
    assert again.card_image.tobytes() == prepared.card_image.tobytes()
    assert again == prepared and hash(again) == hash(prepared)


# --- the card portrait ---------------------------------------------------------------------------


INPUTS: dict[str, Callable[[], bytes]] = {
    "jpeg-portrait-3000x4000": lambda: to_jpeg(
        synthetic_portrait(750, 1000).resize((3000, 4000), Image.Resampling.BICUBIC)),
    "jpeg-landscape-1600x1200": lambda: to_jpeg(synthetic_portrait(1600, 1200)),
    "png-portrait-480x640": lambda: to_png(synthetic_portrait(480, 640)),
    "png-landscape-800x450": lambda: to_png(synthetic_portrait(800, 450)),
    "jpeg-tiny-40x40": lambda: to_jpeg(synthetic_portrait(40, 40)),
    "png-tiny-40x40": lambda: to_png(synthetic_portrait(40, 40)),
    "png-rgba": lambda: to_png(synthetic_portrait(300, 400).convert("RGBA")),
    "png-palette": lambda: to_png(synthetic_portrait(300, 400).quantize(64)),
    "png-gray-16bit": lambda: to_png(
        synthetic_portrait(300, 400).convert("L").convert("I").point(lambda v: v * 257)
        .convert("I;16")),
    "jpeg-gray": lambda: to_jpeg(synthetic_portrait(300, 400).convert("L")),
    "jpeg-cmyk": lambda: to_jpeg(synthetic_portrait(300, 400).convert("CMYK")),
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_card_image_has_the_card_size(name: str) -> None:
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    prepared = prepare_portrait(INPUTS[name](), formats=(PhotoFormat.WEBP,))
    card = prepared.card_image
    assert card.size == CARD_SIZE == (295, 378)  # 25 × 32 mm at 300 dpi
    assert card.mode == "RGB"
    assert card.info == {} and not card.getexif()
    assert prepared.payload_size <= 600
    # Not blank: the face is there (the centre differs from the top-left background).
    centre = card.getpixel((CARD_SIZE[0] // 2, int(CARD_SIZE[1] * 0.45)))
    corner = card.getpixel((5, 5))
    assert isinstance(centre, tuple) and isinstance(corner, tuple)
    assert sum(abs(a - b) for a, b in zip(centre, corner, strict=True)) > 60


def test_sixteen_bit_gray_is_scaled_not_clipped() -> None:
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    prepared = prepare_portrait(INPUTS["png-gray-16bit"](), formats=(PhotoFormat.WEBP,))
    gray = prepared.card_image.convert("L")
    assert spread(gray) > 100  # clipping to 8 bits would make it nearly all white
    assert ImageStat.Stat(gray).mean[0] < 200


def exif_block(orientation: int, order: str = "<") -> bytes:
    """An APP1 EXIF body holding one orientation tag, little- ("<") or big-endian (">")."""
    magic = b"II*\0" if order == "<" else b"MM\0*"
    entry = struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = magic + struct.pack(order + "IH", 8, 1) + entry + struct.pack(order + "I", 0)
    return b"Exif\0\0" + tiff


# Stored pixels turned so that a viewer applying the orientation shows the upright picture.
STORED = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
          8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(portrait: Image.Image, orientation: int) -> None:
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    turn = STORED[orientation]
    assert turn is not None
    stored = portrait.transpose(turn)
    upright = prepare_portrait(to_jpeg(portrait), formats=(PhotoFormat.WEBP,)).card_image
    tagged = prepare_portrait(to_jpeg(stored, orientation=orientation),
                              formats=(PhotoFormat.WEBP,)).card_image
    untagged = prepare_portrait(to_jpeg(stored), formats=(PhotoFormat.WEBP,)).card_image
    assert mean_difference(tagged, upright) < 4
    assert mean_difference(untagged, upright) > 4 * mean_difference(tagged, upright)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("container", ["jpeg", "jpeg-big-endian", "png"])
def test_exif_orientation_matches_pillow(orientation: int, container: str) -> None:
    """The orientation is read without Pillow's EXIF parser, with the same result as
    ImageOps.exif_transpose (the reference for all eight values)."""
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    picture = synthetic_portrait(150, 120)
    out = io.BytesIO()
    if container == "png":
        picture.save(out, "PNG", exif=exif_block(orientation))
    else:
        picture.save(out, "JPEG", quality=90,
                     exif=exif_block(orientation, ">" if container.endswith("endian") else "<"))
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as opened:
        reference = ImageOps.fit(ImageOps.exif_transpose(opened).convert("RGB"), CARD_SIZE,
                                 Image.Resampling.LANCZOS)
    card = prepare_portrait(data, formats=(PhotoFormat.WEBP,)).card_image
    assert card.tobytes() == reference.tobytes()


def test_damaged_exif_is_ignored_without_warnings(portrait: Image.Image) -> None:
    """Pillow's EXIF reader warns on damaged EXIF (an error under this suite's settings); the
    portrait reader cuts the segment out and reads only the orientation."""
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    whole = to_jpeg(portrait)
    damaged = b"Exif\0\0II*\0" + struct.pack("<IH", 8, 40) + b"\x12\x01\x03\x00"  # cut short
    with_exif = whole[:2] + b"\xff\xe1" + struct.pack(">H", len(damaged) + 2) + damaged + whole[2:]
    with pytest.warns(UserWarning, match="EXIF"), Image.open(io.BytesIO(with_exif)) as opened:
        opened.getexif()  # what Pillow does on open and in exif_transpose
    prepared = prepare_portrait(with_exif, formats=(PhotoFormat.WEBP,))
    plain = prepare_portrait(whole, formats=(PhotoFormat.WEBP,))
    assert prepared.card_image.tobytes() == plain.card_image.tobytes()


def test_multi_picture_jpeg_uses_the_first_picture(portrait: Image.Image) -> None:
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    out = io.BytesIO()
    portrait.save(out, "MPO", save_all=True, append_images=[portrait.rotate(90)])
    with Image.open(io.BytesIO(out.getvalue())) as opened:
        assert opened.format == "MPO"
    prepared = prepare_portrait(out.getvalue(), formats=(PhotoFormat.WEBP,))
    plain = prepare_portrait(to_jpeg(portrait, quality=75), formats=(PhotoFormat.WEBP,))
    assert mean_difference(prepared.card_image, plain.card_image) < 3


# --- unusable input ------------------------------------------------------------------------------


def test_garbage_empty_and_non_bytes_are_image_errors() -> None:
    for data in (b"", b"not a picture at all", bytes(range(256)) * 8, b"\xff\xd8\xff"):
        with pytest.raises(ImageError):
            prepare_portrait(data)
    with pytest.raises(ImageError, match="bytes"):
        prepare_portrait("portrait.jpg")  # type: ignore[arg-type]


def test_truncated_jpeg_and_png_are_image_errors(portrait: Image.Image) -> None:
    for whole in (to_jpeg(portrait), to_png(portrait)):
        for cut in (len(whole) // 2, len(whole) - 200):
            with pytest.raises(ImageError) as caught:
                prepare_portrait(whole[:cut])
            assert caught.value.code == "image_invalid"


def test_other_picture_formats_are_refused(portrait: Image.Image) -> None:
    for fmt in ("GIF", "BMP", "WEBP", "TIFF"):
        out = io.BytesIO()
        portrait.save(out, fmt)
        with pytest.raises(ImageError, match="not a JPEG or PNG"):
            prepare_portrait(out.getvalue())


@pytest.mark.parametrize(("data", "cause"), [
    (png_header_only(20_000, 20_000), None),  # PNG header: refused before Pillow sees it
    (jpeg_header_only(10_000, 10_000), None),  # JPEG frame header: likewise
    (png_header_only(20_000, 20_000, text_first=True), Image.DecompressionBombError),  # Pillow's
    (png_header_only(8_000, 8_000, text_first=True), None),  # the size check after Image.open
], ids=["png-20000", "jpeg-10000", "png-pillow-limit", "png-after-open"])
def test_decompression_bombs_are_image_errors(data: bytes, cause: type[Exception] | None) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    assert len(data) < 1000
    with pytest.raises(ImageError) as caught:
        prepare_portrait(data)
    assert "pixels" in caught.value.message
    assert type(caught.value.__cause__) is cause if cause else caught.value.__cause__ is None
    assert limit == Image.MAX_IMAGE_PIXELS  # Pillow's global setting is left alone


def test_damaged_files_never_leak_pillow_errors(portrait: Image.Image) -> None:
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    rnd = random.Random(18004)
    small = portrait.resize((60, 77))
    for whole in (to_jpeg(small), to_jpeg(small, orientation=6), to_png(small)):
        for _ in range(40):
            damaged = bytearray(whole)
            for _ in range(rnd.randint(1, 6)):
                damaged[rnd.randrange(len(damaged))] = rnd.randrange(256)
            try:
                result = prepare_portrait(bytes(damaged), formats=(PhotoFormat.WEBP,),
                                          budget=4096)
            except ImageError:
                continue
            assert result.payload_size <= 4096


def test_bad_arguments_are_value_errors(portrait_jpeg: bytes) -> None:
    bad: list[dict[str, object]] = [
        {"budget": 0}, {"budget": True}, {"formats": ()}, {"formats": (PhotoFormat.JPEG,)},
        {"card_size": (0, 10)}, {"card_size": (295, 100_000)}, {"payload_size": (48,)},
        {"min_quality": 101},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            prepare_portrait(portrait_jpeg, **kwargs)  # type: ignore[arg-type]


# --- the headline: a full record with its photo fits a QR code of version 25 at level M ----------


def test_capacity_table_matches_zxing() -> None:
    require("zxing-cpp", zxingcpp is not None, "pip install zxing-cpp")
    for version, capacity in enumerate(ALPHANUMERIC_M, start=1):
        assert zxing_version_m("A" * capacity) == version
        if version < 40:
            assert zxing_version_m("A" * (capacity + 1)) == version + 1


@pytest.mark.parametrize(("formats", "budget"), [
    ((PhotoFormat.AVIF, PhotoFormat.WEBP), 600),
    ((PhotoFormat.AVIF,), 600),
    ((PhotoFormat.WEBP,), 520),
], ids=["default", "avif-600", "webp-520"])
def test_record_with_photo_fits_qr_version_25_at_level_m(
    record: cardlib.HolderRecord,
    any_key: cardlib.PrivateKey,
    portrait_jpeg: bytes,
    formats: tuple[PhotoFormat, ...],
    budget: int,
) -> None:
    require("AVIF and WebP", AVIF_OK and WEBP_OK, "this Pillow lacks AVIF or WebP")
    prepared = prepare_portrait(portrait_jpeg, formats=formats, budget=budget)
    with_photo = dataclasses.replace(record, photo=prepared.payload_bytes,
                                     photo_format=prepared.payload_format)
    payload = cardlib.issue(with_photo, any_key,
                            now=datetime(2026, 1, 10, 9, tzinfo=UTC))
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    version = qr_version_m(len(payload))
    assert version <= MAX_QR_VERSION, (len(payload), version, prepared.payload_size)
    if zxingcpp is not None:
        assert zxing_version_m(payload) == version
    card = cardlib.verify(payload, any_key.public_key, now=ISSUED)
    assert card.record is not None
    assert card.record.photo == prepared.payload_bytes
    assert card.record.photo_format is prepared.payload_format


# --- fitting the photo to the room the QR code has ----------------------------------------------


def _with_photo(record: cardlib.HolderRecord, prepared: PreparedPortrait) -> cardlib.HolderRecord:
    return dataclasses.replace(record, photo=prepared.payload_bytes,
                               photo_format=prepared.payload_format)


@pytest.mark.parametrize("room", [1046, 900], ids=["back-with-mrz", "tighter"])
def test_fit_portrait_finds_a_budget_whose_payload_fits(
    record: cardlib.HolderRecord, ed_key: cardlib.PrivateKey, portrait_jpeg: bytes, room: int
) -> None:
    """The card back with MRZ holds 1046 characters (version 18 at level L): the photo is
    compressed to the budget that fits, in a few rounds, and not much below it."""
    require("WebP", WEBP_OK, "this Pillow cannot write WebP")
    lengths: list[int] = []

    def length(prepared: PreparedPortrait) -> int:
        lengths.append(len(cardlib.issue(_with_photo(record, prepared), ed_key, now=ISSUED)))
        return lengths[-1]

    fitted = fit_portrait(portrait_jpeg, room, length)
    rounds = len(lengths)
    assert rounds <= 5  # down two or three times, and perhaps one step back up
    assert length(fitted) <= room < lengths[0]  # the default 600 bytes did not fit; this does
    assert fitted.payload_size < 600
    # A budget 10 % larger no longer fits: the fit is close to the largest.
    larger = prepare_portrait(portrait_jpeg, budget=round(fitted.payload_size * 1.1) + 8)
    if larger.payload_size > fitted.payload_size:
        assert length(larger) > room
    assert fit_portrait(portrait_jpeg, 4000, length).payload_size == prepare_portrait(
        portrait_jpeg).payload_size  # room to spare: the budget itself


def test_fit_portrait_refuses_when_the_record_leaves_no_room(
    record: cardlib.HolderRecord, ed_key: cardlib.PrivateKey, portrait_jpeg: bytes
) -> None:
    plain = len(cardlib.issue(record, ed_key, now=ISSUED))
    with pytest.raises(PhotoBudgetError, match="room") as caught:
        fit_portrait(portrait_jpeg, plain + 20,
                     lambda p: len(cardlib.issue(_with_photo(record, p), ed_key, now=ISSUED)))
    assert caught.value.code == "photo_budget"
    with pytest.raises(ValueError, match="room"):
        fit_portrait(portrait_jpeg, 0, len)  # type: ignore[arg-type]
