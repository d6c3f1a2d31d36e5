"""Holders' personal access codes: the code's form, Crockford reading, the scrypt record, the
registry (SQLite and PostgreSQL), the migration of an older registry, and the CLI.

Each scrypt hash costs about 40 ms at the real cost, so the tests hash few times; the pure tests
(form, reading) hash nothing, and the record tests use a cheap cost through ``create``'s
documented ``cost`` parameter.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import stat
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

import cardlib
from cardlib.store import (
    ACCESS_CODE_COST,
    AccessCodeRecord,
    ScryptCost,
    _access_codes,
    generate_access_code,
    open_registry,
    parse_access_code,
)
from cardlib.store._access_codes import ALPHABET, CODE_LENGTH, MAX_ACCESS_CODE_INPUT
from cardlib.store._registry import (
    AccessCodeMalformedError,
    HolderNotFoundError,
    IssuanceRegistry,
    RegistryInputError,
    SqlRegistry,
)

from . import test_registry
from .conftest import EXAMPLE
from .test_registry import NOW, Backend, card

CHEAP = ScryptCost(n=1 << 10, r=8, p=1)  # for records checked in memory only
CODE = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")


# --- the code's form ---------------------------------------------------------------------------


def test_generated_codes_are_random_crockford_groups_of_four() -> None:
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 50  # 60 bits
    codes = [generate_access_code() for _ in range(300)]
    assert all(CODE.fullmatch(code) for code in codes), codes[:3]
    assert len(set(codes)) == len(codes)
    symbols = Counter("".join(codes).replace("-", ""))
    # 3600 symbols: every one of the 32 shows up, none of them far more often than the others.
    assert set(symbols) == set(ALPHABET)
    assert max(symbols.values()) < 3 * min(symbols.values())


@pytest.mark.parametrize(("typed", "read"), [
    ("7KQ4-M2XD-9WPR", "7KQ4-M2XD-9WPR"),
    ("7kq4m2xd9wpr", "7KQ4-M2XD-9WPR"),
    (" 7kq4 m2xd\t9wpr\n", "7KQ4-M2XD-9WPR"),
    ("7-K-Q-4--M2XD-9WPR", "7KQ4-M2XD-9WPR"),
    ("OoIi-Ll00-1111", "0011-1100-1111"),  # Crockford: O is 0, I and L are 1
])
def test_a_typed_code_is_read_by_crockfords_rules(typed: str, read: str) -> None:
    assert parse_access_code(typed) == read


@pytest.mark.parametrize("typed", [
    "H3NA-K8ZC-QW2U",  # U is not a symbol
    "H3NA-K8ZC-QW2",  # 11 symbols
    "H3NA-K8ZC-QW2T-0",  # 13
    "H3NA-K8ZC-QW2!",
    "３HNA-K8ZC-QW2T",  # a full-width digit
    "ıHNA-K8ZC-QW2T",  # a dotless i: its upper case is I, but it is not ASCII
    "",
])
def test_what_is_not_a_code_is_refused_without_repeating_it(typed: str) -> None:
    with pytest.raises(AccessCodeMalformedError) as info:
        parse_access_code(typed)
    err = info.value
    assert (err.code, err.category) == ("access_code_malformed", "input")
    assert isinstance(err, ValueError) and isinstance(err, RegistryInputError)
    assert not typed or typed not in str(err)


def test_the_input_is_bounded_before_it_is_read() -> None:
    padded = "7KQ4-M2XD-9WPR".center(MAX_ACCESS_CODE_INPUT)
    assert parse_access_code(padded) == "7KQ4-M2XD-9WPR"
    with pytest.raises(AccessCodeMalformedError, match=str(MAX_ACCESS_CODE_INPUT + 1)):
        parse_access_code(padded + " ")
    with pytest.raises(AccessCodeMalformedError):
        parse_access_code(b"7KQ4M2XD9WPR")  # type: ignore[arg-type]


# --- the hash record ---------------------------------------------------------------------------


def test_a_record_matches_its_code_only() -> None:
    code = generate_access_code()
    record = AccessCodeRecord.create("NIN-0001", code, centre_code="RBT-01", set_at=NOW,
                                     cost=CHEAP)
    assert (record.algorithm, record.cost, len(record.salt), len(record.digest)) == (
        "scrypt", CHEAP, 16, 32)
    assert record.matches(code) and record.matches(code.lower().replace("-", " "))
    other = generate_access_code()
    assert not record.matches(other)
    again = AccessCodeRecord.create("NIN-0001", code, centre_code="RBT-01", set_at=NOW,
                                    cost=CHEAP)
    assert again.salt != record.salt and again.digest != record.digest  # a fresh salt each time
    assert code not in repr(record) and record.digest.hex() not in repr(record)
    assert ACCESS_CODE_COST == ScryptCost(n=1 << 14, r=8, p=1)


@pytest.mark.parametrize("cost", [(1000, 8, 1), (1 << 9, 8, 1), (1 << 21, 8, 1), (1 << 14, 0, 1),
                                  (1 << 14, 8, 17), (1 << 20, 8, 1), (True, 8, 1)])
def test_unusable_costs_are_refused(cost: tuple[int, int, int]) -> None:
    with pytest.raises(RegistryInputError):
        ScryptCost(*cost)


# --- in the registry, on SQLite and PostgreSQL ---------------------------------------------------


# The registry suite's fixtures: a fresh SQLite file, or a PostgreSQL schema (skipped without
# CARDLIB_TEST_POSTGRES), and the registry created there.
backend = test_registry.backend
registry = test_registry.registry


def stored(registry: IssuanceRegistry, holder: str) -> AccessCodeRecord | None:
    assert isinstance(registry, SqlRegistry)
    with registry.transaction(write=False) as tx:
        return registry.select_access_code(tx, holder)


def test_the_code_set_at_issue_checks_and_nothing_else_does(registry: IssuanceRegistry) -> None:
    mine, theirs = generate_access_code(), generate_access_code()
    registry.record_issue(card("AB0000001", "NIN-0001"), access_code=mine)
    registry.record_issue(card("AB0000002", "NIN-0002"), access_code=theirs)
    assert registry.check_access_code("NIN-0001", mine)
    assert registry.check_access_code("NIN-0001", mine.lower().replace("-", ""))
    assert not registry.check_access_code("NIN-0001", theirs)  # another holder's code
    assert not registry.check_access_code("NIN-0001", generate_access_code())  # a wrong one
    assert not registry.check_access_code("NIN-9999", mine)  # a holder without a code
    with pytest.raises(AccessCodeMalformedError):
        registry.check_access_code("NIN-0001", "not a code")
    record = stored(registry, "NIN-0001")
    assert record is not None
    assert (record.centre_code, record.set_at, record.algorithm, record.cost) == (
        "RBT-01", NOW, "scrypt", ACCESS_CODE_COST)
    assert (len(record.salt), len(record.digest)) == (16, 32)


def test_a_code_hashed_by_the_caller_is_taken_only_for_its_card(
        registry: IssuanceRegistry) -> None:
    """A batch hashes the code while it renders and hands in the record: the registry stores it
    as it is, and refuses one made for another holder, centre or time (nothing recorded)."""
    code = generate_access_code()
    issued = card("AB0000001", "NIN-0001")
    for holder, centre, at in (("NIN-0002", "RBT-01", NOW), ("NIN-0001", "BEN-01", NOW),
                               ("NIN-0001", "RBT-01", NOW + timedelta(seconds=1))):
        record = AccessCodeRecord.create(holder, code, centre_code=centre, set_at=at,
                                         cost=CHEAP)
        with pytest.raises(RegistryInputError, match="hashed access code"):
            registry.record_issue(issued, access_code=record)
        assert stored(registry, "NIN-0001") is None
    record = AccessCodeRecord.create("NIN-0001", code, centre_code="RBT-01", set_at=NOW)
    registry.record_issue(issued, access_code=record)
    assert stored(registry, "NIN-0001") == record
    assert registry.check_access_code("NIN-0001", code)


def test_a_reissue_or_a_reset_replaces_the_code(registry: IssuanceRegistry) -> None:
    first, second = generate_access_code(), generate_access_code()
    registry.record_issue(card("AB0000001"), access_code=first)
    later = NOW + timedelta(days=30)
    registry.replace("AB0000001", card("AB0000002", at=later), now=later, access_code=second)
    assert not registry.check_access_code("NIN-0001", first)
    assert registry.check_access_code("NIN-0001", second)
    reset = registry.new_access_code("NIN-0001", centre_code="CAS-02", now=later + timedelta(1))
    assert CODE.fullmatch(reset)
    assert not registry.check_access_code("NIN-0001", second)
    assert registry.check_access_code("NIN-0001", reset)
    record = stored(registry, "NIN-0001")
    assert record is not None and (record.centre_code, record.set_at) == (
        "CAS-02", later + timedelta(1))
    assert [e.event for e in registry.history("NIN-0001")] == [  # a code is not an event
        "issue", "revocation", "replacement"]
    with pytest.raises(HolderNotFoundError) as info:
        registry.new_access_code("NIN-9999", centre_code="CAS-02", now=later)
    assert (info.value.code, info.value.category) == ("holder_not_found", "input")
    assert stored(registry, "NIN-9999") is None


def test_a_card_refused_sets_no_code(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    with pytest.raises(cardlib.HolderHasActiveCardError):
        registry.record_issue(card("AB0000002"), access_code=generate_access_code())
    assert stored(registry, "NIN-0001") is None  # one transaction: nothing of it was kept


def test_set_at_never_goes_back(registry: IssuanceRegistry) -> None:
    """A reset stamped before the current code (an injected clock) comes 1 µs after it, so the
    central, which keeps the later set_at, keeps the code set last."""
    registry.record_issue(card("AB0000001"), access_code=generate_access_code())
    registry.new_access_code("NIN-0001", centre_code="RBT-01", now=NOW - timedelta(days=1))
    record = stored(registry, "NIN-0001")
    assert record is not None and record.set_at == NOW + timedelta(microseconds=1)


def test_a_check_costs_the_same_with_or_without_a_code(
        registry: IssuanceRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both hash once at the stored (here: the default) cost, and compare in constant time."""
    code = generate_access_code()
    registry.record_issue(card("AB0000001"), access_code=code)
    calls: list[tuple[ScryptCost, int]] = []
    compares: list[int] = []
    real_scrypt, real_compare = _access_codes._scrypt, hmac.compare_digest

    def scrypt(canonical: str, salt: bytes, cost: ScryptCost, length: int) -> bytes:
        calls.append((cost, length))
        return real_scrypt(canonical, salt, cost, length)

    def compare(a: bytes, b: bytes) -> bool:
        compares.append(len(a))
        return real_compare(a, b)

    monkeypatch.setattr(_access_codes, "_scrypt", scrypt)
    monkeypatch.setattr(hmac, "compare_digest", compare)
    assert registry.check_access_code("NIN-0001", code)
    assert not registry.check_access_code("NIN-9999", code)
    assert calls == [(ACCESS_CODE_COST, 32)] * 2 and compares == [32, 32]


