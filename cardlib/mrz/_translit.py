"""Names in the MRZ alphabet (``A``–``Z`` and the filler ``<``), per ICAO Doc 9303 Part 3.

Latin script (:func:`normalise_latin`)
    Doc 9303 Part 3, Section 6, "Transliteration of multinational Latin-based characters". The
    table maps most letters to their base letter (É → E, Ç → C, Ł → L, ...); the exceptions are
    listed in ``_LATIN_SPECIAL`` (Ä → AE, Å → AA, Æ → AE, Ö → OE, Ø → OE, Ü → UE, ß → SS, Þ → TH,
    Ĳ → IJ, Œ → OE, Ð/Đ → D, ...). Where the table offers a choice (Ä "AE or A", Ñ "N or NXX",
    Ü "UE or UXX") the first, recommended form is used. Letters the table does not list but that
    are a Latin base letter plus diacritics (Ș, Ǎ, Ẹ, ...) lose the diacritics, as the table does
    for every such letter it lists. Every letter of U+00C0–U+024F (the range the profile's Latin
    name pattern admits) has an MRZ form, found in this order:

    1. ``_LATIN_SPECIAL``, Part 3's own rows (Ä → AE, Þ → TH, Ł → L, Đ → D, ...);
    2. NFKD decomposition with the combining marks dropped (Ș → S, Ǖ → U, Ǣ → Æ → AE);
    3. ``_LATIN_EXTRA``, letters that Part 3 does not list and whose base letter is not in their
       Unicode name (ĸ → K, Ɔ → O, Ə → A, Ʃ → SH, ȸ → DB, ǃ → Q, ...), each with the reason;
    4. the base letter X of a Unicode name "LATIN SMALL/CAPITAL LETTER X ..." where X is a single
       letter A–Z (ƀ "B WITH STROKE" → B, Ɨ "I WITH STROKE" → I, ƒ "F WITH HOOK" → F).

    A Latin letter none of these maps raises :class:`~cardlib.MrzError`. The table gives Đ/đ as
    D, so Đorđe is DORDE (not the Serbian DJORDJE). Punctuation follows Part 3's rules for names
    in the MRZ:
    apostrophes are omitted (D'ARTAGNAN → DARTAGNAN), spaces, hyphens and commas between name
    components become one filler (MARIE-ELISE → MARIE<ELISE), every other punctuation mark, digit or
    symbol is omitted. A letter of another script raises :class:`~cardlib.MrzError`.

Arabic script (:func:`transliterate_arabic`)
    Doc 9303 Part 3, Section 6, Table C "Transliteration of Arabic script" (MRZ only) and
    Appendix B. This is a reversible letter-for-letter scheme derived from Buckwalter: letters
    without a plain Latin equivalent get the escape prefix ``X`` (ث → XTH, ح → XH, ش → XSH, ...), no
    vowels are added (محمد → MXHMD), the article is written as spelled (الرازي → ALRAZY).
    Harakat, tanwin, sukun, the dagger alif and the tatweel are "not encoded" and are dropped; a
    shadda doubles the letter it sits on (عبّاس → EBBAS); teh marbuta ة is XTA, except at the end of
    a name component, where it is XAH (خديجة → XKHDYJXAH). The letters the table marks "not
    encoded" (ڜ ڢ ڧ ڨ) and any Arabic-script letter missing from the table raise
    :class:`~cardlib.MrzError` instead of vanishing.

    The official PDF (https://www.icao.int/publications/Documents/9303_p3_cons_en.pdf) could not
    be fetched while writing this module. ``_ARABIC`` was assembled from three public
    transcriptions of Table C that agree letter for letter:

    * interscript/maps, map ``icao-fas-Arab-Latn-9303`` (its compiled Python form), except for ة,
      which it maps to Buckwalter's ``P`` and which it therefore does not take from Table C;
    * the TypeScript table "ICAO MRZ Transliteration (by ICAO Doc 9303 Part 3)"
      (gist.github.com/AmazingTurtle/3041f9af360358c8358a11ed492446a7): ة as XTA / XAH at the end
      of a name component, and the "not encoded" harakat and letters;
    * research notes that transcribe Table C and Appendix B.5 of the 7th edition (2015), including
      the shadda rule (عبّاس → EBBAS) and the worked example ابو بكر محمد بن زكريا الرازي →
      ``ABW<BKR<MXHMD<BN<ZKRYA<ALRAZY``.

    The pip package ``mrz`` (GPL, not a dependency) carries the same Table C letters; the tests
    compare against it when it is installed.
"""

