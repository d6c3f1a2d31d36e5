"""Machine-readable zones (ICAO Doc 9303): the TD1 zone on the card back and MRZ transliteration.

``_td1`` builds and parses the three 30-character lines (check digits, the long-document-number
rule, name truncation); ``_translit`` turns Latin and Arabic names into the MRZ alphabet.
"""
