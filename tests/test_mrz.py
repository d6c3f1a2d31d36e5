"""TD1 machine-readable zone and MRZ transliteration (ICAO Doc 9303 Parts 3 and 5)."""

from __future__ import annotations

import importlib
import importlib.util
import string
import unicodedata
from dataclasses import replace
from datetime import date
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cardlib
from cardlib import FourPartName, HolderCategory, HolderRecord, MrzError, Sex
from cardlib.mrz._td1 import check_digit, mrz_name, parse_td1, td1_lines
from cardlib.mrz._translit import (
    _LATIN_EXTRA,
    _LATIN_SPECIAL,
    normalise_latin,
    to_mrz_text,
    transliterate_arabic,
)
from cardlib.profile._rules import _LATIN_NAME

TODAY = date(2026, 5, 1)
ALPHABET = string.ascii_uppercase + string.digits + "<"

# Doc 9303 Part 5, TD1 specimen (Appendix A), with its printed check digits.
SPECIMEN = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)

# Positions (0-based: line, column) each check digit protects, by the field the error names.
PROTECTED = {
    "document_number": [(0, c) for c in range(5, 15)],
    "date_of_birth": [(1, c) for c in range(0, 7)],
    "date_of_expiry": [(1, c) for c in range(8, 15)],
    "composite": [(0, c) for c in range(15, 30)] + [(1, c) for c in range(18, 30)],
}


def _mrz_package() -> ModuleType | None:
    """The third-party ``mrz`` checker (GPL; test-only, not a project dependency)."""
    if importlib.util.find_spec("mrz") is None:
        return None
    return importlib.import_module("mrz.checker.td1")


def _flip(lines: tuple[str, str, str], line: int, column: int, char: str) -> list[str]:
    rows = list(lines)
    rows[line] = rows[line][:column] + char + rows[line][column + 1 :]
    return rows


def _reseal(line1: str, line2: str, line3: str) -> tuple[str, str, str]:
    """Recompute every check digit of a zone whose document number has at most 9 characters."""
    line1 = line1[:14] + str(check_digit(line1[5:14])) + line1[15:]
    line2 = (
        line2[:6] + str(check_digit(line2[:6])) + line2[7:14] + str(check_digit(line2[8:14]))
        + line2[15:]
    )
    composite = check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return line1, line2[:29] + str(composite), line3


# --- check digits: the ICAO specimen -----------------------------------------------------------


def test_check_digits_of_the_icao_specimen() -> None:
    line1, line2, _ = SPECIMEN
    assert check_digit(line1[5:14]) == int(line1[14]) == 7
    assert check_digit(line2[0:6]) == int(line2[6]) == 2
    assert check_digit(line2[8:14]) == int(line2[14]) == 9
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    assert check_digit(composite) == int(line2[29]) == 6


def test_check_digit_values_and_weights() -> None:
    assert check_digit("") == 0
    assert check_digit("<") == check_digit("0") == 0
    assert check_digit("A") == 0  # 10 * 7 = 70
    assert check_digit("Z") == 5  # 35 * 7 = 245
    assert check_digit("01") == 3  # weight 3 on the second position
    assert check_digit("001") == 1  # weight 1 on the third
    assert check_digit("0001") == 7  # and 7 again
    with pytest.raises(MrzError):
        check_digit("a")


@given(st.text(alphabet=ALPHABET, max_size=40))
def test_check_digit_agrees_with_the_mrz_package(text: str) -> None:
    if importlib.util.find_spec("mrz") is None:
        pytest.skip("the optional test-only package 'mrz' is not installed")
    functions = importlib.import_module("mrz.base.functions")
    assert str(check_digit(text)) == functions.hash_string(text)


