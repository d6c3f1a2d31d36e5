"""The issuance registry: interface, values, errors, migrations and the SQL shared by backends.

Every issued card is recorded once and never deleted, so a document number is never reused.
At most one card per holder is ``active``; replacing, renewing or correcting a card revokes its
predecessor and records the new card in one transaction. The rules are enforced twice: checked
here first (to raise a precise error) and held by the database (``PRIMARY KEY``, a partial
unique index on the holder ``WHERE status = 'active'``, ``UNIQUE (replaces)``), so a racing
writer on another connection or node meets the same typed error, never a driver exception.

Backends (:mod:`._sqlite`, :mod:`._postgres`) supply a connection, a transaction, value
conversion and the translation of their constraint failures; the operations are written once
in :class:`SqlRegistry`.

Nothing is created by accident: :func:`open_registry` opens an existing registry only (a
missing SQLite file or a database without cardlib's tables is :class:`RegistryNotFoundError`);
``open_registry(url, create=True)`` (``cardlib registry init``) creates one. A registry carries
a marker (the ``cardlib_registry`` table, and on SQLite the ``application_id`` in the file
header); a database that holds other tables and no marker is :class:`RegistryNotOursError`,
refused and left unchanged. Registries made before the marker (schema version 1 or 2) are
recognised by cardlib's own first migration row and receive the marker when they migrate.

Each holder has at most one current personal access code (``access_codes``, schema version 5),
kept as a slow hash only (:mod:`._access_codes`): set with the card at issuance
(``record_issue(card, access_code=...)`` and the supersessions, in the card's transaction) or
reset by :meth:`IssuanceRegistry.new_access_code`, checked by
:meth:`IssuanceRegistry.check_access_code`. Setting a code is not a history event: events name a
card and travel to the central with the card's centre, while a code may be reset at any centre
(see :mod:`._sync` for how codes travel).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from dataclasses import replace as _replace
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, TypeVar, get_args

from .._errors import (
    AccessCodeMalformedError,
    CardError,
    CardNotActiveError,
    CardNotFoundError,
    CardSupersededError,
    DocumentNumberReusedError,
    HolderHasActiveCardError,
    HolderMismatchError,
    HolderNotFoundError,
    RegistryBusyError,
    RegistryError,
    RegistryInputError,
    RegistryNotFoundError,
    RegistryNotOursError,
    RegistryUnavailableError,
    SchemaTooNewError,
)
from ._access_codes import (
    AccessCodeRecord,
    ScryptCost,
    check_without_record,
    generate_access_code,
    parse_access_code,
)

__all__ = [
    "KINDS",
    "REASONS",
    "AccessCodeMalformedError",
    "CardNotActiveError",
    "CardNotFoundError",
    "CardSupersededError",
    "DocumentNumberReusedError",
    "HolderHasActiveCardError",
    "HolderMismatchError",
    "HolderNotFoundError",
    "IssuanceRegistry",
    "IssuedCard",
    "Migration",
    "RegistryBusyError",
    "RegistryError",
    "RegistryEvent",
    "RegistryInputError",
    "RegistryNotFoundError",
    "RegistryNotOursError",
    "RegistryUnavailableError",
    "SchemaTooNewError",
    "open_registry",
]

Kind = Literal["issue", "replacement", "renewal", "correction"]
Status = Literal["active", "revoked"]
Reason = Literal["lost", "stolen", "replaced", "fraud", "data_correction"]
EventType = Literal["issue", "replacement", "renewal", "correction", "revocation"]

_S = TypeVar("_S", bound=str)
#: An access code set with a card: the plain code (hashed by the registry), or its record
#: hashed already by the caller (:meth:`~._access_codes.AccessCodeRecord.create`).
Code = str | AccessCodeRecord | None

KINDS: tuple[Kind, ...] = get_args(Kind)
STATUSES: tuple[Status, ...] = get_args(Status)
REASONS: tuple[Reason, ...] = get_args(Reason)
EVENTS: tuple[EventType, ...] = get_args(EventType)


# --- values ------------------------------------------------------------------------------------


def _aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise RegistryInputError(f"{name} must be a timezone-aware datetime (UTC), got {value!r}")


def _text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise RegistryInputError(f"{name} must be a non-empty string, got {value!r}")


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """One issued card as the registry records it.

    ``holder_identifier`` is the national number (or an administrative number for holders
    without one). ``kind``, ``status``, ``revoked_at``, ``revocation_reason`` and ``replaces``
    are set by the registry's operations; a new card is handed in with their defaults.
    """

    document_number: str
    holder_identifier: str
    centre_code: str
    kid: bytes
    issued_at: datetime
    expires_at: datetime
    payload_sha256: bytes
    kind: Kind = "issue"
    status: Status = "active"
    revoked_at: datetime | None = None
    revocation_reason: Reason | None = None
    replaces: str | None = None  # the document number this card superseded

    def __post_init__(self) -> None:
        _text("document_number", self.document_number)
        _text("holder_identifier", self.holder_identifier)
        _text("centre_code", self.centre_code)
        if not isinstance(self.kid, bytes) or not self.kid:
            raise RegistryInputError("kid must be non-empty bytes")
        if not isinstance(self.payload_sha256, bytes) or len(self.payload_sha256) != 32:
            raise RegistryInputError("payload_sha256 must be the 32-byte SHA-256 of the payload")
        _aware("issued_at", self.issued_at)
        _aware("expires_at", self.expires_at)
        if self.expires_at <= self.issued_at:
            raise RegistryInputError(
                f"expires_at ({self.expires_at.isoformat()}) must be after issued_at "
                f"({self.issued_at.isoformat()})"
            )
        if self.kind not in KINDS:
            raise RegistryInputError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.status not in STATUSES:
            raise RegistryInputError(f"status must be one of {STATUSES}, got {self.status!r}")
        revoked = (self.revoked_at is not None, self.revocation_reason is not None)
        if revoked != ((False, False) if self.status == "active" else (True, True)):
            raise RegistryInputError(
                "a revoked card has both revoked_at and revocation_reason; an active one neither"
            )
        if self.revoked_at is not None:
            _aware("revoked_at", self.revoked_at)
        if self.revocation_reason is not None and self.revocation_reason not in REASONS:
            raise RegistryInputError(f"revocation_reason must be one of {REASONS}")


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """One line of a holder's history, in the order the registry recorded it."""

    seq: int
    event: EventType
    document_number: str
    holder_identifier: str
    at: datetime  # issued_at for a new card, the injected ``now`` for a revocation
    reason: Reason | None = None  # revocations only
    replaces: str | None = None  # replacement, renewal, correction: the superseded card


