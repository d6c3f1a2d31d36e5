"""An append-only, hash-chained audit log in one file, with signed checkpoints.

This module is an edge (like the storage modules): it reads and writes the log file, fsyncs it
and locks it. The clock is injected: every write takes ``now``.

File format
===========

JSON Lines, UTF-8: one entry per line, each line ending in ``\\n``. An entry is the object::

    {"at": "2026-01-10T09:00:00.000000Z", "data": {...}, "document_number": "LY1023456" | null,
     "hash": "<64 hex>", "holder": "119900012343" | null, "kind": "issue", "prev": "<64 hex>",
     "seq": 1}

* ``seq`` counts from 1 and grows by exactly 1, so entry ``n`` sits on line ``n``.
* ``at`` is the injected ``now`` in UTC, always written ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The log
  does not require ``at`` to grow (two writers' clocks may differ slightly); ``seq`` is the order.
* ``kind`` is one of :data:`KINDS`. The card events (``issue``, ``replacement``, ``renewal``,
  ``correction``, ``revocation``) carry the holder number (national number, or administrative
  number) and the document number; ``key`` and ``checkpoint`` entries carry ``null`` for both.
* ``data`` is a small JSON object (at most :data:`MAX_DATA_BYTES` bytes in its canonical JSON, at
  most :data:`MAX_DATA_DEPTH` levels deep) of text, integers (``|n| < 2**63``), booleans,
  ``null``, arrays and objects. Floats are refused: they have no single canonical form.
* ``prev`` is the ``hash`` of the entry before (64 zeros for entry 1).
* ``hash`` is the lowercase hex SHA-256 of the entry's **canonical encoding** (below).

Canonical encoding
------------------

The canonical encoding of an entry is the deterministic CBOR (RFC 8949 section 4.2.1: shortest
integer and length forms, map keys sorted by their encoded bytes, no indefinite lengths; produced
by :func:`cardlib.codec._cbor.dumps`) of the entry's map **without** ``"hash"``: the seven text
keys ``seq, at, data, kind, prev, holder, document_number`` with their values as decoded from the
JSON (text → text string, integer → integer, ``true``/``false`` → simple values 21/20, ``null`` →
22, arrays → arrays, objects → maps with text keys). So ``hash = SHA-256(cbor(entry - "hash"))``,
and a conforming implementation needs only a deterministic CBOR encoder and SHA-256.

The line itself must be the one spelling the writer produces: ``json.dumps(entry,
sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` (keys sorted, no spaces, non-ASCII
written as UTF-8, control characters escaped). A line with the same values spelt another way
(spaces, key order, escapes) is refused as ``not_canonical``: every byte of the file is checked,
not only the values. A line is at most :data:`MAX_LINE_BYTES` bytes before its ``\\n``.

Checkpoints
-----------

A ``checkpoint`` entry seals every entry before it. Its ``data`` is
``{"alg": "EdDSA" | "ES256", "count": n, "head": <hash of entry n>, "kid": <hex>, "sig": <hex>}``
where ``n = seq - 1`` is the number of entries it covers (``head`` equals the entry's ``prev``)
and ``sig`` is the raw 64-byte signature by the registry key over the deterministic CBOR array::

    ["cardlib audit checkpoint v1", count, head (32-byte byte string), at (text)]

The leading text string keeps these signatures apart from anything else the same key signs (a
COSE ``Sig_structure`` starts with ``"Signature1"``, so neither can be passed off as the other).

Crashes and concurrency
-----------------------

An entry exists once its line, ``\\n`` included, is written and fsynced; :meth:`AuditLog.append`
returns only then. Bytes after the last ``\\n`` are a **torn tail** left by a crash mid-write:
readers ignore them (and report how many there were), and the next writer truncates them before
appending. Anything else that is wrong, anywhere, is reported as tampering; a writer refuses to
append after a last complete line that is damaged. Writers hold an exclusive ``fcntl.flock`` on
the log file for the read-tail-append-fsync step, so two processes never interleave or reuse a
``seq``. Readers take no lock; a line still being written shows to them as a torn tail.

What a hash chain cannot show on its own
----------------------------------------

Removing entries **from the end** of the log leaves a shorter, still sound chain; cut exactly
after a checkpoint, it even ends sealed and signed. Only a point of the log kept elsewhere (an
**anchor**) shows such a cut. An anchor is written ``SEQ:HASH``: an entry's ``seq`` and its
``hash`` (the hash covers ``prev``, so it pins every entry up to ``seq``); the latest
checkpoint's is :attr:`AuditReport.anchor`, and ``entries:head`` of a report covers the
unsealed entries as well. A checkpoint's whole line is an anchor too (its signature is then
checked). Given an anchor, :func:`verify_log` and :func:`read_log` raise
:class:`AuditTruncatedError` (``audit_truncated``) when the log ends before its entry
(``truncated``, naming the missing entries) or when that entry hashes to anything else
(``anchor_mismatch``). Without one, :attr:`AuditReport.anchored` is false and the report
warns that a cut at the end cannot be detected.

Error codes
===========

``audit_error`` (root), ``audit_input_invalid``, ``audit_unavailable``, ``audit_busy``,
``audit_tampered`` (with a ``problem`` code: see :class:`AuditTamperedError`), its subclass
``audit_truncated`` (the anchor is missing or differs) and ``audit_access_denied``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, BinaryIO, Final, Literal, get_args

from .._errors import (
    AuditAccessError,
    AuditBusyError,
    AuditError,
    AuditInputError,
    AuditTamperedError,
    AuditTruncatedError,
    AuditUnavailableError,
    VerificationError,
)
from .._locking import flock_exclusive
from ..codec._cbor import dumps as _cbor_dumps
from ..keys import PublicKey, Signer, TrustStore

__all__ = [
    "CARD_KINDS",
    "KINDS",
    "MAX_DATA_BYTES",
    "MAX_DATA_DEPTH",
    "MAX_LINE_BYTES",
    "PROBLEMS",
    "ZERO_HASH",
    "AuditAccessError",
    "AuditAnchor",
    "AuditBusyError",
    "AuditEntry",
    "AuditError",
    "AuditInputError",
    "AuditLog",
    "AuditReport",
    "AuditTamperedError",
    "AuditTruncatedError",
    "AuditUnavailableError",
    "checkpoint_message",
    "events_for",
    "parse_anchor",
    "read_log",
    "verify_log",
]

Kind = Literal[
    "issue", "replacement", "renewal", "correction", "revocation", "key", "checkpoint"
]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
CARD_KINDS: Final[frozenset[str]] = frozenset(
    {"issue", "replacement", "renewal", "correction", "revocation"}
)

MAX_LINE_BYTES: Final = 64 * 1024
MAX_DATA_BYTES: Final = 4096
MAX_DATA_DEPTH: Final = 4
ZERO_HASH: Final = "0" * 64
CHECKPOINT_CONTEXT: Final = "cardlib audit checkpoint v1"

_FIELDS: Final = frozenset(
    {"seq", "at", "kind", "holder", "document_number", "data", "prev", "hash"}
)
_CHECKPOINT_FIELDS: Final = frozenset({"alg", "count", "head", "kid", "sig"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KID_HEX = re.compile(r"(?:[0-9a-f]{2}){1,64}")
_SIG_HEX = re.compile(r"[0-9a-f]{128}")
_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ANCHOR = re.compile(r"([1-9][0-9]{0,17}):([0-9a-f]{64})")
_INT_BOUND: Final = 2**63
_ALGORITHMS: Final = frozenset({"EdDSA", "ES256"})

# The problem codes an AuditTamperedError carries, with what each one means.
PROBLEMS: Final[Mapping[str, str]] = MappingProxyType({
    "line_too_long": "the line is longer than the log allows",
    "malformed": "the line is not a well-formed audit entry",
    "not_canonical": "the line is not written in the log's one canonical spelling",
    "hash_mismatch": "the entry's hash does not match its content: the entry was altered",
    "seq_mismatch": "the entry is not the next in sequence: entries were removed or reordered",
    "broken_link": "the entry's prev does not match the hash of the entry before it",
    "checkpoint_mismatch": "the checkpoint's count or head does not match the log before it",
    "key_unknown": "the checkpoint is signed by a key that is not trusted",
    "signature_invalid": "the checkpoint's signature does not verify",
    "truncated": "the log ends before the entry kept elsewhere (the anchor): entries were cut "
                 "from its end (AuditTruncatedError)",
    "anchor_mismatch": "the log's entry at the anchor's seq hashes to something else: the "
                       "history up to it was rewritten (AuditTruncatedError)",
})


class _Problem(Exception):
    """A problem found at one line, before its position is known."""

    def __init__(self, problem: str, detail: str, first_suspect: int | None = None) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
        self.first_suspect = first_suspect


# --- values ------------------------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _format_at(now: datetime) -> str:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise AuditInputError(f"now must be a timezone-aware datetime (UTC), got {now!r}")
    return now.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the log, as written. ``data`` is read-only (nested arrays are tuples)."""

    seq: int
    at: datetime
    kind: Kind
    holder: str | None
    document_number: str | None
    data: Mapping[str, Any]
    prev: str
    hash: str

    def _body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": _format_at(self.at),
            "kind": self.kind,
            "holder": self.holder,
            "document_number": self.document_number,
            "data": _thaw(self.data),
            "prev": self.prev,
        }

    def to_line(self) -> bytes:
        """The entry's line in the log, ``\\n`` included."""
        return _serialize({**self._body(), "hash": self.hash}) + b"\n"

    @classmethod
    def from_line(cls, line: bytes | str) -> AuditEntry:
        """Parse one line (``\\n`` optional) and check its hash; :class:`AuditInputError` if bad.

        Use it to load a checkpoint kept elsewhere as the ``anchor`` of :func:`verify_log`.
        """
        raw = line.encode("utf-8") if isinstance(line, str) else bytes(line)
        raw = raw.removesuffix(b"\n")
        if len(raw) > MAX_LINE_BYTES:
            raise AuditInputError(f"an audit line is at most {MAX_LINE_BYTES} bytes")
        try:
            return _parse(raw)
        except _Problem as problem:
            raise AuditInputError(f"not a sound audit entry ({problem.problem}: "
                                  f"{problem.detail})") from None


