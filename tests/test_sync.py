"""Offline centres syncing to the central registry, on SQLite and PostgreSQL.

Each centre is its own SQLite registry under ``tmp_path``; the central is the ``central``
fixture, run on both backends exactly as ``tests/test_registry.py`` runs the registry
(PostgreSQL in a throw-away schema, required in CI through ``tests.conftest.require``). Every
batch crosses ``json.dumps``/``json.loads`` and is signed by its centre's certified key
(``sign_changes``), as it would travel; the central checks it against a root-signed trust list.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

import pytest

from cardlib import DEFAULT_LIMITS
from cardlib._errors import CardError
from cardlib.codec import _cose
from cardlib.keys import PrivateKey
from cardlib.store import AccessCodeRecord, ScryptCost, _sync, generate_access_code
from cardlib.store._registry import (
    IssuanceRegistry,
    IssuedCard,
    RegistryBusyError,
    RegistryError,
    RegistryInputError,
    open_registry,
)
from cardlib.store._sync import (
    CONFLICT_KINDS,
    SyncBatch,
    SyncBatchInvalidError,
    SyncBatchSignatureError,
    SyncBatchTamperedError,
    SyncChange,
    SyncError,
    SyncForeignCardError,
    SyncGapError,
    SyncReport,
    SyncSignerUntrustedError,
    SyncUnsupportedError,
    apply_changes,
    export_changes,
    list_conflicts,
    open_changes,
    sign_changes,
    sync_cursor,
)
from cardlib.trust import (
    CertifiedSigner,
    KeyRevocation,
    TrustList,
    certify_centre,
    create_root,
    load_trust_list,
    publish_trust_list,
)

from .test_registry import LATEST, Backend, _postgres_backend, _sqlite_backend
from .test_registry import card as registry_card

T0 = datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=UTC)  # microseconds survive the round trip
SYNCED = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
A, B = "RBT-01", "CAS-02"

# The national PKI: a root, and a certified signing key for each centre (HQ: the central's own).
PKI_START = datetime(2026, 1, 1, tzinfo=UTC)
ROOT_KEY = PrivateKey.generate("EdDSA")
ROOT = create_root("Sync test root", ROOT_KEY, now=PKI_START, days=3650)


def _certified(code: str, alg: str = "EdDSA", days: int = 1826) -> CertifiedSigner:
    key = PrivateKey.generate(alg)
    der = certify_centre(ROOT_KEY, ROOT, key.public_key, centre_code=code,
                         not_before=PKI_START, not_after=PKI_START + timedelta(days=days))
    return CertifiedSigner(key, der)


SIGNERS = {A: _certified(A), B: _certified(B, "ES256"), "HQ": _certified("HQ")}
KID = {code: signer.kid for code, signer in SIGNERS.items()}


def trust_list_of(*signers: CertifiedSigner, sequence: int = 1,
                  revoked: dict[bytes, KeyRevocation] | None = None,
                  next_update: datetime = PKI_START + timedelta(days=365)) -> TrustList:
    data = publish_trust_list(ROOT_KEY, ROOT, [s.certificate_der for s in signers],
                              sequence=sequence, issued=PKI_START, next_update=next_update,
                              revoked=revoked)
    return load_trust_list(data, ROOT, now=PKI_START)


TRUST = trust_list_of(*SIGNERS.values())


def card(number: str, holder: str = "NIN-0001", *, at: datetime = T0,
         centre_code: str = A, **kw: Any) -> IssuedCard:
    """A card issued by ``centre_code`` with that centre's certified key (its kid)."""
    return registry_card(number, holder, at=at, centre_code=centre_code,
                         kid=kw.pop("kid", KID.get(centre_code, b"\x01" * 8)), **kw)


@pytest.fixture(params=["sqlite", "postgres"])
def central_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite_backend(tmp_path)
    else:
        yield from _postgres_backend()


@pytest.fixture
def central(central_backend: Backend) -> Iterator[IssuanceRegistry]:
    with central_backend.create() as opened:
        yield opened


@pytest.fixture
def centre_a(tmp_path: Path) -> Iterator[IssuanceRegistry]:
    with open_registry(tmp_path / "centre-a.db", create=True) as opened:
        yield opened


@pytest.fixture
def centre_b(tmp_path: Path) -> Iterator[IssuanceRegistry]:
    with open_registry(tmp_path / "centre-b.db", create=True) as opened:
        yield opened


def wire(batch: SyncBatch, signer: CertifiedSigner | None = None) -> bytes:
    """The batch as it travels: through JSON text, signed by its centre's certified key."""
    again = SyncBatch.from_json(json.loads(json.dumps(batch.to_json())))
    assert again == batch
    return sign_changes(again, signer or SIGNERS[batch.centre])


def apply(central: IssuanceRegistry, signed: bytes, *, trust: TrustList = TRUST,
          now: datetime = SYNCED) -> SyncReport:
    return apply_changes(central, signed, trust_list=trust, now=now)


def sync(
    centre: IssuanceRegistry, central: IssuanceRegistry, code: str, *, since: int | None = None
) -> SyncReport:
    start = sync_cursor(central, code) if since is None else since
    batch = export_changes(centre, centre=code, since=start)
    return apply(central, wire(batch))


