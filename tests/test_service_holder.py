"""The holder's own view, ``POST /v1/me``: the card alone without the access code; with it, the
registry's history of the holder's cards and the looks at them, and nothing of anyone else's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import cardlib
from cardlib._batch import registry_card
from cardlib._demo import example_record
from cardlib.store import generate_access_code, open_registry
from verifier_service._access import document_hmac

from ._service_fixtures import Service, running_service, service_settings


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The embedded demo: its registry holds the demo card and its holder's access code."""
    with running_service(service_settings(tmp_path / "data")) as running:
        yield running


def _demo(service: Service) -> tuple[str, str, str]:
    runtime = service.app.state.runtime
    assert runtime.registry is not None and runtime.access_code is not None
    return runtime.demo.payload, runtime.access_code, runtime.registry


def _me(service: Service, payload: str, code: str | None = None, **headers: str) -> Any:
    return service.client.post("/v1/me", json={"payload": payload, "access_code": code},
                               headers=headers)


def test_without_the_code_only_the_card_is_shown(service: Service) -> None:
    payload, _, _ = _demo(service)
    answer = _me(service, payload)
    assert answer.status_code == 200
    body = answer.json()
    assert body["result"]["status"] == "valid"
    assert body["result"]["card"]["record"]["address"]  # the holder's own card: every field
    assert body["history"] is None and body["access_events"] is None


def test_with_the_code_the_history_and_the_looks_newest_first(service: Service) -> None:
    payload, code, _ = _demo(service)
    for purpose in ("account opening", "loan"):
        looked = service.client.post("/v1/verify", json={"payload": payload},
                                     headers={**service.key("checkpoint"), "X-Purpose": purpose})
        assert looked.status_code == 200
    assert service.app.state.gate.writer.flush()  # both looks are stored
    answer = _me(service, payload, code.lower().replace("-", " "))  # as a holder types it
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(e["event"], e["document_number"]) for e in body["history"]] == [
        ("issue", "LY0001234")]
    looks = body["access_events"]
    assert [(e["agency"], e["purpose"], e["status"]) for e in looks] == [
        ("checkpoint agency", "loan", "valid"), ("checkpoint agency", "account opening", "valid")]
    assert looks[0]["at"] >= looks[1]["at"]
    # Never shown: the keyed hashes, the keys' ids.
    secret = service.app.state.gate.secret
    assert document_hmac(secret, "LY0001234") not in answer.text
    assert "cvk_" not in answer.text and "key_id" not in answer.text


def test_wrong_and_malformed_codes_are_refused(service: Service) -> None:
    payload, code, _ = _demo(service)
    wrong = "0000-0000-0000" if code != "0000-0000-0000" else "1111-1111-1111"
    answer = _me(service, payload, wrong)
    assert (answer.status_code, answer.json()["code"]) == (403, "access_code_wrong")
    answer = _me(service, payload, "not a code")
    assert (answer.status_code, answer.json()["code"]) == (400, "access_code_malformed")
    answer = _me(service, payload, "X" * 65)
    assert (answer.status_code, answer.json()["code"]) == (400, "request_invalid")
    answer = _me(service, "NOT-A-CARD", code)  # no authentic card: nothing is opened
    assert answer.status_code == 200 and answer.json()["result"]["status"] == "invalid"
    assert answer.json()["history"] is None and answer.json()["access_events"] is None


def test_one_holders_code_opens_nothing_of_another(service: Service) -> None:
    payload, code, registry_url = _demo(service)
    demo = service.app.state.runtime.demo
    now = datetime.now(UTC).replace(microsecond=0)
    other = dataclasses.replace(example_record(), national_number="119859999999",
                                document_number="LY0005678")
    other_payload = cardlib.issue(other, demo.signer, now=now)
    other_code = generate_access_code()
    with open_registry(Path(registry_url)) as registry:
        registry.record_issue(registry_card(other, demo.signer, other_payload, now),
                              access_code=other_code)
    assert _me(service, other_payload, code).status_code == 403  # the demo holder's code
    assert _me(service, payload, other_code).status_code == 403
    mine = _me(service, other_payload, other_code).json()
    assert [e["document_number"] for e in mine["history"]] == ["LY0005678"]


def test_a_revocation_in_the_registry_is_in_the_history(service: Service) -> None:
    payload, code, registry_url = _demo(service)
    with open_registry(Path(registry_url)) as registry:
        registry.revoke("LY0001234", "stolen", now=datetime.now(UTC) + timedelta(seconds=1))
    history = _me(service, payload, code).json()["history"]
    assert [(e["event"], e["reason"]) for e in history] == [("revocation", "stolen"),
                                                            ("issue", None)]  # newest first


def test_attempts_are_limited_per_card_and_per_address(tmp_path: Path) -> None:
    settings = service_settings(tmp_path / "data", holder_attempts_per_hour=3,
                                holder_address_attempts_per_hour=6)
    with running_service(settings) as service:
        payload, code, _ = _demo(service)
        statuses = [_me(service, payload, "0000-0000-0000").status_code for _ in range(3)]
        assert statuses == [403, 403, 403]
        limited = _me(service, payload, code)  # the right code too, once the card's are spent
        assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
        assert int(limited.headers["Retry-After"]) > 60
        # The address's bucket (6 an hour) is spent by every call, with a code or without.
        assert [_me(service, payload).status_code for _ in range(2)] == [200, 200]
        assert _me(service, payload).status_code == 429


def test_without_a_registry_only_the_card_is_shown(tmp_path: Path) -> None:
    chain = tmp_path / "chain"
    demo = cardlib._demo.make_demo(chain, datetime.now(UTC).replace(microsecond=0))
    settings = service_settings(tmp_path / "data", root=chain / "root.pem",
                                bundle=chain / "bundle.cbor", anonymous=True)
    with running_service(settings) as service:
        assert _me(service, demo.payload).json()["result"]["status"] == "valid"
        answer = _me(service, demo.payload, "0000-0000-0000")
        assert (answer.status_code, answer.json()["code"]) == (404, "holder_view_unavailable")


def test_a_card_refused_for_its_signer_opens_nothing(service: Service) -> None:
    """A card signed with a revoked centre key (one a thief may hold) verifies as a signature,
    but is refused for its signer: with the holder's right code it still opens nothing."""
    _, code, _ = _demo(service)
    demo = service.app.state.runtime.demo
    kid = demo.signer.kid.hex()
    retired = service.client.delete(f"/v1/admin/centres/{kid}?reason=compromised",
                                    headers=service.key("admin"))
    assert retired.status_code == 200, retired.text
    forged = cardlib.issue(demo.record, demo.signer, now=datetime.now(UTC) + timedelta(minutes=1))
    answer = _me(service, forged, code)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["result"]["status"], body["result"]["code"]) == ("invalid", "key_revoked")
    assert body["result"]["card"] is not None  # the signature held: the card is shown
    assert body["history"] is None and body["access_events"] is None


@pytest.mark.parametrize(("status", "code", "opens"), [
    ("valid", None, True), ("revoked", "revoked", True), ("unknown", "revocation_stale", True),
    ("invalid", "expired", True), ("invalid", "not_yet_valid", True),
    ("invalid", "key_revoked", False), ("invalid", "signer_untrusted", False),
    ("invalid", "print_mismatch", False)])
def test_which_verdicts_open_the_record(status: str, code: str | None, opens: bool) -> None:
    from verifier_service._holder import _opens

    assert _opens(status, code) is opens
