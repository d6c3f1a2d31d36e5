"""Claim 169 identity maps: the standard view, and the national-number profile's mapping.

Standard keys are used wherever one fits; fields only this profile has live in the 75-99 range
(reserved by MOSIP for closed ecosystems). The table is in ``specs/format.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Final

from .._errors import Problem, ValidationError
from .._values import short_repr
from ._record import FourPartName, HolderCategory, HolderRecord, PhotoFormat, Sex
from ._rules import DEFAULT_RULES, Rules, _passes, check_record

# Standard Claim 169 keys.
ID, VERSION, LANGUAGE, FULL_NAME, FIRST_NAME, MIDDLE_NAME, LAST_NAME = 1, 2, 3, 4, 5, 6, 7
DATE_OF_BIRTH, GENDER, ADDRESS, EMAIL, PHONE, NATIONALITY = 8, 9, 10, 11, 12, 13
MARITAL_STATUS, GUARDIAN, PHOTO, PHOTO_FORMAT, BEST_FINGERS = 14, 15, 16, 17, 18
SECONDARY_FULL_NAME, SECONDARY_LANGUAGE, LOCATION_CODE, LEGAL_STATUS, COUNTRY = 19, 20, 21, 22, 23
BIOMETRICS: Final = range(50, 66)
# Profile keys (75-99).
PROFILE_VERSION, CATEGORY, NAME_AR_PARTS, NAME_LATIN_PARTS = 75, 76, 77, 78
MOTHER_NAME_AR, MOTHER_NAME_LATIN, DOCUMENT_NUMBER, PLACE_OF_BIRTH = 79, 80, 81, 82
ISSUE_DATE, EXPIRY_DATE = 83, 84
PROFILE_KEYS: Final = frozenset(range(75, 85))

PROFILE = 1
LEGAL_STATUS_NAMES: Final = {HolderCategory.CITIZEN: "citizen", HolderCategory.RESIDENT: "resident"}

_TEXT_KEYS: Final = {
    ID: "id", VERSION: "version", LANGUAGE: "language", FULL_NAME: "full_name",
    FIRST_NAME: "first_name", MIDDLE_NAME: "middle_name", LAST_NAME: "last_name",
    DATE_OF_BIRTH: "date_of_birth", ADDRESS: "address", EMAIL: "email", PHONE: "phone",
    NATIONALITY: "nationality", GUARDIAN: "guardian", SECONDARY_FULL_NAME: "secondary_full_name",
    SECONDARY_LANGUAGE: "secondary_language", LOCATION_CODE: "location_code",
    LEGAL_STATUS: "legal_status", COUNTRY: "country_of_issuance",
}
_DIGITS: Final = frozenset("0123456789")
_CATEGORIES: Final[dict[object, HolderCategory]] = {int(c): c for c in HolderCategory}
_SEXES: Final[dict[object, Sex]] = {int(c): c for c in Sex}
_PHOTO_FORMATS: Final[dict[object, PhotoFormat]] = {int(c): c for c in PhotoFormat}
_ENUM_KEYS: Final = {GENDER: ("gender", 3), MARITAL_STATUS: ("marital_status", 3),
                     PHOTO_FORMAT: ("photo_format", 4)}


@dataclass(frozen=True, slots=True)
class Claim169:
    """The standard Claim 169 fields of a verified card, exactly as signed.

    ``biometrics`` maps keys 50-65 to their raw entries; ``extras`` holds every other key this
    version does not interpret (never silently dropped).
    """

    id: str | None = None
    version: str | None = None
    language: str | None = None
    full_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    gender: int | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    nationality: str | None = None
    marital_status: int | None = None
    guardian: str | None = None
    photo: bytes | None = None
    photo_format: int | None = None
    best_quality_fingers: tuple[int, ...] | None = None
    secondary_full_name: str | None = None
    secondary_language: str | None = None
    location_code: str | None = None
    legal_status: str | None = None
    country_of_issuance: str | None = None
    biometrics: Mapping[int, Any] = field(default_factory=lambda: MappingProxyType({}))
    extras: Mapping[int, Any] = field(default_factory=lambda: MappingProxyType({}))


def _ymd(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _parse_ymd(problems: list[Problem], path: str, value: object) -> date | None:
    text = value if type(value) is str else ""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        text = text.replace("-", "")
    if len(text) == 8 and text.isascii() and text.isdigit():
        try:
            return date.fromisoformat(text)  # YYYYMMDD (ISO 8601 basic format)
        except ValueError:
            pass
    problems.append(Problem(path, "date", f"expected a date as YYYYMMDD (got {short_repr(value)})"))
    return None


def to_claims(record: HolderRecord, rules: Rules = DEFAULT_RULES) -> dict[int, Any]:
    """The Claim 169 map of a valid record (validate it first with ``check_record``)."""
    latin = record.name_latin
    claims: dict[int, Any] = {
        ID: record.identifier,
        FULL_NAME: latin.full,
        FIRST_NAME: latin.first,
        MIDDLE_NAME: f"{latin.father} {latin.grandfather}",
        LAST_NAME: latin.family,
        DATE_OF_BIRTH: _ymd(record.date_of_birth),
        GENDER: int(record.sex),
        ADDRESS: record.address,
        NATIONALITY: record.nationality,
        SECONDARY_FULL_NAME: record.name_ar.full,
        SECONDARY_LANGUAGE: "ara",
        LOCATION_CODE: record.centre_code,
        LEGAL_STATUS: LEGAL_STATUS_NAMES[record.category],
        COUNTRY: rules.issuing_country,
        PROFILE_VERSION: PROFILE,
        CATEGORY: int(record.category),
        NAME_AR_PARTS: _word_counts(record.name_ar),
        NAME_LATIN_PARTS: _word_counts(latin),
        MOTHER_NAME_AR: record.mother_name_ar,
        DOCUMENT_NUMBER: record.document_number,
        PLACE_OF_BIRTH: record.place_of_birth,
        ISSUE_DATE: _ymd(record.issue_date),
        EXPIRY_DATE: _ymd(record.expiry_date),
    }
    optional = {EMAIL: record.email, PHONE: record.phone, PHOTO: record.photo,
                MOTHER_NAME_LATIN: record.mother_name_latin}
    claims.update((key, value) for key, value in optional.items() if value is not None)
    if record.photo_format is not None:
        claims[PHOTO_FORMAT] = int(record.photo_format)
    return claims


def read_claim169(claims: Mapping[Any, Any]) -> Claim169:
    """The standard view of a Claim 169 map; raise :class:`ValidationError` on a type mismatch.

    Out-of-range enumerations (gender 7, photoFormat 9) are errors, never dropped.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    biometrics: dict[int, Any] = {}
    extras: dict[int, Any] = {}
    for key, value in claims.items():
        text_name = _TEXT_KEYS.get(key) if type(key) is int else None
        if text_name is not None:
            if type(value) is str:
                values[text_name] = value
            else:
                problems.append(Problem(f"claim169.{key}", "type", f"{text_name} must be text"))
        elif type(key) is not int:
            problems.append(Problem(f"claim169.{key}", "type", "Claim 169 keys are integers"))
        elif key in _ENUM_KEYS:
            name, top = _ENUM_KEYS[key]
            # MOSIP's own example writes gender as text ("1"); read that form too.
            textual = type(value) is str and value in _DIGITS
            number = int(value) if textual else value
            if type(number) is int and 1 <= number <= top:
                values[name] = number
            else:
                problems.append(Problem(f"claim169.{key}", "enum",
                                        f"{name} must be 1..{top} (got {short_repr(value)})"))
        elif key == PHOTO:
            if type(value) is bytes:
                values["photo"] = value
            else:
                problems.append(Problem(f"claim169.{key}", "type", "photo must be a byte string"))
        elif key == BEST_FINGERS:
            if type(value) is list and all(type(v) is int and 0 <= v <= 10 for v in value):
                values["best_quality_fingers"] = tuple(value)
            else:
                problems.append(Problem(f"claim169.{key}", "type",
                                        "bestQualityFingers is a list of 0..10"))
        elif key in BIOMETRICS:
            if type(value) is list and all(type(v) is dict for v in value):
                biometrics[key] = tuple(MappingProxyType(v) for v in value)
            else:
                problems.append(Problem(f"claim169.{key}", "type",
                                        "a biometric entry is a list of maps"))
        else:
            extras[key] = value
    if problems:
        raise ValidationError(problems)
    return Claim169(**values, biometrics=MappingProxyType(biometrics),
                    extras=MappingProxyType(extras))