@dataclass(frozen=True, slots=True)
class AuditAnchor:
    """A point of the log kept elsewhere: entry ``seq`` and its ``hash``, written ``SEQ:HASH``.

    An entry's hash covers its ``prev``, so an anchor pins every entry up to ``seq``: a log that
    ends before ``seq``, or whose entry ``seq`` hashes to anything else, is not the log the
    anchor was taken from (:class:`AuditTruncatedError`). :attr:`AuditReport.anchor` gives the
    latest checkpoint's; ``AuditAnchor(report.entries, report.head)`` covers unsealed entries
    too. Read one back with :func:`parse_anchor`.
    """

    seq: int
    hash: str

    def __post_init__(self) -> None:
        if type(self.seq) is not int or not 1 <= self.seq < _INT_BOUND:
            raise AuditInputError("an anchor's seq is a positive integer (entries count from 1)")
        if not isinstance(self.hash, str) or not _HEX64.fullmatch(self.hash):
            raise AuditInputError("an anchor's hash is 64 lowercase hex digits")

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditAnchor:
        """The anchor at ``entry`` (usually a checkpoint)."""
        return cls(entry.seq, entry.hash)


def parse_anchor(text: str | bytes) -> AuditAnchor | AuditEntry:
    """Read an anchor kept elsewhere: ``SEQ:HASH`` (as ``cardlib audit verify`` and ``audit
    sync`` print it), or a checkpoint's whole line (its signature is then checked as well).

    White space around it is ignored; anything else raises :class:`AuditInputError`.
    """
    try:
        raw = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise AuditInputError("an anchor is UTF-8 text") from None
    if not isinstance(raw, str):
        raise AuditInputError("an anchor is text: SEQ:HASH or a checkpoint's line")
    stripped = raw.strip()
    if stripped.startswith("{"):
        entry = AuditEntry.from_line(stripped)
        if entry.kind != "checkpoint":
            raise AuditInputError(f"the anchor line is a {entry.kind!r} entry, not a checkpoint")
        return entry
    match = _ANCHOR.fullmatch(stripped)
    if match is None:
        raise AuditInputError("an anchor is written SEQ:HASH (an entry's number and its hash in "
                              "64 lowercase hex digits, as `cardlib audit verify` prints it) or "
                              "is a checkpoint's line")
    return AuditAnchor(int(match[1]), match[2])


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What :func:`verify_log` checked, returned only when every check passed.

    ``entries`` counts the entries (checkpoints included); ``head`` is the last entry's hash
    (64 zeros for an empty log); ``last_checkpoint`` is the last checkpoint entry and
    :attr:`anchor` its ``SEQ:HASH`` (keep it elsewhere and pass it back as ``anchor`` to catch
    a later truncation); ``unsealed`` counts the entries after it, which no signature covers
    yet; ``torn_tail_bytes`` counts the bytes after the last ``\\n`` that a crash left and that
    were ignored; ``anchored`` says whether an anchor was checked: without one, entries cut
    from the end of the log cannot be detected.
    """

    entries: int
    head: str
    checkpoints: int
    last_checkpoint: AuditEntry | None
    unsealed: int
    torn_tail_bytes: int
    anchored: bool = False

    @property
    def last_checkpoint_seq(self) -> int | None:
        return None if self.last_checkpoint is None else self.last_checkpoint.seq

    @property
    def anchor(self) -> AuditAnchor | None:
        """The anchor to keep elsewhere: the latest checkpoint (``None`` before the first)."""
        return None if self.last_checkpoint is None else AuditAnchor.of(self.last_checkpoint)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What this report cannot vouch for, in words for the reader."""
        found: list[str] = []
        if not self.anchored:
            found.append("no anchor was checked, so entries cut from the end of the log cannot "
                         "be detected: keep the anchor elsewhere and give it to the next "
                         "verify or sync")
        if self.unsealed:
            what = ("1 entry follows" if self.unsealed == 1
                    else f"{self.unsealed} entries follow")
            found.append(f"{what} the last checkpoint: no signature covers them yet, nor does "
                         "its anchor; seal the log with a checkpoint")
        return tuple(found)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON values (what ``cardlib audit verify --json`` prints)."""
        return {"status": "valid", "entries": self.entries, "head": self.head,
                "checkpoints": self.checkpoints, "last_checkpoint_seq": self.last_checkpoint_seq,
                "unsealed": self.unsealed, "torn_tail_bytes": self.torn_tail_bytes,
                "anchored": self.anchored,
                "anchor": None if self.anchor is None else str(self.anchor),
                "warnings": list(self.warnings)}


# --- encoding and parsing ----------------------------------------------------------------------


def _serialize(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _entry_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_cbor_dumps(dict(body))).hexdigest()


def checkpoint_message(count: int, head: str, at: str) -> bytes:
    """The bytes a checkpoint signature covers (see the module documentation)."""
    return _cbor_dumps([CHECKPOINT_CONTEXT, count, bytes.fromhex(head), at])


def _check_data(value: Any, depth: int) -> None:
    """Raise ValueError unless ``value`` is a bounded JSON value without floats."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT_BOUND < value < _INT_BOUND:
            raise ValueError("an integer in data is out of range (|n| < 2**63)")
        return
    if isinstance(value, str):
        value.encode("utf-8")  # refuses lone surrogates
        return
    if depth >= MAX_DATA_DEPTH:
        raise ValueError(f"data nests deeper than {MAX_DATA_DEPTH} levels")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("data keys must be text")
            key.encode("utf-8")
            _check_data(item, depth + 1)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_data(item, depth + 1)
        return
    raise ValueError(f"data holds a {type(value).__name__}; use text, integers, booleans, "
                     "null, arrays and objects")


