"""The gate every route passes: who is calling (API key or anonymous), with which role and
purpose, within which rate; and what leaves: the fields the role may see, and the access event.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request

from cardlib import CardError, VerificationResult
from cardlib.audit import AuditLog

from ._access import (
    DEFAULT_ROLES,
    AccessEvent,
    AccessStore,
    ApiKey,
    EventWriter,
    Role,
    document_hmac,
    hmac_key,
    roles_from_json,
    visible,
)
from ._errors import (
    ApiKeyInvalidError,
    ApiKeyRequiredError,
    ForbiddenError,
    PurposeRequiredError,
    RateLimitedError,
    RequestInvalidError,
)
from ._ratelimit import RateLimiter
from ._settings import Settings

MAX_PURPOSE = 128
T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None
    role: Role
    purpose: str | None


def _token(request: Request) -> str | None:
    token = request.headers.get("x-api-key")
    if token is None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    return token or None


class Gate:
    """Authentication, roles, rate limits and access events for one app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.roles = {**DEFAULT_ROLES, **roles_from_json(settings.roles)}
        if settings.anonymous_role not in self.roles:
            raise ValueError(f"VERIFIER_ANONYMOUS_ROLE {settings.anonymous_role!r} is not a role")
        self.store = AccessStore(settings.data_dir / "access.db", self.roles,
                                 url=settings.database_url,
                                 cache_seconds=settings.key_cache_seconds)
        self.secret = hmac_key(settings.data_dir / "access-hmac.key", settings.hmac_key)
        self.writer = EventWriter(self.store)
        self.audit_path = settings.data_dir / "audit.log"
        self._per_key = RateLimiter(settings.rate_per_key, settings.rate_burst)
        self._per_address = RateLimiter(settings.rate_per_address, settings.rate_burst)

    def close(self) -> None:
        self.writer.close()  # every queued event is written first
        self.store.close()

    def caller(self, request: Request, *, admin: bool = False, ingest: bool = False) -> Caller:
        """The caller of ``request``, or the refusal: 429, 401, 403 or 400. ``admin``: only the
        admin role; ``ingest``: only a role that hands in access events (an edge node)."""
        refuse_over_limit(self._per_address, f"address {client_address(request)}",
                          "this address")
        token = _token(request)
        if token is None:
            if admin or ingest or not self.settings.anonymous_allowed:
                raise ApiKeyRequiredError("send an API key (X-API-Key or Authorization: Bearer)")
            return Caller(None, self.roles[self.settings.anonymous_role], self._purpose(request))
        found = self.store.authenticate(token)
        if found is None:
            raise ApiKeyInvalidError("the API key is not valid (unknown or revoked)")
        key, role = found
        refuse_over_limit(self._per_key, f"key {key.id}", "this API key")
        if admin and not role.admin:
            raise ForbiddenError(f"the {role.name} role may not call the admin API")
        if ingest and not role.ingest:
            raise ForbiddenError(f"the {role.name} role may not hand in access events")
        purpose = self._purpose(request)
        if purpose is None and self.settings.require_purpose and not (admin or ingest):
            raise PurposeRequiredError("state the purpose of this verification (X-Purpose)")
        return Caller(key, role, purpose)

    @staticmethod
    def _purpose(request: Request) -> str | None:
        raw = request.headers.get("x-purpose")
        if raw is None:
            return None
        # HTTP headers arrive as bytes (read as latin-1): a purpose in Arabic is sent as UTF-8,
        # raw or percent-encoded (what browsers' fetch() needs); both are read.
        try:
            purpose = raw.strip() if raw.isascii() and "%" not in raw else urllib.parse.unquote(
                raw.encode("latin-1").decode("utf-8"), errors="strict").strip()
        except UnicodeError:
            raise RequestInvalidError("X-Purpose is UTF-8 text (raw or percent-encoded)") \
                from None
        if not 0 < len(purpose) <= MAX_PURPOSE or not purpose.isprintable():
            raise RequestInvalidError(f"X-Purpose is 1-{MAX_PURPOSE} printable characters")
        return purpose

    def answer(self, caller: Caller, result: VerificationResult) -> dict[str, Any]:
        """The result as the caller's role may see it; a keyed caller's look is recorded."""
        if caller.key is not None:
            card = result.card
            number = None if card is None or card.record is None else card.record.document_number
            self.writer.put(AccessEvent(
                caller.key.id, caller.key.owner, result.checked_at, caller.purpose,
                result.status, result.code,
                None if number is None else document_hmac(self.secret, number)))
        return visible(result.to_json(), caller.role)

    def audited(self, action: str, caller: Caller, work: Callable[[], T],
                outcome: Callable[[T], dict[str, Any]] = lambda _: {}, **data: Any) -> T:
        """Do an admin action ``work`` between two events of the audit log (hash-chained,
        fsynced), write-ahead: ``phase: requested`` with ``data`` before anything is done (an
        action that cannot be logged is refused, not done unlogged), then ``done`` with
        ``outcome(result)``, or ``failed`` with the refusal's code. Blocks (the log's lock and
        fsync, the store): call it off the event loop."""
        self._audit(action, caller, phase="requested", **data)
        try:
            result = work()
        except CardError as err:
            self._audit(action, caller, phase="failed", code=err.code, **data)
            raise
        self._audit(action, caller, phase="done", **data, **outcome(result))
        return result

    def _audit(self, action: str, caller: Caller, **data: Any) -> None:
        by = None if caller.key is None else caller.key.id
        with AuditLog.open(self.audit_path, lock_timeout=10) as log:
            log.append("key", now=datetime.now(UTC), data={"action": action, "by": by, **data})


def client_address(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy: as uvicorn's
    ``FORWARDED_ALLOW_IPS`` lets it read ``X-Forwarded-For``), or ``-``."""
    return request.client.host if request.client is not None else "-"


def refuse_over_limit(limiter: RateLimiter, client: str, who: str) -> None:
    wait = limiter.take(client)
    if wait:
        error = RateLimitedError(f"too many requests from {who}; retry in {wait:.1f} s")
        error.retry_after = max(1, int(wait + 0.999))
        raise error
