"""The audit log: append, checkpoints, tamper detection, crash recovery, holder view, writers.

Hashes and checkpoint signatures are recomputed here with cbor2 directly (not through cardlib's
codec), so the documented canonical encoding is checked independently of the implementation.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import itertools
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest

import cardlib
from cardlib._errors import CardError, VerificationError
from cardlib.audit import _log
from cardlib.audit._log import (
    MAX_DATA_BYTES,
    MAX_LINE_BYTES,
    PROBLEMS,
    ZERO_HASH,
    AuditAccessError,
    AuditAnchor,
    AuditBusyError,
    AuditEntry,
    AuditError,
    AuditInputError,
    AuditLog,
    AuditTamperedError,
    AuditTruncatedError,
    AuditUnavailableError,
    events_for,
    parse_anchor,
    read_log,
    verify_log,
)

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ALICE, BOB = "119900012343", "219850004561"
ROOT = Path(__file__).resolve().parent.parent


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _build(path: Path, key: cardlib.PrivateKey) -> list[AuditEntry]:
    """A log of 11 entries: card and key events, checkpoints at 5 and 9, two entries unsealed."""
    with AuditLog.open(path) as log:
        return [
            log.append("key", now=_t(0), data={"event": "added", "kid": key.kid.hex()}),
            log.append("issue", now=_t(1), holder=ALICE, document_number="LY1000001",
                       data={"centre": "TRP-01"}),
            log.append("issue", now=_t(2), holder=BOB, document_number="LY1000002",
                       data={"centre": "BEN-02", "photo": True}),
            log.append("revocation", now=_t(3), holder=ALICE, document_number="LY1000001",
                       data={"reason": "lost"}),
            log.checkpoint(key, now=_t(4)),
            log.append("replacement", now=_t(5), holder=ALICE, document_number="LY1000003",
                       data={"replaces": "LY1000001", "notes": ["طرابلس", "ü"]}),
            log.append("correction", now=_t(6), holder=BOB, document_number="LY1000004",
                       data={"replaces": "LY1000002", "fields": {"name": 1, "n": -5}}),
            log.append("revocation", now=_t(7), holder=BOB, document_number="LY1000002",
                       data={"reason": "data_correction"}),
            log.checkpoint(key, now=_t(8)),
            log.append("renewal", now=_t(9), holder=ALICE, document_number="LY1000005",
                       data={"replaces": "LY1000003"}),
            log.append("key", now=_t(10), data={"event": "retired", "kid": "00ff"}),
        ]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _objects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(path)]


def _spell(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _write(path: Path, objects: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(_spell(obj) + b"\n" for obj in objects))


def _hash(obj: dict[str, Any]) -> str:
    """The documented hash: SHA-256 over deterministic CBOR of the entry without "hash"."""
    body = {k: v for k, v in obj.items() if k != "hash"}
    return hashlib.sha256(cbor2.dumps(body, canonical=True)).hexdigest()


def _rechain(objects: list[dict[str, Any]], start: int) -> None:
    """What a forger with write access does: recompute hashes and links from ``start`` on."""
    for index in range(start, len(objects)):
        if index > 0:
            objects[index]["prev"] = objects[index - 1]["hash"]
        objects[index]["hash"] = _hash(objects[index])


def _tampered(path: Path, trusted: cardlib.PublicKey | cardlib.TrustStore,
              **kwargs: Any) -> AuditTamperedError:
    with pytest.raises(AuditTamperedError) as info:
        verify_log(path, trusted, **kwargs)
    return info.value


@pytest.fixture
def log_path(tmp_path: Path, ed_key: cardlib.PrivateKey) -> Path:
    path = tmp_path / "audit.jsonl"
    _build(path, ed_key)
    return path


# --- writing and verifying ------------------------------------------------------------------


def test_append_and_verify(tmp_path: Path, ed_key: cardlib.PrivateKey) -> None:
    path = tmp_path / "audit.jsonl"
    entries = _build(path, ed_key)
    assert [e.seq for e in entries] == list(range(1, 12))
    assert entries[0].prev == ZERO_HASH
    assert all(b.prev == a.hash for a, b in itertools.pairwise(entries))
    assert b"".join(e.to_line() for e in entries) == path.read_bytes()
    assert [AuditEntry.from_line(line) for line in _lines(path)] == entries

    report = verify_log(path, ed_key.public_key)
    assert report.entries == 11
    assert report.head == entries[-1].hash
    assert report.checkpoints == 2
    assert report.last_checkpoint == entries[8]
    assert report.last_checkpoint_seq == 9
    assert report.unsealed == 2
    assert report.torn_tail_bytes == 0
    assert (path.stat().st_mode & 0o777) == 0o600


def test_entry_values(log_path: Path) -> None:
    entry = AuditEntry.from_line(_lines(log_path)[5])
    assert entry.kind == "replacement"
    assert entry.at == _t(5)
    assert (entry.holder, entry.document_number) == (ALICE, "LY1000003")
    assert entry.data["notes"] == ("طرابلس", "ü")
    with pytest.raises(TypeError):
        entry.data["replaces"] = "x"  # type: ignore[index]
    obj = _objects(log_path)[5]
    assert obj["at"] == "2026-01-10T09:05:00.000000Z"
    assert "طرابلس".encode() in _lines(log_path)[5]  # UTF-8, not \\u escapes


def test_hash_is_sha256_of_deterministic_cbor(log_path: Path) -> None:
    objects = _objects(log_path)
    previous = ZERO_HASH
    for obj in objects:
        assert obj["hash"] == _hash(obj)
        assert obj["prev"] == previous
        assert _spell(obj) + b"\n" == _lines(log_path)[obj["seq"] - 1]
        previous = obj["hash"]


def test_checkpoint_signature_is_over_the_documented_message(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    checkpoint = _objects(log_path)[8]
    data = checkpoint["data"]
    assert data["count"] == 8
    assert data["head"] == checkpoint["prev"] == _objects(log_path)[7]["hash"]
    assert data["kid"] == ed_key.kid.hex()
    assert data["alg"] == "EdDSA"
    message = cbor2.dumps(["cardlib audit checkpoint v1", 8, bytes.fromhex(data["head"]),
                           checkpoint["at"]], canonical=True)
    ed_key.public_key.verify(bytes.fromhex(data["sig"]), message)


def test_checkpoints_verify_with_es256_and_a_trust_store(
    tmp_path: Path, ed_key: cardlib.PrivateKey, es_key: cardlib.PrivateKey
) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(path) as log:
        first = log.checkpoint(es_key, now=_t(0))  # an empty log can be sealed too
        log.append("key", now=_t(1), data={"event": "rotated"})
        log.checkpoint(ed_key, now=_t(2))
        log.checkpoint(es_key, now=_t(3))
    assert first.data["count"] == 0 and first.data["head"] == ZERO_HASH
    store = cardlib.TrustStore([ed_key.public_key, es_key.public_key])
    report = verify_log(path, store)
    assert (report.entries, report.checkpoints, report.unsealed) == (4, 3, 0)
    assert _tampered(path, es_key.public_key).problem == "key_unknown"
    assert _tampered(path, es_key.public_key).line == 3


def test_empty_and_missing_logs(tmp_path: Path, ed_key: cardlib.PrivateKey) -> None:
    path = tmp_path / "audit.jsonl"
    AuditLog.open(path).close()
    report = verify_log(path, ed_key.public_key)
    assert (report.entries, report.head, report.last_checkpoint) == (0, ZERO_HASH, None)
    with pytest.raises(AuditUnavailableError):
        verify_log(tmp_path / "missing.jsonl", ed_key.public_key)
    with pytest.raises(AuditUnavailableError):
        AuditLog.open(tmp_path / "no" / "such" / "dir.jsonl")


# --- tampering ------------------------------------------------------------------------------


def _altered(obj: dict[str, Any], field: str) -> Any:
    """Another value for ``field``, of the right type where the entry's kind allows one."""
    value = obj[field]
    if field == "seq":
        return value + 1
    if field == "at":
        return value.replace(":00.000000Z", ":01.000000Z")
    if field == "kind":
        return "renewal" if value != "renewal" else "issue"
    if field in ("holder", "document_number"):
        return "LY9999999" if value is not None else "X1234567"
    if field == "data":
        if obj["kind"] == "checkpoint":
            return {**value, "count": value["count"] + 1}
        return {**value, "extra": 1}
    flipped = "1" if value[0] != "1" else "2"  # prev, hash
    return flipped + value[1:]


