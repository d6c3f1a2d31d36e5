"""Rendering: sizes, pinned output, barcodes that real decoders read, layout config, PDF, the
MRZ in OCR-B, and the card whose QR code carries a photo."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import random
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from PIL import Image

import cardlib
from cardlib import cards
from cardlib.barcodes import minimal_version
from cardlib.barcodes._read import available_backends, read_barcodes
from cardlib.render import (
    MRZ_BASELINE,
    MRZ_INK_TOP,
    MRZ_LEFT,
    MRZ_LINE_PITCH,
    MRZ_PITCH,
    MRZ_ZONE,
    QR_AREA,
    back_capacity,
    back_qr,
    mrz_face,
)
from cardlib.render._card import HEIGHT, WIDTH, render_card, render_front
from cardlib.render._layout import default_layout, layout_from_json
from cardlib.render._pdf import CARD_H, CARD_W, card_pdf, sheet_pdf
from cardlib.render._text import visual

from ._cards import example_card, example_record, fixed_key, png
from ._degrade import BACK_RECIPES, SINGLE_RECIPES, Degradation, chain_150dpi
from ._photo_card import example_photo_card
from .conftest import EXAMPLE, ISSUED, ROOT, require

GOLDEN = ROOT / "specs" / "examples"


def test_card_is_id1_at_300_dpi() -> None:
    _, card = example_card()
    assert WIDTH == 1011 and HEIGHT == 638  # 85.60 x 53.98 mm at 300 dpi
    for side in (card.front, card.back):
        assert side.size == (WIDTH, HEIGHT) and side.mode == "RGB"


def _need_ocr_b() -> None:
    require("OCR-B", mrz_face().ocr_b, "apt-get install fonts-ocr-b: the committed samples "
            "print the MRZ in OCR-B")


def test_rendering_is_reproducible_and_matches_the_committed_sample() -> None:
    _need_ocr_b()
    _, card = example_card()
    again = render_card(example_record(), example_card()[0], default_layout())
    assert card.front.tobytes() == again.front.tobytes()
    photo_back = example_photo_card()[2].back
    for name, side in (("card-front.png", card.front), ("card-back.png", card.back),
                       ("card-back-photo.png", photo_back)):
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


def test_a_photo_card_keeps_its_mrz() -> None:
    """The photo is compressed to the room the back leaves above the MRZ: a version 18 symbol
    at level L, 485 px with its quiet zone, in the 489 px above the zone's ink (at level M the
    same payload needs version 21, 545 px)."""
    record, payload, card, prepared = example_photo_card()
    assert len(payload) <= back_capacity(default_layout()) == 1046
    symbol = back_qr(payload, default_layout())
    assert (symbol.version, symbol.ec_level) == (18, "L")
    assert (symbol.size + 8) * 5 <= QR_AREA == MRZ_INK_TOP
    at_m = minimal_version(len(payload), "M")
    assert at_m is not None and (17 + 4 * at_m + 8) * 5 > QR_AREA
    assert 200 <= prepared.payload_size <= 600  # a real picture, not a token one
    assert read_barcodes(card.back.convert("L"))[0].text == payload
    assert cardlib.verify(payload, fixed_key().public_key, now=ISSUED).record == record
    # Without a photo the level stays M, as before.
    plain = back_qr(example_card()[0], default_layout())
    assert (plain.version, plain.ec_level) == (15, "M")


def test_a_payload_too_large_for_the_back() -> None:
    """A payload beyond the room is refused with what to do; without the MRZ the back holds
    a version 25 symbol."""
    record, payload, _, _ = example_photo_card()
    assert back_capacity(dataclasses.replace(default_layout(), mrz=False)) == 1853
    noise = random.Random(169).randbytes(300)  # incompressible, as a photo's bytes are
    big = dataclasses.replace(record, photo=_webp((50, 64), 80) + noise,
                              photo_format=cardlib.PhotoFormat.WEBP)
    big_payload = cardlib.issue(big, fixed_key(), now=ISSUED)
    assert back_capacity(default_layout()) < len(big_payload) <= 1853
    with pytest.raises(cardlib.QrCapacityError, match="--photo-budget") as info:
        render_card(big, big_payload, default_layout())
    assert "mrz" in info.value.message.lower()
    with pytest.raises(cardlib.QrCapacityError):
        back_qr(payload, default_layout(), ec_level="M")  # level M is not tried silently
    data = json.loads(resources.files("cardlib").joinpath("_data/layout.json").read_text())
    data["mrz"] = False
    no_mrz = render_card(big, big_payload, layout_from_json(json.dumps(data)))
    assert read_barcodes(no_mrz.back.convert("L"))[0].text == big_payload


# --- the photo card's QR code under the degraded-scan chain (measured: README) --------------------

# The same recipes and requirements as tests/test_scan.py has for today's card back.
DEGRADATIONS: dict[str, Degradation] = {
    **BACK_RECIPES,
    "150dpi+jpeg60+rotate-5+blur1": lambda im: chain_150dpi(im, -5),
}
SINGLE = set(SINGLE_RECIPES)
REQUIRED = {"zxing": set(DEGRADATIONS), "zbar": SINGLE}


@pytest.mark.parametrize("backend", ["zxing", "zbar"])
@pytest.mark.parametrize("card", ["plain", "photo"])
@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_the_photo_cards_qr_reads_like_the_plain_one(backend: str, card: str, name: str) -> None:
    """Real decodes of real rendered backs: the photo card's version 18-L symbol survives what
    the plain card's version 15-M one survives, with each backend."""
    require("libzbar", backend in available_backends(), "install Debian's libzbar0")
    if card == "plain":
        payload, side = example_card()[0], example_card()[1].back
    else:
        payload, side = example_photo_card()[1], example_photo_card()[2].back
    found = [d.text for d in read_barcodes(DEGRADATIONS[name](side).convert("L"),
                                           backend=backend, formats=frozenset({"qr"}))]
    if name in REQUIRED[backend]:
        assert found == [payload]
    else:
        assert found in ([], [payload])  # may fail to read, never misread


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
    assert mrz_face().font.layout_engine == ImageFont.Layout.BASIC


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