# --- the interface -----------------------------------------------------------------------------


class IssuanceRegistry(ABC):
    """Where every issued card is recorded. Use as a context manager, or call :meth:`close`."""

    @abstractmethod
    def record_issue(self, card: IssuedCard, *, access_code: Code = None) -> IssuedCard:
        """Record a first issue (``kind="issue"``); the holder must have no active card.

        With ``access_code`` (a new code, :func:`~._access_codes.generate_access_code`, or its
        record hashed already for this card), its hash becomes the holder's access code in the
        same transaction, replacing any earlier one (set by the card's centre at its
        ``issued_at``). The same holds for
        :meth:`replace`, :meth:`renew` and :meth:`correct`."""

    @abstractmethod
    def replace(self, old_document_number: str, new_card: IssuedCard, *, now: datetime,
                access_code: Code = None) -> IssuedCard:
        """Record ``new_card`` as a replacement of the old card, revoking that card with reason
        ``"replaced"`` (if still active) in the same transaction."""

    @abstractmethod
    def renew(self, old_document_number: str, new_card: IssuedCard, *, now: datetime,
              access_code: Code = None) -> IssuedCard:
        """Record ``new_card`` as the renewal of the old card (revoked with ``"replaced"``)."""

    @abstractmethod
    def correct(self, old_document_number: str, new_card: IssuedCard, *, now: datetime,
                access_code: Code = None) -> IssuedCard:
        """Record ``new_card`` as a data correction of the old card (revoked with
        ``"data_correction"``)."""

    @abstractmethod
    def new_access_code(self, holder_identifier: str, *, centre_code: str, now: datetime) -> str:
        """Set a new personal access code for the holder (creating or replacing their code;
        the old one stops working) and return it, in its printed form, this once: only its
        hash is stored. ``centre_code`` is the centre where it is set, ``now`` when.
        :class:`HolderNotFoundError` when no card (active or not) is recorded for the holder."""

    @abstractmethod
    def check_access_code(self, holder_identifier: str, code: str) -> bool:
        """Whether ``code`` is the holder's current access code. ``False`` for a wrong code and
        for a holder without a code, after the same hash work, so the time taken does not tell
        whether the holder exists. :class:`AccessCodeMalformedError` when ``code`` is not in the
        form of a code at all (whoever the holder)."""

    @abstractmethod
    def revoke(self, document_number: str, reason: Reason, *, now: datetime) -> IssuedCard:
        """Revoke an active card; returns the card as now recorded."""

    @abstractmethod
    def get(self, document_number: str) -> IssuedCard:
        """The card with this document number, or :class:`CardNotFoundError`."""

    @abstractmethod
    def active_for(self, holder_identifier: str) -> IssuedCard | None:
        """The holder's active card, if any."""

    @abstractmethod
    def history(self, holder_identifier: str) -> tuple[RegistryEvent, ...]:
        """Every event recorded for the holder, oldest first."""

    @abstractmethod
    def events_since(self, seq: int) -> tuple[RegistryEvent, ...]:
        """Every event recorded after ``seq``, oldest first (what the audit log mirrors)."""

    @abstractmethod
    def revoked_cards(self, *, now: datetime) -> tuple[IssuedCard, ...]:
        """The revoked cards that have not expired at ``now``: what a revocation list holds
        (an expired card fails verification anyway), ordered by document number."""

    @property
    @abstractmethod
    def schema_version(self) -> int:
        """The schema version of the open database."""

    @property
    def created(self) -> bool:
        """True when this open created the registry (``open_registry(url, create=True)`` on a
        missing file or an empty database); False when it opened an existing one."""
        return False

    @property
    def where(self) -> str:
        """Where the registry is, for messages and reports (a PostgreSQL password masked)."""
        return type(self).__name__

    @abstractmethod
    def close(self) -> None:
        """Close the connection; the registry is unusable afterwards."""

    def __enter__(self) -> IssuanceRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_registry(url: str | Path, *, create: bool = False) -> IssuanceRegistry:
    """Open the existing registry at ``url`` (migrating its schema if it is older).

    ``"sqlite:///relative/path.db"``, ``"sqlite:////absolute/path.db"`` or a :class:`Path` for
    SQLite; ``"postgresql://user@host:port/db"`` (any libpq URI; pick a schema with
    ``?options=-csearch_path%3Dname``) for PostgreSQL, which needs ``cardlib[registry]``.

    A missing SQLite file, or a database (PostgreSQL: the current schema) without cardlib's
    tables, is :class:`RegistryNotFoundError`: a mistyped URL never yields a new, empty
    registry. ``create=True`` (``cardlib registry init``) creates the registry there instead,
    or opens it if it exists. A database that holds tables of something else and no registry
    marker is :class:`RegistryNotOursError` either way, left unchanged.
    """
    if isinstance(url, Path):
        from ._sqlite import SqliteRegistry

        return SqliteRegistry(url, create=create)
    if not isinstance(url, str):
        raise RegistryInputError(f"a registry URL is a str or a Path, got {type(url).__name__}")
    if url.startswith("sqlite:///"):
        from ._sqlite import SqliteRegistry

        path = url.removeprefix("sqlite:///")
        if not path:
            raise RegistryInputError("sqlite:/// needs a file path, e.g. sqlite:///registry.db")
        return SqliteRegistry(Path(path), create=create)
    if url.startswith(("postgresql://", "postgres://")):
        from ._postgres import PostgresRegistry

        return PostgresRegistry(url, create=create)
    raise RegistryInputError(
        "unsupported registry URL: use sqlite:///path/to/registry.db or postgresql://..."
    )


