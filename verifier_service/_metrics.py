"""GET /metrics: Prometheus metrics (prometheus-client), one registry per app. The only module
that imports prometheus_client.

Request counts and latency histograms per route (the route's template, never the URL: no
document number or token can reach a label), verification outcomes per status and code, the age
and staleness of the trust and revocation lists, and the access events waiting to be written.
Numbers, names and payloads never appear. Per process: with several workers, scrape each or
sum at the load balancer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cardlib import ListInfo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Live(Collector):
    """Values read at scrape time: list freshness and the access-event backlog."""

    def __init__(self, lists: Callable[[], tuple[ListInfo, ...]],
                 pending: Callable[[], int]) -> None:
        self._lists, self._pending = lists, pending

    def collect(self) -> Iterator[GaugeMetricFamily]:
        age = GaugeMetricFamily("cardlib_list_age_seconds",
                                "Seconds since the list held was issued", labels=["kind"])
        stale = GaugeMetricFamily("cardlib_list_stale", "1 when the list held is stale",
                                  labels=["kind"])
        sequence = GaugeMetricFamily("cardlib_list_sequence", "Sequence of the list held",
                                     labels=["kind"])
        for info in self._lists():
            age.add_metric([info.kind], info.age_seconds)
            stale.add_metric([info.kind], int(info.stale))
            sequence.add_metric([info.kind], info.sequence)
        yield age
        yield stale
        yield sequence
        yield GaugeMetricFamily("cardlib_access_events_pending",
                                "Access events waiting to be written", value=self._pending())


class Metrics:
    def __init__(self, lists: Callable[[], tuple[ListInfo, ...]],
                 pending: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("cardlib_requests", "HTTP requests", ["route", "status"],
                                registry=self.registry)
        self.latency = Histogram("cardlib_request_seconds", "HTTP request latency",
                                 ["route"], buckets=_BUCKETS, registry=self.registry)
        self.verifications = Counter("cardlib_verifications", "Verification outcomes",
                                     ["status", "code"], registry=self.registry)
        self.registry.register(_Live(lists, pending))
        # The labelled children, looked up once (labels() takes a lock and builds a key).
        self._outcomes: dict[tuple[str, str], Any] = {}
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def outcome(self, status: str, code: str | None) -> None:
        key = (status, code or "")
        counter = self._outcomes.get(key)
        if counter is None:
            counter = self._outcomes[key] = self.verifications.labels(*key)
        counter.inc()

    def observe(self, route: str, status: int, seconds: float) -> None:
        """One request: its route template, its status and how long it took."""
        key = (route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(route, str(status)),
                                              self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """ASGI middleware timing every HTTP request under its route template."""
        observe = self.observe

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start = time.perf_counter()
            status = 500

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                route = scope.get("route")
                observe(getattr(route, "path", None) or "unmatched", status,
                        time.perf_counter() - start)

        return timed