def test_a_code_is_checked_at_the_cost_it_was_hashed_with(registry: IssuanceRegistry) -> None:
    """The cost is stored with the hash: raising ACCESS_CODE_COST leaves old codes working."""
    assert isinstance(registry, SqlRegistry)
    registry.record_issue(card("AB0000001"))
    code = generate_access_code()
    old = AccessCodeRecord.create("NIN-0001", code, centre_code="RBT-01", set_at=NOW, cost=CHEAP)
    with registry.transaction(write=True) as tx:
        registry.put_access_code(tx, old)
    assert stored(registry, "NIN-0001") == old
    assert registry.check_access_code("NIN-0001", code)


def test_a_record_from_a_centre_never_replaces_a_later_one(registry: IssuanceRegistry) -> None:
    """The guard in the statement itself (not only the applier's look first), so a code reset
    at the central while a batch is applied is never overwritten by an older one."""
    assert isinstance(registry, SqlRegistry)
    registry.record_issue(card("AB0000001"))

    def record(at: timedelta) -> AccessCodeRecord:
        return AccessCodeRecord.create("NIN-0001", generate_access_code(), centre_code="RBT-01",
                                       set_at=NOW + at, cost=CHEAP)

    later, older, newest = record(timedelta(hours=2)), record(timedelta(hours=1)), record(
        timedelta(hours=3))
    for incoming, kept in ((later, later), (older, later), (later, later), (newest, newest)):
        with registry.transaction(write=True) as tx:
            registry.put_access_code(tx, incoming, newer_only=True)
        assert stored(registry, "NIN-0001") == kept