def shown_url(url: str) -> str:
    """``url`` as it may be shown in a message or a report: a PostgreSQL password (in the user
    part or as a ``password=`` parameter) is masked."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = original = urlsplit(url)
        if parts.password is not None:
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port is not None else ""
            parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}{port}")
        query = parse_qsl(parts.query, keep_blank_values=True)
        if any(key == "password" for key, _ in query):
            masked = [(key, "***" if key == "password" else value) for key, value in query]
            parts = parts._replace(query=urlencode(masked, safe="*"))
        return url if parts == original else urlunsplit(parts)
    except ValueError:  # an unparsable URL: show its scheme only
        return url.partition("://")[0] + "://***"


# --- migrations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``version`` n upgrades a database at n-1, with ``statements`` in order."""

    version: int
    description: str
    statements: tuple[str, ...]


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def card_table_sql(*, text_time: str, blob: str) -> str:
    """Version 1's ``cards`` table, in the backend's column types."""
    return f"""
CREATE TABLE cards (
    document_number   TEXT PRIMARY KEY CHECK (document_number <> ''),
    holder_identifier TEXT NOT NULL CHECK (holder_identifier <> ''),
    centre_code       TEXT NOT NULL,
    kid               {blob} NOT NULL,
    issued_at         {text_time} NOT NULL,
    expires_at        {text_time} NOT NULL,
    payload_sha256    {blob} NOT NULL CHECK (length(payload_sha256) = 32),
    kind              TEXT NOT NULL CHECK (kind IN ({_sql_list(KINDS)})),
    status            TEXT NOT NULL CHECK (status IN ({_sql_list(STATUSES)})),
    revoked_at        {text_time},
    revocation_reason TEXT CHECK (revocation_reason IN ({_sql_list(REASONS)})),
    replaces          TEXT UNIQUE REFERENCES cards (document_number),
    CHECK (expires_at > issued_at),
    CHECK ((status = 'active' AND revoked_at IS NULL AND revocation_reason IS NULL)
        OR (status = 'revoked' AND revoked_at IS NOT NULL AND revocation_reason IS NOT NULL))
)"""


ACTIVE_INDEX_SQL = (
    "CREATE UNIQUE INDEX cards_one_active_per_holder ON cards (holder_identifier) "
    "WHERE status = 'active'"
)


def events_table_sql(*, text_time: str, serial: str) -> str:
    """Version 2's ``events`` table (the holder history)."""
    return f"""
CREATE TABLE events (
    seq               {serial},
    event             TEXT NOT NULL CHECK (event IN ({_sql_list(EVENTS)})),
    document_number   TEXT NOT NULL REFERENCES cards (document_number),
    holder_identifier TEXT NOT NULL,
    at                {text_time} NOT NULL,
    reason            TEXT CHECK (reason IN ({_sql_list(REASONS)})),
    replaces          TEXT REFERENCES cards (document_number)
)"""


EVENTS_INDEX_SQL = "CREATE INDEX events_by_holder ON events (holder_identifier, seq)"

# Version 2 rebuilds the history of cards recorded under version 1: their issues and their
# revocations, in time order (a revocation before the card issued at the same instant).
EVENTS_BACKFILL_SQL = """
INSERT INTO events (event, document_number, holder_identifier, at, reason, replaces)
SELECT event, document_number, holder_identifier, at, reason, replaces FROM (
    SELECT kind AS event, document_number, holder_identifier, issued_at AS at,
           NULL AS reason, replaces, 1 AS rank
      FROM cards
    UNION ALL
    SELECT 'revocation', document_number, holder_identifier, revoked_at,
           revocation_reason, NULL, 0
      FROM cards WHERE status = 'revoked'
) AS past
ORDER BY at, rank, document_number"""


