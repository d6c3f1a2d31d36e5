"""Batch issuance with the issuance registry: every card recorded once, refusals as row errors,
and a SIGKILL anywhere (also between the registry insert and the manifest line) loses, doubles
or half-writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep
from typing import Any

import pytest

import cardlib
from cardlib._batch import REGISTRY_CONFLICT, run_batch
from cardlib.codec._base45 import b45decode
from cardlib.store._registry import IssuedCard, open_registry

from .conftest import ISSUED, ROOT
from .test_batch import CARD_FILES, check_card, issued_documents, jsonl, manifest, variant

ROWS = {f"LY{i:07d}": variant(i) for i in range(1, 4)}


@pytest.fixture
def key() -> cardlib.PrivateKey:
    return cardlib.PrivateKey.generate()


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def payload_hash(out: Path, document: str) -> bytes:
    """What the registry records: SHA-256 of the Base45-decoded payload.txt."""
    payload = (out / "cards" / document / "payload.txt").read_text("ascii")
    assert payload.endswith("\n")
    return hashlib.sha256(b45decode(payload.removesuffix("\n"))).digest()


def other_card(document: str, holder: str) -> IssuedCard:
    return IssuedCard(document_number=document, holder_identifier=holder, centre_code="TRP-01",
                      kid=b"other", issued_at=ISSUED - timedelta(days=1),
                      expires_at=ISSUED + timedelta(days=365), payload_sha256=bytes(32))


def count_rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    assert isinstance(count, int)
    return count


# --- the common path ----------------------------------------------------------------------------


def test_every_card_is_recorded_and_a_rerun_records_nothing(tmp_path: Path,
                                                            key: cardlib.PrivateKey) -> None:
    source, out, db = jsonl(*ROWS.values()).encode(), tmp_path / "out", tmp_path / "r.db"
    with open_registry(url(db), create=True) as registry:
        summary = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                            registry=registry)
        assert (summary.issued, summary.errors) == (3, ())
        for document, data in ROWS.items():
            card = registry.get(document)
            assert card.holder_identifier == data["national_number"]
            assert (card.centre_code, card.kid, card.kind, card.status) == (
                data["centre_code"], key.kid, "issue", "active")
            assert card.payload_sha256 == payload_hash(out, document)
            assert card.issued_at == ISSUED
            expiry = date.fromisoformat(data["expiry_date"])  # valid through that whole day
            assert card.expires_at == datetime.combine(expiry + timedelta(days=1), time(),
                                                       tzinfo=UTC)
        again = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                          registry=registry)
        assert (again.issued, again.skipped, again.errors) == (0, 3, ())
        for data in ROWS.values():
            assert len(registry.history(data["national_number"])) == 1
    assert count_rows(db, "cards") == count_rows(db, "events") == 3


def test_registry_refusals_are_row_errors_and_the_other_rows_are_issued(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    source, out = jsonl(*ROWS.values()).encode(), tmp_path / "out"
    with open_registry(url(tmp_path / "r.db"), create=True) as registry:
        registry.record_issue(other_card("LY9999999", ROWS["LY0000002"]["national_number"]))
        registry.record_issue(other_card("LY0000003", "119850000099"))  # another holder
        summary = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                            registry=registry)
        assert [(e.line, e.code) for e in summary.errors] == [
            (2, "holder_has_active_card"), (3, "document_number_reused")]
        assert "LY9999999" in summary.errors[0].message
        assert issued_documents(out) == ["LY0000001"]
        assert [p.name for p in (out / "cards").iterdir()] == ["LY0000001"]  # nothing written
        assert registry.get("LY0000003").holder_identifier == "119850000099"
        # Once the holder's other card is revoked, the re-run issues row 2.
        registry.revoke("LY9999999", "lost", now=ISSUED)
        rerun = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                          registry=registry)
        assert (rerun.issued, rerun.skipped, [e.code for e in rerun.errors]) == (
            1, 1, ["document_number_reused"])
        assert registry.get("LY0000002").payload_sha256 == payload_hash(out, "LY0000002")


def test_a_refusal_by_record_issue_removes_the_cards_files(
        tmp_path: Path, key: cardlib.PrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """A racing writer gives the holder a card between the check and the insert."""
    out = tmp_path / "out"
    with open_registry(url(tmp_path / "r.db"), create=True) as registry:
        real = registry.record_issue

        def racing(card: IssuedCard, **kw: Any) -> IssuedCard:
            if card.document_number == "LY0000002":
                assert (out / "cards" / "LY0000002" / "front.png").is_file()  # files first
                real(other_card("LY8888888", card.holder_identifier))
            return real(card, **kw)

        monkeypatch.setattr(registry, "record_issue", racing)
        summary = run_batch(jsonl(*ROWS.values()).encode(), out, key, fmt="jsonl", now=ISSUED,
                            registry=registry)
        assert [(e.line, e.code) for e in summary.errors] == [(2, "holder_has_active_card")]
        assert sorted(p.name for p in (out / "cards").iterdir()) == ["LY0000001", "LY0000003"]
        assert [e["status"] for e in manifest(out)] == ["issued", "error", "issued"]
        assert registry.get("LY8888888").status == "active"


# --- a card in the registry but not in the manifest ---------------------------------------------


def drop_manifest_line(out: Path, document: str) -> None:
    """The state a crash between the registry insert and the manifest line leaves."""
    lines = (out / "manifest.jsonl").read_bytes().splitlines(keepends=True)
    (out / "manifest.jsonl").write_bytes(b"".join(
        line for line in lines if json.loads(line).get("document_number") != document))


def test_a_recorded_card_without_its_manifest_line_is_finished_not_reissued(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    source, out = jsonl(*ROWS.values()).encode(), tmp_path / "out"
    with open_registry(url(tmp_path / "r.db"), create=True) as registry:
        run_batch(source, out, key, fmt="jsonl", now=ISSUED, registry=registry)
        card = out / "cards" / "LY0000002"
        payload = (card / "payload.txt").read_bytes()
        drop_manifest_line(out, "LY0000002")
        (card / "back.png").unlink()  # a lost image is drawn again from the recorded payload
        (card / ".front.png.0123456789ab.tmp").write_bytes(b"\x89PNG half")
        summary = run_batch(source, out, key, fmt="jsonl", now=ISSUED + timedelta(hours=1),
                            registry=registry)
        assert (summary.issued, summary.skipped, summary.errors) == (1, 2, ())
        assert (card / "payload.txt").read_bytes() == payload
        assert {p.name for p in card.iterdir()} == CARD_FILES
        check_card(out, "LY0000002", key, ROWS["LY0000002"])
        assert registry.get("LY0000002").payload_sha256 == payload_hash(out, "LY0000002")
        assert Counter(issued_documents(out)) == dict.fromkeys(ROWS, 1)
    assert count_rows(tmp_path / "r.db", "cards") == 3


def test_a_recorded_number_with_missing_or_other_files_is_a_registry_conflict(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    source, out = jsonl(*ROWS.values()).encode(), tmp_path / "out"
    with open_registry(url(tmp_path / "r.db"), create=True) as registry:
        run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False, registry=registry)
        recorded = {d: registry.get(d) for d in ROWS}
        # Row 1: its card files are gone; row 2: its payload.txt is another (valid) card.
        drop_manifest_line(out, "LY0000001")
        drop_manifest_line(out, "LY0000002")
        (out / "cards" / "LY0000001" / "payload.txt").unlink()
        other = cardlib.issue(cardlib.record_from_json(ROWS["LY0000002"]), key,
                              now=ISSUED + timedelta(hours=1))
        (out / "cards" / "LY0000002" / "payload.txt").write_text(other + "\n", "ascii")
        summary = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                            registry=registry)
        assert [(e.line, e.code) for e in summary.errors] == [(1, REGISTRY_CONFLICT),
                                                              (2, REGISTRY_CONFLICT)]
        assert "never issued twice" in summary.errors[0].message
        assert (out / "cards" / "LY0000002" / "payload.txt").read_text("ascii") == other + "\n"
        # The same numbers in another output directory: recorded, so never issued again there.
        elsewhere = run_batch(source, tmp_path / "b", key, fmt="jsonl", now=ISSUED,
                              render=False, registry=registry)
        assert [e.code for e in elsewhere.errors] == [REGISTRY_CONFLICT] * 3
        assert list((tmp_path / "b" / "cards").iterdir()) == []
        assert {d: registry.get(d) for d in ROWS} == recorded


# --- SIGKILL ------------------------------------------------------------------------------------

# The child runs a batch with a registry. KILL_AT = K: SIGKILL itself just before its K-th fsync
# or rename (as in test_batch.py); KILL_AFTER_RECORD = N: SIGKILL right after the N-th card is
# committed to the registry, i.e. exactly between the registry insert and the manifest line.
CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic, sleep
import cardlib
from cardlib._batch import run_batch
from cardlib.store._registry import open_registry
pem, source, out, url, kill_at, kill_after_record = sys.argv[1:]
events = records = 0
def hook(real):
    def call(*args):
        global events
        events += 1
        if events == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)
    return call
os.fsync, os.replace = hook(os.fsync), hook(os.replace)
key = cardlib.PrivateKey.from_pem(Path(pem).read_bytes())
with open_registry(url) as registry:
    real_record = registry.record_issue
    def record_issue(card, **kw):
        global records
        result = real_record(card, **kw)
        records += 1
        if records == int(kill_after_record):
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    registry.record_issue = record_issue
    run_batch(Path(source), Path(out), key, fmt="jsonl", registry=registry,
              now=datetime(2026, 1, 10, 9, tzinfo=UTC))
"""