def test_parse_the_icao_specimen() -> None:
    zone = parse_td1(SPECIMEN, today=TODAY)
    assert zone.document_code == "I"
    assert zone.issuing_state == "UTO"
    assert zone.document_number == "D23145890"
    assert zone.date_of_birth == date(1974, 8, 12)
    assert zone.sex == "F"
    assert zone.date_of_expiry == date(2012, 4, 15)
    assert zone.nationality == "UTO"
    assert zone.primary_name == "ERIKSSON"
    assert zone.secondary_names == ("ANNA", "MARIA")
    assert zone.identifier is None
    assert zone.optional_data_1 == zone.optional_data_2 == ""
    assert not zone.name_may_be_truncated
    assert parse_td1("\n".join(SPECIMEN) + "\n", today=TODAY) == zone


# --- the example record --------------------------------------------------------------------------


def test_example_record_lines(record: HolderRecord) -> None:
    lines = td1_lines(record)
    assert lines == (
        "IDLBYLY00012347119850012347<<<",
        "8503149M3601095LBY<<<<<<<<<<<1",
        "ELWARFALI<<MOHAMED<ALI<SALEM<<",
    )
    for line in lines:
        assert len(line) == 30
        assert set(line) <= set(ALPHABET)


def test_example_record_round_trips(record: HolderRecord) -> None:
    zone = parse_td1(td1_lines(record), today=TODAY)
    assert zone.document_code == "ID"
    assert zone.issuing_state == "LBY"
    assert zone.document_number == record.document_number
    assert zone.date_of_birth == record.date_of_birth
    assert zone.date_of_expiry == record.expiry_date
    assert zone.sex == "M"
    assert zone.nationality == record.nationality
    assert zone.primary_name == "ELWARFALI"
    assert zone.secondary_names == ("MOHAMED", "ALI", "SALEM")
    assert zone.identifier == record.national_number == "119850012347"


def test_example_record_passes_the_mrz_package(record: HolderRecord) -> None:
    checker = _mrz_package()
    if checker is None:
        pytest.skip("the optional test-only package 'mrz' is not installed")
    for variant in (
        record,
        replace(record, sex=Sex.FEMALE, date_of_birth=date(2001, 12, 31)),
        replace(record, name_latin=FourPartName("", "", "", "")),
    ):
        result = checker.TD1CodeChecker("\n".join(td1_lines(variant)))
        assert bool(result), result.report.falses


def test_resident_carries_the_administrative_number(record: HolderRecord) -> None:
    resident = replace(
        record, category=HolderCategory.RESIDENT, national_number=None,
        admin_number="R12345678", nationality="EGY",
    )
    zone = parse_td1(td1_lines(resident), today=TODAY)
    assert zone.identifier == "R12345678"
    assert zone.nationality == "EGY"


def test_arabic_only_name_is_transliterated(record: HolderRecord) -> None:
    arabic_only = replace(record, name_latin=FourPartName("", "", "", ""))
    lines = td1_lines(arabic_only)
    assert lines[2] == "ALWRFLY<<MXHMD<ELY<SALM<<<<<<<"
    assert lines[:2] == td1_lines(record)[:2]
    zone = parse_td1(lines, today=TODAY)
    assert zone.primary_name == "ALWRFLY"
    assert zone.secondary_names == ("MXHMD", "ELY", "SALM")


def test_record_values_the_zone_cannot_hold(record: HolderRecord) -> None:
    with pytest.raises(MrzError, match="document_number"):
        td1_lines(replace(record, document_number="LY-0001"))
    with pytest.raises(MrzError, match="document_number"):
        td1_lines(replace(record, document_number="A" * 24))
    with pytest.raises(MrzError, match="2000-2099"):
        td1_lines(replace(record, expiry_date=date(2100, 1, 1)))
    with pytest.raises(MrzError, match="document_code"):
        td1_lines(record, document_code="P")
    with pytest.raises(MrzError, match="issuing_state"):
        td1_lines(record, issuing_state="LB1")


# --- long document numbers -----------------------------------------------------------------------


def test_long_document_number_layout(record: HolderRecord) -> None:
    number = "LY12345678901"
    line1 = td1_lines(replace(record, document_number=number))[0]
    assert line1[5:14] == number[:9]
    assert line1[14] == "<"
    assert line1[15:19] == number[9:]
    assert line1[19] == str(check_digit(number))
    assert line1[20] == "<"
    # 4 overflow characters + check digit + filler leave 9 positions: no room for 12 digits.
    assert line1[21:] == "<" * 9


