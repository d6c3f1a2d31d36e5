"""The TD1 machine-readable zone (ICAO Doc 9303 Part 5): three lines of 30 characters.

Alphabet ``A``–``Z``, ``0``–``9`` and the filler ``<``. Positions are 1-based, as in Doc 9303:

=====  =========  ==========================================================================
line   positions  content
=====  =========  ==========================================================================
1      1–2        document code (first character A, C or I; this profile writes ``ID``)
1      3–5        issuing state (``LBY``)
1      6–14       document number; a longer one continues in the optional data (see below)
1      15         check digit of the document number, or ``<`` when the number is longer than 9
1      16–30      optional data 1
2      1–6, 7     date of birth YYMMDD, check digit
2      8          sex ``M``, ``F`` or ``<``
2      9–14, 15   date of expiry YYMMDD, check digit
2      16–18      nationality
2      19–29      optional data 2 (fillers in this profile)
2      30         composite check digit over line 1 positions 6–30 and line 2 positions 1–7,
                  9–15 and 19–29
3      1–30       name: ``PRIMARY<<SECONDARY<NAMES``
=====  =========  ==========================================================================

Choices this profile makes (where Doc 9303 leaves them to the issuer):

* **Long document numbers** (Part 5): the first 9 characters go in positions 6–14, ``<`` in
  position 15, and the rest of the number, then its check digit (computed over the *whole*
  number), then one filler, start the optional data. Numbers of up to 23 characters fit.
* **Optional data 1** carries the holder's number (:attr:`HolderRecord.identifier`: the national
  number of a citizen, the administrative number of a resident) right after any document-number
  overflow, if it fits in the positions left. If it does not fit it is **left out** (the zone is
  still valid and :attr:`Td1.identifier` reads back as ``None``). A 12-digit national number fits
  whenever the document number has at most 10 characters. TD1 has no check digit of its own for
  optional data; the composite check digit covers it.
* **Name**: the family name is the primary identifier; first, father's and grandfather's names are
  the secondary identifier. The record's Latin name is used when any of its parts is filled in;
  otherwise the Arabic name is transliterated (Doc 9303 Part 3 Table C, see ``_translit``).
* **Truncation** of a name longer than 30 characters (Part 3, "truncation of names"): the
  secondary identifier is cut first, from its end, so that the last position holds a letter (a
  reader takes a letter in position 30 as "may be truncated"). When the cut would fall just after
  a name component, leaving a filler in position 30, that component loses its last letter and
  position 30 takes the initial of the next one (``...<SALE<M`` rather than ``...<SALEM<``). A
  primary identifier too long to leave room for ``<<`` and one letter is cut to 27 characters,
  followed by ``<<`` and the initial of the first secondary name.
* **Two-digit years**: the date of expiry is read as 20YY (2000–2099; :func:`td1_lines` refuses
  other years). The date of birth is read as the latest year ending in YY that does not put the
  birthday after ``today``, the reference date the caller injects (a holder aged 100 or more would
  be read a century too late: Doc 9303 cannot tell). A date of birth with unknown parts written
  as fillers (``85<<<<``) parses to ``None``; its raw text is kept.

Check digits cover the document number, both dates, and (composite) the optional data. The
document code, issuing state, sex, nationality and name carry no check digit in TD1: a
misread there is only caught if it leaves the allowed alphabet or format. The 7-3-1 check digit
also cannot see a substitution between characters of equal value modulo 10 (``0``, ``<``, ``A``,
``K``, ``U``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .._errors import MrzError
from ..profile import HolderRecord, Sex
from ._translit import FILLER, to_mrz_text

__all__ = [
    "LINE_LENGTH",
    "MrzSex",
    "Td1",
    "check_digit",
    "holder_name_parts",
    "mrz_name",
    "parse_td1",
    "td1_lines",
]

LINE_LENGTH = 30
_NUMBER_WIDTH = 9
_OPTIONAL_1_WIDTH = 15
_OPTIONAL_2_WIDTH = 11
_MAX_DOCUMENT_NUMBER = _NUMBER_WIDTH + _OPTIONAL_1_WIDTH - 1  # rest + its check digit fill 16-30
_WEIGHTS = (7, 3, 1)
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALPHABET = frozenset(_DIGITS + _LETTERS + FILLER)

MrzSex = Literal["M", "F", "<"]
_SEX_CODES: dict[str, MrzSex] = {"M": "M", "F": "F", "<": "<"}
_RECORD_SEX: dict[Sex, MrzSex] = {Sex.MALE: "M", Sex.FEMALE: "F"}


@dataclass(frozen=True, slots=True)
class Td1:
    """A parsed TD1 zone whose format and every check digit were verified.

    Text fields are given without trailing fillers. ``document_number`` is rejoined from its
    overflow when it is longer than 9 characters; ``optional_data_1`` is positions 16–30 as
    printed (overflow included). ``identifier`` is what this profile puts after the overflow: the
    holder's national or administrative number, or ``None`` when nothing is there. Names use
    spaces between components (``"ABD ALLAH"``), in the MRZ alphabet.
    """

    lines: tuple[str, str, str]
    document_code: str
    issuing_state: str
    document_number: str
    optional_data_1: str
    date_of_birth: date | None
    date_of_birth_raw: str
    sex: MrzSex
    date_of_expiry: date
    nationality: str
    optional_data_2: str
    primary_name: str
    secondary_names: tuple[str, ...]
    identifier: str | None
    name_may_be_truncated: bool


# --- check digits --------------------------------------------------------------------------------


def _value(char: str) -> int:
    if char in _DIGITS:
        return ord(char) - ord("0")
    if char in _LETTERS:
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise MrzError(f"{char!r} is not in the MRZ alphabet (A-Z, 0-9 and '<')")


def check_digit(text: str) -> int:
    """The Doc 9303 check digit: values 0-9, A-Z = 10-35, ``<`` = 0; weights 7, 3, 1; mod 10."""
    return sum(_value(char) * _WEIGHTS[index % 3] for index, char in enumerate(text)) % 10


def _verify(data: str, printed: str, field: str, where: str) -> None:
    if printed not in _DIGITS or len(printed) != 1:
        raise MrzError(f"{field}: the check digit ({where}) is {printed!r}, not a digit")
    computed = check_digit(data)
    if computed != int(printed):
        raise MrzError(
            f"{field}: the check digit ({where}) is {printed} but the data gives {computed}; "
            "the zone was misread or altered, scan or type it again"
        )


# --- building ------------------------------------------------------------------------------------


def holder_name_parts(record: HolderRecord) -> tuple[str, str]:
    """(primary, secondary) name text for the MRZ: the Latin name if any part is filled in,
    else the Arabic name. Primary is the family name; secondary is first, father's and
    grandfather's names, space-separated."""
    name = record.name_latin if any(p.strip() for p in record.name_latin.parts) else record.name_ar
    given = (name.first, name.father, name.grandfather)
    return name.family.strip(), " ".join(part.strip() for part in given if part.strip())