def has_profile(claims: Mapping[Any, Any]) -> bool:
    return PROFILE_VERSION in claims


def _text(
    problems: list[Problem], claims: Mapping[Any, Any], key: int, required: bool = True
) -> Any:
    value = claims.get(key)
    if value is None and required:
        problems.append(Problem(f"claim169.{key}", "required", "missing from the signed data"))
    return value


def _word_counts(name: FourPartName) -> list[int]:
    """How many space-separated words each part has: the parts are the full name cut there.

    This keeps the four-part structure without repeating the name (the QR stays smaller).
    """
    return [part.count(" ") + 1 for part in name.parts]


def _parts(
    problems: list[Problem], claims: Mapping[Any, Any], key: int, full: str | None
) -> Any:
    """Cut ``full`` (fullName or secondaryFullName) into four parts by the word counts."""
    counts = claims.get(key)
    words = full.split(" ") if type(full) is str else []
    if type(counts) is list and len(counts) == 4:
        a, b, c, d = counts
        if (type(a) is int and type(b) is int and type(c) is int and type(d) is int
                and a > 0 and b > 0 and c > 0 and d > 0 and a + b + c + d == len(words)):
            b += a
            c += b
            return FourPartName(" ".join(words[:a]), " ".join(words[a:b]),
                                " ".join(words[b:c]), " ".join(words[c:]))
    problems.append(Problem(f"claim169.{key}", "type",
                            "the name's word counts must be 4 positive integers that add up to "
                            "the number of words in the full name"))
    return None