@pytest.mark.parametrize(
    ("number", "identifier_fits"),
    [("LY0001234", True), ("LY00012345", True), ("LY000123456", False),
     ("LY12345678901", False), ("ABCDEFGHIJKLMNOPQRSTUVW", False)],
)
def test_long_document_numbers_round_trip(
    record: HolderRecord, number: str, identifier_fits: bool
) -> None:
    lines = td1_lines(replace(record, document_number=number))
    zone = parse_td1(lines, today=TODAY)
    assert zone.document_number == number
    assert zone.identifier == (record.national_number if identifier_fits else None)
    assert all(len(line) == 30 for line in lines)


@settings(max_examples=200, deadline=None)
@given(
    number=st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=23),
    birth=st.dates(min_value=date(1927, 5, 2), max_value=TODAY),
    expiry=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    sex=st.sampled_from(list(Sex)),
)
def test_round_trip_property(
    record: HolderRecord, number: str, birth: date, expiry: date, sex: Sex
) -> None:
    variant = replace(
        record, document_number=number, date_of_birth=birth, expiry_date=expiry, sex=sex
    )
    zone = parse_td1(td1_lines(variant), today=TODAY)
    assert zone.document_number == number
    assert zone.date_of_birth == birth
    assert zone.date_of_expiry == expiry
    assert zone.sex == ("M" if sex is Sex.MALE else "F")


# --- tampering and misreading --------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(PROTECTED))
def test_a_changed_digit_in_each_protected_field_is_caught(
    record: HolderRecord, field: str
) -> None:
    lines = td1_lines(replace(record, document_number="LY00012345"))  # overflow in line 1 too
    for line, column in PROTECTED[field]:
        original = lines[line][column]
        if not original.isdigit():
            continue
        changed = str((int(original) + 1) % 10)
        with pytest.raises(MrzError) as caught:
            parse_td1(_flip(lines, line, column, changed), today=TODAY)
        assert caught.value.code == "mrz_invalid"


def test_error_names_the_field(record: HolderRecord) -> None:
    lines = td1_lines(record)
    cases = {
        "document_number": (0, 8),
        "date_of_birth": (1, 3),
        "date_of_expiry": (1, 11),
        "composite": (0, 20),  # optional data: only the composite covers it
    }
    for field, (line, column) in cases.items():
        original = lines[line][column]
        changed = "7" if original != "7" else "8"
        with pytest.raises(MrzError, match=field):
            parse_td1(_flip(lines, line, column, changed), today=TODAY)


@pytest.mark.parametrize("number", ["LY0001234", "LY00012345", "LY12345678901"])
def test_every_substitution_the_check_digits_can_see_is_caught(
    record: HolderRecord, number: str
) -> None:
    """Exhaustive over the protected positions. The 7-3-1 scheme cannot see a substitution
    between characters of equal value mod 10 (0, <, A, K, U); outside the dates (which must be
    digits) those are the only ones that may get through."""
    lines = td1_lines(replace(record, document_number=number))
    missed: list[tuple[int, int, str]] = []
    for positions in PROTECTED.values():
        for line, column in positions:
            original = lines[line][column]
            for char in ALPHABET:
                if char == original:
                    continue
                try:
                    parse_td1(_flip(lines, line, column, char), today=TODAY)
                except MrzError:
                    continue
                missed.append((line, column, char))
                value = {c: i for i, c in enumerate(string.digits + string.ascii_uppercase)}
                assert value.get(char, 0) % 10 == value.get(original, 0) % 10, (line, column, char)
    assert missed  # the blind spot is real: e.g. '<' <-> '0' in the optional data