def access_codes_sql(*, text_time: str, blob: str) -> tuple[str, ...]:
    """Version 5's ``access_codes`` table (one current code per holder, as a slow hash) and
    its index. ``after_seq`` is the highest event ``seq`` when the code was set: it places the
    code in the event order for centre sync."""
    return (
        f"""CREATE TABLE access_codes (
    holder_identifier TEXT PRIMARY KEY CHECK (holder_identifier <> ''),
    centre_code       TEXT NOT NULL CHECK (centre_code <> ''),
    set_at            {text_time} NOT NULL,
    algorithm         TEXT NOT NULL CHECK (algorithm <> ''),
    salt              {blob} NOT NULL CHECK (length(salt) >= 16),
    cost_n            BIGINT NOT NULL CHECK (cost_n > 1),
    cost_r            INTEGER NOT NULL CHECK (cost_r > 0),
    cost_p            INTEGER NOT NULL CHECK (cost_p > 0),
    digest            {blob} NOT NULL CHECK (length(digest) >= 16),
    after_seq         BIGINT NOT NULL CHECK (after_seq >= 0)
)""",
        "CREATE INDEX access_codes_by_centre ON access_codes (centre_code, after_seq)",
    )



def sync_tables_sql(*, text_time: str, serial: str) -> tuple[str, ...]:
    """Version 3's sync tables (centre sync: stored conflicts, per-centre cursors) and index.

    ``IF NOT EXISTS``: cardlib before version 3 created these tables on the first sync, outside
    the migrations; such a database keeps them (and their rows) when it migrates.
    """
    return (
        f"""CREATE TABLE IF NOT EXISTS sync_conflicts (
    id                      {serial},
    fingerprint             TEXT NOT NULL UNIQUE,
    kind                    TEXT NOT NULL,
    centre                  TEXT NOT NULL,
    seq                     BIGINT NOT NULL,
    event                   TEXT NOT NULL,
    document_number         TEXT NOT NULL,
    holder_identifier       TEXT NOT NULL,
    incoming_centre         TEXT NOT NULL,
    central_document_number TEXT,
    central_centre          TEXT,
    incoming_event          TEXT NOT NULL,
    incoming_card           TEXT NOT NULL,
    central_card            TEXT,
    batch_sha256            TEXT NOT NULL,
    detected_at             {text_time} NOT NULL
)""",
        "CREATE INDEX IF NOT EXISTS sync_conflicts_by_holder "
        "ON sync_conflicts (holder_identifier, id)",
        f"""CREATE TABLE IF NOT EXISTS sync_cursors (
    centre       TEXT PRIMARY KEY,
    last_seq     BIGINT NOT NULL CHECK (last_seq >= 0),
    batch_sha256 TEXT NOT NULL,
    applied_at   {text_time} NOT NULL
)""",
    )


#: The registry marker: one row naming the format, written by version 4 (and so by every
#: registry cardlib creates). A database without it (and not an unmarked registry of version 1
#: or 2) is not opened as a registry.
MARKER_TABLE = "cardlib_registry"
MARKER_FORMAT = "cardlib-registry"
MARKER_SQL = (
    "CREATE TABLE cardlib_registry (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "format TEXT NOT NULL)",
    "INSERT INTO cardlib_registry (id, format) VALUES (1, 'cardlib-registry')",
)
#: Every table a registry has; any of them without the marker means someone else's database.
REGISTRY_TABLES = frozenset(
    {"schema_version", "cards", "events", "sync_conflicts", "sync_cursors", "access_codes",
     MARKER_TABLE}
)


# --- the shared SQL implementation -------------------------------------------------------------


class Tx(Protocol):
    """A statement runner inside one transaction (``?`` placeholders on every backend)."""

    def __call__(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]: ...


# Which rule a constraint failure broke: backends translate their driver's failure to one key.
DOCUMENT_NUMBER = "document_number"
ACTIVE_HOLDER = "active_holder"
REPLACES = "replaces"

# Literal statements (no string building): the column order matches SqlRegistry.card_from_row.
_SELECT_CARD = """SELECT document_number, holder_identifier, centre_code, kid, issued_at,
    expires_at, payload_sha256, kind, status, revoked_at, revocation_reason, replaces
    FROM cards WHERE document_number = ?"""
_SELECT_ACTIVE = """SELECT document_number, holder_identifier, centre_code, kid, issued_at,
    expires_at, payload_sha256, kind, status, revoked_at, revocation_reason, replaces
    FROM cards WHERE holder_identifier = ? AND status = 'active'"""
