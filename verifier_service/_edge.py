"""Edge mode: a node at an embassy or a checkpoint, whose line to the centre comes and goes.

It verifies from its own store (seeded from a bundle), so it keeps answering when the line is
down. Whenever the upstream answers, :meth:`Upstream.sync` fetches what changed (the revocation
list as a delta from the list held, ``?since=SEQ``; the trust list by ``ETag``, so an unchanged
list costs a 304) and hands in the access events recorded here, oldest first. An event is marked
shipped only after the upstream stored it, and the upstream stores an event id once, so a batch
cut off mid-way is sent again and counted once: nothing lost, nothing doubled. ``status`` says
when the last sync succeeded (``/readyz`` and an ``X-Upstream-*`` header on every answer).

HTTP with the standard library (``urllib``), called from a worker thread.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ._access import AccessStore
from ._documents import REVOCATION_LIST, TRUST_LIST, Documents

BATCH = 500
TIMEOUT = 10.0
MAX_ANSWER = 64 << 20  # the largest list the upstream may send (a revocation list is ≤ 4 MiB)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: the node's key would follow them to another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class EdgeStatus:
    upstream: str
    reachable: bool | None = None  # None: not tried yet
    last_sync: datetime | None = None  # the last time every step succeeded
    last_error: str | None = None
    events_shipped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"upstream": self.upstream, "reachable": self.reachable,
                "last_sync": None if self.last_sync is None
                else self.last_sync.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "last_error": self.last_error, "events_shipped": self.events_shipped}


class Upstream:
    def __init__(self, url: str, key: str | None, documents: Documents,
                 store: AccessStore) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in (
                "127.0.0.1", "localhost", "::1")):
            raise ValueError("VERIFIER_UPSTREAM is an https:// URL (http:// only on loopback: "
                             "the node's key and its access events travel on it)")
        self._url, self._key = url.rstrip("/"), key
        self._documents, self._store = documents, store
        self._etag: str | None = None
        self._lock = threading.Lock()
        self.status = EdgeStatus(self._url)

    def _request(self, path: str, *, data: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
        request = urllib.request.Request(  # noqa: S310 (http or https: checked when made)
            self._url + path, data=data, headers=headers or {},
            method="POST" if data is not None else "GET")
        if self._key is not None:
            request.add_header("X-API-Key", self._key)
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as answer:
                body = answer.read(MAX_ANSWER + 1)
                if len(body) > MAX_ANSWER:
                    raise ValueError(f"the upstream's answer is over {MAX_ANSWER} bytes")
                return answer.status, body, answer.headers
        except urllib.error.HTTPError as err:
            if err.code == 304:
                return 304, b"", err.headers
            raise

    def sync(self) -> EdgeStatus:
        """One round: lists, then events. Never raises: a failure is in the status."""
        with self._lock:
            try:
                self._sync_lists()
                shipped = self._ship_events()
            except Exception as err:
                # whatever it was, the node keeps serving and tries again next round)
                self.status = replace(self.status, reachable=False,
                                      last_error=f"{type(err).__name__}: {err}"[:300])
                return self.status
            self.status = replace(self.status, reachable=True, last_sync=datetime.now(UTC),
                                  last_error=None,
                                  events_shipped=self.status.events_shipped + shipped)
            return self.status

    def _sync_lists(self) -> None:
        held = self._documents.held
        since = "" if held.revocation_sequence is None else f"?since={held.revocation_sequence}"
        code, body, _ = self._request(f"/v1/revocations{since}")
        if code == 200:
            self._documents.take(REVOCATION_LIST, body, held.revocation_sequence)
        headers = {} if self._etag is None else {"If-None-Match": self._etag}
        code, body, answer_headers = self._request("/v1/trust-list", headers=headers)
        if code == 200:
            self._documents.take(TRUST_LIST, body)
            self._etag = answer_headers.get("ETag")

    def _ship_events(self) -> int:
        shipped = 0
        while waiting := self._store.unshipped(BATCH):
            events = [event for _, event in waiting]
            body = json.dumps({"events": [e.to_json() for e in events]}).encode()
            code, answer, _ = self._request("/v1/access-events", data=body,
                                            headers={"Content-Type": "application/json"})
            stored = json.loads(answer) if code == 200 else None
            if not isinstance(stored, dict) or stored.get("stored") != len(events):
                raise ValueError(f"the upstream did not store the events (HTTP {code})")
            self._store.mark_shipped(row for row, _ in waiting)
            shipped += len(events)
        return shipped
