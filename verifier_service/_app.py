"""``create_app(settings)``: the verification service, a thin HTTP edge over ``cardlib.Verifier``.

Routers per concern (verify, signed documents, health); one exception handler turns a
``CardError`` into its category's HTTP status (``cardlib.HTTP_STATUS``, the table behind the
CLI's exit codes) with the error's JSON. No verdict logic lives here.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from cardlib import HTTP_STATUS, CardError, Verifier, error_to_json

from ._errors import (
    ApiKeyRequiredError,
    BodyTooLargeError,
    NotAvailableError,
    RequestInvalidError,
)
from ._runtime import Runtime, load_runtime
from ._settings import Settings

_VERDICT_STATUS = {"valid": 200, "revoked": 200, "unknown": 200, "invalid": 422}
_DOCUMENTS = {
    "trust-list": ("trust_list", "application/cose"),
    "revocations": ("revocations", "application/cose"),
    "bundle": ("bundle", "application/cbor"),
}


@dataclass(frozen=True)
class _Limits:
    verify: int
    batch: int
    max_batch: int


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes: a declared length
    is judged before reading, a streamed body while it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_body(data: bytes) -> Any:
    import json

    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise RequestInvalidError("the request body is not valid JSON") from err


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


def _answer(verifier: Verifier, payload: str) -> dict[str, Any]:
    return verifier.check(payload).to_json()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service on ``settings`` (default: read from the ``VERIFIER_`` environment)."""
    settings = settings if settings is not None else Settings()
    runtime = load_runtime(settings)
    limits = _Limits(settings.max_verify_bytes, settings.max_batch_bytes, settings.max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(title="cardlib verification service", version="0.1.0", lifespan=lifespan,
                  description="Verify MOSIP Claim 169 identity cards (national-number profile).")
    app.state.runtime = runtime

    @app.exception_handler(CardError)
    async def card_error(request: Request, err: CardError) -> JSONResponse:
        status = getattr(err, "http_status", None) or HTTP_STATUS[err.category]
        return JSONResponse(error_to_json(err), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        error = RequestInvalidError("the request does not match the API: "
                                    + "; ".join(str(e.get("msg")) for e in err.errors()[:5]))
        return JSONResponse(error_to_json(error), status_code=400)

    app.include_router(_verify_router(runtime, settings, limits))
    app.include_router(_documents_router(runtime, settings))
    app.include_router(_health_router(runtime))
    return app


def _caller_allowed(settings: Settings, request: Request) -> None:
    if not settings.anonymous_allowed:
        raise ApiKeyRequiredError("this service does not verify anonymously: send an API key "
                                  "(X-API-Key)")


def _verify_router(runtime: Runtime, settings: Settings, limits: _Limits) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["verify"])
    verifier = runtime.verifier

    @router.post("/verify", summary="Verify one payload (JSON {\"payload\"} or text/plain)",
                 responses={422: {"description": "the card is invalid"},
                            400: {"description": "the request is malformed"},
                            413: {"description": "the body is too large"}})
    async def verify(request: Request) -> JSONResponse:
        _caller_allowed(settings, request)
        payload = _payload_of(request, await _body(request, limits.verify))
        answer = _answer(verifier, payload)
        return JSONResponse(answer, status_code=_VERDICT_STATUS[answer["status"]])

    @router.post("/verify/batch", summary="Verify up to max_batch payloads, one result each")
    async def verify_batch(request: Request) -> JSONResponse:
        _caller_allowed(settings, request)
        body = _json_body(await _body(request, limits.batch))
        payloads = body.get("payloads") if isinstance(body, dict) else None
        if not isinstance(payloads, list) or not all(isinstance(p, str) for p in payloads):
            raise RequestInvalidError('send {"payloads": ["<QR text>", …]}')
        if not 0 < len(payloads) <= limits.max_batch:
            raise RequestInvalidError(f"a batch holds 1 to {limits.max_batch} payloads")
        return JSONResponse({"results": [_answer(verifier, p) for p in payloads]})

    return router


def _documents_router(runtime: Runtime, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["signed documents"])

    def document(name: str) -> Any:
        attribute, media_type = _DOCUMENTS[name]

        async def serve(request: Request) -> Response:
            data: bytes | None = getattr(runtime, attribute)
            if data is None:
                raise NotAvailableError(f"this service holds no {name.replace('-', ' ')}")
            tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            headers = {"ETag": tag, "Cache-Control": f"public, max-age={settings.cache_seconds}"}
            if tag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
                return Response(status_code=304, headers=headers)
            return Response(data, media_type=media_type, headers=headers)

        serve.__name__ = f"get_{attribute}"
        return serve

    for name in _DOCUMENTS:
        router.add_api_route(f"/{name}", document(name), methods=["GET"],
                             summary=f"The signed {name.replace('-', ' ')} as cardlib writes it",
                             response_class=Response)
    return router


def _health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Trust material loaded and fresh")
    async def readyz() -> JSONResponse:
        now = datetime.now(UTC)
        lists = [info.to_json() for info in runtime.verifier.lists(now)]
        ready = bool(lists) and not any(item["stale"] for item in lists)
        return JSONResponse({"status": "ready" if ready else "not_ready", "lists": lists},
                            status_code=200 if ready else 503)

    return router
