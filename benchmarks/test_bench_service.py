"""The verification service under load, against the smallest endpoints doing the same work
with the reference decoder. Loopback only, every run bounded in count and time (``make bench``).

One worker pinned to core 0 (``taskset``), the load (``wrk``, one thread) pinned to core 1. The
servers run side by side and take turns: three rounds of 5 s each at 16 connections, the medians
of requests per second and of the server's CPU time per request (from ``/proc``); then the 99th
percentile latency at 32 connections. Servers: this service with
its real machinery on (API key and role, rate limits, revocation check, access event, metrics,
the full JSON answer), a naive FastAPI endpoint (``async def``, pydantic body, JSON out) calling
``claim169.decode_with_ed25519``, and the same as bare ASGI. In process, on the servers' core at
the start of each round (no load running): ``Verifier.check`` and the reference decode,
interleaved.

Gates, per worker:

1. The machinery is free: this service's CPU per request minus its in-process verify time is
   at most the naive reference endpoint's CPU per request minus the reference decode time.
2. p99 at 32 connections ≤ 1.5 × the naive reference endpoint's p99.
3. ``/v1/verify/batch`` per card ≥ 80 % of the in-process verify rate.
4. Two workers ≥ 1.7 × one: needs a core for each worker plus the load generator's; on a
   machine with fewer than 3 cores it is reported as not measurable (this machine has 2).

Needs ``wrk`` and ``taskset`` (Debian's wrk and util-linux); skipped with the reason without.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import claim169
import pytest

import cardlib
from cardlib._demo import make_demo
from tests._service_fixtures import free_port
from verifier_service._access import DEFAULT_ROLES, AccessStore

from ._support import interleaved
from .test_bench_targets import _measured, _report

pytestmark = pytest.mark.bench_targets

ROOT = Path(__file__).resolve().parents[1]
MACHINERY_SLACK = 0.0  # the gate as the issue states it
P99_FACTOR = 1.5
BATCH_SHARE = 0.80
SECONDS, P99_SECONDS, WARM_SECONDS = 5, 5, 2
ROUNDS = 3  # measured runs of each server, taking turns
BATCH_SIZE = 500


@dataclass(frozen=True)
class Load:
    rps: float
    requests: int  # in all measured runs
    cpu_per_request: float  # seconds of server CPU per request
    p99: float  # seconds, at 32 connections


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _wrk(url: str, body: str, headers: dict[str, str], connections: int, seconds: int,
         script_dir: Path) -> tuple[float, int, float]:
    """requests/s, requests, p99 (s) of one wrk run pinned to core 1."""
    script = script_dir / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}",
                          f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert failures is None, f"the server answered errors under load: {out}"
    return rps, total, float(p99.group(1)) * _UNITS[p99.group(2)]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _start(command: list[str], env: dict[str, str], port: int) -> Server:
    process = subprocess.Popen(["taskset", "-c", "0", sys.executable, *command], cwd=ROOT,
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Server(process, f"http://127.0.0.1:{port}")
        except OSError:
            assert process.poll() is None, f"{command} exited"
            assert time.monotonic() < deadline, f"{command} did not come up"
            time.sleep(0.1)


def _round(server: Server, path: str, body: str, headers: dict[str, str], tmp: Path
           ) -> tuple[float, int, float]:
    """One measured run of ``server``: requests/s, requests, server CPU seconds per request."""
    before = _cpu(server.process.pid)
    rps, total, _ = _wrk(server.url + path, body, headers, 16, SECONDS, tmp)
    return rps, total, (_cpu(server.process.pid) - before) / total


def _loads(servers: dict[str, tuple[Server, str, dict[str, str]]], body: str, tmp: Path,
           inproc: dict[str, Callable[[], object]]
           ) -> tuple[dict[str, Load], dict[str, float]]:
    """Each server warmed, then measured in :data:`ROUNDS` rounds, the servers taking turns
    (the order rotating) after the in-process calls, timed on the servers' core with no load
    running; each figure the median of its rounds; then p99 at 32 connections. The servers
    all run at once, idle but for their turn: a drift of the machine (±10 % between runs of a
    minute here) moves every figure alike instead of the one measured then."""
    names = list(servers)
    for server, path, headers in servers.values():
        _wrk(server.url + path, body, headers, 16, WARM_SECONDS, tmp)
    runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in names}
    timed: dict[str, list[float]] = {name: [] for name in inproc}
    pinned = os.sched_getaffinity(0)
    for turn in range(ROUNDS):
        os.sched_setaffinity(0, {0})  # the servers' core: the cores of this VM differ (core 0
        try:  # ran Verifier.check 15 % slower than core 1 here, 149 against 130 µs)
            for name, times in interleaved(inproc, runs=1, rounds=9).items():
                timed[name] += times
        finally:
            os.sched_setaffinity(0, pinned)
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            server, path, headers = servers[name]
            runs[name].append(_round(server, path, body, headers, tmp))
    loads = {}
    for name, (server, path, headers) in servers.items():
        _, _, p99 = _wrk(server.url + path, body, headers, 32, P99_SECONDS, tmp)
        loads[name] = Load(statistics.median(r[0] for r in runs[name]),
                           sum(r[1] for r in runs[name]),
                           statistics.median(r[2] for r in runs[name]), p99)
    return loads, {name: statistics.median(times) for name, times in timed.items()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        pytest.skip("needs wrk and taskset (Debian packages wrk, util-linux)")
    base = tmp_path_factory.mktemp("service-bench")
    demo = make_demo(base / "chain", datetime.now(UTC).replace(microsecond=0))
    store = AccessStore(base / "data" / "access.db", DEFAULT_ROLES)
    _, token = store.create_key("Benchmark agency", "verifier", now=datetime.now(UTC))
    store.close()
    return {"base": base, "demo": demo, "token": token}


def test_the_service_under_load(request: pytest.FixtureRequest,
                                setup: dict[str, object]) -> None:
    _measured(request)
    base, token = Path(str(setup["base"])), str(setup["token"])
    demo = setup["demo"]
    assert isinstance(demo, cardlib._demo.Demo)
    payload, raw = demo.payload, demo.signer.key.public_key.raw
    verifier = cardlib.Verifier(root=demo.root, bundle=demo.bundle)
    assert verifier.check(payload).valid
    inproc: dict[str, Callable[[], object]] = {
        "check": lambda: verifier.check(payload),
        "reference": lambda: claim169.decode_with_ed25519(payload, raw,
                                                          validate_timestamps=False),
    }

    service_env = {"VERIFIER_DATA_DIR": str(base / "data"),
                   "VERIFIER_ROOT": str(demo.directory / "root.pem"),
                   "VERIFIER_BUNDLE": str(demo.directory / "bundle.cbor"),
                   "VERIFIER_RATE_PER_KEY": "1000000", "VERIFIER_RATE_PER_ADDRESS": "1000000"}
    body = json.dumps({"payload": payload})
    keyed = {"Content-Type": "application/json", "X-API-Key": token,
             "X-Purpose": "benchmark"}
    plain = {"Content-Type": "application/json"}
    reference = {"BENCH_PUBLIC_KEY": raw.hex()}

    def uvicorn(app: str, port: int) -> list[str]:
        return ["-m", "uvicorn", app, "--port", str(port), "--loop", "uvloop", "--http",
                "httptools", "--log-level", "warning", "--no-access-log"]

    ports = [free_port() for _ in range(3)]
    commands = {
        "service": (["-m", "verifier_service", "serve", "--port", str(ports[0])], service_env,
                    ports[0], "/v1/verify", keyed),
        "naive FastAPI + reference": (uvicorn("benchmarks._minimal_reference:app", ports[1]),
                                      reference, ports[1], "/verify", plain),
        "bare ASGI + reference": (uvicorn("benchmarks._minimal_reference:bare", ports[2]),
                                  reference, ports[2], "/verify", plain),
    }
    started: dict[str, tuple[Server, str, dict[str, str]]] = {}
    try:
        for name, (command, env, port, path, headers) in commands.items():
            started[name] = (_start(command, env, port), path, headers)
        loads, times = _loads(started, body, base, inproc)
        batch_rate = _batch_rate(started["service"][0].url, payload, keyed, base)
    finally:
        for server, _, _ in started.values():
            server.stop()
    stored = AccessStore(base / "data" / "access.db", DEFAULT_ROLES)
    check_time, reference_time = times["check"], times["reference"]
    events = len(stored.events())
    stored.close()
    service, naive, bare = (loads["service"], loads["naive FastAPI + reference"],
                            loads["bare ASGI + reference"])
    for name, load in loads.items():
        _report(request, f"{name}: {load.rps:,.0f} req/s, {load.cpu_per_request * 1e6:.0f} µs "
                         f"CPU per request, p99 at 32 connections {load.p99 * 1e3:.1f} ms")
    machinery = service.cpu_per_request - check_time
    naive_machinery = naive.cpu_per_request - reference_time
    _report(request, f"in process: Verifier.check {check_time * 1e6:.1f} µs, reference decode "
                     f"{reference_time * 1e6:.1f} µs; service/naive req/s "
                     f"{service.rps / naive.rps:.2f}, service/bare {service.rps / bare.rps:.2f}; "
                     f"access events stored: {events:,}")
    results = {
        "machinery": (machinery <= naive_machinery * (1 + MACHINERY_SLACK),
                      f"service machinery {machinery * 1e6:.0f} µs/request vs naive endpoint's "
                      f"{naive_machinery * 1e6:.0f} µs"),
        "p99": (service.p99 <= P99_FACTOR * naive.p99,
                f"p99 {service.p99 * 1e3:.1f} ms vs {P99_FACTOR} × {naive.p99 * 1e3:.1f} ms"),
        "batch": (batch_rate >= BATCH_SHARE / check_time,
                  f"batch {batch_rate:,.0f} cards/s vs {BATCH_SHARE:.0%} of in-process "
                  f"{1 / check_time:,.0f}/s"),
    }
    for gate, (met, text) in results.items():
        _report(request, f"gate {gate}: {text}: {'met' if met else 'NOT met'}")
    cores = os.cpu_count() or 1
    _report(request, f"gate two workers ≥ 1.7 × one: not measurable here ({cores} cores: each "
                     "worker and the load generator need one)" if cores < 3 else
            "gate two workers: run with more cores")
    assert events >= service_requests(loads["service"]), "access events were lost"
    failed = [text for met, text in results.values() if not met]
    assert not failed, failed


def service_requests(load: Load) -> int:
    return load.requests  # every keyed request of the measured runs recorded one event


def _batch_rate(url: str, payload: str, headers: dict[str, str], tmp: Path) -> float:
    """Cards per second through /v1/verify/batch, 500 a request, the worker kept busy (wrk on
    the load generator's core, 4 connections: one request is verified while the answers of
    the others travel and are read)."""
    body = json.dumps({"payloads": [payload] * BATCH_SIZE})
    url += "/v1/verify/batch"
    _wrk(url, body, headers, 4, WARM_SECONDS, tmp)
    rps, _, _ = _wrk(url, body, headers, 4, SECONDS, tmp)
    return rps * BATCH_SIZE
