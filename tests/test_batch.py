"""Batch issuance: CSV and JSON Lines in, card directories and a manifest out; bad rows, re-runs,
duplicates, a torn manifest and a SIGKILL in the middle of a batch."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import cardlib
from cardlib._batch import (
    DUPLICATE_DOCUMENT,
    MAX_LINE_BYTES,
    BatchBusyError,
    BatchInputError,
    BatchSummary,
    RowError,
    run_batch,
)

from .conftest import CHECKED, EXAMPLE, ISSUED, ROOT

NAME_PARTS = ("first", "father", "grandfather", "family")
CARD_FILES = {"payload.txt", "front.png", "back.png"}


def variant(index: int, **changes: Any) -> dict[str, Any]:
    """The example holder with its own document number and national number (male, 1985)."""
    data: dict[str, Any] = json.loads(EXAMPLE.read_text("utf-8"))
    data["document_number"] = f"LY{index:07d}"
    data["national_number"] = f"11985{index:07d}"
    data.update(changes)
    return data


def jsonl(*records: dict[str, Any] | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                   for r in records)


def csv_text(*records: dict[str, Any], extra: list[str] | None = None) -> str:
    columns = [c for c in variant(0) if c not in ("name_ar", "name_latin")] + ["admin_number"]
    columns += [f"{n}.{p}" for n in ("name_ar", "name_latin") for p in NAME_PARTS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        flat = {k: v for k, v in record.items() if k not in ("name_ar", "name_latin")}
        for name in ("name_ar", "name_latin"):
            flat.update({f"{name}.{p}": v for p, v in record[name].items()})
        writer.writerow([flat.get(c, "") for c in columns])
    for line in extra or []:
        out.write(line + "\r\n")
    return out.getvalue()


def manifest(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text("ascii").splitlines()]


def issued_documents(out: Path) -> list[str]:
    return [e["document_number"] for e in manifest(out) if e["status"] == "issued"]


def check_card(out: Path, document: str, key: cardlib.PrivateKey, expected: dict[str, Any] | None,
               *, images: bool = True) -> None:
    """The card's files are complete, its payload verifies, and it shows ``expected``."""
    card = out / "cards" / document
    payload = (card / "payload.txt").read_text("ascii")
    assert payload.endswith("\n")
    verified = cardlib.verify(payload.strip(), key.public_key, now=CHECKED)
    assert verified.record is not None and verified.record.document_number == document
    if expected is not None:
        assert verified.record == cardlib.record_from_json(expected)
    if images:
        for side in ("front.png", "back.png"):
            with Image.open(card / side) as image:
                image.load()  # decodes every row: a truncated file fails here
                assert image.format == "PNG" and image.size == (1011, 638)


@pytest.fixture
def key() -> cardlib.PrivateKey:
    return cardlib.PrivateKey.generate()


# --- the common path ----------------------------------------------------------------------------


def test_jsonl_batch_issues_verifiable_cards(tmp_path: Path, key: cardlib.PrivateKey) -> None:
    records = [variant(i) for i in (1, 2, 3)]
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(*records), "utf-8")
    calls: list[tuple[int, int]] = []
    summary = run_batch(source, tmp_path / "out", key, fmt="jsonl", now=ISSUED,
                        progress=lambda done, total: calls.append((done, total)))
    assert isinstance(summary, BatchSummary)
    assert (summary.total, summary.issued, summary.skipped, summary.errors) == (3, 3, 0, ())
    assert summary.elapsed > 0
    assert calls == [(1, 3), (2, 3), (3, 3)]
    out = tmp_path / "out"
    for record in records:
        check_card(out, record["document_number"], key, record)
        assert {p.name for p in (out / "cards" / record["document_number"]).iterdir()} == (
            CARD_FILES)
    lines = manifest(out)
    assert [(e["line"], e["status"], e["document_number"]) for e in lines] == [
        (1, "issued", "LY0000001"), (2, "issued", "LY0000002"), (3, "issued", "LY0000003")]
    raw = source.read_bytes().splitlines()
    for entry, row in zip(lines, raw, strict=True):
        assert entry["key"] == hashlib.sha256(row).hexdigest()
        payload = (out / "cards" / entry["document_number"] / "payload.txt").read_bytes()
        assert entry["payload_sha256"] == hashlib.sha256(payload.strip()).hexdigest()


