"""Batch issuance for a printing station: CSV or JSON Lines in, one card directory per row out.

This module is an edge (like the CLI): it reads the input, writes files and fsyncs them. The
output directory holds::

    manifest.jsonl                 one line per finished row, appended and fsynced
    cards/<document_number>/       payload.txt, front.png, back.png
    .batch.lock                    held (flock) while a batch runs; two batches never share a dir

Crash safety. Every file is written to a temporary name in its own directory (``.<name>.<random>
.tmp``), fsynced, and renamed over its final name, so a file under a final name is always
complete. A card is *finished* only when its ``issued`` line is in the manifest, and that line is
appended (flush + fsync) only after all of the card's files and its directory are fsynced. After a
crash (even SIGKILL), re-running the same input issues exactly the rows that are not finished;
stale temporary files of an unfinished card are removed when that card is written again, and a
manifest line cut short by the crash is dropped.

Each row has a key: the SHA-256 of its raw bytes (line terminator removed; for CSV the header line
and a newline come first, so reordered columns do not look like the same row). A row whose key has
an ``issued`` line, and whose files are all present, is skipped; rows with only ``error`` lines are
tried again. A document number is issued at most once per output directory: a second row naming
it is the error ``duplicate_document`` and no issued card's files are ever written again.

CSV structure errors are fatal. A row whose *structure* is bad (a quote left open or misplaced,
a bare carriage return outside quotes, a cell longer than the csv module's field limit) stops the
whole batch with :class:`BatchInputError` naming the line, raised while the input is checked and
counted, so before any card is issued. The csv module does not resynchronise after such an error:
it starts a new row at the next physical line, which may lie inside the quoted cell it rejected,
so text hidden in one cell (e.g. a complete row after 128 Ki characters of padding) would be read
as a row of its own and issued. After a structural error no later row boundary can be trusted, so
no row of that input is. Rows that are well-formed CSV but wrong (bad UTF-8, the wrong number of
cells, an invalid record) are reported per row and the batch goes on: their boundaries are sound.

The field limit is the csv module's process-global ``csv.field_size_limit()`` (131072 characters
unless the application changes it). This library never changes it (a library must not change
global state), and needs no larger one: the longest record field is a few hundred characters, so
a cell over the limit is never a valid record and refusing the input loses nothing. A CSV row is
also at most 1 MiB however many lines it spans, so an unclosed quote cannot swallow the input.

The issuance registry (optional, ``run_batch(..., registry=...)``). Each new card is recorded
(``record_issue``, one transaction) after its files are fsynced under their final names and
before its manifest line, so a crash leaves one of: files but no registry entry (the card is
unfinished and is issued afresh on re-run, as without a registry); a registry entry and files but
no manifest line; or all three (finished). On re-run a row without an ``issued`` line whose
document number the registry already holds is never issued again: if the registry's card is this
row's holder, the ``payload.txt`` on disk has the registry's ``payload_sha256`` (the SHA-256 of
the Base45-decoded payload, as the CLI records it) and decodes to this row's record, the row is
finished by appending its manifest line (missing PNGs are rendered again from that payload);
otherwise the row is the error ``registry_conflict`` (another holder: ``document_number_reused``).
A document number or holder the registry refuses is a row error with the registry's code
(``document_number_reused``, ``holder_has_active_card``): the registry is asked before the card is
signed, so usually nothing is written; if a racing writer makes ``record_issue`` itself refuse,
the card's files are removed again (and the directory, if empty) before the error line is
written, so no refused card is left on disk. Any other registry error (unavailable, busy) is a
row error too, but the files are kept: the commit may have happened, and an unfinished card on
disk lets the re-run finish the row from the registry instead of reporting a conflict. A card
finished before a registry was given is not recorded afterwards (the re-run skips it).

Access codes (with a registry). Each recorded card comes with a new personal access code for its
holder: its hash is stored by the same ``record_issue`` transaction, and the code itself is
written once, as ``"access_code"`` in the card's ``issued`` manifest line (the manifest is the
batch's receipt: it is made owner-only, mode 0600, when a registry is given) and nowhere else.
A row finished from the registry after a crash gets a fresh code (the one set with the card never
reached the manifest), so the code in a document number's latest ``issued`` line is the one that
works. Each code costs one scrypt hash (about 40 ms, see :mod:`cardlib.store`), computed in a
second thread while the card is signed and rendered (scrypt releases the GIL): a rendered batch
with a registry runs at 21 cards/s here, against 12 hashing after the card.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ._errors import (
    BatchBusyError,
    BatchError,
    BatchInputError,
    CardError,
    CardNotFoundError,
    DocumentNumberReusedError,
    HolderHasActiveCardError,
    Problem,
    ValidationError,
)
from ._limits import DEFAULT_LIMITS
from ._pipeline import CWT_CLAIM169, DEFAULT_ISSUER, end_of_day, issue, unwrap
from .codec import _cbor
from .codec._base45 import b45decode
from .keys import Signer, SymmetricKey
from .profile import (
    DEFAULT_RULES,
    NAME_PARTS,
    RECORD_FIELDS,
    HolderRecord,
    Rules,
    has_profile,
    read_claim169,
    record_from_claims,
    record_from_json,
    record_from_json_text,
)
from .store import AccessCodeRecord, IssuanceRegistry, IssuedCard, generate_access_code

if TYPE_CHECKING:  # rendering needs the ``cards`` extra (Pillow): imported only to render
    from .render import Layout

__all__ = [
    "DUPLICATE_DOCUMENT",
    "MANIFEST_NAME",
    "MAX_LINE_BYTES",
    "MAX_ROWS",
    "PNG_COMPRESS_LEVEL",
    "REGISTRY_CONFLICT",
    "BatchBusyError",
    "BatchError",
    "BatchFormat",
    "BatchInputError",
    "BatchSource",
    "BatchSummary",
    "RowError",
    "run_batch",
]

BatchFormat = Literal["csv", "jsonl"]
BatchSource = Path | bytes | Sequence[str]
"""A file, the whole input as bytes (e.g. standard input), or its lines as text."""

MAX_LINE_BYTES = 1 << 20
MAX_ROWS = 1_000_000
# zlib level for the card PNGs. Pillow's default (6) costs ~31 ms per card (both sides) against
# ~21 ms at level 1 (files ~140 KB instead of ~125 KB): with level 6 a batch made ~20.6 cards/s
# on one core, with level 1 ~26 (rendering itself is ~18 ms a card). Levels 1-3 are within 2 %.
PNG_COMPRESS_LEVEL = 1
MANIFEST_NAME = "manifest.jsonl"
CARDS_DIR = "cards"
LOCK_NAME = ".batch.lock"
DUPLICATE_DOCUMENT = "duplicate_document"
REGISTRY_CONFLICT = "registry_conflict"
PAYLOAD_FILE, FRONT_FILE, BACK_FILE = "payload.txt", "front.png", "back.png"

_FORMATS = ("csv", "jsonl")
_NAMES = ("name_ar", "name_latin")
_BOM = b"\xef\xbb\xbf"
_SAFE_DIR_NAME = re.compile(r"[A-Z0-9]{1,64}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CARD_FILES = frozenset((PAYLOAD_FILE, FRONT_FILE, BACK_FILE))


class RowError(NamedTuple):
    """One row that was not issued: its input line, a stable code and what was wrong."""

    line: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What one call of :func:`run_batch` did. ``total`` counts the input's rows (blank lines are
    not rows); ``issued + skipped + len(errors) == total``."""

    total: int
    issued: int
    skipped: int
    errors: tuple[RowError, ...]
    elapsed: float


