"""The service's signed documents: admin revocation, list uploads, deltas, restarts, replicas.

Real root and centre keys (the demo chain), real signed lists checked by cardlib, real SQLite
shared by two app instances standing in for two replicas.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import cardlib
from cardlib._demo import make_demo
from cardlib.audit import read_log
from cardlib.revocation import Reason, RevocationEntry, publish_revocation_list
from cardlib.trust import certificate_der
from verifier_service import Settings, create_app
from verifier_service._access import DEFAULT_ROLES, AccessStore


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    demo = tmp_path / "chain"
    make_demo(demo, datetime.now(UTC).replace(microsecond=0))
    return demo


def configured(data_dir: Path, chain: Path, **changes: Any) -> Settings:
    return Settings(data_dir=data_dir, root=chain / "root.pem", bundle=chain / "bundle.cbor",
                    **changes)


def admin(data_dir: Path) -> dict[str, str]:
    store = AccessStore(data_dir / "access.db", DEFAULT_ROLES)
    _, token = store.create_key("Registry operations", "admin", now=datetime.now(UTC))
    store.close()
    return {"X-API-Key": token}


def payload(chain: Path) -> str:
    return (chain / "payload.txt").read_text("ascii").strip()


def status(client: TestClient, text: str, headers: dict[str, str]) -> str:
    answer: str = client.post("/v1/verify", json={"payload": text}, headers=headers).json()[
        "status"]
    return answer


@pytest.fixture
def signing(tmp_path: Path, chain: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    data_dir = tmp_path / "service"
    headers = admin(data_dir)
    settings = configured(data_dir, chain, root_key=chain / "root-private.pem")
    with TestClient(create_app(settings)) as client:
        yield client, headers


def test_admin_revocation_is_enforced_published_and_audited(
        signing: tuple[TestClient, dict[str, str]], chain: Path, tmp_path: Path) -> None:
    client, headers = signing
    card = payload(chain)
    number = client.post("/v1/verify", json={"payload": card}, headers=headers).json()[
        "card"]["record"]["document_number"]
    before = client.get("/v1/revocations")
    old = cardlib.Verifier(root=(chain / "root.pem").read_bytes(),
                           trust_list=client.get("/v1/trust-list").content,
                           revocation_list=before.content, state=tmp_path / "edge-state")
    old_sequence = old.revocations.sequence  # type: ignore[union-attr]

    made = client.post("/v1/admin/revocations",
                       json={"document_number": number, "reason": "stolen"}, headers=headers)
    assert made.status_code == 201
    sequence = made.json()["revocation_list_sequence"]
    assert sequence > old_sequence
    answer = client.post("/v1/verify", json={"payload": card}, headers=headers).json()
    assert (answer["status"], answer["revocation"]["reason"]) == ("revoked", "stolen")

    # An edge node holding the old list fetches the delta, not the whole list.
    delta = client.get(f"/v1/revocations?since={old_sequence}")
    full = client.get("/v1/revocations")
    assert delta.status_code == 200 and delta.content != full.content
    with old.update() as update:
        update.load_revocation_list(delta.content)
    assert old.check(card).status == "revoked"
    assert client.get(f"/v1/revocations?since={sequence}").status_code == 304
    assert client.get("/v1/revocations?since=-1").status_code == 400
    assert client.get(f"/v1/revocations?since={sequence + 1}").status_code == 400
    assert client.get("/v1/revocations?since=abc").status_code == 400
    # The bundle follows the new list; an edge node refreshing it sees the revocation too.
    fresh = cardlib.Verifier(root=(chain / "root.pem").read_bytes(),
                             bundle=client.get("/v1/bundle").content)
    assert fresh.check(card).status == "revoked"

    again = client.post("/v1/admin/revocations",
                        json={"document_number": number, "reason": "lost"}, headers=headers)
    assert again.status_code == 400 and "already revoked" in again.json()["detail"]
    for body in ({"document_number": number, "reason": "bored"},
                 {"document_number": "bad number!", "reason": "lost"}, {"reason": "lost"}):
        refused = client.post("/v1/admin/revocations", json=body, headers=headers)
        assert refused.status_code == 400 and refused.json()["code"] == "request_invalid"

    data_dir = tmp_path / "service"
    _, entries = read_log(data_dir / "audit.log")
    # Each request that reached the action is logged before it, then its outcome (the body
    # without a document number never did).
    assert [(e.data["phase"], e.data.get("reason"), e.data.get("code")) for e in entries] == [
        ("requested", "stolen", None), ("done", "stolen", None),
        ("requested", "lost", None), ("failed", "lost", "request_invalid"),
        ("requested", "bored", None), ("failed", "bored", "request_invalid"),
        ("requested", "lost", None), ("failed", "lost", "request_invalid")]
    assert {e.data["action"] for e in entries} == {"card_revoked"}
    assert entries[1].data["list_sequence"] == sequence


def test_a_restart_keeps_what_was_published(tmp_path: Path, chain: Path) -> None:
    data_dir = tmp_path / "service"
    headers = admin(data_dir)
    settings = configured(data_dir, chain, root_key=chain / "root-private.pem")
    card = payload(chain)
    with TestClient(create_app(settings)) as client:
        number = client.post("/v1/verify", json={"payload": card}, headers=headers).json()[
            "card"]["record"]["document_number"]
        client.post("/v1/admin/revocations", json={"document_number": number, "reason": "lost"},
                    headers=headers)
    # The files still hold the old list; the store holds the newer one.
    with TestClient(create_app(settings)) as restarted:
        assert status(restarted, card, headers) == "revoked"


def test_without_the_signing_key_lists_are_uploaded(tmp_path: Path, chain: Path) -> None:
    data_dir = tmp_path / "service"
    headers = admin(data_dir)
    card = payload(chain)
    with TestClient(create_app(configured(data_dir, chain))) as client:
        refused = client.post("/v1/admin/revocations",
                              json={"document_number": "LY0001234", "reason": "lost"},
                              headers=headers)
        assert refused.status_code == 409 and refused.json()["code"] == "signing_key_unavailable"
        number = client.post("/v1/verify", json={"payload": card}, headers=headers).json()[
            "card"]["record"]["document_number"]

        # Signed offline, where the root key is, then uploaded.
        root_key = cardlib.PrivateKey.from_pem((chain / "root-private.pem").read_bytes())
        root = certificate_der((chain / "root.pem").read_bytes())
        now = datetime.now(UTC)
        held = client.get("/v1/revocations").content
        previous = cardlib.Verifier(root=root, revocation_list=held).revocations
        assert previous is not None
        signed = publish_revocation_list(
            root_key, root, [*previous.entries(), RevocationEntry(number, Reason.FRAUD, now)],
            sequence=previous.sequence + 10, issued=now, next_update=now + timedelta(days=7),
            previous=previous)
        put = client.put("/v1/admin/revocation-list", content=signed, headers=headers)
        assert put.status_code == 200 and put.json()["sequence"] == previous.sequence + 10
        assert status(client, card, headers) == "revoked"
        assert client.get("/v1/revocations").content == signed

        rollback = client.put("/v1/admin/revocation-list", content=held, headers=headers)
        assert rollback.status_code == 400
        assert rollback.json()["code"] == "revocation_list_rollback"
        garbage = client.put("/v1/admin/revocation-list", content=b"\x00" * 64, headers=headers)
        assert garbage.status_code in (400, 422) and garbage.json()["status"] == "error"
        wrong = client.put("/v1/admin/trust-list", content=signed, headers=headers)
        assert 400 <= wrong.status_code < 500
        forbidden = client.put("/v1/admin/revocation-list", content=signed,
                               headers={"X-API-Key": "cvk_nobody_none"})
        assert forbidden.status_code == 401
        assert status(client, card, headers) == "revoked"  # nothing was lost by the refusals


def test_a_revocation_through_one_replica_is_enforced_by_the_other(
        tmp_path: Path, chain: Path) -> None:
    """Two app instances on one shared store: the second loads the first's new list within
    its refresh period (0.2 s here)."""
    data_dir = tmp_path / "shared"
    headers = admin(data_dir)
    card = payload(chain)
    settings = configured(data_dir, chain, root_key=chain / "root-private.pem",
                          refresh_seconds=0.2)
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        number = first.post("/v1/verify", json={"payload": card}, headers=headers).json()[
            "card"]["record"]["document_number"]
        assert status(second, card, headers) == "valid"
        made = first.post("/v1/admin/revocations",
                          json={"document_number": number, "reason": "stolen"}, headers=headers)
        assert made.status_code == 201
        start = time.monotonic()
        while status(second, card, headers) != "revoked":
            assert time.monotonic() - start < 10, "the second replica never saw the revocation"
            time.sleep(0.05)
        took = time.monotonic() - start
    assert took < 10


def test_centres_are_enrolled_and_retired(signing: tuple[TestClient, dict[str, str]],
                                          chain: Path, tmp_path: Path) -> None:
    import dataclasses

    from cardlib._demo import example_record
    from cardlib.trust import CertifiedSigner, certificate_pem, certify_centre, create_root

    client, headers = signing
    root_key = cardlib.PrivateKey.from_pem((chain / "root-private.pem").read_bytes())
    root = certificate_der((chain / "root.pem").read_bytes())
    now = datetime.now(UTC).replace(microsecond=0)
    centre_key = cardlib.PrivateKey.generate("EdDSA")
    certificate = certify_centre(root_key, root, centre_key.public_key, centre_code="BEN-02",
                                 not_before=now - timedelta(days=1),
                                 not_after=now + timedelta(days=365))
    card = cardlib.issue(dataclasses.replace(example_record(), centre_code="BEN-02"),
                         CertifiedSigner(centre_key, certificate), now=now)
    answer = client.post("/v1/verify", json={"payload": card}, headers=headers).json()
    assert (answer["status"], answer["code"]) == ("invalid", "key_unknown")

    enrolled = client.post("/v1/admin/centres",
                           json={"certificate": certificate_pem(certificate).decode()},
                           headers=headers)
    assert enrolled.status_code == 201 and enrolled.json()["centre"] == "BEN-02"
    assert status(client, card, headers) == "valid"
    assert status(client, payload(chain), headers) == "valid"  # TRP-01 is still listed
    again = client.post("/v1/admin/centres",
                        json={"certificate": certificate_pem(certificate).decode()},
                        headers=headers)
    assert again.status_code == 400 and "already" in again.json()["detail"]
    stranger_root = create_root("Another root", root_key, now=now, days=10)
    stranger = certify_centre(root_key, stranger_root, centre_key.public_key,
                              centre_code="XXX-01", not_before=now,
                              not_after=now + timedelta(days=5))
    for certificate_text in ("garbage", certificate_pem(stranger).decode()):
        refused = client.post("/v1/admin/centres", json={"certificate": certificate_text},
                              headers=headers)
        assert refused.status_code == 400 and refused.json()["code"] == "request_invalid"

    kid = enrolled.json()["kid"]
    assert client.delete(f"/v1/admin/centres/{kid}?reason=sideways",
                         headers=headers).status_code == 400
    assert client.delete("/v1/admin/centres/00ff00ff00ff00ff",
                         headers=headers).status_code == 404
    retired = client.delete(f"/v1/admin/centres/{kid}?reason=compromised", headers=headers)
    assert retired.status_code == 200
    answer = client.post("/v1/verify", json={"payload": card}, headers=headers).json()
    assert (answer["status"], answer["code"]) == ("invalid", "key_revoked")
    assert answer["card"] is not None  # authentic, refused: the clerk still sees whose it is
    done = [(e.data["action"], e.data.get("centre"))
            for e in read_log(tmp_path / "service" / "audit.log")[1] if e.data["phase"] == "done"]
    assert done == [("centre_enrolled", "BEN-02"), ("centre_retired", None)]


def test_centre_changes_need_the_signing_key(tmp_path: Path, chain: Path) -> None:
    data_dir = tmp_path / "service"
    headers = admin(data_dir)
    with TestClient(create_app(configured(data_dir, chain))) as client:
        refused = client.post("/v1/admin/centres", json={"certificate": "x"}, headers=headers)
        assert refused.status_code == 409 and refused.json()["code"] == "signing_key_unavailable"
        assert client.get("/readyz").status_code == 200  # the service keeps serving


def test_concurrent_revocations_through_two_processes_are_all_kept(
        tmp_path: Path, chain: Path) -> None:
    """Two processes on one store, each revoking before it has seen the other's list: the
    second signs on top of the first's (it claims the next sequence), nothing is lost."""
    import dataclasses

    from cardlib._demo import example_record
    from cardlib.trust import CertifiedSigner

    data_dir = tmp_path / "shared"
    headers = admin(data_dir)
    signer = CertifiedSigner(cardlib.PrivateKey.from_pem(
        (chain / "centre-private.pem").read_bytes()),
        certificate_der((chain / "centre.pem").read_bytes()))
    numbers = ["LY1000001", "LY1000002"]
    cards = [cardlib.issue(dataclasses.replace(example_record(), document_number=n), signer)
             for n in numbers]
    settings = configured(data_dir, chain, root_key=chain / "root-private.pem",
                          refresh_seconds=3600)  # neither loads the other's list by itself
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for client, number in ((first, numbers[0]), (second, numbers[1])):
            made = client.post("/v1/admin/revocations",
                               json={"document_number": number, "reason": "lost"},
                               headers=headers)
            assert made.status_code == 201
        second.app.state.runtime.documents.refresh()  # type: ignore[attr-defined]
        first.app.state.runtime.documents.refresh()  # type: ignore[attr-defined]
        for client in (first, second):
            assert [status(client, card, headers) for card in cards] == ["revoked"] * 2
    with TestClient(create_app(settings)) as restarted:
        assert [status(restarted, card, headers) for card in cards] == ["revoked"] * 2


