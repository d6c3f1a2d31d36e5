"""Who may verify, what each caller sees, and the record of every look at a card.

* **API keys** are random tokens ``cvk_<id>_<secret>`` shown once. The store keeps the id, the
  owner (the agency), the role and the SHA-256 of the secret (the secret has 256 bits of
  entropy, so a plain hash is as strong as a slow one); a presented token is compared with
  ``hmac.compare_digest``.
* **Roles** decide what a key may call (``admin``) and which card fields it sees: a table,
  configurable (``VERIFIER_ROLES``), with the defaults :data:`DEFAULT_ROLES`.
* **Access events**: every verification by a key records the agency, the time, the declared
  purpose, the outcome and a keyed hash (HMAC-SHA-256, with the service's own secret) of the
  document number, never the number, the name or the payload. They are written by a background
  writer in batches (:class:`EventWriter`), so a verification never waits for the disk.

The store is SQLite in the data directory (the embedded default).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import queue
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ._db import StoreError, create_tables, open_database
from ._errors import NotFoundError, RequestInvalidError

_VERDICTS: Final = frozenset({"valid", "revoked", "unknown", "invalid"})
TOKEN_PREFIX: Final = "cvk_"  # noqa: S105 (a prefix, not a secret)
_ID_BYTES, _SECRET_BYTES = 6, 32


@dataclass(frozen=True)
class Role:
    """What a role may do: call the admin API, and see which card fields (None: all)."""

    name: str
    admin: bool = False
    ingest: bool = False  # may hand in access events recorded elsewhere (an edge node)
    record_fields: frozenset[str] | None = None  # fields of card.record it sees
    claims_fields: frozenset[str] | None = None  # fields of card.claims it sees


_CHECKPOINT = Role(
    "checkpoint",
    record_fields=frozenset({"category", "name_ar", "name_latin", "sex", "date_of_birth",
                             "photo", "photo_format", "document_number", "issue_date",
                             "expiry_date", "centre_code"}),
    claims_fields=frozenset({"full_name", "first_name", "middle_name", "last_name",
                             "secondary_full_name", "secondary_language", "gender",
                             "date_of_birth", "photo", "photo_format", "location_code"}),
)
#: admin: everything, and the admin API; verifier: all fields; checkpoint: names, photo,
#: validity and status (no numbers, address, phone, e-mail, mother's name or birthplace);
#: edge: an edge node handing in its access events (and fetching lists), no card fields.
DEFAULT_ROLES: Final[Mapping[str, Role]] = {
    "admin": Role("admin", admin=True),
    "verifier": Role("verifier"),
    "checkpoint": _CHECKPOINT,
    "edge": Role("edge", ingest=True, record_fields=frozenset(), claims_fields=frozenset()),
}


def roles_from_json(table: Mapping[str, Any]) -> dict[str, Role]:
    """A role table from settings: ``{"name": {"admin": bool, "record_fields": [...] | null,
    "claims_fields": [...] | null}}``; unknown members are refused."""
    out: dict[str, Role] = {}
    for name, spec in table.items():
        if not isinstance(spec, Mapping) or set(spec) - {"admin", "ingest", "record_fields",
                                                         "claims_fields"}:
            raise ValueError(f"role {name!r}: members are admin, ingest, record_fields, "
                             "claims_fields")
        fields = {}
        for member in ("record_fields", "claims_fields"):
            value = spec.get(member)
            if value is not None and not (isinstance(value, list)
                                          and all(isinstance(v, str) for v in value)):
                raise ValueError(f"role {name!r}: {member} is a list of field names or null")
            fields[member] = None if value is None else frozenset(value)
        out[name] = Role(name, bool(spec.get("admin", False)), bool(spec.get("ingest", False)),
                         **fields)
    return out


def visible(answer: dict[str, Any], role: Role) -> dict[str, Any]:
    """``answer`` (a fresh ``VerificationResult.to_json()``) with only the card fields the role
    sees; the verdict, the signer and the lists are always shown. A role with restricted
    fields also gets no copy of the card's own data from elsewhere in the answer: the CWT
    subject, the QR text, the MRZ lines of a scan (which carry the numbers and names) and
    the numbers of other cards in the picture."""
    card = answer.get("card")
    restricted = role.record_fields is not None or role.claims_fields is not None
    if card is not None:
        for member, allowed in (("record", role.record_fields), ("claims", role.claims_fields)):
            fields = card.get(member)
            if allowed is not None and isinstance(fields, dict):
                card[member] = {k: v for k, v in fields.items() if k in allowed}
        if restricted:
            card["subject"] = None
    scan = answer.get("scan")
    if restricted and isinstance(scan, dict):
        scan["barcodes"] = [{"format": b.get("format"), "text": None}
                            for b in scan.get("barcodes") or []]
        scan["mrz"] = None
        scan["other_cards"] = [None for _ in scan.get("other_cards") or []]
    return answer


@dataclass(frozen=True)
class ApiKey:
    """A key as the store keeps it (never the secret)."""

    id: str
    owner: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "role": self.role,
                "created_at": _iso(self.created_at),
                "revoked_at": None if self.revoked_at is None else _iso(self.revoked_at)}


@dataclass(frozen=True)
class AccessEvent:
    """One verification by a key (what the holder's own view will list)."""

    key_id: str
    agency: str
    at: datetime
    purpose: str | None
    status: str
    code: str | None
    document_hmac: str | None  # HMAC-SHA-256 of the document number, hex
    event_id: str = ""  # unique (random); "" until stored, which assigns one

    def to_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "key_id": self.key_id, "agency": self.agency,
                "at": _iso(self.at), "purpose": self.purpose, "status": self.status,
                "code": self.code, "document_hmac": self.document_hmac}

    @classmethod
    def from_json(cls, item: Any) -> AccessEvent:
        """An event handed in by an edge node, checked member by member."""
        texts = ("event_id", "key_id", "agency", "at", "status")
        if (not isinstance(item, dict) or set(item) != {*texts, "purpose", "code",
                                                         "document_hmac"}
                or not all(isinstance(item[k], str) and 0 < len(item[k]) <= 128
                           and item[k].isprintable() for k in texts)
                or not all(item[k] is None or (isinstance(item[k], str) and len(item[k]) <= 128
                                               and item[k].isprintable())
                           for k in ("purpose", "code", "document_hmac"))
                or item["status"] not in _VERDICTS):
            raise RequestInvalidError("an access event has exactly the members event_id, "
                                      "key_id, agency, at, purpose, status, code, document_hmac")
        try:
            at = _parse(item["at"])
        except ValueError:
            raise RequestInvalidError("an access event's time is YYYY-MM-DDTHH:MM:SS.ffffffZ") \
                from None
        return cls(item["key_id"], item["agency"], at, item["purpose"],  # type: ignore[arg-type]
                   item["status"], item["code"], item["document_hmac"], item["event_id"])


