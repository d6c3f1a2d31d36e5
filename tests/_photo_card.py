"""The example card with a photo signed in its payload, as `cardlib render --photo` makes it: the
portrait compressed to the room the card back leaves (cardlib.photo.fit_portrait), a fixed key
and a fixed time. Shared by the render and MRZ tests and by specs/make_samples.py."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import cardlib
from cardlib.photo import PreparedPortrait, fit_portrait
from cardlib.render import back_capacity
from cardlib.render._card import CardImages, render_card
from cardlib.render._layout import default_layout

from ._cards import example_record, fixed_key
from .conftest import ISSUED
from .test_photo import synthetic_portrait, to_jpeg


def _carrying(prepared: PreparedPortrait) -> cardlib.HolderRecord:
    return dataclasses.replace(example_record(), photo=prepared.payload_bytes,
                               photo_format=prepared.payload_format)


@lru_cache(maxsize=1)
def example_photo_card() -> tuple[cardlib.HolderRecord, str, CardImages, PreparedPortrait]:
    """(record with its photo, payload, both sides, the prepared portrait)."""
    portrait = to_jpeg(synthetic_portrait(600, 768))
    prepared = fit_portrait(
        portrait, back_capacity(default_layout()),
        lambda p: len(cardlib.issue(_carrying(p), fixed_key(), now=ISSUED)))
    record = _carrying(prepared)
    payload = cardlib.issue(record, fixed_key(), now=ISSUED)
    return record, payload, render_card(record, payload, default_layout(),
                                        prepared.card_image), prepared