class Batch:
    """One output directory, its input of ``rows`` records and its SQLite registry."""

    def __init__(self, tmp: Path, key: cardlib.PrivateKey, rows: int) -> None:
        tmp.mkdir(exist_ok=True)
        self.key, self.tmp = key, tmp
        self.records = {f"LY{i:07d}": variant(i) for i in range(1, rows + 1)}
        self.source, self.out, self.db = tmp / "in.jsonl", tmp / "out", tmp / "r.db"
        self.source.write_text(jsonl(*self.records.values()), "utf-8")
        (tmp / "key.pem").write_bytes(key.to_pem())
        open_registry(url(self.db), create=True).close()  # cardlib registry init

    def start(self, *, kill_at: int = 0, kill_after_record: int = 0) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", CHILD, str(self.tmp / "key.pem"),
                                 str(self.source), str(self.out), url(self.db), str(kill_at),
                                 str(kill_after_record)], cwd=ROOT)

    def recorded(self) -> set[str]:
        with sqlite3.connect(self.db) as conn:
            return {row[0] for row in conn.execute("SELECT document_number FROM cards")}

    def check_crashed(self) -> list[str]:
        """After a kill: finished cards are whole; every recorded card's files are whole, with
        the recorded payload; the registry holds every finished card."""
        done = issued_documents(self.out)
        assert len(done) == len(set(done))
        recorded = self.recorded()
        assert set(done) <= recorded
        assert len(recorded - set(done)) <= 1  # at most the card the kill interrupted
        with open_registry(url(self.db)) as registry:
            for document in recorded:
                check_card(self.out, document, self.key, self.records[document])
                assert registry.get(document).payload_sha256 == payload_hash(self.out, document)
        return done

    def finish(self) -> None:
        """Re-run to completion; then every row is issued exactly once, everywhere."""
        with open_registry(url(self.db)) as registry:
            summary = run_batch(self.source, self.out, self.key, fmt="jsonl", now=ISSUED,
                                registry=registry)
            assert (summary.total, summary.errors) == (len(self.records), ())
            lines = manifest(self.out)
            assert all(e["status"] == "issued" for e in lines)
            assert Counter(e["document_number"] for e in lines) == dict.fromkeys(self.records, 1)
            assert len({e["key"] for e in lines}) == len(self.records)
            for entry in lines:
                document = entry["document_number"]
                card = self.out / "cards" / document
                assert {p.name for p in card.iterdir()} == CARD_FILES  # no temporaries either
                check_card(self.out, document, self.key, self.records[document])
                assert entry["payload_sha256"] == hashlib.sha256(
                    (card / "payload.txt").read_bytes().strip()).hexdigest()
                recorded = registry.get(document)
                assert recorded.payload_sha256 == payload_hash(self.out, document)
                holder = self.records[document]["national_number"]
                assert recorded.holder_identifier == holder and recorded.status == "active"
                assert [e.document_number for e in registry.history(holder)] == [document]
        assert count_rows(self.db, "cards") == count_rows(self.db, "events") == len(self.records)
        assert not any(p.name.endswith(".tmp") for p in self.out.rglob(".*"))