from __future__ import annotations

import re
import unicodedata

from .._errors import MrzError

__all__ = ["normalise_latin", "to_mrz_text", "transliterate_arabic"]

FILLER = "<"

# --- Latin ---------------------------------------------------------------------------------------

# The rows of Part 3's Latin table that are not "drop the diacritic" (keys are upper case).
_LATIN_SPECIAL: dict[str, str] = {
    "Ä": "AE",
    "Å": "AA",
    "Æ": "AE",
    "Ǽ": "AE",
    "Ð": "D",
    "Đ": "D",
    "Ħ": "H",
    "Ĳ": "IJ",
    "Ŀ": "L",
    "Ł": "L",
    "Ŋ": "N",
    "Ñ": "N",
    "Ö": "OE",
    "Ø": "OE",
    "Ǿ": "OE",
    "Œ": "OE",
    "Ŧ": "T",
    "Ü": "UE",
    "Þ": "TH",
    "ẞ": "SS",
    "ß": "SS",
}

# Letters of U+00C0–U+024F that neither Part 3's table, nor NFKD decomposition, nor a single base
# letter in their Unicode name maps: this library's choice, not ICAO's. Keys are the upper-case
# form (the letter itself when it has none); values are A–Z only.
_LATIN_EXTRA: dict[str, str] = {
    "ĸ": "K",  # kra (old Greenlandic): looks like and is sorted with k
    "Ɖ": "D",  # African D (Ewe ɖ): a D with a stroke, like Đ
    "Ɔ": "O",  # open O (Akan, Ewe ɔ)
    "Ɛ": "E",  # open E (Akan, Ewe ɛ)
    "Ǝ": "E",  # reversed E / turned e ǝ (a schwa in several African orthographies)
    "Ə": "A",  # schwa: Azerbaijani passports write Ə as A (Əliyev → ALIYEV)
    "Ɣ": "G",  # gamma (Ewe ɣ); Greek Γ is G in Part 3's Greek table
    "ƍ": "D",  # turned delta; Greek Δ is D in Part 3's Greek table
    "Ɩ": "I",  # iota (Greek Ι is I)
    "Ʊ": "U",  # upsilon (a u vowel in African orthographies)
    "ƛ": "TL",  # lambda with stroke: the tl affricate of Americanist and Salishan spelling
    "Ɯ": "W",  # turned M: Zhuang ɯ, written w since the 1982 orthography
    "Ʌ": "V",  # turned V
    "Ƣ": "G",  # "OI" is a misnomer: the letter is gha (1920s Turkic Latin ƣ, now ğ)
    "Ȣ": "OU",  # ou (Algonquian and Wendat ȣ, written ou or w)
    "Ʀ": "R",  # yr (Old Norse ʀ)
    "Ʃ": "SH",  # esh (ʃ, the sh sound)
    "ƪ": "SH",  # reversed esh loop
    "Ʒ": "Z",  # ezh (Skolt Sami, Laz); also ǯ (ezh with caron) after decomposition
    "Ƹ": "E",  # reversed ezh: used for ain in Arabic transcription; ع is E in Table C
    "ƺ": "Z",  # ezh with tail
    "Ȝ": "Z",  # yogh: Scots surnames replaced it with z (Menȝies → Menzies)
    "Ƿ": "W",  # wynn (Old English w)
    "Ƕ": "HW",  # hwair (Gothic hw); its small form ƕ is named "HV"
    "ȸ": "DB",  # db digraph
    "ȹ": "QP",  # qp digraph
    "ȷ": "J",  # dotless j
    "Ɋ": "Q",  # "CAPITAL LETTER SMALL Q WITH HOOK TAIL"
    "Ƨ": "Z",  # tone two: Zhuang 1957 orthography; the 1982 reform writes tone 2 as z
    "Ƽ": "Q",  # tone five: written q since the 1982 Zhuang reform
    "Ƅ": "H",  # tone six: written h since the 1982 Zhuang reform
    "ƻ": "DZ",  # two with stroke: the dz affricate in older phonetic notation
    "ƾ": "TS",  # inverted glottal stop with stroke: the ts affricate in older phonetic notation
    "Ɂ": "Q",  # glottal stop (Dene languages): q, as the glottal stop is spelt in Maltese
    "ǀ": "C",  # dental click: c, as in Zulu, Xhosa and Naro spelling
    "ǁ": "X",  # lateral click: x (Zulu, Xhosa, Naro)
    "ǃ": "Q",  # (post)alveolar click, Unicode's "retroflex": q (Zulu, Xhosa, Naro)
    "ǂ": "TC",  # palatal click, Unicode's "alveolar": tc (Naro)
}

