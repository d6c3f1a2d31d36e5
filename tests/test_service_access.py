"""The service's access model: API keys, roles, purposes, rate limits, access events, admin.

A real demo chain on disk, the real app, real SQLite, and the admin command line as a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cardlib._demo import make_demo
from cardlib.audit import read_log
from verifier_service import Settings, create_app
from verifier_service._access import DEFAULT_ROLES, AccessStore, document_hmac

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = tmp_path_factory.mktemp("chain")
    make_demo(demo, datetime.now(UTC).replace(microsecond=0))
    return demo


def settings_for(data_dir: Path, chain: Path, **changes: Any) -> Settings:
    return Settings(data_dir=data_dir, root=chain / "root.pem", bundle=chain / "bundle.cbor",
                    **changes)


def admin_token(data_dir: Path) -> str:
    """An admin key made with the command line, as an operator would."""
    out = subprocess.run([sys.executable, "-m", "verifier_service", "admin", "keys", "create",
                          "--owner", "Registry operations", "--role", "admin"], cwd=ROOT,
                         env={**os.environ, "VERIFIER_DATA_DIR": str(data_dir)},
                         capture_output=True, text=True, check=True)
    assert "shown this once" in out.stderr
    token: str = json.loads(out.stdout)["token"]
    return token


@pytest.fixture
def service(tmp_path: Path, chain: Path) -> Iterator[tuple[TestClient, Path]]:
    with TestClient(create_app(settings_for(tmp_path, chain))) as client:
        yield client, tmp_path


def payload(chain: Path) -> str:
    return (chain / "payload.txt").read_text("ascii").strip()


def new_key(client: TestClient, admin: str, role: str, owner: str = "Tripoli checkpoint 3"
            ) -> str:
    made = client.post("/v1/admin/keys", json={"owner": owner, "role": role},
                       headers={"X-API-Key": admin})
    assert made.status_code == 201, made.json()
    assert made.json()["key"]["role"] == role and "secret" not in json.dumps(made.json()["key"])
    token: str = made.json()["token"]
    return token


def test_without_a_key_verification_is_refused(service: tuple[TestClient, Path],
                                               chain: Path) -> None:
    client, _ = service
    answer = client.post("/v1/verify", json={"payload": payload(chain)})
    assert answer.status_code == 401 and answer.json()["code"] == "api_key_required"
    for header in ({"X-API-Key": "cvk_0123456789ab_notthesecret"}, {"X-API-Key": "garbage"},
                   {"Authorization": "Bearer cvk_x_y"}):
        wrong = client.post("/v1/verify", json={"payload": payload(chain)}, headers=header)
        assert wrong.status_code == 401 and wrong.json()["code"] == "api_key_invalid"


def test_roles_decide_the_fields_and_every_look_is_recorded(
        service: tuple[TestClient, Path], chain: Path) -> None:
    client, data_dir = service
    admin = admin_token(data_dir)
    verifier, checkpoint = new_key(client, admin, "verifier", "Bank"), new_key(
        client, admin, "checkpoint", "Border post")
    full = client.post("/v1/verify", json={"payload": payload(chain)},
                       headers={"X-API-Key": verifier, "X-Purpose": "account opening"}).json()
    assert full["status"] == "valid"
    assert {"address", "national_number", "mother_name_ar"} <= set(full["card"]["record"])
    limited = client.post("/v1/verify", json={"payload": payload(chain)},
                          headers={"Authorization": f"Bearer {checkpoint}"}).json()
    record, claims = limited["card"]["record"], limited["card"]["claims"]
    assert limited["status"] == "valid" and limited["signer"]["centre"] == "TRP-01"
    assert {"name_ar", "name_latin", "expiry_date", "document_number"} <= set(record)
    assert not {"address", "phone", "national_number", "mother_name_ar"} & set(record)
    assert "full_name" in claims and not {"address", "phone", "id"} & set(claims)

    assert client.app.state.gate.writer.flush()  # type: ignore[attr-defined]
    store = client.app.state.gate.store  # type: ignore[attr-defined]
    events = store.events()
    assert [(e.agency, e.purpose, e.status) for e in events] == [
        ("Border post", None, "valid"), ("Bank", "account opening", "valid")]
    secret = (data_dir / "access-hmac.key").read_bytes()
    number = full["card"]["record"]["document_number"]
    assert events[0].document_hmac == document_hmac(secret, number)
    assert len(store.events(document_hmac(secret, number))) == 2
    stored = (data_dir / "access.db").read_bytes() + (data_dir / "access.db-wal").read_bytes()
    for private in (number, full["card"]["record"]["national_number"],
                    full["card"]["record"]["name_latin"]["family"]):
        assert private.encode() not in stored  # only keyed hashes are kept


def test_admin_api_needs_the_admin_role_and_is_audited(service: tuple[TestClient, Path],
                                                       chain: Path) -> None:
    client, data_dir = service
    admin = admin_token(data_dir)
    verifier = new_key(client, admin, "verifier")
    assert client.get("/v1/admin/keys").status_code == 401
    forbidden = client.get("/v1/admin/keys", headers={"X-API-Key": verifier})
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    listed = client.get("/v1/admin/keys", headers={"X-API-Key": admin}).json()["keys"]
    assert {key["role"] for key in listed} == {"admin", "verifier"}
    assert all(set(key) == {"id", "owner", "role", "created_at", "revoked_at"} for key in listed)
    bad = client.post("/v1/admin/keys", json={"owner": "X", "role": "emperor"},
                      headers={"X-API-Key": admin})
    assert bad.status_code == 400 and bad.json()["code"] == "request_invalid"

    key_id = next(key["id"] for key in listed if key["role"] == "verifier")
    assert client.delete(f"/v1/admin/keys/{key_id}",
                         headers={"X-API-Key": admin}).json()["key"]["revoked_at"]
    refused = client.post("/v1/verify", json={"payload": payload(chain)},
                          headers={"X-API-Key": verifier})
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_invalid"
    missing = client.delete("/v1/admin/keys/000000000000", headers={"X-API-Key": admin})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"

    _, entries = read_log(data_dir / "audit.log")  # hashes and links all check
    # Write-ahead: each action is logged before it is done, then its outcome; refused ones too.
    assert [(e.kind, e.data["action"], e.data["phase"]) for e in entries] == [
        ("key", "api_key_created", "requested"), ("key", "api_key_created", "done"),  # CLI
        ("key", "api_key_created", "requested"), ("key", "api_key_created", "done"),
        ("key", "api_key_created", "requested"), ("key", "api_key_created", "failed"),
        ("key", "api_key_revoked", "requested"), ("key", "api_key_revoked", "done"),
        ("key", "api_key_revoked", "requested"), ("key", "api_key_revoked", "failed")]
    assert entries[2].data["by"] is not None and entries[0].data["by"] is None  # CLI: operator
    assert entries[3].data["key_id"] == verifier.split("_")[1]
    assert entries[5].data["code"] == "request_invalid" and entries[5].data["role"] == "emperor"
    assert entries[9].data["code"] == "not_found"
    assert all("cvk_" not in json.dumps(dict(e.data)) for e in entries)  # never a token



def test_an_admin_action_that_cannot_be_logged_is_not_done(service: tuple[TestClient, Path]
                                                           ) -> None:
    client, data_dir = service
    admin = admin_token(data_dir)
    (data_dir / "audit.log").rename(data_dir / "audit.log.kept")
    (data_dir / "audit.log").mkdir()  # the log cannot be opened
    refused = client.post("/v1/admin/keys", json={"owner": "Bank", "role": "verifier"},
                          headers={"X-API-Key": admin})
    assert refused.status_code == 503 and refused.json()["code"] == "audit_unavailable"
    store = AccessStore(data_dir / "access.db", DEFAULT_ROLES)
    assert [key.owner for key in store.api_keys()] == ["Registry operations"]  # none made
    store.close()

def test_the_command_line_lists_and_revokes(tmp_path: Path, chain: Path) -> None:
    admin_token(tmp_path)
    env = {**os.environ, "VERIFIER_DATA_DIR": str(tmp_path)}

    def run(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "verifier_service", "admin", "keys", *words],
                              cwd=ROOT, env=env, capture_output=True, text=True)

    (key,) = json.loads(run("list").stdout)["keys"]
    assert json.loads(run("revoke", key["id"]).stdout)["key"]["revoked_at"]
    again = run("revoke", "nonexistent")
    assert again.returncode == 2 and "not_found" in again.stderr and not again.stdout


def test_purpose_required_by_setting(tmp_path: Path, chain: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, chain, require_purpose=True))) as client:
        token = new_key(client, admin_token(tmp_path), "verifier")
        body = {"payload": payload(chain)}
        missing = client.post("/v1/verify", json=body, headers={"X-API-Key": token})
        assert missing.status_code == 400 and missing.json()["code"] == "purpose_required"
        stated = client.post("/v1/verify", json=body,
                             headers={"X-API-Key": token, "X-Purpose": "hospital admission"})
        assert stated.status_code == 200
        too_long = client.post("/v1/verify", json=body,
                               headers={"X-API-Key": token, "X-Purpose": "x" * 200})
        assert too_long.status_code == 400


def test_rate_limits_per_key(tmp_path: Path, chain: Path) -> None:
    settings = settings_for(tmp_path, chain, rate_per_key=0.5, rate_burst=2, rate_per_address=0)
    with TestClient(create_app(settings)) as client:
        token = new_key(client, admin_token(tmp_path), "verifier")
        codes = [client.post("/v1/verify", json={"payload": payload(chain)},
                             headers={"X-API-Key": token}) for _ in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert codes[2].json()["code"] == "rate_limited"
        assert int(codes[2].headers["retry-after"]) >= 1


def test_rate_limits_per_address(tmp_path: Path, chain: Path) -> None:
    settings = settings_for(tmp_path, chain, anonymous=True, rate_per_address=0.5, rate_burst=2)
    with TestClient(create_app(settings)) as client:
        codes = [client.post("/v1/verify", json={"payload": payload(chain)}).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]


def test_anonymous_callers_are_not_recorded(tmp_path: Path, chain: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, chain, anonymous=True,
                                            anonymous_role="checkpoint"))) as client:
        answer = client.post("/v1/verify", json={"payload": payload(chain)}).json()
        assert answer["status"] == "valid" and "address" not in answer["card"]["record"]
    assert AccessStore(tmp_path / "access.db", {}).events() == []


def test_a_custom_role_table(tmp_path: Path, chain: Path) -> None:
    roles = {"pharmacy": {"record_fields": ["name_latin", "date_of_birth"],
                          "claims_fields": []}}
    with TestClient(create_app(settings_for(tmp_path, chain, roles=roles))) as client:
        token = new_key(client, admin_token(tmp_path), "pharmacy")
        card = client.post("/v1/verify", json={"payload": payload(chain)},
                           headers={"X-API-Key": token}).json()["card"]
        assert set(card["record"]) == {"name_latin", "date_of_birth"} and card["claims"] == {}
    with pytest.raises(ValueError, match="members"):
        create_app(settings_for(tmp_path, chain, roles={"x": {"fields": []}}))


def test_token_buckets_refill_and_stay_bounded() -> None:
    from verifier_service._ratelimit import RateLimiter

    now = [100.0]
    limiter = RateLimiter(2.0, 3, max_clients=2, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)  # one token comes back in 1/2 s
    now[0] += 0.5
    assert limiter.take("a") == 0.0
    limiter.take("b")
    limiter.take("c")  # "a" (least recently used) is dropped: it starts full again
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert RateLimiter(0, 1).take("anyone") == 0.0  # 0: no limit


def test_a_key_revoked_elsewhere_stops_within_the_cache_period(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    here = AccessStore(tmp_path / "access.db", DEFAULT_ROLES, cache_seconds=0.3)
    elsewhere = AccessStore(tmp_path / "access.db", DEFAULT_ROLES)
    key, token = here.create_key("Bank", "verifier", now=now)
    assert here.authenticate(token) is not None
    elsewhere.revoke_key(key.id, now=now)
    assert here.authenticate(token) is not None  # still trusted from the cache ...
    time.sleep(0.35)
    assert here.authenticate(token) is None  # ... for at most cache_seconds
    other, other_token = here.create_key("Post office", "verifier", now=now)
    assert here.authenticate(other_token) is not None
    here.revoke_key(other.id, now=now)  # revoked through this process: at once
    assert here.authenticate(other_token) is None
    here.close()
    elsewhere.close()


def test_closing_writes_every_queued_event(tmp_path: Path) -> None:
    from verifier_service._access import AccessEvent, EventWriter

    store = AccessStore(tmp_path / "access.db", DEFAULT_ROLES)
    writer = EventWriter(store)
    now = datetime.now(UTC)
    for n in range(20_000):  # more than the writer takes in one batch period
        writer.put(AccessEvent("k", "Bank", now, None, "valid", None, f"{n:064x}"))
    writer.close()
    assert len(store.events()) == 20_000 and writer.pending == 0
    store.close()


def test_an_unusable_hmac_key_file_is_refused(tmp_path: Path) -> None:
    from verifier_service._access import hmac_key

    made = hmac_key(tmp_path / "fresh.key")
    assert len(made) == 32 and hmac_key(tmp_path / "fresh.key") == made
    (tmp_path / "empty.key").write_bytes(b"")
    with pytest.raises(ValueError, match="no usable key"):
        hmac_key(tmp_path / "empty.key")
    with pytest.raises(ValueError, match="16 bytes"):
        hmac_key(tmp_path / "x", given="abcd")


def test_a_purpose_in_arabic(tmp_path: Path, chain: Path) -> None:
    import urllib.parse as parse

    with TestClient(create_app(settings_for(tmp_path, chain))) as client:
        token = new_key(client, admin_token(tmp_path), "verifier")
        purpose = "فتح حساب مصرفي"
        for header in (purpose.encode("utf-8"), parse.quote(purpose).encode("ascii")):
            answer = client.post("/v1/verify", json={"payload": payload(chain)},
                                 headers=[(b"X-API-Key", token.encode()), (b"X-Purpose", header)])
            assert answer.status_code == 200
        for bad in (parse.quote("x\ny").encode(), b"%ff", b"%e2%80"):
            refused = client.post("/v1/verify", json={"payload": payload(chain)},
                                  headers=[(b"X-API-Key", token.encode()), (b"X-Purpose", bad)])
            assert refused.status_code == 400, bad
        assert client.app.state.gate.writer.flush()  # type: ignore[attr-defined]
        purposes = [e.purpose for e in client.app.state.gate.store.events()]  # type: ignore[attr-defined]
        assert purposes == [purpose, purpose]


def test_the_document_hash_is_hmac_sha256() -> None:
    import hashlib
    import hmac

    for secret, number in ((b"\x00" * 32, "LY0001234"), (b"k" * 100, "LY0009999"),
                           (bytes(range(64)), "رقم")):
        expected = hmac.new(secret, number.encode("utf-8"), hashlib.sha256).hexdigest()
        assert document_hmac(secret, number) == expected
    assert document_hmac(b"\x00" * 32, "LY0001234") != document_hmac(b"\x01" * 32, "LY0001234")