def test_sigkill_between_registry_and_manifest_then_mid_batch_then_resume(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    batch = Batch(tmp_path, key, rows=30)
    # 1. Killed right after card 4 is committed to the registry, before its manifest line.
    child = batch.start(kill_after_record=4)
    assert child.wait(60) == -signal.SIGKILL
    assert batch.check_crashed() == ["LY0000001", "LY0000002", "LY0000003"]
    assert batch.recorded() == {"LY0000001", "LY0000002", "LY0000003", "LY0000004"}
    fourth = (batch.out / "cards" / "LY0000004" / "payload.txt").read_bytes()
    # 2. The resumed batch is killed at a random point after a few more cards.
    child = batch.start()
    try:
        deadline = monotonic() + 60
        while monotonic() < deadline and child.poll() is None:
            if (batch.out / "manifest.jsonl").read_bytes().count(b'"issued"') >= 10:
                break
            sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL, "the batch ended before it was killed"
    done = batch.check_crashed()
    assert 10 <= len(done) < 30 and done[3] == "LY0000004"  # finished from the registry
    # 3. The last run completes it; card 4 is the one the first child signed.
    batch.finish()
    assert (batch.out / "cards" / "LY0000004" / "payload.txt").read_bytes() == fourth
    # Every card's holder has a code in its manifest line; card 4's, set with the card, was
    # lost with the kill, so finishing it from the registry gave its holder a new one.
    codes = {e["document_number"]: e["access_code"] for e in manifest(batch.out)}
    assert len(set(codes.values())) == 30
    with open_registry(url(batch.db)) as registry:
        for document in ("LY0000004", "LY0000005"):
            holder = batch.records[document]["national_number"]
            assert registry.check_access_code(holder, codes[document]), document


# Events of the second card (as in test_batch.py): 12 fsync(cards dir), 13-18 fsync + rename of
# payload.txt, front.png and back.png, 19 fsync(card dir) (then the registry insert), 20 fsync of
# the manifest line (already written, so the card is finished).
def test_sigkill_at_every_step_of_a_recorded_card(tmp_path: Path,
                                                  key: cardlib.PrivateKey) -> None:
    runs: list[tuple[str, Batch, subprocess.Popen[bytes]]] = []
    for kill_at in range(12, 21):
        batch = Batch(tmp_path / str(kill_at), key, rows=3)
        runs.append((f"event {kill_at}", batch, batch.start(kill_at=kill_at)))
    batch = Batch(tmp_path / "record", key, rows=3)
    runs.append(("after record_issue", batch, batch.start(kill_after_record=2)))
    for name, batch, child in runs:
        assert child.wait(60) == -signal.SIGKILL, name
        done = batch.check_crashed()
        finished = name == "event 20"
        assert done == ["LY0000001", "LY0000002"][:2 if finished else 1], name
        in_registry = finished or name == "after record_issue"
        assert batch.recorded() == set(ROWS) - {"LY0000003"} - (
            set() if in_registry else {"LY0000002"}), name
        batch.finish()



def test_an_encrypted_batch_is_recorded_and_resumed_with_its_key(tmp_path: Path,
                                                                key: cardlib.PrivateKey) -> None:
    """``encrypt_key``: every card is a COSE_Encrypt0 that verifies with the key (and not
    without it); a re-run that lost its manifest finds each card in the registry and, reading
    the encrypted payload on disk with the key, finishes it without issuing it again."""
    sealing = cardlib.SymmetricKey.generate()
    source, out = jsonl(*ROWS.values()).encode(), tmp_path / "out"
    with open_registry(url(tmp_path / "r.db"), create=True) as registry:
        summary = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                            registry=registry, encrypt_key=sealing)
        assert (summary.issued, summary.errors) == (3, ())
        for document, data in ROWS.items():
            payload = (out / "cards" / document / "payload.txt").read_text("ascii").strip()
            assert b45decode(payload)[:1] != b"\xd2"  # not a bare COSE_Sign1
            card = cardlib.verify(payload, key.public_key, now=ISSUED,
                                  decryption_keys=[sealing])
            assert card.record is not None and card.record.document_number == document
            assert card.encryption is not None
            with pytest.raises(cardlib.DecryptionKeyMissingError):
                cardlib.verify(payload, key.public_key, now=ISSUED)
            assert registry.get(document).payload_sha256 == payload_hash(out, document)
            assert data["document_number"] == document
        before = {d: (out / "cards" / d / "payload.txt").read_bytes() for d in ROWS}
        (out / "manifest.jsonl").unlink()
        again = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                          registry=registry, encrypt_key=sealing)
        # finished from the registry (counted as issued by this run), not signed again: without
        # the key the payloads on disk could not be read, and each would be a conflict
        assert (again.issued, again.errors) == (3, ())
        assert {d: (out / "cards" / d / "payload.txt").read_bytes() for d in ROWS} == before
        for data in ROWS.values():
            assert len(registry.history(data["national_number"])) == 1
        (out / "manifest.jsonl").unlink()  # and again, with another key: unreadable payloads
        lost = run_batch(source, out, key, fmt="jsonl", now=ISSUED, render=False,
                         registry=registry, encrypt_key=cardlib.SymmetricKey.generate())
        assert [e.code for e in lost.errors] == [REGISTRY_CONFLICT] * 3  # never issued twice
        assert {d: (out / "cards" / d / "payload.txt").read_bytes() for d in ROWS} == before