def record_from_claims(
    claims: Mapping[Any, Any], view: Claim169, rules: Rules = DEFAULT_RULES
) -> HolderRecord:
    """Rebuild and re-validate the holder record from a signed profile map."""
    problems: list[Problem] = []
    version = claims.get(PROFILE_VERSION)
    if type(version) is not int or version != PROFILE:
        problems.append(Problem(f"claim169.{PROFILE_VERSION}", "unsupported_profile",
                                f"profile version {short_repr(version)} is not known"))
        raise ValidationError(problems)
    if view.extras:
        problems.extend(Problem(f"claim169.{k}", "unknown_field", "not defined by profile "
                                "version 1") for k in view.extras
                        if k in range(75, 100) and k not in PROFILE_KEYS)
    category = claims.get(CATEGORY)
    if category not in (1, 2) or type(category) is not int:
        problems.append(Problem(f"claim169.{CATEGORY}", "enum", "holder category must be 1 or 2"))
        category = None
    name_ar = _parts(problems, claims, NAME_AR_PARTS, view.secondary_full_name)
    name_latin = _parts(problems, claims, NAME_LATIN_PARTS, view.full_name)
    identifier = view.id
    record = HolderRecord(
        category=_CATEGORIES.get(category),  # type: ignore[arg-type]
        national_number=identifier if category == HolderCategory.CITIZEN else None,
        admin_number=identifier if category == HolderCategory.RESIDENT else None,
        name_ar=name_ar,
        name_latin=name_latin,
        mother_name_ar=_text(problems, claims, MOTHER_NAME_AR),
        mother_name_latin=_text(problems, claims, MOTHER_NAME_LATIN, required=False),
        date_of_birth=_parse_ymd(problems, "claim169.8", view.date_of_birth),  # type: ignore[arg-type]
        place_of_birth=_text(problems, claims, PLACE_OF_BIRTH),
        sex=_SEXES.get(view.gender, view.gender),  # type: ignore[arg-type]
        nationality=view.nationality,  # type: ignore[arg-type]
        address=view.address,  # type: ignore[arg-type]
        phone=view.phone,
        email=view.email,
        document_number=_text(problems, claims, DOCUMENT_NUMBER),
        centre_code=view.location_code,  # type: ignore[arg-type]
        issue_date=_parse_ymd(problems, f"claim169.{ISSUE_DATE}",
                              claims.get(ISSUE_DATE)),  # type: ignore[arg-type]
        expiry_date=_parse_ymd(problems, f"claim169.{EXPIRY_DATE}",
                               claims.get(EXPIRY_DATE)),  # type: ignore[arg-type]
        photo=view.photo,
        photo_format=_PHOTO_FORMATS.get(view.photo_format),
    )
    problems.extend(check_record(record, rules))
    if not problems:
        _check_consistency(problems, record, view, rules)
    if problems:
        raise ValidationError(problems)
    return record