def _iso(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 (3 × faster than strftime)
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
        moment.microsecond)


Row = tuple[str, str, str, str, str | None, str, str | None, str | None, int, str | None]


def event_row(event: AccessEvent, shipped: bool = False, via: str | None = None) -> Row:
    """An event as the store's row (an id is drawn for an event that has none). ``via``: the
    key of the edge node that handed it in (None for a look made here)."""
    return (event.event_id or secrets.token_hex(16), event.key_id, event.agency, _iso(event.at),
            event.purpose, event.status, event.code, event.document_hmac, int(shipped), via)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, role TEXT NOT NULL, secret_sha256 BLOB NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS access_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, key_id TEXT NOT NULL,
    agency TEXT NOT NULL, at TEXT NOT NULL, purpose TEXT, status TEXT NOT NULL, code TEXT,
    document_hmac TEXT, shipped INTEGER NOT NULL DEFAULT 0, via TEXT);
CREATE INDEX IF NOT EXISTS access_events_document ON access_events (document_hmac);
CREATE UNIQUE INDEX IF NOT EXISTS access_events_handed_in ON access_events (event_id)
    WHERE via IS NOT NULL;
"""
# Event ids are random (128 bits): a look recorded here never collides with another. Events
# handed in by edge nodes are unique by id (a batch sent again is stored once); keeping that
# index to them spares every local event one more index insert (11.0 → 7.1 µs an event).


class AccessStore:
    """API keys and access events (SQLite in the data directory, or the shared PostgreSQL)."""

    def __init__(self, path: Path, roles: Mapping[str, Role], *, url: str | None = None,
                 cache_seconds: float = 0.0) -> None:
        self._roles = roles
        self._db = open_database(url, path)
        create_tables(self._db, _SCHEMA)
        # Keys recently authenticated, so a request does not wait for the store: a key revoked
        # through another process stops working within ``cache_seconds``; through this one, at
        # once. Bounded; only live keys are kept.
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey, Role]] = {}

    def close(self) -> None:
        self._db.close()

    def create_key(self, owner: str, role: str, *, now: datetime) -> tuple[ApiKey, str]:
        """A new key and its token (shown once; only its hash is kept)."""
        owner = owner.strip() if isinstance(owner, str) else ""
        if not 0 < len(owner) <= 128 or not owner.isprintable():
            raise RequestInvalidError("the key's owner (the agency) is 1-128 printable characters")
        if role not in self._roles:
            raise RequestInvalidError(f"unknown role {role!r}; the roles are "
                                      f"{', '.join(sorted(self._roles))}")
        key_id, secret = secrets.token_hex(_ID_BYTES), secrets.token_urlsafe(_SECRET_BYTES)
        key = ApiKey(key_id, owner, role, now)
        self._db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                         (key_id, owner, role, _digest(secret), _iso(now)))
        return key, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def api_keys(self) -> list[ApiKey]:
        rows = self._db.rows("SELECT id, owner, role, created_at, revoked_at FROM api_keys "
                             "ORDER BY created_at, id")
        return [ApiKey(i, o, r, _parse(c), _parse(v)) for i, o, r, c, v in rows]  # type: ignore[arg-type]

    def revoke_key(self, key_id: str, *, now: datetime) -> ApiKey:
        changed = self._db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND "
                                   "revoked_at IS NULL", (_iso(now), key_id))
        self._cache.clear()
        found = [key for key in self.api_keys() if key.id == key_id]
        if not found:
            raise NotFoundError(f"no API key has the id {key_id!r}")
        if not changed and found[0].revoked_at is None:
            raise NotFoundError(f"the API key {key_id!r} could not be revoked")
        return found[0]

    def authenticate(self, token: str) -> tuple[ApiKey, Role] | None:
        """The live key behind ``token`` and its role, or None (unknown, revoked or malformed:
        the caller is not told which)."""
        cached = self._cache.get(token)
        if cached is not None:
            if cached[0] > time.monotonic():
                return cached[1], cached[2]
            self._cache.pop(token, None)
        found = self._authenticate(token)
        if found is not None and self._cache_seconds > 0:
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[token] = (time.monotonic() + self._cache_seconds, *found)
        return found

    def _authenticate(self, token: str) -> tuple[ApiKey, Role] | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        key_id, _, secret = token[len(TOKEN_PREFIX):].partition("_")
        if not key_id or not secret or not secret.isascii():
            return None
        found_rows = self._db.rows("SELECT owner, role, secret_sha256, created_at, revoked_at "
                                   "FROM api_keys WHERE id = ?", (key_id,))
        row = found_rows[0] if found_rows else None
        if row is None:
            hmac.compare_digest(_digest(secret), bytes(32))  # the same work either way
            return None
        owner, role, stored, created, revoked = row
        if not hmac.compare_digest(_digest(secret), bytes(stored)) or revoked is not None:
            return None
        found = self._roles.get(role)
        if found is None:  # a role removed from the table since the key was made
            return None
        return ApiKey(key_id, owner, role, _parse(created)), found  # type: ignore[arg-type]

    def record(self, events: Iterable[AccessEvent], *, shipped: bool = False,
               via: str | None = None) -> int:
        """Store events (each once: an event id already stored is skipped, so an edge node's
        batch handed in twice counts once). ``shipped``: they need not be handed upstream."""
        return self.record_rows([event_row(e, shipped, via) for e in events])

    def record_rows(self, rows: list[Row]) -> int:
        if rows:
            self._db.insert("INSERT OR IGNORE INTO access_events (event_id, key_id, agency, "
                            "at, purpose, status, code, document_hmac, shipped, via)", rows)
        return len(rows)

    def unshipped(self, limit: int) -> list[tuple[int, AccessEvent]]:
        """The oldest events not yet handed to the upstream service, each with its row number
        (what :meth:`mark_shipped` takes)."""
        rows = self._db.rows(
            "SELECT seq, key_id, agency, at, purpose, status, code, document_hmac, event_id "
            "FROM access_events WHERE shipped = 0 AND via IS NULL ORDER BY seq LIMIT ?",
            (limit,))
        return [(q, AccessEvent(k, a, _parse(t), p, s, c, d, i))  # type: ignore[arg-type]
                for q, k, a, t, p, s, c, d, i in rows]

    def mark_shipped(self, rows: Iterable[int]) -> None:
        self._db.many("UPDATE access_events SET shipped = 1 WHERE seq = ?",
                      [(q,) for q in rows])

    def handed_in_by(self, event_id: str) -> str | None:
        """The key of the edge node that handed an event in (None: recorded here)."""
        rows = self._db.rows("SELECT via FROM access_events WHERE event_id = ? AND via IS NOT "
                             "NULL", (event_id,))
        return rows[0][0] if rows else None

    def events(self, document_hmac: str | None = None, *, limit: int | None = None
               ) -> list[AccessEvent]:
        """The recorded events, newest first (all, or those of one document; at most
        ``limit``)."""
        query = ("SELECT key_id, agency, at, purpose, status, code, document_hmac, event_id "
                 "FROM access_events")
        arguments: tuple[str, ...] = ()
        if document_hmac is not None:
            query += " WHERE document_hmac = ?"
            arguments = (document_hmac,)
        query += " ORDER BY seq DESC" + ("" if limit is None else f" LIMIT {int(limit)}")
        rows = self._db.rows(query, arguments)
        return [AccessEvent(k, a, _parse(t), p, s, c, d, i)  # type: ignore[arg-type]
                for k, a, t, p, s, c, d, i in rows]


def hmac_key(path: Path, given: str | None = None) -> bytes:
    """The service's secret for hashing document numbers: ``given`` (hex; an edge node is given
    its central service's, so their events name cards alike), else created once, owner-only."""
    import os
    import tempfile

    if given is not None:
        try:
            secret = bytes.fromhex(given)
        except ValueError:
            secret = b""
        if len(secret) < 16:
            raise ValueError("VERIFIER_HMAC_KEY is at least 16 bytes, written in hex")
        return secret
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, staged = tempfile.mkstemp(prefix=".access-hmac.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:  # written in full before it has its name
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(staged, path)  # atomic: the first process's key wins
        finally:
            os.unlink(staged)
        secret = path.read_bytes()
    if len(secret) < 16:
        raise ValueError(f"{path} holds no usable key (under 16 bytes): restore it from a "
                         "backup, or remove it to start new hashes")
    return secret


def document_hmac(secret: bytes, document_number: str) -> str:
    """HMAC-SHA-256 of the document number under ``secret``, hex. From a keyed state made once
    per secret (``hmac.digest`` looks the digest up in OpenSSL on every call)."""
    keyed = _keyed(secret).copy()
    keyed.update(document_number.encode("utf-8"))
    return keyed.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    return hmac.new(secret, digestmod=hashlib.sha256)


class EventWriter:
    """Writes access events in the background, in batches; :meth:`close` writes what is left.

    A failed write is retried on the next batch (events are kept, never dropped); ``pending``
    is how many wait (reported by /metrics).
    """

    def __init__(self, store: AccessStore, *, batch: int = 256, interval: float = 0.05) -> None:
        self._store = store
        # Rows, built by the caller: the writer thread then holds the GIL only to hand a batch
        # to SQLite, and a verification waits less for it.
        self._queue: queue.SimpleQueue[Row | None] = queue.SimpleQueue()
        self._batch, self._interval = batch, interval
        self._pending = 0
        self._count_lock = threading.Lock()
        self._failures = 0
        self._thread = threading.Thread(target=self._run, name="access-events", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def failures(self) -> int:
        return self._failures

    def put(self, event: AccessEvent) -> None:
        row = event_row(event)
        with self._count_lock:
            self._pending += 1
        self._queue.put(row)

    def _run(self) -> None:
        waiting: list[Row] = []
        closing = False
        while True:
            try:
                item = self._queue.get(timeout=self._interval)
                if item is not None and self._queue.qsize() < self._batch:
                    time.sleep(self._interval)  # let a batch gather: one commit for many
                while True:
                    if item is None:
                        closing = True
                    else:
                        waiting.append(item)
                    if len(waiting) >= self._batch:
                        break
                    item = self._queue.get_nowait()
            except queue.Empty:
                pass
            if waiting:
                try:
                    written = self._store.record_rows(waiting)
                except StoreError:
                    self._failures += 1
                    if closing:
                        return  # the store is gone at shutdown: nothing more can be done
                    time.sleep(self._interval)
                    continue  # kept, and tried again with the next batch
                with self._count_lock:
                    self._pending -= written
                waiting = []
            if closing and self._queue.empty():
                return

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event put so far is written (True), or ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._pending

    def close(self) -> None:
        """Write every event put so far, then stop (the writer drains the queue first)."""
        self._queue.put(None)
        self._thread.join()
