"""Shared fixtures: the example record, real keys, a pinned clock."""

from __future__ import annotations

import importlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


#: Where the PostgreSQL tests run: a database URL (CI sets it; a laptop without it skips).
PG_ENV = "CARDLIB_TEST_POSTGRES"


@contextmanager
def postgres_schema(prefix: str) -> Iterator[tuple[Any, str]]:
    """A fresh schema in the database of ``CARDLIB_TEST_POSTGRES``, dropped afterwards: an
    autocommit connection whose ``search_path`` is the schema, and the URL scoped to it. Skips
    without the database (fails in CI)."""
    url = os.environ.get(PG_ENV, "")
    require("PostgreSQL", bool(url), f"set {PG_ENV}=postgresql://user@host:port/db")
    try:
        psycopg = importlib.import_module("psycopg")
    except ImportError as err:
        require("PostgreSQL", False, f"psycopg is not installed ({err}): pip install -e '.[dev]'")
        raise  # not reached: require() skipped or failed
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as err:
        require("PostgreSQL", False, f"{PG_ENV} is unreachable: {err}")
        raise
    schema = f"{prefix}_{uuid.uuid4().hex}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        admin.execute(f'SET search_path TO "{schema}"')
        sep = "&" if "?" in url else "?"
        try:
            yield admin, f"{url}{sep}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(autouse=True)
def _state_directory(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's CLI runs (in process or in a subprocess) keep their verifier state in a
    directory of their own, never in the user's ~/.local/state."""
    monkeypatch.setenv("CARDLIB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def refusal_code(call: Callable[[], object]) -> str:
    """The code of the CardError ``call`` raises; anything else fails the test."""
    try:
        result = call()
    except cardlib.CardError as err:
        return err.code
    except Exception as err:
        pytest.fail(f"raised {type(err).__name__}: {err} (not a CardError)")
    pytest.fail(f"accepted: {result!r}")


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """``cardlib ARGS --json`` in process: the exit code and the JSON printed (stdout, or
    stderr for an error)."""
    from cardlib._cli import main

    try:
        code = main([*args, "--json"])
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    result: dict[str, Any] = json.loads(out or err)
    return code, result