def _check_consistency(
    problems: list[Problem], record: HolderRecord, view: Claim169, rules: Rules
) -> None:
    """The standard keys must say the same as the profile keys they duplicate."""
    latin = record.name_latin
    expected = (
        (FULL_NAME, view.full_name, latin.full),
        (FIRST_NAME, view.first_name, latin.first),
        (MIDDLE_NAME, view.middle_name, f"{latin.father} {latin.grandfather}"),
        (LAST_NAME, view.last_name, latin.family),
        (SECONDARY_FULL_NAME, view.secondary_full_name, record.name_ar.full),
        (SECONDARY_LANGUAGE, view.secondary_language, "ara"),
        (LEGAL_STATUS, view.legal_status, LEGAL_STATUS_NAMES[record.category]),
        (COUNTRY, view.country_of_issuance, rules.issuing_country),
    )
    for key, actual, wanted in expected:
        if actual != wanted:
            problems.append(Problem(f"claim169.{key}", "inconsistent",
                                    f"{_TEXT_KEYS[key]} disagrees with the profile fields"))


# --- The fast path -------------------------------------------------------------------------------
# A card issued under this profile has one shape: the keys ``to_claims`` writes, each with its one
# type. ``read_profile`` reads such a map in one pass, building the standard view and the holder
# record together and validating the record with the rules' fast path. It only ever says "this is
# exactly what read_claim169 and record_from_claims return"; anything else (another key, another
# type, a record that does not pass) gives None, and the caller reads the map the general way,
# which names the problem. tests/test_fast_read.py checks that the two agree.
_FAST_REQUIRED: Final = frozenset({
    ID, FULL_NAME, FIRST_NAME, MIDDLE_NAME, LAST_NAME, DATE_OF_BIRTH, GENDER, ADDRESS,
    NATIONALITY, SECONDARY_FULL_NAME, SECONDARY_LANGUAGE, LOCATION_CODE, LEGAL_STATUS, COUNTRY,
    PROFILE_VERSION, CATEGORY, NAME_AR_PARTS, NAME_LATIN_PARTS, MOTHER_NAME_AR, DOCUMENT_NUMBER,
    PLACE_OF_BIRTH, ISSUE_DATE, EXPIRY_DATE,
})
_FAST_KEYS: Final = _FAST_REQUIRED | {EMAIL, PHONE, PHOTO, PHOTO_FORMAT, MOTHER_NAME_LATIN}
_PRESENT_PROFILE_KEYS: Final = tuple(sorted(PROFILE_KEYS))
_INT_ONLY: Final = frozenset({int})
_NO_ENTRIES: Final[Mapping[int, Any]] = MappingProxyType({})


def _basic_date(value: object) -> date | None:
    """A date written YYYYMMDD (as ``to_claims`` writes it), else None."""
    if type(value) is not str or len(value) != 8 or not value.isascii() or not value.isdigit():
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _cut(counts: object, words: list[str]) -> FourPartName | None:
    if type(counts) is not list or len(counts) != 4:
        return None
    a, b, c, d = counts
    if not (type(a) is int and type(b) is int and type(c) is int and type(d) is int
            and a > 0 and b > 0 and c > 0 and d > 0 and a + b + c + d == len(words)):
        return None
    b += a
    c += b
    return FourPartName(" ".join(words[:a]), " ".join(words[a:b]), " ".join(words[b:c]),
                        " ".join(words[c:]))