# --- the machine-readable zone: OCR-B, ICAO 9303 size and place ---------------------------------


def _ink(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box, in card pixels, of the dark pixels (below 128) inside ``box``."""
    found = image.convert("L").crop(box).point(lambda v: 255 if v < 128 else 0).getbbox()
    return None if found is None else (found[0] + box[0], found[1] + box[1],
                                       found[2] + box[0], found[3] + box[1])


def test_the_mrz_is_ocr_b_at_the_icao_size_and_fits_the_card() -> None:
    """ICAO 9303 TD1: 30 characters at a 2.54 mm pitch, lines 4.23 mm apart, OCR-B size I
    (ECMA-11: capitals 2.46 mm, digits 2.60 mm), the first character 5.0 +- 1.0 mm from the
    left edge. The zone's ink stays inside its cells and below the QR code and its quiet zone,
    on the plain back and on the photo card's, whose QR code is larger."""
    _need_ocr_b()
    mm = 25.4 / 300
    assert MRZ_PITCH * mm == pytest.approx(2.54, abs=0.01)
    assert MRZ_LINE_PITCH * mm == pytest.approx(4.23, abs=0.01)
    assert MRZ_LEFT * mm == pytest.approx(5.0, abs=1.0)
    assert WIDTH - MRZ_LEFT - 30 * MRZ_PITCH >= MRZ_LEFT  # 30 cells fit, centred
    for payload, back in ((example_card()[0], example_card()[1].back),
                          (example_photo_card()[1], example_photo_card()[2].back)):
        zone = _ink(back, (0, HEIGHT - MRZ_ZONE, WIDTH, HEIGHT))
        assert zone is not None
        assert MRZ_LEFT <= zone[0] and zone[2] <= MRZ_LEFT + 30 * MRZ_PITCH
        assert zone[1] >= MRZ_INK_TOP and zone[3] <= HEIGHT - 12  # 1 mm clear below
        side = (back_qr(payload, default_layout()).size + 8) * 5  # with its quiet zone
        top = (QR_AREA - side) // 2
        modules = _ink(back, (0, top, side, top + side))
        assert modules == (20, top + 20, side - 20, top + side - 20)  # drawn where reader looks
        assert top >= 0 and top + side <= MRZ_INK_TOP  # its quiet zone clear of the zone's ink
        assert _ink(back, (0, top + side - 20, side, MRZ_INK_TOP)) is None
        heights = []
        for line in range(3):
            baseline = MRZ_BASELINE + MRZ_LINE_PITCH * line
            box = _ink(back, (0, baseline - 40, WIDTH, baseline + 4))
            assert box is not None
            heights.append(box[3] - box[1])
        # line 2 has digits (31-32 px with their overshoot), line 3 only capitals and fillers
        assert heights[1] * mm == pytest.approx(2.65, abs=0.1)
        assert heights[2] * mm == pytest.approx(2.46, abs=0.1)


def test_render_with_a_photo_keeps_the_mrz(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`cardlib render --photo` succeeds with the default layout (MRZ on): the photo is made as
    small as the back needs; the card scans, and its MRZ reads and agrees."""
    from cardlib._cli import main

    from .test_photo import synthetic_portrait, to_jpeg

    (tmp_path / "key.pem").write_bytes(fixed_key().to_pem())
    (tmp_path / "portrait.jpg").write_bytes(to_jpeg(synthetic_portrait(600, 768)))
    code = main(["render", "--key", str(tmp_path / "key.pem"), "--now", "2026-01-10T09:00:00Z",
                 "--photo", str(tmp_path / "portrait.jpg"), "--out", str(tmp_path / "card"),
                 "--json", str(EXAMPLE)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["qr_version"], report["qr_error_level"]) == (18, "L")
    assert 200 <= report["photo"]["bytes"] <= 600
    back = cards.load_image((tmp_path / "card" / "back.png").read_bytes())
    result = cards.scan(back, fixed_key().public_key,
                        now=datetime.datetime(2027, 6, 1, tzinfo=datetime.UTC))
    assert result.card.record is not None and result.card.record.photo is not None
    assert result.mrz == cards.td1_lines(example_record()) and result.agrees is True


def test_without_ocr_b_the_cli_warns_once_per_run(tmp_path: Path) -> None:
    """A batch of two cards on a machine without OCR-B: one warning on stderr, not one a card."""
    (tmp_path / "key.pem").write_bytes(fixed_key().to_pem())
    first = json.loads(EXAMPLE.read_text("utf-8"))
    second = dict(first, document_number="LY0001235", national_number="219900012345",
                  sex="female", date_of_birth="1990-05-02")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (first, second)),
                    "utf-8")
    script = ("import sys, cardlib.render._text as t; t.OCR_B_PATHS = ();"
              "from cardlib._cli import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run(
        [sys.executable, "-c", script, "batch", "--key", str(tmp_path / "key.pem"), "--format",
         "jsonl", "--now", "2026-01-10T09:00:00Z", "--out", str(tmp_path / "out"), "--json",
         str(rows)], capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["issued"] == 2
    assert run.stderr.count("MrzFontWarning") == 1, run.stderr
    assert "apt-get install fonts-ocr-b" in run.stderr
