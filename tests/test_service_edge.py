"""Edge mode: a node verifies from its bundle, keeps answering while its upstream is down,
catches up when it returns, and ships its access events once.

The upstream is a real `python -m verifier_service serve` process on loopback, stopped and
restarted mid-test; the edge node is the real app, whose sync task talks HTTP to it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from verifier_service import Settings, create_app
from verifier_service._access import DEFAULT_ROLES, AccessStore

from ._service_fixtures import free_port, serve


class Upstream:
    """The central service as a process: start, stop, start again on the same port and data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process, _ = serve({"VERIFIER_DATA_DIR": str(self.data_dir)}, port=self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def key(self, role: str) -> str:
        store = AccessStore(self.data_dir / "access.db", DEFAULT_ROLES)
        _, token = store.create_key(f"{role} key", role, now=datetime.now(UTC))
        store.close()
        return token

    def events(self) -> list[str]:
        store = AccessStore(self.data_dir / "access.db", DEFAULT_ROLES)
        try:
            return [event.event_id for event in store.events()]
        finally:
            store.close()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    central = Upstream(tmp_path / "central")
    central.start()
    try:
        yield central
    finally:
        central.stop()


def test_edge_node_through_an_outage(upstream: Upstream, tmp_path: Path) -> None:
    demo = upstream.data_dir / "demo"
    card = (demo / "payload.txt").read_text("ascii").strip()
    settings = Settings(
        data_dir=tmp_path / "edge", root=demo / "root.pem", bundle=demo / "bundle.cbor",
        upstream=upstream.url, upstream_key=upstream.key("edge"), upstream_seconds=0.2,
        hmac_key=(upstream.data_dir / "access-hmac.key").read_bytes().hex())
    clerk_store = AccessStore(tmp_path / "edge" / "access.db", DEFAULT_ROLES)
    _, clerk = clerk_store.create_key("Embassy in Tunis", "verifier", now=datetime.now(UTC))
    clerk_store.close()
    headers = {"X-API-Key": clerk, "X-Purpose": "visa application"}

    with TestClient(create_app(settings)) as edge:
        def check() -> tuple[str, dict[str, str]]:
            answer = edge.post("/v1/verify", json={"payload": card}, headers=headers)
            return answer.json()["status"], dict(answer.headers)

        wait_for(lambda: check()[1].get("x-upstream-reachable") == "true", "the first sync")
        status, answer_headers = check()
        assert status == "valid" and answer_headers["x-upstream-synced-at"] != "never"
        recorded = AccessStore(tmp_path / "edge" / "access.db", DEFAULT_ROLES)

        def shipped() -> bool:  # every event recorded at the edge (there are some) is upstream
            here = sorted(e.event_id for e in recorded.events())
            return bool(here) and sorted(upstream.events()) == here

        wait_for(shipped, "the events to be shipped")
        assert upstream.events()

        upstream.stop()  # the line goes down
        wait_for(lambda: check()[1]["x-upstream-reachable"] == "false", "the outage to show")
        for _ in range(3):
            assert check()[0] == "valid"  # still verifying, from its own lists
        ready = edge.get("/readyz").json()
        assert ready["status"] == "ready" and ready["edge"]["reachable"] is False
        assert ready["edge"]["last_error"]

        upstream.start()  # the line comes back; meanwhile the centre revokes the card
        admin = upstream.key("admin")
        number = check_number(edge, card, headers)
        request = urllib.request.Request(
            f"{upstream.url}/v1/admin/revocations", method="POST",
            data=json.dumps({"document_number": number, "reason": "stolen"}).encode(),
            headers={"X-API-Key": admin, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as made:
            assert made.status == 201
        wait_for(lambda: check()[0] == "revoked", "the edge node to enforce the revocation")
        wait_for(shipped, "every event recorded at the edge to reach the centre")
        time.sleep(0.5)  # a few more sync rounds: nothing is sent twice
    central = upstream.events()
    assert len(central) == len(set(central)) == len(recorded.events()) >= 8
    recorded.close()


def check_number(edge: TestClient, card: str, headers: dict[str, str]) -> str:
    number: str = edge.post("/v1/verify", json={"payload": card}, headers=headers).json()[
        "card"]["record"]["document_number"]
    return number


def test_ingest_needs_the_edge_role_and_counts_each_event_once(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as central:
        store: AccessStore = central.app.state.gate.store  # type: ignore[attr-defined]
        _, edge = store.create_key("Embassy", "edge", now=datetime.now(UTC))
        _, clerk = store.create_key("Bank", "verifier", now=datetime.now(UTC))
        event = {"event_id": "e" * 32, "key_id": "k1", "agency": "Embassy in Tunis",
                 "at": "2026-12-06T10:00:00.000000Z", "purpose": None, "status": "valid",
                 "code": None, "document_hmac": "ab" * 32}
        for _ in range(2):
            sent = central.post("/v1/access-events", json={"events": [event]},
                                headers={"X-API-Key": edge})
            assert sent.status_code == 200 and sent.json() == {"stored": 1}
        assert [e.event_id for e in store.events()] == ["e" * 32]
        edge_key = next(k for k in store.api_keys() if k.role == "edge")
        assert store.handed_in_by("e" * 32) == edge_key.id  # traceable to the node
        assert central.post("/v1/access-events", json={"events": [event]},
                            headers={"X-API-Key": clerk}).status_code == 403
        assert central.post("/v1/access-events", json={"events": [event]}).status_code == 401
        for bad in ([], [{**event, "extra": 1}], [{**event, "at": "yesterday"}],
                    [{**event, "agency": 5}], [event] * 1001):
            refused = central.post("/v1/access-events", json={"events": bad},
                                   headers={"X-API-Key": edge})
            assert refused.status_code == 400 and refused.json()["code"] == "request_invalid"
        assert len(store.events()) == 1


def test_a_broken_answer_from_the_upstream_is_a_status_not_a_crash(tmp_path: Path) -> None:
    """A line that drops mid-answer (a short body) is reported, and the node tries again."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(10)  # a second accept the node never answers ends, and is caught
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):  # the node may try once or twice before the test closes the listener
            try:
                conn, _ = listener.accept()
            except OSError:  # closed or timed out: the node tried once
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    demo = tmp_path / "chain"
    from cardlib._demo import make_demo

    make_demo(demo, datetime.now(UTC).replace(microsecond=0))
    settings = Settings(data_dir=tmp_path / "edge", root=demo / "root.pem",
                        bundle=demo / "bundle.cbor", upstream=f"http://127.0.0.1:{port}")
    app = create_app(settings)
    status = app.state.upstream.sync()
    assert status.reachable is False and status.last_error
    assert "IncompleteRead" in status.last_error or "Error" in status.last_error
    listener.close()
    for url in ("http://central.example", "ftp://127.0.0.1", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="https"):
            create_app(settings.model_copy(update={"upstream": url}))


def test_ingested_events_must_be_well_formed(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as central:
        store: AccessStore = central.app.state.gate.store  # type: ignore[attr-defined]
        _, edge = store.create_key("Embassy", "edge", now=datetime.now(UTC))
        event = {"event_id": "e" * 32, "key_id": "k1", "agency": "Embassy in Tunis",
                 "at": "2026-12-06T10:00:00.000000Z", "purpose": None, "status": "valid",
                 "code": None, "document_hmac": "ab" * 32}
        for bad in ({**event, "status": "approved"}, {**event, "agency": "Embassy\x00"},
                    {**event, "purpose": "x\ny"}):
            refused = central.post("/v1/access-events", json={"events": [bad]},
                                   headers={"X-API-Key": edge})
            assert refused.status_code == 400, bad
        assert store.events() == []