_INSERT_CARD = """INSERT INTO cards (document_number, holder_identifier, centre_code, kid,
    issued_at, expires_at, payload_sha256, kind, status, revoked_at, revocation_reason,
    replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_SELECT_HISTORY = """SELECT seq, event, document_number, holder_identifier, at, reason, replaces
    FROM events WHERE holder_identifier = ? ORDER BY seq"""
_SELECT_EVENTS_SINCE = """SELECT seq, event, document_number, holder_identifier, at, reason,
    replaces FROM events WHERE seq > ? ORDER BY seq"""
_SELECT_REVOKED = """SELECT document_number, holder_identifier, centre_code, kid, issued_at,
    expires_at, payload_sha256, kind, status, revoked_at, revocation_reason, replaces
    FROM cards WHERE status = 'revoked' AND expires_at > ? ORDER BY document_number"""
# The column order matches SqlRegistry.access_code_from_row.
_SELECT_ACCESS_CODE = """SELECT holder_identifier, centre_code, set_at, algorithm, salt, cost_n,
    cost_r, cost_p, digest FROM access_codes WHERE holder_identifier = ?"""
_PUT_ACCESS_CODE = """INSERT INTO access_codes (holder_identifier, centre_code, set_at,
    algorithm, salt, cost_n, cost_r, cost_p, digest, after_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM events))
    ON CONFLICT (holder_identifier) DO UPDATE SET centre_code = excluded.centre_code,
    set_at = excluded.set_at, algorithm = excluded.algorithm, salt = excluded.salt,
    cost_n = excluded.cost_n, cost_r = excluded.cost_r, cost_p = excluded.cost_p,
    digest = excluded.digest, after_seq = excluded.after_seq"""
# A record from a centre replaces only an older one (the later set_at wins, also against a
# writer racing the sync).
_PUT_NEWER_ACCESS_CODE = _PUT_ACCESS_CODE + " WHERE access_codes.set_at < excluded.set_at"


class SqlRegistry(IssuanceRegistry):
    """The registry's operations, written once; a backend fills in the abstract hooks.

    A backend's ``__init__`` connects, calls ``super().__init__()`` and then :meth:`_migrate`.
    One registry object may be shared by threads (its connection is used under a lock).

    Besides the :class:`IssuanceRegistry` operations, it offers a *transaction seam* for
    cardlib's other store modules (centre sync) that work on the same tables in one
    transaction: :meth:`transaction`, :meth:`select_card`, :meth:`insert_card`,
    :meth:`revoke_card`, :meth:`card_from_row`, :meth:`put_access_code`,
    :meth:`access_code_from_row`, :meth:`to_db_time`, :meth:`from_db_time`, :meth:`lock_schema`
    and :meth:`broken_rule`. They keep the registry's rules (the checks before a write, the
    event rows) in one place.
    """

    _for_update = ""  # the row-lock suffix of a SELECT (PostgreSQL: " FOR UPDATE")
    #: True when the database belongs to the registry alone (an SQLite file): any table of
    #: another application in it means the file is not a registry. A PostgreSQL schema may
    #: hold other tables beside the registry's.
    _exclusive = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._created = False

    # --- backend hooks ---

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[Tx]:
        """A transaction (writes take the write lock at its start); rolled back on error."""

    @abstractmethod
    def _migrations(self) -> tuple[Migration, ...]: ...

    @abstractmethod
    def lock_schema(self, tx: Tx) -> None:
        """Serialise concurrent openers (and syncs) inside ``tx``: PostgreSQL takes the schema
        advisory lock; SQLite's write transaction already holds the only write lock."""

    @abstractmethod
    def _tables(self, tx: Tx) -> frozenset[str]:
        """The names of the tables in the database (PostgreSQL: in the current schema)."""

    @property
    @abstractmethod
    def where(self) -> str:
        """The registry's location for messages (a file path, or the URL without password)."""

    @abstractmethod
    def broken_rule(self, err: Exception) -> str | None:
        """:data:`DOCUMENT_NUMBER`, :data:`ACTIVE_HOLDER` or :data:`REPLACES` when ``err`` is
        the driver's failure of that constraint, else ``None``."""

    @abstractmethod
    def _translate(self, err: Exception) -> RegistryError | None:
        """Any other driver failure as a :class:`RegistryError` (``None``: not the driver's)."""

    @abstractmethod
    def to_db_time(self, value: datetime) -> object:
        """An aware datetime as the backend stores it (a statement parameter)."""

    @abstractmethod
    def from_db_time(self, value: object) -> datetime:
        """A time column's value as an aware UTC datetime."""

    # --- the transaction seam ---

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Tx]:
        """One transaction under the registry's lock, yielding its statement runner.

        ``write=True`` takes the database's write lock at the start; the transaction commits
        when the block ends and rolls back on any exception. A driver failure leaves as a
        :class:`RegistryError` subclass (the driver's exception is its ``__cause__``).
        """
        with self._lock:
            try:
                with self._transaction(write=write) as tx:
                    yield tx
            except CardError:
                raise
            except Exception as err:
                mapped = self._translate(err)
                if mapped is None:
                    raise
                raise mapped from err

    def _inspect(self, tx: Tx) -> bool:
        """Whether the database holds a registry (``True``) or nothing of cardlib's yet
        (``False``); :class:`RegistryNotOursError` when it holds something else."""
        tables = self._tables(tx)
        if MARKER_TABLE in tables:
            try:
                marked = tx("SELECT format FROM cardlib_registry") == [(MARKER_FORMAT,)]
            except Exception:  # a table of that name with other columns: not ours
                marked = False
            if not marked:
                raise self._not_ours(f"its {MARKER_TABLE} table is not cardlib's marker")
            return True
        if "schema_version" in tables and "cards" in tables:
            # A registry from before the marker: cardlib's own first migration row.
            try:
                first = tx("SELECT description FROM schema_version WHERE version = 1")
            except Exception:
                first = []
            if first == [("cards",)]:
                return True
        if tables & REGISTRY_TABLES:
            found = ", ".join(sorted(tables & REGISTRY_TABLES))
            raise self._not_ours(f"it holds table(s) named like the registry's ({found}) "
                                 "without the registry marker")
        if self._exclusive and tables:
            found = ", ".join(sorted(tables)[:5])
            raise self._not_ours(f"it holds other tables ({found})")
        return False

    def _not_ours(self, why: str) -> RegistryNotOursError:
        return RegistryNotOursError(
            f"{self.where} is not a cardlib issuance registry ({why}); it was left unchanged. "
            "Check the URL; a new registry needs a database of its own (cardlib registry init)"
        )

    def _not_found(self) -> RegistryNotFoundError:
        return RegistryNotFoundError(
            f"no issuance registry at {self.where}; check the URL (nothing was created), or "
            "create the registry once with `cardlib registry init URL` "
            "(open_registry(url, create=True))"
        )

    @property
    def created(self) -> bool:
        return self._created

    def _migrate(self, *, create: bool) -> None:
        steps = self._migrations()
        if [step.version for step in steps] != list(range(1, len(steps) + 1)):
            raise RegistryError("migration steps must be numbered 1, 2, ... without gaps")
        latest = len(steps)
        with self.transaction(write=True) as tx:
            self.lock_schema(tx)
            exists = self._inspect(tx)
            if not exists and not create:
                raise self._not_found()
            tx(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL)"
            )
            rows = tx("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            current = _as_int(rows[0][0])
            if current > latest:
                raise SchemaTooNewError(
                    f"the registry database has schema version {current}, newer than the "
                    f"{latest} this cardlib knows; upgrade cardlib before opening it"
                )
            for step in steps[current:]:
                for statement in step.statements:
                    tx(statement)
                tx(
                    "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                    (step.version, step.description),
                )
        self._version = latest
        self._created = not exists

    @property
    def schema_version(self) -> int:
        return self._version

    def card_from_row(self, row: tuple[object, ...]) -> IssuedCard:
        """The card in a row of the ``cards`` columns, in the order of ``SELECT document_number,
        holder_identifier, centre_code, kid, issued_at, expires_at, payload_sha256, kind,
        status, revoked_at, revocation_reason, replaces``."""
        (number, holder, centre, kid, issued, expires, digest, kind, status, revoked_at,
         reason, replaces) = row  # fmt: skip
        return IssuedCard(
            document_number=str(number),
            holder_identifier=str(holder),
            centre_code=str(centre),
            kid=_as_bytes(kid),
            issued_at=self.from_db_time(issued),
            expires_at=self.from_db_time(expires),
            payload_sha256=_as_bytes(digest),
            kind=_pick(KINDS, kind),
            status=_pick(STATUSES, status),
            revoked_at=None if revoked_at is None else self.from_db_time(revoked_at),
            revocation_reason=None if reason is None else _pick(REASONS, reason),
            replaces=None if replaces is None else str(replaces),
        )

    def select_card(self, tx: Tx, number: str, *, lock: bool = False) -> IssuedCard | None:
        """The card recorded under ``number`` (``None`` if none), read inside ``tx``; with
        ``lock`` its row stays locked until ``tx`` ends (PostgreSQL ``FOR UPDATE``)."""
        rows = tx(_SELECT_CARD + (self._for_update if lock else ""), (number,))
        return self.card_from_row(rows[0]) if rows else None

    def _check_new(self, tx: Tx, card: IssuedCard) -> None:
        """Refuse a reused document number or a second active card with a precise error (the
        database's constraints hold the same rules against racing writers)."""
        if self.select_card(tx, card.document_number) is not None:
            raise _reused(card.document_number)
        active = tx(
            "SELECT document_number FROM cards WHERE holder_identifier = ? AND status = 'active'",
            (card.holder_identifier,),
        )
        if active:
            raise _has_active(card.holder_identifier, str(active[0][0]))

    def insert_card(self, tx: Tx, card: IssuedCard) -> None:
        """Record a new active card and its event inside ``tx``, checking the rules first
        (:class:`DocumentNumberReusedError`, :class:`HolderHasActiveCardError`)."""
        self._check_new(tx, card)
        tx(
            _INSERT_CARD,
            (
                card.document_number,
                card.holder_identifier,
                card.centre_code,
                card.kid,
                self.to_db_time(card.issued_at),
                self.to_db_time(card.expires_at),
                card.payload_sha256,
                card.kind,
                "active",
                None,
                None,
                card.replaces,
            ),
        )
        self._event(tx, card.kind, card, card.issued_at, None, card.replaces)

    def _event(
        self,
        tx: Tx,
        event: EventType,
        card: IssuedCard,
        at: datetime,
        reason: Reason | None,
        replaces: str | None,
    ) -> None:
        tx(
            "INSERT INTO events (event, document_number, holder_identifier, at, reason, "
            "replaces) VALUES (?, ?, ?, ?, ?, ?)",
            (
                event,
                card.document_number,
                card.holder_identifier,
                self.to_db_time(at),
                reason,
                replaces,
            ),
        )

    def revoke_card(self, tx: Tx, card: IssuedCard, reason: Reason, now: datetime) -> IssuedCard:
        """Revoke the active ``card`` at ``now`` inside ``tx`` and record the revocation event;
        returns the card as now recorded."""
        tx(
            "UPDATE cards SET status = 'revoked', revoked_at = ?, revocation_reason = ? "
            "WHERE document_number = ? AND status = 'active'",
            (self.to_db_time(now), reason, card.document_number),
        )
        self._event(tx, "revocation", card, now, reason, None)
        return _replace(card, status="revoked", revoked_at=now, revocation_reason=reason)

    def put_access_code(self, tx: Tx, record: AccessCodeRecord, *, newer_only: bool = False,
                        ) -> None:
        """Make ``record`` the holder's access code inside ``tx``, placed after the latest
        event (``after_seq``): it replaces the holder's earlier code, or with ``newer_only``
        (a record from a centre's sync batch) only a code set before ``record.set_at``.

        Without ``newer_only``, ``set_at`` never goes back: a record not later than the code it
        replaces is stamped 1 µs after that code, so that the central, which keeps the later
        ``set_at``, keeps the code that was set last here (an injected clock, or an issue time
        truncated to the second, can be earlier than a reset made just before)."""
        if not newer_only:
            held = self.select_access_code(tx, record.holder_identifier, lock=True)
            if held is not None and held.set_at >= record.set_at:
                record = _replace(record, set_at=held.set_at + timedelta(microseconds=1))
        cost = record.cost
        tx(_PUT_NEWER_ACCESS_CODE if newer_only else _PUT_ACCESS_CODE,
           (record.holder_identifier, record.centre_code, self.to_db_time(record.set_at),
            record.algorithm, record.salt, cost.n, cost.r, cost.p, record.digest))

    def access_code_from_row(self, row: tuple[object, ...]) -> AccessCodeRecord:
        """The record in a row of ``SELECT holder_identifier, centre_code, set_at, algorithm,
        salt, cost_n, cost_r, cost_p, digest FROM access_codes``."""
        holder, centre, set_at, algorithm, salt, n, r, p, digest = row
        try:
            return AccessCodeRecord(
                holder_identifier=str(holder), centre_code=str(centre),
                set_at=self.from_db_time(set_at), algorithm=str(algorithm),
                salt=_as_bytes(salt), cost=ScryptCost(_as_int(n), _as_int(r), _as_int(p)),
                digest=_as_bytes(digest))
        except RegistryInputError as err:
            raise RegistryError(f"the registry database holds an unusable access code record "
                                f"({err.message})") from None

    def select_access_code(self, tx: Tx, holder_identifier: str, *, lock: bool = False,
                           ) -> AccessCodeRecord | None:
        """The holder's access code record (``None`` without one), read inside ``tx``; with
        ``lock`` its row stays locked until ``tx`` ends (PostgreSQL ``FOR UPDATE``)."""
        rows = tx(_SELECT_ACCESS_CODE + (self._for_update if lock else ""), (holder_identifier,))
        return self.access_code_from_row(rows[0]) if rows else None

    def _guarded(
        self, action: Callable[[Tx], IssuedCard], *, holder: str, number: str
    ) -> IssuedCard:
        """Run a write, turning a constraint failure (a racing writer) into the typed error."""
        try:
            with self.transaction(write=True) as tx:
                return action(tx)
        except RegistryError as err:
            cause = err.__cause__
            rule = self.broken_rule(cause) if isinstance(cause, Exception) else None
            if rule == DOCUMENT_NUMBER:
                raise _reused(number) from cause
            if rule == ACTIVE_HOLDER:
                raise _has_active(holder, None) from cause
            if rule == REPLACES:
                raise CardSupersededError(
                    "this card was superseded by another card at the same time; "
                    "look up the holder's active card"
                ) from cause
            raise

    def _supersede(
        self,
        old_number: str,
        new_card: IssuedCard,
        kind: Kind,
        reason: Reason,
        now: datetime,
        access_code: Code,
    ) -> IssuedCard:
        _aware("now", now)
        _text("old_document_number", old_number)
        card = _replace(
            new_card,
            kind=kind,
            status="active",
            revoked_at=None,
            revocation_reason=None,
            replaces=old_number,
        )
        code = _code_of(card, access_code)  # hashed before the transaction takes its lock

        def action(tx: Tx) -> IssuedCard:
            old = self.select_card(tx, old_number, lock=True)
            if old is None:
                raise _not_found(old_number)
            if old.holder_identifier != card.holder_identifier:
                raise HolderMismatchError(
                    f"card {old_number} belongs to holder {old.holder_identifier!r}, the new "
                    f"card to {card.holder_identifier!r}; a card is superseded only for the "
                    "same holder"
                )
            successor = tx("SELECT document_number FROM cards WHERE replaces = ?", (old_number,))
            if successor:
                raise CardSupersededError(
                    f"card {old_number} was already superseded by card {successor[0][0]}; "
                    "supersede the holder's current card instead"
                )
            if old.status == "active":
                self.revoke_card(tx, old, reason, now)
            # A card revoked earlier (lost, stolen, ...) keeps its own reason.
            self.insert_card(tx, card)
            if code is not None:
                self.put_access_code(tx, code)
            return card

        return self._guarded(action, holder=card.holder_identifier, number=card.document_number)

    # --- the interface ---

    def record_issue(self, card: IssuedCard, *, access_code: Code = None) -> IssuedCard:
        if card.kind != "issue" or card.status != "active" or card.replaces is not None:
            raise RegistryInputError(
                "record_issue records a new active card of kind 'issue'; use replace, renew "
                "or correct to supersede a card"
            )
        code = _code_of(card, access_code)  # hashed before the transaction takes its lock

        def action(tx: Tx) -> IssuedCard:
            self.insert_card(tx, card)
            if code is not None:
                self.put_access_code(tx, code)
            return card

        return self._guarded(action, holder=card.holder_identifier, number=card.document_number)

    def replace(self, old_document_number: str, new_card: IssuedCard, *, now: datetime,
                access_code: Code = None) -> IssuedCard:
        return self._supersede(
            old_document_number, new_card, "replacement", "replaced", now, access_code
        )

    def renew(self, old_document_number: str, new_card: IssuedCard, *, now: datetime,
              access_code: Code = None) -> IssuedCard:
        return self._supersede(old_document_number, new_card, "renewal", "replaced", now,
                               access_code)

    def correct(self, old_document_number: str, new_card: IssuedCard, *, now: datetime,
                access_code: Code = None) -> IssuedCard:
        return self._supersede(
            old_document_number, new_card, "correction", "data_correction", now, access_code
        )

    def new_access_code(self, holder_identifier: str, *, centre_code: str, now: datetime) -> str:
        _text("holder_identifier", holder_identifier)
        _text("centre_code", centre_code)
        _aware("now", now)
        code = generate_access_code()
        record = AccessCodeRecord.create(holder_identifier, code, centre_code=centre_code,
                                         set_at=now)
        with self.transaction(write=True) as tx:
            if not tx("SELECT 1 FROM cards WHERE holder_identifier = ? LIMIT 1",
                      (holder_identifier,)):
                raise HolderNotFoundError(
                    f"no card is recorded for holder {holder_identifier!r}; an access code is "
                    "set for a holder of a recorded card (check the national number)")
            self.put_access_code(tx, record)
        return code

    def check_access_code(self, holder_identifier: str, code: str) -> bool:
        _text("holder_identifier", holder_identifier)
        parse_access_code(code)  # a non-code is refused alike for every holder
        with self.transaction(write=False) as tx:
            record = self.select_access_code(tx, holder_identifier)
        if record is None:
            return check_without_record(code)
        return record.matches(code)

    def revoke(self, document_number: str, reason: Reason, *, now: datetime) -> IssuedCard:
        _aware("now", now)
        if reason not in REASONS:
            raise RegistryInputError(f"reason must be one of {REASONS}, got {reason!r}")

        def action(tx: Tx) -> IssuedCard:
            card = self.select_card(tx, document_number, lock=True)
            if card is None:
                raise _not_found(document_number)
            if card.status != "active":
                raise CardNotActiveError(
                    f"card {document_number} was already revoked ({card.revocation_reason}) "
                    f"at {card.revoked_at.isoformat() if card.revoked_at else '?'}"
                )
            return self.revoke_card(tx, card, reason, now)

        return self._guarded(action, holder="", number=document_number)

    def get(self, document_number: str) -> IssuedCard:
        with self.transaction(write=False) as tx:
            card = self.select_card(tx, document_number)
        if card is None:
            raise _not_found(document_number)
        return card

    def active_for(self, holder_identifier: str) -> IssuedCard | None:
        with self.transaction(write=False) as tx:
            rows = tx(_SELECT_ACTIVE, (holder_identifier,))
        return self.card_from_row(rows[0]) if rows else None

    def revoked_cards(self, *, now: datetime) -> tuple[IssuedCard, ...]:
        with self.transaction(write=False) as tx:
            rows = tx(_SELECT_REVOKED, (self.to_db_time(now),))
        return tuple(self.card_from_row(row) for row in rows)

    def history(self, holder_identifier: str) -> tuple[RegistryEvent, ...]:
        with self.transaction(write=False) as tx:
            rows = tx(_SELECT_HISTORY, (holder_identifier,))
        return self._events(rows)

    def events_since(self, seq: int) -> tuple[RegistryEvent, ...]:
        with self.transaction(write=False) as tx:
            rows = tx(_SELECT_EVENTS_SINCE, (seq,))
        return self._events(rows)

    def _events(self, rows: Sequence[tuple[object, ...]]) -> tuple[RegistryEvent, ...]:
        return tuple(
            RegistryEvent(
                seq=_as_int(seq),
                event=_pick(EVENTS, event),
                document_number=str(number),
                holder_identifier=str(holder),
                at=self.from_db_time(at),
                reason=None if reason is None else _pick(REASONS, reason),
                replaces=None if replaces is None else str(replaces),
            )
            for seq, event, number, holder, at, reason, replaces in rows
        )


# --- helpers -----------------------------------------------------------------------------------


def _pick(allowed: tuple[_S, ...], value: object) -> _S:
    for option in allowed:
        if option == value:
            return option
    raise RegistryError(f"the registry database holds {value!r} where one of {allowed} belongs")


def _as_int(value: object) -> int:
    if isinstance(value, int):
        return value
    raise RegistryError(f"the registry database holds {value!r} where an integer belongs")


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise RegistryError(f"the registry database holds {value!r} where bytes belong")


def _code_of(card: IssuedCard, code: str | AccessCodeRecord | None
             ) -> AccessCodeRecord | None:
    """The access code record set with ``card`` (by its centre, at its issue), if any: hashed
    here from the plain code, or hashed already by the caller (a batch hashes the next code
    while it renders the card: scrypt releases the GIL), which must be the card's."""
    if code is None:
        return None
    if isinstance(code, AccessCodeRecord):
        if (code.holder_identifier, code.centre_code, code.set_at) != (
                card.holder_identifier, card.centre_code, card.issued_at):
            raise RegistryInputError("a hashed access code must be made for the card's holder, "
                                     "by its centre, at its issue time")
        return code
    return AccessCodeRecord.create(card.holder_identifier, code, centre_code=card.centre_code,
                                   set_at=card.issued_at)


def _not_found(number: str) -> CardNotFoundError:
    return CardNotFoundError(f"no card with document number {number!r} is recorded")


def _reused(number: str) -> DocumentNumberReusedError:
    return DocumentNumberReusedError(
        f"document number {number!r} was already used; document numbers are never reused, "
        "take the next number from the centre's sequence"
    )


def _has_active(holder: str, number: str | None) -> HolderHasActiveCardError:
    which = f" (card {number})" if number else ""
    return HolderHasActiveCardError(
        f"holder {holder!r} already has an active card{which}; replace, renew or correct "
        "that card, or revoke it first"
    )
