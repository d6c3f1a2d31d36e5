"""Issuance rate of the registry: one ``record_issue`` (one committed transaction) per call.

Each call records a card with a fresh document number for a fresh holder, so every round does
the same work (checks, insert, history event, commit). SQLite commits with ``synchronous=FULL``
(an fsync per card); PostgreSQL with the server's settings, in a schema created for the run.
Records per second = 1 / the median. The card value is built inside the timed call (a few
microseconds, next to a commit's hundreds).
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cardlib.store._registry import IssuanceRegistry, IssuedCard, open_registry
from tests.conftest import require

from ._support import Bench

PG_ENV = "CARDLIB_TEST_POSTGRES"
DIGEST = hashlib.sha256(b"payload").digest()


def _issuer(
    registry: IssuanceRegistry, now: datetime
) -> tuple[Callable[[], IssuedCard], list[str]]:
    """A call recording the next fresh card, and the document numbers it used."""
    numbers = itertools.count()
    used: list[str] = []
    expires = now + timedelta(days=3650)

    def issue_next() -> IssuedCard:
        n = next(numbers)
        number = f"BN{n:08d}"
        used.append(number)
        return registry.record_issue(
            IssuedCard(number, f"NIN-{n:010d}", "RBT-01", b"kid-0001", now, expires, DIGEST)
        )

    return issue_next, used


@pytest.fixture
def sqlite_registry(tmp_path: Path) -> Iterator[IssuanceRegistry]:
    with open_registry(tmp_path / "registry.db", create=True) as registry:
        yield registry


@pytest.fixture
def postgres_registry() -> Iterator[IssuanceRegistry]:
    url = os.environ.get(PG_ENV, "")
    require("PostgreSQL", bool(url), f"set {PG_ENV}=postgresql://user@host:port/db")
    try:
        psycopg = importlib.import_module("psycopg")
    except ImportError as err:
        require("PostgreSQL", False, f"psycopg is not installed ({err})")
        raise
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as err:
        require("PostgreSQL", False, f"{PG_ENV} is unreachable: {err}")
        raise
    schema = f"cardlib_bench_{uuid.uuid4().hex}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in url else "?"
        try:
            scoped = f"{url}{sep}options=-csearch_path%3D{schema}"
            with open_registry(scoped, create=True) as registry:
                yield registry
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _check(registry: IssuanceRegistry, used: list[str], now: datetime) -> None:
    assert used, "the benchmark never called record_issue"
    last = registry.get(used[-1])
    assert (last.status, last.issued_at) == ("active", now)
    assert len(registry.history(last.holder_identifier)) == 1


@pytest.mark.benchmark(group="registry")
class TestIssuanceRate:
    def test_record_issue_sqlite(
        self, bench: Bench, sqlite_registry: IssuanceRegistry, now: datetime
    ) -> None:
        issue_next, used = _issuer(sqlite_registry, now)
        bench(issue_next)
        _check(sqlite_registry, used, now)

    def test_record_issue_postgres(
        self, bench: Bench, postgres_registry: IssuanceRegistry, now: datetime
    ) -> None:
        issue_next, used = _issuer(postgres_registry, now)
        bench(issue_next)
        _check(postgres_registry, used, now)
