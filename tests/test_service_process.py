"""The service as processes: SIGTERM drains in-flight requests and writes every access event;
a worker killed with SIGKILL is replaced while the other keeps serving. Real uvicorn on
loopback, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from verifier_service._access import DEFAULT_ROLES, AccessStore

from ._service_fixtures import serve


def _serve(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    return serve({"VERIFIER_DATA_DIR": str(data_dir), "VERIFIER_RATE_PER_KEY": "0",
                  "VERIFIER_RATE_PER_ADDRESS": "0"}, *extra)


def _post(port: int, path: str, body: object, token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              "X-API-Key": token})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _key(data_dir: Path) -> str:
    store = AccessStore(data_dir / "access.db", DEFAULT_ROLES)
    _, token = store.create_key("Hospital", "verifier", now=datetime.now(UTC))
    store.close()
    return token


def test_sigterm_drains_in_flight_requests_and_writes_every_event(tmp_path: Path) -> None:
    server, port = _serve(tmp_path)
    token = _key(tmp_path)
    payload = (tmp_path / "demo" / "payload.txt").read_text("ascii").strip()
    answers: list[tuple[int, dict[str, object]]] = []

    def batch() -> None:
        answers.append(_post(port, "/v1/verify/batch", {"payloads": [payload] * 1000}, token))

    threads = [threading.Thread(target=batch) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.15)  # the batches are being verified (about 0.1 s of CPU each)
        server.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(60)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
    assert [code for code, _ in answers] == [200] * 4  # none cut off
    assert all(len(body["results"]) == 1000 for _, body in answers)  # type: ignore[arg-type]
    events = AccessStore(tmp_path / "access.db", DEFAULT_ROLES).events()
    assert len(events) == 4000  # every look recorded before the process ended


def _workers(pid: int) -> set[int]:
    """The live uvicorn workers of ``pid`` (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = set()
    for child in children.read_text().split() if children.exists() else ():
        try:
            status = Path(f"/proc/{child}/status").read_text()
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if b"resource_tracker" not in command and "State:\tZ" not in status:
            found.add(int(child))
    return found


def test_a_killed_worker_is_replaced_and_the_other_keeps_serving(tmp_path: Path) -> None:
    server, port = _serve(tmp_path, "--workers", "2")
    token = _key(tmp_path)
    payload = (tmp_path / "demo" / "payload.txt").read_text("ascii").strip()
    try:
        deadline = time.monotonic() + 30
        while len(workers := _workers(server.pid)) < 2:
            assert time.monotonic() < deadline, "two workers never started"
            time.sleep(0.1)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        served = 0
        deadline = time.monotonic() + 30
        while True:
            code, body = _post(port, "/v1/verify", {"payload": payload}, token)
            assert (code, body["status"]) == (200, "valid")  # never refused meanwhile
            served += 1
            now = _workers(server.pid)
            if victim not in now and len(now) == 2:
                break
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.05)
        assert served >= 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
