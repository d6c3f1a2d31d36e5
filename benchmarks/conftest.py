"""Fixtures for the benchmark suite, and the hooks behind the speed targets.

Everything here runs outside the timed calls: keys are generated once per session, the example
payload is issued once per algorithm and its layers are decoded once. Tests marked
``bench_targets`` are moved after every other test, and their ratios are printed in the terminal
summary.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Generator, Iterator
from datetime import datetime, timedelta
from typing import cast

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import cardlib

from ._support import (
    ALGORITHMS,
    EXAMPLE,
    NOW,
    RUN,
    TARGETS_MARKER,
    Bench,
    Card,
    Run,
    issue_card,
    portrait_jpeg,
    run_of,
    stage_key,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{TARGETS_MARKER}: checks medians measured by the benchmarks; runs after all of them",
    )
    # pytest-benchmark's own rules (session.py): --benchmark-enable overrides
    # --benchmark-disable, and --benchmark-only overrides --benchmark-skip.
    disabled = bool(config.getoption("benchmark_disable")) and not config.getoption(
        "benchmark_enable"
    )
    skipped = bool(config.getoption("benchmark_skip")) and not config.getoption("benchmark_only")
    config.stash[RUN] = Run(disabled=disabled or skipped)


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselection, so `collected` sees every stage
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker(TARGETS_MARKER) is not None)  # stable
    run_of(config).collected.update(key for key in map(stage_key, items) if key is not None)


def pytest_collection_finish(session: pytest.Session) -> None:
    run = run_of(session.config)
    run.selected = {key for key in map(stage_key, session.items) if key is not None}


_CALL_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    lines = run_of(config).summary
    if lines:
        terminalreporter.section("cardlib speed targets (medians)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def bench(benchmark: BenchmarkFixture, request: pytest.FixtureRequest) -> Iterator[Bench]:
    """pytest-benchmark's ``benchmark``, recording its median for the targets.

    Only a test that passed is recorded: a stage that computes a wrong result has no speed.
    """
    yield cast(Bench, benchmark)
    stats = benchmark.stats  # None when disabled, or when the body never called bench(...)
    if stats is not None and request.node.stash.get(_CALL_PASSED, False):
        key = stage_key(request.node)
        assert key is not None
        run_of(request.config).medians[key] = float(stats.stats.median)


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def record() -> cardlib.HolderRecord:
    """specs/examples/holder.json: Arabic and Latin names, no photo."""
    result = cardlib.record_from_json(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert result.photo is None
    return result


@pytest.fixture(scope="session")
def keys() -> dict[str, cardlib.PrivateKey]:
    return {alg: cardlib.PrivateKey.generate(alg) for alg in ALGORITHMS}


@pytest.fixture(scope="session")
def trust(keys: dict[str, cardlib.PrivateKey]) -> cardlib.TrustStore:
    return cardlib.TrustStore(key.public_key for key in keys.values())


@pytest.fixture(scope="session")
def cards(
    record: cardlib.HolderRecord, keys: dict[str, cardlib.PrivateKey], now: datetime
) -> dict[str, Card]:
    return {alg: issue_card(record, key, now) for alg, key in keys.items()}


@pytest.fixture(params=ALGORITHMS)
def card(request: pytest.FixtureRequest, cards: dict[str, Card]) -> Card:
    """The example card, once per algorithm (test ids ``[EdDSA]`` and ``[ES256]``)."""
    return cards[cast(str, request.param)]


@pytest.fixture(scope="session")
def eddsa(cards: dict[str, Card]) -> Card:
    """The EdDSA example card: the payload of the codec stages and of the Ed25519 floors."""
    return cards["EdDSA"]


@pytest.fixture(scope="session")
def photo_record(record: cardlib.HolderRecord) -> cardlib.HolderRecord:
    """The example record with a portrait compressed to the default 600-byte budget."""
    from cardlib.photo import prepare_portrait

    portrait = prepare_portrait(portrait_jpeg())
    assert portrait.payload_size <= 600
    return dataclasses.replace(record, photo=portrait.payload_bytes,
                               photo_format=portrait.payload_format)


@pytest.fixture(scope="session")
def photo_cards(
    photo_record: cardlib.HolderRecord, keys: dict[str, cardlib.PrivateKey], now: datetime
) -> dict[str, Card]:
    return {alg: issue_card(photo_record, key, now) for alg, key in keys.items()}


@dataclasses.dataclass(frozen=True)
class Service:
    """What a verification service holds: a pinned root, its trust list and revocation list,
    and a centre's signer."""

    verifier: cardlib.Verifier
    signer: cardlib.Signer
    now: datetime


@pytest.fixture(scope="session")
def service(now: datetime) -> Service:
    from cardlib.revocation import Reason, RevocationEntry, publish_revocation_list
    from cardlib.trust import CertifiedSigner, certify_centre, create_root, publish_trust_list

    start = now - timedelta(days=9)
    root_key = cardlib.PrivateKey.generate("EdDSA")
    root = create_root("Benchmark root", root_key, now=start, days=3650)
    centre = cardlib.PrivateKey.generate("EdDSA")
    certificate = certify_centre(root_key, root, centre.public_key, centre_code="TRP-01",
                                 not_before=start, not_after=start + timedelta(days=900))
    trust_list = publish_trust_list(root_key, root, [certificate], sequence=1, issued=start,
                                    next_update=start + timedelta(days=60))
    revoked = [RevocationEntry(f"LY{n:07d}", Reason.STOLEN, start) for n in range(1000)]
    revocations = publish_revocation_list(root_key, root, revoked, sequence=1, issued=start,
                                          next_update=start + timedelta(days=30))
    verifier = cardlib.Verifier(root=root, trust_list=trust_list, revocation_list=revocations,
                                now=now)
    return Service(verifier, CertifiedSigner(centre, certificate), now)
