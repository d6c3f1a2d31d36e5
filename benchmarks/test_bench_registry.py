"""Issuance rate of the registry: one ``record_issue`` (one committed transaction) per call.

Each call records a card with a fresh document number for a fresh holder, so every round does
the same work (checks, insert, history event, commit). SQLite commits with ``synchronous=FULL``
(an fsync per card); PostgreSQL with the server's settings, in a schema created for the run.
Records per second = 1 / the median. The card value is built inside the timed call (a few
microseconds, next to a commit's hundreds).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cardlib.store._registry import IssuanceRegistry, IssuedCard, open_registry
from tests.conftest import postgres_schema

from ._support import Bench

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
    with postgres_schema("cardlib_bench") as (_, scoped), \
            open_registry(scoped, create=True) as registry:
        yield registry


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
