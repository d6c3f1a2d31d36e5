"""The verification service (verifier_service): its routes on the real app, and `serve` as a
real process on loopback. Real keys, a real demo chain on disk, real HTTP."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import cardlib
from verifier_service import Settings, create_app

from ._service_fixtures import serve


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=data_dir))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def demo_payload(client: TestClient, data_dir: Path) -> str:
    return (data_dir / "demo" / "payload.txt").read_text("ascii").strip()


def _revoked_payload(data_dir: Path) -> str:
    """The demo centre's card for the demo's revoked document number."""
    from cardlib._demo import REVOKED_DOCUMENT, example_record
    from cardlib.trust import CertifiedSigner, certificate_der

    demo = data_dir / "demo"
    signer = CertifiedSigner(
        cardlib.PrivateKey.from_pem((demo / "centre-private.pem").read_bytes()),
        certificate_der((demo / "centre.pem").read_bytes()))
    record = dataclasses.replace(example_record(), document_number=REVOKED_DOCUMENT)
    return cardlib.issue(record, signer)


def test_verify_json_gives_the_verifiers_result(client: TestClient, demo_payload: str) -> None:
    answer = client.post("/v1/verify", json={"payload": demo_payload})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["code"]) == ("valid", None)
    assert body["message"]["en"].startswith("The card is valid") and body["message"]["ar"]
    assert body["signer"]["centre"] == "TRP-01"
    assert body["revocation"]["state"] == "not_revoked"
    assert {item["kind"] for item in body["lists"]} == {"trust_list", "revocation_list"}
    assert body["card"]["record"]["name_latin"]["family"]


def test_verify_text_plain(client: TestClient, demo_payload: str) -> None:
    answer = client.post("/v1/verify", content=demo_payload + "\n",
                         headers={"Content-Type": "text/plain; charset=utf-8"})
    assert answer.status_code == 200 and answer.json()["status"] == "valid"


def test_an_invalid_card_is_422_with_its_code(client: TestClient, demo_payload: str) -> None:
    answer = client.post("/v1/verify", json={"payload": demo_payload.lower()})
    assert answer.status_code == 422
    assert (answer.json()["status"], answer.json()["code"]) == ("invalid", "base45_invalid")
    altered = demo_payload[:-10] + ("0" if demo_payload[-10] != "0" else "1") + demo_payload[-9:]
    assert client.post("/v1/verify", json={"payload": altered}).status_code == 422


def test_a_revoked_card(client: TestClient, data_dir: Path) -> None:
    answer = client.post("/v1/verify", json={"payload": _revoked_payload(data_dir)})
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["revocation"]["reason"]) == ("revoked", "lost")


@pytest.mark.parametrize(("content", "kind"), [
    (b"{not json", "application/json"), (b'{"payload": 5}', "application/json"),
    (b"[]", "application/json"), (b"\xff\xfe", "text/plain"), (b"", "application/json"),
    (b'{"payload": ' * 5000, "application/json"),
])
def test_malformed_requests_are_400_with_a_code(client: TestClient, content: bytes,
                                                kind: str) -> None:
    answer = client.post("/v1/verify", content=content, headers={"Content-Type": kind})
    assert answer.status_code in (400, 413)
    assert answer.json()["status"] == "error"
    assert answer.json()["code"] in ("request_invalid", "body_too_large")
    assert answer.json()["message"]["ar"]


def test_a_body_over_the_limit_is_413_before_verification(client: TestClient) -> None:
    answer = client.post("/v1/verify", json={"payload": "A" * 20_000})
    assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: judged while it arrives
        for _ in range(40):
            yield b"A" * 1024

    streamed = client.post("/v1/verify", content=chunks(), headers={"Content-Type": "text/plain"})
    assert streamed.status_code == 413


def test_batch_answers_each_payload_in_order(client: TestClient, demo_payload: str,
                                             data_dir: Path) -> None:
    payloads = [demo_payload, "NOT BASE45 !", _revoked_payload(data_dir), demo_payload]
    answer = client.post("/v1/verify/batch", json={"payloads": payloads})
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["results"]] == ["valid", "invalid", "revoked",
                                                                "valid"]


def test_batch_limits(data_dir: Path, demo_payload: str) -> None:
    with TestClient(create_app(Settings(data_dir=data_dir, max_batch=2))) as small:
        over = small.post("/v1/verify/batch", json={"payloads": [demo_payload] * 3})
        assert over.status_code == 400 and over.json()["code"] == "request_invalid"
        empty = small.post("/v1/verify/batch", json={"payloads": []})
        assert empty.status_code == 400
        wrong = small.post("/v1/verify/batch", json={"payloads": [1, 2]})
        assert wrong.status_code == 400


@pytest.mark.parametrize(("route", "name"), [("trust-list", "trust-list.cose"),
                                             ("revocations", "revocation-list.cose"),
                                             ("bundle", "bundle.cbor")])
def test_signed_documents_with_etag(client: TestClient, data_dir: Path, route: str,
                                    name: str) -> None:
    answer = client.get(f"/v1/{route}")
    assert answer.status_code == 200
    assert answer.content == (data_dir / "demo" / name).read_bytes()
    tag = answer.headers["etag"]
    assert tag.startswith('"') and "max-age=" in answer.headers["cache-control"]
    again = client.get(f"/v1/{route}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = client.get(f"/v1/{route}", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200


def test_health_readiness_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert {"/v1/verify", "/v1/verify/batch", "/v1/trust-list", "/v1/revocations", "/v1/bundle",
            "/healthz", "/readyz"} <= set(spec["paths"])


def test_configured_trust_data_and_anonymous_off(data_dir: Path, demo_payload: str) -> None:
    demo = data_dir / "demo"
    settings = Settings(data_dir=data_dir / "configured", root=demo / "root.pem",
                        bundle=demo / "bundle.cbor")
    assert not settings.anonymous_allowed  # off by default outside the demo
    with TestClient(create_app(settings)) as configured:
        refused = configured.post("/v1/verify", json={"payload": demo_payload})
        assert refused.status_code == 401 and refused.json()["code"] == "api_key_required"
        assert configured.get("/v1/trust-list").status_code == 200
    with TestClient(create_app(settings.model_copy(update={"anonymous": True}))) as anonymous:
        assert anonymous.post("/v1/verify", json={"payload": demo_payload}).json()[
            "status"] == "valid"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("VERIFIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VERIFIER_MAX_BATCH", "7")
    settings = Settings()
    assert (settings.data_dir, settings.max_batch, settings.demo) == (tmp_path, 7, True)
    monkeypatch.setenv("VERIFIER_MAX_BATCH", "0")
    with pytest.raises(ValueError, match="max_batch"):
        Settings()


def test_serve_runs_the_embedded_defaults_on_loopback(tmp_path: Path) -> None:
    """`python -m verifier_service serve` (what `make serve` runs): the start-up lines say where
    the demo is and give a payload to try; that payload verifies over real HTTP."""
    server, port = serve({"VERIFIER_DATA_DIR": str(tmp_path)}, capture=True)
    try:
        payload = (tmp_path / "demo" / "payload.txt").read_bytes()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/verify", data=payload,
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.load(answer)["status"] == "valid"
            assert answer.headers.get("server") is None  # no server banner
            assert answer.headers["date"] and answer.headers["x-content-type-options"]
    finally:
        server.terminate()
        _, lines = server.communicate(timeout=30)
    assert str(tmp_path / "demo") in lines and "payload.txt" in lines and "/v1/verify" in lines
    code = next(line for line in lines.splitlines() if "access code" in line).split()[-1]
    assert len(code) == 14 and code[4] == code[9] == "-"  # the demo holder's code, for /me


def test_every_service_error_has_a_catalogue_entry() -> None:
    from cardlib._messages import CATALOGUE, SERVICE_CODES
    from verifier_service._errors import ServiceError

    codes = {cls.code for cls in ServiceError.__subclasses__()}
    assert codes == SERVICE_CODES and codes <= set(CATALOGUE)


def test_metrics_count_routes_and_outcomes_without_personal_data(
        client: TestClient, demo_payload: str) -> None:
    client.post("/v1/verify", json={"payload": demo_payload})
    client.post("/v1/verify", json={"payload": "NOT A CARD"})
    text = client.get("/metrics").text
    assert 'cardlib_requests_total{route="/v1/verify",status="200"}' in text
    assert 'cardlib_requests_total{route="/v1/verify",status="422"}' in text
    assert 'cardlib_verifications_total{code="base45_invalid",status="invalid"}' in text
    assert 'cardlib_request_seconds_bucket{le="0.005",route="/v1/verify"}' in text
    assert 'cardlib_list_stale{kind="revocation_list"} 0.0' in text
    assert "cardlib_access_events_pending 0.0" in text
    assert demo_payload[:20] not in text and "LY" not in text.replace("cardlib_", "")


def test_security_headers(client: TestClient, demo_payload: str) -> None:
    answer = client.post("/v1/verify", json={"payload": demo_payload})
    assert answer.headers["cache-control"] == "no-store"  # personal data: never cached
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    document = client.get("/v1/trust-list")
    assert document.headers["cache-control"].startswith("public, max-age=")
    assert "content-security-policy" not in client.get("/docs").headers


def test_a_slow_body_is_refused_with_408(data_dir: Path) -> None:
    """A sender trickling its body cannot hold the connection past the body timeout."""
    import asyncio

    app = create_app(Settings(data_dir=data_dir, body_timeout_seconds=0.2))
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        if not sent and not getattr(receive, "started", False):
            receive.started = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b'{"payload": "', "more_body": True}
        await asyncio.sleep(5)  # the rest never comes in time
        return {"type": "http.request", "body": b'"}', "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/verify", "raw_path": b"/v1/verify",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8000), "headers": [(b"content-type", b"application/json")]}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 3))  # type: ignore[arg-type]
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["code"] == "request_timeout"  # type: ignore[arg-type]


def test_cors_is_off_unless_configured(data_dir: Path, demo_payload: str) -> None:
    origin = {"Origin": "https://clerk.example"}
    with TestClient(create_app(Settings(data_dir=data_dir))) as closed:
        answer = closed.post("/v1/verify", json={"payload": demo_payload}, headers=origin)
        assert "access-control-allow-origin" not in answer.headers
    settings = Settings(data_dir=data_dir, cors_origins=["https://clerk.example"])
    with TestClient(create_app(settings)) as opened:
        preflight = opened.options("/v1/verify", headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type"})
        assert preflight.headers["access-control-allow-origin"] == "https://clerk.example"
        answer = opened.post("/v1/verify", json={"payload": demo_payload}, headers=origin)
        assert answer.headers["access-control-allow-origin"] == "https://clerk.example"
        other = opened.post("/v1/verify", json={"payload": demo_payload},
                            headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_the_metrics_count_as_prometheus_reads_them() -> None:
    """The hand-kept counters and histogram, read back by prometheus-client's own parser:
    a bucket counts the requests at or under its bound, cumulatively; +Inf counts them all."""
    from prometheus_client.parser import text_string_to_metric_families

    from verifier_service._metrics import Metrics

    metrics = Metrics(lambda: (), lambda: 3)
    for seconds in (0.0001, 0.0005, 0.0007, 0.02, 99.0):
        metrics.observe("/v1/verify", 200, seconds)
    metrics.observe("/v1/verify", 422, 0.003)
    metrics.outcome("valid", None)
    metrics.outcome("invalid", "base45_invalid")
    metrics.outcome("invalid", "base45_invalid")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics.render().decode())
               for s in family.samples}
    route = ("route", "/v1/verify")
    assert samples[("cardlib_requests_total", (route, ("status", "200")))] == 5
    assert samples[("cardlib_requests_total", (route, ("status", "422")))] == 1
    buckets = {le: samples[("cardlib_request_seconds_bucket", (("le", le), route))]
               for le in ("0.0005", "0.001", "0.005", "0.025", "10.0", "+Inf")}
    assert buckets == {"0.0005": 2, "0.001": 3, "0.005": 4, "0.025": 5, "10.0": 5, "+Inf": 6}
    assert samples[("cardlib_request_seconds_count", (route,))] == 6
    assert abs(samples[("cardlib_request_seconds_sum", (route,))] - 99.0243) < 1e-9
    assert samples[("cardlib_verifications_total",
                    (("code", "base45_invalid"), ("status", "invalid")))] == 2
    assert samples[("cardlib_verifications_total", (("code", ""), ("status", "valid")))] == 1
    assert samples[("cardlib_access_events_pending", ())] == 3


def test_body_deadlines_are_per_request(data_dir: Path, demo_payload: str) -> None:
    """Of two bodies read at once, the one that arrives within the timeout is verified and the
    one that does not is refused with 408; the task that timed out is not left cancelled."""
    import asyncio

    app = create_app(Settings(data_dir=data_dir, body_timeout_seconds=0.4))
    body = json.dumps({"payload": demo_payload}).encode()

    def request(delay: float) -> tuple[Any, list[dict[str, object]]]:
        sent: list[dict[str, object]] = []
        parts = [body[:10], body[10:]]

        async def receive() -> dict[str, object]:
            part = parts.pop(0)
            if not parts:
                await asyncio.sleep(delay)
            return {"type": "http.request", "body": part, "more_body": bool(parts)}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": "/v1/verify",
                 "raw_path": b"/v1/verify", "query_string": b"", "root_path": "",
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
                 "headers": [(b"content-type", b"application/json")]}
        return app(scope, receive, send), sent  # type: ignore[arg-type]

    async def both() -> list[bool]:
        (late, late_sent), (prompt, prompt_sent) = request(3.0), request(0.1)
        tasks = [asyncio.create_task(late), asyncio.create_task(prompt)]
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert late_sent[0]["status"] == 408 and prompt_sent[0]["status"] == 200
        assert json.loads(late_sent[1]["body"])["code"] == "request_timeout"  # type: ignore[arg-type]
        return [task.cancelling() == 0 for task in tasks]

    assert asyncio.run(both()) == [True, True]