def mrz_name(primary: str, secondary: str = "", *, width: int = LINE_LENGTH) -> str:
    """The name field ``PRIMARY<<SECONDARY<NAMES``, padded or truncated to ``width``.

    ``primary`` and ``secondary`` are plain text in Latin or Arabic script; each is transliterated
    (:func:`cardlib.mrz._translit.to_mrz_text`). A name with only one part becomes the primary
    identifier. See the module docstring for the truncation rule.
    """
    if width < 4:
        raise MrzError("a name field needs at least 4 positions")
    first, rest = to_mrz_text(primary), to_mrz_text(secondary)
    if not first:
        first, rest = rest, ""
    if not first:
        raise MrzError(
            "the name has no letters that the MRZ can carry; give a Latin or Arabic name"
        )
    full = f"{first}<<{rest}" if rest else first
    if len(full) <= width:
        return full.ljust(width, FILLER)
    if not rest:
        return first[:width]
    if len(first) > width - 3:
        return f"{first[: width - 3].rstrip(FILLER)}<<{rest[0]}".ljust(width, FILLER)
    cut = full[:width]
    if cut[-1] == FILLER and full[width - 3] != FILLER:
        # The cut falls just after a component: keep a letter in the last position.
        cut = f"{full[: width - 2]}<{full[width]}"
    return cut


def _code_field(value: str, width: int, field: str) -> str:
    text = value.strip().upper()
    if not 1 <= len(text) <= width or any(c not in _LETTERS + FILLER for c in text):
        raise MrzError(f"{field} must be 1 to {width} letters (or '<'), got {value!r}")
    return text.ljust(width, FILLER)


