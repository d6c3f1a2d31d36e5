"""Mutated payloads: every outcome is a CardError, or (only if the signature still verifies) the
identical record. Nothing else may escape."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cardlib
from cardlib import CardError, HolderRecord, PrivateKey, TrustStore
from cardlib._pipeline import build
from cardlib.codec._base45 import ALPHABET, b45encode
from tests._craft import craft

from .conftest import CHECKED, ISSUED

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(payload: str, trust: TrustStore, expected: HolderRecord) -> None:
    try:
        card = cardlib.verify(payload, trust, now=CHECKED)
    except CardError as err:
        assert err.code != "card_error" and err.code
        return
    assert card.record == expected


@pytest.fixture(scope="module")
def signed(record: HolderRecord, ed_key: PrivateKey, es_key: PrivateKey) -> list[tuple[str, str]]:
    """(payload, kind) pairs: normal issue for both algorithms plus the uncompressed variant."""
    ed = build(record, ed_key, now=ISSUED)
    return [(ed.base45, "ed"), (build(record, es_key, now=ISSUED).base45, "es"),
            (craft(ed_key, ed.cbor, compress=False), "ed-raw")]


def test_every_character_position(
    signed: list[tuple[str, str]], record: HolderRecord, trust: TrustStore
) -> None:
    for payload, _ in signed:
        for index, char in enumerate(payload):
            replacement = ALPHABET[(ALPHABET.index(char) + 1 + index % 44) % 45]
            _outcome(payload[:index] + replacement + payload[index + 1 :], trust, record)
            _outcome(payload[:index] + payload[index + 1 :], trust, record)


@SETTINGS
@given(data=st.data())
def test_random_byte_mutations_of_every_layer(
    data: st.DataObject, signed: list[tuple[str, str]], record: HolderRecord, trust: TrustStore,
    ed_key: PrivateKey,
) -> None:
    layers = build(record, ed_key, now=ISSUED)
    target = data.draw(st.sampled_from(["compressed", "cose"]))
    raw = bytearray(layers.compressed if target == "compressed" else layers.cose)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(raw)))
        raw = raw[:cut] + bytearray(data.draw(st.binary(max_size=8))) + raw[cut:]
    body = bytes(raw) if target == "compressed" else zlib.compress(bytes(raw))
    _outcome(b45encode(body), trust, record)


@SETTINGS
@given(text=st.text(alphabet=ALPHABET + "abc\n\x00é", max_size=200))
def test_arbitrary_text(text: str, trust: TrustStore, record: HolderRecord) -> None:
    _outcome(text, trust, record)


@SETTINGS
@given(blob=st.binary(max_size=300))
def test_arbitrary_bytes_compressed_or_not(
    blob: bytes, trust: TrustStore, record: HolderRecord
) -> None:
    _outcome(b45encode(blob), trust, record)
    _outcome(b45encode(zlib.compress(blob)), trust, record)


@SETTINGS
@given(data=st.data())
def test_re_signed_mutations_of_the_claims_never_escape(
    data: st.DataObject, record: HolderRecord, ed_key: PrivateKey, trust: TrustStore
) -> None:
    """Mutations a trusted signer signed: the decoder after the signature must stay typed."""
    raw = bytearray(build(record, ed_key, now=ISSUED).cbor)
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        card = cardlib.verify(craft(ed_key, bytes(raw)), trust, now=CHECKED)
    except CardError as err:
        assert err.code != "card_error"
    else:
        assert isinstance(card, cardlib.VerifiedCard)
