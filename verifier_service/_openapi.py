"""What the OpenAPI document says about each route: the body it reads, the JSON it answers, the
refusals it gives. Documentation only: the routes still read and answer as they do, and
``tests/test_service_schema.py`` holds the two together (schemathesis).

The models describe ``cardlib.error_to_json`` and ``VerificationResult.to_json()`` (specs/format.md
§9, §10.2); FastAPI puts them in ``components/schemas``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from fastapi import Security
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from cardlib.revocation import Reason

# --- who may call: declared only; the gate decides (auto_error=False: never refuses here) ----

#: Router dependencies that put the two ways to send a key into the document.
KEYED = [Security(APIKeyHeader(name="X-API-Key", auto_error=False,
                               description="an API key: cvk_<id>_<secret>")),
         Security(HTTPBearer(auto_error=False, description="the same key as a bearer token"))]


# --- answers -------------------------------------------------------------------------------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Message(BaseModel):
    en: str
    ar: str


class Problem(BaseModel):
    path: str
    code: str
    message: str


class Error(_Open):
    """A refusal or an error (``cardlib.error_to_json``)."""

    status: Literal["error"]
    code: str
    message: Message
    detail: str | None
    category: Literal["invalid", "input", "environment", "internal"]
    problems: list[Problem] | None = None
    unsigned_mrz: list[str] | None = Field(
        None, description="barcode_not_found from an image: the card back's MRZ lines read "
        "without its QR code (printed, not signed); only for roles that see every field")


class ListInfo(BaseModel):
    kind: Literal["trust_list", "revocation_list"]
    sequence: int
    issued: str
    next_update: str
    stale: bool
    age_seconds: int


class VerificationResult(_Open):
    """``VerificationResult.to_json()`` (spec §10.2), with the card fields the caller's role
    sees."""

    status: Literal["valid", "revoked", "unknown", "invalid"]
    code: str | None
    message: Message
    detail: str | None
    checked_at: str
    card: dict[str, Any] | None
    problems: list[Problem]
    signer: dict[str, Any] | None
    revocation: dict[str, Any] | None
    lists: list[ListInfo]
    scan: dict[str, Any] | None


class BatchAnswer(BaseModel):
    results: list[VerificationResult]


class PdfAnswer(BaseModel):
    """A PDF's answer: one entry per page (a result, or the error of a page without a card)."""

    pages: list[dict[str, Any]]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    lists: list[ListInfo]
    edge: dict[str, Any] | None = None  # an edge node: how its upstream answers


class UpstreamState(BaseModel):
    reachable: bool | None  # None: not tried yet
    synced_at: str | None  # the last complete sync (UTC, ISO 8601); None: never


class ServiceStatus(BaseModel):
    """What the clerk's page needs before it verifies (``GET /v1/status``)."""

    anonymous: bool  # verification without an API key
    require_purpose: bool  # each keyed verification states its purpose (X-Purpose)
    edge: bool  # an edge node (an upstream is configured)
    upstream: UpstreamState | None  # at an edge node: how its upstream answers
    lists: list[ListInfo]  # the lists held now, and how fresh each is


class HistoryEvent(BaseModel):
    event: Literal["issue", "replacement", "renewal", "correction", "revocation"]
    document_number: str
    at: str
    reason: str | None
    replaces: str | None


class AccessLook(BaseModel):
    """One verification of the holder's card by an agency's key."""

    agency: str
    at: str
    purpose: str | None
    status: Literal["valid", "revoked", "unknown", "invalid"]
    code: str | None


class HolderAnswer(BaseModel):
    """``POST /v1/me``: the card's verification; with the access code, the registry's history
    of the holder's cards and the looks at them, each newest first."""

    result: VerificationResult
    history: list[HistoryEvent] | None
    access_events: list[AccessLook] | None


class ApiKey(BaseModel):
    id: str
    owner: str
    role: str
    created_at: str
    revoked_at: str | None


class ApiKeys(BaseModel):
    keys: list[ApiKey]


class ApiKeyCreated(BaseModel):
    key: ApiKey
    token: str


class ApiKeyRevoked(BaseModel):
    key: ApiKey


class CardRevoked(BaseModel):
    revocation_list_sequence: int


class Published(BaseModel):
    kind: Literal["trust_list", "revocation_list"]
    sequence: int


class Stored(BaseModel):
    stored: int


class CentreEnrolled(BaseModel):
    kid: str
    centre: str
    trust_list_sequence: int


class CentreRetired(BaseModel):
    kid: str
    reason: Literal["superseded", "compromised"]
    trust_list_sequence: int


_WHY = {
    400: "the request is malformed (request_invalid, purpose_required, …)",
    401: "no API key (api_key_required), or one that is unknown or revoked (api_key_invalid)",
    403: "the key's role may not call this (forbidden)",
    404: "nothing by that name (not_found, not_available)",
    409: "this service holds no list-signing key (signing_key_unavailable)",
    413: "the body is over this route's limit (body_too_large)",
    415: "the body is no PNG, JPEG or WebP image and no PDF (upload_unsupported)",
    429: "too many requests (rate_limited): wait Retry-After seconds",
    503: "a decoder, store or file the service needs failed (category environment)",
}