def test_unprotected_fields_are_checked_for_format_only(record: HolderRecord) -> None:
    lines = td1_lines(record)
    for line, column, char, field in [
        (0, 0, "P", "document_code"),
        (0, 2, "1", "issuing_state"),
        (1, 7, "X", "sex"),
        (1, 16, "8", "nationality"),
        (2, 3, "4", "name"),
        (2, 0, "<", "name"),
    ]:
        with pytest.raises(MrzError, match=field):
            parse_td1(_flip(lines, line, column, char), today=TODAY)
    # TD1 has no check digit over the name: a letter-for-letter misread goes through
    # (Doc 9303 by design; the signed payload is what catches it).
    assert parse_td1(_flip(lines, 2, 0, "F"), today=TODAY).primary_name == "FLWARFALI"


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        (SPECIMEN[:2], "3 lines"),
        ((SPECIMEN[0][:29], *SPECIMEN[1:]), "line 1 has 29"),
        ((SPECIMEN[0], SPECIMEN[1].lower(), SPECIMEN[2]), "alphabet"),
        ((SPECIMEN[0], SPECIMEN[1], SPECIMEN[2][:-1] + " "), "alphabet"),
    ],
)
def test_structure_errors(zone: tuple[str, ...], message: str) -> None:
    with pytest.raises(MrzError, match=message):
        parse_td1(zone, today=TODAY)


def test_impossible_dates_with_valid_check_digits_are_refused() -> None:
    line1, line2, line3 = SPECIMEN
    with pytest.raises(MrzError, match="date_of_birth"):
        parse_td1(_reseal(line1, "740230" + line2[6:], line3), today=TODAY)
    with pytest.raises(MrzError, match="date_of_expiry"):
        parse_td1(_reseal(line1, line2[:8] + "121315" + line2[14:], line3), today=TODAY)


# --- two-digit years -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yymmdd", "expected"),
    [("850314", date(1985, 3, 14)), ("250314", date(2025, 3, 14)),
     ("260501", date(2026, 5, 1)), ("260502", date(1926, 5, 2)), ("000229", date(2000, 2, 29))],
)
def test_birth_century_is_the_latest_not_after_today(yymmdd: str, expected: date) -> None:
    line1, line2, line3 = SPECIMEN
    zone = parse_td1(_reseal(line1, yymmdd + line2[6:], line3), today=TODAY)
    assert zone.date_of_birth == expected
    assert zone.date_of_birth_raw == yymmdd


def test_unknown_birth_date_parts_and_unspecified_sex() -> None:
    line1, line2, line3 = SPECIMEN
    zone = parse_td1(_reseal(line1, "85<<<<" + line2[6:7] + "<" + line2[8:], line3), today=TODAY)
    assert zone.date_of_birth is None
    assert zone.date_of_birth_raw == "85<<<<"
    assert zone.sex == "<"


def test_expiry_is_20yy() -> None:
    line1, line2, line3 = SPECIMEN
    zone = parse_td1(_reseal(line1, line2[:8] + "991231" + line2[14:], line3), today=TODAY)
    assert zone.date_of_expiry == date(2099, 12, 31)


# --- names ---------------------------------------------------------------------------------------


def test_name_fits_and_pads() -> None:
    assert mrz_name("Eriksson", "Anna Maria") == "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    assert mrz_name("", "Madonna") == "MADONNA" + "<" * 23  # a single name is the primary
    with pytest.raises(MrzError):
        mrz_name("", "")
    with pytest.raises(MrzError):
        mrz_name("---", "")


def test_truncation_cuts_the_secondary_identifier_first() -> None:
    name = mrz_name("Elwarfali", "Mohamed Abdulrahmann Salem")
    assert name == "ELWARFALI<<MOHAMED<ABDULRAHMAN"
    assert len(name) == 30


def test_truncation_keeps_a_letter_in_the_last_position() -> None:
    # Without the rule the cut would end "...ABDULRAHMA<" (a filler after a whole component).
    assert mrz_name("Elwarfali", "Mohamed Abdulrahma Salem") == "ELWARFALI<<MOHAMED<ABDULRAHM<S"


def test_truncation_of_a_long_primary_keeps_an_initial() -> None:
    name = mrz_name("Wolfeschlegelsteinhausenbergerdorff", "Hubert Blaine")
    assert name == "WOLFESCHLEGELSTEINHAUSENBER<<H"
    # A primary identifier alone is simply cut to the field.
    assert mrz_name("Wolfeschlegelsteinhausenbergerdorff") == "WOLFESCHLEGELSTEINHAUSENBERGER"


