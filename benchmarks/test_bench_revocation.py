"""Revocation lists: lookup, build and load, for a population of 10 million cards.

Generating 10 million numbers takes Python seconds, so the normal run (benchmarks disabled: each
body runs once as a smoke test) uses a population of 100,000; ``--benchmark-enable`` uses the
10 million of the issue. Document numbers are ``LY`` + 7-8 digits (serials 5,000,000 up), 5 %
revoked with a realistic mix of reasons over five years. The signed size of each list is
recorded in the benchmark's ``extra_info["bytes"]`` and checked against the 2 MB target.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import cardlib
from cardlib.revocation._revocation import (
    Reason,
    RevocationEntry,
    RevocationList,
    load_revocation_list,
    publish_delta,
    publish_revocation_list,
)
from cardlib.trust._certs import create_root

from ._support import Bench, run_of

ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
NEXT = ISSUED + timedelta(days=1)
NOW = ISSUED + timedelta(hours=12)
FULL_POPULATION = 10_000_000
SMOKE_POPULATION = 100_000
FIRST_SERIAL = 5_000_000
RATE = 0.05
TARGET_BYTES = 2_000_000
_REASON_MIX = [Reason.LOST] * 50 + [Reason.REPLACED] * 30 + [Reason.STOLEN] * 10 + [
    Reason.DATA_CORRECTION] * 8 + [Reason.FRAUD] * 2


@dataclass(frozen=True)
class Setup:
    key: cardlib.PrivateKey
    root_der: bytes
    population: int
    entries: list[RevocationEntry]  # 5 % of the population
    full: bytes  # the signed full list
    loaded: RevocationList
    delta: bytes  # 1,000 new revocations since `full`


def _revoked(population: int, seed: int) -> Iterator[RevocationEntry]:
    rng = random.Random(seed)
    days = [ISSUED - timedelta(days=d) for d in range(5 * 365)]
    for serial in range(FIRST_SERIAL, FIRST_SERIAL + population):
        if rng.random() < RATE:
            yield RevocationEntry(f"LY{serial}", rng.choice(_REASON_MIX), rng.choice(days))


@pytest.fixture(scope="module")
def population(request: pytest.FixtureRequest) -> int:
    return SMOKE_POPULATION if run_of(request.config).disabled else FULL_POPULATION


@pytest.fixture(scope="module")
def setup(population: int) -> Setup:
    key = cardlib.PrivateKey.generate("EdDSA")
    root_der = create_root("Civil Registry Root", key, now=ISSUED - timedelta(days=365),
                           days=3650)
    entries = list(_revoked(population, seed=1))
    full = publish_revocation_list(key, root_der, entries, sequence=1, issued=ISSUED,
                                   next_update=NEXT)
    loaded = load_revocation_list(full, root_der, now=NOW)
    rng = random.Random(2)
    listed = {entry.document_number for entry in entries}
    fresh: set[str] = set()
    while len(fresh) < 1_000:
        number = f"LY{rng.randrange(FIRST_SERIAL, FIRST_SERIAL + population)}"
        if number not in listed:
            fresh.add(number)
    delta = publish_delta(key, root_der,
                          [RevocationEntry(n, rng.choice(_REASON_MIX), ISSUED) for n in fresh],
                          base_sequence=1, sequence=2, issued=ISSUED, next_update=NEXT)
    return Setup(key, root_der, population, entries, full, loaded, delta)


@pytest.mark.benchmark(group="revocation")
class TestRevocation:
    def test_lookup_revoked(self, bench: Bench, setup: Setup) -> None:
        number = setup.entries[len(setup.entries) // 2].document_number
        status = bench(setup.loaded.status, number, now=NOW)
        assert status.state == "revoked"

    def test_lookup_valid(self, bench: Bench, setup: Setup) -> None:
        listed = {entry.document_number for entry in setup.entries[:100]}
        number = next(f"LY{s}" for s in range(FIRST_SERIAL, FIRST_SERIAL + 200)
                      if f"LY{s}" not in listed)
        status = bench(setup.loaded.status, number, now=NOW)
        assert status.state == "valid"

    def test_build_full_list(
        self, bench: Bench, benchmark: BenchmarkFixture, setup: Setup
    ) -> None:
        """Publish the full list of a population (5 % revoked): group, sort, deflate, sign."""
        data = bench(publish_revocation_list, setup.key, setup.root_der, setup.entries,
                     sequence=1, issued=ISSUED, next_update=NEXT)
        benchmark.extra_info.update(population=setup.population, entries=len(setup.entries),
                                    bytes=len(data))
        assert len(data) * FULL_POPULATION / setup.population <= TARGET_BYTES

    def test_load_full_list(
        self, bench: Bench, benchmark: BenchmarkFixture, setup: Setup
    ) -> None:
        """Verify the signature, inflate and index the full list."""
        loaded = bench(load_revocation_list, setup.full, setup.root_der, now=NOW)
        benchmark.extra_info.update(population=setup.population, entries=len(setup.entries),
                                    bytes=len(setup.full))
        assert len(loaded) == len(setup.entries)

    def test_load_delta(self, bench: Bench, benchmark: BenchmarkFixture, setup: Setup) -> None:
        """Verify a delta of 1,000 new revocations and apply it to the full list."""
        loaded = bench(load_revocation_list, setup.delta, setup.root_der, now=NOW,
                       previous=setup.loaded)
        benchmark.extra_info.update(added=1_000, bytes=len(setup.delta))
        assert len(loaded) == len(setup.entries) + 1_000
        assert len(setup.delta) <= 4_000

    def test_load_all_revoked(
        self, bench: Bench, benchmark: BenchmarkFixture, setup: Setup
    ) -> None:
        """The worst case of 100 % revoked, as a mass revocation (one reason, one day).

        With independent reasons and days per card no exact list of 10 million fits 2 MB
        (see the module docstring of cardlib.revocation._revocation)."""
        everyone = (RevocationEntry(f"LY{s}", Reason.REPLACED, ISSUED)
                    for s in range(FIRST_SERIAL, FIRST_SERIAL + setup.population))
        data = publish_revocation_list(setup.key, setup.root_der, everyone, sequence=1,
                                       issued=ISSUED, next_update=NEXT)
        loaded = bench(load_revocation_list, data, setup.root_der, now=NOW)
        benchmark.extra_info.update(population=setup.population, entries=setup.population,
                                    bytes=len(data))
        assert len(loaded) == setup.population
        assert len(data) <= TARGET_BYTES


@pytest.mark.benchmark(group="bundle")
class TestBundle:
    def test_load_bundle(self, bench: Bench, benchmark: BenchmarkFixture, setup: Setup) -> None:
        """The offline bundle for 10 million cards (5 % revoked) plus a trust list: load time
        (both signatures, inflate, index) and size."""
        from cardlib.bundle._bundle import export_bundle, load_bundle
        from cardlib.trust._trustlist import publish_trust_list

        trust = publish_trust_list(setup.key, setup.root_der, [], sequence=1, issued=ISSUED,
                                   next_update=NEXT)
        data = export_bundle(trust, setup.full, root_der=setup.root_der)
        benchmark.extra_info["bytes"] = len(data)
        bundle = bench(load_bundle, data, setup.root_der, now=NOW)
        assert len(bundle.revocations) == len(setup.entries)
        assert len(data) <= TARGET_BYTES + 4096