def test_csv_batch_with_nested_name_columns_and_empty_cells(tmp_path: Path,
                                                            key: cardlib.PrivateKey) -> None:
    records = [variant(1), variant(2, phone=""), variant(3, category="resident",
                                                         national_number="", admin_number="A12345",
                                                         nationality="EGY")]
    source = tmp_path / "in.csv"
    source.write_text(csv_text(*records), "utf-8")
    summary = run_batch(source, tmp_path / "out", key, fmt="csv", now=ISSUED)
    assert (summary.total, summary.issued, summary.errors) == (3, 3, ())
    for record in records:  # an empty cell is an absent member, like "" in the JSON
        check_card(tmp_path / "out", record["document_number"], key,
                   {k: v for k, v in record.items() if v != ""})
    assert [e["line"] for e in manifest(tmp_path / "out")] == [2, 3, 4]


def test_sources_as_bytes_with_a_bom_and_as_lines(tmp_path: Path, key: cardlib.PrivateKey) -> None:
    data = b"\xef\xbb\xbf" + csv_text(variant(1)).encode("utf-8")
    summary = run_batch(data, tmp_path / "a", key, fmt="csv", now=ISSUED, render=False)
    assert (summary.issued, summary.errors) == (1, ())
    lines = jsonl(variant(1), variant(2)).splitlines()
    summary = run_batch(lines, tmp_path / "b", key, fmt="jsonl", now=ISSUED, render=False)
    assert (summary.issued, summary.errors) == (2, ())
    with pytest.raises(TypeError, match="Path"):
        run_batch(jsonl(variant(1)), tmp_path / "c", key, fmt="jsonl", now=ISSUED)


def test_without_rendering_only_the_payload_is_written(tmp_path: Path,
                                                       key: cardlib.PrivateKey) -> None:
    run_batch([jsonl(variant(1))], tmp_path, key, fmt="jsonl", now=ISSUED, render=False)
    check_card(tmp_path, "LY0000001", key, variant(1), images=False)
    assert [p.name for p in (tmp_path / "cards" / "LY0000001").iterdir()] == ["payload.txt"]
    assert manifest(tmp_path)[0]["files"] == ["payload.txt"]


# --- bad rows -----------------------------------------------------------------------------------


