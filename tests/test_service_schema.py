"""The service against its own OpenAPI document, and every refusal it gives (issue 11).

* **schemathesis** generates requests from ``/openapi.json`` for every operation (valid and
  invalid data, a fixed number of examples, derandomized) on two apps: the embedded demo
  (anonymous verification) and a configured service (a pinned root, anonymous off, a key of the
  role each route wants). Checks: no 5xx; status, media type and JSON as the document declares.
* **By hand**, what a generator cannot reach while the document declares no bodies and no keys:
  random bytes, deep JSON, huge numbers, non-UTF-8 and wrong media types on every route that
  reads a body; bodies over each route's limit, declared and streamed; every keyed route without
  a key and with an unknown, malformed, tampered or revoked one; every role a route refuses.
  Each refusal is a 4xx ``{"status": "error", "code", "message": {"en", "ar"}, ...}``, never a
  5xx, never a traceback.

``ROUTES`` says what each route is; a test holds it equal to the OpenAPI document, so a new
route is added here (and so fuzzed, gated and size-checked) or the suite says so.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from verifier_service import create_app
from verifier_service._access import DEFAULT_ROLES

from ._service_fixtures import (
    FAILURE_MARKERS,
    Service,
    assert_refusal,
    call_raw,
    make_chain,
    running_service,
    service_settings,
    without_lifespan,
)

VERIFY_LIMIT, BATCH_LIMIT, IMAGE_LIMIT = 4096, 8192, 16384  # the configured app's settings
ADMIN_JSON_LIMIT, CERTIFICATE_LIMIT = 4096, 64 << 10  # fixed in _app.py
EVENTS_LIMIT, UPLOAD_LIMIT = 1 << 20, 8 << 20
FUZZ_EXAMPLES = 20

#: Who may call a route: "public" anyone; "key" any key (or no key where anonymous
#: verification is on); "admin" and "edge" a key of that role only.
CALLERS = {"key": "verifier", "admin": "admin", "edge": "edge"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the OpenAPI document names it
    gate: str  # "public", "key", "admin" or "edge"
    body_limit: int | None = None  # the largest body it reads (None: it reads none)
    answers: tuple[int, ...] = (200,)  # every status it gives (rate limits aside)
    url: str = ""  # a URL for it, where the path has a parameter
    example: bytes = b""  # a body it answers 200 to without a key (a public route's)

    @property
    def target(self) -> str:
        return self.url or self.path

    @property
    def caller(self) -> str:
        """The role the tests call it with."""
        return CALLERS[self.gate]

    @property
    def refused_roles(self) -> tuple[str, ...]:
        if self.gate in ("public", "key"):
            return ()
        return tuple(role for role in DEFAULT_ROLES if role != self.caller)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = (
    Route("POST", "/v1/verify", "key", VERIFY_LIMIT, (200, 400, 401, 413, 422)),
    Route("POST", "/v1/verify/batch", "key", BATCH_LIMIT, (200, 400, 401, 413)),
    Route("POST", "/v1/verify/image", "key", IMAGE_LIMIT, (200, 400, 401, 413, 415, 422)),
    Route("POST", "/v1/access-events", "edge", EVENTS_LIMIT, (200, 400, 401, 403, 413)),
    Route("GET", "/v1/admin/keys", "admin", None, (200, 401, 403)),
    Route("POST", "/v1/admin/keys", "admin", ADMIN_JSON_LIMIT, (201, 400, 401, 403, 413)),
    Route("DELETE", "/v1/admin/keys/{key_id}", "admin", None, (200, 401, 403, 404),
          url="/v1/admin/keys/000000000000"),
    Route("POST", "/v1/admin/revocations", "admin", ADMIN_JSON_LIMIT,
          (201, 400, 401, 403, 409, 413)),
    Route("POST", "/v1/admin/centres", "admin", CERTIFICATE_LIMIT,
          (201, 400, 401, 403, 409, 413)),
    Route("DELETE", "/v1/admin/centres/{kid}", "admin", None, (200, 400, 401, 403, 404, 409),
          url="/v1/admin/centres/00000000000000ff"),
    Route("PUT", "/v1/admin/trust-list", "admin", UPLOAD_LIMIT, (200, 400, 401, 403, 413)),
    Route("PUT", "/v1/admin/revocation-list", "admin", UPLOAD_LIMIT, (200, 400, 401, 403, 413)),
    Route("GET", "/v1/trust-list", "public", None, (200, 304, 404)),
    Route("GET", "/v1/revocations", "public", None, (200, 304, 400, 404)),
    Route("GET", "/v1/bundle", "public", None, (200, 304, 404)),
    Route("GET", "/healthz", "public"),
    Route("GET", "/readyz", "public", None, (200, 503)),
    Route("GET", "/v1/status", "public"),
    Route("POST", "/v1/me", "public", VERIFY_LIMIT, (200, 400, 403, 404, 413),
          example=b'{"payload": "NOT A CARD"}'),
    Route("GET", "/metrics", "public"),
)
KEYED = tuple(r for r in ROUTES if r.gate != "public")
PUBLIC = tuple(r for r in ROUTES if r.gate == "public")
ROLE_BOUND = tuple(r for r in ROUTES if r.refused_roles)
BODIES = tuple(r for r in ROUTES if r.body_limit is not None)


def by_route(routes: tuple[Route, ...]) -> dict[str, Any]:
    return {"argvalues": routes, "ids": [str(r) for r in routes]}


# --- the services ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A pinned root and a bundle (no demo), anonymous verification off, small body limits."""
    chain = make_chain(tmp_path_factory.mktemp("chain"))
    settings_ = service_settings(
        tmp_path_factory.mktemp("configured"), root=chain / "root.pem",
        bundle=chain / "bundle.cbor", anonymous=False, max_verify_bytes=VERIFY_LIMIT,
        max_batch_bytes=BATCH_LIMIT, max_image_bytes=IMAGE_LIMIT)
    with running_service(settings_) as service:
        yield service


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The embedded defaults: demo chain, anonymous verification on; no keys sent."""
    app = create_app(service_settings(tmp_path_factory.mktemp("demo")))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# --- schemathesis ---------------------------------------------------------------------------

FUZZ = settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None,
                phases=(Phase.explicit, Phase.generate), print_blob=False,
                suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much))
SERVER_ERRORS = (not_a_server_error,)
CONFORMANCE = (status_code_conformance, content_type_conformance, response_schema_conformance)


@dataclass(frozen=True)
class Target:
    schema: schemathesis.BaseSchema
    service: Service | None  # None: call without a key

    def headers(self, route: Route) -> dict[str, str]:
        return {} if self.service is None else _key(self.service, route)


@pytest.fixture(scope="module")
def targets(demo: TestClient, configured: Service) -> dict[str, Target]:
    """Each app's schema as the app serves it."""
    config = schemathesis.Config(seed=169)

    def load(client: TestClient) -> schemathesis.BaseSchema:
        return schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(client.app),
                                              config=config)

    return {"demo": Target(load(demo), None),
            "configured": Target(load(configured.client), configured)}


