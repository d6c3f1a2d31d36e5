"""Machine-readable zones (ICAO Doc 9303): the TD1 zone on the card back and MRZ transliteration.

``_td1`` builds and parses the three 30-character lines (check digits, the long-document-number
rule, name truncation); ``_translit`` turns Latin and Arabic names into the MRZ alphabet.
"""

from __future__ import annotations

from ._td1 import (
    LINE_LENGTH,
    MrzSex,
    Td1,
    check_digit,
    holder_name_parts,
    mrz_name,
    parse_td1,
    td1_lines,
)
from ._translit import normalise_latin, to_mrz_text, transliterate_arabic

__all__ = [
    "LINE_LENGTH",
    "MrzSex",
    "Td1",
    "check_digit",
    "holder_name_parts",
    "mrz_name",
    "normalise_latin",
    "parse_td1",
    "td1_lines",
    "to_mrz_text",
    "transliterate_arabic",
]