def _validated_data(data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError("data must be a JSON object")
    _check_data(data, 0)
    plain: dict[str, Any] = _thaw(data)
    if len(_serialize(plain)) > MAX_DATA_BYTES:
        raise ValueError(f"data is larger than {MAX_DATA_BYTES} bytes as JSON")
    return plain


def _check_parties(kind: str, holder: object, document_number: object) -> None:
    for name, value in (("holder", holder), ("document_number", document_number)):
        if value is not None and (not isinstance(value, str) or not _IDENTIFIER.fullmatch(value)):
            raise ValueError(f"{name} must be 1-64 letters, digits, '.', '_' or '-'")
    if kind in CARD_KINDS and (holder is None or document_number is None):
        raise ValueError(f"a {kind!r} entry names the holder and the document number")
    if kind not in CARD_KINDS and (holder is not None or document_number is not None):
        raise ValueError(f"a {kind!r} entry names no holder and no document number")


def _check_checkpoint_data(data: Mapping[str, Any]) -> None:
    if set(data) != _CHECKPOINT_FIELDS:
        raise ValueError(f"checkpoint data has exactly the fields {sorted(_CHECKPOINT_FIELDS)}")
    count = data["count"]
    if type(count) is not int or count < 0:
        raise ValueError("checkpoint count must be a non-negative integer")
    if not isinstance(data["head"], str) or not _HEX64.fullmatch(data["head"]):
        raise ValueError("checkpoint head must be 64 lowercase hex digits")
    if data["alg"] not in _ALGORITHMS:
        raise ValueError(f"checkpoint alg must be one of {sorted(_ALGORITHMS)}")
    if not isinstance(data["kid"], str) or not _KID_HEX.fullmatch(data["kid"]):
        raise ValueError("checkpoint kid must be 1-64 bytes in lowercase hex")
    if not isinstance(data["sig"], str) or not _SIG_HEX.fullmatch(data["sig"]):
        raise ValueError("checkpoint sig must be a 64-byte signature in lowercase hex")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _refuse_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed ({text[:20]})")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("an object repeats a key")
    return out


def _parse(raw: bytes) -> AuditEntry:
    """Parse one line (without ``\\n``) and check it alone: form, fields, canonical spelling and
    hash. Raise :class:`_Problem`; the chain (seq, prev, checkpoint head) is checked by the
    caller."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_float=_refuse_float,
                           parse_constant=_refuse_constant, object_pairs_hook=_pairs)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, bad UTF-8, refusals
        raise _Problem("malformed", f"not a JSON entry ({err})") from None
    try:
        if not isinstance(value, dict) or set(value) != _FIELDS:
            raise ValueError(f"an entry is an object with exactly the fields {sorted(_FIELDS)}")
        seq, at, kind, data = value["seq"], value["at"], value["kind"], value["data"]
        if type(seq) is not int or seq < 1:
            raise ValueError("seq must be a positive integer")
        if not isinstance(at, str) or not _AT.fullmatch(at):
            raise ValueError("at must be a UTC time written YYYY-MM-DDTHH:MM:SS.ffffffZ")
        moment = datetime.fromisoformat(at[:-1]).replace(tzinfo=UTC)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        _check_parties(kind, value["holder"], value["document_number"])
        if not isinstance(data, dict):
            raise ValueError("data must be an object")
        _validated_data(data)
        if kind == "checkpoint":
            _check_checkpoint_data(data)
        for name in ("prev", "hash"):
            if not isinstance(value[name], str) or not _HEX64.fullmatch(value[name]):
                raise ValueError(f"{name} must be 64 lowercase hex digits")
        if _serialize(value) != raw:
            raise _Problem("not_canonical", "the line is not in the log's canonical spelling "
                           "(sorted keys, no spaces, UTF-8)")
    except (ValueError, UnicodeEncodeError) as err:
        raise _Problem("malformed", str(err)) from None
    body = {k: v for k, v in value.items() if k != "hash"}
    computed = _entry_hash(body)
    if computed != value["hash"]:
        raise _Problem("hash_mismatch", f"the entry hashes to {computed[:16]}…, not to the "
                       f"recorded {value['hash'][:16]}…: its content was altered")
    return AuditEntry(seq, moment, kind, value["holder"], value["document_number"],
                      _freeze(data), value["prev"], value["hash"])


# --- reading ----------------------------------------------------------------------------------


def _lines(handle: BinaryIO) -> Iterator[tuple[int, bytes, bool]]:
    """Yield ``(line_number, content, complete)``; the last item may be a torn tail."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if raw.endswith(b"\n"):
            yield number, raw[:-1], True
        elif len(raw) > MAX_LINE_BYTES:
            raise AuditTamperedError("line_too_long", f"the line is longer than "
                                     f"{MAX_LINE_BYTES} bytes", line=number, seq=number)
        else:
            yield number, raw, False
            return


def _candidates(trusted: PublicKey | TrustStore, kid: bytes, alg: str) -> tuple[PublicKey, ...]:
    keys = trusted.by_kid(kid) if isinstance(trusted, TrustStore) else (
        (trusted,) if trusted.kid == kid else ())
    return tuple(key for key in keys if key.algorithm == alg)


def _check_signature(entry: AuditEntry, trusted: PublicKey | TrustStore) -> None:
    data = entry.data
    kid = bytes.fromhex(data["kid"])
    keys = _candidates(trusted, kid, data["alg"])
    if not keys:
        raise _Problem("key_unknown", f"the checkpoint is signed by key {data['kid']} "
                       f"({data['alg']}), which is not among the trusted keys")
    message = checkpoint_message(data["count"], data["head"], _format_at(entry.at))
    signature = bytes.fromhex(data["sig"])
    for key in keys:
        if key.valid_from is not None and entry.at < key.valid_from:
            continue
        if key.valid_until is not None and entry.at > key.valid_until:
            continue
        if key.revoked_at is not None and entry.at >= key.revoked_at:
            continue
        try:
            key.verify(signature, message)
        except VerificationError:
            continue
        return
    raise _Problem("signature_invalid", f"the signature does not verify under key "
                   f"{data['kid']}, or that key was not valid at {_format_at(entry.at)}")


def _walk(
    path: str | os.PathLike[str],
    trusted: PublicKey | TrustStore | None,
    anchor: AuditAnchor | AuditEntry | None,
    keep: Callable[[AuditEntry], bool],
) -> tuple[AuditReport, tuple[AuditEntry, ...]]:
    """Check the whole log in order and raise at the first problem; collect the kept entries."""
    if anchor is not None and not isinstance(anchor, AuditAnchor):
        if not isinstance(anchor, AuditEntry) or anchor.kind != "checkpoint":
            raise AuditInputError("the anchor is an AuditAnchor (SEQ:HASH) or a checkpoint "
                                  "entry kept from an earlier verification")
        if trusted is not None:
            try:
                _check_signature(anchor, trusted)
            except _Problem as problem:
                raise AuditInputError(f"the anchor itself does not verify ({problem.problem}: "
                                      f"{problem.detail})") from None
    kept: list[AuditEntry] = []
    head, count, checkpoints, torn = ZERO_HASH, 0, 0, 0
    last_checkpoint: AuditEntry | None = None
    try:
        handle = open(path, "rb")  # noqa: SIM115  # closed below
    except FileNotFoundError:
        raise AuditUnavailableError(f"there is no audit log at {os.fspath(path)}") from None
    except OSError as err:
        raise AuditUnavailableError(f"cannot open the audit log {os.fspath(path)} ({err})") from err
    with handle:
        try:
            for number, raw, complete in _lines(handle):
                if not complete:
                    torn = len(raw)
                    break
                try:
                    entry = _parse(raw)
                    if entry.seq != number:
                        detail = (f"seq {number} belongs here, found seq {entry.seq}: "
                                  + ("entries were removed or reordered" if entry.seq > number
                                     else "an entry was repeated or reordered"))
                        raise _Problem("seq_mismatch", detail)
                    if entry.prev != head:
                        raise _Problem("broken_link", f"prev is {entry.prev[:16]}…, but entry "
                                       f"{number - 1} hashes to {head[:16]}…: one of the two "
                                       "was altered", first_suspect=max(number - 1, 1))
                    if entry.kind == "checkpoint":
                        since = 1 if last_checkpoint is None else last_checkpoint.seq + 1
                        if entry.data["count"] != number - 1 or entry.data["head"] != head:
                            raise _Problem("checkpoint_mismatch", "the checkpoint does not seal "
                                           f"the {number - 1} entries before it",
                                           first_suspect=since)
                        if trusted is not None:
                            try:
                                _check_signature(entry, trusted)
                            except _Problem as problem:
                                problem.first_suspect = since
                                raise
                        checkpoints += 1
                        last_checkpoint = entry
                except _Problem as problem:
                    raise AuditTamperedError(problem.problem, problem.detail, line=number,
                                             seq=number,
                                             first_suspect=problem.first_suspect) from None
                if anchor is not None and number == anchor.seq and entry.hash != anchor.hash:
                    raise AuditTruncatedError(
                        "anchor_mismatch", f"entry {number} hashes to {entry.hash[:16]}…, not "
                        f"to the anchor's {anchor.hash[:16]}…: the history up to it was "
                        "rewritten", line=number, seq=number, first_suspect=1,
                        anchor=f"{anchor.seq}:{anchor.hash}")
                head, count = entry.hash, number
                if keep(entry):
                    kept.append(entry)
        except OSError as err:
            raise AuditUnavailableError(f"cannot read the audit log ({err})") from err
    if anchor is not None and count < anchor.seq:
        missing = (f"entry {anchor.seq} is missing" if count + 1 == anchor.seq
                   else f"entries {count + 1} to {anchor.seq} are missing")
        raise AuditTruncatedError(
            "truncated", f"the log ends after entry {count}, but the anchor is entry "
            f"{anchor.seq}: {missing} (cut from the end, or the file was replaced by an older "
            "copy)", line=count + 1, seq=count + 1, anchor=f"{anchor.seq}:{anchor.hash}")
    unsealed = count if last_checkpoint is None else count - last_checkpoint.seq
    report = AuditReport(count, head, checkpoints, last_checkpoint, unsealed, torn,
                         anchored=anchor is not None)
    return report, tuple(kept)


def verify_log(
    path: str | os.PathLike[str],
    trusted: PublicKey | TrustStore,
    *,
    anchor: AuditAnchor | AuditEntry | None = None,
) -> AuditReport:
    """Re-check every line, hash, link and checkpoint signature; raise at the first problem.

    Raises :class:`AuditTamperedError` naming the first line that is wrong (see its
    ``problem``, ``line``, ``seq`` and ``first_suspect``); returns an :class:`AuditReport` when
    all is sound. ``anchor`` is a point kept from an earlier run (``report.anchor``, or
    :func:`parse_anchor` of its ``SEQ:HASH`` or of a checkpoint's line, whose signature is then
    checked too): the log must still hold that entry unchanged, else
    :class:`AuditTruncatedError` (a subclass), so removing entries from the end up to or past
    it is caught. Without an anchor such a cut cannot be seen (``report.anchored`` is false).
    """
    if not isinstance(trusted, PublicKey | TrustStore):
        raise AuditInputError("trusted is the registry's PublicKey or a TrustStore")
    report, _ = _walk(path, trusted, anchor, lambda entry: False)
    return report


def read_log(
    path: str | os.PathLike[str],
    trusted: PublicKey | TrustStore | None = None,
    *,
    anchor: AuditAnchor | AuditEntry | None = None,
) -> tuple[AuditReport, tuple[AuditEntry, ...]]:
    """Every entry of the log, returned only after the whole log checks (what a writer reads
    before it extends a log: ``cardlib audit sync`` refuses a log that does not).

    The checks of :func:`verify_log`, the anchor's included; checkpoint signatures are checked
    only when ``trusted`` is given (without it: lines, hashes, links and checkpoint form).
    """
    if trusted is not None and not isinstance(trusted, PublicKey | TrustStore):
        raise AuditInputError("trusted is the registry's PublicKey, a TrustStore or None")
    return _walk(path, trusted, anchor, lambda entry: True)


def events_for(
    path: str | os.PathLike[str],
    *,
    holder: str,
    document_number: str,
    trusted: PublicKey | TrustStore | None = None,
) -> tuple[AuditEntry, ...]:
    """The holder view: every entry about ``holder``, in log order.

    The holder proves the request with one of their own document numbers: at least one entry
    for ``holder`` must name ``document_number``; otherwise :class:`AuditAccessError`, the same
    whether the number is unknown or the document is someone else's. The whole log is checked
    on the way (lines, hashes, links, checkpoint form; checkpoint signatures too when
    ``trusted`` is given) and :class:`AuditTamperedError` is raised if it is unsound: a holder
    is never shown a history that does not check.
    """
    for name, value in (("holder", holder), ("document_number", document_number)):
        if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
            raise AuditInputError(f"{name} must be 1-64 letters, digits, '.', '_' or '-'")
    _, found = _walk(path, trusted, None, lambda entry: entry.holder == holder)
    if not any(entry.document_number == document_number for entry in found):
        raise AuditAccessError("no history can be shown for this national number and "
                               "document number; check both numbers on the card")
    return found


# --- writing ----------------------------------------------------------------------------------


class AuditLog:
    """The writer side of one log file. Use as a context manager, or call :meth:`close`.

    Safe to share between threads, and between processes through the file lock.
    """

    __slots__ = ("_fd", "_lock_timeout", "_mutex", "_path")

    def __init__(self, path: Path, fd: int, lock_timeout: float | None) -> None:
        self._path = path
        self._fd: int | None = fd
        self._lock_timeout = lock_timeout
        self._mutex = threading.Lock()

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, lock_timeout: float | None = None
    ) -> AuditLog:
        """Open (or create, mode 0600) the log at ``path`` for appending.

        By default a write waits for another writer's lock as long as it takes (the kernel
        queues the waiters). ``lock_timeout`` bounds that wait instead, polling the lock, and
        raises :class:`AuditBusyError` when it runs out (polling is not fair: under a steady
        stream of writes from elsewhere, a bounded wait can run out).
        """
        if lock_timeout is not None and (
            not isinstance(lock_timeout, int | float) or lock_timeout < 0
        ):
            raise AuditInputError("lock_timeout must be None or a non-negative number of seconds")
        target = Path(path)
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
        try:
            try:
                fd = os.open(target, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                fd = os.open(target, flags)
            else:
                _fsync_dir(target.parent)
        except OSError as err:
            raise AuditUnavailableError(f"cannot open the audit log {target} ({err})") from err
        return cls(target, fd, None if lock_timeout is None else float(lock_timeout))

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def append(
        self,
        kind: str,
        *,
        now: datetime,
        holder: str | None = None,
        document_number: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one event and return it once it is on disk (written and fsynced).

        Card events (``issue``, ``replacement``, ``renewal``, ``correction``, ``revocation``)
        need ``holder`` and ``document_number``; ``key`` events take neither. Checkpoints are
        written by :meth:`checkpoint`.
        """
        if kind == "checkpoint":
            raise AuditInputError("write checkpoints with AuditLog.checkpoint(signer, now=...)")
        if kind not in KINDS:
            raise AuditInputError(f"kind must be one of {KINDS[:-1]}, got {kind!r}")
        at = _format_at(now)
        try:
            _check_parties(kind, holder, document_number)
            plain = _validated_data({} if data is None else data)
        except (ValueError, UnicodeEncodeError) as err:
            raise AuditInputError(str(err)) from None
        with self._locked() as (seq, prev):
            return self._write(seq, prev, kind, at, holder, document_number, plain)

    def checkpoint(self, signer: Signer, *, now: datetime) -> AuditEntry:
        """Append a checkpoint sealing every entry so far, signed by ``signer`` (the registry
        key: a :class:`cardlib.PrivateKey` or any :class:`cardlib.Signer`)."""
        if not isinstance(signer, Signer):
            raise AuditInputError("signer must be a cardlib Signer (a PrivateKey, for example)")
        if signer.algorithm not in _ALGORITHMS or not 1 <= len(signer.kid) <= 64:
            raise AuditInputError(f"the signer's algorithm must be one of {sorted(_ALGORITHMS)} "
                                  "and its kid 1-64 bytes")
        at = _format_at(now)
        with self._locked() as (seq, prev):
            signature = signer.sign(checkpoint_message(seq - 1, prev, at))
            if not isinstance(signature, bytes) or len(signature) != 64:
                raise AuditInputError("the signer returned a signature that is not 64 bytes")
            data = {"alg": signer.algorithm, "count": seq - 1, "head": prev,
                    "kid": signer.kid.hex(), "sig": signature.hex()}
            return self._write(seq, prev, "checkpoint", at, None, None, data)

    # -- internals

    def _write(self, seq: int, prev: str, kind: Kind, at: str, holder: str | None,
               document_number: str | None, data: dict[str, Any]) -> AuditEntry:
        body = {"seq": seq, "at": at, "kind": kind, "holder": holder,
                "document_number": document_number, "data": data, "prev": prev}
        digest = _entry_hash(body)
        line = _serialize({**body, "hash": digest})
        if len(line) > MAX_LINE_BYTES:  # unreachable with MAX_DATA_BYTES, kept as a guard
            raise AuditInputError(f"the entry is longer than {MAX_LINE_BYTES} bytes")
        _write_all(self._require_fd(), line + b"\n")
        moment = datetime.fromisoformat(at[:-1]).replace(tzinfo=UTC)
        return AuditEntry(seq, moment, kind, holder, document_number, _freeze(data), prev,
                          digest)

    def _require_fd(self) -> int:
        if self._fd is None:
            raise AuditInputError("this audit log is closed")
        return self._fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[tuple[int, str]]:
        """Hold the thread and file locks; yield the next ``(seq, prev)`` after a sound tail."""
        with self._mutex:
            fd = self._require_fd()
            try:
                flock_exclusive(fd, self._lock_timeout)
            except BlockingIOError:
                raise AuditBusyError(
                    f"another writer has held the audit log {self._path} for over "
                    f"{self._lock_timeout:g} s; try again, or look for a stuck process"
                ) from None
            except OSError as err:
                raise AuditUnavailableError(f"cannot lock the audit log ({err})") from err
            try:
                try:
                    yield _prepare_tail(fd)
                except OSError as err:
                    raise AuditUnavailableError(
                        f"cannot write the audit log {self._path} ({err})") from err
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prepare_tail(fd: int) -> tuple[int, str]:
    """Drop a torn tail, check the last complete line, and return the next ``(seq, prev)``.

    Reads backwards from the end, at most two lines' worth of bytes.
    """
    size = os.fstat(fd).st_size
    window = min(size, 8192)
    cap = 2 * (MAX_LINE_BYTES + 1)
    while True:
        chunk = os.pread(fd, window, size - window)
        end = chunk.rfind(b"\n")
        start = chunk.rfind(b"\n", 0, end) if end >= 0 else -1
        if start >= 0 or window == size or window >= cap:
            break
        window = min(size, window * 2, cap)
    if end < 0:
        if window < size:  # no newline in the last `cap` bytes: a line far too long
            raise AuditTamperedError("line_too_long", "the end of the log is not a sequence of "
                                     "lines; run `cardlib audit verify`", line=None, seq=None)
        complete = 0
    else:
        complete = size - window + end + 1
    if size - complete > MAX_LINE_BYTES:
        raise AuditTamperedError("line_too_long", "the log ends in an overlong unterminated line",
                                 line=None, seq=None)
    if complete < size:  # a torn tail a crash left; it was never acknowledged
        os.ftruncate(fd, complete)
        os.fsync(fd)
    if complete == 0:
        return 1, ZERO_HASH
    if start < 0 and window < size:
        raise AuditTamperedError("line_too_long", "the last line of the log is longer than "
                                 f"{MAX_LINE_BYTES} bytes", line=None, seq=None)
    last = chunk[start + 1 : end]
    try:
        entry = _parse(last)
    except _Problem as problem:
        raise AuditTamperedError(
            problem.problem, f"the last entry of the log is damaged ({problem.detail}); nothing "
            "was appended. Run `cardlib audit verify` to find the first problem",
            line=None, seq=None) from None
    return entry.seq + 1, entry.hash