def test_an_older_registry_migrates_and_gets_codes(backend: Backend) -> None:
    """A registry at schema version 4 (before access codes), with a card, gains the empty table
    at open; its holder gets a code at a reset."""
    backend.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL)", ())
    for step in backend.migrations[:4]:
        for statement in step.statements:
            backend.execute(statement, ())
        backend.execute("INSERT INTO schema_version VALUES (?, ?)",
                        (step.version, step.description))
    span = (NOW - timedelta(days=365), NOW + timedelta(days=3650))
    times: list[object] = list(span) if backend.name == "postgres" else [  # SQLite: UTC text
        t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") for t in span]
    backend.execute(
        "INSERT INTO cards (document_number, holder_identifier, centre_code, kid, issued_at, "
        "expires_at, payload_sha256, kind, status) VALUES ('AB0000001', 'NIN-0001', 'RBT-01', "
        "?, ?, ?, ?, 'issue', 'active')", (b"k", *times, bytes(32)))
    assert "access_codes" not in backend.tables()

    with backend.open() as reg:
        assert reg.schema_version == 5
        assert "access_codes" in backend.tables()
        assert reg.get("AB0000001").holder_identifier == "NIN-0001"
        assert not reg.check_access_code("NIN-0001", generate_access_code())
        code = reg.new_access_code("NIN-0001", centre_code="RBT-01", now=NOW)
        assert reg.check_access_code("NIN-0001", code)
    versions = backend.execute("SELECT version, description FROM schema_version "
                               "ORDER BY version", ())
    assert versions[-1] == (5, "access_codes: holders' personal access codes")


# --- the CLI -------------------------------------------------------------------------------------

CLI = Path(sys.executable).with_name("cardlib")
HOLDER = "119850012347"  # the example record's national number


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return done


def code_on(text: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith("access code")]
    prefix = "access code (give to the holder, shown once): "
    assert line.startswith(prefix) and CODE.fullmatch(line.removeprefix(prefix)), line
    return line.removeprefix(prefix)


@pytest.fixture
def signing(tmp_path: Path) -> list[str]:
    (tmp_path / "key.pem").write_bytes(cardlib.PrivateKey.generate().to_pem())
    return ["--key", str(tmp_path / "key.pem")]


def check(db: Path, holder: str, code: str) -> bool:
    with open_registry(db) as registry:
        return registry.check_access_code(holder, code)


def test_issue_reissue_and_reset_code_print_a_code_once(tmp_path: Path,
                                                          signing: list[str]) -> None:
    db = tmp_path / "registry.db"
    url = f"sqlite:///{db}"
    ok("registry", "init", url)
    issued = ok("issue", *signing, "--registry", url, "--now", "2026-01-10T09:00:00Z",
                str(EXAMPLE))
    payload = issued.stdout.strip()  # stdout is the payload alone, as without a registry
    assert issued.stdout == payload + "\n" and "access code" not in issued.stdout
    first = code_on(issued.stderr)
    assert check(db, HOLDER, first)

    new = json.loads(EXAMPLE.read_text("utf-8")) | {"document_number": "LY0001300",
                                                    "issue_date": "2026-02-01"}
    (tmp_path / "new.json").write_text(json.dumps(new, ensure_ascii=False), "utf-8")
    replaced = json.loads(ok("issue", *signing, "--registry", url, "--replaces", "LY0001234",
                             "--operation", "renew", "--now", "2026-02-01T09:00:00Z", "--json",
                             str(tmp_path / "new.json")).stdout)
    second = replaced["access_code"]
    assert replaced["recorded"] is True and CODE.fullmatch(second) and second != first
    assert not check(db, HOLDER, first) and check(db, HOLDER, second)

    reset = ok("registry", "reset-code", "--registry", url, "--holder", HOLDER, "--centre",
               "TRP-01", "--now", "2026-03-01T10:00:00Z")
    third = code_on(reset.stdout)
    assert "holder: 119850012347" in reset.stdout and "centre: TRP-01" in reset.stdout
    assert "set_at: 2026-03-01T10:00:00Z" in reset.stdout
    assert not check(db, HOLDER, second) and check(db, HOLDER, third)
    again = json.loads(ok("registry", "reset-code", "--registry", url, "--holder", HOLDER,
                          "--centre", "TRP-01", "--json").stdout)
    assert set(again) == {"holder", "centre", "set_at", "access_code"}
    assert CODE.fullmatch(again["access_code"])

    unknown = cli("registry", "reset-code", "--registry", url, "--holder", "219900012345",
                  "--centre", "TRP-01", "--json")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert json.loads(unknown.stderr)["code"] == "holder_not_found"
    plain = cli("issue", *signing, "--json", str(EXAMPLE))  # without a registry: no code
    assert json.loads(plain.stdout)["access_code"] is None and "access code" not in plain.stderr

    # Only hashes are kept: no code, in any spelling, is anywhere in the database's bytes,
    # while what the registry does keep is found there by the same search.
    codes = [first, second, third, again["access_code"]]
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("registry.db*"))
    assert HOLDER.encode() in raw and b"LY0001300" in raw
    for code in codes:
        for spelling in (code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()):
            assert spelling.encode() not in raw and spelling.encode("utf-16-le") not in raw