def fuzz(target: Target, route: Route, mode: GenerationMode, checks: tuple[Any, ...]) -> None:
    operation = target.schema[route.path][route.method]
    headers = target.headers(route)

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Case[Any]) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=list(checks), headers=headers)

    try:
        one()
    except Unsatisfiable:
        pytest.skip(f"the operation declares no parameter or body to make {mode.value}")


APPS = ("demo", "configured")
MODES = {"positive": GenerationMode.POSITIVE, "negative": GenerationMode.NEGATIVE}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("route", **by_route(ROUTES))
@pytest.mark.parametrize("app", APPS)
def test_no_generated_request_is_a_server_error(targets: dict[str, Target], app: str,
                                                route: Route, mode: str) -> None:
    fuzz(targets[app], route, MODES[mode], SERVER_ERRORS)


#: Where the answers would break the document, and why (app, route, mode; "*": any): none.
NONCONFORMING: dict[tuple[str, str, str], str] = {}


def _conformance_case(app: str, route: Route, mode: str) -> Any:
    reason = next((why for (a, r, m), why in NONCONFORMING.items()
                   if a in ("*", app) and r == str(route) and m in ("*", mode)), None)
    marks = () if reason is None else pytest.mark.xfail(strict=True, reason=reason)
    return pytest.param(app, route, mode, marks=marks, id=f"{app}-{route}-{mode}")