def test_truncated_name_is_flagged_on_parse(record: HolderRecord) -> None:
    long_name = replace(
        record, name_latin=FourPartName("Mohamed", "Abdulrahmann", "Salem", "Elwarfali")
    )
    zone = parse_td1(td1_lines(long_name), today=TODAY)
    assert zone.name_may_be_truncated
    assert zone.secondary_names == ("MOHAMED", "ABDULRAHMAN")


# --- transliteration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arabic", "mrz"),
    [
        ("محمد علي سالم الورفلي", "MXHMD<ELY<SALM<ALWRFLY"),
        ("ثامر", "XTHAMR"),  # ث XTH
        ("خديجة", "XKHDYJXAH"),  # خ XKH; ة at the end of a component is XAH
        ("عبد الله", "EBD<ALLH"),  # ع E; the space becomes a filler
        ("عبدالله", "EBDALLH"),
        ("أحمد", "XAEXHMD"),  # أ XAE, ح XH
        ("إبراهيم", "IBRAHYM"),  # إ I
        ("آمنة", "XAAMNXAH"),  # آ XAA
        ("مصطفى", "MXSSXTTFXAY"),  # ص XSS, ط XTT, ى XAY
        ("ذكرى", "XDHKRXAY"),  # ذ XDH
        ("شيماء", "XSHYMAXE"),  # ش XSH, ء XE
        ("ضياء", "XDZYAXE"),  # ض XDZ
        ("ظافر", "XZZAFR"),  # ظ XZZ
        ("غسان", "GSAN"),  # غ G
        ("فؤاد", "FUAD"),  # ؤ U
        ("هائل", "HAXIL"),  # ئ XI, ه H
        # Doc 9303 Part 3 App. B worked example.
        ("ابو بكر محمد بن زكريا الرازي", "ABW<BKR<MXHMD<BN<ZKRYA<ALRAZY"),
    ],
)
def test_arabic_names(arabic: str, mrz: str) -> None:
    assert transliterate_arabic(arabic) == mrz
    assert to_mrz_text(arabic) == mrz


def test_arabic_marks() -> None:
    assert transliterate_arabic("عبّاس") == "EBBAS"  # shadda doubles the letter
    assert transliterate_arabic("مُحَمَّد") == "MXHMMD"  # harakat are not encoded
    assert transliterate_arabic("محـــمد") == "MXHMD"  # tatweel is not encoded
    assert transliterate_arabic("ةب") == "XTAB"  # ة not at the end of a component (synthetic)
    assert transliterate_arabic("ﻻ") == "LA"  # presentation-form lam-alef folds to ل ا
    with pytest.raises(MrzError, match="shadda"):
        transliterate_arabic("ّب")


@pytest.mark.parametrize("text", ["ڢاطمة", "ڧاسم", "ڨ", "ٻ", "محمد x"])
def test_arabic_letters_outside_the_table_are_refused(text: str) -> None:
    with pytest.raises(MrzError):
        transliterate_arabic(text)


def test_arabic_table_agrees_with_the_mrz_package() -> None:
    if importlib.util.find_spec("mrz") is None:
        pytest.skip("the optional test-only package 'mrz' is not installed")
    module = importlib.import_module("mrz.generator.dictionaries.arabic")
    table: dict[str, str] = module.transliteration
    # The package marks these entries as its own "experimental additions", not Table C.
    experimental = set(
        "\u0027\u0621\u0670\u0627\u064e\u064b\u0650\u0629\u062a\u064c\u064d\u064f\u0652"
    )
    compared = 0
    for char, expected in table.items():
        if char in experimental:
            continue
        assert transliterate_arabic(char) == expected, char
        compared += 1
    assert compared >= 50


