"""The zlib, CBOR and COSE layers on their own."""

from __future__ import annotations

import zlib

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardlib import (
    DEFAULT_LIMITS,
    CborCountError,
    CborDepthError,
    CborError,
    CoseError,
    DecompressError,
    DuplicateKeyError,
    Limits,
    PayloadTooLargeError,
    TextTooLongError,
)
from cardlib.codec import _cbor, _cose, _zlib

# --- zlib -------------------------------------------------------------------------------------


def test_zlib_round_trip_and_detection() -> None:
    data = b"\x84" + bytes(range(256)) * 4
    packed = _zlib.compress(data)
    assert _zlib.looks_compressed(packed)
    assert _zlib.decompress(packed, 65536) == data


@pytest.mark.parametrize("first", [b"\x84", b"\xd2\x84", b"\xd8\x3d\xd2", b""])
def test_cose_starts_never_look_compressed(first: bytes) -> None:
    assert not _zlib.looks_compressed(first + b"\x40\x40")


def test_zlib_bomb_is_refused_at_the_limit() -> None:
    bomb = zlib.compress(bytes(10_000_000), 9)
    assert len(bomb) < 11_000
    with pytest.raises(PayloadTooLargeError) as info:
        _zlib.decompress(bomb, 65536)
    assert info.value.code == "payload_too_large"
    assert _zlib.decompress(zlib.compress(bytes(65536)), 65536) == bytes(65536)
    with pytest.raises(PayloadTooLargeError):
        _zlib.decompress(zlib.compress(bytes(65537)), 65536)


def test_truncated_and_trailing_zlib_are_refused() -> None:
    packed = zlib.compress(b"hello world" * 20)
    with pytest.raises(DecompressError, match="truncated"):
        _zlib.decompress(packed[:-3], 65536)
    with pytest.raises(DecompressError, match="follow"):
        _zlib.decompress(packed + b"\x00", 65536)
    with pytest.raises(DecompressError):
        _zlib.decompress(b"\x78\x9c\xff\xff\xff", 65536)


# --- CBOR -------------------------------------------------------------------------------------

L = DEFAULT_LIMITS


def test_deterministic_encoding_sorts_keys_and_uses_shortest_forms() -> None:
    assert _cbor.dumps({10: 1, 1: 2, 169: {2: "b", 1: "a"}}) == bytes.fromhex(
        "a3" "0102" "0a01" "18a9" "a2" "016161" "026162")
    assert _cbor.dumps(23) == b"\x17" and _cbor.dumps(24) == b"\x18\x18"


@given(st.recursive(
    st.integers(-(2**63), 2**64 - 1) | st.text(max_size=20) | st.binary(max_size=20)
    | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.integers(-100, 100), inner, max_size=4),
    max_leaves=30,
))
def test_strict_decoder_round_trips_what_it_allows(value: object) -> None:
    try:
        decoded = _cbor.loads(_cbor.dumps(value), Limits(max_depth=64))
    except CborDepthError:
        return
    assert decoded == value


@pytest.mark.parametrize(
    ("hex_data", "error", "code"),
    [
        ("a201020103", DuplicateKeyError, "cbor_duplicate_key"),
        ("a2616101616102", DuplicateKeyError, "cbor_duplicate_key"),
        ("81" * 9 + "00", CborDepthError, "cbor_too_deep"),
        ("c11a514b67b0", CborError, "cbor_invalid"),       # tag 1 (date)
        ("d81c81d81d00", CborError, "cbor_invalid"),       # shared references (cycles)
        ("d8237161", CborError, "cbor_invalid"),           # tag 35 (regex)
        ("c249010000000000000000", CborError, "cbor_invalid"),  # bignum
        ("d9ea6000", CborError, "cbor_invalid"),           # unknown tag
        ("f97e00", CborError, "cbor_invalid"),             # float
        ("f7", CborError, "cbor_invalid"),                 # undefined
        ("f0", CborError, "cbor_invalid"),                 # simple value 16
        ("5f4100ff", CborError, "cbor_invalid"),           # indefinite length
        ("0102", CborError, "cbor_invalid"),               # trailing byte
        ("9bffffffffffffffff", CborError, "cbor_invalid"),  # absurd declared length
        ("7bffffffffffffffff", CborError, "cbor_invalid"),
        ("a1f402", CborError, "cbor_invalid"),             # boolean map key
        ("a14100 02", CborError, "cbor_invalid"),          # byte-string map key
        ("62c328", CborError, "cbor_invalid"),             # invalid UTF-8
        ("", CborError, "cbor_invalid"),
    ],
)
def test_strict_decoder_refusals(hex_data: str, error: type[CborError], code: str) -> None:
    with pytest.raises(error) as info:
        _cbor.loads(bytes.fromhex(hex_data.replace(" ", "")), L)
    assert info.value.code == code


