"""Reading the printed TD1 zone back from an image of a card back (cardlib/scan/_mrz_ocr.py).

Every read must be exact or None: a misread zone would make a genuine card look tampered. The
zone is printed in OCR-B (Debian's fonts-ocr-b, required in CI); without it, in the fallback
face, which the reader must then read too.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache

import pytest
from PIL import Image, ImageDraw

import cardlib
from cardlib import cards
from cardlib.barcodes._read import Decoded
from cardlib.profile._record import Sex
from cardlib.render import MrzFontWarning, _text, mrz_face
from cardlib.render._card import HEIGHT, MRZ_ZONE, WIDTH, _mrz
from cardlib.scan import _mrz_ocr
from cardlib.scan._mrz_ocr import read_mrz

from ._cards import example_record
from ._degrade import blur, half_dpi, jpeg, rotate, skew, uneven_light
from ._photo_card import example_photo_card
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


def _record(variant: str) -> cardlib.HolderRecord:
    """A variant's record; "photo": the example with a photo as large as the back holds."""
    return example_photo_card()[0] if variant == "photo" else VARIANTS[variant]


@cache
def _back(variant: str, *, mrz: bool = True) -> Image.Image:
    record = _record(variant)
    payload = cardlib.issue(record, _key(), now=ISSUED)
    layout = dataclasses.replace(cards.default_layout(), mrz=mrz)
    return cards.render_card(record, payload, layout).back


def _qr(image: Image.Image, backend: str = "zxing") -> Decoded:
    found = cards.read_barcodes(image, backend=backend, formats=QR)
    assert [d.format for d in found] == ["qr"]
    return found[0]


def _need_ocr_b() -> None:
    require("OCR-B", mrz_face().ocr_b, "apt-get install fonts-ocr-b (Debian's public-domain "
            "OCR-B); without it the zone is printed in the fallback face")


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
@pytest.mark.parametrize("variant", [*VARIANTS, "photo"])
def test_reads_the_printed_zone_exactly(variant: str, degradation: str) -> None:
    """Every variant, and the card whose QR code carries a photo (version 18 at level L, its
    quiet zone on the zone's band), under every degradation, in OCR-B (the fallback face has
    its own test below)."""
    _need_ocr_b()
    image = DEGRADATIONS[degradation](_back(variant)).convert("L")
    assert read_mrz(image, _qr(image)) == cards.td1_lines(_record(variant))


@pytest.mark.parametrize("variant", ["example", "photo"])
@pytest.mark.parametrize("degradation", ["clean", "photo-offset", "rotate90", "rotate180",
                                         "rotate270", "rotate+5", "150dpi", "jpeg60", "blur1"])
def test_zbar_corners_work_too(degradation: str, variant: str) -> None:
    require("libzbar", "zbar" in cards.available_backends(), "install Debian's libzbar0")
    _need_ocr_b()
    image = DEGRADATIONS[degradation](_back(variant)).convert("L")
    assert read_mrz(image, _qr(image, "zbar")) == cards.td1_lines(_record(variant))


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
    _mrz(ImageDraw.Draw(back), (altered, line2, line3))
    assert read_mrz(back, _qr(back)) is None


def test_a_zone_with_valid_check_digits_is_read_as_printed() -> None:
    """Reading is not verifying: a reprinted zone with consistent check digits comes back as
    printed, for the caller to compare with the signed payload."""
    other = VARIANTS["other"]
    back = _back("example").copy()
    _mrz(ImageDraw.Draw(back), cards.td1_lines(other))
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


@pytest.mark.parametrize("variant", ["example", "photo"])
def test_glyphs_match_the_renderer_pixel_for_pixel(variant: str) -> None:
    """The reader's glyphs are the renderer's: the zone cut from the back where the renderer
    drew it matches every glyph exactly (the face, size and place the reader assumes are
    those of render/_card.py: change one there, and this fails first); through the QR code's
    registration (a resampled strip) every cell still matches its glyph closely."""
    back = _back(variant).convert("L")
    expected = "".join(cards.td1_lines(_record(variant)))
    x0, y0 = _mrz_ocr._STRIP_X0, _mrz_ocr._STRIP_Y0
    width, height = _mrz_ocr._STRIP_SIZE
    exact = _mrz_ocr._read_cells(back.crop((x0, y0, x0 + width, y0 + height)))
    assert exact is not None
    assert "".join(_mrz_ocr._ALPHABET[ranked[0][1]] for ranked in exact) == expected
    assert max(ranked[0][0] for ranked in exact) <= (0 if mrz_face().ocr_b else 0.1)
    located = _mrz_ocr.locate_back(back, _qr(back))
    assert located is not None
    strip, _ = located.warp(back, _mrz_ocr._STRIP_BOX)
    cells = _mrz_ocr._read_cells(strip)
    assert cells is not None
    assert "".join(_mrz_ocr._ALPHABET[ranked[0][1]] for ranked in cells) == expected
    assert max(ranked[0][0] for ranked in cells) < 0.15  # edge pixels of a sub-pixel shift


# --- the face: OCR-B, or the fallback with a warning ---------------------------------------------


def test_ocr_b_is_installed() -> None:
    """ICAO 9303 prints the zone in OCR-B: CI installs it (.ci/run: fonts-ocr-b)."""
    _need_ocr_b()
    assert mrz_face().name == "OCR-B"


def _forget_the_face() -> None:
    _text.mrz_face.cache_clear()
    _mrz_ocr._glyphs.cache_clear()
    _mrz_ocr._disagreement.cache_clear()


@pytest.fixture
def without_ocr_b(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine as one without OCR-B: no path holds it, nothing remembered of it."""
    monkeypatch.setattr(_text, "OCR_B_PATHS", ("/nonexistent/OCRB.otf",))
    _forget_the_face()
    yield
    monkeypatch.undo()
    _forget_the_face()


@pytest.mark.usefixtures("without_ocr_b")
def test_without_ocr_b_the_fallback_warns_once_and_still_reads() -> None:
    record = VARIANTS["other"]
    payload = cardlib.issue(record, _key(), now=ISSUED)
    with pytest.warns(MrzFontWarning, match="fonts-ocr-b") as caught:
        back = cards.render_card(record, payload, cards.default_layout()).back
    assert len(caught) == 1
    assert (mrz_face().name, mrz_face().ocr_b) == ("IBM Plex Mono Medium", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second card, and the reader: no second warning
        again = cards.render_card(example_record(), payload, cards.default_layout()).back
        for name, degrade in DEGRADATIONS.items():
            gray = degrade(back).convert("L")
            assert read_mrz(gray, _qr(gray)) == cards.td1_lines(record), name
    assert again.tobytes() != back.tobytes()
    # The reader's glyphs are the fallback's: the zone where it was drawn matches closely.
    x0, y0 = _mrz_ocr._STRIP_X0, _mrz_ocr._STRIP_Y0
    width, height = _mrz_ocr._STRIP_SIZE
    exact = _mrz_ocr._read_cells(back.convert("L").crop((x0, y0, x0 + width, y0 + height)))
    assert exact is not None and max(ranked[0][0] for ranked in exact) < 0.1