def read_profile(
    claims: dict[Any, Any], rules: Rules = DEFAULT_RULES
) -> tuple[Claim169, HolderRecord] | None:
    """The standard view and the holder record of a valid profile map, read in one pass; None
    when the map is anything but a valid card of profile version 1 in the shape ``to_claims``
    writes (read it with :func:`read_claim169` and :func:`record_from_claims` then)."""
    keys = claims.keys()
    if (not (_FAST_REQUIRED <= keys <= _FAST_KEYS) or {*map(type, keys)} != _INT_ONLY
            or None in claims.values()):  # an optional field is left out, never null
        return None
    get = claims.get
    version, category, gender = claims[PROFILE_VERSION], claims[CATEGORY], claims[GENDER]
    if (type(version) is not int or version != PROFILE or type(category) is not int
            or type(gender) is not int or not 1 <= category <= 2 or not 1 <= gender <= 2):
        return None
    photo, photo_format = get(PHOTO), get(PHOTO_FORMAT)
    if photo_format is not None and (type(photo_format) is not int
                                     or not 1 <= photo_format <= 4):
        return None
    if photo is not None and type(photo) is not bytes:
        return None
    full, secondary = claims[FULL_NAME], claims[SECONDARY_FULL_NAME]
    if type(full) is not str or type(secondary) is not str:
        return None
    latin = _cut(claims[NAME_LATIN_PARTS], full.split(" "))
    arabic = _cut(claims[NAME_AR_PARTS], secondary.split(" "))
    birth, issued, expiry = (_basic_date(claims[DATE_OF_BIRTH]), _basic_date(claims[ISSUE_DATE]),
                             _basic_date(claims[EXPIRY_DATE]))
    if latin is None or arabic is None or birth is None or issued is None or expiry is None:
        return None
    holder_category = _CATEGORIES[category]
    citizen = holder_category is HolderCategory.CITIZEN
    identifier = claims[ID]
    record = HolderRecord(
        category=holder_category,
        national_number=identifier if citizen else None,
        admin_number=None if citizen else identifier,
        name_ar=arabic,
        name_latin=latin,
        mother_name_ar=claims[MOTHER_NAME_AR],
        mother_name_latin=get(MOTHER_NAME_LATIN),
        date_of_birth=birth,
        place_of_birth=claims[PLACE_OF_BIRTH],
        sex=_SEXES[gender],
        nationality=claims[NATIONALITY],
        address=claims[ADDRESS],
        phone=get(PHONE),
        email=get(EMAIL),
        document_number=claims[DOCUMENT_NUMBER],
        centre_code=claims[LOCATION_CODE],
        issue_date=issued,
        expiry_date=expiry,
        photo=photo,
        photo_format=None if photo_format is None else _PHOTO_FORMATS[photo_format],
    )
    # Every text value left unchecked above is checked here: by the rules' pattern (which also
    # refuses anything that is not text) or by equality with the text the profile derives.
    if (claims[FIRST_NAME] != latin.first or claims[LAST_NAME] != latin.family
            or claims[MIDDLE_NAME] != f"{latin.father} {latin.grandfather}"
            or claims[SECONDARY_LANGUAGE] != "ara"
            or claims[LEGAL_STATUS] != LEGAL_STATUS_NAMES[holder_category]
            or claims[COUNTRY] != rules.issuing_country or not _passes(record, rules)):
        return None
    view = Claim169(
        id=identifier, full_name=full, first_name=claims[FIRST_NAME],
        middle_name=claims[MIDDLE_NAME], last_name=claims[LAST_NAME],
        date_of_birth=claims[DATE_OF_BIRTH], gender=gender, address=record.address,
        email=record.email, phone=record.phone, nationality=record.nationality, photo=photo,
        photo_format=photo_format, secondary_full_name=secondary,
        secondary_language="ara", location_code=record.centre_code,
        legal_status=claims[LEGAL_STATUS], country_of_issuance=rules.issuing_country,
        biometrics=_NO_ENTRIES,
        extras=MappingProxyType({key: value for key, value in claims.items()
                                 if key in PROFILE_KEYS}),
    )
    return view, record