def _yymmdd(day: date) -> str:
    return f"{day.year % 100:02d}{day.month:02d}{day.day:02d}"


def _optional_data_1(document_number: str, identifier: str) -> tuple[str, str, str]:
    """(positions 6-14, position 15, positions 16-30) for a document number and holder number."""
    if len(document_number) <= _NUMBER_WIDTH:
        field = document_number.ljust(_NUMBER_WIDTH, FILLER)
        start = ""
        digit = str(check_digit(field))
    else:
        field = document_number[:_NUMBER_WIDTH]
        start = document_number[_NUMBER_WIDTH:] + str(check_digit(document_number))
        if len(start) < _OPTIONAL_1_WIDTH:
            start += FILLER
        digit = FILLER
    if identifier and len(start) + len(identifier) <= _OPTIONAL_1_WIDTH:
        start += identifier
    return field, digit, start.ljust(_OPTIONAL_1_WIDTH, FILLER)


def td1_lines(
    record: HolderRecord, *, document_code: str = "ID", issuing_state: str = "LBY"
) -> tuple[str, str, str]:
    """The three TD1 lines for a holder record (see the module docstring for the layout).

    Raises :class:`~cardlib.MrzError` when a value cannot be written in the zone: a document
    number outside ``[A-Z0-9]{1,23}``, an expiry year outside 2000–2099, a name with no letters.
    """
    code = _code_field(document_code, 2, "document_code")
    if code[0] not in "ACI":
        raise MrzError(f"document_code must start with A, C or I (Doc 9303 Part 5), got {code!r}")
    state = _code_field(issuing_state, 3, "issuing_state")
    nationality = _code_field(record.nationality, 3, "nationality")

    number = record.document_number
    if not 1 <= len(number) <= _MAX_DOCUMENT_NUMBER or any(
        c not in _DIGITS + _LETTERS for c in number
    ):
        raise MrzError(
            f"document_number must be 1 to {_MAX_DOCUMENT_NUMBER} characters A-Z or 0-9 to fit "
            f"a TD1 zone, got {number!r}"
        )
    identifier = record.identifier
    if any(c not in _DIGITS + _LETTERS for c in identifier):
        raise MrzError(f"the holder's number {identifier!r} has characters outside A-Z and 0-9")
    number_field, number_digit, optional_1 = _optional_data_1(number, identifier)
    line1 = f"{code}{state}{number_field}{number_digit}{optional_1}"

    if not 2000 <= record.expiry_date.year <= 2099:
        raise MrzError(
            f"the expiry date {record.expiry_date.isoformat()} cannot be written as YYMMDD "
            "read as 20YY; TD1 expiry dates must fall in 2000-2099"
        )
    birth = _yymmdd(record.date_of_birth)
    expiry = _yymmdd(record.expiry_date)
    sex = _RECORD_SEX.get(record.sex, FILLER)
    optional_2 = FILLER * _OPTIONAL_2_WIDTH
    head = f"{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}{nationality}{optional_2}"
    composite = check_digit(line1[5:30] + head[0:7] + head[8:15] + head[18:29])
    line2 = f"{head}{composite}"

    line3 = mrz_name(*holder_name_parts(record))
    return line1, line2, line3


# --- parsing -------------------------------------------------------------------------------------


def _rows(lines: str | Sequence[str]) -> tuple[str, str, str]:
    if isinstance(lines, str):
        rows = [row.strip() for row in lines.splitlines() if row.strip()]
    else:
        rows = list(lines)
    if len(rows) != 3:
        raise MrzError(f"a TD1 zone has 3 lines, got {len(rows)}")
    for number, row in enumerate(rows, start=1):
        if len(row) != LINE_LENGTH:
            raise MrzError(f"line {number} has {len(row)} characters; TD1 lines have 30")
        bad = sorted({c for c in row if c not in _ALPHABET})
        if bad:
            raise MrzError(
                f"line {number} has characters outside the MRZ alphabet (A-Z, 0-9, '<'): "
                + ", ".join(repr(c) for c in bad)
            )
    return rows[0], rows[1], rows[2]


def _code(text: str, field: str) -> str:
    if any(c not in _LETTERS + FILLER for c in text) or text[0] == FILLER:
        raise MrzError(f"{field} {text!r} must be letters (then fillers)")
    return text.rstrip(FILLER)


