"""Speed targets, each a ratio measured in one run; the gates of ``make bench``.

    .venv/bin/pytest benchmarks --benchmark-enable

Verify (the in-process call, on the profile record, no photo and with the 600-byte portrait):

1. EdDSA: ``cardlib.verify`` takes at most 2.0 × ``claim169.decode_with_ed25519`` (the Rust
   reference decoder) on the same payload; the stretch goal, 1.5 ×, is reported either way.
2. ES256: ``cardlib.verify`` is faster than ``claim169.decode_with_ecdsa_p256``.
3. Verifying 100,000 cards in a loop (the service's path: ``Verifier.check`` and
   ``to_json``) grows the process's resident memory by less than 1 MiB.
4. ``VerificationResult.to_json()`` of a valid card costs at most 15 % of the verify itself.

The timings are interleaved (see ``_support.interleaved``): the calls compared take turns in
every round, one call at a time, and each ratio is a ratio of medians from the same run; the gate
is the median ratio of three runs, with the lowest and highest printed beside it. The lines go to
the terminal summary ("cardlib speed targets"). In the normal test run (``--benchmark-disable``
from pyproject.toml) nothing is measured and the targets are skipped. These tests run after every
other test (marker ``bench_targets``, see conftest.py).
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import sys
from collections.abc import Callable
from datetime import datetime

import claim169
import pytest

import cardlib

from ._support import Card, interleaved, rss_bytes, run_of
from .conftest import Service

pytestmark = pytest.mark.bench_targets

LIMIT = 2.0  # × the reference decoder, EdDSA
STRETCH = 1.5
JSON_SHARE = 0.15
MEMORY_CARDS = 100_000
MEMORY_LIMIT = 1 << 20  # bytes
REFERENCE: dict[str, Callable[..., object]] = {
    "EdDSA": claim169.decode_with_ed25519,
    "ES256": claim169.decode_with_ecdsa_p256,  # PublicKey.raw: the 65-byte uncompressed point
}


def _measured(request: pytest.FixtureRequest) -> None:
    if run_of(request.config).disabled:
        pytest.skip(
            "nothing is measured in this run (--benchmark-disable, the default from "
            "pyproject.toml, or --benchmark-skip); check the targets with `make bench`"
        )


def _report(request: pytest.FixtureRequest, line: str) -> None:
    run_of(request.config).summary.append(line)
    print(line)


def _python() -> str:
    return f"CPython {sys.version.split()[0]} ({sys.executable})"


def _ratios(times: dict[str, list[float]], numerator: str, denominator: str) -> list[float]:
    return [a / b for a, b in zip(times[numerator], times[denominator], strict=True)]


def _spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.2f}× (runs {min(ratios):.2f}–{max(ratios):.2f})"


def _us(times: list[float]) -> str:
    return f"{statistics.median(times) * 1e6:.1f} µs"


@pytest.fixture(params=["no photo", "photo"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _against_reference(card: Card, now: datetime, trust: cardlib.TrustStore
                       ) -> dict[str, list[float]]:
    reference = REFERENCE[card.key.algorithm]
    raw = card.public_key.raw
    verified = cardlib.verify(card.payload, trust, now=now)
    assert verified.record is not None and verified.algorithm == card.key.algorithm
    decoded = reference(card.payload, raw, validate_timestamps=False)
    assert decoded.is_verified()  # type: ignore[attr-defined]
    return interleaved({
        "cardlib": lambda: cardlib.verify(card.payload, trust, now=now),
        "reference": lambda: reference(card.payload, raw, validate_timestamps=False),
    })


GATES = {  # algorithm -> (the gate on cardlib / reference, how it is written)
    "EdDSA": (LIMIT, f"<= {LIMIT}"),
    "ES256": (1.0, "< 1 (faster)"),
}


@pytest.mark.parametrize("alg", sorted(GATES))
def test_verify_against_the_reference(
    request: pytest.FixtureRequest, alg: str, kind: str, cards: dict[str, Card],
    photo_cards: dict[str, Card], now: datetime, trust: cardlib.TrustStore,
) -> None:
    """(1) EdDSA within 2.0 × the reference (stretch 1.5 ×); (2) ES256 faster than it."""
    _measured(request)
    card = (photo_cards if kind == "photo" else cards)[alg]
    times = _against_reference(card, now, trust)
    ratios = _ratios(times, "cardlib", "reference")
    ratio = statistics.median(ratios)
    limit, written = GATES[alg]
    met = ratio <= limit if alg == "EdDSA" else ratio < limit
    stretch = f"; stretch <= {STRETCH}: {'met' if ratio <= STRETCH else 'not met'}" if (
        alg == "EdDSA") else ""
    _report(request, f"{alg} verify, {kind} ({len(card.payload)} chars): cardlib "
                     f"{_us(times['cardlib'])} / reference {_us(times['reference'])} = "
                     f"{_spread(ratios)}; gate {written}: {'met' if met else 'NOT met'}{stretch}"
                     f"  [{_python()}]")
    assert met, f"cardlib.verify ({alg}) takes {ratio:.2f} × the reference; the gate is {written}"


def _distinct_cards(service: Service, record: cardlib.HolderRecord, count: int) -> list[str]:
    """``count`` cards of different holders' documents (none of them revoked)."""
    return [cardlib.issue(dataclasses.replace(record, document_number=f"LZ{n:07d}"),
                          service.signer, now=service.now) for n in range(count)]


