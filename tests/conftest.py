"""Shared fixtures: the example record, real keys, a pinned clock."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import cardlib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "specs" / "examples" / "holder.json"
ISSUED = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
CHECKED = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def example_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def record(example_json: dict[str, Any]) -> cardlib.HolderRecord:
    return cardlib.record_from_json(example_json)


@pytest.fixture(scope="session")
def ed_key() -> cardlib.PrivateKey:
    return cardlib.PrivateKey.generate("EdDSA")


@pytest.fixture(scope="session")
def es_key() -> cardlib.PrivateKey:
    return cardlib.PrivateKey.generate("ES256")


@pytest.fixture(scope="session", params=["EdDSA", "ES256"])
def any_key(
    request: pytest.FixtureRequest, ed_key: cardlib.PrivateKey, es_key: cardlib.PrivateKey
) -> cardlib.PrivateKey:
    return ed_key if request.param == "EdDSA" else es_key


@pytest.fixture(scope="session")
def trust(ed_key: cardlib.PrivateKey, es_key: cardlib.PrivateKey) -> cardlib.TrustStore:
    return cardlib.TrustStore([ed_key.public_key, es_key.public_key])


def require(feature: str, available: bool, reason: str) -> None:
    """Skip a test whose optional part is missing on this machine; in CI (where .ci/run sets
    CARDLIB_REQUIRE_ALL=1 and installs every part) the same condition is a failure."""
    if available:
        return
    if os.environ.get("CARDLIB_REQUIRE_ALL") == "1":
        pytest.fail(f"{feature} is required in CI but unavailable: {reason}")
    pytest.skip(f"{feature} unavailable: {reason}")


@pytest.fixture(autouse=True)
def _state_directory(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's CLI runs (in process or in a subprocess) keep their verifier state in a
    directory of their own, never in the user's ~/.local/state."""
    monkeypatch.setenv("CARDLIB_STATE_DIR", str(tmp_path_factory.mktemp("state")))
