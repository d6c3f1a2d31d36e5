"""Rules of the national-number profile; validation reports every problem at once."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import IntEnum
from functools import lru_cache

from .._errors import Problem
from .._values import short_repr
from ._record import FourPartName, HolderCategory, HolderRecord, PhotoFormat, Sex

NumberCheck = Callable[[str], bool]

_NATIONAL_NUMBER = re.compile(r"[12][0-9]{11}")
_ADMIN_NUMBER = re.compile(r"[A-Z0-9]{6,20}")
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{6,20}")
_CENTRE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,15}")
_COUNTRY = re.compile(r"[A-Z]{3}")
_PHONE = re.compile(r"\+?[0-9][0-9 ]{5,19}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
# Names are words separated by single spaces (the Claim 169 map records parts as word counts).
_LATIN_LETTER = "A-Za-zÀ-ÖØ-öø-ɏ"  # Latin-1 and Latin Extended-A/B letters (not × or ÷)
_LATIN_WORD = f"[{_LATIN_LETTER}][{_LATIN_LETTER}'’.-]*"
_LATIN_NAME = re.compile(f"{_LATIN_WORD}( {_LATIN_WORD})*")
_ARABIC_LETTER = r"\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF"
_ARABIC_NAME = re.compile(f"[{_ARABIC_LETTER}]+( [{_ARABIC_LETTER}]+)*")
_ARABIC = re.compile(f"[{_ARABIC_LETTER}]")

# Unicode categories Cc and Cf (control and invisible format characters), except ZWNJ and ZWJ,
# which Arabic-script text legitimately uses. tests/test_rules.py checks this against unicodedata.
_FORMAT_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
# Lone surrogates (category Cs) cannot be encoded as UTF-8 at all.
CONTROL_CHARS = _CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT_CHARS}\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_FORMAT_CHARS}\ud800-\udfff]")

MAX_NAME = 64
MAX_TEXT = 256


def _structure_only(_: str) -> bool:
    return True


def default_admin_number_check(number: str) -> bool:
    """Default rule for residents' administrative numbers: 6-20 characters of A-Z and 0-9."""
    return _ADMIN_NUMBER.fullmatch(number) is not None


@dataclass(frozen=True, slots=True)
class Rules:
    """Deployment-supplied rules.

    ``national_number_check`` receives a 12-digit number that already passed the structure checks
    (sex digit, birth year) and returns whether its check digit (digit 12) is right. The
    algorithm is not public, so the default accepts any check digit: structure checks only.
    ``admin_number_check`` decides whether a resident's administrative number is well-formed.
    """

    national_number_check: NumberCheck = _structure_only
    admin_number_check: NumberCheck = default_admin_number_check
    issuing_country: str = "LBY"


DEFAULT_RULES = Rules()


class _Collector:
    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(path, code, message))


def _text(
    out: _Collector,
    path: str,
    value: object,
    *,
    required: bool = True,
    max_len: int = MAX_TEXT,
    pattern: re.Pattern[str] | None = None,
    pattern_hint: str = "",
    multiline: bool = False,
) -> str | None:
    """The text if it passed every check, else ``None`` (its problems are recorded)."""
    if value is None or value == "":
        if required:
            out.add(path, "required", "this field is required")
        elif value == "":
            out.add(path, "empty", "leave an optional field out instead of giving it empty")
        return None
    if not isinstance(value, str):
        out.add(path, "type", f"expected text, got {type(value).__name__}")
        return None
    before = len(out.problems)
    if len(value) > max_len:
        out.add(path, "too_long", f"at most {max_len} characters (got {len(value)})")
    if value != value.strip():
        out.add(path, "whitespace", "no leading or trailing spaces")
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        out.add(path, "control_chars",
                "control characters, invisible formatting characters and lone surrogates are "
                "not allowed")
    if not unicodedata.is_normalized("NFC", value):
        out.add(path, "not_nfc", "text must be in Unicode NFC (cardlib normalises JSON input)")
    if pattern is not None and pattern.fullmatch(value) is None:
        out.add(path, "format", pattern_hint or "wrong format")
    return value if len(out.problems) == before else None