# "LATIN SMALL LETTER B WITH STROKE", "LATIN CAPITAL LETTER U BAR": the base letter is B, U.
_NAMED_BASE = re.compile(r"LATIN (?:SMALL|CAPITAL) LETTER ([A-Z])(?: .*)?")

# Apostrophes and similar marks inside a name: omitted.
_APOSTROPHES = frozenset("'`´ʹʻʼʽ‘’‛′")
# Separators between name components: one filler.
_SEPARATORS = frozenset(" \t\u00a0,-‐‑‒–—―−،")

# --- Arabic --------------------------------------------------------------------------------------

_TEH_MARBUTA = "\u0629"
_SHADDA = "\u0651"

# Table C (Arabic letters first, then the Persian/Urdu/Pashto letters it also covers).
_ARABIC: dict[str, str] = {
    "\u0621": "XE",  # ء hamza
    "\u0622": "XAA",  # آ alef with madda above
    "\u0623": "XAE",  # أ alef with hamza above
    "\u0624": "U",  # ؤ waw with hamza above
    "\u0625": "I",  # إ alef with hamza below
    "\u0626": "XI",  # ئ yeh with hamza above
    "\u0627": "A",  # ا alef
    "\u0628": "B",  # ب beh
    # ة teh marbuta: XTA / XAH, handled in _arabic_word
    "\u062a": "T",  # ت teh
    "\u062b": "XTH",  # ث theh
    "\u062c": "J",  # ج jeem
    "\u062d": "XH",  # ح hah
    "\u062e": "XKH",  # خ khah
    "\u062f": "D",  # د dal
    "\u0630": "XDH",  # ذ thal
    "\u0631": "R",  # ر reh
    "\u0632": "Z",  # ز zain
    "\u0633": "S",  # س seen
    "\u0634": "XSH",  # ش sheen
    "\u0635": "XSS",  # ص sad
    "\u0636": "XDZ",  # ض dad
    "\u0637": "XTT",  # ط tah
    "\u0638": "XZZ",  # ظ zah
    "\u0639": "E",  # ع ain
    "\u063a": "G",  # غ ghain
    "\u0641": "F",  # ف feh
    "\u0642": "Q",  # ق qaf
    "\u0643": "K",  # ك kaf
    "\u0644": "L",  # ل lam
    "\u0645": "M",  # م meem
    "\u0646": "N",  # ن noon
    "\u0647": "H",  # ه heh
    "\u0648": "W",  # و waw
    "\u0649": "XAY",  # ى alef maksura
    "\u064a": "Y",  # ي yeh
    "\u0671": "XXA",  # ٱ alef wasla
    "\u0679": "XXT",  # ٹ tteh
    "\u067c": "XRT",  # ټ teh with ring
    "\u067e": "P",  # پ peh
    "\u0681": "XKE",  # ځ hah with hamza above
    "\u0685": "XXH",  # څ hah with three dots above
    "\u0686": "XC",  # چ tcheh
    "\u0688": "XXD",  # ڈ ddal
    "\u0689": "XDR",  # ډ dal with ring
    "\u0691": "XXR",  # ڑ rreh
    "\u0693": "XRR",  # ړ reh with ring
    "\u0696": "XRX",  # ږ reh with dot below and dot above
    "\u0698": "XJ",  # ژ jeh
    "\u069a": "XXS",  # ښ seen with dot below and dot above
    "\u06a9": "XKK",  # ک keheh
    "\u06ab": "XXK",  # ګ kaf with ring
    "\u06ad": "XNG",  # ڭ ng
    "\u06af": "XGG",  # گ gaf
    "\u06ba": "XNN",  # ں noon ghunna
    "\u06bc": "XXN",  # ڼ noon with ring
    "\u06be": "XDO",  # ھ heh doachashmee
    "\u06c0": "XYH",  # ۀ heh with yeh above
    "\u06c1": "XXG",  # ہ heh goal
    "\u06c2": "XGE",  # ۂ heh goal with hamza above
    "\u06c3": "XTG",  # ۃ teh marbuta goal
    "\u06cc": "XYA",  # ی farsi yeh
    "\u06cd": "XXY",  # ۍ yeh with tail
    "\u06d0": "Y",  # ې e
    "\u06d2": "XYB",  # ے yeh barree
    "\u06d3": "XBE",  # ۓ yeh barree with hamza above
}

