"""Reading cards back from images: verify, cross-check the print, survive degraded scans."""

from __future__ import annotations

import pytest
from PIL import Image

import cardlib
from cardlib import cards

from ._cards import example_card, example_record, fixed_key, png
from ._degrade import (
    Degradation,
    blur,
    chain_150dpi,
    half_dpi,
    jpeg,
    rotate,
    skew,
    uneven_light,
)
from .conftest import CHECKED, require

BACKENDS = ["zxing", "zbar"]


def _need(backend: str) -> None:
    require("libzbar", backend in cards.available_backends(), "install Debian's libzbar0")


def _both_sides(front: Image.Image, back: Image.Image, *, rotate: int = 0) -> Image.Image:
    """A photo of both sides on a table, part of a larger image."""
    table = Image.new("RGB", (2300, 1100), (120, 110, 100))
    table.paste(front, (60, 200))
    table.paste(back, (1180, 260))
    return table.rotate(rotate, expand=True, fillcolor=(120, 110, 100))


@pytest.mark.parametrize("backend", BACKENDS)
def test_scan_both_sides_verifies_and_agrees(backend: str) -> None:
    _need(backend)
    payload, card = example_card()
    image = cards.load_image(png(_both_sides(card.front, card.back)))
    result = cards.scan(image, fixed_key().public_key, backend=backend, now=CHECKED)
    assert result.card.record == example_record()
    assert [d.text for d in result.barcodes if d.format == "qr"] == [payload]
    assert result.agrees is True
    assert sorted(d.format for d in result.barcodes) == ["code128", "qr"]


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_any_orientation(rotate: int) -> None:
    _, card = example_card()
    image = cards.load_image(png(_both_sides(card.front, card.back, rotate=rotate)))
    assert cards.scan(image, fixed_key().public_key, now=CHECKED).agrees is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tampered_print_is_its_own_error(backend: str) -> None:
    _need(backend)
    _, genuine = example_card()
    _, forged = example_card("119850099999")  # front reprinted with another number
    image = cards.load_image(png(_both_sides(forged.front, genuine.back)))
    with pytest.raises(cardlib.PrintMismatchError) as info:
        cards.scan(image, fixed_key().public_key, backend=backend, now=CHECKED)
    assert info.value.code == "print_mismatch"


def test_front_only_and_unknown_key() -> None:
    _, card = example_card()
    with pytest.raises(cardlib.BarcodeNotFoundError, match="code128"):
        cards.scan(card.front.convert("L"), fixed_key().public_key, now=CHECKED)
    with pytest.raises(cardlib.UnknownKeyError):
        cards.scan(card.back.convert("L"), cardlib.PrivateKey.generate().public_key, now=CHECKED)
    back_only = cards.scan(card.back.convert("L"), fixed_key().public_key, now=CHECKED)
    assert back_only.card.record == example_record()
    assert back_only.mrz == cards.td1_lines(example_record())
    assert back_only.agrees is True  # the MRZ was read and matches
    no_mrz = cards.scan(card.back.convert("L"), fixed_key().public_key, now=CHECKED, mrz=False)
    assert no_mrz.mrz is None and no_mrz.agrees is None


def test_unreadable_images_are_typed_errors() -> None:
    for data in (b"", b"not an image", png(Image.new("L", (10, 10)))[:40]):
        with pytest.raises(cardlib.ImageError):
            cards.load_image(data)


# --- robustness: degraded scans of the card back ------------------------------------------------

DEGRADATIONS: dict[str, Degradation] = {
    "150dpi": half_dpi,
    "jpeg60": jpeg,
    "rotate5": rotate(5),
    "blur1": blur,
    "skew": skew,
    "lighting": uneven_light,
    "150dpi+jpeg60+rotate5+blur1": chain_150dpi,
    "all": lambda im: jpeg(uneven_light(skew(blur(rotate(5)(half_dpi(im)))))),
}
SINGLE = {"150dpi", "jpeg60", "rotate5", "blur1", "skew", "lighting"}
# What each backend is required to survive, per side (the README's table records the same).
REQUIRED = {
    ("zxing", "qr"): set(DEGRADATIONS),
    ("zbar", "qr"): SINGLE,
    ("zxing", "code128"): set(DEGRADATIONS),
    ("zbar", "code128"): set(DEGRADATIONS),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("symbol", ["qr", "code128"])
@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_degraded_scans(backend: str, symbol: str, name: str) -> None:
    _need(backend)
    payload, card = example_card()
    side, expected = (card.back, payload) if symbol == "qr" else (card.front, "119850012347")
    degraded = DEGRADATIONS[name](side).convert("L")
    found = [d.text for d in
             cards.read_barcodes(degraded, backend=backend, formats=frozenset({symbol}))]
    if name in REQUIRED[(backend, symbol)]:
        assert found == [expected]
    else:
        assert found in ([], [expected])  # may fail to read, never misread


def test_other_barcodes_in_the_picture_are_ignored() -> None:
    import zxingcpp

    _, card = example_card()
    url = zxingcpp.create_barcode("https://example.ly/info", zxingcpp.BarcodeFormat.QRCode,
                                  ec_level="M")
    label = zxingcpp.create_barcode("ABC-123!", zxingcpp.BarcodeFormat.Code128)
    table = Image.new("L", (1700, 1400), 255)
    table.paste(card.back.convert("L"), (20, 20))
    table.paste(Image.fromarray(url.to_image(scale=6)), (1200, 60))
    table.paste(Image.fromarray(label.to_image(scale=4)), (100, 900))
    result = cards.scan(table, fixed_key().public_key, now=CHECKED)
    assert result.card.record == example_record()
    assert {d.text for d in result.barcodes} >= {"https://example.ly/info", "ABC-123!"}
    # the stray label is not a holder number; the MRZ next to the QR is what agrees
    assert result.mrz == cards.td1_lines(example_record()) and result.agrees is True


def test_a_reprinted_mrz_is_a_tampered_print() -> None:
    """A back whose MRZ (valid check digits) names another document: print_mismatch."""
    import dataclasses

    from cardlib.render._card import render_back

    payload, _ = example_card()
    other = dataclasses.replace(example_record(), document_number="LY0009999")
    forged_back = render_back(other, payload, cards.default_layout())  # genuine QR, other MRZ
    with pytest.raises(cardlib.PrintMismatchError, match="machine-readable zone") as info:
        cards.scan(forged_back.convert("L"), fixed_key().public_key, now=CHECKED)
    assert info.value.code == "print_mismatch"