def _two_digit_parts(raw: str, field: str) -> tuple[int, int, int]:
    if not raw.isdigit():
        raise MrzError(f"{field} {raw!r} is not a date YYMMDD")
    return int(raw[0:2]), int(raw[2:4]), int(raw[4:6])


def _make_date(year: int, month: int, day: int, raw: str, field: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise MrzError(f"{field} {raw!r} is not a real calendar date") from None


def _birth_date(raw: str, today: date) -> date | None:
    if FILLER in raw:
        if any(not (p.isdigit() or p == FILLER * 2) for p in (raw[0:2], raw[2:4], raw[4:6])):
            raise MrzError(f"date_of_birth {raw!r}: each of YY, MM, DD must be digits or '<<'")
        return None
    yy, month, day = _two_digit_parts(raw, "date_of_birth")
    year = today.year - today.year % 100 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return _make_date(year, month, day, raw, "date_of_birth")


def _document_number(line1: str) -> tuple[str, str]:
    """(document number, the optional data after any overflow), check digit verified."""
    field, printed, optional = line1[5:14], line1[14], line1[15:30]
    if printed != FILLER:
        if field[0] == FILLER:
            raise MrzError("document_number: positions 6-14 are empty")
        _verify(field, printed, "document_number", "line 1, position 15")
        return field.rstrip(FILLER), optional
    if FILLER in field:
        raise MrzError(
            "document_number: position 15 is '<' (a long number) but positions 6-14 are not full"
        )
    end = optional.find(FILLER)
    overflow = optional if end < 0 else optional[:end]
    if len(overflow) < 2:
        raise MrzError(
            "document_number: position 15 is '<' but positions 16-30 do not continue the number "
            "with its check digit"
        )
    number = field + overflow[:-1]
    _verify(number, overflow[-1], "document_number", f"line 1, position {15 + len(overflow)}")
    return number, "" if end < 0 else optional[end + 1 :]


def parse_td1(lines: str | Sequence[str], *, today: date) -> Td1:
    """Parse and verify a TD1 zone: lengths, alphabet, formats and every check digit.

    ``lines`` is the three lines, or one text with them on separate lines. ``today`` is the
    reference date for the century of the date of birth (see the module docstring). Raises
    :class:`~cardlib.MrzError` naming the field that failed.
    """
    line1, line2, line3 = _rows(lines)

    document_code = line1[0:2]
    if document_code[0] not in "ACI" or document_code[1] not in _LETTERS + FILLER:
        raise MrzError(f"document_code {document_code!r} must be A, C or I then a letter or '<'")
    issuing_state = _code(line1[2:5], "issuing_state")
    document_number, after_number = _document_number(line1)

    birth_raw = line2[0:6]
    _verify(birth_raw, line2[6], "date_of_birth", "line 2, position 7")
    date_of_birth = _birth_date(birth_raw, today)
    sex = _SEX_CODES.get(line2[7])
    if sex is None:
        raise MrzError(f"sex {line2[7]!r} must be M, F or '<'")
    expiry_raw = line2[8:14]
    _verify(expiry_raw, line2[14], "date_of_expiry", "line 2, position 15")
    yy, month, day = _two_digit_parts(expiry_raw, "date_of_expiry")
    date_of_expiry = _make_date(2000 + yy, month, day, expiry_raw, "date_of_expiry")
    nationality = _code(line2[15:18], "nationality")
    composite_data = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    _verify(composite_data, line2[29], "composite", "line 2, position 30")

    if any(c in _DIGITS for c in line3) or line3[0] == FILLER:
        raise MrzError("name: line 3 must start with a letter and hold only letters and '<'")
    primary, _, secondary = line3.partition("<<")
    identifier = after_number.strip(FILLER)
    return Td1(
        lines=(line1, line2, line3),
        document_code=document_code.rstrip(FILLER),
        issuing_state=issuing_state,
        document_number=document_number,
        optional_data_1=line1[15:30].rstrip(FILLER),
        date_of_birth=date_of_birth,
        date_of_birth_raw=birth_raw,
        sex=sex,
        date_of_expiry=date_of_expiry,
        nationality=nationality,
        optional_data_2=line2[18:29].rstrip(FILLER),
        primary_name=primary.strip(FILLER).replace(FILLER, " "),
        secondary_names=tuple(part for part in secondary.split(FILLER) if part),
        identifier=identifier or None,
        name_may_be_truncated=line3[-1] != FILLER,
    )