def test_bad_jsonl_rows_are_reported_by_line_and_the_rest_are_issued(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    text = jsonl(variant(1), variant(2, sex="robot"), '{"category": "citizen", broken', "",
                 variant(4, colour="blue"), variant(5, sex="female"), variant(6))
    summary = run_batch(text.encode("utf-8") + b"\xff\xfe\n", tmp_path, key, fmt="jsonl",
                        now=ISSUED, render=False)
    assert summary.total == 7 and summary.issued == 2  # the blank line 4 is not a row
    assert [(e.line, e.code) for e in summary.errors] == [
        (2, "record_invalid"), (3, "record_invalid"), (5, "record_invalid"),
        (6, "record_invalid"), (8, "record_invalid")]
    assert all(isinstance(e, RowError) and e.message for e in summary.errors)
    problems = {e["line"]: [(p["path"], p["code"]) for p in e["problems"]]
                for e in manifest(tmp_path) if e["status"] == "error"}
    assert problems == {2: [("sex", "enum")], 3: [("$", "json")],
                        5: [("colour", "unknown_field")],
                        6: [("national_number", "sex_mismatch")], 8: [("$", "encoding")]}
    assert issued_documents(tmp_path) == ["LY0000001", "LY0000006"]


def test_bad_csv_rows_are_reported_by_line(tmp_path: Path, key: cardlib.PrivateKey) -> None:
    good = csv_text(variant(1), variant(2, date_of_birth="1985-02-30"), variant(3))
    short = csv_text(variant(5)).split("\r\n")[1].rsplit(",", 1)[0]  # one cell too few
    bad = (good + "x," * 40 + "x\r\n" + ",,,\r\n" + short + "\r\n"
           + csv_text(variant(4)).split("\r\n", 1)[1]).encode("utf-8")
    bad += csv_text(variant(6)).split("\r\n")[1].encode("utf-8").replace(b"LY", b"L\xffY")
    summary = run_batch(bad, tmp_path, key, fmt="csv", now=ISSUED, render=False)
    assert [(e.line, e.code) for e in summary.errors] == [
        (3, "record_invalid"), (5, "record_invalid"), (7, "record_invalid"),
        (9, "record_invalid")]
    problems = [[(p["path"], p["code"]) for p in e["problems"]]
                for e in manifest(tmp_path) if e["status"] == "error"]
    assert problems == [[("date_of_birth", "date")], [("$", "columns")], [("$", "columns")],
                        [("$", "encoding")]]
    assert "41 cells but the header has" in manifest(tmp_path)[3]["problems"][0]["message"]
    assert issued_documents(tmp_path) == ["LY0000001", "LY0000003", "LY0000004"]
    assert summary.total == 7  # the empty row of commas is a blank line, not a row


def hidden_row_csv() -> bytes:
    """The reviewer's reproducer: one row whose quoted address cell is longer than the csv
    module's field limit and holds, on a line of its own, a complete valid row."""
    header, hidden = csv_text(variant(9999)).split("\r\n")[:2]
    row = csv_text(variant(1, address="ADDRESS")).split("\r\n")[1]
    cell = '"' + "X" * 140_000 + "\n" + hidden + '\nend"'
    assert row.count(",ADDRESS,") == 1
    return (header + "\r\n" + row.replace(",ADDRESS,", f",{cell},") + "\r\n").encode("utf-8")


def test_a_row_hidden_in_an_oversized_csv_cell_is_never_issued(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    limit = csv.field_size_limit()
    data = hidden_row_csv()
    assert len(data) < MAX_LINE_BYTES and 140_000 > limit  # only the cell limit is crossed
    with pytest.raises(BatchInputError, match=r"at line 2: field larger than field limit") as (
            caught):
        run_batch(data, tmp_path, key, fmt="csv", now=ISSUED, render=False)
    assert caught.value.code == "batch_input_invalid"
    assert (tmp_path / "manifest.jsonl").read_bytes() == b""
    assert list((tmp_path / "cards").iterdir()) == []
    assert csv.field_size_limit() == limit  # the process-global limit is left alone
    # The same from a file and from lines of text.
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    with pytest.raises(BatchInputError, match="at line 2: field larger"):
        run_batch(source, tmp_path, key, fmt="csv", now=ISSUED, render=False)
    with pytest.raises(BatchInputError, match="at line 2: field larger"):
        run_batch(data.decode().splitlines(), tmp_path, key, fmt="csv", now=ISSUED, render=False)
    assert list((tmp_path / "cards").iterdir()) == []


@pytest.mark.parametrize(("row", "where", "message"), [
    ('"a"b,c', "line 3", "',' expected after '\"'"),  # a misplaced quote
    ("a\rb,c", "line 3", "new-line character seen in unquoted field"),
    ('"line one\r\nline two"x,c', "the row starting on line 3 (at line 4)", "expected after"),
    ('"never closed,c', "the row starting on line 3 (at line 4)", "unexpected end of data"),
])
def test_broken_csv_stops_the_batch_before_any_card(
        tmp_path: Path, key: cardlib.PrivateKey, row: str, where: str, message: str) -> None:
    # The broken row comes after a good one and before another: neither is issued.
    good = csv_text(variant(1), variant(2))
    head, first, second, _ = good.split("\r\n")
    data = "\r\n".join((head, first, row, second, "")).encode("utf-8")
    with pytest.raises(BatchInputError, match=f"at {re.escape(where)}: .*{re.escape(message)}"
                       ) as caught:
        run_batch(data, tmp_path, key, fmt="csv", now=ISSUED, render=False)
    assert caught.value.code == "batch_input_invalid"
    assert (tmp_path / "manifest.jsonl").read_bytes() == b""
    assert list((tmp_path / "cards").iterdir()) == []


@pytest.mark.parametrize(("header", "message"), [
    ("category,nme", "not a record field"),
    ("category,name_ar", "separate columns"),
    ("category,name_ar.middle", "name parts are"),
    ("sex,sex", "given twice"),
    ("", "is empty"),
])
def test_a_wrong_csv_header_stops_the_batch_before_any_card(
        tmp_path: Path, key: cardlib.PrivateKey, header: str, message: str) -> None:
    data = (header + "\r\n" + csv_text(variant(1)).split("\r\n", 1)[1]).encode("utf-8")
    with pytest.raises(BatchInputError, match=message) as caught:
        run_batch(data, tmp_path, key, fmt="csv", now=ISSUED, render=False)
    assert caught.value.code == "batch_input_invalid"
    assert (tmp_path / "manifest.jsonl").read_bytes() == b""
    assert list((tmp_path / "cards").iterdir()) == []


def test_input_bounds_are_checked_before_any_card(tmp_path: Path,
                                                  key: cardlib.PrivateKey) -> None:
    long_line = b'{"x": "' + b"a" * MAX_LINE_BYTES + b'"}\n'
    with pytest.raises(BatchInputError, match="line 3 is longer"):
        run_batch(jsonl(variant(1), variant(2)).encode() + long_line, tmp_path, key,
                  fmt="jsonl", now=ISSUED, render=False)
    with pytest.raises(BatchInputError, match="more than 2 rows"):
        run_batch(jsonl(variant(1), variant(2), variant(3)).encode(), tmp_path, key,
                  fmt="jsonl", now=ISSUED, render=False, max_rows=2)
    with pytest.raises(BatchInputError, match="cannot read"):
        run_batch(tmp_path / "missing.jsonl", tmp_path, key, fmt="jsonl", now=ISSUED)
    with pytest.raises(ValueError, match="fmt"):
        run_batch(b"", tmp_path, key, fmt="xml", now=ISSUED)  # type: ignore[arg-type]
    assert (tmp_path / "manifest.jsonl").read_bytes() == b""


# --- re-runs and duplicates ---------------------------------------------------------------------


def test_a_rerun_skips_finished_rows_and_retries_failed_ones(tmp_path: Path,
                                                             key: cardlib.PrivateKey) -> None:
    source = tmp_path / "in.jsonl"
    # Row 2 is issued "tomorrow": invalid at the first run's clock, fine at the second's.
    source.write_text(jsonl(variant(1), variant(2, issue_date="2026-01-12"), variant(3)), "utf-8")
    out = tmp_path / "out"
    first = run_batch(source, out, key, fmt="jsonl", now=ISSUED)
    assert (first.issued, first.skipped, [e.line for e in first.errors]) == (2, 0, [2])
    before = {p: p.read_bytes() for p in (out / "cards").rglob("*") if p.is_file()}
    calls: list[tuple[int, int]] = []
    second = run_batch(source, out, key, fmt="jsonl", now=ISSUED.replace(day=12),
                       progress=lambda done, total: calls.append((done, total)))
    assert (second.total, second.issued, second.skipped, second.errors) == (3, 1, 2, ())
    assert calls == [(1, 3), (2, 3), (3, 3)]
    for path, data in before.items():  # nothing finished was written again
        assert path.read_bytes() == data
    assert [e["status"] for e in manifest(out)] == ["issued", "error", "issued", "issued"]
    check_card(out, "LY0000002", key, variant(2, issue_date="2026-01-12"))
    third = run_batch(source, out, key, fmt="jsonl", now=ISSUED)
    assert (third.issued, third.skipped, third.errors) == (0, 3, ())
    assert sorted(issued_documents(out)) == ["LY0000001", "LY0000002", "LY0000003"]


def test_a_document_number_is_issued_once(tmp_path: Path, key: cardlib.PrivateKey) -> None:
    same = variant(1, national_number="119859999999")
    text = jsonl(variant(1), same, variant(2), variant(2))  # row 4 repeats row 3 byte for byte
    summary = run_batch(text.encode(), tmp_path, key, fmt="jsonl", now=ISSUED, render=False)
    assert [(e.line, e.code) for e in summary.errors] == [(2, DUPLICATE_DOCUMENT),
                                                          (4, DUPLICATE_DOCUMENT)]
    assert "line 1" in summary.errors[0].message
    check_card(tmp_path, "LY0000001", key, variant(1), images=False)
    payload = (tmp_path / "cards" / "LY0000001" / "payload.txt").read_bytes()
    # A later batch into the same directory cannot print the number again either.
    again = run_batch(jsonl(same, variant(3)).encode(), tmp_path, key, fmt="jsonl", now=ISSUED,
                      render=False)
    assert [(e.line, e.code) for e in again.errors] == [(1, DUPLICATE_DOCUMENT)]
    assert (tmp_path / "cards" / "LY0000001" / "payload.txt").read_bytes() == payload
    assert Counter(issued_documents(tmp_path)) == {"LY0000001": 1, "LY0000002": 1,
                                                   "LY0000003": 1}
    # The same input again: the duplicates are still duplicates, the rest is skipped.
    rerun = run_batch(text.encode(), tmp_path, key, fmt="jsonl", now=ISSUED, render=False)
    assert (rerun.skipped, [e.line for e in rerun.errors]) == (2, [2, 4])


def test_a_truncated_last_manifest_line_is_dropped(tmp_path: Path,
                                                   key: cardlib.PrivateKey) -> None:
    source = jsonl(variant(1), variant(2), variant(3)).encode()
    run_batch(source, tmp_path, key, fmt="jsonl", now=ISSUED, render=False)
    path = tmp_path / "manifest.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # a crash in the middle of appending row 3's line
    summary = run_batch(source, tmp_path, key, fmt="jsonl", now=ISSUED, render=False)
    assert (summary.issued, summary.skipped, summary.errors) == (1, 2, ())
    assert issued_documents(tmp_path) == ["LY0000001", "LY0000002", "LY0000003"]
    # A last line that is whole but lost its newline counts, and the next line starts anew.
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    summary = run_batch(source + jsonl(variant(4)).encode(), tmp_path, key, fmt="jsonl",
                        now=ISSUED, render=False)
    assert (summary.issued, summary.skipped) == (1, 3)
    assert issued_documents(tmp_path) == ["LY0000001", "LY0000002", "LY0000003", "LY0000004"]


def test_a_corrupt_manifest_line_in_the_middle_stops_the_batch(tmp_path: Path,
                                                               key: cardlib.PrivateKey) -> None:
    (tmp_path / "manifest.jsonl").write_bytes(b'{"line": 1\n{"line": 2}\n')
    with pytest.raises(BatchInputError, match="line 1 is not a manifest line"):
        run_batch(jsonl(variant(1)).encode(), tmp_path, key, fmt="jsonl", now=ISSUED)


def test_an_unfinished_card_is_redone_and_its_temporary_files_removed(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    card = tmp_path / "cards" / "LY0000001"
    card.mkdir(parents=True)
    (card / "payload.txt").write_text("NOT-FINISHED\n")  # renamed, but no manifest line yet
    (card / ".front.png.0123456789ab.tmp").write_bytes(b"\x89PNG half")
    summary = run_batch(jsonl(variant(1)).encode(), tmp_path, key, fmt="jsonl", now=ISSUED)
    assert summary.issued == 1
    assert {p.name for p in card.iterdir()} == CARD_FILES
    check_card(tmp_path, "LY0000001", key, variant(1))


def test_a_missing_file_of_an_issued_card_is_restored(tmp_path: Path,
                                                      key: cardlib.PrivateKey) -> None:
    source = jsonl(variant(1)).encode()
    run_batch(source, tmp_path, key, fmt="jsonl", now=ISSUED)
    (tmp_path / "cards" / "LY0000001" / "back.png").unlink()
    summary = run_batch(source, tmp_path, key, fmt="jsonl", now=ISSUED)
    assert (summary.issued, summary.skipped, summary.errors) == (1, 0, ())
    check_card(tmp_path, "LY0000001", key, variant(1))


def test_two_batches_never_share_an_output_directory(tmp_path: Path,
                                                     key: cardlib.PrivateKey) -> None:
    with open(tmp_path / ".batch.lock", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(BatchBusyError, match="another batch"):
            run_batch(jsonl(variant(1)).encode(), tmp_path, key, fmt="jsonl", now=ISSUED)
    assert not (tmp_path / "cards" / "LY0000001").exists()


# --- a crash ------------------------------------------------------------------------------------

# The child runs a batch; with a kill point K it SIGKILLs itself just before its K-th fsync or
# rename, so every step of writing a card is interrupted once.
CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
import cardlib
from cardlib._batch import run_batch
kill_at, events = int(sys.argv[4]), 0
def hook(real):
    def call(*args):
        global events
        events += 1
        if events == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)
    return call
os.fsync, os.replace = hook(os.fsync), hook(os.replace)
key = cardlib.PrivateKey.from_pem(Path(sys.argv[1]).read_bytes())
run_batch(Path(sys.argv[2]), Path(sys.argv[3]), key, fmt="jsonl",
          now=datetime(2026, 1, 10, 9, tzinfo=UTC))
"""


def start_child(tmp: Path, key: cardlib.PrivateKey, rows: int, kill_at: int = 0) -> tuple[
        subprocess.Popen[bytes], dict[str, dict[str, Any]], Path, Path]:
    records = {f"LY{i:07d}": variant(i) for i in range(1, rows + 1)}
    tmp.mkdir(exist_ok=True)
    source, out, pem = tmp / "in.jsonl", tmp / "out", tmp / "key.pem"
    source.write_text(jsonl(*records.values()), "utf-8")
    pem.write_bytes(key.to_pem())
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(pem), str(source), str(out),
                              str(kill_at)], cwd=ROOT)
    return child, records, source, out


def check_after_crash(out: Path, key: cardlib.PrivateKey,
                      records: dict[str, dict[str, Any]]) -> list[str]:
    """Every issued card is whole and verifies; a final file name only shows a whole file."""
    done = issued_documents(out)
    assert len(done) == len(set(done))
    for document in done:
        check_card(out, document, key, records[document])
    for card in (out / "cards").iterdir():
        for path in card.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                continue  # a temporary name never looks finished
            assert path.name in CARD_FILES
            if path.name == "payload.txt":
                cardlib.verify(path.read_text("ascii").strip(), key.public_key, now=CHECKED)
            else:
                with Image.open(path) as image:
                    image.load()
    return done


def check_rerun_completes(source: Path, out: Path, key: cardlib.PrivateKey,
                          records: dict[str, dict[str, Any]], done: list[str]) -> None:
    summary = run_batch(source, out, key, fmt="jsonl", now=ISSUED)
    assert (summary.total, summary.errors) == (len(records), ())
    assert (summary.skipped, summary.issued) == (len(done), len(records) - len(done))
    assert Counter(issued_documents(out)) == dict.fromkeys(records, 1)
    for document in records:
        assert {p.name for p in (out / "cards" / document).iterdir()} == CARD_FILES
        if document not in done:
            check_card(out, document, key, records[document])


def test_sigkill_mid_batch_leaves_only_finished_cards_and_a_rerun_completes(
        tmp_path: Path, key: cardlib.PrivateKey) -> None:
    child, records, source, out = start_child(tmp_path, key, rows=40)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            manifest_path = out / "manifest.jsonl"
            text = manifest_path.read_bytes() if manifest_path.exists() else b""
            if text.count(b'"issued"') >= 3:
                break
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL, "the batch ended before it was killed"
    done = check_after_crash(out, key, records)
    assert 3 <= len(done) < len(records)
    check_rerun_completes(source, out, key, records, done)


# Before the first card: fsync(out dir), fsync(manifest). Each card: fsync(cards dir), then
# fsync + rename for payload.txt, front.png and back.png, fsync(card dir), fsync(manifest line).
CARD_EVENTS = range(12, 21)  # the nine steps of the second card


def test_sigkill_at_every_step_of_writing_a_card(tmp_path: Path,
                                                 key: cardlib.PrivateKey) -> None:
    children = [(kill_at, *start_child(tmp_path / str(kill_at), key, rows=3, kill_at=kill_at))
                for kill_at in CARD_EVENTS]
    left_temporary = []
    for kill_at, child, records, source, out in children:
        assert child.wait(60) == -signal.SIGKILL, kill_at
        done = check_after_crash(out, key, records)
        expected = ["LY0000001", "LY0000002"] if kill_at == CARD_EVENTS[-1] else ["LY0000001"]
        assert done == expected, kill_at  # killed before the fsync: the line is still written
        left_temporary.append(any(p.name.endswith(".tmp") for p in out.rglob(".*")))
        check_rerun_completes(source, out, key, records, done)
        assert not any(p.name.endswith(".tmp") for p in out.rglob(".*")), kill_at
    assert any(left_temporary)  # some kill points did interrupt a file