def _enum(out: _Collector, path: str, value: object, enum: type[IntEnum], required: bool) -> None:
    if value is None:
        if required:
            out.add(path, "required", "this field is required")
        return
    if not isinstance(value, enum):
        allowed = ", ".join(m.name.lower() for m in enum)
        out.add(path, "enum", f"must be one of: {allowed} (got {short_repr(value)})")


def _date(out: _Collector, path: str, value: object) -> date | None:
    if value is None:
        out.add(path, "required", "this field is required")
        return None
    if not isinstance(value, date) or isinstance(value, datetime):  # a datetime is a date too
        out.add(path, "type", f"expected a date, got {type(value).__name__}")
        return None
    return value


def _name(out: _Collector, path: str, value: object, arabic: bool) -> None:
    if not isinstance(value, FourPartName):
        out.add(path, "required" if value is None else "type", "a four-part name is required")
        return
    for part in fields(FourPartName):
        _text(out, f"{path}.{part.name}", getattr(value, part.name), max_len=MAX_NAME,
              pattern=_ARABIC_NAME if arabic else _LATIN_NAME,
              pattern_hint=("Arabic letters, words separated by single spaces" if arabic
                            else "Latin letters, words separated by single spaces"))


def check_record(record: HolderRecord, rules: Rules = DEFAULT_RULES) -> tuple[Problem, ...]:
    """Every problem of ``record`` under ``rules`` (empty when the record is valid)."""
    if _passes(record, rules):
        return ()
    return _diagnose(record, rules)


def _diagnose(record: HolderRecord, rules: Rules) -> tuple[Problem, ...]:
    """Check every field one by one and name each problem (the path for records that fail)."""
    out = _Collector()
    _enum(out, "category", record.category, HolderCategory, True)
    _enum(out, "sex", record.sex, Sex, True)
    _name(out, "name_ar", record.name_ar, arabic=True)
    _name(out, "name_latin", record.name_latin, arabic=False)
    mother = _text(out, "mother_name_ar", record.mother_name_ar, max_len=MAX_TEXT)
    if mother is not None and not _ARABIC.search(mother):
        out.add("mother_name_ar", "format", "the mother's name must be written in Arabic")
    _text(out, "mother_name_latin", record.mother_name_latin, required=False,
          pattern=_LATIN_NAME, pattern_hint="Latin letters only")
    birth = _date(out, "date_of_birth", record.date_of_birth)
    _text(out, "place_of_birth", record.place_of_birth)
    nationality = _text(out, "nationality", record.nationality, pattern=_COUNTRY,
                        pattern_hint="an ISO 3166-1 alpha-3 code such as LBY")
    _text(out, "address", record.address, multiline=True)
    _text(out, "phone", record.phone, required=False, max_len=24, pattern=_PHONE,
          pattern_hint="digits and spaces, optionally starting with +")
    _text(out, "email", record.email, required=False, max_len=254, pattern=_EMAIL,
          pattern_hint="an e-mail address such as name@example.ly")
    _text(out, "document_number", record.document_number, max_len=20, pattern=_DOCUMENT_NUMBER,
          pattern_hint="6-20 characters, A-Z and 0-9")
    _text(out, "centre_code", record.centre_code, max_len=16, pattern=_CENTRE_CODE,
          pattern_hint="2-16 characters, A-Z, 0-9 and '-'")
    issued = _date(out, "issue_date", record.issue_date)
    expiry = _date(out, "expiry_date", record.expiry_date)
    if issued and expiry and expiry <= issued:
        out.add("expiry_date", "order", "the expiry date must come after the issue date")
    if birth and issued and birth > issued:
        out.add("date_of_birth", "order", "the date of birth cannot be after the issue date")
    for path, day in (("date_of_birth", birth), ("issue_date", issued), ("expiry_date", expiry)):
        if day and not 1900 <= day.year <= 9998:
            out.add(path, "range", "the year must be between 1900 and 9998")
    _check_number(out, record, birth, nationality, rules)
    _check_photo(out, record)
    return tuple(out.problems)


