"""Printing and scanning cards: QR encoding, rendering, scan+verify, one batch card.

Targets from the issue (absolute, checked in test_bench_targets.py when benchmarking):
front+back render ≤ 100 ms; scan+verify of a 300 dpi card image ≤ 10 ms with zxing-cpp (QR and
Code128 read, signature verified; the MRZ OCR cross-check is measured separately);
issuance ≥ 20 cards/s per core including PNG output (≤ 50 ms per card).
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image

import cardlib
from cardlib import cards as cardapi
from tests._degrade import tilt

from ._support import Bench, Card


@pytest.fixture(scope="module")
def layout() -> cardapi.Layout:
    return cardapi.default_layout()


@pytest.fixture(scope="module")
def back_image(record: cardlib.HolderRecord, eddsa: Card, layout: cardapi.Layout) -> Image.Image:
    return cardapi.render_back(record, eddsa.payload, layout).convert("L")


@pytest.mark.benchmark(group="cards")
class TestCards:
    def test_qr_encode(self, bench: Bench, eddsa: Card) -> None:
        matrix = bench(cardapi.qr_matrix, eddsa.payload)
        assert matrix.version <= 17

    def test_render_front_and_back(
        self, bench: Bench, record: cardlib.HolderRecord, eddsa: Card, layout: cardapi.Layout
    ) -> None:
        images = bench(cardapi.render_card, record, eddsa.payload, layout)
        assert images.front.size == (1011, 638)

    @pytest.mark.parametrize("backend", ["zxing", "zbar"])
    def test_scan_and_verify(
        self, bench: Bench, back_image: Image.Image, trust: cardlib.TrustStore, now: datetime,
        record: cardlib.HolderRecord, backend: str,
    ) -> None:
        if backend not in cardapi.available_backends():
            pytest.skip("libzbar is not installed")
        result = bench(cardapi.scan, back_image, trust, backend=backend, now=now, mrz=False)
        assert result.card.record == record

    def test_scan_verify_and_read_mrz(
        self, bench: Bench, back_image: Image.Image, trust: cardlib.TrustStore, now: datetime,
        record: cardlib.HolderRecord,
    ) -> None:
        """Scan+verify plus the MRZ cross-check (OCR of the machine-readable zone)."""
        cardapi.scan(back_image, trust, now=now)  # builds the glyph templates once
        result = bench(cardapi.scan, back_image, trust, now=now)
        assert result.mrz == cardapi.td1_lines(record) and result.agrees is True

    def test_scan_photo_of_both_sides(
        self, bench: Bench, record: cardlib.HolderRecord, eddsa: Card, layout: cardapi.Layout,
        trust: cardlib.TrustStore, now: datetime,
    ) -> None:
        """Reported beside the QR path: a phone photo (18 degrees of tilt, turned 33) of both
        sides of a card copied on one page; QR, rectified MRZ and the rectified front's
        Code128, every element compared."""
        images = cardapi.render_card(record, eddsa.payload, layout)
        page = Image.new("RGB", (1011, 638 * 2 + 40), "white")
        page.paste(images.back, (0, 0))
        page.paste(images.front, (0, 678))
        photo = tilt(18, 45, turn=33)(page).convert("L")
        cardapi.scan(photo, trust, now=now)  # builds the glyph templates once
        result = bench(cardapi.scan, photo, trust, now=now)
        assert dict(result.elements) == {"qr": "agrees", "code128": "agrees",
                                         "mrz_numbers": "agrees", "mrz_name": "agrees"}

    def test_issue_render_png(
        self, bench: Bench, record: cardlib.HolderRecord, keys: dict[str, cardlib.PrivateKey],
        layout: cardapi.Layout, now: datetime,
    ) -> None:
        """One card of a batch: issue, render both sides, encode both PNGs."""

        def one() -> int:
            payload = cardlib.issue(record, keys["EdDSA"], now=now)
            images = cardapi.render_card(record, payload, layout)
            size = 0
            for side in (images.front, images.back):
                out = io.BytesIO()
                side.save(out, "PNG", compress_level=1)
                size += out.tell()
            return size

        assert bench(one) > 10_000
