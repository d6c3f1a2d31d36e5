"""``create_app(settings)``: the verification service, a thin HTTP edge over ``cardlib.Verifier``.

Routers per concern (verify, signed documents, health); one exception handler turns a
``CardError`` into its category's HTTP status (``cardlib.HTTP_STATUS``, the table behind the
CLI's exit codes) with the error's JSON. No verdict logic lives here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cardlib import CardError, VerificationResult, error_to_json

from . import _openapi as doc
from ._access import AccessEvent
from ._db import StoreError
from ._documents import REVOCATION_LIST, TRUST_LIST
from ._edge import Upstream
from ._errors import (
    BodyTooLargeError,
    NotAvailableError,
    NotFoundError,
    RequestInvalidError,
    RequestTimeoutError,
    StoreUnavailableError,
    http_status,
)
from ._gate import Gate, client_address
from ._holder import HolderView
from ._image import VERDICT_STATUS, unsigned_hidden, verify_upload
from ._metrics import CONTENT_TYPE, ASGIApp, Message, Metrics, Receive, Scope, Send
from ._pages import pages_router, unchanged
from ._runtime import Runtime, load_runtime
from ._settings import Settings


@dataclass(frozen=True)
class _Limits:
    verify: int
    batch: int
    max_batch: int


class _Deadlines:
    """The body timeout of the requests of one app: a deadline per body being read, enforced by
    one sweep of the event loop a second (or a quarter of the timeout, if shorter) that cancels
    the readers past theirs. Per request that is a dict entry (0.3 µs) where ``asyncio.timeout``
    schedules and cancels a timer (5 µs a request, measured under uvloop)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._every = min(1.0, timeout / 4)
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeping: asyncio.AbstractEventLoop | None = None  # the loop a sweep is set on

    def start(self) -> asyncio.Task[Any]:
        task = asyncio.current_task()
        assert task is not None, "a request is read inside a task"
        self._waiting[task] = time.monotonic() + self.timeout
        loop = task.get_loop()
        if self._sweeping is not loop:
            self._sweeping = loop
            loop.call_later(self._every, self._sweep, loop)
        return task

    def stop(self, task: asyncio.Task[Any]) -> None:
        self._waiting.pop(task, None)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` was cancelled by its deadline (its cancellation is then taken
        back: the caller answers 408 instead)."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        task.uncancel()
        return True

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        for task, deadline in list(self._waiting.items()):
            if deadline <= now and task.get_loop() is loop:
                del self._waiting[task]
                self._expired.add(task)
                task.cancel()
        if any(task.get_loop() is loop for task in self._waiting):
            loop.call_later(self._every, self._sweep, loop)
        elif self._sweeping is loop:
            self._sweeping = None


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes: a declared length
    is judged before reading, a streamed body while it arrives. A body that takes longer than
    the body timeout (``VERIFIER_BODY_TIMEOUT_SECONDS``) to arrive is refused (408), so a slow
    sender cannot hold a worker's connection."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and (
            len(declared) > 18 or int(declared) > limit):
        raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    deadlines: _Deadlines = request.scope[_DEADLINES]
    task = deadlines.start()
    try:
        while True:  # ASGI's own messages (Request.stream() does the same, with a generator)
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestInvalidError("the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except asyncio.CancelledError:
        if deadlines.expired(task):
            raise RequestTimeoutError("the request body did not arrive within "
                                      f"{deadlines.timeout:g} s") from None
        raise
    finally:
        deadlines.stop(task)


def _json_body(data: bytes) -> Any:
    try:
        return orjson.loads(data)  # strict JSON; nesting bounded (1024 levels), no NaN
    except orjson.JSONDecodeError as err:
        raise RequestInvalidError("the request body is not valid JSON") from err


async def _text_members(request: Request, limit: int, names: tuple[str, ...],
                        hint: str) -> dict[str, str]:
    """A JSON object body in which each of ``names`` is text (``hint`` says what to send)."""
    body = _json_body(await _body(request, limit))
    if not isinstance(body, dict) or not all(isinstance(body.get(name), str) for name in names):
        raise RequestInvalidError(hint)
    return {name: body[name] for name in names}


def _payload_of(request: Request, data: bytes) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "text/plain":
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            raise RequestInvalidError("a text/plain payload must be UTF-8 text") from err
    body = _json_body(data)
    if not isinstance(body, dict) or not isinstance(body.get("payload"), str):
        raise RequestInvalidError('send {"payload": "<the QR code text>"} as JSON, or the '
                                  "payload itself as text/plain")
    return str(body["payload"])


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service on ``settings`` (default: read from the ``VERIFIER_`` environment)."""
    settings = settings if settings is not None else Settings()
    runtime = load_runtime(settings)
    gate = Gate(settings)
    metrics = Metrics(runtime.verifier.lists, lambda: gate.writer.pending)
    upstream = None if settings.upstream is None else Upstream(
        settings.upstream, settings.upstream_key, runtime.documents, gate.store)
    limits = _Limits(settings.max_verify_bytes, settings.max_batch_bytes, settings.max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_refresh(runtime, settings.refresh_seconds))]
        if upstream is not None:
            tasks.append(asyncio.create_task(_sync(upstream, settings.upstream_seconds)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            gate.close()  # writes the access events still waiting
            runtime.close()

    app = _Service(title="cardlib verification service", version="0.1.0", lifespan=lifespan,
                   description="Verify MOSIP Claim 169 identity cards (national-number profile).")
    app.state.runtime = runtime
    app.state.gate = gate
    app.state.metrics = metrics
    app.state.upstream = upstream
    verifying = _Verifying(runtime, gate, metrics, limits.verify, upstream)
    fast = _FastRoutes({"/v1/verify": verifying}, metrics, settings.body_timeout_seconds)
    app.add_middleware(_Edge, metrics=metrics, fast=fast)
    if not settings.cors_origins:  # off unless configured (the pages are served from here)
        app.fast = fast
    else:  # CORS, outside _Edge, must see the fast routes too: _Edge takes them
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization",
                                          "X-Purpose", "If-None-Match"],
                           expose_headers=["ETag", "Retry-After", "X-Upstream-Reachable",
                                           "X-Upstream-Synced-At"], max_age=600)

    @app.exception_handler(CardError)
    async def card_error(request: Request, err: CardError) -> Response:
        status, body, headers = _error(err)
        return Response(body, status_code=status, headers=headers, media_type=_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def routing_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        # Starlette's own refusals: no route (404), a method the route lacks (405).
        error = NotFoundError(f"no route {request.url.path}") if err.status_code == 404 else \
            RequestInvalidError(f"{request.method} is not a method of {request.url.path}")
        return JSONResponse(error_to_json(error), status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    @app.exception_handler(StoreError)
    async def store_unavailable(request: Request, err: StoreError) -> Response:
        status, body, headers = _store_failed(err)
        return Response(body, status_code=status, headers=headers, media_type=_JSON)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        error = RequestInvalidError("the request does not match the API: "
                                    + "; ".join(str(e.get("msg")) for e in err.errors()[:5]))
        return JSONResponse(error_to_json(error), status_code=400)

    app.include_router(_verify_router(runtime, gate, metrics, settings, limits, upstream,
                                      verifying))
    app.include_router(_ingest_router(gate))
    app.include_router(_admin_router(gate, runtime))
    app.include_router(_documents_router(runtime, settings))
    app.include_router(_health_router(runtime, upstream))
    app.include_router(_holder_router(HolderView.of(
        runtime.verifier, settings.registry or runtime.registry, gate.store, gate.secret,
        card_attempts=settings.holder_attempts_per_hour,
        address_attempts=settings.holder_address_attempts_per_hour), limits.verify))
    app.include_router(pages_router(settings, runtime, upstream))  # the pages at / and /me

    @app.get("/metrics", tags=["health"], response_class=Response,
             responses={200: {"description": "Prometheus text format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
             summary="Prometheus metrics of this process")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return app


def _freshness(upstream: Upstream | None) -> dict[str, str] | None:
    """An edge node's answers say whether its upstream answers, and since when it is synced."""
    if upstream is None:
        return None
    status = upstream.status
    return {"X-Upstream-Reachable": "unknown" if status.reachable is None
            else str(status.reachable).lower(),
            "X-Upstream-Synced-At": "never" if status.last_sync is None
            else status.last_sync.strftime("%Y-%m-%dT%H:%M:%SZ")}


class _Verifying:
    """The one implementation of ``POST /v1/verify``: FastAPI's route and
    :class:`_FastRoutes` (the same request, without the framework's routing) both call it."""

    def __init__(self, runtime: Runtime, gate: Gate, metrics: Metrics, limit: int,
                 upstream: Upstream | None) -> None:
        self._verifier, self._gate, self._metrics = runtime.verifier, gate, metrics
        self._limit, self._upstream = limit, upstream

    async def __call__(self, request: Request) -> tuple[int, bytes, dict[str, str] | None]:
        caller = self._gate.caller(request)
        payload = _payload_of(request, await _body(request, self._limit))
        result = self._verifier.check(payload)
        self._metrics.outcome(result.status, result.code)
        return (VERDICT_STATUS[result.status], orjson.dumps(self._gate.answer(caller, result)),
                _freshness(self._upstream))


def _error(err: CardError) -> tuple[int, bytes, dict[str, str] | None]:
    """A refusal's status, error JSON and headers (the one mapping of the service)."""
    retry = getattr(err, "retry_after", None)
    return (http_status(err), orjson.dumps(error_to_json(err)),
            None if retry is None else {"Retry-After": str(retry)})


def _store_failed(err: StoreError) -> tuple[int, bytes, dict[str, str] | None]:
    """The refusal for a store that failed (503 ``store_unavailable``), the failure logged."""
    _LOG.error("the store failed: %s", err)
    return _error(StoreUnavailableError("the service's store cannot be reached; try again "
                                        "shortly"))


def _verify_router(runtime: Runtime, gate: Gate, metrics: Metrics, settings: Settings,
                   limits: _Limits, upstream: Upstream | None, verifying: _Verifying) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["verify"], dependencies=doc.KEYED)
    verifier = runtime.verifier

    @router.post("/verify", summary="Verify one payload (JSON {\"payload\"} or text/plain)",
                 openapi_extra=doc.verify_body(),
                 responses=doc.answers(200, doc.VerificationResult, 400, 413) | {
                     422: {"model": doc.VerificationResult, "description": "the card is invalid"}})
    async def verify(request: Request) -> Response:
        status, body, headers = await verifying(request)
        return Response(body, status_code=status, headers=headers, media_type=_JSON)

    @router.post("/verify/batch", summary="Verify up to max_batch payloads, one result each",
                 openapi_extra=doc.batch_body(limits.max_batch),
                 responses=doc.answers(200, doc.BatchAnswer, 400, 413))
    async def verify_batch(request: Request) -> Response:
        caller = gate.caller(request)
        body = _json_body(await _body(request, limits.batch))
        payloads = body.get("payloads") if isinstance(body, dict) else None
        if not isinstance(payloads, list) or not all(isinstance(p, str) for p in payloads):
            raise RequestInvalidError('send {"payloads": ["<QR text>", …]}')
        if not 0 < len(payloads) <= limits.max_batch:
            raise RequestInvalidError(f"a batch holds 1 to {limits.max_batch} payloads")

        def answer() -> bytes:  # off the event loop: a batch takes tens of milliseconds
            # Every verification, then every answer: each stage's code and data stay in the
            # caches (in process, 500 cards: 29 % over the verifications alone, against 44 %
            # verifying and answering card by card).
            results = [verifier.check(payload) for payload in payloads]
            for result in results:
                metrics.outcome(result.status, result.code)
            return orjson.dumps({"results": [gate.answer(caller, r) for r in results]})

        body = await run_in_threadpool(answer)
        return Response(body, headers=_freshness(upstream), media_type=_JSON)

    @router.post("/verify/image",
                 summary="Scan and verify a card photo or scan (PNG, JPEG, WebP) or a PDF",
                 openapi_extra=doc.image_body(),
                 responses=doc.answers(200, doc.VerificationResult | doc.PdfAnswer, 400, 413, 415,
                                       503) | {
                     422: {"model": doc.VerificationResult | doc.PdfAnswer,
                           "description": "every card shown is invalid"}})
    async def verify_image(request: Request) -> JSONResponse:
        caller = gate.caller(request)
        data = await _body(request, settings.max_image_bytes)

        def shown(result: VerificationResult) -> dict[str, Any]:
            metrics.outcome(result.status, result.code)
            return gate.answer(caller, result)  # the role's fields; the look is recorded

        # Scanning takes tens of milliseconds: off the event loop (PDFium is locked inside).
        status, answer = await run_in_threadpool(
            verify_upload, verifier, data, request.headers.get("content-type", ""), settings,
            shown)
        if caller.role.record_fields is not None or caller.role.claims_fields is not None:
            unsigned_hidden(answer)  # the zone read without a QR code carries names and numbers
        return JSONResponse(answer, status_code=status, headers=_freshness(upstream))

    return router


def _signed(request: Request, data: bytes, media_type: str, max_age: int) -> Response:
    """A signed document with its ETag; 304 when the caller already has these bytes."""
    tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    if unchanged(request, tag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def _documents_router(runtime: Runtime, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["signed documents"])
    documents = runtime.documents
    age = settings.cache_seconds

    def held(data: bytes | None, name: str) -> bytes:
        if data is None:
            raise NotAvailableError(f"this service holds no {name}")
        return data

    @router.get("/trust-list", response_class=Response,
                responses=doc.document("application/cose"),
                openapi_extra={"parameters": [doc.IF_NONE_MATCH]},
                summary="The signed trust list as cardlib writes it (ETag, Cache-Control)")
    async def trust_list(request: Request) -> Response:
        return _signed(request, held(documents.held.trust_list, "trust list"),
                       "application/cose", age)

    @router.get("/revocations", response_class=Response,
                responses=doc.document("application/cose", 400),
                openapi_extra={"parameters": [doc.IF_NONE_MATCH]},
                summary="The signed revocation list; with ?since=SEQ the delta from list SEQ "
                "when this service signed one (else the full list)")
    async def revocations(request: Request, since: int | None = None) -> Response:
        now = documents.held
        full = held(now.revocation_list, "revocation list")
        if since is not None:
            if not 0 <= since <= (now.revocation_sequence or 0):
                raise RequestInvalidError(f"since must be a list sequence up to "
                                          f"{now.revocation_sequence}")
            if since == now.revocation_sequence:
                return Response(status_code=304, headers={"Cache-Control": f"max-age={age}"})
            delta = documents.delta_since(since)
            if delta is not None:
                return _signed(request, delta, "application/cose", age)
        return _signed(request, full, "application/cose", age)

    @router.get("/bundle", response_class=Response,
                responses=doc.document("application/cbor"),
                openapi_extra={"parameters": [doc.IF_NONE_MATCH]},
                summary="The offline bundle (trust list and revocation list, spec §13.2)")
    async def bundle(request: Request) -> Response:
        return _signed(request, held(documents.held.bundle, "bundle"), "application/cbor", age)

    return router


def _health_router(runtime: Runtime, upstream: Upstream | None) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", responses=doc.READINESS,
                summary="Trust material loaded and fresh (and, at an edge node, "
                "how its upstream answers)")
    async def readyz() -> JSONResponse:
        now = datetime.now(UTC)
        lists = [info.to_json() for info in runtime.verifier.lists(now)]
        ready = bool(lists) and not any(item["stale"] for item in lists)
        body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "lists": lists}
        if upstream is not None:
            body["edge"] = upstream.status.to_json()
        return JSONResponse(body, status_code=200 if ready else 503)

    return router


def _holder_router(view: HolderView, limit: int) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["holder"])

    @router.post("/me", summary="The holder's own view: the card, and with the access code "
                 "the history of the holder's cards and who checked them",
                 openapi_extra=doc.holder_body(),
                 responses=doc.HOLDER_ANSWERS)
    async def holder_view(request: Request) -> Response:
        body = _json_body(await _body(request, limit))
        payload = body.get("payload") if isinstance(body, dict) else None
        code = body.get("access_code") if isinstance(body, dict) else None
        if not isinstance(payload, str) or not (code is None or (
                isinstance(code, str) and len(code) <= 64)):
            raise RequestInvalidError('send {"payload": "<the QR code text>", "access_code": '
                                      '"<the code handed over at issuance>" or null}')
        answer = await run_in_threadpool(view.open, payload.strip(), code,
                                         client_address(request))
        return Response(orjson.dumps(answer), media_type=_JSON)

    return router


async def _refresh(runtime: Runtime, every: float) -> None:
    """Load the lists another process stored (a replica's revocation, an admin command), every
    ``every`` seconds: the bound within which this process enforces them."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(runtime.documents.refresh)
            await run_in_threadpool(runtime.documents.renew, datetime.now(UTC))
        except Exception:  # kept as they are; tried again next time
            _LOG.exception("loading or renewing the lists failed; trying again")
            continue


async def _sync(upstream: Upstream, every: float) -> None:
    """Edge mode: try the upstream now, then every ``every`` seconds (it never raises)."""
    while True:
        await run_in_threadpool(upstream.sync)  # never raises: failures are in its status
        await asyncio.sleep(every)


def _ingest_router(gate: Gate) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["edge"], dependencies=doc.KEYED)

    @router.post("/access-events", summary="An edge node hands in the access events it "
                 "recorded: {events: [...]}; each event id is stored once",
                 openapi_extra=doc.events_body(),
                 responses=doc.answers(200, doc.Stored, 400, 403, 413))
    async def access_events(request: Request) -> dict[str, int]:
        caller = gate.caller(request, ingest=True)
        body = _json_body(await _body(request, 1 << 20))
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list) or not 0 < len(events) <= 1000:
            raise RequestInvalidError('send {"events": [...]} with 1 to 1000 events')
        parsed = [AccessEvent.from_json(item) for item in events]
        via = None if caller.key is None else caller.key.id  # which node handed them in
        await run_in_threadpool(lambda: gate.store.record(parsed, shipped=True, via=via))
        return {"stored": len(parsed)}

    return router


def _admin_router(gate: Gate, runtime: Runtime) -> APIRouter:
    """Admin-only routes (403 for any other role). Every action is an audit-log event."""
    router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=doc.KEYED)

    @router.get("/keys", summary="List the API keys (never their secrets)",
                responses=doc.answers(200, doc.ApiKeys, 403))
    async def list_keys(request: Request) -> dict[str, Any]:
        gate.caller(request, admin=True)
        return {"keys": [key.to_json() for key in gate.store.api_keys()]}

    @router.post("/keys", status_code=201,
                 summary="Create an API key: {owner, role}; the token is shown once",
                 openapi_extra=doc.key_body(gate.roles),
                 responses=doc.answers(201, doc.ApiKeyCreated, 400, 403, 413))
    async def create_key(request: Request) -> JSONResponse:
        caller = gate.caller(request, admin=True)
        body = await _text_members(request, 4096, ("owner", "role"),
                                   'send {"owner": "<agency>", "role": "<role>"}')
        key, token = await run_in_threadpool(
            gate.audited, "api_key_created", caller,
            lambda: gate.store.create_key(body["owner"], body["role"], now=datetime.now(UTC)),
            lambda made: {"key_id": made[0].id}, owner=body["owner"], role=body["role"])
        return JSONResponse({"key": key.to_json(), "token": token}, status_code=201)

    @router.post("/revocations", status_code=201,
                 summary="Revoke a card: {document_number, reason}; signs and publishes a new "
                 "revocation list and its delta (needs the list-signing key)",
                 openapi_extra=doc.revocation_body(),
                 responses=doc.answers(201, doc.CardRevoked, 400, 403, 409, 413))
    async def revoke_card(request: Request) -> JSONResponse:
        caller = gate.caller(request, admin=True)
        body = await _text_members(request, 4096, ("document_number", "reason"),
                                   'send {"document_number": "...", "reason": "lost"}')
        sequence = await run_in_threadpool(
            gate.audited, "card_revoked", caller,
            lambda: runtime.documents.revoke(body["document_number"], body["reason"],
                                             now=datetime.now(UTC)),
            lambda done: {"list_sequence": done}, document_number=body["document_number"],
            reason=body["reason"].lower())
        return JSONResponse({"revocation_list_sequence": sequence}, status_code=201)

    @router.post("/centres", status_code=201,
                 summary="Enrol a centre: {certificate: PEM issued by the root}; signs and "
                 "publishes a new trust list (needs the list-signing key)",
                 openapi_extra=doc.centre_body(),
                 responses=doc.answers(201, doc.CentreEnrolled, 400, 403, 409, 413))
    async def enrol_centre(request: Request) -> JSONResponse:
        caller = gate.caller(request, admin=True)
        body = await _text_members(request, 64 * 1024, ("certificate",),
                                   'send {"certificate": "-----BEGIN CERTIFICATE-----…"}')
        kid, centre, sequence = await run_in_threadpool(
            gate.audited, "centre_enrolled", caller,
            lambda: runtime.documents.enrol(body["certificate"].encode("ascii", "replace"),
                                            now=datetime.now(UTC)),
            lambda done: {"kid": done[0], "centre": done[1], "list_sequence": done[2]})
        return JSONResponse({"kid": kid, "centre": centre, "trust_list_sequence": sequence},
                            status_code=201)

    @router.delete("/centres/{kid}",
                   summary="Retire a centre key (?reason=superseded, the default, or "
                   "compromised) on a new trust list (needs the list-signing key)",
                   responses=doc.answers(200, doc.CentreRetired, 400, 403, 404, 409))
    async def retire_centre(kid: str, request: Request, reason: str = "superseded"
                            ) -> dict[str, Any]:
        caller = gate.caller(request, admin=True)
        sequence = await run_in_threadpool(
            gate.audited, "centre_retired", caller,
            lambda: runtime.documents.retire(kid.lower(), reason, now=datetime.now(UTC)),
            lambda done: {"list_sequence": done}, kid=kid.lower(), reason=reason)
        return {"kid": kid.lower(), "reason": reason, "trust_list_sequence": sequence}

    for path, kind in (("/trust-list", TRUST_LIST), ("/revocation-list", REVOCATION_LIST)):
        router.add_api_route(path, _upload(gate, runtime, kind), methods=["PUT"],
                             summary=f"Publish a root-signed {kind.replace('_', ' ')} (the "
                             "file's bytes): checked against the pinned root, used at once",
                             openapi_extra=doc.list_body(),
                             responses=doc.answers(200, doc.Published, 400, 403, 413))

    @router.delete("/keys/{key_id}", summary="Revoke an API key",
                   responses=doc.answers(200, doc.ApiKeyRevoked, 403, 404))
    async def revoke_key(key_id: str, request: Request) -> dict[str, Any]:
        caller = gate.caller(request, admin=True)
        key = await run_in_threadpool(
            gate.audited, "api_key_revoked", caller,
            lambda: gate.store.revoke_key(key_id, now=datetime.now(UTC)),
            lambda done: {"owner": done.owner}, key_id=key_id)
        return {"key": key.to_json()}

    return router


_JSON = "application/json"
_DEADLINES = "verifier_service.deadlines"  # the scope key _Edge and _FastRoutes set
_LOG = logging.getLogger("verifier_service")

_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
_FAST_HEADERS = (*_SECURITY_HEADERS, (b"cache-control", b"no-store"))


Handler = Callable[[Request], Awaitable[tuple[int, bytes, dict[str, str] | None]]]


class _FastRoutes:
    """POST routes answered without the framework's routing, dependency solving and
    middleware stack (``POST /v1/verify``: most of the traffic), timed for /metrics and sent
    with the security headers. FastAPI keeps the same routes, for its OpenAPI document and any
    server in front. Taken first by :class:`_Service` (or by :class:`_Edge`, inside CORS, when
    CORS is configured)."""

    def __init__(self, routes: dict[str, Handler], metrics: Metrics, body_timeout: float
                 ) -> None:
        self._routes, self._metrics = routes, metrics
        self.deadlines = _Deadlines(body_timeout)

    def takes(self, scope: Scope) -> bool:
        return scope["type"] == "http" and scope["method"] == "POST" \
            and scope["path"] in self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A fast route's request: handled, timed and answered here, in one layer."""
        start = time.perf_counter()
        path = scope["path"]
        scope[_DEADLINES] = self.deadlines
        try:
            status, body, headers = await self._routes[path](Request(scope, receive))
        except CardError as err:
            status, body, headers = _error(err)
        except StoreError as err:
            status, body, headers = _store_failed(err)
        except Exception:  # a bug: logged with its traceback, answered without one
            _LOG.exception("unexpected error on %s", path)
            status, body, headers = _error(CardError("unexpected error"))
        raw = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *_FAST_HEADERS]
        if headers:
            raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
        self._metrics.observe(path, status, time.perf_counter() - start)


class _Service(FastAPI):
    """FastAPI, but for the fast routes, taken before its own layers (error middleware,
    telemetry hook, body-size wrapper, middleware stack): 8–10 µs a request measured in
    process. ``fast`` is set by :func:`create_app` when no CORS layer must see them."""

    fast: _FastRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast
        if fast is not None and fast.takes(scope):
            await fast(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class _Edge:
    """Outermost ASGI layer of the middleware stack: times each request for /metrics and adds
    security headers (and ``Cache-Control: no-store`` to answers that did not set their own
    caching: verification answers carry personal data); answers the fast routes that
    :class:`_Service` did not take."""

    def __init__(self, app: ASGIApp, metrics: Metrics, fast: _FastRoutes) -> None:
        self._app, self._fast = app, fast
        self._timed = metrics.middleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        scope[_DEADLINES] = self._fast.deadlines
        if self._fast.takes(scope):
            await self._fast(scope, receive, send)
            return

        # The interactive API docs load Swagger UI's script and styles: no CSP there.
        extra = _SECURITY_HEADERS[:-1] if scope["path"].startswith(("/docs", "/redoc")) \
            else _SECURITY_HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self._timed(scope, receive, with_headers)


def _upload(gate: Gate, runtime: Runtime, kind: str) -> Any:
    async def publish(request: Request) -> dict[str, Any]:
        caller = gate.caller(request, admin=True)
        data = await _body(request, 8 << 20)
        sequence = await run_in_threadpool(
            gate.audited, f"{kind}_published", caller,
            lambda: runtime.documents.accept(kind, data), lambda done: {"sequence": done},
            sha256=hashlib.sha256(data).hexdigest())
        return {"kind": kind, "sequence": sequence}

    publish.__name__ = f"publish_{kind}"
    return publish