@pytest.mark.parametrize(("app", "route", "mode"), [
    _conformance_case(app, route, mode) for app in APPS for route in ROUTES for mode in MODES])
def test_every_answer_is_as_the_document_declares(targets: dict[str, Target], app: str,
                                                  route: Route, mode: str) -> None:
    fuzz(targets[app], route, MODES[mode], CONFORMANCE)


def test_the_route_table_is_the_document(configured: Service, demo: TestClient) -> None:
    table = {(r.method, r.path) for r in ROUTES}
    for client in (configured.client, demo):
        paths = client.get("/openapi.json").json()["paths"]
        documented = {(method.upper(), path) for path, item in paths.items() for method in item}
        assert documented == table, "add the route to ROUTES (or drop it), with what it is"


# --- the document, for what a generator cannot see ------------------------------------------


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _declared(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    responses: dict[str, Any] = operation.get("responses", {})
    found = responses.get(str(status)) or responses.get(f"{status // 100}XX")
    return found or responses.get("default")


def _names_a_code(document: dict[str, Any], response: dict[str, Any]) -> bool:
    """The response's JSON (or one of its alternatives) has ``code`` and ``message``."""
    media = response.get("content", {}).get("application/json")
    schema = _resolve(document, media.get("schema", {})) if media else {}
    shapes = [_resolve(document, s) for s in schema.get("anyOf", schema.get("oneOf", [schema]))]
    return any({"code", "message"} <= set(shape.get("properties", {})) for shape in shapes)


def _undeclared(document: dict[str, Any], route: Route) -> list[str]:
    """What ``route`` reads or answers that its operation in ``document`` does not say."""
    operation = document["paths"][route.path][route.method.lower()]
    missing = []
    if route.body_limit is not None and "requestBody" not in operation:
        missing.append("reads a body but declares no requestBody (nothing is generated)")
    if route.gate != "public" and not operation.get("security"):
        missing.append("needs an API key but declares no security requirement")
    for status in route.answers:
        response = _declared(operation, status)
        if response is None:
            missing.append(f"answers {status}, undeclared")
        elif 400 <= status < 500 and not _names_a_code(document, response):
            missing.append(f"{status} has no JSON schema with code and message")
    if "HTTPValidationError" in str(operation.get("responses", {}).get("422", "")):
        missing.append("declares FastAPI's 422 HTTPValidationError; the app answers 400 "
                       "request_invalid for a parameter it cannot read")
    return missing


def test_the_document_declares_what_each_route_reads_and_answers(configured: Service) -> None:
    document = configured.client.get("/openapi.json").json()
    gaps = {str(route): _undeclared(document, route) for route in ROUTES}
    assert {route: missing for route, missing in gaps.items() if missing} == {}


# --- refusals by hand -----------------------------------------------------------------------


def _key(service: Service, route: Route) -> dict[str, str]:
    """The key header a route is called with (none for a public route)."""
    return {} if route.gate == "public" else service.key(route.caller)


def _send(service: Service, route: Route, headers: dict[str, str], content: bytes = b"") -> Any:
    return service.client.request(route.method, route.target, headers=headers,
                                  content=content if route.body_limit is not None else None)


GARBAGE = b'{"payload": "\xff'  # no route can read it: who calls is judged before the body


@pytest.mark.parametrize("route", **by_route(KEYED))
def test_without_a_key_every_keyed_route_is_401(configured: Service, route: Route) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "},
                    {"X-API-Key": ""}):
        answer = _send(configured, route, {"Content-Type": "application/json", **headers},
                       GARBAGE)
        assert_refusal(answer.status_code, answer.headers, answer.content,
                       expected_status=401, code="api_key_required")


