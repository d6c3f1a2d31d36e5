"""The national-number profile: the holder record, its rules, and its Claim 169 mapping.

:class:`HolderRecord` and its parts, :class:`Rules` and :func:`check_record`, the JSON form
(:func:`record_from_json`, :func:`record_to_json`) and the Claim 169 map (:func:`to_claims`,
:func:`read_claim169`, :func:`record_from_claims`). Pure: values in, values out.
"""

from __future__ import annotations

from ._claims import (
    PROFILE_KEYS,
    Claim169,
    has_profile,
    read_claim169,
    read_profile,
    record_from_claims,
    to_claims,
)
from ._json import (
    MAX_JSON_BYTES,
    NAME_PARTS,
    RECORD_FIELDS,
    record_from_json,
    record_from_json_text,
    record_to_json,
)
from ._record import FourPartName, HolderCategory, HolderRecord, PhotoFormat, Sex
from ._rules import CONTROL_CHARS, DEFAULT_RULES, Rules, check_record

__all__ = [
    "CONTROL_CHARS",
    "DEFAULT_RULES",
    "MAX_JSON_BYTES",
    "NAME_PARTS",
    "PROFILE_KEYS",
    "RECORD_FIELDS",
    "Claim169",
    "FourPartName",
    "HolderCategory",
    "HolderRecord",
    "PhotoFormat",
    "Rules",
    "Sex",
    "check_record",
    "has_profile",
    "read_claim169",
    "read_profile",
    "record_from_claims",
    "record_from_json",
    "record_from_json_text",
    "record_to_json",
    "to_claims",
]
