"""Shared helpers for tests of the verification service: a service with its keys, raw ASGI
calls (bodies streamed in chunks, any Content-Length), and the one check every refusal passes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cardlib._demo import make_demo
from verifier_service import Settings, create_app
from verifier_service._access import DEFAULT_ROLES, AccessStore

ROOT = Path(__file__).resolve().parents[1]

#: What a server-side failure leaves in a body: never in an answer of this service.
FAILURE_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"Internal Server Error")


@dataclass(frozen=True)
class Service:
    """A running app (its lifespan held by ``client``) with a key for each default role."""

    app: FastAPI
    client: TestClient
    settings: Settings
    tokens: Mapping[str, str]  # role -> a key of that role
    revoked: str  # a verifier key, revoked through the admin API

    def key(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.tokens[role]}


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(env: Mapping[str, str], *args: str, port: int | None = None,
          capture: bool = False) -> tuple[subprocess.Popen[str], int]:
    """``python -m verifier_service serve`` as a process on loopback (``env`` on top of this
    one's, ``args`` after the port), returned once ``/healthz`` answers; its stderr is kept
    with ``capture`` (read it with ``communicate()``)."""
    port = free_port() if port is None else port
    process = subprocess.Popen(
        [sys.executable, "-m", "verifier_service", "serve", "--port", str(port), *args],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if capture else subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process, port
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not come up in 30 s"
            time.sleep(0.1)


def make_chain(directory: Path) -> Path:
    """A demo chain (root, centre, signed lists, bundle, a card) written to ``directory``."""
    make_demo(directory, datetime.now(UTC).replace(microsecond=0))
    return directory


def admin_key(data_dir: Path) -> str:
    """The first admin key, made on the server's store as the operator does (no HTTP)."""
    store = AccessStore(data_dir / "access.db", DEFAULT_ROLES)
    try:
        _, token = store.create_key("Registry operations", "admin", now=datetime.now(UTC))
    finally:
        store.close()
    return token


def new_key(client: TestClient, admin: str, role: str) -> tuple[str, str]:
    """A key made through the admin API: (its id, its token)."""
    made = client.post("/v1/admin/keys", json={"owner": f"{role} agency", "role": role},
                       headers={"X-API-Key": admin})
    assert made.status_code == 201, made.text
    answer = made.json()
    return str(answer["key"]["id"]), str(answer["token"])


@contextmanager
def running_service(settings: Settings) -> Iterator[Service]:
    """The app on ``settings``, started, with a key for each default role (the admin's made
    on the store, the others through the admin API) and a revoked one."""
    admin = admin_key(settings.data_dir)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        tokens = {"admin": admin} | {role: new_key(client, admin, role)[1]
                                     for role in DEFAULT_ROLES if role != "admin"}
        revoked_id, revoked = new_key(client, admin, "verifier")
        assert client.delete(f"/v1/admin/keys/{revoked_id}",
                             headers={"X-API-Key": admin}).status_code == 200
        yield Service(app, client, settings, tokens, revoked)


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """``app`` for HTTP only: it declines the lifespan protocol, as an app without one does.

    schemathesis starts the lifespan of the app it calls and ends it after each test
    (``pytest_runtest_teardown``); this service closes its stores at the end of its lifespan
    and cannot start again, so the fixture's TestClient holds the one real lifespan."""

    async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # declined before receiving a message: "no lifespan support"
        await app(scope, receive, send)

    return http_only


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    bytes_read: int  # how much of the request body the app asked for

    def json(self) -> Any:
        return json.loads(self.body)


def call_raw(app: ASGIApp, method: str, path: str, *, headers: Sequence[tuple[bytes, bytes]],
             chunks: Sequence[bytes] | Iterator[bytes] = ()) -> RawAnswer:
    """One HTTP request straight through ASGI: the headers exactly as given (no Content-Length
    added), the body as ``chunks`` (``more_body`` until the last), read only as far as the app
    asks. An exception that escapes the app becomes the 500 a server would send."""
    pending = iter(chunks)
    read = 0
    status = 0
    answer_headers: dict[str, str] = {}
    body = bytearray()

    async def receive() -> Message:
        nonlocal read
        if status:  # answered: the client has nothing more to say
            return {"type": "http.disconnect"}
        chunk = next(pending, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers.update((k.decode("latin-1").lower(), v.decode("latin-1"))
                                  for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode("ascii"), "query_string": b"",
        "root_path": "", "headers": [(k.lower(), v) for k, v in headers],
        "client": ("192.0.2.1", 40000), "server": ("testserver", 80), "state": {},
    }

    async def run() -> None:
        nonlocal status
        try:
            await app(scope, receive, send)
        except Exception:  # a server logs it; the client gets the 500 sent, or this one
            if not status:
                status = 500
                body.extend(b"Internal Server Error")

    anyio.run(run)
    return RawAnswer(status, answer_headers, bytes(body), read)


def assert_refusal(status: int, headers: Any, body: bytes, *, code: str | None = None,
                   expected_status: int | None = None) -> dict[str, Any]:
    """A refusal the issue asks for: a 4xx, JSON, ``{"status": "error", "code": <a code>,
    "message": {"en", "ar"}, "detail", "category"}``, no traceback; returns the JSON."""
    shown = body[:300]
    assert 400 <= status < 500, f"{status}, not a 4xx: {shown!r}"
    if expected_status is not None:
        assert status == expected_status, f"{status}, not {expected_status}: {shown!r}"
    assert not any(marker in body for marker in FAILURE_MARKERS), shown
    content_type = str(headers.get("content-type", ""))
    assert content_type.split(";")[0].strip() == "application/json", (content_type, shown)
    answer = json.loads(body)
    assert isinstance(answer, dict), shown
    assert answer.get("status") == "error", shown
    assert isinstance(answer.get("code"), str) and answer["code"], shown
    message = answer.get("message")
    assert isinstance(message, dict) and set(message) >= {"en", "ar"}, shown
    assert all(isinstance(message[lang], str) and message[lang] for lang in ("en", "ar")), shown
    assert isinstance(answer.get("detail"), str | None), shown
    assert answer.get("category") in {"invalid", "input", "environment", "internal"}, shown
    if code is not None:
        assert answer["code"] == code, f"{answer['code']}, not {code}: {shown!r}"
    return answer


def service_settings(data_dir: Path, **changes: Any) -> Settings:
    """Settings for tests that send many requests from one address: no rate limits (the
    holder view's: as high as they go)."""
    unlimited: dict[str, Any] = {"rate_per_key": 0, "rate_per_address": 0,
                                 "holder_attempts_per_hour": 1000,
                                 "holder_address_attempts_per_hour": 10_000}
    return Settings(data_dir=data_dir, **(unlimited | changes))
