"""The SQLite registry: the embedded default (one file, WAL, ``synchronous=FULL``).

Writers take the database's write lock at the start of their transaction (``BEGIN IMMEDIATE``),
so two connections (threads or processes) never interleave their checks and writes; a writer
that waits longer than ``timeout`` seconds gets :class:`RegistryBusyError`. Times are stored as
fixed-width UTC ISO-8601 text, which sorts in time order.

The file is the registry's alone: besides the ``cardlib_registry`` marker table, its header
carries :data:`APPLICATION_ID` (``PRAGMA application_id``). A file with another application id,
or with tables and no marker, is refused before anything is written to it; a missing file is
created only with ``create=True``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from ._registry import (
    ACTIVE_HOLDER,
    ACTIVE_INDEX_SQL,
    DOCUMENT_NUMBER,
    EVENTS_BACKFILL_SQL,
    EVENTS_INDEX_SQL,
    MARKER_SQL,
    REPLACES,
    Migration,
    RegistryBusyError,
    RegistryError,
    RegistryNotOursError,
    RegistryUnavailableError,
    SqlRegistry,
    Tx,
    access_codes_sql,
    card_table_sql,
    events_table_sql,
    sync_tables_sql,
)

_TIME = "TEXT"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"
#: ``PRAGMA application_id`` of a registry file: "CRDL" as a big-endian 32-bit integer.
APPLICATION_ID = int.from_bytes(b"CRDL", "big")
_SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "cards", (card_table_sql(text_time=_TIME, blob="BLOB"), ACTIVE_INDEX_SQL)),
    Migration(
        2,
        "events: the holder history",
        (
            events_table_sql(text_time=_TIME, serial=_SERIAL),
            EVENTS_INDEX_SQL,
            EVENTS_BACKFILL_SQL,
        ),
    ),
    Migration(
        3, "sync: conflicts and cursors", sync_tables_sql(text_time=_TIME, serial=_SERIAL)
    ),
    Migration(
        4,
        "cardlib_registry: the registry marker",
        (*MARKER_SQL, f"PRAGMA application_id = {APPLICATION_ID}"),
    ),
    Migration(
        5,
        "access_codes: holders' personal access codes",
        access_codes_sql(text_time=_TIME, blob="BLOB"),
    ),
)

# sqlite3's message for a failed UNIQUE constraint names the columns of the index.
_RULES = {
    "UNIQUE constraint failed: cards.document_number": DOCUMENT_NUMBER,
    "UNIQUE constraint failed: cards.holder_identifier": ACTIVE_HOLDER,
    "UNIQUE constraint failed: cards.replaces": REPLACES,
}


class SqliteRegistry(SqlRegistry):
    """The registry in one SQLite file (created only with ``create=True``)."""

    _exclusive = True

    def __init__(self, path: Path, *, create: bool = False, timeout: float = 10.0) -> None:
        super().__init__()
        self.path = path
        # Without create, the file is opened read-write but never created (SQLite's mode=rw).
        target = path if create else f"file:{quote(str(path))}?mode=rw"
        if create and not path.exists():  # holders' numbers: readable by its owner only
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as err:
                raise RegistryUnavailableError(
                    f"cannot create the registry file {str(path)!r}: {err.strerror or err}"
                ) from err
        try:
            self._conn = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False,
                uri=not create,
            )
        except sqlite3.Error as err:
            if not create and not path.exists():
                raise self._not_found() from None
            raise RegistryUnavailableError(
                f"cannot open the registry file {str(path)!r}: {err}; check the path and its "
                "permissions"
            ) from err
        try:
            # Whose file is it? Asked before anything (even the journal mode) is written.
            with self.transaction(write=False) as tx:
                if not self._inspect(tx) and not create:
                    raise self._not_found()
            with self._lock:
                try:
                    mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
                    self._conn.execute("PRAGMA synchronous = FULL")
                    self._conn.execute("PRAGMA foreign_keys = ON")
                except sqlite3.Error as err:
                    raise self._translate(err) from err
            if mode is None or str(mode[0]).lower() != "wal":
                raise RegistryUnavailableError(
                    f"the registry file {str(path)!r} cannot use write-ahead logging "
                    f"(journal_mode is {mode!r}); put it on a local file system"
                )
            self._migrate(create=create)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- hooks ---

    def _migrations(self) -> tuple[Migration, ...]:
        return MIGRATIONS

    def lock_schema(self, tx: Tx) -> None:
        pass  # BEGIN IMMEDIATE already holds the write lock

    @property
    def where(self) -> str:
        return f"sqlite:///{self.path}"

    def _tables(self, tx: Tx) -> frozenset[str]:
        rows = tx(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
            "ESCAPE '\\'"
        )
        return frozenset(str(row[0]) for row in rows)

    def _inspect(self, tx: Tx) -> bool:
        (application,) = tx("PRAGMA application_id")[0]
        if application not in (0, APPLICATION_ID):
            raise self._not_ours(f"its application_id is {application:#010x}, another "
                                 "application's file format")
        return super()._inspect(tx)

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Tx]:
        conn = self._conn

        def tx(sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
            rows: list[tuple[object, ...]] = conn.execute(sql, tuple(params)).fetchall()
            return rows

        if not write:  # every read is one statement: consistent without a transaction
            yield tx
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield tx
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def broken_rule(self, err: Exception) -> str | None:
        if isinstance(err, sqlite3.IntegrityError):
            return _RULES.get(str(err))
        return None

    def _translate(self, err: Exception) -> RegistryError:
        if not isinstance(err, sqlite3.Error):
            return RegistryError(f"unexpected failure in the SQLite registry: {err!r}")
        if isinstance(err, sqlite3.OperationalError) and (
            "locked" in str(err) or "busy" in str(err)
        ):
            return RegistryBusyError(
                f"the registry file {str(self.path)!r} stayed locked by another writer "
                f"({err}); retry the operation"
            )
        if isinstance(err, sqlite3.IntegrityError):
            return RegistryError(f"the registry refused the write ({err}); nothing was changed")
        if isinstance(err, sqlite3.ProgrammingError):
            return RegistryError(f"the registry cannot be used ({err}); is it closed?")
        if isinstance(err, sqlite3.DatabaseError) and "not a database" in str(err):
            return RegistryNotOursError(
                f"{self.where} is not a cardlib issuance registry (not an SQLite file); it was "
                "left unchanged"
            )
        return RegistryError(f"the SQLite registry failed: {err}")

    def to_db_time(self, value: datetime) -> object:
        return value.astimezone(UTC).strftime(_TIME_FORMAT)

    def from_db_time(self, value: object) -> datetime:
        if not isinstance(value, str):
            raise RegistryError(f"the registry database holds {value!r} where a time belongs")
        return datetime.fromisoformat(value)
