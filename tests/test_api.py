"""The public surface and the error-code table."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cardlib
from cardlib._errors import (
    ENVIRONMENT,
    EXIT_CODES,
    HTTP_STATUS,
    INPUT,
    INTERNAL,
    INVALID,
    CardError,
    all_error_classes,
)

from .conftest import EXAMPLE, ROOT


def test_every_name_in_all_exists() -> None:
    for name in cardlib.__all__:
        assert hasattr(cardlib, name), name
    assert sorted(cardlib.__all__) == sorted(set(cardlib.__all__))


# One row of the error table in specs/format.md §9: | `code` | `Class` | `Parent`, `Parent` | ...
_SPEC_ROW = re.compile(r"^\| `([a-z][a-z0-9_]*)` \| `(\w+)` \| ([^|]+) \|", re.M)

# Loads cardlib/_errors.py by itself (not as part of the cardlib package, so nothing else of
# cardlib is imported) and prints every error class it defines: code, name and bases.
_ERRORS_ALONE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("errors_alone", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["errors_alone"] = module
spec.loader.exec_module(module)
assert not any(name == "cardlib" or name.startswith("cardlib.") for name in sys.modules)
print(json.dumps([[c.code, c.__name__, [b.__name__ for b in c.__bases__], c.category]
                  for c in module.all_error_classes()]))
"""


def _spec_error_table() -> dict[str, tuple[str, tuple[str, ...]]]:
    spec = (ROOT / "specs" / "format.md").read_text("utf-8")
    section = spec[spec.index("## 9. Error codes"):spec.index("## 10.")]
    return {code: (name, tuple(re.findall(r"`(\w+)`", parents)))
            for code, name, parents in _SPEC_ROW.findall(section)}


def test_the_error_module_alone_defines_every_error_of_the_spec_table() -> None:
    # A fresh interpreter that imports nothing but cardlib/_errors.py: every CardError class
    # lives there, so the table check cannot depend on which modules a test imported before.
    proc = subprocess.run(
        [sys.executable, "-c", _ERRORS_ALONE, str(ROOT / "cardlib" / "_errors.py")],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    alone = {code: (name, tuple(bases)) for code, name, bases, _ in json.loads(proc.stdout)}
    table = _spec_error_table()
    assert len(alone) == len(json.loads(proc.stdout)), "two error classes share a code"
    assert set(alone) - set(table) == set(), "error codes missing from the §9 table"
    assert set(table) - set(alone) == set(), "§9 rows without an error class"
    for code, (name, bases) in alone.items():
        assert table[code] == (name, bases), f"§9 row of {code} says {table[code]}"
    # ... and they are the very classes the package uses (none defined anywhere else).
    assert {cls.code: cls.__name__ for cls in all_error_classes()} == {
        code: name for code, (name, _) in alone.items()}
    assert {cls.__module__ for cls in all_error_classes()} == {"cardlib._errors"}


def test_error_codes_are_unique_stable_and_documented() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two error classes share a code"
    assert len(classes) == len(_spec_error_table())
    spec = (ROOT / "specs" / "format.md").read_text("utf-8")
    for cls in classes:
        assert re.fullmatch(r"[a-z][a-z0-9_]+", cls.code), cls
        assert f"`{cls.code}`" in spec, f"{cls.code} is not documented in specs/format.md"
        assert issubclass(cls, cardlib.CardError)


def test_every_error_class_is_exported_from_cardlib() -> None:
    for cls in all_error_classes():
        assert getattr(cardlib, cls.__name__) is cls, cls
        assert cls.__name__ in cardlib.__all__, cls


def test_every_error_has_a_category_the_tables_map() -> None:
    categories = {INVALID, INPUT, ENVIRONMENT, INTERNAL}
    assert set(EXIT_CODES) == categories
    assert set(HTTP_STATUS) == categories
    for cls in all_error_classes():
        assert cls.category in categories, cls
        assert EXIT_CODES[cls.category] in {1, 2, 4, 70}
        assert 400 <= HTTP_STATUS[cls.category] <= 599


# The categories of the registry, sync, audit, revocation and HSM errors (issue: one error module).
_CATEGORIES = {
    "RevocationInputError": INPUT, "RevocationListError": INPUT,
    "RevocationListSignatureError": INPUT, "RevocationListRollbackError": INPUT,
    "RevocationDeltaBaseError": INPUT,
    "AuditError": ENVIRONMENT, "AuditInputError": INPUT, "AuditUnavailableError": ENVIRONMENT,
    "AuditBusyError": ENVIRONMENT, "AuditAccessError": INPUT, "AuditTamperedError": INVALID,
    "RegistryError": ENVIRONMENT, "RegistryInputError": INPUT,
    "RegistryUnavailableError": ENVIRONMENT, "RegistryBusyError": ENVIRONMENT,
    "SchemaTooNewError": ENVIRONMENT, "DocumentNumberReusedError": INPUT,
    "RegistryNotFoundError": INPUT, "RegistryNotOursError": INPUT,
    "RevocationEntriesDroppedError": INPUT, "SyncBatchSignatureError": INVALID,
    "SyncSignerUntrustedError": INVALID, "SyncForeignCardError": INVALID,
    "HolderHasActiveCardError": INPUT, "CardNotFoundError": INPUT, "CardNotActiveError": INPUT,
    "CardSupersededError": INPUT, "HolderMismatchError": INPUT,
    "SyncError": ENVIRONMENT, "SyncBatchInvalidError": INPUT, "SyncBatchTamperedError": INVALID,
    "SyncGapError": INPUT, "SyncUnsupportedError": INPUT,
    "HsmError": ENVIRONMENT, "HsmInputError": INPUT, "HsmModuleError": ENVIRONMENT,
    "HsmTokenNotFoundError": ENVIRONMENT, "HsmTokenInUseError": ENVIRONMENT,
    "HsmPinError": INPUT, "HsmPinLockedError": INPUT, "HsmKeyNotFoundError": INPUT,
    "HsmKeyAmbiguousError": INPUT, "HsmKeyExistsError": INPUT, "HsmKeyUnsupportedError": INPUT,
    "HsmKeyMismatchError": ENVIRONMENT, "HsmSigningError": ENVIRONMENT,
}


def test_categories_of_the_registry_sync_audit_revocation_and_hsm_errors() -> None:
    by_name: dict[str, type[CardError]] = {cls.__name__: cls for cls in all_error_classes()}
    assert {name: by_name[name].category for name in _CATEGORIES} == _CATEGORIES
    # The first parent of a class with two CardError parents must not decide silently.
    assert cardlib.AuditTamperedError.category == INVALID != cardlib.AuditError.category
    assert cardlib.SyncBatchTamperedError.category == INVALID


def test_decode_errors_are_value_errors() -> None:
    assert issubclass(cardlib.Base45Error, ValueError)
    assert issubclass(cardlib.ValidationError, ValueError)
    assert str(cardlib.ExpiredError("x")) == "[expired] x"


def test_packaged_example_is_the_spec_example() -> None:
    packaged = ROOT / "cardlib" / "_data" / "holder.json"
    assert packaged.read_bytes() == EXAMPLE.read_bytes()