def _check_number(
    out: _Collector, record: HolderRecord, birth: date | None, nationality: str | None,
    rules: Rules,
) -> None:
    if record.category is HolderCategory.CITIZEN:
        if record.admin_number is not None:
            out.add("admin_number", "not_allowed", "citizens carry a national number instead")
        if nationality is not None and nationality != rules.issuing_country:
            out.add("nationality", "category_mismatch",
                    f"a citizen's nationality is {rules.issuing_country}")
        number = _text(out, "national_number", record.national_number, max_len=12,
                       pattern=_NATIONAL_NUMBER,
                       pattern_hint="12 digits, the first 1 (male) or 2 (female)")
        if number is None:
            return
        if isinstance(record.sex, Sex) and int(number[0]) != record.sex.value:
            out.add("national_number", "sex_mismatch",
                    "digit 1 of the national number must match the sex (1 male, 2 female)")
        if birth is not None and number[1:5] != f"{birth.year:04d}":
            out.add("national_number", "birth_year_mismatch",
                    "digits 2-5 of the national number must equal the year of birth")
        if not rules.national_number_check(number):
            out.add("national_number", "check_digit", "the check digit (digit 12) is wrong")
    elif record.category is HolderCategory.RESIDENT:
        if record.national_number is not None:
            out.add("national_number", "not_allowed",
                    "foreign residents carry an administrative number instead")
        if nationality is not None and nationality == rules.issuing_country:
            out.add("nationality", "category_mismatch",
                    "a foreign resident's nationality cannot be the issuing country")
        number = _text(out, "admin_number", record.admin_number, max_len=20)
        if number is not None and not rules.admin_number_check(number):
            out.add("admin_number", "format", "the administrative number is not well-formed")


def _check_photo(out: _Collector, record: HolderRecord) -> None:
    if record.photo is None and record.photo_format is None:
        return
    if record.photo is not None and not isinstance(record.photo, bytes):
        out.add("photo", "type", "the photo must be bytes")
    elif not record.photo:
        out.add("photo", "required", "a photo format was given without a photo")
    _enum(out, "photo_format", record.photo_format, PhotoFormat, True)


# --- The fast path -------------------------------------------------------------------------------
# Verification re-validates every record it reads, so the common case (a valid record) is checked
# with two C-level calls over all text fields joined by NUL instead of field by field: one regular
# expression whose piece for each field checks its length, leading and trailing whitespace,
# control characters and pattern, and one ``is_normalized`` (NUL never composes under NFC, so
# the joined text is NFC exactly when every field is). The fast path only ever says "valid";
# anything else goes to ``_diagnose``, which names the problems. tests/test_rules.py checks that
# both agree, field by field.
_NO_CONTROL = "[^" + _CONTROL.pattern[1:]
_NO_CONTROL_MULTILINE = "[^" + _CONTROL_MULTILINE.pattern[1:]
# The Arabic letters of _ARABIC_NAME without the format characters of _FORMAT_CHARS among them.
_ARABIC_LETTER_FAST = ("\u0606-\u061b\u061d-\u06dc\u06de-\u06ff"
                       "\u0750-\u077f\u08a0-\u08e1\u08e3-\u08ff")
_ARABIC_NAME_FAST = re.compile(f"[{_ARABIC_LETTER_FAST}]+(?: [{_ARABIC_LETTER_FAST}]+)*")


