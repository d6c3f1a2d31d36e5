"""The validator's fast path (``_passes``) against the field-by-field one (``_diagnose``).

``check_record`` answers "valid" from the fast path alone, so the fast path must never accept a
record that ``_diagnose`` would refuse. For text fields the two must agree exactly (a fast path
that refused good text would only cost speed, but agreement keeps both honest); for everything
else the fast path may send a valid record on to ``_diagnose`` but never pass an invalid one.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cardlib
from cardlib import FourPartName, HolderCategory, HolderRecord, PhotoFormat, Rules, Sex
from cardlib.profile._rules import _diagnose, _passes, check_record

RULES = cardlib.DEFAULT_RULES
# (attribute, part of a four-part name or None, maximum length)
TEXT_FIELDS = [
    *[("name_ar", part, 64) for part in ("first", "father", "grandfather", "family")],
    *[("name_latin", part, 64) for part in ("first", "father", "grandfather", "family")],
    ("mother_name_ar", None, 256), ("mother_name_latin", None, 256),
    ("place_of_birth", None, 256), ("nationality", None, 256), ("address", None, 256),
    ("phone", None, 24), ("email", None, 254), ("document_number", None, 20),
    ("centre_code", None, 16), ("national_number", None, 12),
]
FORMAT_CHARS = [  # some of each range of _FORMAT_CHARS, and lone surrogates
    "\u00ad", "\u0600", "\u0605", "\u061c", "\u06dd", "\u070f", "\u0890", "\u08e2", "\u180e",
    "\u200b", "\u200e", "\u202a", "\u2066", "\ufeff", "\ufff9", "\U000110bd", "\U000e0001",
    "\ud800", "\udfff",
]


def _with(record: HolderRecord, attr: str, part: str | None, value: object) -> HolderRecord:
    if part is None:
        changes: dict[str, Any] = {attr: value}
        return dataclasses.replace(record, **changes)
    name = dataclasses.replace(getattr(record, attr), **{part: value})
    return dataclasses.replace(record, **{attr: name})


def _agree(record: HolderRecord, rules: Rules = RULES, *, exact: bool = True) -> None:
    fast, valid = _passes(record, rules), not _diagnose(record, rules)
    if exact:
        assert fast == valid, (fast, valid, record)
    else:
        assert valid or not fast, record  # the fast path never passes an invalid record
    assert check_record(record, rules) == _diagnose(record, rules)


@pytest.fixture(scope="module")
def resident(record: HolderRecord) -> HolderRecord:
    return dataclasses.replace(record, category=HolderCategory.RESIDENT, national_number=None,
                               admin_number="R20260001", nationality="EGY")


def _candidates(value: str, max_len: int) -> list[object]:
    """Values around ``value`` that probe each check of ``_text``."""
    out: list[object] = [
        value, "", " ", None, 5, b"x", value + " ", " " + value, value + "\n", value + "\t",
        value + "\u00a0", "\u3000" + value, value + "\x00", "\x00", "\x01", value + "\x01",
        value[:1] + "\n" + value[1:], value + value, value + " " + value, value + "  " + value,
        "x" * max_len, "x" * (max_len + 1), value[:1] * max_len, value[:1] * (max_len + 1),
        value + "\u0301", "e\u0301", "\u00e9", value.lower(), value.upper(), "-" + value,
        value + "-", "A", "AB1", "LBY", "EGY", "1" * 12, "119850012347", "+218 91 234 5678",
        "a@b.ly", "a@@b.ly", "Ali", "علي", "علي بن", "Ali  Ben", "O'Neil", "ب،ت", "٣",
    ]
    out += [value + c for c in FORMAT_CHARS] + [c + value for c in FORMAT_CHARS]
    out += [value[:1] + c + value[1:] for c in FORMAT_CHARS]
    return out


@pytest.mark.parametrize(("attr", "part", "max_len"), TEXT_FIELDS)
def test_text_fields_agree(
    record: HolderRecord, resident: HolderRecord, attr: str, part: str | None, max_len: int
) -> None:
    base = getattr(record, attr) if part is None else getattr(getattr(record, attr), part)
    for value in _candidates(base or "x", max_len):
        _agree(_with(record, attr, part, value))
    if attr != "national_number":
        for value in _candidates(base or "x", max_len)[:25]:
            _agree(_with(resident, attr, part, value))


@pytest.mark.parametrize(("attr", "part", "base"), [
    ("name_ar", "first", "محمد"), ("name_latin", "family", "Elwarfali"),
    ("mother_name_ar", None, "فاطمة"), ("place_of_birth", None, "Tripoli"),
    ("address", None, "Tripoli"), ("email", None, "ali@example.ly"),
])
def test_every_character_of_the_relevant_blocks_agrees(
    record: HolderRecord, attr: str, part: str | None, base: str
) -> None:
    """Every code point of Latin, Arabic, the spaces and general punctuation (the format
    characters among them), the specials, and some astral ones, inside a word."""
    points = [*range(0x900), *range(0x1680, 0x1690), *range(0x180B, 0x1810), *range(0x2000, 0x2070),
              *range(0x3000, 0x3002), *range(0xD7FF, 0xD801), *range(0xDFFF, 0xE001),
              *range(0xFB50, 0xFB60), *range(0xFE70, 0xFE80), *range(0xFEFE, 0xFF01),
              *range(0xFFF8, 0x10000), 0x110BD, 0x1D173, 0xE0041, 0x1F600]
    chars = list(map(chr, points))
    for c in chars:
        _agree(_with(record, attr, part, base[:2] + c + base[2:]))


@given(st.text(alphabet=st.sampled_from(
    "aZ0 -'’.@+،\n\t\x00\x01\u00a0\u00ad\u0301\u0600\u0627\u0628\u064b\u0660\u200c\u200f"
    "\u2028\ud800é"), max_size=20))
@settings(max_examples=300, deadline=None)
def test_random_text_agrees(record: HolderRecord, text: str) -> None:
    for attr, part, _ in TEXT_FIELDS[::3]:
        _agree(_with(record, attr, part, text))


def test_other_fields_never_pass_invalid(record: HolderRecord, resident: HolderRecord) -> None:
    cases: list[tuple[HolderRecord, str, object]] = []
    for base in (record, resident):
        cases += [
            (base, "category", None), (base, "category", 1), (base, "category", 3),
            (base, "sex", None), (base, "sex", 1), (base, "sex", Sex.FEMALE),
            (base, "name_ar", None), (base, "name_ar", "محمد علي سالم الورفلي"),
            (base, "name_latin", ("Mohamed", "Ali", "Salem", "Elwarfali")),
            (base, "date_of_birth", None), (base, "date_of_birth", "1985-03-14"),
            (base, "date_of_birth", datetime(1985, 3, 14)),
            (base, "date_of_birth", date(1899, 12, 31)), (base, "date_of_birth", date(1986, 3, 14)),
            (base, "date_of_birth", base.issue_date), (base, "date_of_birth", base.expiry_date),
            (base, "issue_date", base.expiry_date), (base, "issue_date", base.date_of_birth),
            (base, "expiry_date", base.issue_date), (base, "expiry_date", date(9999, 1, 1)),
            (base, "expiry_date", date(9998, 12, 31)), (base, "issue_date", None),
            (base, "photo", b"\xff\xd8"), (base, "photo", b""), (base, "photo_format",
                                                                 PhotoFormat.JPEG),
            (base, "national_number", "219850012347"), (base, "national_number", "119860012347"),
            (base, "admin_number", "R20260001"), (base, "admin_number", "r-1"),
            (base, "nationality", "LBY"), (base, "nationality", "EGY"),
        ]
    for base, attr, value in cases:
        _agree(dataclasses.replace(base, **{attr: value}), exact=False)  # type: ignore[arg-type]
    with_photo = dataclasses.replace(record, photo=b"\xff\xd8\xff", photo_format=PhotoFormat.JPEG)
    _agree(with_photo)
    assert _passes(with_photo, RULES)
    _agree(dataclasses.replace(with_photo, photo_format=4), exact=False)  # type: ignore[arg-type]
    _agree(dataclasses.replace(with_photo, photo=bytearray(b"\xff")),  # type: ignore[arg-type]
           exact=False)
    _agree(dataclasses.replace(record, name_ar=FourPartName("محمد", "علي", "سالم", 7)),  # type: ignore[arg-type]
           exact=False)


def test_rules_are_consulted(record: HolderRecord, resident: HolderRecord) -> None:
    refuse = Rules(national_number_check=lambda n: False, admin_number_check=lambda n: False)
    assert _passes(record, RULES) and _passes(resident, RULES)
    for base in (record, resident):
        _agree(base, refuse)
        assert not _passes(base, refuse)
    _agree(resident, Rules(issuing_country="EGY"))
    _agree(record, Rules(issuing_country="EGY"))


def test_valid_records_take_the_fast_path(record: HolderRecord, resident: HolderRecord) -> None:
    """Not a correctness property, but the point of the fast path: valid records pass it."""
    optional: dict[str, Any] = {"mother_name_latin": None, "phone": None, "email": None}
    for base in (record, resident, dataclasses.replace(record, **optional),
                 dataclasses.replace(record, address="Line 1\nLine 2")):
        assert _passes(base, RULES), base