# --- reading the input --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    """One input row, read but not yet parsed into a record."""

    line: int
    key: str
    json_text: str | None = None
    fields: Mapping[str, Any] | None = None
    problems: tuple[Problem, ...] = ()

    def record(self, rules: Rules) -> HolderRecord:
        if self.problems:
            raise ValidationError(self.problems)
        if self.json_text is not None:
            return record_from_json_text(self.json_text, rules)
        return record_from_json(self.fields, rules)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _strip_eol(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
    return line[:-1] if line.endswith(b"\r") else line


def _split(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            yield data[start:]
            return
        yield data[start:end + 1]
        start = end + 1


def _file_lines(path: Path) -> Iterator[bytes]:
    try:
        handle = open(path, "rb")  # noqa: SIM115  # closed below, also when the caller stops
    except OSError as err:
        raise BatchInputError(f"cannot read {path}: {err.strerror or err}") from err
    with handle:
        while line := handle.readline(MAX_LINE_BYTES + 3):  # +3: CR LF, and one byte too many
            yield line


def _text_lines(lines: Sequence[str]) -> Iterator[bytes]:
    for item in lines:
        if not isinstance(item, str):
            raise TypeError(f"the input lines must be text, not {type(item).__name__}")
        # surrogatepass: a lone surrogate becomes bytes that are not UTF-8, reported per row
        data = item.encode("utf-8", "surrogatepass")
        yield from _split(data if data.endswith(b"\n") else data + b"\n")


def _line_source(source: BatchSource) -> Callable[[], Iterator[bytes]]:
    """A function that opens the input afresh (the rows are read twice: count, then issue)."""
    if isinstance(source, Path):
        return lambda: _file_lines(source)
    if isinstance(source, bytes):
        return lambda: _split(source)
    if isinstance(source, str):
        raise TypeError("pass a file as a Path, or the input's lines as a list of str")
    return lambda: _text_lines(source)


def _numbered(lines: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """Physical lines numbered from 1, a UTF-8 byte-order mark dropped, each at most 1 MiB."""
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM):]
        if len(_strip_eol(line)) > MAX_LINE_BYTES:
            raise BatchInputError(f"line {number} is longer than {MAX_LINE_BYTES} bytes; a "
                                  f"record is at most 1 MiB (is this the right file?)")
        yield number, line


def _jsonl_rows(lines: Iterator[tuple[int, bytes]]) -> Iterator[_Row]:
    for number, line in lines:
        body = _strip_eol(line)
        if not body.strip():
            continue
        key = _sha256(body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            yield _Row(number, key, problems=(Problem(
                "$", "encoding", f"the line is not UTF-8 text (byte {err.start + 1})"),))
            continue
        yield _Row(number, key, json_text=text)


class _CsvFeed:
    """Feeds decoded lines to the csv reader and remembers the raw bytes of the current row."""

    def __init__(self, lines: Iterator[tuple[int, bytes]]) -> None:
        self._lines = lines
        self._raw: list[bytes] = []
        self._size = 0
        self._start = 0
        self.last = 0  # the number of the last line handed to the reader
        self._bad_utf8 = False

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        number, line = next(self._lines)
        if not self._raw:
            self._start = number
        self.last = number
        self._raw.append(line)
        self._size += len(line)
        if self._size > MAX_LINE_BYTES + 2:
            raise BatchInputError(f"the CSV row starting on line {self._start} is longer than "
                                  f"{MAX_LINE_BYTES} bytes (is a quote left open?)")
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self._bad_utf8 = True
            return line.decode("utf-8", "replace")

    def take(self) -> tuple[int, bytes, bool]:
        """The current row's first line number, raw bytes and whether it had bad UTF-8."""
        taken = (self._start, _strip_eol(b"".join(self._raw)), self._bad_utf8)
        self._raw, self._size, self._bad_utf8 = [], 0, False
        return taken


def _csv_columns(header: list[str]) -> tuple[tuple[str, str | None], ...]:
    """``name_ar.first`` → ("name_ar", "first"); ``sex`` → ("sex", None). Problems are fatal:
    a wrong header would fail every row the same way."""
    columns: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        where = f"CSV header (line 1), column {index} {name[:40]!r}"
        if name in seen:
            raise BatchInputError(f"{where}: the column is given twice")
        seen.add(name)
        top, dot, part = name.partition(".")
        if dot:
            if top not in _NAMES or part not in NAME_PARTS:
                parts = ", ".join(f"{n}.{p}" for n in _NAMES for p in NAME_PARTS)
                raise BatchInputError(f"{where}: not a record field; name parts are {parts}")
            columns.append((top, part))
        elif name in _NAMES:
            raise BatchInputError(f"{where}: give the name parts as separate columns "
                                  f"{name}.first, {name}.father, {name}.grandfather, {name}.family")
        elif name not in RECORD_FIELDS:
            raise BatchInputError(f"{where}: not a record field; the columns are the JSON "
                                  f"member names of specs/format.md section 2")
        else:
            columns.append((name, None))
    if not columns:
        raise BatchInputError("the CSV header (line 1) is empty")
    return tuple(columns)


def _csv_fields(columns: tuple[tuple[str, str | None], ...], cells: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (name, part), cell in zip(columns, cells, strict=True):
        if cell == "":
            continue  # an empty cell is an absent member
        if part is None:
            out[name] = cell
        else:
            out.setdefault(name, {})[part] = cell
    return out


def _csv_rows(lines: Iterator[tuple[int, bytes]]) -> Iterator[_Row]:
    feed = _CsvFeed(lines)
    reader = csv.reader(feed, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise BatchInputError("the CSV input is empty; its first line is the header row") from None
    except csv.Error as err:
        raise BatchInputError(f"the CSV header (line 1) is not valid CSV: {err}") from None
    _, header_bytes, bad_utf8 = feed.take()
    if bad_utf8:
        raise BatchInputError("the CSV header (line 1) is not UTF-8 text")
    columns = _csv_columns(header)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            # Fatal, not a row error: the reader would go on at the next physical line, which
            # may be inside the cell it just rejected (see the module docstring).
            start, _, _ = feed.take()
            where = f"line {start}" if feed.last == start else (
                f"the row starting on line {start} (at line {feed.last})")
            raise BatchInputError(
                f"the CSV input is not valid CSV at {where}: {err}; after a broken row no row "
                "of the input can be trusted, so no card was issued (is a quote misplaced or "
                "left open, or a cell far too long?)") from None
        start, raw, bad_utf8 = feed.take()
        if all(cell == "" for cell in cells):
            continue  # a blank line, or a spreadsheet's empty row of commas
        key = _sha256(header_bytes + b"\n" + raw)
        if bad_utf8:
            yield _Row(start, key, problems=(Problem("$", "encoding", "the row is not UTF-8"),))
        elif len(cells) != len(columns):
            yield _Row(start, key, problems=(Problem(
                "$", "columns", f"the row has {len(cells)} cells but the header has "
                f"{len(columns)} columns"),))
        else:
            yield _Row(start, key, fields=_csv_fields(columns, cells))


def _rows(fmt: BatchFormat, lines: Iterator[bytes], max_rows: int) -> Iterator[_Row]:
    reader = _csv_rows if fmt == "csv" else _jsonl_rows
    for count, row in enumerate(reader(_numbered(lines)), start=1):
        if count > max_rows:
            raise BatchInputError(f"the input has more than {max_rows} rows (line {row.line}); "
                                  "split it into several batches")
        yield row


# --- writing files durably ----------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _write_atomic(directory: Path, name: str, data: bytes) -> None:
    """Write ``directory/name`` so that the name only ever shows a complete, fsynced file."""
    temporary = directory / f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    with open(out_dir / LOCK_NAME, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchBusyError(f"another batch is writing to {out_dir}; wait for it to "
                                 "finish or choose another output directory") from None
        yield


@dataclass(frozen=True, slots=True)
class _Issued:
    line: int
    key: str
    document_number: str
    payload_sha256: str
    files: tuple[str, ...]


def _issued_entry(entry: object) -> _Issued | None:
    """An ``issued`` manifest line as a value; ``None`` for an ``error`` line.

    Raises ValueError for anything that is not a manifest line."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    line, key, status = entry.get("line"), entry.get("key"), entry.get("status")
    if type(line) is not int or not isinstance(key, str) or not _SHA256_HEX.fullmatch(key):
        raise ValueError("line or key missing")
    if status == "error":
        return None
    document, digest, files = (entry.get("document_number"), entry.get("payload_sha256"),
                               entry.get("files"))
    if (status != "issued" or not isinstance(document, str)
            or not _SAFE_DIR_NAME.fullmatch(document) or not isinstance(digest, str)
            or not _SHA256_HEX.fullmatch(digest) or not isinstance(files, list)
            or PAYLOAD_FILE not in files or not set(files) <= _CARD_FILES):
        raise ValueError("not a well-formed issued line")
    return _Issued(line, key, document, digest, tuple(files))


class _Manifest:
    """The append-only manifest. Opening it drops a last line cut short by a crash; ``private``
    (it will hold access codes) makes it readable by its owner only."""

    def __init__(self, path: Path, *, private: bool = False) -> None:
        self.issued: list[_Issued] = []
        with open(path, "a+b") as handle:
            if private:
                os.fchmod(handle.fileno(), 0o600)
            handle.seek(0)
            offset = 0
            for number, line in enumerate(handle, start=1):
                complete = line.endswith(b"\n")
                try:
                    found = _issued_entry(json.loads(line))
                except ValueError as err:  # JSONDecodeError and bad UTF-8 are ValueErrors
                    if complete:
                        raise BatchInputError(
                            f"{path} line {number} is not a manifest line ({err}); it was "
                            "edited or damaged: fix the line or restore the file") from None
                    handle.truncate(offset)  # the partial line a crash left behind
                    break
                if found is not None:
                    self.issued.append(found)
                if not complete:
                    handle.write(b"\n")  # complete but unterminated: the next line starts anew
                offset += len(line)
            handle.flush()
            os.fsync(handle.fileno())
        self._handle = open(path, "ab")  # noqa: SIM115  # closed by close()

    def append(self, entry: Mapping[str, Any]) -> None:
        self._handle.write(json.dumps(entry, separators=(",", ":")).encode("ascii") + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


# --- one row ------------------------------------------------------------------------------------


class _Duplicate(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Conflict(Exception):
    """The registry holds the row's document number, but not as the card on disk."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _registry_hash(payload: str) -> bytes:
    """The ``payload_sha256`` the registry records: SHA-256 of the Base45-decoded payload."""
    return hashlib.sha256(b45decode(payload)).digest()


def registry_card(record: HolderRecord, signer: Signer, payload: str,
                   now: datetime) -> IssuedCard:
    """The registry's view of a card just issued (as the CLI's ``issue --registry`` builds it)."""
    return IssuedCard(
        document_number=record.document_number, holder_identifier=record.identifier,
        centre_code=record.centre_code, kid=signer.kid, issued_at=now.replace(microsecond=0),
        expires_at=datetime.fromtimestamp(end_of_day(record.expiry_date), UTC),
        payload_sha256=_registry_hash(payload))


def _payload_record(payload: str, rules: Rules, key: SymmetricKey | None = None
                    ) -> HolderRecord | None:
    """The holder record a payload carries (decrypted with ``key`` when it is encrypted), NOT
    verified (its hash is checked against the registry instead); ``None`` without the profile.
    Raises CardError if it does not decode."""
    message, _ = unwrap(payload, DEFAULT_LIMITS, () if key is None else (key,))
    cwt = _cbor.loads(message.payload, DEFAULT_LIMITS)
    raw = cwt.get(CWT_CLAIM169) if type(cwt) is dict else None
    if type(raw) is bytes:
        raw = _cbor.loads(raw, DEFAULT_LIMITS)
    if type(raw) is not dict or not has_profile(raw):
        return None
    return record_from_claims(raw, read_claim169(raw), rules)


def _remove_card(card_dir: Path, names: Sequence[str]) -> None:
    """Remove a refused card's files (and temporaries), then its directory if empty; durably."""
    for path in card_dir.iterdir():
        if path.name in names or _temporary(path.name):
            path.unlink(missing_ok=True)
    _fsync_dir(card_dir)
    with contextlib.suppress(OSError):  # not empty: keep it (nothing in it looks finished)
        card_dir.rmdir()
        _fsync_dir(card_dir.parent)


class _Painter:
    """Renders both sides and encodes them as PNG (Pillow is the optional ``cards`` extra)."""

    def __init__(self, layout: Layout | None, compress_level: int) -> None:
        try:
            from .render import default_layout, render_card
        except ImportError as err:
            raise ImportError(f"rendering cards needs the extra: pip install 'cardlib[cards]' "
                              f"({err}); or run the batch with render=False") from err
        self._render = render_card
        self._layout = default_layout() if layout is None else layout
        self._level = compress_level

    def files(self, record: HolderRecord, payload: str) -> dict[str, bytes]:
        images = self._render(record, payload, self._layout)
        out: dict[str, bytes] = {}
        for name, image in ((FRONT_FILE, images.front), (BACK_FILE, images.back)):
            buffer = io.BytesIO()
            image.save(buffer, "PNG", compress_level=self._level)
            out[name] = buffer.getvalue()
        return out


def _complete(card_dir: Path, issued: _Issued) -> bool:
    """Are all files of an issued card present, with the payload that was recorded?"""
    try:
        payload = (card_dir / PAYLOAD_FILE).read_bytes().rstrip(b"\n")
        return _sha256(payload) == issued.payload_sha256 and all(
            (card_dir / name).stat().st_size > 0 for name in issued.files)
    except OSError:
        return False


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


def _error_entry(row: _Row, code: str, message: str, problems: Sequence[Problem],
                 document_number: str | None) -> dict[str, Any]:
    return {"line": row.line, "key": row.key, "status": "error", "code": code,
            "message": message, "document_number": document_number,
            "problems": [{"path": p.path, "code": p.code, "message": p.message}
                         for p in problems]}


# --- the batch ----------------------------------------------------------------------------------


def run_batch(
    source: BatchSource,
    out_dir: Path,
    signer: Signer,
    *,
    fmt: BatchFormat,
    now: datetime | None = None,
    layout: Layout | None = None,
    render: bool = True,
    progress: Callable[[int, int], None] | None = None,
    issuer: str = DEFAULT_ISSUER,
    rules: Rules = DEFAULT_RULES,
    png_compress_level: int = PNG_COMPRESS_LEVEL,
    max_rows: int = MAX_ROWS,
    registry: IssuanceRegistry | None = None,
    encrypt_key: SymmetricKey | None = None,
) -> BatchSummary:
    """Issue (and, with ``render``, print to PNG) one card per row of ``source``.

    ``fmt`` is ``"csv"`` (UTF-8, a header row of the record's JSON member names, name parts as
    ``name_ar.first`` … ``name_latin.family``, an empty cell is an absent member) or ``"jsonl"``
    (one record object per line; blank lines are skipped). Each line is at most 1 MiB and there
    are at most ``max_rows`` rows; the whole input is checked (and counted, for ``progress``)
    before the first card is issued.

    ``now`` (default: the current time, UTC, taken once) is the signing time of every card;
    ``layout`` defaults to :func:`cardlib.cards.default_layout`. ``progress(done, total)`` is
    called after each row. A bad row (not JSON, not UTF-8, the wrong number of CSV cells, invalid
    record, a card that cannot be rendered, a document number already issued) is written to the
    manifest as an ``error`` line and listed in the summary; the batch goes on. Re-running the
    same input skips the finished rows and retries the failed ones.

    With ``registry`` every new card is recorded there (``record_issue``) after its files are
    written and before its manifest line, with a new access code for its holder (hashed in the
    registry; the code itself only in that manifest line, ``"access_code"``, the manifest made
    owner-only); a refusal is a row error with the registry's code, a
    document number the registry holds for another card is ``registry_conflict``, and a row whose
    card the registry holds (same holder, same payload as on disk) is finished without issuing
    again: see the module docstring. The caller opens and closes the registry.

    Raises :class:`BatchInputError` for an unusable input or manifest (this includes input that
    is not well-formed CSV: see the module docstring) and
    :class:`BatchBusyError` when another batch holds ``out_dir``; ``OSError`` from writing.
    """
    started = time.perf_counter()
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {_FORMATS}, not {fmt!r}")
    if type(png_compress_level) is not int or not 0 <= png_compress_level <= 9:
        raise ValueError("png_compress_level is a zlib level from 0 to 9")
    if type(max_rows) is not int or max_rows < 1:
        raise ValueError("max_rows must be a positive integer")
    moment = _aware(now)
    lines = _line_source(source)
    painter = _Painter(layout, png_compress_level) if render else None
    cards_dir = out_dir / CARDS_DIR
    cards_dir.mkdir(parents=True, exist_ok=True)
    _fsync_dir(out_dir)
    with _locked(out_dir):
        manifest = _Manifest(out_dir / MANIFEST_NAME, private=registry is not None)
        try:
            total = sum(1 for _ in _rows(fmt, lines(), max_rows))
            with ThreadPoolExecutor(1, thread_name_prefix="access-code") as hashing:
                return _Run(manifest, cards_dir, signer, painter, moment, issuer, rules, total,
                            progress, registry, hashing, encrypt_key).run(
                                _rows(fmt, lines(), max_rows), started)
        finally:
            manifest.close()


class _Run:
    """The state of one batch: what the manifest already holds and what this run did."""

    def __init__(self, manifest: _Manifest, cards_dir: Path, signer: Signer,
                 painter: _Painter | None, now: datetime, issuer: str, rules: Rules,
                 total: int, progress: Callable[[int, int], None] | None,
                 registry: IssuanceRegistry | None, hashing: Executor,
                 encrypt_key: SymmetricKey | None = None) -> None:
        self.manifest = manifest
        self.encrypt_key = encrypt_key
        self.cards_dir = cards_dir
        self.signer = signer
        self.painter = painter
        self.now = now
        self.issuer = issuer
        self.rules = rules
        self.total = total
        self.progress = progress
        self.registry = registry
        self.hashing = hashing
        self.by_key = {entry.key: entry for entry in manifest.issued}  # the latest line wins
        self.by_document = {entry.document_number: entry for entry in manifest.issued}
        self.seen: set[str] = set()
        self.issued = self.skipped = 0
        self.errors: list[RowError] = []

    def run(self, rows: Iterator[_Row], started: float) -> BatchSummary:
        done = 0
        for row in rows:
            self.row(row)
            done += 1
            if self.progress is not None:
                self.progress(done, max(done, self.total))
        return BatchSummary(done, self.issued, self.skipped, tuple(self.errors),
                            time.perf_counter() - started)

    def row(self, row: _Row) -> None:
        first = row.key not in self.seen  # the same row twice: the second one is a duplicate
        self.seen.add(row.key)
        prior = self.by_key.get(row.key) if first else None
        if prior is not None and _complete(self.cards_dir / prior.document_number, prior):
            self.skipped += 1
            return
        document: str | None = None
        try:
            record = row.record(self.rules)
            document = record.document_number
            owner = self.by_document.get(document)
            # An issued card is never written again, except to restore the files of this very
            # row's card (same key) when they went missing.
            if owner is not None and (prior is None or owner.key != row.key):
                raise _Duplicate(f"document number {document} was already issued (input line "
                                 f"{owner.line}); a document number is printed only once")
            self.finish(row, record)
        except _Duplicate as err:
            self.fail(row, DUPLICATE_DOCUMENT, err.message, (), document)
        except _Conflict as err:
            self.fail(row, REGISTRY_CONFLICT, err.message, (), document)
        except ValidationError as err:
            self.fail(row, err.code, err.message, err.problems, document)
        except CardError as err:
            self.fail(row, err.code, err.message, (), document)

    def finish(self, row: _Row, record: HolderRecord) -> None:
        document = record.document_number
        if not _SAFE_DIR_NAME.fullmatch(document):  # validated already; this is a path
            raise ValidationError([Problem("document_number", "pattern",
                                           "not usable as a directory name")])
        if self.registry is not None and self.registered(row, record):
            return
        code = hashed = None
        if self.registry is not None:  # hashed (scrypt, ~40 ms, GIL released) while it renders
            code = generate_access_code()
            hashed = self.hashing.submit(
                AccessCodeRecord.create, record.identifier, code,
                centre_code=record.centre_code, set_at=self.now.replace(microsecond=0))
        payload = issue(record, self.signer, now=self.now, issuer=self.issuer, rules=self.rules,
                        encrypt_key=self.encrypt_key)
        files = {PAYLOAD_FILE: payload.encode("ascii") + b"\n"}
        if self.painter is not None:
            files.update(self.painter.files(record, payload))
        card_dir = self.cards_dir / document
        try:
            card_dir.mkdir()
            _fsync_dir(self.cards_dir)
        except FileExistsError:  # a card left unfinished by a crash: its files are redone
            for stale in card_dir.iterdir():
                if _temporary(stale.name) or (stale.name in _CARD_FILES
                                              and stale.name not in files):
                    stale.unlink()
        for name, data in files.items():
            _write_atomic(card_dir, name, data)
        _fsync_dir(card_dir)
        if self.registry is not None:
            assert hashed is not None
            try:
                self.registry.record_issue(registry_card(record, self.signer, payload,
                                                          self.now), access_code=hashed.result())
            except (DocumentNumberReusedError, HolderHasActiveCardError):
                _remove_card(card_dir, tuple(files))  # refused: not committed, never a card
                raise
        self.append_issued(row, document, payload, tuple(files), code)

    def registered(self, row: _Row, record: HolderRecord) -> bool:
        """Ask the registry before signing. ``True`` when the row's card is already recorded
        there (a crash came before its manifest line) and the row is now finished; raises when
        the registry refuses the card or holds the number for another card."""
        assert self.registry is not None
        document = record.document_number
        try:
            recorded = self.registry.get(document)
        except CardNotFoundError:
            active = self.registry.active_for(record.identifier)
            if active is not None:
                raise HolderHasActiveCardError(
                    f"the holder of this row already has an active card ({active.document_number}"
                    ") in the registry; replace, renew or correct that card instead") from None
            return False
        if recorded.holder_identifier != record.identifier:
            raise DocumentNumberReusedError(
                f"document number {document} is recorded in the registry for another holder; "
                "document numbers are never reused")
        card_dir = self.cards_dir / document
        where = f"document number {document} is already recorded in the registry"
        never = ("; a document number is never issued twice (restore the card's files or fix "
                 "the row)")
        try:
            payload = (card_dir / PAYLOAD_FILE).read_bytes().decode("ascii").removesuffix("\n")
        except (OSError, UnicodeDecodeError):
            raise _Conflict(f"{where}, but this batch has no readable {PAYLOAD_FILE} for it "
                            f"(issued elsewhere, or its files were removed){never}") from None
        try:
            same = (_registry_hash(payload) == recorded.payload_sha256
                    and _payload_record(payload, self.rules, self.encrypt_key)
                    == record.normalised())
        except CardError:
            same = False
        if not same:
            raise _Conflict(f"{where}, but with another payload or other data than this row's "
                            f"{PAYLOAD_FILE}{never}")
        files = [PAYLOAD_FILE]
        if self.painter is not None:  # PNGs lost after the registry insert: redraw that card
            files += [FRONT_FILE, BACK_FILE]
            missing = [name for name in (FRONT_FILE, BACK_FILE)
                       if not (card_dir / name).is_file() or not (card_dir / name).stat().st_size]
            if missing:
                images = self.painter.files(record, payload)
                for name in missing:
                    _write_atomic(card_dir, name, images[name])
        for stale in card_dir.iterdir():
            if _temporary(stale.name):
                stale.unlink()
        _fsync_dir(card_dir)
        # The code set with the card was lost with the crash: the holder gets a new one.
        code = self.registry.new_access_code(record.identifier, centre_code=record.centre_code,
                                             now=self.now)
        self.append_issued(row, document, payload, tuple(files), code)
        return True

    def append_issued(self, row: _Row, document: str, payload: str,
                      files: tuple[str, ...], access_code: str | None = None) -> None:
        entry = _Issued(row.line, row.key, document, _sha256(payload.encode("ascii")), files)
        line: dict[str, Any] = {"line": row.line, "key": row.key, "document_number": document,
                                "status": "issued", "payload_sha256": entry.payload_sha256,
                                "files": list(entry.files)}
        if access_code is not None:
            line["access_code"] = access_code
        self.manifest.append(line)
        self.by_key[row.key] = self.by_document[document] = entry
        self.issued += 1

    def fail(self, row: _Row, code: str, message: str, problems: Sequence[Problem],
             document: str | None) -> None:
        self.manifest.append(_error_entry(row, code, message, problems, document))
        self.errors.append(RowError(row.line, code, message))