@pytest.mark.parametrize(
    "field", ["seq", "at", "kind", "holder", "document_number", "data", "prev", "hash"]
)
def test_editing_any_field_of_any_entry_names_that_entry(
    log_path: Path, ed_key: cardlib.PrivateKey, field: str
) -> None:
    original = _objects(log_path)
    for index in range(len(original)):
        objects = [dict(obj) for obj in original]
        objects[index][field] = _altered(objects[index], field)
        _write(log_path, objects)
        error = _tampered(log_path, ed_key.public_key)
        assert (error.line, error.seq) == (index + 1, index + 1), (field, index, error)
        assert error.first_suspect == index + 1
        assert error.problem in ("hash_mismatch", "malformed"), error
        assert error.code == "audit_tampered"
        if field in ("seq", "at", "data", "prev", "hash"):
            assert error.problem == "hash_mismatch"


def test_respelling_a_line_is_detected(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    lines = _lines(log_path)
    lines[3] = json.dumps(json.loads(lines[3])).encode() + b"\n"  # same values, spaces added
    log_path.write_bytes(b"".join(lines))
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line) == ("not_canonical", 4)


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    objects = _objects(log_path)
    objects[2]["data"]["centre"] = "FORGED"
    objects[2]["hash"] = _hash(objects[2])
    _write(log_path, objects)
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line, error.first_suspect) == ("broken_link", 4, 3)


