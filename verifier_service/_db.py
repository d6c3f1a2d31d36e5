"""The service's store: SQLite in the data directory (the embedded default), or PostgreSQL
(``VERIFIER_DATABASE_URL``) shared by replicas on several hosts. The only module that imports
psycopg here.

The stores write their SQL once, in SQLite's spelling (``?`` parameters, ``INSERT OR IGNORE``,
``BLOB``, ``INTEGER PRIMARY KEY AUTOINCREMENT``); :func:`_postgres_sql` rewrites those few
forms for PostgreSQL. One connection per store and process, used under a lock.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

Row = tuple[Any, ...]


class Database(Protocol):
    kind: str

    def execute(self, sql: str, params: Sequence[object] = ()) -> int: ...

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    def insert(self, head: str, rows: Sequence[Sequence[object]]) -> None: ...

    def close(self) -> None: ...


#: Rows of one multi-row ``INSERT`` (SQLite allows 32,766 parameters a statement).
_ROWS_A_STATEMENT = 500


def _inserts(head: str, rows: Sequence[Sequence[object]]
             ) -> Iterator[tuple[str, list[object]]]:
    """``head`` (``INSERT … (columns)``) with ``VALUES`` for ``rows``, as few statements as
    the parameter limit allows. One statement for a batch, not one a row: Python's sqlite3
    releases the GIL around each statement's step, so a row-by-row ``executemany`` in a
    background thread waits for the GIL once a row while the event loop runs (measured with a
    busy main thread: 8.4–15.2 µs of writer CPU an event row by row, 5.5 µs this way)."""
    for start in range(0, len(rows), _ROWS_A_STATEMENT):
        chunk = rows[start:start + _ROWS_A_STATEMENT]
        one = "(" + ", ".join("?" * len(chunk[0])) + ")"
        yield (f"{head} VALUES {', '.join([one] * len(chunk))}",
               [value for row in chunk for value in row])


class StoreError(Exception):
    """The store cannot be reached or refused a statement (a broken line, a full disk)."""


class _Sqlite:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        with self._lock, _errors():
            return self._db.execute(sql, params).rowcount

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock, _errors():
            return self._db.execute(sql, params).fetchall()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock, rolled back if anything in it fails."""
        with self._lock, _errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self._write() as db:
            db.executemany(sql, rows)

    def insert(self, head: str, rows: Sequence[Sequence[object]]) -> None:
        with self._write() as db:
            for sql, values in _inserts(head, rows):
                db.execute(sql, values)

    def close(self) -> None:
        with self._lock:
            self._db.close()


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as err:
        raise StoreError(f"the store refused a statement ({err})") from err


_REWRITES = (
    (re.compile(r"INSERT OR IGNORE INTO (.*)", re.S), r"INSERT INTO \1 ON CONFLICT DO NOTHING"),
    (re.compile(r"INTEGER PRIMARY KEY AUTOINCREMENT"), "BIGINT GENERATED ALWAYS AS IDENTITY "
     "PRIMARY KEY"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\?"), "%s"),
)


def _postgres_sql(sql: str) -> str:
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


class _Postgres:
    kind = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._lock = threading.Lock()
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as err:
            raise StoreError(f"cannot connect to the PostgreSQL store ({err})") from err

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._psycopg.Error as err:
            raise StoreError(f"the store refused a statement ({err})") from err

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        with self._lock, self._errors():
            return self._db.execute(_postgres_sql(sql), params).rowcount

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._lock, self._errors():
            return self._db.execute(_postgres_sql(sql), params).fetchall()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction under the lock: a cursor, committed or rolled back."""
        with self._lock, self._errors(), self._db.transaction(), self._db.cursor() as cursor:
            yield cursor

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self._write() as cursor:
            cursor.executemany(_postgres_sql(sql), rows)

    def insert(self, head: str, rows: Sequence[Sequence[object]]) -> None:
        with self._write() as cursor:
            for sql, values in _inserts(head, rows):
                cursor.execute(_postgres_sql(sql), values)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_database(url: str | None, path: Path) -> Database:
    """PostgreSQL at ``url`` when given, else SQLite at ``path``."""
    if url is None:
        return _Sqlite(path)
    if not url.startswith(("postgresql://", "postgres://")):
        raise StoreError("VERIFIER_DATABASE_URL is a postgresql:// URL")
    return _Postgres(url)


def create_tables(db: Database, schema: str) -> None:
    """Run ``schema``'s statements (each ``CREATE … IF NOT EXISTS``: several processes may)."""
    for statement in (s.strip() for s in schema.split(";")):
        if statement:
            db.execute(statement)