# Signs Table C lists as "not encoded": tatweel, tanwin, harakat, sukun, dagger alif.
_ARABIC_NOT_ENCODED = frozenset("\u0640\u064b\u064c\u064d\u064e\u064f\u0650\u0652\u0670")
# Letters Table C lists as "not encoded" (no MRZ form): refused, never dropped.
_ARABIC_REFUSED = frozenset("\u069c\u06a2\u06a7\u06a8")


def _is_arabic_letter(char: str) -> bool:
    return (
        char in _ARABIC
        or char == _TEH_MARBUTA
        or (
            unicodedata.category(char).startswith("L")
            and unicodedata.name(char, "").startswith("ARABIC")
        )
    )


def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')})"


# --- shared component splitting -----------------------------------------------------------------


def _join(words: list[str]) -> str:
    return FILLER.join(word for word in words if word)


def normalise_latin(text: str) -> str:
    """A Latin-script name in the MRZ alphabet: upper case, Part 3's Latin table, fillers.

    >>> normalise_latin("Jean-Luc d'Orléans")
    'JEAN<LUC<DORLEANS'
    """
    words: list[str] = []
    current: list[str] = []
    # NFKC folds compatibility forms (fullwidth letters, ligatures such as ﬁ) into plain letters.
    for char in unicodedata.normalize("NFKC", text):
        if char in _SEPARATORS:
            words.append("".join(current))
            current = []
        elif char not in _APOSTROPHES:
            current.append(_latin_char(char))
    words.append("".join(current))
    return _join(words)


def _latin_char(char: str) -> str:
    if "A" <= char <= "Z":
        return char
    category = unicodedata.category(char)
    if not category.startswith("L"):
        return ""  # digits, punctuation, symbols, stray combining marks: omitted (Part 3)
    if not unicodedata.name(char, "").startswith("LATIN"):
        raise MrzError(
            f"the name contains {_describe(char)}, which is not a Latin letter; write the name in "
            "Latin script or use the Arabic-script transliteration"
        )
    out: list[str] = []
    for upper in char.upper():  # 'ß'.upper() is 'SS'; 'ŉ'.upper() is 'ʼN'
        if upper in _APOSTROPHES:
            continue
        mapped = _latin_letter(upper)
        if mapped is None:
            if not unicodedata.category(upper).startswith("L"):
                continue
            raise MrzError(
                f"the name contains {_describe(char)}, which ICAO Doc 9303 Part 3 does not map "
                "to the MRZ alphabet; write it with plain Latin letters"
            )
        out.append(mapped)
    return "".join(out)


