"""A holder record to and from JSON-shaped values (the CLI's and the service's input)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from enum import IntEnum
from typing import Any, Final, TypeVar

from .._errors import Problem, ValidationError
from .._values import short_repr
from ._record import FourPartName, HolderCategory, HolderRecord, PhotoFormat, Sex
from ._rules import DEFAULT_RULES, Rules, check_record

NAME_PARTS = ("first", "father", "grandfather", "family")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OPTIONAL_TEXT = ("admin_number", "national_number", "mother_name_latin", "phone", "email")
_E = TypeVar("_E", bound=IntEnum)
_CATEGORY_NAMES = {"citizen": HolderCategory.CITIZEN, "resident": HolderCategory.RESIDENT}
_TEXT_FIELDS = (
    "national_number", "admin_number", "mother_name_ar", "mother_name_latin", "place_of_birth",
    "nationality", "address", "phone", "email", "document_number", "centre_code",
)
RECORD_FIELDS = frozenset(
    (*_TEXT_FIELDS, "category", "name_ar", "name_latin", "date_of_birth", "sex", "issue_date",
     "expiry_date", "photo", "photo_format")
)


def _nfc(value: object) -> object:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _enum_value(problems: list[Problem], path: str, value: object, enum: type[_E],
                names: Mapping[str, _E] | None = None) -> _E | None:
    if value is None:
        return None
    lookup = names or {m.name.lower(): m for m in enum}
    if isinstance(value, str) and value.lower() in lookup:
        return lookup[value.lower()]
    allowed = ", ".join(lookup)
    problems.append(Problem(path, "enum", f"must be one of: {allowed} (got {short_repr(value)})"))
    return None


def _date_value(problems: list[Problem], path: str, value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(Problem(path, "date",
                            f"expected a date as YYYY-MM-DD (got {short_repr(value)})"))
    return None


def _name_value(problems: list[Problem], path: str, value: object) -> FourPartName | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "type", "expected an object with first, father, "
                                "grandfather and family"))
        return None
    for key in value:
        if key not in NAME_PARTS:
            problems.append(Problem(f"{path}.{key}", "unknown_field", "not a name part"))
    parts = [_nfc(value.get(part)) for part in NAME_PARTS]
    return FourPartName(*parts)  # type: ignore[arg-type]  # types are checked by check_record


def record_from_json(data: object, rules: Rules = DEFAULT_RULES) -> HolderRecord:
    """Build and validate a record; raise :class:`ValidationError` listing every problem.

    Text is normalised to Unicode NFC. Unknown fields are problems, never silently dropped.
    """
    if not isinstance(data, Mapping):
        raise ValidationError([Problem("$", "type", "a holder record is a JSON object")])
    problems: list[Problem] = [
        Problem(str(key), "unknown_field", "this field is not part of the holder record")
        for key in data if key not in RECORD_FIELDS
    ]
    photo: bytes | None = None
    raw_photo = data.get("photo")
    if raw_photo is not None:
        try:
            photo = (
                base64.b64decode(raw_photo, validate=True) if isinstance(raw_photo, str) else None
            )
        except (binascii.Error, ValueError):
            photo = None
        if photo is None:
            problems.append(Problem("photo", "type", "the photo must be Base64 text"))
    text = {name: _nfc(data.get(name)) for name in _TEXT_FIELDS}
    for name in _OPTIONAL_TEXT:  # an empty optional field is an absent one
        if text[name] == "":
            text[name] = None
    record = HolderRecord(
        category=_enum_value(problems, "category", data.get("category"), HolderCategory,
                             _CATEGORY_NAMES),  # type: ignore[arg-type]
        name_ar=_name_value(problems, "name_ar", data.get("name_ar")),  # type: ignore[arg-type]
        name_latin=_name_value(problems, "name_latin",
                               data.get("name_latin")),  # type: ignore[arg-type]
        date_of_birth=_date_value(problems, "date_of_birth",
                                  data.get("date_of_birth")),  # type: ignore[arg-type]
        sex=_enum_value(problems, "sex", data.get("sex"), Sex),  # type: ignore[arg-type]
        issue_date=_date_value(problems, "issue_date",
                               data.get("issue_date")),  # type: ignore[arg-type]
        expiry_date=_date_value(problems, "expiry_date",
                                data.get("expiry_date")),  # type: ignore[arg-type]
        photo=photo,
        photo_format=_enum_value(problems, "photo_format", data.get("photo_format"), PhotoFormat),
        **text,  # type: ignore[arg-type]
    )
    reported = {p.path for p in problems}
    problems.extend(p for p in check_record(record, rules) if p.path not in reported)
    if problems:
        raise ValidationError(problems)
    return record


MAX_JSON_BYTES = 1 << 20


def record_from_json_text(text: str | bytes, rules: Rules = DEFAULT_RULES) -> HolderRecord:
    """Parse a JSON document (at most 1 MiB) into a validated record.

    Like :func:`record_from_json`, plus: a member given twice is the problem
    ``duplicate_field`` (never silently last-wins) and text that is not JSON is ``json``.
    """
    if len(text) > MAX_JSON_BYTES:
        raise ValidationError([Problem("$", "too_long", "a holder record is at most 1 MiB")])
    duplicates: list[Problem] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(Problem(key[:64], "duplicate_field", "given more than once"))
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, bad UTF-8, huge numbers
        message = str(err)[:200] if not isinstance(err, RecursionError) else "nested too deeply"
        raise ValidationError([Problem("$", "json", f"not a JSON document: {message}")]) from None
    try:
        record = record_from_json(data, rules)
    except ValidationError as err:
        raise ValidationError([*duplicates, *err.problems]) from None
    if duplicates:
        raise ValidationError(duplicates)
    return record


def record_to_json(record: HolderRecord) -> dict[str, Any]:
    """The JSON shape read by :func:`record_from_json` (optional fields left out when empty)."""
    out: dict[str, Any] = {
        "category": "citizen" if record.category is HolderCategory.CITIZEN else "resident",
    }
    if record.national_number is not None:
        out["national_number"] = record.national_number
    if record.admin_number is not None:
        out["admin_number"] = record.admin_number
    ar, latin = record.name_ar, record.name_latin
    out["name_ar"] = {"first": ar.first, "father": ar.father, "grandfather": ar.grandfather,
                      "family": ar.family}
    out["name_latin"] = {"first": latin.first, "father": latin.father,
                         "grandfather": latin.grandfather, "family": latin.family}
    out["mother_name_ar"] = record.mother_name_ar
    if record.mother_name_latin is not None:
        out["mother_name_latin"] = record.mother_name_latin
    out["date_of_birth"] = record.date_of_birth.isoformat()
    out["place_of_birth"] = record.place_of_birth
    out["sex"] = _SEX_NAMES[record.sex]
    out["nationality"] = record.nationality
    out["address"] = record.address
    if record.phone is not None:
        out["phone"] = record.phone
    if record.email is not None:
        out["email"] = record.email
    out["document_number"] = record.document_number
    out["centre_code"] = record.centre_code
    out["issue_date"] = record.issue_date.isoformat()
    out["expiry_date"] = record.expiry_date.isoformat()
    if record.photo is not None:
        out["photo"] = base64.b64encode(record.photo).decode("ascii")
    if record.photo_format is not None:
        out["photo_format"] = record.photo_format.name.lower()
    return out


_SEX_NAMES: Final = {sex: sex.name.lower() for sex in Sex}