def test_item_count_and_text_limits() -> None:
    with pytest.raises(CborCountError) as count:
        _cbor.loads(_cbor.dumps(list(range(600))), L)
    assert count.value.code == "cbor_too_many_items"
    assert len(_cbor.loads(_cbor.dumps(list(range(500))), L)) == 500
    with pytest.raises(TextTooLongError) as text:
        _cbor.loads(_cbor.dumps({1: "x" * 1025}), L)
    assert text.value.code == "text_too_long"
    assert _cbor.loads(_cbor.dumps({1: "x" * 1024}), L) == {1: "x" * 1024}
    assert _cbor.loads(_cbor.dumps(list(range(10))), Limits(max_items=11)) == list(range(10))
    with pytest.raises(CborCountError):
        _cbor.loads(_cbor.dumps(list(range(11))), Limits(max_items=11))


def test_limits_must_be_positive_integers() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=0)
    with pytest.raises(ValueError, match="max_items"):
        Limits(max_items=True)


# --- COSE -------------------------------------------------------------------------------------

def _sign1(*items: object, tag: int | None = 18) -> bytes:
    body: object = list(items)
    return cbor2.dumps(cbor2.CBORTag(tag, body) if tag is not None else body)


def test_cose_envelopes() -> None:
    protected = _cbor.dumps({1: -8})
    plain = [protected, {}, b"payload", bytes(64)]
    assert _cose.decode(_sign1(*plain), L).envelope == "tag18"
    assert _cose.decode(_sign1(*plain, tag=None), L).envelope == "untagged"
    cwt = cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, plain)))
    message = _cose.decode(cwt, L)
    assert message.envelope == "tag61"
    assert message.payload == b"payload"
    assert dict(message.protected_header) == {1: -8}


@pytest.mark.parametrize(
    "data",
    [
        _sign1(b"", {}, b"p"),                                  # three items
        _sign1(b"", {}, None, bytes(64)),                       # detached payload
        _sign1({1: -8}, {}, b"p", bytes(64)),                   # protected not a bstr
        _sign1(b"", [], b"p", bytes(64)),                       # unprotected not a map
        _sign1(b"", {}, b"p", "sig"),                           # signature not bytes
        _sign1(cbor2.dumps([1]), {}, b"p", bytes(64)),          # protected not a map
        _sign1(cbor2.dumps({1: -8}), {1: -8}, b"p", bytes(64)),  # label in both headers
        _sign1(b"", {}, b"p", bytes(64), tag=16),               # COSE_Encrypt0
        cbor2.dumps(cbor2.CBORTag(61, [b"", {}, b"p", bytes(64)])),  # 61 without 18
        cbor2.dumps(cbor2.CBORTag(18, cbor2.CBORTag(18, [b"", {}, b"p", bytes(64)]))),
    ],
)
def test_cose_structure_refusals(data: bytes) -> None:
    with pytest.raises((CoseError, CborError)) as info:
        _cose.decode(data, L)
    assert info.value.code in ("cose_invalid", "cbor_invalid")


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_sig_structure_matches_rfc_9052(size: int) -> None:
    """Written by hand for speed: it must equal the encoder's output at every length boundary."""
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    for protected in (b"", b"\xa1\x01\x27", payload):
        assert _cose.sig_structure(protected, payload) == cbor2.dumps(
            ["Signature1", protected, b"", payload], canonical=True)