def test_batch_writes_each_code_to_its_manifest_line_only(tmp_path: Path,
                                                          signing: list[str]) -> None:
    from .test_batch import jsonl, variant

    db, out = tmp_path / "registry.db", tmp_path / "out"
    ok("registry", "init", f"sqlite:///{db}")
    (tmp_path / "in.jsonl").write_text(jsonl(variant(1), variant(2)), "utf-8")
    done = ok("batch", *signing, "--registry", f"sqlite:///{db}", "--format", "jsonl",
              "--no-render", "--now", "2026-01-10T09:00:00Z", "--json", "--out", str(out),
              str(tmp_path / "in.jsonl"))
    assert json.loads(done.stdout)["issued"] == 2
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    codes = {line["document_number"]: line["access_code"] for line in lines}
    assert set(codes) == {"LY0000001", "LY0000002"}
    for code in codes.values():  # nowhere but in the manifest
        assert code not in done.stdout + done.stderr
        assert not any(code in path.read_text("ascii")
                       for path in (out / "cards").rglob("*.txt"))
    assert stat.S_IMODE((out / "manifest.jsonl").stat().st_mode) == 0o600
    assert check(db, variant(1)["national_number"], codes["LY0000001"])
    assert check(db, variant(2)["national_number"], codes["LY0000002"])
    assert not check(db, variant(2)["national_number"], codes["LY0000001"])


def test_every_public_name_of_the_module_exists() -> None:
    missing = [name for name in _access_codes.__all__ if not hasattr(_access_codes, name)]
    assert missing == []