def _piece(
    max_len: int, pattern: re.Pattern[str] | None = None, *, multiline: bool = False,
    arabic: bool = False, control_free: bool = True,
) -> str:
    """One field's part of the fast pattern, up to and including the NUL that ends it.

    ``control_free``: ``pattern`` cannot match a control character itself.
    """
    allowed = _NO_CONTROL_MULTILINE if multiline else _NO_CONTROL
    body = pattern.pattern if pattern is not None else f"{allowed}+"
    return (f"(?=[^\\x00]{{1,{max_len}}}\\x00)(?!\\s)"
            + ("" if control_free else f"(?={allowed}*\\x00)")
            + (f"(?={allowed}*?{_ARABIC.pattern})" if arabic else "")
            + f"(?:{body})(?<!\\s)\\x00")


@lru_cache(maxsize=16)
def _fast_pattern(
    category: HolderCategory, mother_latin: bool, phone: bool, email: bool
) -> re.Pattern[str]:
    """The pattern for one category and one choice of optional fields (in ``_passes`` order)."""
    pieces = [
        *[_piece(MAX_NAME, _ARABIC_NAME_FAST)] * 4, *[_piece(MAX_NAME, _LATIN_NAME)] * 4,
        _piece(MAX_TEXT, arabic=True),  # mother_name_ar
        _piece(MAX_TEXT),  # place_of_birth
        _piece(MAX_TEXT, _COUNTRY),  # nationality
        _piece(MAX_TEXT, multiline=True),  # address
        _piece(20, _DOCUMENT_NUMBER),
        _piece(16, _CENTRE_CODE),
        _piece(12, _NATIONAL_NUMBER) if category is HolderCategory.CITIZEN else _piece(20),
        _piece(MAX_TEXT, _LATIN_NAME) if mother_latin else "",
        _piece(24, _PHONE) if phone else "",
        _piece(254, _EMAIL, control_free=False) if email else "",
    ]
    return re.compile("".join(pieces))


def _passes(record: HolderRecord, rules: Rules) -> bool:
    """True only if ``record`` is valid; False means "look closer" (``_diagnose``)."""
    category = record.category
    ar, latin = record.name_ar, record.name_latin
    birth, issued, expiry = record.date_of_birth, record.issue_date, record.expiry_date
    if (type(category) is not HolderCategory or type(record.sex) is not Sex
            or type(ar) is not FourPartName or type(latin) is not FourPartName
            or type(birth) is not date or type(issued) is not date or type(expiry) is not date
            or not birth <= issued < expiry or birth.year < 1900 or expiry.year > 9998):
        return False
    citizen = category is HolderCategory.CITIZEN
    number, other = ((record.national_number, record.admin_number) if citizen
                     else (record.admin_number, record.national_number))
    if other is not None or (record.nationality == rules.issuing_country) is not citizen:
        return False
    if (record.photo is not None or record.photo_format is not None) and (
            not isinstance(record.photo, bytes) or not record.photo
            or not isinstance(record.photo_format, PhotoFormat)):
        return False
    optional = (record.mother_name_latin, record.phone, record.email)
    values = [ar.first, ar.father, ar.grandfather, ar.family,
              latin.first, latin.father, latin.grandfather, latin.family,
              record.mother_name_ar, record.place_of_birth, record.nationality, record.address,
              record.document_number, record.centre_code, number]
    values.extend(value for value in optional if value is not None)
    values.append("")
    try:
        joined = "\x00".join(values)  # type: ignore[arg-type]
    except TypeError:  # a value that is not text
        return False
    pattern = _fast_pattern(category, *(value is not None for value in optional))
    # Exactly one NUL per field: a NUL inside a value would let a piece run into the next field.
    if (joined.count("\x00") != len(values) - 1 or pattern.fullmatch(joined) is None
            or not unicodedata.is_normalized("NFC", joined)):
        return False
    if citizen:
        return (int(number[0]) == record.sex  # type: ignore[index]
                and number[1:5] == f"{birth.year:04d}"  # type: ignore[index]
                and rules.national_number_check(number))  # type: ignore[arg-type]
    return rules.admin_number_check(number)  # type: ignore[arg-type]