def test_an_edge_store_holding_a_delta_restarts(tmp_path: Path, chain: Path,
                                                signing: tuple[TestClient, dict[str, str]]
                                                ) -> None:
    from verifier_service._documents import REVOCATION_LIST

    central, headers = signing
    card = payload(chain)
    edge_settings = configured(tmp_path / "edge", chain, anonymous=True)
    with TestClient(create_app(edge_settings)) as edge:
        base = edge.app.state.runtime.documents.held.revocation_sequence  # type: ignore[attr-defined]
        number = central.post("/v1/verify", json={"payload": card}, headers=headers).json()[
            "card"]["record"]["document_number"]
        central.post("/v1/admin/revocations", json={"document_number": number,
                                                     "reason": "stolen"}, headers=headers)
        delta = central.get(f"/v1/revocations?since={base}")
        assert delta.status_code == 200
        edge.app.state.runtime.documents.take(REVOCATION_LIST, delta.content, base)  # type: ignore[attr-defined]
        assert edge.post("/v1/verify", json={"payload": card}).json()["status"] == "revoked"
    with TestClient(create_app(edge_settings)) as restarted:  # the delta is applied again
        assert restarted.post("/v1/verify", json={"payload": card}).json()[
            "status"] == "revoked"


def test_a_delta_upload_is_refused_and_changes_nothing(
        signing: tuple[TestClient, dict[str, str]], chain: Path) -> None:
    client, headers = signing
    card = payload(chain)
    before = client.get("/v1/revocations")
    base = cardlib.Verifier(root=(chain / "root.pem").read_bytes(),
                            revocation_list=before.content).revocations
    assert base is not None
    root_key = cardlib.PrivateKey.from_pem((chain / "root-private.pem").read_bytes())
    number = client.post("/v1/verify", json={"payload": card}, headers=headers).json()[
        "card"]["record"]["document_number"]
    now = datetime.now(UTC)
    from cardlib.revocation import publish_delta

    delta = publish_delta(root_key, certificate_der((chain / "root.pem").read_bytes()),
                          [RevocationEntry(number, Reason.LOST, now)],
                          base_sequence=base.sequence, sequence=base.sequence + 5, issued=now,
                          next_update=now + timedelta(days=7))
    refused = client.put("/v1/admin/revocation-list", content=delta, headers=headers)
    assert refused.status_code == 400 and "not a delta" in refused.json()["detail"]
    assert status(client, card, headers) == "valid"
    assert client.get("/v1/revocations").content == before.content