def _latin_letter(upper: str) -> str | None:
    """The MRZ form of one upper-cased Latin character, or ``None`` if it has none."""
    if "A" <= upper <= "Z":
        return upper
    special = _LATIN_SPECIAL.get(upper)
    if special is not None:
        return special
    # Drop the combining marks; the base may itself need the tables (Ǣ → Æ, Ǯ → Ʒ).
    bases = [c for c in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(c)]
    if bases != [upper]:
        parts = [_latin_letter(base) for base in bases]
        found = [part for part in parts if part]
        return "".join(found) if found else None
    extra = _LATIN_EXTRA.get(upper)
    if extra is not None:
        return extra
    named = _NAMED_BASE.fullmatch(unicodedata.name(upper, ""))
    return named.group(1) if named else None


def transliterate_arabic(text: str) -> str:
    """An Arabic-script name in the MRZ alphabet, per Doc 9303 Part 3 Table C.

    Words (name components) are separated by one filler. Raises :class:`~cardlib.MrzError` for a
    letter that has no MRZ form (including Latin letters: use :func:`to_mrz_text` for mixed text).

    >>> transliterate_arabic("محمد علي")
    'MXHMD<ELY'
    """
    # NFKC folds presentation forms (ﻻ, ﷲ, final/initial glyphs) into plain letters.
    text = unicodedata.normalize("NFKC", text)
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char in _SEPARATORS:
            words.append(_arabic_word(current))
            current = []
        elif char not in _APOSTROPHES:
            current.append(char)
    words.append(_arabic_word(current))
    return _join(words)


def _arabic_word(chars: list[str]) -> str:
    out: list[str] = []
    last = ""  # the MRZ form of the last letter, for shadda
    for index, char in enumerate(chars):
        if char in _ARABIC:
            last = _ARABIC[char]
        elif char == _TEH_MARBUTA:
            rest = chars[index + 1 :]
            at_end = all(c in _ARABIC_NOT_ENCODED or c == _SHADDA for c in rest)
            last = "XAH" if at_end else "XTA"
        elif char == _SHADDA:
            if not last:
                raise MrzError("a shadda (U+0651) must follow the letter it doubles")
            out.append(last)
            continue
        elif char in _ARABIC_NOT_ENCODED:
            continue
        elif char in _ARABIC_REFUSED:
            raise MrzError(
                f"the name contains {_describe(char)}, which ICAO Doc 9303 Part 3 Table C marks "
                "'not encoded'; enter the name with the standard Arabic letter"
            )
        elif unicodedata.category(char)[0] in "LM":
            raise MrzError(
                f"the name contains {_describe(char)}, which has no MRZ form in ICAO Doc 9303 "
                "Part 3 Table C; correct the Arabic spelling or give the Latin-script name"
            )
        else:
            continue  # digits, punctuation, format characters (ZWNJ): omitted
        out.append(last)
    return "".join(out)


def to_mrz_text(text: str) -> str:
    """One name part in the MRZ alphabet: Arabic-script text by Table C, anything else as Latin.

    Text that mixes Arabic and Latin letters is refused: the two tables cannot be told apart in the
    result.
    """
    has_arabic = any(_is_arabic_letter(char) for char in unicodedata.normalize("NFKC", text))
    if not has_arabic:
        return normalise_latin(text)
    has_latin = any(
        unicodedata.category(char).startswith("L") and not _is_arabic_letter(char) for char in text
    )
    if has_latin:
        raise MrzError("the name mixes Arabic and Latin letters; give each script separately")
    return transliterate_arabic(text)
