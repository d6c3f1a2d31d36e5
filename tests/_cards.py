"""Shared helpers for card tests: a fixed key, a fixed payload, rendered sides."""

from __future__ import annotations

import dataclasses
import io
import json
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from PIL import Image

import cardlib
from cardlib.render._card import CardImages, render_back, render_card
from cardlib.render._layout import default_layout

from .conftest import EXAMPLE, ISSUED

SEED = bytes(range(32))


@lru_cache(maxsize=1)
def fixed_key() -> cardlib.PrivateKey:
    pem = ed25519.Ed25519PrivateKey.from_private_bytes(SEED).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    return cardlib.PrivateKey.from_pem(pem)


def example_record() -> cardlib.HolderRecord:
    return cardlib.record_from_json(json.loads(EXAMPLE.read_text("utf-8")))


@lru_cache(maxsize=4)
def example_card(national_number: str | None = None) -> tuple[str, CardImages]:
    record = example_record()
    payload = cardlib.issue(record, fixed_key(), now=ISSUED)
    printed = record if national_number is None else dataclasses.replace(
        record, national_number=national_number)
    return payload, render_card(printed, payload, default_layout())


def altered_back(**changes: object) -> Image.Image:
    """The example card's back with its genuine QR code, but its print (the MRZ) made from a
    record with ``changes``: a forger's reprint, check digits recomputed."""
    payload, _ = example_card()
    printed = dataclasses.replace(example_record(), **changes)  # type: ignore[arg-type]
    return render_back(printed, payload, default_layout())


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