@pytest.mark.parametrize("route", **by_route(PUBLIC))
def test_the_public_routes_need_no_key(configured: Service, route: Route) -> None:
    assert _send(configured, route, {"Content-Type": "application/json"},
                 route.example).status_code == 200


def _unknown(service: Service) -> dict[str, str]:
    return {"X-API-Key": "cvk_0123456789ab_" + "A" * 43}


def _malformed(service: Service) -> dict[str, str]:
    return {"X-API-Key": "not-a-key"}


def _tampered(service: Service) -> dict[str, str]:
    token = service.tokens["admin"]
    return {"X-API-Key": token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")}


def _revoked(service: Service) -> dict[str, str]:
    return {"X-API-Key": service.revoked}


def _revoked_bearer(service: Service) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.revoked}"}


BAD_KEYS = (_unknown, _malformed, _tampered, _revoked, _revoked_bearer)


@pytest.mark.parametrize("bad_key", BAD_KEYS, ids=[f.__name__.strip("_") for f in BAD_KEYS])
@pytest.mark.parametrize("route", **by_route(KEYED))
def test_an_unknown_malformed_tampered_or_revoked_key_is_401(
        configured: Service, route: Route, bad_key: Any) -> None:
    answer = _send(configured, route, {"Content-Type": "application/json", **bad_key(configured)},
                   GARBAGE)
    assert_refusal(answer.status_code, answer.headers, answer.content, expected_status=401,
                   code="api_key_invalid")


@pytest.mark.parametrize("route", **by_route(ROLE_BOUND))
def test_every_other_role_is_403_on_an_admin_or_edge_route(configured: Service,
                                                           route: Route) -> None:
    assert route.refused_roles  # admin routes: every role but admin; edge: every but edge
    for role in route.refused_roles:
        token = configured.tokens[role]
        for headers in ({"X-API-Key": token}, {"Authorization": f"Bearer {token}"}):
            answer = _send(configured, route, {"Content-Type": "application/json", **headers},
                           GARBAGE)
            assert_refusal(answer.status_code, answer.headers, answer.content,
                           expected_status=403, code="forbidden")


_RANDOM = random.Random(169).randbytes(1500)
_MULTIPART = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.png\""
              b"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b0undary--\r\n")
#: Bodies no route can use: (name, Content-Type or None, body). Each is under every route's
#: limit but the 4400-digit number (over the 4096-byte limits: 413 there, 400 elsewhere).
MALFORMED = (
    ("random-bytes", "application/octet-stream", _RANDOM),
    ("random-bytes-as-json", "application/json", _RANDOM),
    ("empty", "application/json", b""),
    ("deep-arrays", "application/json", b"[" * 3000),
    ("deep-objects", "application/json", b'{"payload":' * 300),
    ("long-integer", "application/json", b'{"payload": 1' + b"0" * 3000 + b"}"),
    ("integer-over-4300-digits", "application/json", b'{"payloads": [' + b"9" * 4400 + b"]}"),
    ("float-overflow", "application/json",
     b'{"payload": 1e999999, "payloads": [1e999999], "owner": 1e999999, "events": -1e999}'),
    ("nan", "application/json", b'{"payload": NaN, "payloads": [Infinity], "events": NaN}'),
    ("json-not-utf8", "application/json", b'{"payload": "\xff\xfe\xc0\xaf"}'),
    ("text-not-utf8", "text/plain; charset=utf-8", b"\xff\xfe\xc0\xaf"),
    ("xml", "application/xml", b"<payload>NCF</payload>"),
    ("form", "application/x-www-form-urlencoded", b"payload=NCF&owner=x&role=admin"),
    ("multipart", "multipart/form-data; boundary=b0undary", _MULTIPART),
    ("html", "text/html", b"<html><body>NCF</body></html>"),
    ("no-content-type", None, b"payload"),
    ("json-array", "application/json", b'[{"payload": "NCF"}]'),
    ("json-wrong-types", "application/json",
     b'{"payload": ["NCF"], "payloads": "NCF", "owner": {}, "role": [], '
     b'"document_number": 5, "reason": null, "events": {}}'),
)


