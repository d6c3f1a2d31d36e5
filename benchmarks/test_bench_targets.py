"""Speed targets, checked on the medians that the stage benchmarks measured in the same run.

    .venv/bin/pytest benchmarks --benchmark-enable

1. ``cardlib.verify`` (EdDSA, no photo) takes at most 1.25 × the fastest bare Ed25519
   verification of the same Sig_structure and signature (group ``floor-ed25519``).
2. ``cardlib.verify`` (EdDSA) is faster than the reference decoder, the ``claim169`` package,
   on the same payload (group ``end-to-end``).

Only ratios within one run mean anything on a shared machine. The ratios are printed in the
terminal summary ("cardlib speed targets"). In the normal test run (``--benchmark-disable`` from
pyproject.toml) nothing is measured and both targets are skipped; so are they when the benchmarks
they need are deselected, and under ``--benchmark-only`` (they use no ``benchmark`` fixture).
These tests are moved after every other test (marker ``bench_targets``, see conftest.py).
"""

from __future__ import annotations

import pytest

from ._support import run_of

pytestmark = pytest.mark.bench_targets

VERIFY_EDDSA = "end-to-end/test_verify_cardlib[EdDSA]"
REFERENCE_EDDSA = "end-to-end/test_verify_claim169[EdDSA]"
ED25519_FLOORS = (
    "floor-ed25519/test_pynacl_verify",
    "floor-ed25519/test_cryptography_verify",
    "floor-ed25519/test_pynacl_crypto_sign_open",
)
FLOOR_FACTOR = 1.25


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def _medians(request: pytest.FixtureRequest, keys: tuple[str, ...]) -> list[float]:
    """The medians of ``keys`` measured in this run, or a skip saying why there are none."""
    run = run_of(request.config)
    if run.disabled:
        pytest.skip(
            "nothing is measured in this run (--benchmark-disable, the default from "
            "pyproject.toml, or --benchmark-skip); check the targets with "
            "`pytest benchmarks --benchmark-enable`"
        )
    unselected = [key for key in keys if key not in run.selected]
    if unselected:
        pytest.skip(f"needs the benchmarks {unselected}, which are not selected in this run")
    unmeasured = [key for key in keys if key not in run.medians]
    assert not unmeasured, (
        f"the benchmarks {unmeasured} ran but recorded no measurement; did they fail?"
    )
    return [run.medians[key] for key in keys]


def _report(request: pytest.FixtureRequest, line: str) -> None:
    run_of(request.config).summary.append(line)
    print(line)


CARD_TARGETS = {  # absolute targets from the issue, in seconds
    "cards/test_render_front_and_back": 0.100,
    "cards/test_scan_and_verify[zxing]": 0.010,
    "cards/test_issue_render_png": 1 / 20,
}


@pytest.mark.parametrize("key", sorted(CARD_TARGETS))
def test_card_targets(request: pytest.FixtureRequest, key: str) -> None:
    (median,) = _medians(request, (key,))
    limit = CARD_TARGETS[key]
    verdict = "met" if median <= limit else "NOT met"
    _report(request, f"    {key}: {median * 1e3:.1f} ms (target <= {limit * 1e3:.0f} ms: "
                     f"{verdict})")
    assert median <= limit, f"{key} takes {median * 1e3:.1f} ms; the target is {limit * 1e3} ms"


def test_targets_name_existing_benchmarks(request: pytest.FixtureRequest) -> None:
    """Runs in every mode, so a renamed stage cannot quietly turn a target into a skip."""
    collected = run_of(request.config).collected
    if not collected:
        pytest.skip("the stage benchmarks (test_bench_stages.py) are not collected in this run")
    missing = sorted({VERIFY_EDDSA, REFERENCE_EDDSA, *ED25519_FLOORS, *CARD_TARGETS} - collected)
    assert not missing, f"the targets name benchmarks that do not exist: {missing}"


def test_verify_within_ed25519_floor(request: pytest.FixtureRequest) -> None:
    verify, *floors = _medians(request, (VERIFY_EDDSA, *ED25519_FLOORS))
    floor, floor_key = min(zip(floors, ED25519_FLOORS, strict=True))
    for key, median in zip(ED25519_FLOORS, floors, strict=True):
        _report(request, f"    {key}: {_us(median)}")
    ratio = verify / floor
    verdict = "met" if ratio <= FLOOR_FACTOR else "NOT met"
    _report(
        request,
        f"(1) cardlib verify EdDSA {_us(verify)} / fastest Ed25519 floor {_us(floor)} "
        f"({floor_key}) = {ratio:.3f}  (target <= {FLOOR_FACTOR}: {verdict})",
    )
    assert ratio <= FLOOR_FACTOR, (
        f"cardlib.verify (EdDSA) takes {ratio:.2f} × the bare Ed25519 verify ({floor_key}); "
        f"the target is at most {FLOOR_FACTOR} ×"
    )


def test_verify_faster_than_reference(request: pytest.FixtureRequest) -> None:
    verify, reference = _medians(request, (VERIFY_EDDSA, REFERENCE_EDDSA))
    ratio = verify / reference
    verdict = "met" if ratio < 1 else "NOT met"
    _report(
        request,
        f"(2) cardlib verify EdDSA {_us(verify)} / claim169 decode_with_ed25519 "
        f"{_us(reference)} = {ratio:.3f}  (target < 1: {verdict})",
    )
    assert ratio < 1, (
        f"cardlib.verify (EdDSA) takes {ratio:.2f} × the reference claim169 decoder on the "
        "same payload; the target is to be faster"
    )
