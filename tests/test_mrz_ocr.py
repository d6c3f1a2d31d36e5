"""Reading the printed TD1 zone back from an image of a card back (cardlib/scan/_mrz_ocr.py).

Every read must be exact or None: a misread zone would make a genuine card look tampered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from functools import cache

import pytest
from PIL import Image, ImageDraw

import cardlib
from cardlib import cards
from cardlib.barcodes._read import Decoded
from cardlib.profile._record import Sex
from cardlib.render._card import HEIGHT, MRZ_ZONE, WIDTH
from cardlib.render._text import font
from cardlib.scan import _mrz_ocr
from cardlib.scan._mrz_ocr import read_mrz

from ._cards import example_record
from ._degrade import blur, half_dpi, jpeg, rotate, skew, uneven_light
from .conftest import ISSUED, require

QR = frozenset({"qr"})


def _variants() -> dict[str, cardlib.HolderRecord]:
    record = example_record()
    return {
        "example": record,
        "other": dataclasses.replace(
            record, document_number="AB9876543", national_number="220010098765",
            sex=Sex.FEMALE, date_of_birth=date(2001, 7, 23),
            name_latin=dataclasses.replace(record.name_latin, first="Khadija", father="Omar",
                                           grandfather="Zaid", family="Benghazi")),
        # 15 characters: the number runs into the optional data, the national number is left out
        "long-number": dataclasses.replace(record, document_number="LY00012345678X9"),
        # letters and digits that look alike, in the number and the name
        "look-alikes": dataclasses.replace(
            record, document_number="O0D8B5S1I",
            name_latin=dataclasses.replace(record.name_latin, first="Oubido", family="Doudou")),
    }


VARIANTS = _variants()


@cache
def _key() -> cardlib.PrivateKey:
    return cardlib.PrivateKey.generate()


@cache
def _back(variant: str, *, mrz: bool = True) -> Image.Image:
    record = VARIANTS[variant]
    payload = cardlib.issue(record, _key(), now=ISSUED)
    layout = dataclasses.replace(cards.default_layout(), mrz=mrz)
    return cards.render_card(record, payload, layout).back


def _qr(image: Image.Image, backend: str = "zxing") -> Decoded:
    found = cards.read_barcodes(image, backend=backend, formats=QR)
    assert [d.format for d in found] == ["qr"]
    return found[0]


# --- degradations (the same recipes as tests/test_scan.py) ---------------------------------------


def _photo(image: Image.Image) -> Image.Image:
    """The card lying on a dark desk, off centre."""
    desk = Image.new("RGB", (1900, 1400), (70, 62, 55))
    desk.paste(image, (523, 377))
    return desk


DEGRADATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "clean": lambda im: im,
    "photo-offset": _photo,
    "rotate90": rotate(90),
    "rotate180": rotate(180),
    "rotate270": rotate(270),
    "rotate+5": rotate(5),
    "rotate-5": rotate(-5),
    "150dpi": half_dpi,
    "jpeg60": jpeg,
    "blur1": blur,
    "150dpi+jpeg60+rotate5+blur1": lambda im: jpeg(blur(rotate(5)(half_dpi(im)))),
    "150dpi+jpeg60+rotate-5+blur1": lambda im: jpeg(blur(rotate(-5)(half_dpi(im)))),
    "tilted": skew,
    "uneven-light": uneven_light,
}


@pytest.mark.parametrize("degradation", list(DEGRADATIONS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_reads_the_printed_zone_exactly(variant: str, degradation: str) -> None:
    image = DEGRADATIONS[degradation](_back(variant)).convert("L")
    assert read_mrz(image, _qr(image)) == cards.td1_lines(VARIANTS[variant])


@pytest.mark.parametrize("degradation", ["clean", "photo-offset", "rotate90", "rotate180",
                                         "rotate270", "rotate+5", "150dpi", "jpeg60", "blur1"])
def test_zbar_corners_work_too(degradation: str) -> None:
    require("libzbar", "zbar" in cards.available_backends(), "install Debian's libzbar0")
    image = DEGRADATIONS[degradation](_back("example")).convert("L")
    assert read_mrz(image, _qr(image, "zbar")) == cards.td1_lines(VARIANTS["example"])


def test_beyond_the_chain_it_declines_rather_than_misreads() -> None:
    """Tilt and uneven light on top of the chain: the zone reads or is None, never wrong."""
    for variant, record in VARIANTS.items():
        image = jpeg(uneven_light(skew(blur(rotate(5)(half_dpi(_back(variant)))))))
        found = cards.read_barcodes(image, formats=QR)
        if found:
            assert read_mrz(image, found[0]) in (None, cards.td1_lines(record)), variant


def test_colour_images_and_a_pinned_version() -> None:
    back = _back("example")
    qr = _qr(back)
    version = cards.qr_matrix(qr.text).version
    lines = cards.td1_lines(VARIANTS["example"])
    assert read_mrz(back, qr) == lines  # RGB is converted
    assert read_mrz(back.convert("L"), qr, version=version) == lines
    assert read_mrz(back.convert("L"), qr, version=version + 2) is None  # not that symbol


# --- no zone, or not this card's zone ------------------------------------------------------------


def test_a_blanked_zone_is_none() -> None:
    back = _back("example").copy()
    ImageDraw.Draw(back).rectangle((0, HEIGHT - MRZ_ZONE, WIDTH, HEIGHT), fill="white")
    assert read_mrz(back, _qr(back)) is None


def test_a_partly_erased_zone_is_none() -> None:
    back = _back("example").copy()
    ImageDraw.Draw(back).rectangle((400, HEIGHT - 120, 700, HEIGHT - 60), fill="white")
    assert read_mrz(back, _qr(back)) is None


def test_a_layout_without_mrz_is_none() -> None:
    back = _back("example", mrz=False)
    assert read_mrz(back, _qr(back)) is None


def test_a_zone_failing_its_check_digits_is_none() -> None:
    """A clearly printed zone whose document number was altered without its check digit."""
    record = VARIANTS["example"]
    line1, line2, line3 = cards.td1_lines(record)
    altered = line1[:8] + ("1" if line1[8] != "1" else "2") + line1[9:]
    back = _back("example").copy()
    canvas = ImageDraw.Draw(back)
    canvas.rectangle((0, HEIGHT - MRZ_ZONE, WIDTH, HEIGHT), fill="white")
    face = font("mono", 46, 500)
    for index, line in enumerate((altered, line2, line3)):
        canvas.text((WIDTH // 2, HEIGHT - MRZ_ZONE + 6 + 50 * index), line, font=face,
                    fill="black", anchor="ma")
    assert read_mrz(back, _qr(back)) is None


def test_a_zone_with_valid_check_digits_is_read_as_printed() -> None:
    """Reading is not verifying: a reprinted zone with consistent check digits comes back as
    printed, for the caller to compare with the signed payload."""
    other = VARIANTS["other"]
    back = _back("example").copy()
    canvas = ImageDraw.Draw(back)
    canvas.rectangle((0, HEIGHT - MRZ_ZONE, WIDTH, HEIGHT), fill="white")
    face = font("mono", 46, 500)
    for index, line in enumerate(cards.td1_lines(other)):
        canvas.text((WIDTH // 2, HEIGHT - MRZ_ZONE + 6 + 50 * index), line, font=face,
                    fill="black", anchor="ma")
    assert read_mrz(back, _qr(back)) == cards.td1_lines(other)


def test_corners_that_outline_no_symbol_are_none() -> None:
    back = _back("example").convert("L")
    qr = _qr(back)
    moved = Decoded("qr", qr.text, tuple((x + 500, y) for x, y in qr.corners))
    assert read_mrz(back, moved) is None
    assert read_mrz(back, Decoded("qr", qr.text, qr.corners[:3])) is None
    assert read_mrz(back, Decoded("qr", qr.text, ((5, 5),) * 4)) is None
    a, b, c, d = qr.corners
    assert read_mrz(back, Decoded("qr", qr.text, (a, c, b, d))) is None  # self-crossing


# --- invalid input -------------------------------------------------------------------------------


def test_invalid_input_raises_image_error() -> None:
    back = _back("example")
    qr = _qr(back)
    with pytest.raises(cardlib.ImageError):
        read_mrz(b"not an image", qr)  # type: ignore[arg-type]
    with pytest.raises(cardlib.ImageError):
        read_mrz(Image.new("L", (0, 0)), qr)
    with pytest.raises(cardlib.ImageError):
        read_mrz(back, Decoded("code128", "119850012347", qr.corners))
    with pytest.raises(cardlib.ImageError):
        read_mrz(back, qr, version=41)
    with pytest.raises(cardlib.ImageError):
        read_mrz(back, qr, version=True)


# --- the glyphs are the renderer's ---------------------------------------------------------------


def test_glyphs_match_the_renderer_pixel_for_pixel() -> None:
    """On a clean back every cell matches its glyph almost exactly: the face, size and place
    the reader assumes are those of render/_card.py (change one there, and this fails first)."""
    back = _back("example").convert("L")
    frame = _mrz_ocr._symbol_frame(back, _qr(back), None)
    assert frame is not None
    strip = back.transform(_mrz_ocr._STRIP_SIZE, Image.Transform.AFFINE,
                           _mrz_ocr._strip_to_image(*frame)[:6], Image.Resampling.BILINEAR)
    cells = _mrz_ocr._read_cells(strip)
    assert cells is not None
    read = "".join(_mrz_ocr._ALPHABET[ranked[0][1]] for ranked in cells)
    assert read == "".join(cards.td1_lines(VARIANTS["example"]))
    assert max(ranked[0][0] for ranked in cells) < 0.1
