from __future__ import annotations

import base45
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardlib import Base45Error
from cardlib.codec._base45 import ALPHABET, b45decode, b45encode

# RFC 9285 section 4.
RFC_EXAMPLES = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
                (b"ietf!", "QED8WEX0"), (b"", "")]


@pytest.mark.parametrize(("raw", "text"), RFC_EXAMPLES)
def test_rfc_examples(raw: bytes, text: str) -> None:
    assert b45encode(raw) == text
    assert b45decode(text) == raw


@given(st.binary(max_size=600))
def test_round_trip_and_agrees_with_the_base45_package(data: bytes) -> None:
    text = b45encode(data)
    assert text == base45.b45encode(data).decode("ascii")
    assert b45decode(text) == data


@given(st.text(alphabet=ALPHABET, max_size=60))
def test_decoder_agrees_with_the_base45_package_on_any_alphabet_text(text: str) -> None:
    try:
        expected = base45.b45decode(text)
    except ValueError:
        with pytest.raises(Base45Error):
            b45decode(text)
    else:
        assert b45decode(text) == expected


@pytest.mark.parametrize(
    "text",
    ["GGW", "ZZZ", ":::", "A", "ABCD", "bb8", "BB8\n", " BB8", "BB8=", "ÄBB", "BB\u0000",
     "%69 VD92EX0a", "\U0001f600AB"],
)
def test_invalid_text_is_refused_with_its_code(text: str) -> None:
    with pytest.raises(Base45Error) as info:
        b45decode(text)
    assert info.value.code == "base45_invalid"


def test_a_final_pair_above_255_is_refused() -> None:
    assert b45decode("U5") == b"\xff"
    with pytest.raises(Base45Error):
        b45decode("V5")
