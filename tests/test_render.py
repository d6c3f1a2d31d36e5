"""Rendering: sizes, pinned output, barcodes that real decoders read, layout config, PDF."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from importlib import resources

import pytest
from PIL import Image

import cardlib
from cardlib import cards
from cardlib.barcodes._read import available_backends, read_barcodes
from cardlib.render._card import HEIGHT, WIDTH, render_card, render_front
from cardlib.render._layout import default_layout, layout_from_json
from cardlib.render._pdf import CARD_H, CARD_W, card_pdf, sheet_pdf
from cardlib.render._text import visual

from ._cards import example_card, example_record, fixed_key, png
from .conftest import ROOT, require

GOLDEN = ROOT / "specs" / "examples"


def test_card_is_id1_at_300_dpi() -> None:
    _, card = example_card()
    assert WIDTH == 1011 and HEIGHT == 638  # 85.60 x 53.98 mm at 300 dpi
    for side in (card.front, card.back):
        assert side.size == (WIDTH, HEIGHT) and side.mode == "RGB"


def test_rendering_is_reproducible_and_matches_the_committed_sample() -> None:
    _, card = example_card()
    again = render_card(example_record(), example_card()[0], default_layout())
    assert card.front.tobytes() == again.front.tobytes()
    for name, side in (("card-front.png", card.front), ("card-back.png", card.back)):
        committed = Image.open(GOLDEN / name)
        assert committed.size == side.size
        assert hashlib.sha256(committed.convert("RGB").tobytes()).hexdigest() == hashlib.sha256(
            side.tobytes()).hexdigest(), f"{name} differs: run specs/make_samples.py and look"


@pytest.mark.parametrize("backend", ["zxing", "zbar"])
def test_real_decoders_read_both_sides(backend: str) -> None:
    require("libzbar", backend in available_backends(), "install Debian's libzbar0")
    payload, card = example_card()
    back = read_barcodes(card.back.convert("L"), backend=backend)
    assert [(d.format, d.text) for d in back] == [("qr", payload)]
    front = read_barcodes(card.front.convert("L"), backend=backend)
    assert [(d.format, d.text) for d in front] == [("code128", "119850012347")]
    verified = cardlib.verify(back[0].text, fixed_key().public_key)
    assert verified.record == example_record()


def test_arabic_is_shaped_and_right_to_left() -> None:
    shown = visual("محمد علي")
    assert shown != "محمد علي"
    assert all("\ufb50" <= ch <= "\ufeff" or ch == " " for ch in shown)  # presentation forms
    assert shown.split(" ")[0] == visual("علي")  # the last word is drawn first (leftmost)
    assert visual("Ali 1985-03-14") == "Ali 1985-03-14"


def test_layout_comes_from_configuration() -> None:
    text = resources.files("cardlib").joinpath("_data/layout.json").read_text("utf-8")
    data = json.loads(text)
    data["colours"]["primary"] = "#7a1020"
    data["title"] = {"ar": "بطاقة مقيم", "en": "Residence Card"}
    custom = layout_from_json(json.dumps(data))
    front = render_front(example_record(), custom)
    assert front.getpixel((5, 5)) == (0x7A, 0x10, 0x20)
    assert front.tobytes() != example_card()[1].front.tobytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [({"colours": {"primary": "red"}}, "colours"), ({"mrz": "yes"}, "mrz"),
     ({"logo_png_base64": "bm90IGEgcG5n"}, "logo"), ({"extra": 1}, "unknown"),
     ({"title": {"ar": ""}}, "title")],
)
def test_bad_layouts_are_refused(change: dict[str, object], message: str) -> None:
    data = json.loads(resources.files("cardlib").joinpath("_data/layout.json").read_text())
    data.update(change)
    with pytest.raises(cardlib.LayoutError, match=message) as info:
        layout_from_json(json.dumps(data))
    assert info.value.code == "layout_invalid"
    with pytest.raises(cardlib.LayoutError):
        layout_from_json("{")


def _webp(size: tuple[int, int], quality: int) -> bytes:
    import io

    from PIL import ImageDraw

    image = Image.linear_gradient("L").resize(size)
    ImageDraw.Draw(image).ellipse((size[0] // 4, size[1] // 5, size[0] * 3 // 4, size[1] // 2),
                                  fill=200)
    out = io.BytesIO()
    image.save(out, "WEBP", quality=quality)
    return out.getvalue()


def test_a_payload_too_large_for_the_back() -> None:
    photo = _webp((50, 64), 80)
    assert 150 < len(photo) < 600  # too large for the room above the MRZ, fits the whole back
    record = dataclasses.replace(example_record(), photo=photo,
                                 photo_format=cardlib.PhotoFormat.WEBP)
    payload = cardlib.issue(record, fixed_key())
    with pytest.raises(cardlib.QrCapacityError, match="mrz"):
        render_card(record, payload, default_layout())
    data = json.loads(resources.files("cardlib").joinpath("_data/layout.json").read_text())
    data["mrz"] = False
    no_mrz = render_card(record, payload, layout_from_json(json.dumps(data)))
    assert read_barcodes(no_mrz.back.convert("L"))[0].text == payload


def _objects(pdf: bytes) -> None:
    """Every xref offset points at its object: a structurally valid PDF."""
    start = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    table = pdf[start:].split(b"trailer")[0].split(b"\n")[3:-1]
    for number, line in enumerate(table, start=1):
        offset = int(line[:10])
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())


def test_single_card_pdf_is_exact_size() -> None:
    pdf = card_pdf(example_card()[1])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert len(boxes) == 2
    for width, height in boxes:
        assert float(width) / 72 * 25.4 == pytest.approx(85.60, abs=0.01)
        assert float(height) / 72 * 25.4 == pytest.approx(53.98, abs=0.01)
    assert CARD_W / 72 * 25.4 == pytest.approx(85.60)
    assert CARD_H / 72 * 25.4 == pytest.approx(53.98)
    _objects(pdf)
    assert card_pdf(example_card()[1]) == pdf  # deterministic


def test_a4_sheets_with_crop_marks() -> None:
    card = example_card()[1]
    pdf = sheet_pdf([card] * 9)
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert len(boxes) == 4  # 9 cards: two sheets, fronts and backs
    assert float(boxes[0][0]) / 72 * 25.4 == pytest.approx(210, abs=0.01)
    assert float(boxes[0][1]) / 72 * 25.4 == pytest.approx(297, abs=0.01)
    assert pdf.count(b"/Subtype /Image") == 18
    _objects(pdf)
    with pytest.raises(ValueError):
        sheet_pdf([])


def test_samples_are_pngs() -> None:
    assert png(example_card()[1].front).startswith(b"\x89PNG")


def test_a_long_record_still_fits_above_the_mrz() -> None:
    long = dataclasses.replace(
        example_record(), address="شارع عمر المختار، عمارة 12، الطابق الثالث، طرابلس المركز",
        email="mohamed.elwarfali@example.ly", mother_name_latin="Fatima Ahmed Mahmoud Alsharif")
    payload = cardlib.issue(long, fixed_key())
    version = cards.qr_matrix(payload).version
    assert version >= 16  # larger than the example's
    back = render_card(long, payload, default_layout()).back
    assert [d.text for d in read_barcodes(back.convert("L"))] == [payload]


def test_text_layout_engine_is_pinned() -> None:
    """BASIC layout + reshaper + bidi everywhere: output does not depend on the system's libraqm."""
    from PIL import ImageFont

    from cardlib.render._text import font

    for kind in ("arabic", "latin", "mono"):
        assert font(kind, 30).layout_engine == ImageFont.Layout.BASIC