Responses = dict[int | str, dict[str, Any]]


def _refusals(statuses: Iterable[int]) -> Responses:
    out: Responses = {status: {"model": Error, "description": _WHY[status]} for status in statuses}
    if 429 in out:
        out[429]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                               "description": "seconds to wait"}}
    # Any other 4xx is an Error too; this also keeps FastAPI's 422 HTTPValidationError out (the
    # app answers 400 request_invalid for a parameter it cannot read).
    out["4XX"] = {"model": Error, "description": "any other refusal"}
    return out


def answers(ok: int, model: Any, *refusals: int) -> Responses:
    """``responses=`` for a gated route: its answer, 401, 429 and its other refusals."""
    return {ok: {"model": model}} | _refusals(sorted({*refusals, 401, 429}))


def public(*refusals: int) -> Responses:
    """``responses=`` for a route without a key (and without a rate limit)."""
    return _refusals(refusals)


def document(media_type: str, *refusals: int) -> Responses:
    """``responses=`` for a signed document: its bytes (ETag, Cache-Control), 304, 404."""
    headers = {"ETag": {"schema": {"type": "string"}},
               "Cache-Control": {"schema": {"type": "string"}}}
    return {200: {"description": "the signed document", "headers": headers,
                  "content": {media_type: _BINARY}},
            304: {"description": "unchanged since the ETag sent", "headers": headers}
            } | public(404, *refusals)

#: ``POST /v1/me``: public (no key), rate-limited per card and address.
HOLDER_ANSWERS: Responses = {**_refusals((400, 403, 404, 413, 429)),
                             200: {"model": HolderAnswer}}

READINESS: Responses = {
    200: {"model": Readiness},
    503: {"model": Readiness, "description": "not ready: a list is stale or missing"}}


# --- request bodies (openapi_extra: the routes read the raw body themselves) ----------------

_BINARY = {"schema": {"type": "string", "format": "binary"}}


def body(*media: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra=`` declaring a required body: JSON with ``schema``, or raw bytes."""
    content = {kind: ({"schema": schema} if kind == "application/json" and schema else
                      {"schema": {"type": "string"}} if kind == "text/plain" else _BINARY)
               for kind in media}
    return {"requestBody": {"required": True, "content": content}}


def _object(**members: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(members), "properties": members}


PURPOSE = {"name": "X-Purpose", "in": "header", "required": False,
           "description": "why this card is looked at (recorded with the access event)",
           "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False,
                 "schema": {"type": "string"}, "description": "the ETag held: 304 if unchanged"}


def verify_body() -> dict[str, Any]:
    extra = body("application/json", "text/plain", schema=_object(
        payload={"type": "string", "description": "the QR code's text (Base45)"}))
    return extra | {"parameters": [PURPOSE]}


def holder_body() -> dict[str, Any]:
    return body("application/json", schema={
        "type": "object", "required": ["payload"], "properties": {
            "payload": {"type": "string", "description": "the QR code's text (Base45)"},
            "access_code": {"type": ["string", "null"], "maxLength": 64,
                            "description": "the holder's personal access code (not printed "
                                           "on the card); without it only the card is shown"}}})


def batch_body(max_batch: int) -> dict[str, Any]:
    extra = body("application/json", schema=_object(payloads={
        "type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": max_batch}))
    return extra | {"parameters": [PURPOSE]}


def image_body() -> dict[str, Any]:
    extra = body("image/png", "image/jpeg", "image/webp", "application/pdf",
                 "application/octet-stream")
    return extra | {"parameters": [PURPOSE]}


def key_body(roles: Iterable[str]) -> dict[str, Any]:
    return body("application/json", schema=_object(
        owner={"type": "string", "minLength": 1, "maxLength": 128},
        role={"enum": sorted(roles)}))


def revocation_body() -> dict[str, Any]:
    return body("application/json", schema=_object(
        document_number={"type": "string"},
        reason={"enum": [reason.name.lower() for reason in Reason]}))


def list_body() -> dict[str, Any]:
    return body("application/cose", "application/octet-stream")


def events_body() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "maxLength": 128}
    optional = {"type": ["string", "null"], "maxLength": 128}
    event = _object(event_id=text, key_id=text, agency=text, status=text,
                    at={"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"},
                    purpose=optional, code=optional, document_hmac=optional)
    return body("application/json", schema=_object(events={
        "type": "array", "items": event | {"additionalProperties": False},
        "minItems": 1, "maxItems": 1000}))


def centre_body() -> dict[str, Any]:
    return body("application/json", schema=_object(certificate={
        "type": "string", "description": "the centre's certificate (PEM), issued by the root"}))