@pytest.mark.parametrize(
    ("latin", "mrz"),
    [
        ("Müller", "MUELLER"),
        ("Gärtner", "GAERTNER"),
        ("Ångström", "AANGSTROEM"),
        ("Ærø", "AEROE"),
        ("Straße", "STRASSE"),
        ("Þórunn", "THORUNN"),
        ("Œuvray", "OEUVRAY"),
        ("Ĳssel", "IJSSEL"),
        ("Łukasz Żółć", "LUKASZ<ZOLC"),
        ("Çelik Şahin", "CELIK<SAHIN"),
        ("Peña", "PENA"),
        ("Ðorđe", "DORDE"),
        ("Ștefan", "STEFAN"),  # not in the table: base letter
        ("Jean-Luc", "JEAN<LUC"),
        ("D'Artagnan", "DARTAGNAN"),
        ("O'Neil-Smith, Jr.", "ONEIL<SMITH<JR"),
        ("  Abd   Al  Rahman ", "ABD<AL<RAHMAN"),
        ("Ｆｕｌｌ", "FULL"),
    ],
)
def test_latin_names(latin: str, mrz: str) -> None:
    assert normalise_latin(latin) == mrz
    assert to_mrz_text(latin) == mrz


# Every letter the profile's Latin name pattern admits (U+00C0–U+024F; × and ÷ are not letters).
LATIN_RANGE = [chr(cp) for cp in range(0x00C0, 0x0250) if chr(cp) not in "×÷"]


def test_every_letter_the_profile_admits_has_an_mrz_form() -> None:
    for char in LATIN_RANGE:
        label = f"U+{ord(char):04X} {unicodedata.name(char)}"
        assert _LATIN_NAME.fullmatch(char), label
        mrz = normalise_latin(char)
        assert mrz, label
        assert set(mrz) <= set(string.ascii_uppercase), (label, mrz)
        assert to_mrz_text(f"A{char}A") == f"A{mrz}A", label


@pytest.mark.parametrize(
    ("latin", "mrz"),
    [
        ("ĸ", "K"),  # kra: _LATIN_EXTRA
        ("Saĸ", "SAK"),
        ("Łukasz", "LUKASZ"),  # Part 3: Ł → L
        ("Đorđe", "DORDE"),  # Part 3: Đ → D (not the Serbian DJ)
        ("ŉ", "N"),  # NFKC: ʼn, the apostrophe omitted
        ("ſ", "S"),  # NFKC
        ("ı", "I"),
        ("ð þ", "D<TH"),
        ("Ħ ħ Ŧ ŧ", "H<H<T<T"),
        ("ƀ ƒ Ɨ Ʉ", "B<F<I<U"),  # base letter named in the Unicode name
        ("Ǣ ǯ", "AE<Z"),  # decomposed, then the base looked up (Æ → AE, Ʒ → Z)
        ("Əliyev", "ALIYEV"),
        ("Ɔ Ɛ Ɣ Ʃ Ƿ Ȝ", "O<E<G<SH<W<Z"),
        ("ǃǀǁǂ", "QCXTC"),
    ],
)
def test_latin_letters_outside_the_icao_table(latin: str, mrz: str) -> None:
    assert normalise_latin(latin) == mrz


def test_latin_extra_table_is_well_formed() -> None:
    for key, value in _LATIN_EXTRA.items():
        assert key.upper() == key, key
        assert unicodedata.name(key).startswith("LATIN"), key
        assert value and set(value) <= set(string.ascii_uppercase), key
        assert key not in _LATIN_SPECIAL, key


def test_latin_refuses_other_scripts() -> None:
    with pytest.raises(MrzError):
        normalise_latin("Дмитрий")
    with pytest.raises(MrzError):
        normalise_latin("Ali علي")
    with pytest.raises(MrzError, match="mixes"):
        to_mrz_text("Ali علي")


def test_example_arabic_names_from_the_record(record: HolderRecord) -> None:
    parts = [transliterate_arabic(p) for p in record.name_ar.parts]
    assert parts == ["MXHMD", "ELY", "SALM", "ALWRFLY"]
    assert transliterate_arabic(record.mother_name_ar) == "FAXTTMXAH<XAEXHMD<MXHMWD"
    assert cardlib.MrzError is MrzError