def test_verifying_100k_cards_grows_memory_less_than_1_mib(
    request: pytest.FixtureRequest, kind: str, record: cardlib.HolderRecord,
    photo_record: cardlib.HolderRecord, service: Service,
) -> None:
    """10,000 different cards, each verified ten times (100,000 checks): a cache or a leak that
    keeps anything per card, or per check, shows up as growth."""
    _measured(request)
    chosen = photo_record if kind == "photo" else record
    payloads = _distinct_cards(service, chosen, MEMORY_CARDS // 10)
    warm_up = _distinct_cards(service, dataclasses.replace(chosen, document_number="LW0000000"),
                              1)
    check, now = service.verifier.check, service.now
    for _ in range(2000):
        assert check(warm_up[0], now=now).valid
    gc.collect()
    before = rss_bytes()
    valid = 0
    for _ in range(10):
        for payload in payloads:
            result = check(payload, now=now)
            result.to_json()
            valid += result.valid
    gc.collect()
    growth = rss_bytes() - before
    assert valid == MEMORY_CARDS
    _report(request, f"memory: {MEMORY_CARDS:,} checks ({len(payloads):,} cards, {kind}): resident "
                     f"memory grew {growth / 1024:.0f} KiB; gate < 1024 KiB: "
                     f"{'met' if growth < MEMORY_LIMIT else 'NOT met'}")
    assert growth < MEMORY_LIMIT


def test_result_json_costs_at_most_15_percent_of_verify(
    request: pytest.FixtureRequest, kind: str, record: cardlib.HolderRecord,
    photo_record: cardlib.HolderRecord, service: Service,
) -> None:
    _measured(request)
    chosen = photo_record if kind == "photo" else record
    (payload,) = _distinct_cards(service, chosen, 1)
    check, now = service.verifier.check, service.now
    result = check(payload, now=now)
    assert result.valid and result.to_json()["status"] == "valid"
    store = cardlib.TrustStore(service.verifier.trust_list.trust_store().keys)  # type: ignore[union-attr]
    times = interleaved({
        "verify": lambda: cardlib.verify(payload, store, now=now),
        "check": lambda: check(payload, now=now),
        "to_json": result.to_json,
    })
    of_verify = _ratios(times, "to_json", "verify")
    of_check = _ratios(times, "to_json", "check")
    share = statistics.median(of_verify)
    _report(request, f"to_json, {kind}: {_us(times['to_json'])} = "
                     f"{statistics.median(of_verify):.0%} of cardlib.verify "
                     f"({_us(times['verify'])}), {statistics.median(of_check):.0%} of "
                     f"Verifier.check ({_us(times['check'])}); gate <= {JSON_SHARE:.0%}: "
                     f"{'met' if share <= JSON_SHARE else 'NOT met'}")
    assert share <= JSON_SHARE


CARD_TARGETS = {  # absolute targets of an earlier issue, in seconds (pytest-benchmark medians)
    "cards/test_render_front_and_back": 0.100,
    "cards/test_scan_and_verify[zxing]": 0.010,
    "cards/test_issue_render_png": 1 / 20,
}


@pytest.mark.parametrize("key", sorted(CARD_TARGETS))
def test_card_targets(request: pytest.FixtureRequest, key: str) -> None:
    _measured(request)
    run = run_of(request.config)
    if key not in run.selected:
        pytest.skip(f"needs the benchmark {key}, which is not selected in this run")
    assert key in run.medians, f"the benchmark {key} ran but recorded no measurement"
    median, limit = run.medians[key], CARD_TARGETS[key]
    _report(request, f"    {key}: {median * 1e3:.1f} ms (target <= {limit * 1e3:.0f} ms: "
                     f"{'met' if median <= limit else 'NOT met'})")
    assert median <= limit, f"{key} takes {median * 1e3:.1f} ms; the target is {limit * 1e3} ms"


def test_targets_name_existing_benchmarks(request: pytest.FixtureRequest) -> None:
    """Runs in every mode, so a renamed stage cannot quietly turn a target into a skip."""
    collected = run_of(request.config).collected
    if not collected:
        pytest.skip("the stage benchmarks are not collected in this run")
    missing = sorted(set(CARD_TARGETS) - collected)
    assert not missing, f"the targets name benchmarks that do not exist: {missing}"
