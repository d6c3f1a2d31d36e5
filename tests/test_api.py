"""The public surface and the error-code table."""

from __future__ import annotations

import re

import cardlib
from cardlib._errors import all_error_classes

from .conftest import EXAMPLE, ROOT


def test_every_name_in_all_exists() -> None:
    for name in cardlib.__all__:
        assert hasattr(cardlib, name), name
    assert sorted(cardlib.__all__) == sorted(set(cardlib.__all__))


def test_error_codes_are_unique_stable_and_documented() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two error classes share a code"
    assert len(classes) >= 25
    spec = (ROOT / "specs" / "format.md").read_text("utf-8")
    for cls in classes:
        assert re.fullmatch(r"[a-z][a-z0-9_]+", cls.code), cls
        assert f"`{cls.code}`" in spec, f"{cls.code} is not documented in specs/format.md"
        assert issubclass(cls, cardlib.CardError)


def test_decode_errors_are_value_errors() -> None:
    assert issubclass(cardlib.Base45Error, ValueError)
    assert issubclass(cardlib.ValidationError, ValueError)
    assert str(cardlib.ExpiredError("x")) == "[expired] x"


def test_packaged_example_is_the_spec_example() -> None:
    packaged = ROOT / "cardlib" / "_data" / "holder.json"
    assert packaged.read_bytes() == EXAMPLE.read_bytes()