def test_a_rewritten_chain_is_caught_at_the_next_checkpoint(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    original = _objects(log_path)
    objects = [json.loads(json.dumps(obj)) for obj in original]
    objects[6]["data"]["reason"] = "fraud"  # inside the second sealed stretch (entries 6-8)
    _rechain(objects, 6)
    _write(log_path, objects)
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line, error.first_suspect) == ("checkpoint_mismatch", 9, 6)

    # The forger also moves the checkpoint's head: the signature no longer covers it.
    objects[8]["data"]["head"] = objects[7]["hash"]
    _rechain(objects, 8)
    _write(log_path, objects)
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line, error.first_suspect) == ("signature_invalid", 9, 6)


def test_deleting_an_entry_is_detected(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    original = _lines(log_path)
    for index in range(len(original) - 1):  # the last one: see the truncation tests
        log_path.write_bytes(b"".join(original[:index] + original[index + 1 :]))
        error = _tampered(log_path, ed_key.public_key)
        assert (error.problem, error.line, error.seq) == ("seq_mismatch", index + 1, index + 1)


def test_swapping_two_entries_is_detected(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    original = _lines(log_path)
    for index in range(len(original) - 1):
        lines = list(original)
        lines[index], lines[index + 1] = lines[index + 1], lines[index]
        log_path.write_bytes(b"".join(lines))
        error = _tampered(log_path, ed_key.public_key)
        assert (error.problem, error.line) == ("seq_mismatch", index + 1)


def test_truncating_after_a_checkpoint_is_caught_by_the_anchor(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    anchor = verify_log(log_path, ed_key.public_key).last_checkpoint
    assert anchor is not None and anchor.seq == 9
    kept = AuditEntry.from_line(anchor.to_line())  # stored elsewhere as one line
    original = _lines(log_path)

    # Entries after the anchor may go (unsealed: a chain alone cannot show it) ...
    log_path.write_bytes(b"".join(original[:9]))
    report = verify_log(log_path, ed_key.public_key, anchor=kept)
    assert (report.entries, report.unsealed) == (9, 0)

    # ... but cutting the anchor itself, or back to before it, is caught.
    for keep in (8, 5, 4, 0):
        log_path.write_bytes(b"".join(original[:keep]))
        assert verify_log(log_path, ed_key.public_key).entries == keep  # no anchor: unseen
        error = _tampered(log_path, ed_key.public_key, anchor=kept)
        assert (error.code, error.problem, error.line) == ("audit_truncated", "truncated",
                                                           keep + 1)


def test_a_rebuilt_log_does_not_match_the_anchor(
    tmp_path: Path, log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    anchor = verify_log(log_path, ed_key.public_key).last_checkpoint
    rebuilt = tmp_path / "rebuilt.jsonl"
    with AuditLog.open(rebuilt) as log:  # an insider with the key rewrites history
        for minute in range(8):
            log.append("key", now=_t(minute), data={"event": "nothing happened"})
        log.checkpoint(ed_key, now=_t(8))
    verify_log(rebuilt, ed_key.public_key)
    error = _tampered(rebuilt, ed_key.public_key, anchor=anchor)
    assert (error.problem, error.line, error.first_suspect) == ("anchor_mismatch", 9, 1)


def test_a_forged_anchor_is_refused(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    entries = [AuditEntry.from_line(line) for line in _lines(log_path)]
    other = cardlib.PrivateKey.generate()
    with pytest.raises(AuditInputError):
        verify_log(log_path, other.public_key, anchor=entries[8])
    with pytest.raises(AuditInputError):
        verify_log(log_path, ed_key.public_key, anchor=entries[7])  # not a checkpoint


# --- anchors: what only a checkpoint kept elsewhere can show (issue 9, item 8) ----------------


def _sealed(path: Path, key: cardlib.PrivateKey) -> list[bytes]:
    """The 11-entry log sealed once more: checkpoints at 5, 9 and 12 (the last line)."""
    _build(path, key)
    with AuditLog.open(path) as log:
        log.checkpoint(key, now=_t(11))
    return _lines(path)


def test_an_anchor_is_one_short_line(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    report = verify_log(log_path, ed_key.public_key)
    checkpoint = report.last_checkpoint
    assert checkpoint is not None
    assert report.anchor == AuditAnchor(9, checkpoint.hash) == AuditAnchor.of(checkpoint)
    text = str(report.anchor)
    assert text == f"9:{checkpoint.hash}"
    assert parse_anchor(text) == report.anchor
    assert parse_anchor(f"  {text}\n") == report.anchor  # as copied from a file or a terminal
    assert parse_anchor(checkpoint.to_line()) == checkpoint  # the signed checkpoint line itself
    assert report.anchored is False
    assert verify_log(log_path, ed_key.public_key, anchor=report.anchor).anchored is True
    empty = log_path.with_name("empty.jsonl")
    AuditLog.open(empty).close()
    assert verify_log(empty, ed_key.public_key).anchor is None
    for bad in ("", "9", "9:", ":" + "0" * 64, "0:" + "0" * 64, "-1:" + "0" * 64,
                "9:" + "A" * 64, "9:" + "0" * 63, "09:" + "0" * 64, "9 :" + "0" * 64,
                "٩:" + "0" * 64, "9:" + "0" * 64 + ":1", _lines(log_path)[7].decode(), "{"):
        with pytest.raises(AuditInputError):
            parse_anchor(bad)
    with pytest.raises(AuditInputError):
        AuditAnchor(0, checkpoint.hash)


def test_a_report_says_whether_the_end_was_checked(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    report = verify_log(log_path, ed_key.public_key)
    shown = report.to_json()
    assert shown["status"] == "valid" and shown["anchored"] is False
    assert shown["anchor"] == str(report.anchor)
    assert (shown["entries"], shown["unsealed"], shown["last_checkpoint_seq"]) == (11, 2, 9)
    assert any("cannot be detected" in warning for warning in shown["warnings"])
    anchored = verify_log(log_path, ed_key.public_key, anchor=report.anchor).to_json()
    assert anchored["anchored"] is True
    assert not any("cannot be detected" in warning for warning in anchored["warnings"])
    json.dumps(shown)  # plain JSON values only


def test_a_log_cut_exactly_at_a_checkpoint_is_caught_only_by_an_anchor(
    tmp_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    """No torn line, every hash and signature sound: the cut shows only against the anchor."""
    path = tmp_path / "audit.jsonl"
    original = _sealed(path, ed_key)
    anchor = verify_log(path, ed_key.public_key).anchor
    assert anchor is not None and anchor.seq == 12
    path.write_bytes(b"".join(original[:9]))  # back to the checkpoint at 9
    report = verify_log(path, ed_key.public_key)  # the chain alone cannot tell
    assert (report.entries, report.unsealed, report.anchored) == (9, 0, False)
    error = _tampered(path, ed_key.public_key, anchor=anchor)
    assert isinstance(error, AuditTruncatedError)
    assert (error.code, error.category) == ("audit_truncated", "invalid")
    assert error.problem == "truncated"
    assert (error.line, error.seq, error.anchor) == (10, 10, str(anchor))
    assert "entries 10 to 12" in error.message
    assert error.details == {"line": 10, "seq": 10, "problem": "truncated",
                             "first_suspect": 10, "anchor": str(anchor)}


def test_deleting_the_last_checkpoint_is_caught_by_its_anchor(
    tmp_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    path = tmp_path / "audit.jsonl"
    original = _sealed(path, ed_key)
    anchor = verify_log(path, ed_key.public_key).anchor
    path.write_bytes(b"".join(original[:-1]))
    assert verify_log(path, ed_key.public_key).unsealed == 2  # looks like two unsealed entries
    error = _tampered(path, ed_key.public_key, anchor=anchor)
    assert (error.code, error.problem, error.line) == ("audit_truncated", "truncated", 12)
    assert "entry 12 is missing" in error.message


def test_deleting_the_last_line_is_caught_by_an_anchor_at_the_head(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    """Unsealed entries are covered by an anchor taken at the head (``entries:head``)."""
    report = verify_log(log_path, ed_key.public_key)
    head = parse_anchor(f"{report.entries}:{report.head}")
    log_path.write_bytes(b"".join(_lines(log_path)[:-1]))
    assert verify_log(log_path, ed_key.public_key, anchor=report.anchor).entries == 10
    error = _tampered(log_path, ed_key.public_key, anchor=head)
    assert (error.code, error.problem, error.line) == ("audit_truncated", "truncated", 11)


def test_a_deleted_middle_line_is_tampering_not_truncation(
    tmp_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    path = tmp_path / "audit.jsonl"
    original = _sealed(path, ed_key)
    anchor = verify_log(path, ed_key.public_key).anchor
    path.write_bytes(b"".join(original[:6] + original[7:]))
    for kwargs in ({}, {"anchor": anchor}):
        error = _tampered(path, ed_key.public_key, **kwargs)
        assert not isinstance(error, AuditTruncatedError)
        assert (error.code, error.problem, error.line) == ("audit_tampered", "seq_mismatch", 7)


def test_a_rewritten_log_is_caught_by_a_compact_anchor(
    tmp_path: Path, log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    anchor = verify_log(log_path, ed_key.public_key).anchor
    assert anchor is not None
    objects = _objects(log_path)
    objects[1]["data"]["centre"] = "FORGED"  # an insider with the key rewrites and re-seals
    _rechain(objects, 1)
    for index in (4, 8):
        data = objects[index]["data"]
        data["head"] = objects[index - 1]["hash"]
        data["sig"] = ed_key.sign(cbor2.dumps(
            ["cardlib audit checkpoint v1", data["count"], bytes.fromhex(data["head"]),
             objects[index]["at"]], canonical=True)).hex()
        _rechain(objects, index)
    _write(log_path, objects)
    verify_log(log_path, ed_key.public_key)  # sound on its own
    error = _tampered(log_path, ed_key.public_key, anchor=anchor)
    assert isinstance(error, AuditTruncatedError)
    assert (error.problem, error.line, error.first_suspect) == ("anchor_mismatch", 9, 1)


def test_read_log_checks_the_whole_chain_before_returning(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    report, entries = read_log(log_path, ed_key.public_key)
    assert report == verify_log(log_path, ed_key.public_key)
    assert entries == tuple(AuditEntry.from_line(line) for line in _lines(log_path))
    assert read_log(log_path)[1] == entries  # without keys: everything but the signatures
    original = _lines(log_path)
    log_path.write_bytes(b"".join(original[:3] + original[4:]))
    for trusted in (None, ed_key.public_key):
        with pytest.raises(AuditTamperedError) as info:
            read_log(log_path, trusted)
        assert (info.value.problem, info.value.line) == ("seq_mismatch", 4)
    log_path.write_bytes(b"".join(original[:5]))
    with pytest.raises(AuditTruncatedError):
        read_log(log_path, anchor=parse_anchor(f"9:{json.loads(original[8])['hash']}"))


def test_forged_checkpoint_signatures_are_detected(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    forger = cardlib.PrivateKey.generate()
    original = log_path.read_bytes()
    with AuditLog.open(log_path) as log:
        log.checkpoint(forger, now=_t(20))
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line, error.first_suspect) == ("key_unknown", 12, 10)

    # The forger claims the registry's kid: the signature does not verify.
    objects = [json.loads(line) for line in original.splitlines()]
    objects[4]["data"]["sig"] = forger.sign(b"anything").hex()
    _rechain(objects, 4)
    _write(log_path, objects)
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line, error.first_suspect) == ("signature_invalid", 5, 1)

    # A signature by the right key over another message (a replayed one) does not verify.
    objects = [json.loads(line) for line in original.splitlines()]
    objects[8]["data"]["sig"] = objects[4]["data"]["sig"]
    _rechain(objects, 8)
    _write(log_path, objects)
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line, error.first_suspect) == ("signature_invalid", 9, 6)


def test_a_revoked_key_no_longer_seals(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    revoked = dataclasses.replace(ed_key.public_key, revoked_at=_t(6))
    error = _tampered(log_path, revoked)
    assert (error.problem, error.line) == ("signature_invalid", 9)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"", "malformed"),
        (b"not json", "malformed"),
        (b"[]", "malformed"),
        (b'{"seq":1,"seq":1}', "malformed"),
        (b"\xff\xfe", "malformed"),
        (b"[" * 20000 + b"]" * 20000, "malformed"),
    ],
)
def test_malformed_lines(
    log_path: Path, ed_key: cardlib.PrivateKey, line: bytes, problem: str
) -> None:
    lines = _lines(log_path)
    lines.insert(3, line + b"\n")
    log_path.write_bytes(b"".join(lines))
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line) == (problem, 4)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("data", {"x": 1.5}),
        ("data", {"x": 2**63}),
        ("data", {"a": {"b": {"c": {"d": {}}}}}),
        ("at", "2026-01-10T09:03:00Z"),
        ("at", "2026-02-30T09:03:00.000000Z"),
        ("prev", "A" * 64),
        ("kind", "delete"),
        ("holder", None),
    ],
)
def test_malformed_fields(
    log_path: Path, ed_key: cardlib.PrivateKey, field: str, value: Any
) -> None:
    objects = _objects(log_path)
    objects[3][field] = value
    _write(log_path, objects)
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line) == ("malformed", 4)


def test_nan_is_refused(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    lines = _lines(log_path)
    lines[3] = lines[3].replace(b'"reason":"lost"', b'"reason":NaN')
    log_path.write_bytes(b"".join(lines))
    assert _tampered(log_path, ed_key.public_key).problem == "malformed"


def test_an_overlong_line_is_refused(log_path: Path, ed_key: cardlib.PrivateKey) -> None:
    lines = _lines(log_path)
    lines.insert(2, b"x" * (MAX_LINE_BYTES + 1) + b"\n")
    log_path.write_bytes(b"".join(lines))
    error = _tampered(log_path, ed_key.public_key)
    assert (error.problem, error.line) == ("line_too_long", 3)
    with AuditLog.open(log_path) as log:  # the writer's tail is still sound
        log.append("key", now=_t(30))


# --- crashes --------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 40, -1])
def test_a_torn_last_line_is_ignored_then_truncated(
    log_path: Path, ed_key: cardlib.PrivateKey, cut: int
) -> None:
    """A crash mid-write leaves part of a line (``cut=-1``: all of it but its ``\\n``)."""
    sound = log_path.read_bytes()
    with AuditLog.open(log_path) as log:
        line = log.append("key", now=_t(30), data={"event": "lost in the crash"}).to_line()
    torn = line[:cut]
    log_path.write_bytes(sound + torn)

    report = verify_log(log_path, ed_key.public_key)
    assert (report.entries, report.torn_tail_bytes) == (11, len(torn))
    with AuditLog.open(log_path) as log:
        entry = log.append("key", now=_t(31), data={"event": "after the crash"})
    assert entry.seq == 12
    assert log_path.read_bytes() == sound + entry.to_line()
    report = verify_log(log_path, ed_key.public_key)
    assert (report.entries, report.torn_tail_bytes) == (12, 0)


def test_a_torn_first_line_is_dropped(tmp_path: Path, ed_key: cardlib.PrivateKey) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"at":"2026')
    assert verify_log(path, ed_key.public_key).torn_tail_bytes == 11
    with AuditLog.open(path) as log:
        assert log.append("key", now=_t(0)).seq == 1
    assert verify_log(path, ed_key.public_key).entries == 1


def test_the_writer_refuses_a_damaged_tail(log_path: Path) -> None:
    lines = _lines(log_path)
    lines[-1] = lines[-1].replace(b"retired", b"revived")
    log_path.write_bytes(b"".join(lines))
    before = log_path.read_bytes()
    with AuditLog.open(log_path) as log, pytest.raises(AuditTamperedError) as info:
        log.append("key", now=_t(30))
    assert info.value.problem == "hash_mismatch"
    assert log_path.read_bytes() == before


def test_the_writer_reads_a_long_tail(tmp_path: Path, ed_key: cardlib.PrivateKey) -> None:
    path = tmp_path / "audit.jsonl"
    big = {"blob": "x" * (MAX_DATA_BYTES - 20)}
    with AuditLog.open(path) as log:
        for minute in range(3):
            log.append("key", now=_t(minute), data=big)
        path.write_bytes(path.read_bytes() + b"y" * 9000)  # torn tail longer than one read
        assert log.append("key", now=_t(5), data=big).seq == 4
    assert verify_log(path, ed_key.public_key).entries == 4


# --- the holder view ------------------------------------------------------------------------


def test_a_holder_sees_exactly_their_events(log_path: Path) -> None:
    for document in ("LY1000001", "LY1000003", "LY1000005"):
        events = events_for(log_path, holder=ALICE, document_number=document)
        assert [e.seq for e in events] == [2, 4, 6, 10]
        assert {e.holder for e in events} == {ALICE}
    events = events_for(log_path, holder=BOB, document_number="LY1000004")
    assert [(e.seq, e.kind) for e in events] == [(3, "issue"), (7, "correction"), (8, "revocation")]


def test_the_holder_view_needs_one_of_their_own_document_numbers(log_path: Path) -> None:
    with pytest.raises(AuditAccessError) as wrong:
        events_for(log_path, holder=ALICE, document_number="LY1000002")  # Bob's card
    with pytest.raises(AuditAccessError) as unknown:
        events_for(log_path, holder="119900099999", document_number="LY1000001")
    assert wrong.value.message == unknown.value.message  # nothing told apart
    assert wrong.value.code == "audit_access_denied"
    assert isinstance(wrong.value, LookupError)
    with pytest.raises(AuditInputError):
        events_for(log_path, holder=ALICE, document_number="")


def test_the_holder_view_refuses_a_tampered_log(
    log_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    objects = _objects(log_path)
    objects[9]["document_number"] = "LY7777777"
    _write(log_path, objects)
    with pytest.raises(AuditTamperedError):
        events_for(log_path, holder=ALICE, document_number="LY1000001")
    forger = cardlib.PrivateKey.generate()
    _build(log_path.with_name("other.jsonl"), forger)
    other = log_path.with_name("other.jsonl")
    assert len(events_for(other, holder=BOB, document_number="LY1000002")) == 3
    with pytest.raises(AuditTamperedError):
        events_for(other, holder=BOB, document_number="LY1000002", trusted=ed_key.public_key)


# --- input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "checkpoint"},
        {"kind": "delete"},
        {"kind": "issue"},  # no holder
        {"kind": "issue", "holder": ALICE},  # no document number
        {"kind": "key", "holder": ALICE},
        {"kind": "revocation", "holder": "bad holder", "document_number": "LY1"},
        {"kind": "key", "data": {"x": 0.5}},
        {"kind": "key", "data": {"x": 2**64}},
        {"kind": "key", "data": {1: "x"}},
        {"kind": "key", "data": {"x": b"bytes"}},
        {"kind": "key", "data": {"x": "\ud800"}},
        {"kind": "key", "data": {"a": [[[[1]]]]}},
        {"kind": "key", "data": {"x": "y" * MAX_DATA_BYTES}},
        {"kind": "key", "data": ["not", "an", "object"]},
        {"kind": "key", "now": datetime(2026, 1, 10, 9, 0)},  # naive
    ],
)
def test_bad_input_is_refused(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    path = tmp_path / "audit.jsonl"
    arguments: dict[str, Any] = {"now": T0, **kwargs}
    kind = arguments.pop("kind")
    with AuditLog.open(path) as log, pytest.raises(AuditInputError):
        log.append(kind, **arguments)
    assert path.read_bytes() == b""


def test_a_closed_log_refuses_writes(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "audit.jsonl")
    log.close()
    log.close()
    with pytest.raises(AuditInputError):
        log.append("key", now=T0)


def test_a_non_signer_is_refused(tmp_path: Path, ed_key: cardlib.PrivateKey) -> None:
    with AuditLog.open(tmp_path / "audit.jsonl") as log, pytest.raises(AuditInputError):
        log.checkpoint(ed_key.public_key, now=T0)  # type: ignore[arg-type]


def test_errors_have_stable_codes() -> None:
    codes = {
        AuditError: "audit_error",
        AuditInputError: "audit_input_invalid",
        AuditUnavailableError: "audit_unavailable",
        AuditBusyError: "audit_busy",
        AuditTamperedError: "audit_tampered",
        AuditTruncatedError: "audit_truncated",
        AuditAccessError: "audit_access_denied",
    }
    cls: type[AuditError]
    for cls, code in codes.items():
        assert cls.code == code and issubclass(cls, CardError)
    assert issubclass(AuditTamperedError, VerificationError)
    assert issubclass(AuditTruncatedError, AuditTamperedError)  # one except clause catches both
    assert AuditTruncatedError.category == AuditTamperedError.category == "invalid"
    assert set(PROBLEMS) >= {"hash_mismatch", "broken_link", "seq_mismatch",
                             "signature_invalid", "truncated"}
    for name in _log.__all__:
        assert hasattr(_log, name), name


# --- writers --------------------------------------------------------------------------------

_WRITER = """
import sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from cardlib.audit._log import AuditLog

path, writer, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
start = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
Path(f"{go}.{writer}").touch()  # imported and ready
while not go.exists():
    time.sleep(0.001)
with AuditLog.open(path) as log:
    for i in range(count):
        log.append("issue", now=start + timedelta(seconds=i), holder=f"W{writer}",
                   document_number=f"DOC{writer}{i:05d}", data={"writer": writer, "i": i})
"""


def test_two_processes_append_one_sound_chain(
    tmp_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    path, go, count = tmp_path / "audit.jsonl", tmp_path / "go", 150
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, str(count), str(go)],
                         cwd=ROOT)
        for name in ("A", "B")
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.{name}").exists() for name in ("A", "B")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in writers)
        time.sleep(0.001)
    go.touch()
    for process in writers:
        assert process.wait(timeout=120) == 0
    report = verify_log(path, ed_key.public_key)
    assert report.entries == 2 * count
    objects = _objects(path)
    for name in ("A", "B"):
        mine = [obj["data"]["i"] for obj in objects if obj["data"]["writer"] == name]
        assert mine == list(range(count))
    writer_of = [obj["data"]["writer"] for obj in objects]
    assert any(a != b for a, b in itertools.pairwise(writer_of))  # they did race
    events = events_for(path, holder="WA", document_number="DOCA00007")
    assert len(events) == count


def test_threads_share_one_log_and_open_their_own(
    tmp_path: Path, ed_key: cardlib.PrivateKey
) -> None:
    path = tmp_path / "audit.jsonl"
    shared = AuditLog.open(path)

    def work(own: bool, name: str) -> None:
        log = AuditLog.open(path) if own else shared
        for i in range(40):
            log.append("key", now=_t(i), data={"t": name, "i": i})
            if i % 10 == 0:
                log.checkpoint(ed_key, now=_t(i))
        if own:
            log.close()

    threads = [threading.Thread(target=work, args=(n % 2 == 0, str(n))) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shared.close()
    report = verify_log(path, ed_key.public_key)
    assert (report.entries, report.checkpoints) == (4 * 44, 16)


def test_a_held_lock_times_out(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(path, lock_timeout=0.05) as log, open(path, "rb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        with pytest.raises(AuditBusyError):
            log.append("key", now=T0)
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        assert log.append("key", now=T0).seq == 1