@pytest.mark.parametrize(("name", "content_type", "body"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("route", **by_route(BODIES))
def test_a_malformed_body_is_a_4xx_with_a_code(configured: Service, route: Route, name: str,
                                               content_type: str | None, body: bytes) -> None:
    headers = _key(configured, route)
    if content_type is not None:
        headers["Content-Type"] = content_type
    answer = _send(configured, route, headers, body)
    refusal = assert_refusal(answer.status_code, answer.headers, answer.content)
    assert route.body_limit is not None
    if len(body) > route.body_limit:
        assert (answer.status_code, refusal["code"]) == (413, "body_too_large")


#: Odd but readable requests: each may be answered (a verdict, a key) or refused, never a 5xx.
ODD = (
    ("lone-surrogates", "application/json",
     b'{"payload": "\\ud800", "payloads": ["\\udfff"], "owner": "\\ud800", "role": "\\ud800",'
     b' "document_number": "\\ud800", "reason": "\\ud800", "events": ["\\ud800"]}'),
    ("nul-and-controls", "application/json",
     b'{"payload": "NCF\\u0000\\u001b", "payloads": ["\\u0000"], "owner": "a\\u0000b",'
     b' "role": "verifier", "document_number": "\\u0000", "reason": "lost"}'),
    ("utf8-bom", "application/json", b'\xef\xbb\xbf{"payload": "NCF", "payloads": ["NCF"]}'),
    ("utf16-json", "application/json", '{"payload": "NCF"}'.encode("utf-16")),
    ("json-as-text", "text/plain", b'{"payload": "NCF"}'),
    ("latin1-text", "text/plain; charset=latin-1", b"NCF\xe9"),
    ("json-as-image", "image/png", b'{"payload": "NCF", "payloads": ["NCF"]}'),
    ("arabic-and-bidi", "application/json",
     '{"payload": "\u202e\u0645\u062d\u0645\u062f", "owner": "\u0645\u0643\u062a\u0628 '
     '\u0637\u0631\u0627\u0628\u0644\u0633", "role": "checkpoint"}'.encode()),
    ("duplicate-members", "application/json", b'{"payload": "NCF", "payload": ["x"]}'),
    ("an-event-of-the-wrong-shape", "application/json",
     b'{"events": [{"event_id": "e", "key_id": "k", "agency": "a", "at": "yesterday",'
     b' "purpose": null, "status": "valid", "code": null, "document_hmac": null}]}'),
)


@pytest.mark.parametrize(("name", "content_type", "body"), ODD, ids=[m[0] for m in ODD])
@pytest.mark.parametrize("route", **by_route(BODIES))
def test_an_odd_body_is_never_a_server_error(configured: Service, route: Route, name: str,
                                             content_type: str, body: bytes) -> None:
    headers = {**_key(configured, route), "Content-Type": content_type}
    answer = _send(configured, route, headers, body)
    assert answer.status_code < 500, answer.text[:300]
    assert not any(marker in answer.content for marker in FAILURE_MARKERS)
    if answer.status_code >= 400 and answer.json().get("status") != "invalid":  # a verdict
        assert_refusal(answer.status_code, answer.headers, answer.content)


CHUNK = 64 << 10


def _stream(total: int) -> Iterator[bytes]:
    for start in range(0, total, CHUNK):
        yield b"\x00" * min(CHUNK, total - start)


def _raw_headers(service: Service, route: Route, *more: tuple[bytes, bytes]
                 ) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in _key(service, route).items()] + [*more]


@pytest.mark.parametrize("route", **by_route(BODIES))
def test_a_declared_length_over_the_limit_is_refused_unread(configured: Service,
                                                            route: Route) -> None:
    assert route.body_limit is not None
    for declared in (route.body_limit + 1, 1 << 40):
        headers = _raw_headers(configured, route, (b"content-type", b"application/json"),
                               (b"content-length", str(declared).encode()))
        answer = call_raw(configured.app, route.method, route.target, headers=headers,
                          chunks=_stream(route.body_limit + 1))
        assert_refusal(answer.status, answer.headers, answer.body, expected_status=413,
                       code="body_too_large")
        assert answer.bytes_read == 0


@pytest.mark.parametrize("route", **by_route(BODIES))
def test_a_streamed_body_over_the_limit_is_refused_while_it_arrives(configured: Service,
                                                                    route: Route) -> None:
    assert route.body_limit is not None
    headers = _raw_headers(configured, route, (b"content-type", b"application/json"),
                           (b"transfer-encoding", b"chunked"))
    answer = call_raw(configured.app, route.method, route.target, headers=headers,
                      chunks=_stream(4 * route.body_limit + CHUNK))
    assert_refusal(answer.status, answer.headers, answer.body, expected_status=413,
                   code="body_too_large")
    assert route.body_limit < answer.bytes_read <= route.body_limit + CHUNK


@pytest.mark.parametrize("declared", [b"\xb2", b"9" * 4301], ids=["superscript-two", "4301-digits"])
def test_a_malformed_content_length_is_a_4xx(configured: Service, declared: bytes) -> None:
    for route in BODIES:
        headers = _raw_headers(configured, route, (b"content-length", declared))
        answer = call_raw(configured.app, route.method, route.target, headers=headers,
                          chunks=[b"{}"])
        assert_refusal(answer.status, answer.headers, answer.body)


@pytest.mark.parametrize("declared", [b"abc", b"-1", b"1.5", b" 2", b"\xd9\xa1"])
def test_a_content_length_that_is_no_number_is_not_a_server_error(configured: Service,
                                                                   declared: bytes) -> None:
    route = BODIES[0]
    headers = _raw_headers(configured, route, (b"content-length", declared))
    answer = call_raw(configured.app, route.method, route.target, headers=headers,
                      chunks=[b"{}"])
    assert_refusal(answer.status, answer.headers, answer.body)


def test_a_bad_purpose_header_is_a_4xx_with_a_code(configured: Service) -> None:
    route = BODIES[0]
    for purpose in (b"", b" ", b"x" * 129, b"tab\there", b"caf\xe9\x01"):
        headers = _raw_headers(configured, route, (b"x-purpose", purpose),
                               (b"content-type", b"application/json"))
        answer = call_raw(configured.app, route.method, route.target, headers=headers,
                          chunks=[b'{"payload": "NCF"}'])
        assert_refusal(answer.status, answer.headers, answer.body, code="request_invalid",
                       expected_status=400)


def test_an_unknown_path_or_method_is_a_4xx_with_a_code(configured: Service) -> None:
    for method, url, status in (("GET", "/v1/nowhere", 404), ("GET", "/v1/admin/keys/a%2Fb/c", 404),
                                ("GET", "/v1/verify", 405), ("PATCH", "/v1/admin/keys", 405),
                                ("DELETE", "/v1/admin/keys/", 405)):
        answer = configured.client.request(method, url, headers=configured.key("admin"))
        assert_refusal(answer.status_code, answer.headers, answer.content,
                       expected_status=status)
        if status == 405:
            assert answer.headers["allow"]


def test_a_refusal_carries_the_security_headers(configured: Service) -> None:
    answer = _send(configured, ROUTES[0], {"Content-Type": "application/json"}, GARBAGE)
    assert answer.status_code == 401
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in answer.headers