def test_the_signed_photo_is_printed_when_no_portrait_is_given() -> None:
    record = dataclasses.replace(example_record(), photo=_webp((50, 64), 60),
                                 photo_format=cardlib.PhotoFormat.WEBP)
    with_photo = render_front(record, default_layout())
    assert with_photo.crop((36, 140, 286, 460)).tobytes() != example_card()[1].front.crop(
        (36, 140, 286, 460)).tobytes()
    broken = dataclasses.replace(record, photo=b"RIFF not webp")
    with pytest.raises(cardlib.ImageError, match="photo"):
        render_front(broken, default_layout())


@pytest.mark.parametrize(
    ("change", "field"),
    [({"place_of_birth": " ".join(["طرابلس"] * 36)}, "birth"),
     ({"document_number": "W" * 20}, "document_number"),
     ({"name_latin": cardlib.FourPartName(*(["Abcdefghij" * 6] * 4))}, "name_latin")],
)
def test_unprintable_records_blame_the_record(change: dict[str, object], field: str) -> None:
    record = dataclasses.replace(example_record(), **change)  # type: ignore[arg-type]
    assert cardlib.check_record(record) == ()
    with pytest.raises(cardlib.UnprintableError, match=field) as info:
        render_front(record, default_layout())
    assert info.value.code == "record_unprintable"


def test_every_address_line_is_printed() -> None:
    from cardlib.render._card import render_back

    payload = example_card()[0]
    three = dataclasses.replace(example_record(), address="سطر 1\nسطر 2\nسطر 3")
    four = dataclasses.replace(example_record(), address="سطر 1\nسطر 2\nسطر 3\nسطر 4")
    assert render_back(three, payload, default_layout()).tobytes() != render_back(
        four, payload, default_layout()).tobytes()


def test_a_broken_logo_is_a_typed_error() -> None:
    import base64

    data = json.loads(resources.files("cardlib").joinpath("_data/layout.json").read_text())
    data["logo_png_base64"] = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode()
    with pytest.raises(cardlib.LayoutError, match="logo"):
        layout_from_json(json.dumps(data))  # refused when the layout loads, not per card
    text = resources.files("cardlib").joinpath("_data/layout.json").read_text()
    with pytest.raises(cardlib.LayoutError, match="more than once"):
        layout_from_json(text.rstrip().rstrip("}") + ', "mrz": false}')


def test_the_birth_row_shows_date_and_place_on_both_halves() -> None:
    """The Latin half and the Arabic half each carry the date of birth and the place (the
    Arabic label once named the place while the Latin one showed the date)."""
    record = example_record()
    layout = default_layout()
    assert layout.labels["birth"].en == "Date and place of birth"
    assert layout.labels["birth"].ar == "تاريخ ومكان الميلاد"

    def halves(changed: object) -> tuple[bytes, bytes]:
        front = render_front(changed, layout)  # type: ignore[arg-type]
        row = (300 + 20, 300 + 56)  # the values' line, under the labels
        latin = front.crop((312, row[0], 312 + 305, row[1])).tobytes()
        arabic = front.crop((975 - 305, row[0], 975, row[1])).tobytes()
        return latin, arabic

    latin, arabic = halves(record)
    other_place = halves(dataclasses.replace(record, place_of_birth="مصراتة"))
    other_date = halves(dataclasses.replace(record, date_of_birth=datetime.date(1985, 3, 15)))
    assert other_place[0] != latin and other_place[1] != arabic  # the place on both halves
    assert other_date[0] != latin and other_date[1] != arabic  # the date on both halves
