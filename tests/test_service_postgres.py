"""Replicas on several hosts sharing PostgreSQL (``VERIFIER_DATABASE_URL``): API keys, access
events and lists. Each test gets a fresh schema in the database of ``CARDLIB_TEST_POSTGRES``
(CI sets it and fails without it; a laptop without it skips)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardlib._demo import make_demo
from verifier_service import Settings, create_app
from verifier_service._access import DEFAULT_ROLES, AccessEvent, AccessStore

from .conftest import postgres_schema


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_schema("verifier_test") as (_, url):
        yield url


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    demo = tmp_path / "chain"
    make_demo(demo, datetime.now(UTC).replace(microsecond=0))
    return demo


def host(tmp_path: Path, name: str, chain: Path, database: str, **changes: object) -> Settings:
    """One replica: its own data directory (its verifier state), the shared database."""
    return Settings(data_dir=tmp_path / name, root=chain / "root.pem",
                    bundle=chain / "bundle.cbor", database_url=database, **changes)  # type: ignore[arg-type]


def test_the_store_on_postgresql(database: str, tmp_path: Path) -> None:
    store = AccessStore(tmp_path / "unused.db", DEFAULT_ROLES, url=database)
    try:
        key, token = store.create_key("Bank", "verifier", now=datetime.now(UTC))
        found = store.authenticate(token)
        assert found is not None and found[0].id == key.id and found[1].name == "verifier"
        assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        event = AccessEvent(key.id, "Bank", datetime.now(UTC), "loan", "valid", None, "ab" * 32,
                            "event-1")
        assert store.record([event, event], via="edge-1") == 2  # handed in twice ...
        store.record([event], via="edge-1")
        assert [e.event_id for e in store.events()] == ["event-1"]  # ... stored once
        store.record([dataclasses.replace(event, event_id="")])  # a look made here
        waiting = store.unshipped(10)
        assert [e.agency for _, e in waiting] == ["Bank"] and waiting[0][1].event_id
        store.mark_shipped(row for row, _ in waiting)
        assert store.unshipped(10) == []
        store.revoke_key(key.id, now=datetime.now(UTC))
        assert store.authenticate(token) is None
        assert not (tmp_path / "unused.db").exists()  # nothing went to SQLite
    finally:
        store.close()


def test_replicas_on_two_hosts_share_keys_lists_and_events(
        database: str, tmp_path: Path, chain: Path) -> None:
    card = (chain / "payload.txt").read_text("ascii").strip()
    first = host(tmp_path, "a", chain, database, root_key=chain / "root-private.pem",
                 refresh_seconds=0.2)
    second = host(tmp_path, "b", chain, database, refresh_seconds=0.2)
    with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
        store = AccessStore(tmp_path / "unused.db", DEFAULT_ROLES, url=database)
        _, admin = store.create_key("Registry", "admin", now=datetime.now(UTC))
        _, clerk = store.create_key("Bank", "verifier", now=datetime.now(UTC))
        headers = {"X-API-Key": clerk, "X-Purpose": "account"}

        def status(client: TestClient) -> str:
            answer: str = client.post("/v1/verify", json={"payload": card},
                                      headers=headers).json()["status"]
            return answer

        assert status(a) == status(b) == "valid"  # a key made anywhere works everywhere
        number = a.post("/v1/verify", json={"payload": card}, headers=headers).json()[
            "card"]["record"]["document_number"]
        made = a.post("/v1/admin/revocations", json={"document_number": number,
                                                      "reason": "fraud"},
                      headers={"X-API-Key": admin})
        assert made.status_code == 201
        start = time.monotonic()
        while status(b) != "revoked":  # host b had no part in it: it reads the shared store
            assert time.monotonic() - start < 10, "host b never saw the revocation"
            time.sleep(0.05)
        for client in (a, b):
            assert client.app.state.gate.writer.flush()  # type: ignore[attr-defined]
        agencies = {e.agency for e in store.events()}
        assert agencies == {"Bank"} and len(store.events()) >= 4
        store.close()
    assert not (tmp_path / "a" / "access.db").exists()
    assert not (tmp_path / "b" / "documents.db").exists()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_event_rows_go_in_as_few_statements_and_once_each(backend: str, tmp_path: Path) -> None:
    """More rows than one INSERT holds (500): every local look stored, an event handed in
    twice (by an edge node, in the same batch and again later) stored once."""
    from verifier_service._access import AccessEvent, event_row

    with contextlib.ExitStack() as stack:
        url = None if backend == "sqlite" else stack.enter_context(
            postgres_schema("verifier_rows"))[1]
        store = AccessStore(tmp_path / "access.db", DEFAULT_ROLES, url=url)
        stack.callback(store.close)
        now = datetime.now(UTC)
        local = [event_row(AccessEvent("k", "Bank", now, "audit", "valid", None, f"{n:064x}"))
                 for n in range(1_201)]
        handed = event_row(AccessEvent("k", "Edge bank", now, None, "revoked", "card_revoked",
                                       None, "e" * 32), via="edge-key")
        assert store.record_rows([*local[:700], handed, handed, *local[700:]]) == 1_203
        store.record_rows([handed])
        stored = store.events()
        assert len(stored) == 1_202
        assert sorted(e.document_hmac or "" for e in stored if e.agency == "Bank") == \
            sorted(row[7] or "" for row in local)
        assert [e.status for e in stored if e.agency == "Edge bank"] == ["revoked"]
        assert store.handed_in_by("e" * 32) == "edge-key"
