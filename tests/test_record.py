"""The holder record: parsing, every-problem-at-once validation, the national-number rules."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import date
from typing import Any

import pytest

import cardlib
from cardlib import HolderCategory, Rules, Sex, ValidationError, record_from_json, record_to_json
from cardlib.profile._rules import _CONTROL


def _problems(data: Any, rules: Rules = cardlib.DEFAULT_RULES) -> set[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        record_from_json(data, rules)
    assert info.value.code == "record_invalid"
    return {(p.path, p.code) for p in info.value.problems}


def test_example_record_parses_and_round_trips(example_json: dict[str, Any]) -> None:
    record = record_from_json(example_json)
    assert record.category is HolderCategory.CITIZEN
    assert record.sex is Sex.MALE
    assert record.date_of_birth == date(1985, 3, 14)
    assert record.name_ar.full == "محمد علي سالم الورفلي"
    assert record.identifier == "119850012347"
    assert record_to_json(record) == example_json


def test_every_problem_is_reported_at_once(example_json: dict[str, Any]) -> None:
    bad = dict(example_json, sex="other", nationality="ly", document_number="",
               expiry_date="2020-01-01", phone="call me", colour="blue",
               name_latin={"first": "Mohamed", "father": "علي", "grandfather": "Salem"})
    found = _problems(bad)
    assert {("sex", "enum"), ("nationality", "format"), ("document_number", "required"),
            ("expiry_date", "order"), ("phone", "format"), ("colour", "unknown_field"),
            ("name_latin.father", "format"), ("name_latin.family", "required")} <= found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"national_number": "219850012347"}, ("national_number", "sex_mismatch")),
        ({"national_number": "119860012347"}, ("national_number", "birth_year_mismatch")),
        ({"national_number": "11985001234"}, ("national_number", "format")),
        ({"national_number": "31985001234X"}, ("national_number", "format")),
        ({"national_number": None}, ("national_number", "required")),
        ({"admin_number": "AB123456"}, ("admin_number", "not_allowed")),
        ({"nationality": "EGY"}, ("nationality", "category_mismatch")),
        ({"sex": "female"}, ("national_number", "sex_mismatch")),
        ({"date_of_birth": "1985-02-30"}, ("date_of_birth", "date")),
        ({"date_of_birth": "2027-01-01", "national_number": "120270012347"},
         ("date_of_birth", "order")),
        ({"category": "tourist"}, ("category", "enum")),
        ({"photo_format": "gif"}, ("photo_format", "enum")),
        ({"photo_format": "webp"}, ("photo", "required")),
        ({"photo": "not base64!"}, ("photo", "type")),
        ({"mother_name_ar": "Fatima"}, ("mother_name_ar", "format")),
        ({"mother_name_ar": None}, ("mother_name_ar", "required")),
        ({"place_of_birth": "x" * 300}, ("place_of_birth", "too_long")),
        ({"place_of_birth": " Tripoli"}, ("place_of_birth", "whitespace")),
        ({"place_of_birth": "Trip\u202eoli"}, ("place_of_birth", "control_chars")),
        ({"place_of_birth": 7}, ("place_of_birth", "type")),
        ({"email": "nobody"}, ("email", "format")),
        ({"name_ar": "محمد"}, ("name_ar", "type")),
        ({"name_ar": {"first": "محمد", "father": "علي", "grandfather": "سالم",
                      "family": "الورفلي", "tribe": "x"}}, ("name_ar.tribe", "unknown_field")),
    ],
)
def test_single_rule_violations(
    example_json: dict[str, Any], change: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert expected in _problems(dict(example_json, **change))


def test_not_an_object() -> None:
    assert _problems(["a list"]) == {("$", "type")}


def test_resident_carries_an_admin_number(example_json: dict[str, Any]) -> None:
    data = dict(example_json, category="resident", nationality="EGY", admin_number="R20260001")
    del data["national_number"]
    record = record_from_json(data)
    assert record.identifier == "R20260001"
    assert ("national_number", "not_allowed") in _problems(
        dict(data, national_number="119850012347"))
    assert ("admin_number", "format") in _problems(dict(data, admin_number="r-1"))
    assert ("nationality", "category_mismatch") in _problems(dict(data, nationality="LBY"))
    strict = Rules(admin_number_check=lambda n: n.startswith("R") and n[1:].isdigit())
    assert record_from_json(data, strict).admin_number == "R20260001"
    assert ("admin_number", "format") in _problems(dict(data, admin_number="X20260001"), strict)


def test_check_digit_is_pluggable(example_json: dict[str, Any]) -> None:
    def mod10(number: str) -> bool:
        return sum(int(c) for c in number[:11]) % 10 == int(number[11])

    # 1+1+9+8+5+0+0+1+2+3+4 = 34 -> check digit 4; the example's digit 7 fails this rule.
    assert ("national_number", "check_digit") in _problems(example_json, Rules(mod10))
    good = dict(example_json, national_number="119850012344")
    assert record_from_json(good, Rules(mod10)).national_number == "119850012344"
    assert record_from_json(example_json).national_number == "119850012347"  # default


def test_text_is_normalised_to_nfc(example_json: dict[str, Any]) -> None:
    decomposed = unicodedata.normalize("NFD", "Zoé")
    assert decomposed != "Zoé"
    data = dict(example_json, mother_name_latin=decomposed,
                name_latin=dict(example_json["name_latin"], first=decomposed))
    record = record_from_json(data)
    assert record.mother_name_latin == "Zoé"
    assert record.name_latin.first == "Zoé"
    raw = dataclasses.replace(record, place_of_birth=decomposed)
    assert ("place_of_birth", "not_nfc") in {(p.path, p.code) for p in cardlib.check_record(raw)}


def test_control_pattern_covers_every_control_and_format_character() -> None:
    allowed = {"\u200c", "\u200d"}
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf") and char not in allowed:
            assert _CONTROL.search(char), hex(code)
    assert not _CONTROL.search("\u200c\u200d محمد abc")


def test_address_may_have_several_lines(example_json: dict[str, Any]) -> None:
    record = record_from_json(dict(example_json, address="شارع 1\nطرابلس"))
    assert "\n" in record.address
    assert ("place_of_birth", "control_chars") in _problems(
        dict(example_json, place_of_birth="a\nb"))


def test_json_dates_must_be_plain_iso_dates(example_json: dict[str, Any]) -> None:
    assert ("expiry_date", "date") in _problems(dict(example_json, expiry_date="2036-W02-3"))
    assert ("expiry_date", "date") in _problems(dict(example_json, expiry_date="20360109"))


def test_empty_optional_fields(example_json: dict[str, Any]) -> None:
    record = record_from_json(dict(example_json, phone="", email=""))
    assert record.phone is None and record.email is None
    found = {(p.path, p.code) for p in cardlib.check_record(dataclasses.replace(record, phone=""))}
    assert ("phone", "empty") in found


def test_hostile_json_values_are_problems(example_json: dict[str, Any]) -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    assert ("sex", "enum") in _problems(dict(example_json, sex=deep))
    assert ("sex", "enum") in _problems(dict(example_json, sex=10**5000))
    assert ("place_of_birth", "control_chars") in _problems(
        dict(example_json, place_of_birth="Tripoli\ud800"))


def test_json_text_parsing(example_json: dict[str, Any]) -> None:
    import json

    text = json.dumps(example_json, ensure_ascii=False)
    assert cardlib.record_from_json_text(text) == record_from_json(example_json)
    doubled = text[:-1] + ', "sex": "female"}'
    with pytest.raises(ValidationError) as info:
        cardlib.record_from_json_text(doubled)
    assert ("sex", "duplicate_field") in {(p.path, p.code) for p in info.value.problems}
    for bad in ("{", "[" * 100_000 + "]" * 100_000, '{"sex": ' + "9" * 5000 + "}", b"\xff\xfe{"):
        with pytest.raises(ValidationError) as info:
            cardlib.record_from_json_text(bad)
        assert info.value.problems[0].code in ("json", "enum", "unknown_field", "required")
