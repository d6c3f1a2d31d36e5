"""The PostgreSQL registry (psycopg 3): one database shared by several nodes.

The only module that imports psycopg. Checks read rows ``FOR UPDATE`` and the constraints hold
the rules against writers on other nodes; their failures become the same typed errors as on
SQLite. Opening takes an advisory lock while it migrates, so nodes starting together migrate
once. Tables live in the connection's ``search_path`` (choose a schema with
``?options=-csearch_path%3Dname`` in the URL).

The database must exist; the registry's tables are created in its current schema only with
``create=True`` (``cardlib registry init``). A schema without them is
:class:`RegistryNotFoundError`; one holding a table of the registry's names without the
``cardlib_registry`` marker is :class:`RegistryNotOursError`. The schema may hold other tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from psycopg import errors as pg_errors

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
    RegistryUnavailableError,
    SqlRegistry,
    Tx,
    access_codes_sql,
    card_table_sql,
    events_table_sql,
    shown_url,
    sync_tables_sql,
)

_TIME = "TIMESTAMPTZ"
_MIGRATION_LOCK = 0x63617264_6C696231  # "cardlib1": the advisory lock key taken while migrating
_SERIAL = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "cards", (card_table_sql(text_time=_TIME, blob="BYTEA"), ACTIVE_INDEX_SQL)),
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
    Migration(4, "cardlib_registry: the registry marker", MARKER_SQL),
    Migration(
        5,
        "access_codes: holders' personal access codes",
        access_codes_sql(text_time=_TIME, blob="BYTEA"),
    ),
)

_RULES = {
    "cards_pkey": DOCUMENT_NUMBER,
    "cards_one_active_per_holder": ACTIVE_HOLDER,
    "cards_replaces_key": REPLACES,
}


class PostgresRegistry(SqlRegistry):
    """The registry in a PostgreSQL database (tables created in the current schema)."""

    _for_update = " FOR UPDATE"

    def __init__(self, url: str, *, create: bool = False, connect_timeout: int = 10) -> None:
        super().__init__()
        self._url = shown_url(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as err:
            # The URL may hold a password: say where to look, never echo it.
            raise RegistryUnavailableError(
                f"cannot connect to the PostgreSQL registry: {err}; check the URL, that the "
                "server runs and that it accepts this user"
            ) from err
        try:
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
        tx("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    @property
    def where(self) -> str:
        return self._url

    def _tables(self, tx: Tx) -> frozenset[str]:
        rows = tx(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        )
        return frozenset(str(row[0]) for row in rows)

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Tx]:
        conn = self._conn

        def tx(sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
            cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
            if cursor.description is None:
                return []
            rows: list[tuple[object, ...]] = cursor.fetchall()
            return rows

        if not write:  # every read is one statement (autocommit)
            yield tx
            return
        with conn.transaction():
            yield tx

    def broken_rule(self, err: Exception) -> str | None:
        if isinstance(err, pg_errors.UniqueViolation):
            return _RULES.get(err.diag.constraint_name or "")
        return None

    def _translate(self, err: Exception) -> RegistryError:
        if not isinstance(err, psycopg.Error):
            return RegistryError(f"unexpected failure in the PostgreSQL registry: {err!r}")
        if isinstance(
            err,
            pg_errors.SerializationFailure
            | pg_errors.DeadlockDetected
            | pg_errors.LockNotAvailable,
        ):
            return RegistryBusyError(
                f"the PostgreSQL registry could not complete the write ({err}); retry it"
            )
        if isinstance(err, psycopg.IntegrityError):
            return RegistryError(f"the registry refused the write ({err}); nothing was changed")
        if isinstance(err, psycopg.OperationalError | psycopg.InterfaceError):
            return RegistryUnavailableError(
                f"the PostgreSQL registry is unreachable or closed ({err}); reopen it"
            )
        return RegistryError(f"the PostgreSQL registry failed: {err}")

    def to_db_time(self, value: datetime) -> object:
        return value

    def from_db_time(self, value: object) -> datetime:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise RegistryError(f"the registry database holds {value!r} where a time belongs")
        return value.astimezone(UTC)