def numbers(changes: tuple[SyncChange, ...]) -> list[tuple[str, str]]:
    return [(c.event, c.document_number) for c in changes]


def issue_three(centre: IssuanceRegistry) -> None:
    for i in range(1, 4):
        centre.record_issue(
            card(f"RB000000{i}", f"NIN-000{i}", at=T0 + timedelta(minutes=i), centre_code=A)
        )


# --- the offline centre's first sync -------------------------------------------------------------


def test_three_offline_cards_apply_once_then_resend_is_skipped(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    batch = export_changes(centre_a, centre=A, since=0)
    assert (batch.since, batch.until, len(batch.events), len(batch.cards)) == (0, 3, 3, 3)

    first = apply(central, wire(batch))
    assert numbers(first.applied) == [("issue", f"RB000000{i}") for i in range(1, 4)]
    assert (first.skipped, first.conflicts, first.cursor) == ((), (), 3)
    assert first.batch_sha256 == batch.content_sha256
    assert first.signer_kid == KID[A]
    for i in range(1, 4):
        assert central.get(f"RB000000{i}") == centre_a.get(f"RB000000{i}")
        assert [e.event for e in central.history(f"NIN-000{i}")] == ["issue"]

    again = apply(central, wire(batch))
    assert (len(again.applied), len(again.skipped), again.conflicts) == (0, 3, ())
    assert again.cursor == 3
    assert [e.event for e in central.history("NIN-0001")] == ["issue"]  # nothing doubled
    assert sync_cursor(central, A) == 3


def test_cursor_advances_and_an_empty_batch_keeps_it(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    assert sync_cursor(central, A) == 0
    issue_three(centre_a)
    assert sync(centre_a, central, A).cursor == 3
    empty = export_changes(centre_a, centre=A, since=3)
    assert (empty.since, empty.until, empty.events, empty.cards) == (3, 3, (), ())
    report = apply(central, wire(empty))
    assert (report.applied, report.skipped, report.conflicts, report.cursor) == ((), (), (), 3)
    centre_a.record_issue(card("RB0000004", "NIN-0004", at=T0 + timedelta(hours=1)))
    report = sync(centre_a, central, A)
    assert (numbers(report.applied), report.cursor) == ([("issue", "RB0000004")], 4)
    # An older batch re-sent later neither fails nor moves the cursor back.
    assert apply(central, wire(export_changes(centre_a, centre=A, since=0)))
    assert sync_cursor(central, A) == 4


def test_batches_in_chunks_with_limit(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    seen: list[str] = []
    cursor = 0
    while True:
        batch = export_changes(centre_a, centre=A, since=cursor, limit=2)
        if not batch.events:
            break
        report = apply(central, wire(batch))
        seen += [c.document_number for c in report.applied]
        cursor = report.cursor
    assert seen == ["RB0000001", "RB0000002", "RB0000003"]
    assert cursor == 3


def test_a_gap_is_refused_so_no_event_is_lost(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    late = export_changes(centre_a, centre=A, since=2)  # events 1 and 2 never reached the central
    with pytest.raises(SyncGapError) as info:
        apply(central, wire(late))
    assert info.value.code == "sync_gap"
    assert "since=0" in str(info.value)
    assert central.active_for("NIN-0003") is None
    assert sync_cursor(central, A) == 0


# --- revocations and supersessions made at the centre ---------------------------------------------


def test_revocation_after_the_first_sync_propagates(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    lost_at = T0 + timedelta(days=1, microseconds=7)
    centre_a.revoke("RB0000002", "lost", now=lost_at)

    report = sync(centre_a, central, A)
    assert numbers(report.applied) == [("revocation", "RB0000002")]
    assert (report.skipped, report.conflicts, report.cursor) == ((), (), 4)
    got = central.get("RB0000002")
    assert (got.status, got.revocation_reason, got.revoked_at) == ("revoked", "lost", lost_at)
    assert [(e.event, e.at) for e in central.history("NIN-0002")] == [
        ("issue", T0 + timedelta(minutes=2)),
        ("revocation", lost_at),
    ]
    again = sync(centre_a, central, A, since=3)
    assert (again.applied, numbers(again.skipped)) == ((), [("revocation", "RB0000002")])


def test_replacement_at_the_centre_supersedes_at_the_central(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    at = T0 + timedelta(days=2)
    centre_a.replace("RB0000001", card("RB0000009", "NIN-0001", at=at, centre_code=A), now=at)

    report = sync(centre_a, central, A)
    assert numbers(report.applied) == [("revocation", "RB0000001"), ("replacement", "RB0000009")]
    assert central.get("RB0000001").revocation_reason == "replaced"
    new = central.active_for("NIN-0001")
    assert new is not None and (new.document_number, new.replaces) == ("RB0000009", "RB0000001")
    assert [e.event for e in central.history("NIN-0001")] == ["issue", "revocation", "replacement"]


def test_issued_and_revoked_before_any_sync(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    centre_a.record_issue(card("RB0000001", "NIN-0001", at=T0, centre_code=A))
    centre_a.revoke("RB0000001", "stolen", now=T0 + timedelta(hours=3))
    report = sync(centre_a, central, A)
    assert numbers(report.applied) == [("issue", "RB0000001"), ("revocation", "RB0000001")]
    assert central.get("RB0000001") == centre_a.get("RB0000001")
    assert central.active_for("NIN-0001") is None


# --- conflicts: reported, stored, nothing lost --------------------------------------------------


def test_same_holder_at_two_centres_is_a_stored_conflict(
    centre_a: IssuanceRegistry, centre_b: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    theirs = card("CA0000001", "NIN-0002", at=T0 + timedelta(hours=5), centre_code=B)
    centre_b.record_issue(theirs)
    centre_b.record_issue(card("CA0000002", "NIN-0042", at=T0 + timedelta(hours=6), centre_code=B))

    report = sync(centre_b, central, B)
    assert numbers(report.applied) == [("issue", "CA0000002")]  # the rest of the batch goes in
    (conflict,) = report.conflicts
    assert conflict.kind == "holder_has_active_card"
    assert (conflict.document_number, conflict.central_document_number) == (
        "CA0000001",
        "RB0000002",
    )
    assert (conflict.holder_identifier, conflict.incoming_centre, conflict.central_centre) == (
        "NIN-0002",
        B,
        A,
    )
    assert (conflict.centre, conflict.seq, conflict.event) == (B, 1, "issue")
    assert conflict.incoming == theirs
    assert conflict.central == central.get("RB0000002")
    assert (conflict.detected_at, conflict.already_recorded) == (SYNCED, False)
    assert report.cursor == 2

    # Nothing lost: the central card stays active, the incoming one is kept in sync_conflicts.
    active = central.active_for("NIN-0002")
    assert active is not None and active.document_number == "RB0000002"
    stored = list_conflicts(central, holder_identifier="NIN-0002")
    assert stored == (dataclasses.replace(conflict, already_recorded=True),)
    assert list_conflicts(central, holder_identifier="NIN-0001") == ()

    # Re-sending reports it again, marked as already recorded, and stores no second row.
    again = sync(centre_b, central, B, since=0)
    assert [(c.kind, c.already_recorded) for c in again.conflicts] == [
        ("holder_has_active_card", True)
    ]
    assert numbers(again.skipped) == [("issue", "CA0000002")]
    assert len(list_conflicts(central)) == 1


def test_same_document_number_with_other_content_is_a_conflict(
    centre_a: IssuanceRegistry, centre_b: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    clash = card("RB0000003", "NIN-0777", at=T0, centre_code=B)
    centre_b.record_issue(clash)
    (conflict,) = sync(centre_b, central, B).conflicts
    assert (conflict.kind, conflict.document_number, conflict.central_document_number) == (
        "document_number_reused",
        "RB0000003",
        "RB0000003",
    )
    assert central.get("RB0000003").holder_identifier == "NIN-0003"
    assert central.active_for("NIN-0777") is None
    assert list_conflicts(central)[0].incoming == clash

    # A later revocation of that number at centre B must not revoke the central's other card.
    centre_b.revoke("RB0000003", "lost", now=T0 + timedelta(days=1))
    report = sync(centre_b, central, B)
    assert [c.kind for c in report.conflicts] == ["document_number_reused"]
    assert central.get("RB0000003").status == "active"


def test_revocation_of_a_conflicted_card_is_kept_too(
    centre_a: IssuanceRegistry, centre_b: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    centre_b.record_issue(card("CA0000001", "NIN-0001", at=T0, centre_code=B))
    sync(centre_b, central, B)
    centre_b.revoke("CA0000001", "fraud", now=T0 + timedelta(days=1))
    centre_b.record_issue(card("CA0000002", "NIN-0001", at=T0 + timedelta(days=2), centre_code=B))

    report = sync(centre_b, central, B)
    assert [(c.kind, c.event, c.document_number) for c in report.conflicts] == [
        ("unknown_card", "revocation", "CA0000001"),
        ("holder_has_active_card", "issue", "CA0000002"),
    ]
    assert report.conflicts[0].central is None
    assert report.conflicts[0].incoming.revocation_reason == "fraud"
    assert [c.document_number for c in list_conflicts(central, holder_identifier="NIN-0001")] == [
        "CA0000001",
        "CA0000001",
        "CA0000002",
    ]


def test_revoked_differently_at_the_central_is_a_conflict(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    central.revoke("RB0000001", "fraud", now=T0 + timedelta(days=1))
    centre_a.revoke("RB0000001", "lost", now=T0 + timedelta(days=2))
    (conflict,) = sync(centre_a, central, A).conflicts
    assert conflict.kind == "revoked_differently"
    assert conflict.central is not None and conflict.central.revocation_reason == "fraud"
    assert central.get("RB0000001").revocation_reason == "fraud"


def test_successor_to_a_card_superseded_at_the_central_is_a_conflict(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    sync(centre_a, central, A)
    at = T0 + timedelta(days=1)
    central.renew("RB0000001", card("HQ0000001", "NIN-0001", at=at, centre_code="HQ"), now=at)
    centre_a.revoke("RB0000001", "lost", now=at + timedelta(hours=1))
    later = at + timedelta(hours=2)
    centre_a.replace("RB0000001", card("RB0000010", "NIN-0001", at=later, centre_code=A), now=later)
    report = sync(centre_a, central, A)
    assert [(c.kind, c.document_number) for c in report.conflicts] == [
        ("revoked_differently", "RB0000001"),
        ("card_superseded", "RB0000010"),
    ]
    assert report.conflicts[1].central_document_number == "HQ0000001"
    active = central.active_for("NIN-0001")
    assert active is not None and active.document_number == "HQ0000001"


@pytest.mark.parametrize("caught_by", ["registry_check", "database_constraint"])
def test_a_racing_writer_rolls_the_whole_batch_back(
    centre_a: IssuanceRegistry,
    central: IssuanceRegistry,
    monkeypatch: pytest.MonkeyPatch,
    caught_by: str,
) -> None:
    """If another writer slips a card in after sync's own check, the registry's re-check or the
    database's constraint stops the insert; the batch is one transaction, so nothing stays."""
    issue_three(centre_a)
    central.record_issue(card("HQ0000003", "NIN-0003", at=T0, centre_code="HQ"))
    monkeypatch.setattr(_sync._Applier, "_active", lambda self, holder: None)  # a missed check
    if caught_by == "database_constraint":
        monkeypatch.setattr(central, "_check_new", lambda tx, new: None)
    with pytest.raises(RegistryBusyError) as info:
        sync(centre_a, central, A)
    assert "send it again" in str(info.value)
    assert central.active_for("NIN-0001") is None  # applied before the failure, rolled back
    assert sync_cursor(central, A) == 0
    assert list_conflicts(central) == ()


# --- integrity of the batch ---------------------------------------------------------------------


def test_a_tampered_batch_is_refused(centre_a: IssuanceRegistry, central: IssuanceRegistry) -> None:
    issue_three(centre_a)
    batch = export_changes(centre_a, centre=A, since=0)
    data: dict[str, Any] = json.loads(json.dumps(batch.to_json()))
    data["cards"][0]["holder_identifier"] = "NIN-9999"
    data["events"][0]["holder_identifier"] = "NIN-9999"
    with pytest.raises(SyncBatchTamperedError) as info:
        SyncBatch.from_json(data)
    assert info.value.code == "sync_batch_tampered"

    with pytest.raises(SyncBatchTamperedError):  # a changed value keeps the old hash
        dataclasses.replace(batch, until=2, events=batch.events[:2])

    # Altered after it was signed: the JSON inside the signature no longer matches it.
    message = _cose.decode(wire(batch), DEFAULT_LIMITS)
    forged = message.payload.replace(b'"NIN-0001"', b'"NIN-9999"')
    assert forged != message.payload
    signed = _cose.encode(message.protected, {}, forged, message.signature)
    with pytest.raises(SyncBatchSignatureError) as signature:
        apply(central, signed)
    assert (signature.value.code, signature.value.category) == (
        "sync_batch_signature_invalid", "invalid")
    assert central.active_for("NIN-0001") is None
    assert central.active_for("NIN-9999") is None
    assert sync_cursor(central, A) == sync_cursor(central, B) == 0


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.update(version=1), "version 2"),
        (lambda d: d.update(format="other"), "cardlib-sync"),
        (lambda d: d.pop("cards"), "malformed"),
        (lambda d: d["cards"][0].update(kid="zz"), "malformed"),
        (lambda d: d["cards"][0].update(issued_at="2026-03-02T08:15:30"), "malformed"),
        (lambda d: d["events"][0].update(event="erase"), "malformed"),
        (lambda d: d.update(since=-1), "inconsistent"),
        (lambda d: d["events"].reverse(), "inconsistent"),
        (lambda d: d["cards"].pop(), "inconsistent"),
    ],
    ids=[
        "version",
        "format",
        "missing-cards",
        "bad-hex",
        "naive-time",
        "unknown-event",
        "negative-since",
        "out-of-order",
        "missing-card",
    ],
)
def test_a_malformed_batch_is_refused(centre_a: IssuanceRegistry, change: Any, needle: str) -> None:
    issue_three(centre_a)
    data: dict[str, Any] = json.loads(
        json.dumps(export_changes(centre_a, centre=A, since=0).to_json())
    )
    change(data)
    with pytest.raises(SyncBatchInvalidError) as info:
        SyncBatch.from_json(data)
    assert info.value.code == "sync_batch_invalid"
    assert needle in str(info.value)


def test_export_and_apply_on_either_backend(central: IssuanceRegistry, tmp_path: Path) -> None:
    """The export query runs on PostgreSQL too (a node of the central can feed another)."""
    central.record_issue(card("HQ0000001", "NIN-0001", at=T0, centre_code="HQ"))
    central.revoke("HQ0000001", "lost", now=T0 + timedelta(seconds=1))
    at = T0 + timedelta(seconds=2)
    central.replace("HQ0000001", card("HQ0000002", "NIN-0001", at=at, centre_code="HQ"), now=at)
    with open_registry(tmp_path / "mirror.db", create=True) as mirror:
        report = apply(mirror, wire(export_changes(central, centre="HQ", since=0)), now=at)
        assert [c.event for c in report.applied] == ["issue", "revocation", "replacement"]
        assert mirror.history("NIN-0001") == central.history("NIN-0001")
        assert mirror.get("HQ0000002") == central.get("HQ0000002")


# --- arguments, errors and the public surface ----------------------------------------------------


def test_arguments_are_checked(centre_a: IssuanceRegistry) -> None:
    with pytest.raises(RegistryInputError):
        export_changes(centre_a, centre=A, since=-1)
    with pytest.raises(RegistryInputError):
        export_changes(centre_a, centre=" ", since=0)
    with pytest.raises(RegistryInputError):
        export_changes(centre_a, centre=A, since=0, limit=0)
    batch = export_changes(centre_a, centre=A, since=0)
    with pytest.raises(RegistryInputError):
        apply(centre_a, wire(batch), now=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(RegistryInputError):  # an unsigned batch is not accepted at all
        apply(centre_a, batch)  # type: ignore[arg-type]
    with pytest.raises(RegistryInputError):
        sign_changes(cast(Any, batch.to_json()), SIGNERS[A])
    with pytest.raises(SyncUnsupportedError) as info:
        export_changes(cast(IssuanceRegistry, object()), centre=A, since=0)
    assert info.value.code == "sync_registry_unsupported"


def test_error_classes_and_codes() -> None:
    expected = {
        SyncError: "sync_error",
        SyncBatchInvalidError: "sync_batch_invalid",
        SyncBatchTamperedError: "sync_batch_tampered",
        SyncGapError: "sync_gap",
        SyncUnsupportedError: "sync_registry_unsupported",
        SyncBatchSignatureError: "sync_batch_signature_invalid",
        SyncSignerUntrustedError: "sync_signer_untrusted",
        SyncForeignCardError: "sync_batch_foreign_card",
    }
    for cls, code in expected.items():
        assert cls.code == code
        assert issubclass(cls, RegistryError) and issubclass(cls, CardError)
    assert issubclass(SyncBatchInvalidError, ValueError)
    assert issubclass(SyncBatchTamperedError, ValueError)
    assert CONFLICT_KINDS == (
        "document_number_reused",
        "holder_has_active_card",
        "unknown_card",
        "card_superseded",
        "revoked_differently",
        "supersedes_other_centre",
    )


def test_every_name_in_all_exists() -> None:
    for name in _sync.__all__:
        assert hasattr(_sync, name), name
    assert sorted(_sync.__all__) == sorted(set(_sync.__all__))


# --- the batch carries its own proof (issue 9, item 7) --------------------------------------------


def test_a_centre_sends_only_its_own_cards(tmp_path: Path, central: IssuanceRegistry) -> None:
    """A registry holding two centres' cards: `sync --centre A` sends A's cards and events only
    (before, it sent B's too, and the central took them on A's word)."""
    with open_registry(tmp_path / "shared.db", create=True) as shared:
        shared.record_issue(card("RB0000001", "NIN-0001", at=T0, centre_code=A))
        shared.record_issue(card("CA0000001", "NIN-0002", at=T0 + timedelta(minutes=1),
                                 centre_code=B))
        shared.record_issue(card("RB0000002", "NIN-0003", at=T0 + timedelta(minutes=2),
                                 centre_code=A))
        shared.revoke("CA0000001", "stolen", now=T0 + timedelta(hours=1))

        batch = export_changes(shared, centre=A, since=0)
        assert [c.document_number for c in batch.cards] == ["RB0000001", "RB0000002"]
        assert [(e.seq, e.document_number) for e in batch.events] == [
            (1, "RB0000001"), (3, "RB0000002")]
        assert {c.centre_code for c in batch.cards} == {A}
        report = apply(central, wire(batch))
        assert numbers(report.applied) == [("issue", "RB0000001"), ("issue", "RB0000002")]
        assert report.cursor == 3
        assert central.active_for("NIN-0002") is None  # B's card did not come with A's batch
        with pytest.raises(CardError):
            central.get("CA0000001")

        theirs = apply(central, wire(export_changes(shared, centre=B, since=0)))
        assert numbers(theirs.applied) == [("issue", "CA0000001"), ("revocation", "CA0000001")]
        assert theirs.signer_kid == KID[B]
        assert central.get("CA0000001").revocation_reason == "stolen"


def test_a_batch_holding_another_centres_card_is_refused_whole(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    honest = export_changes(centre_a, centre=A, since=0)
    theirs = card("CA0000009", "NIN-0009", at=T0, centre_code=B)
    events = (*honest.events, dataclasses.replace(honest.events[0], seq=4,
                                                  document_number="CA0000009",
                                                  holder_identifier="NIN-0009"))
    smuggled = SyncBatch(centre=A, since=0, until=4, cards=(*honest.cards, theirs),
                         events=events)
    with pytest.raises(SyncForeignCardError) as info:
        apply(central, wire(smuggled))
    assert (info.value.code, info.value.category) == ("sync_batch_foreign_card", "invalid")
    assert "CA0000009" in str(info.value) and B in str(info.value)

    # A card in A's name but signed by B's key is not A's either.
    posing = card("RB0000009", "NIN-0009", at=T0, centre_code=A, kid=KID[B])
    events = (*honest.events, dataclasses.replace(honest.events[0], seq=4,
                                                  document_number="RB0000009",
                                                  holder_identifier="NIN-0009"))
    with pytest.raises(SyncForeignCardError) as info:
        apply(central, wire(SyncBatch(centre=A, since=0, until=4,
                                      cards=(*honest.cards, posing), events=events)))
    assert KID[B].hex() in str(info.value)

    # Nothing of either batch was applied, not even A's own three cards.
    assert [central.active_for(f"NIN-000{i}") for i in (1, 2, 3, 9)] == [None] * 4
    assert (sync_cursor(central, A), list_conflicts(central)) == (0, ())
    assert numbers(apply(central, wire(honest)).applied) == [
        ("issue", f"RB000000{i}") for i in range(1, 4)]


def test_a_batch_signed_for_another_centre_or_by_an_untrusted_key_is_refused(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    batch = export_changes(centre_a, centre=A, since=0)
    other_root_key = PrivateKey.generate("EdDSA")
    other_root = create_root("Another root", other_root_key, now=PKI_START, days=3650)
    stranger_key = PrivateKey.generate("EdDSA")
    stranger = CertifiedSigner(stranger_key, certify_centre(
        other_root_key, other_root, stranger_key.public_key, centre_code=A,
        not_before=PKI_START, not_after=PKI_START + timedelta(days=365)))
    unlisted = _certified(A)  # the root's, but not in the trust list
    cases: list[tuple[bytes, TrustList, datetime, str]] = [
        (wire(batch, SIGNERS[B]), TRUST, SYNCED, f"centre {B!r}"),  # B signs A's batch
        (wire(batch, stranger), TRUST, SYNCED, "not a centre certificate in the trust list"),
        (wire(batch, unlisted), TRUST, SYNCED, "not a centre certificate in the trust list"),
        (sign_changes(batch, SIGNERS[A].key), TRUST, SYNCED, "not a centre certificate"),
        (wire(batch), trust_list_of(*SIGNERS.values(), revoked={
            KID[A]: KeyRevocation(SYNCED - timedelta(days=1), "compromised")}), SYNCED,
         "revoked"),
        (wire(batch), TRUST, PKI_START + timedelta(days=400), "due for an update"),
        (wire(batch), trust_list_of(*SIGNERS.values(), next_update=PKI_START
                                    + timedelta(days=4000)), PKI_START + timedelta(days=2000),
         "cannot sign now"),  # the centre certificate expired
    ]
    for signed, trust, now, needle in cases:
        with pytest.raises(SyncSignerUntrustedError) as info:
            apply(central, signed, trust=trust, now=now)
        assert (info.value.code, info.value.category) == ("sync_signer_untrusted", "invalid")
        assert needle in str(info.value), (needle, str(info.value))
    assert central.active_for("NIN-0001") is None
    assert sync_cursor(central, A) == 0


def test_an_unsigned_or_damaged_batch_is_refused(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    issue_three(centre_a)
    batch = export_changes(centre_a, centre=A, since=0)
    good = _cose.decode(wire(batch), DEFAULT_LIMITS)
    impostor = PrivateKey.generate("EdDSA")  # claims A's kid, signs with its own key
    forged_signature = impostor.sign(_cose.sig_structure(good.protected, good.payload))
    other_type = _cose.encode_header({1: -8, 3: "application/json", 4: KID[A]})
    for signed in (
        json.dumps(batch.to_json()).encode(),  # the unsigned JSON of version 1
        b"",
        wire(batch)[:-3],
        _cose.encode(good.protected, {}, good.payload, forged_signature),
        _cose.encode(other_type, {}, good.payload, good.signature),
    ):
        with pytest.raises(SyncBatchSignatureError):
            apply(central, signed)
    assert open_changes(wire(batch), trust_list=TRUST, now=SYNCED).batch == batch
    assert central.active_for("NIN-0001") is None


def test_a_successor_to_another_centres_card_is_a_stored_conflict(
    tmp_path: Path, central: IssuanceRegistry
) -> None:
    """A's batch never carries B's card; so A's replacement of it is not applied on A's word
    (it would revoke B's card) but kept as a conflict for the central to decide."""
    with open_registry(tmp_path / "shared.db", create=True) as shared:
        shared.record_issue(card("CA0000001", "NIN-0001", at=T0, centre_code=B))
        sync(shared, central, B)
        at = T0 + timedelta(days=1)
        shared.replace("CA0000001", card("RB0000001", "NIN-0001", at=at, centre_code=A),
                       now=at)
        batch = export_changes(shared, centre=A, since=0)
        assert [c.document_number for c in batch.cards] == ["RB0000001"]
        report = apply(central, wire(batch))
    (conflict,) = report.conflicts
    assert (conflict.kind, conflict.document_number, conflict.central_document_number) == (
        "supersedes_other_centre", "RB0000001", "CA0000001")
    assert central.get("CA0000001").status == "active"
    assert list_conflicts(central)[0].kind == "supersedes_other_centre"


def test_the_sync_tables_are_a_migration(central_backend: Backend) -> None:
    """A fresh registry has the sync tables before any sync (migration 3)."""
    with central_backend.create() as reg:
        assert reg.schema_version == LATEST
        assert sync_cursor(reg, A) == 0 and list_conflicts(reg) == ()
    assert {"sync_conflicts", "sync_cursors"} <= central_backend.tables()
    versions = central_backend.execute("SELECT version, description FROM schema_version", ())
    assert (3, "sync: conflicts and cursors") in versions


def test_a_version_2_database_with_sync_rows_migrates(
    central_backend: Backend, centre_a: IssuanceRegistry
) -> None:
    """A central registry at version 2 whose sync tables the old code created on its first sync
    keeps its cursors and stored conflicts through migrations 3 to 5, and syncs on."""
    execute = central_backend.execute
    execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
            "description TEXT NOT NULL)", ())
    for step in central_backend.migrations[:2]:
        for statement in step.statements:
            execute(statement, ())
        execute("INSERT INTO schema_version VALUES (?, ?)", (step.version, step.description))
    time, serial = ("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT") \
        if central_backend.name == "sqlite" else (
            "TIMESTAMPTZ", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    from cardlib.store._registry import sync_tables_sql

    for statement in sync_tables_sql(text_time=time, serial=serial):  # as the old _prepare did
        execute(statement.replace(" IF NOT EXISTS", ""), ())
    stamp = "2026-03-04T10:00:00.000000+00:00"
    execute("INSERT INTO sync_cursors (centre, last_seq, batch_sha256, applied_at) "
            "VALUES (?, 2, 'old', ?)", (A, stamp))
    incoming = card("RB0000001", "NIN-0001", at=T0, centre_code=A)
    event = {"seq": 1, "event": "issue", "document_number": "RB0000001",
             "holder_identifier": "NIN-0001", "at": _sync._time_json(T0), "reason": None,
             "replaces": None}
    execute("INSERT INTO sync_conflicts (fingerprint, kind, centre, seq, event, document_number, "
            "holder_identifier, incoming_centre, incoming_event, incoming_card, batch_sha256, "
            "detected_at) VALUES ('f1', 'unknown_card', ?, 1, 'issue', 'RB0000001', 'NIN-0001', "
            "?, ?, ?, 'old', ?)",
            (A, A, _sync._dumps(event), _sync._dumps(_sync._card_json(incoming)), stamp))

    with central_backend.open() as reg:
        assert reg.schema_version == LATEST
        assert sync_cursor(reg, A) == 2
        (kept,) = list_conflicts(reg)
        assert (kept.kind, kept.incoming, kept.detected_at) == (
            "unknown_card", incoming, datetime.fromisoformat(stamp))
        versions = [row[0] for row in central_backend.execute(
            "SELECT version FROM schema_version ORDER BY version", ())]
        assert versions == list(range(1, LATEST + 1))
        issue_three(centre_a)  # the centre's events 1 and 2 reached the central before
        report = sync(centre_a, reg, A)
        assert (numbers(report.applied), report.cursor) == ([("issue", "RB0000003")], 3)


@pytest.mark.parametrize("case", ["compromised", "superseded_after", "before_window"])
def test_a_card_its_own_key_no_longer_vouches_for_is_refused(
        centre_a: IssuanceRegistry, central: IssuanceRegistry, case: str) -> None:
    """The batch is signed by the centre's current key, but a card in it carries the kid of a
    key a verifier would refuse for it: the whole batch is refused, nothing is recorded."""
    old = _certified(A)
    revoked_at = T0 - timedelta(days=1)
    reason: Literal["compromised", "superseded"] = (
        "compromised" if case == "compromised" else "superseded")
    trust = trust_list_of(*SIGNERS.values(), old,
                          revoked={old.kid: KeyRevocation(revoked_at, reason)})
    at = {"compromised": T0 - timedelta(days=2), "superseded_after": T0,
          "before_window": PKI_START - timedelta(days=1)}[case]
    centre_a.record_issue(card("RB0000009", "NIN-0009", at=at, kid=old.kid))
    signed = wire(export_changes(centre_a, centre=A, since=0))
    if case == "before_window":  # a key whose window the card falls outside, unrevoked
        trust = trust_list_of(*SIGNERS.values(), old)
    with pytest.raises(SyncSignerUntrustedError, match="RB0000009"):
        apply(central, signed, trust=trust)
    assert sync_cursor(central, A) == 0


# --- holders' access codes travel as hashes (batch version 3) ------------------------------------


def test_access_codes_reach_the_central_as_hashes_and_the_later_one_wins(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    first = generate_access_code()
    centre_a.record_issue(card("RB0000001", "NIN-0001"), access_code=first)
    batch = export_changes(centre_a, centre=A, since=0)
    assert [c.holder_identifier for c in batch.access_codes] == ["NIN-0001"]
    text = json.dumps(batch.to_json())
    assert batch.version == 3 and '"access_codes"' in text
    assert first not in text and first.replace("-", "") not in text  # only the hash travels
    report = apply(central, wire(batch))
    assert (report.access_codes_applied, report.access_codes_skipped) == (("NIN-0001",), ())
    assert central.check_access_code("NIN-0001", first)
    again = apply(central, wire(batch))  # sent again: harmless
    assert (again.access_codes_applied, again.access_codes_skipped) == ((), ("NIN-0001",))

    # A reset at the centre, with no new event: the next batch (same since) carries it.
    second = centre_a.new_access_code("NIN-0001", centre_code=A, now=T0 + timedelta(hours=1))
    later = export_changes(centre_a, centre=A, since=sync_cursor(central, A))
    assert (later.events, len(later.access_codes)) == ((), 1)
    assert apply(central, wire(later)).access_codes_applied == ("NIN-0001",)
    assert central.check_access_code("NIN-0001", second)
    assert not central.check_access_code("NIN-0001", first)

    # The older batch arrives late: the later code stays.
    stale = apply(central, wire(batch))
    assert stale.access_codes_skipped == ("NIN-0001",)
    assert central.check_access_code("NIN-0001", second)

    # A reset at the central, later than the centre's code, is not overwritten by it either.
    third = central.new_access_code("NIN-0001", centre_code="HQ", now=T0 + timedelta(hours=2))
    assert apply(central, wire(later)).access_codes_skipped == ("NIN-0001",)
    assert central.check_access_code("NIN-0001", third)


def test_codes_follow_the_event_order_across_limited_batches(
    centre_a: IssuanceRegistry, central: IssuanceRegistry, centre_b: IssuanceRegistry
) -> None:
    """A batch cut by ``limit`` holds the codes set up to its last event; the next ones pick up
    the rest; another centre's code is never sent."""
    for i in range(1, 4):  # a code with each card: after_seq 1, 2, 3
        centre_a.record_issue(card(f"RB000000{i}", f"NIN-000{i}", at=T0 + timedelta(minutes=i)),
                              access_code=generate_access_code())
    theirs = generate_access_code()
    centre_b.record_issue(card("CB0000001", "NIN-0009", centre_code=B), access_code=theirs)
    sent: list[list[str]] = []
    while True:
        batch = export_changes(centre_a, centre=A, since=sync_cursor(central, A), limit=1)
        sent.append([c.holder_identifier for c in batch.access_codes])
        apply(central, wire(batch))
        if not batch.events:
            break
    assert sent == [["NIN-0001"], ["NIN-0001", "NIN-0002"], ["NIN-0002", "NIN-0003"],
                    ["NIN-0003"]]
    assert not central.check_access_code("NIN-0009", theirs)  # centre B's code stayed at B


def test_a_code_set_by_another_centre_refuses_the_batch(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    centre_a.record_issue(card("RB0000001", "NIN-0001"), access_code=generate_access_code())
    batch = export_changes(centre_a, centre=A, since=0)
    (code,) = batch.access_codes
    posing = SyncBatch(centre=A, since=0, until=batch.until, cards=batch.cards,
                       events=batch.events,
                       access_codes=(dataclasses.replace(code, centre_code=B),))
    with pytest.raises(SyncForeignCardError, match="access code"):
        apply(central, wire(posing))
    assert central.active_for("NIN-0001") is None  # nothing of the batch was applied


@pytest.mark.parametrize(("change", "needle"), [
    (lambda c: c.update(n=1000), "malformed"),  # not a power of two
    (lambda c: c.update(n=1 << 30), "malformed"),  # a cost that would exhaust the central
    (lambda c: c.update(algorithm="md5"), "malformed"),
    (lambda c: c.update(salt="00"), "malformed"),
    (lambda c: c.pop("digest"), "malformed"),
], ids=["n-not-power-of-two", "n-too-large", "algorithm", "short-salt", "no-digest"])
def test_a_malformed_code_record_refuses_the_batch(
    centre_a: IssuanceRegistry, change: Any, needle: str
) -> None:
    centre_a.record_issue(card("RB0000001", "NIN-0001"), access_code=generate_access_code())
    data: dict[str, Any] = json.loads(json.dumps(export_changes(centre_a, centre=A,
                                                                since=0).to_json()))
    change(data["access_codes"][0])
    with pytest.raises(SyncBatchInvalidError, match=needle):
        SyncBatch.from_json(data)


def test_a_version_2_batch_is_still_applied(
    centre_a: IssuanceRegistry, central: IssuanceRegistry
) -> None:
    """A centre still on version 2 (no access codes): its batch is read and applied."""
    issue_three(centre_a)
    current = export_changes(centre_a, centre=A, since=0)
    old = SyncBatch(centre=A, since=0, until=current.until, cards=current.cards,
                    events=current.events, version=2)
    body = old.to_json()
    assert body["version"] == 2 and "access_codes" not in body
    assert old.content_sha256 != current.content_sha256
    report = apply(central, wire(old))
    assert len(report.applied) == 3 and report.access_codes_applied == ()
    code = AccessCodeRecord.create("NIN-0001", generate_access_code(), centre_code=A,
                                   set_at=T0, cost=ScryptCost(1 << 10, 8, 1))
    with pytest.raises(SyncBatchInvalidError, match="version 2"):
        dataclasses.replace(old, access_codes=(code,))
