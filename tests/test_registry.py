"""The issuance registry: one suite, run against SQLite and PostgreSQL.

The ``backend`` fixture gives a fresh, empty database: an SQLite file under ``tmp_path`` (not yet
created), or a PostgreSQL schema created for the test and dropped afterwards
(``CARDLIB_TEST_POSTGRES``; CI sets it, a laptop without it skips). ``backend.create()`` creates
the registry there (``cardlib registry init``), ``backend.open()`` opens an existing one.
``backend.execute`` runs raw SQL beside the registry, to build old databases by hand and to
check that the database itself holds the rules.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cardlib._errors import CardError
from cardlib.store import _registry
from cardlib.store._registry import (
    CardNotActiveError,
    CardNotFoundError,
    CardSupersededError,
    DocumentNumberReusedError,
    HolderHasActiveCardError,
    HolderMismatchError,
    IssuanceRegistry,
    IssuedCard,
    Migration,
    RegistryError,
    RegistryInputError,
    RegistryNotFoundError,
    RegistryNotOursError,
    RegistryUnavailableError,
    SchemaTooNewError,
    SqlRegistry,
    open_registry,
)

from .conftest import postgres_schema

NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
LATEST = 5

Execute = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Backend:
    name: str
    url: str | Path
    execute: Execute  # raw SQL, committed at once; ``?`` placeholders on both backends
    migrations: tuple[Migration, ...]
    cls: type[SqlRegistry]

    def open(self) -> IssuanceRegistry:
        return open_registry(self.url)

    def create(self) -> IssuanceRegistry:
        return open_registry(self.url, create=True)

    def tables(self) -> set[str]:
        if self.name == "sqlite":
            rows = self.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite%'", ())
        else:
            rows = self.execute("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = current_schema()", ())
        return {str(row[0]) for row in rows}


def _sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    from cardlib.store import _sqlite

    path = tmp_path / "registry.db"

    def execute(sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(path)) as conn, conn:
            return conn.execute(sql, tuple(params)).fetchall()

    yield Backend("sqlite", path, execute, _sqlite.MIGRATIONS, _sqlite.SqliteRegistry)


def _postgres_backend() -> Iterator[Backend]:
    with postgres_schema("cardlib_test") as (admin, scoped):
        from cardlib.store import _postgres

        def execute(sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
            cursor = admin.execute(sql.replace("?", "%s"), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

        yield Backend(
            "postgres", scoped, execute, _postgres.MIGRATIONS, _postgres.PostgresRegistry
        )


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from _sqlite_backend(tmp_path)
    else:
        yield from _postgres_backend()


@pytest.fixture
def registry(backend: Backend) -> Iterator[IssuanceRegistry]:
    with backend.create() as opened:
        yield opened


def card(number: str, holder: str = "NIN-0001", *, at: datetime = NOW, **kw: Any) -> IssuedCard:
    return IssuedCard(
        document_number=number,
        holder_identifier=holder,
        centre_code=kw.pop("centre_code", "RBT-01"),
        kid=kw.pop("kid", b"\x01\x02\x03\x04\x05\x06\x07\x08"),
        issued_at=at,
        expires_at=at + timedelta(days=3650),
        payload_sha256=hashlib.sha256(f"payload {number}".encode()).digest(),
        **kw,
    )


def events(reg: IssuanceRegistry, holder: str = "NIN-0001") -> list[tuple[str, str, str | None]]:
    return [(e.event, e.document_number, e.reason) for e in reg.history(holder)]


# --- recording and reading ----------------------------------------------------------------------


def test_record_and_get(registry: IssuanceRegistry) -> None:
    issued = card("AB0000001")
    assert registry.record_issue(issued) == issued
    got = registry.get("AB0000001")
    assert got == issued
    assert got.issued_at.utcoffset() == timedelta(0)
    assert registry.active_for("NIN-0001") == issued
    assert registry.active_for("NIN-9999") is None
    [event] = registry.history("NIN-0001")
    assert (event.event, event.document_number, event.at) == ("issue", "AB0000001", NOW)
    assert registry.schema_version == LATEST


def test_unknown_card(registry: IssuanceRegistry) -> None:
    with pytest.raises(CardNotFoundError) as info:
        registry.get("XX0000000")
    assert info.value.code == "card_not_found"
    assert isinstance(info.value, LookupError)
    assert registry.history("NIN-0001") == ()


def test_document_number_never_reused(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    with pytest.raises(DocumentNumberReusedError) as info:
        registry.record_issue(card("AB0000001", "NIN-0002"))
    assert info.value.code == "document_number_reused"
    registry.revoke("AB0000001", "lost", now=NOW + timedelta(days=1))
    with pytest.raises(DocumentNumberReusedError):  # a revoked card keeps its number forever
        registry.record_issue(card("AB0000001", "NIN-0002"))
    with pytest.raises(DocumentNumberReusedError):
        registry.record_issue(card("AB0000001"))
    assert registry.active_for("NIN-0002") is None
    assert registry.history("NIN-0002") == ()


def test_one_active_card_per_holder(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    with pytest.raises(HolderHasActiveCardError) as info:
        registry.record_issue(card("AB0000002"))
    assert info.value.code == "holder_has_active_card"
    assert "AB0000001" in str(info.value)
    with pytest.raises(CardNotFoundError):
        registry.get("AB0000002")
    registry.revoke("AB0000001", "stolen", now=NOW + timedelta(days=2))
    fresh = card("AB0000002", at=NOW + timedelta(days=3))
    registry.record_issue(fresh)
    assert registry.active_for("NIN-0001") == fresh


def test_record_issue_takes_first_issues_only(registry: IssuanceRegistry) -> None:
    with pytest.raises(RegistryInputError):
        registry.record_issue(card("AB0000001", kind="renewal"))
    with pytest.raises(RegistryInputError):
        registry.record_issue(card("AB0000001", replaces="AB0000000"))


# --- replace, renew, correct, revoke ---------------------------------------------------------


def test_replace_revokes_the_old_card(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    later = NOW + timedelta(days=30)
    new = registry.replace("AB0000001", card("AB0000002", at=later), now=later)
    assert (new.kind, new.status, new.replaces) == ("replacement", "active", "AB0000001")
    old = registry.get("AB0000001")
    assert (old.status, old.revocation_reason, old.revoked_at) == ("revoked", "replaced", later)
    assert registry.get("AB0000002") == new
    assert registry.active_for("NIN-0001") == new
    assert events(registry) == [
        ("issue", "AB0000001", None),
        ("revocation", "AB0000001", "replaced"),
        ("replacement", "AB0000002", None),
    ]


def test_replace_is_atomic(registry: IssuanceRegistry) -> None:
    """The old card is revoked inside the transaction before the new one is inserted; when the
    insert is refused (its number collides with another holder's card) the revocation is
    rolled back with it."""
    registry.record_issue(card("AB0000001"))
    other = registry.record_issue(card("AB0000009", "NIN-0002"))
    before = events(registry)
    later = NOW + timedelta(days=30)
    with pytest.raises(DocumentNumberReusedError):
        registry.replace("AB0000001", card("AB0000009", at=later), now=later)
    assert registry.get("AB0000001") == card("AB0000001")  # still active, not "replaced"
    assert registry.active_for("NIN-0001") == card("AB0000001")
    assert registry.get("AB0000009") == other
    assert events(registry) == before


def test_database_constraints_back_the_checks(
    registry: IssuanceRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the registry's own checks switched off (as for a writer racing on another node),
    the database refuses the write and the driver's error arrives typed; nothing is written."""
    registry.record_issue(card("AB0000001"))
    registry.record_issue(card("AB0000009", "NIN-0002"))
    monkeypatch.setattr(SqlRegistry, "_check_new", lambda self, tx, new: None)
    with pytest.raises(DocumentNumberReusedError) as reused:
        registry.record_issue(card("AB0000001", "NIN-0003"))
    with pytest.raises(HolderHasActiveCardError) as active:
        registry.record_issue(card("AB0000002"))
    for info in (reused, active):
        assert not isinstance(info.value.__cause__, CardError)  # came from the driver
        assert info.value.__cause__ is not None
    later = NOW + timedelta(days=1)
    with pytest.raises(DocumentNumberReusedError):
        registry.replace("AB0000001", card("AB0000009", at=later), now=later)
    assert registry.get("AB0000001").status == "active"
    assert registry.active_for("NIN-0003") is None
    assert events(registry) == [("issue", "AB0000001", None)]


def test_the_database_itself_holds_the_rules(backend: Backend, registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    insert = (
        "INSERT INTO cards (document_number, holder_identifier, centre_code, kid, issued_at, "
        "expires_at, payload_sha256, kind, status) VALUES (?, ?, 'C', ?, "
        "'2026-01-10T09:00:00.000000+00:00', '2030-01-10T09:00:00.000000+00:00', ?, "
        "'issue', 'active')"
    )
    digest = bytes(32)
    for number, holder in (("AB0000001", "NIN-0002"), ("AB0000002", "NIN-0001")):
        with pytest.raises(Exception, match=r"(?i)unique|duplicate") as info:
            backend.execute(insert, (number, holder, b"k", digest))
        assert not isinstance(info.value, CardError)
    with pytest.raises(Exception, match=r"(?i)check"):
        backend.execute(insert, ("AB0000003", "NIN-0003", b"k", b"short"))


def test_replace_refusals(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    registry.record_issue(card("AB0000005", "NIN-0002"))
    later = NOW + timedelta(days=1)
    with pytest.raises(CardNotFoundError):
        registry.replace("XX0000000", card("AB0000002", at=later), now=later)
    with pytest.raises(HolderMismatchError) as mismatch:
        registry.replace("AB0000001", card("AB0000002", "NIN-0002", at=later), now=later)
    assert mismatch.value.code == "holder_mismatch"
    registry.replace("AB0000001", card("AB0000002", at=later), now=later)
    with pytest.raises(CardSupersededError) as superseded:
        registry.replace("AB0000001", card("AB0000003", at=later), now=later)
    assert superseded.value.code == "card_superseded"
    with pytest.raises(RegistryInputError):
        registry.replace("AB0000002", card("AB0000003"), now=datetime(2026, 2, 1))  # naive
    assert registry.active_for("NIN-0001") == registry.get("AB0000002")
    with pytest.raises(CardNotFoundError):
        registry.get("AB0000003")


def test_replace_a_lost_card(registry: IssuanceRegistry) -> None:
    """A card reported lost is revoked at once; its replacement comes later and the lost card
    keeps its own reason."""
    registry.record_issue(card("AB0000001"))
    registry.revoke("AB0000001", "lost", now=NOW + timedelta(days=5))
    later = NOW + timedelta(days=8)
    new = registry.replace("AB0000001", card("AB0000002", at=later), now=later)
    assert new.replaces == "AB0000001"
    assert registry.get("AB0000001").revocation_reason == "lost"
    assert events(registry) == [
        ("issue", "AB0000001", None),
        ("revocation", "AB0000001", "lost"),
        ("replacement", "AB0000002", None),
    ]


def test_renew_and_correct_are_recorded_with_their_kind(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    t1, t2 = NOW + timedelta(days=10), NOW + timedelta(days=3600)
    corrected = registry.correct("AB0000001", card("AB0000002", at=t1), now=t1)
    renewed = registry.renew("AB0000002", card("AB0000003", at=t2), now=t2)
    assert (corrected.kind, corrected.replaces) == ("correction", "AB0000001")
    assert (renewed.kind, renewed.replaces) == ("renewal", "AB0000002")
    assert registry.get("AB0000002").kind == "correction"
    assert registry.get("AB0000003").kind == "renewal"
    assert registry.get("AB0000001").revocation_reason == "data_correction"
    assert registry.get("AB0000002").revocation_reason == "replaced"
    assert registry.active_for("NIN-0001") == renewed


def test_revoke(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    later = NOW + timedelta(days=3)
    revoked = registry.revoke("AB0000001", "fraud", now=later)
    assert (revoked.status, revoked.revocation_reason, revoked.revoked_at) == (
        "revoked",
        "fraud",
        later,
    )
    assert registry.get("AB0000001") == revoked
    assert registry.active_for("NIN-0001") is None
    with pytest.raises(CardNotActiveError) as info:
        registry.revoke("AB0000001", "lost", now=later)
    assert info.value.code == "card_not_active"
    with pytest.raises(CardNotFoundError):
        registry.revoke("XX0000000", "lost", now=later)
    with pytest.raises(RegistryInputError):
        registry.revoke("AB0000001", "misplaced", now=later)  # type: ignore[arg-type]


def test_history_lists_every_event_in_order(registry: IssuanceRegistry) -> None:
    days = [NOW + timedelta(days=n) for n in (0, 5, 40, 3650, 3700)]
    registry.record_issue(card("AB0000001", at=days[0]))
    registry.record_issue(card("ZZ0000001", "NIN-0002"))  # another holder: not in the history
    registry.correct("AB0000001", card("AB0000002", at=days[1]), now=days[1])
    registry.replace("AB0000002", card("AB0000003", at=days[2]), now=days[2])
    registry.renew("AB0000003", card("AB0000004", at=days[3]), now=days[3])
    registry.revoke("AB0000004", "stolen", now=days[4])
    history = registry.history("NIN-0001")
    assert [(e.event, e.document_number, e.reason, e.replaces, e.at) for e in history] == [
        ("issue", "AB0000001", None, None, days[0]),
        ("revocation", "AB0000001", "data_correction", None, days[1]),
        ("correction", "AB0000002", None, "AB0000001", days[1]),
        ("revocation", "AB0000002", "replaced", None, days[2]),
        ("replacement", "AB0000003", None, "AB0000002", days[2]),
        ("revocation", "AB0000003", "replaced", None, days[3]),
        ("renewal", "AB0000004", None, "AB0000003", days[3]),
        ("revocation", "AB0000004", "stolen", None, days[4]),
    ]
    seqs = [e.seq for e in history]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert {e.holder_identifier for e in history} == {"NIN-0001"}


def test_nothing_from_the_driver_escapes_a_closed_registry(backend: Backend) -> None:
    reg = backend.create()
    reg.close()
    with pytest.raises(RegistryError):
        reg.get("AB0000001")
    with pytest.raises(RegistryError):
        reg.record_issue(card("AB0000001"))


# --- migrations ------------------------------------------------------------------------------


def test_create_then_reopen(backend: Backend) -> None:
    with backend.create() as reg:
        assert reg.created
        reg.record_issue(card("AB0000001"))
    with backend.open() as reg:  # reopening applies nothing twice
        assert reg.schema_version == LATEST and not reg.created
        assert reg.get("AB0000001") == card("AB0000001")
    with backend.create() as reg:  # init on an existing registry opens it
        assert not reg.created and reg.get("AB0000001") == card("AB0000001")
    rows = backend.execute("SELECT version, description FROM schema_version ORDER BY version", ())
    assert [row[0] for row in rows] == list(range(1, LATEST + 1))
    assert backend.execute("SELECT id, format FROM cardlib_registry", ()) == [
        (1, "cardlib-registry")]
    assert {"cards", "events", "sync_conflicts", "sync_cursors", "cardlib_registry",
            "schema_version"} <= backend.tables()


# --- nothing is created by a typo (issue 9, item 5) ----------------------------------------------


def test_open_refuses_a_missing_registry_and_creates_nothing(backend: Backend) -> None:
    """A mistyped URL never yields a new, empty registry: only create=True makes one."""
    with pytest.raises(RegistryNotFoundError) as info:
        backend.open()
    err = info.value
    assert (err.code, err.category) == ("registry_not_found", "input")
    assert isinstance(err, LookupError) and isinstance(err, RegistryError)
    assert "registry init" in str(err)
    if backend.name == "sqlite":
        assert isinstance(backend.url, Path)
        assert str(backend.url) in str(err)  # names the URL that was given
        assert not backend.url.exists()  # the typo made no file
    else:
        assert backend.tables() == set()  # and no table
    with backend.create() as reg:
        assert reg.created and reg.schema_version == LATEST


def test_open_refuses_an_empty_sqlite_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(RegistryNotFoundError):
        open_registry(empty)
    assert empty.read_bytes() == b""  # not even the journal mode was written
    with open_registry(empty, create=True) as reg:  # init may use an empty file
        assert reg.created


def test_a_database_that_is_not_ours_is_refused_and_left_unchanged(backend: Backend) -> None:
    """A table named like the registry's but no marker: someone else's database. Neither open
    nor init touches it."""
    backend.execute("CREATE TABLE cards (id INTEGER PRIMARY KEY, owner TEXT)", ())
    backend.execute("INSERT INTO cards (id, owner) VALUES (1, 'the payroll')", ())
    for opener in (backend.open, backend.create):
        with pytest.raises(RegistryNotOursError) as info:
            opener()
        assert (info.value.code, info.value.category) == ("registry_not_ours", "input")
        assert "left unchanged" in str(info.value)
    assert backend.tables() == {"cards"}
    assert backend.execute("SELECT id, owner FROM cards", ()) == [(1, "the payroll")]


def test_a_foreign_marker_or_schema_version_is_refused(backend: Backend) -> None:
    backend.execute("CREATE TABLE schema_version (version INTEGER, description TEXT)", ())
    backend.execute("INSERT INTO schema_version VALUES (1, 'somebody else')", ())
    with pytest.raises(RegistryNotOursError):
        backend.create()
    backend.execute("DROP TABLE schema_version", ())
    backend.execute("CREATE TABLE cardlib_registry (id INTEGER, format TEXT)", ())
    backend.execute("INSERT INTO cardlib_registry VALUES (1, 'not cardlib')", ())
    with pytest.raises(RegistryNotOursError) as info:
        backend.open()
    assert "marker" in str(info.value)
    assert backend.tables() == {"cardlib_registry"}


def test_an_sqlite_file_of_another_application_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "notes.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = other.read_bytes()
    for create in (False, True):
        with pytest.raises(RegistryNotOursError) as info:
            open_registry(f"sqlite:///{other}", create=create)
        assert "notes" in str(info.value)
    tagged = tmp_path / "tagged.db"
    with closing(sqlite3.connect(tagged)) as conn:
        conn.execute("PRAGMA application_id = 42")
        conn.commit()
    with pytest.raises(RegistryNotOursError) as info:
        open_registry(tagged, create=True)
    assert "application_id" in str(info.value)
    assert other.read_bytes() == before


def test_sqlite_registry_carries_the_application_id(tmp_path: Path) -> None:
    from cardlib.store._sqlite import APPLICATION_ID

    with open_registry(tmp_path / "r.db", create=True):
        pass
    with closing(sqlite3.connect(tmp_path / "r.db")) as conn:
        assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_a_postgres_schema_may_hold_other_tables() -> None:
    """A PostgreSQL schema is shared: other tables do not make it someone else's, but the
    registry is still created only by init."""
    for backend in _postgres_backend():
        backend.execute("CREATE TABLE payroll (id INTEGER)", ())
        with pytest.raises(RegistryNotFoundError):
            backend.open()
        assert backend.tables() == {"payroll"}
        with backend.create() as reg:
            assert reg.created
        with backend.open() as reg:
            assert reg.schema_version == LATEST


def test_open_upgrades_an_old_database(backend: Backend) -> None:
    """A version-1 database (cards, no history) built by hand is upgraded at open; the history
    of its cards is rebuilt from them."""
    backend.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL)", ()
    )
    for statement in backend.migrations[0].statements:
        backend.execute(statement, ())
    backend.execute("INSERT INTO schema_version VALUES (1, 'cards')", ())
    insert = (
        "INSERT INTO cards (document_number, holder_identifier, centre_code, kid, issued_at, "
        "expires_at, payload_sha256, kind, status, revoked_at, revocation_reason, replaces) "
        "VALUES (?, 'NIN-0001', 'RBT-01', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    t0, t1 = "2025-01-10T09:00:00.000000+00:00", "2025-06-01T10:30:00.000000+00:00"
    end0, end1 = "2035-01-10T09:00:00.000000+00:00", "2035-06-01T10:30:00.000000+00:00"
    backend.execute(insert, ("AB0000001", b"k", t0, end0, bytes(32), "issue", "revoked", t1,
                             "replaced", None))  # fmt: skip
    backend.execute(insert, ("AB0000002", b"k", t1, end1, bytes(32), "replacement", "active",
                             None, None, "AB0000001"))  # fmt: skip

    with backend.open() as reg:  # an unmarked registry of version 1 is cardlib's: opened
        assert reg.schema_version == LATEST and not reg.created
        assert reg.get("AB0000002").replaces == "AB0000001"
        assert reg.get("AB0000001").revoked_at == datetime.fromisoformat(t1)
        assert events(reg) == [
            ("issue", "AB0000001", None),
            ("revocation", "AB0000001", "replaced"),
            ("replacement", "AB0000002", None),
        ]
        later = datetime(2026, 3, 1, tzinfo=UTC)
        reg.renew("AB0000002", card("AB0000003", at=later), now=later)  # usable at once
        assert [e.event for e in reg.history("NIN-0001")][-2:] == ["revocation", "renewal"]
    # ... and it now carries the marker and the sync tables.
    assert backend.execute("SELECT format FROM cardlib_registry", ()) == [("cardlib-registry",)]
    assert {"sync_conflicts", "sync_cursors"} <= backend.tables()


def test_open_refuses_a_newer_database(backend: Backend) -> None:
    with backend.create() as reg:
        reg.record_issue(card("AB0000001"))
    backend.execute("INSERT INTO schema_version VALUES (?, 'from the future')", (LATEST + 1,))
    with pytest.raises(SchemaTooNewError) as info:
        backend.open()
    assert info.value.code == "schema_too_new"
    assert f"schema version {LATEST + 1}" in str(info.value)
    assert backend.execute("SELECT COUNT(*) FROM schema_version", ()) == [(LATEST + 1,)]


def test_failed_migration_changes_nothing(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every step runs in one transaction: a broken step leaves the database as it was."""
    broken = (*backend.migrations, Migration(LATEST + 1, "broken", ("CREATE TABLE x (",)))
    monkeypatch.setattr(backend.cls, "_migrations", lambda self: broken)
    with pytest.raises(RegistryError):
        backend.create()
    for table in ("schema_version", "cards", "events", "cardlib_registry"):
        with pytest.raises(Exception, match=f"(?i){table}"):
            backend.execute(f"SELECT COUNT(*) FROM {table}", ())
    monkeypatch.undo()
    with pytest.raises(RegistryNotFoundError):  # nothing half-made counts as a registry
        backend.open()
    with backend.create() as reg:
        assert reg.schema_version == LATEST


# --- concurrency -----------------------------------------------------------------------------


def _race(backend: Backend, cards: Sequence[IssuedCard]) -> list[IssuedCard | CardError]:
    """Record each card from its own connection, all released at the same moment."""
    backend.create().close()
    registries = [backend.open() for _ in cards]
    barrier = threading.Barrier(len(cards))
    results: list[IssuedCard | CardError] = [CardError("not run")] * len(cards)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = registries[i].record_issue(cards[i])
        except CardError as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cards))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for reg in registries:
        reg.close()
    return results


def test_racing_issues_for_one_holder_one_wins(backend: Backend) -> None:
    for round_ in range(10):
        holder = f"NIN-R{round_}"
        contenders = [card(f"R{round_}-{i}", holder) for i in range(4)]
        results = _race(backend, contenders)
        winners = [r for r in results if isinstance(r, IssuedCard)]
        losers = [r for r in results if not isinstance(r, IssuedCard)]
        assert len(winners) == 1, results
        assert all(isinstance(r, HolderHasActiveCardError) for r in losers), losers
        with backend.open() as reg:
            assert reg.active_for(holder) == winners[0]
            assert len(reg.history(holder)) == 1


def test_racing_issues_of_one_document_number_one_wins(backend: Backend) -> None:
    contenders = [card("AB0000001", f"NIN-{i}") for i in range(4)]
    results = _race(backend, contenders)
    assert sum(isinstance(r, IssuedCard) for r in results) == 1, results
    assert sum(isinstance(r, DocumentNumberReusedError) for r in results) == 3, results


# --- URLs, values, errors --------------------------------------------------------------------


def test_open_registry_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RegistryNotFoundError) as info:
        open_registry("sqlite:///relative.db")
    assert "sqlite:///relative.db" in str(info.value)
    with open_registry("sqlite:///relative.db", create=True) as reg:
        reg.record_issue(card("AB0000001"))
    with open_registry(f"sqlite:///{tmp_path / 'relative.db'}") as reg:  # absolute: 4 slashes
        assert reg.get("AB0000001") == card("AB0000001")
    with sqlite3.connect(tmp_path / "relative.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    for bad in ("mysql://x", "sqlite://relative.db", "sqlite:///", 42):
        with pytest.raises(RegistryInputError):
            open_registry(bad)  # type: ignore[arg-type]
    junk = b"this is not an SQLite database, not at all" * 40
    (tmp_path / "junk.db").write_bytes(junk)
    for create in (False, True):
        with pytest.raises(RegistryNotOursError):
            open_registry(tmp_path / "junk.db", create=create)
    assert (tmp_path / "junk.db").read_bytes() == junk
    with pytest.raises(RegistryNotFoundError):
        open_registry(tmp_path / "missing-dir" / "registry.db")
    with pytest.raises(RegistryUnavailableError):
        open_registry(tmp_path / "missing-dir" / "registry.db", create=True)


def test_postgres_unreachable_is_typed() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(RegistryUnavailableError) as info:
        open_registry("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"issued_at": datetime(2026, 1, 1)}, "timezone"),
        ({"payload_sha256": b"short"}, "32-byte"),
        ({"expires_at": NOW}, "after"),
        ({"kid": b""}, "kid"),
        ({"document_number": " "}, "document_number"),
        ({"kind": "reissue"}, "kind"),
        ({"status": "revoked"}, "revoked"),
        ({"revocation_reason": "lost"}, "revoked"),
    ],
)
def test_issued_card_is_checked(change: dict[str, Any], word: str) -> None:
    with pytest.raises(RegistryInputError, match=word):
        dc_replace(card("AB0000001"), **change)


def test_public_names_exist() -> None:
    for name in _registry.__all__:
        assert hasattr(_registry, name), name


def test_error_codes_are_stable() -> None:
    codes = {
        cls.__name__: cls.code
        for cls in vars(_registry).values()
        if isinstance(cls, type) and issubclass(cls, RegistryError)
    }
    assert codes == {
        "RegistryError": "registry_error",
        "RegistryInputError": "registry_input_invalid",
        "RegistryUnavailableError": "registry_unavailable",
        "RegistryNotFoundError": "registry_not_found",
        "RegistryNotOursError": "registry_not_ours",
        "RegistryBusyError": "registry_busy",
        "SchemaTooNewError": "schema_too_new",
        "DocumentNumberReusedError": "document_number_reused",
        "HolderHasActiveCardError": "holder_has_active_card",
        "CardNotFoundError": "card_not_found",
        "CardNotActiveError": "card_not_active",
        "CardSupersededError": "card_superseded",
        "HolderMismatchError": "holder_mismatch",
        "HolderNotFoundError": "holder_not_found",
        "AccessCodeMalformedError": "access_code_malformed",
    }


def test_revoked_cards_for_the_revocation_list(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    registry.record_issue(card("AB0000002", "NIN-0002"))
    registry.record_issue(card("AB0000003", "NIN-0003"))
    later = NOW + timedelta(days=3)
    registry.revoke("AB0000003", "stolen", now=later)
    registry.replace("AB0000001", card("AB0000004", at=later), now=later)
    revoked = registry.revoked_cards(now=later + timedelta(days=1))
    assert [(c.document_number, c.revocation_reason) for c in revoked] == [
        ("AB0000001", "replaced"), ("AB0000003", "stolen")]
    assert registry.revoked_cards(now=NOW + timedelta(days=365 * 30)) == ()  # all expired


def test_events_since_for_the_audit_log(registry: IssuanceRegistry) -> None:
    registry.record_issue(card("AB0000001"))
    registry.revoke("AB0000001", "lost", now=NOW + timedelta(days=1))
    everything = registry.events_since(0)
    assert [e.event for e in everything] == ["issue", "revocation"]
    assert registry.events_since(everything[0].seq) == everything[1:]
    assert registry.events_since(everything[-1].seq) == ()


@pytest.mark.parametrize("conflict", ["document_number", "holder"])
def test_two_writers_racing_for_one_card_lose_with_one_code(backend: Backend,
                                                            conflict: str) -> None:
    """Two writers (each with its own connection, as two processes have) record clashing cards
    at the same instant: one wins, and the loser gets the same typed code every time, whether
    its pre-check or the database's constraint caught it."""
    backend.create().close()
    expected = {"document_number": "document_number_reused",
                "holder": "holder_has_active_card"}[conflict]
    rounds = 15
    registries = [backend.open(), backend.open()]
    try:
        for round_ in range(rounds):
            gate = threading.Barrier(2)
            outcomes: list[str] = []

            def write(side: int, round_: int = round_, gate: threading.Barrier = gate,
                      outcomes: list[str] = outcomes) -> None:
                number = (f"LY{round_:05d}" if conflict == "document_number"
                          else f"LY{round_:03d}{side:02d}")
                holder = (f"NIN-{round_}-{side}" if conflict == "document_number"
                          else f"NIN-{round_}")
                gate.wait()
                try:
                    registries[side].record_issue(card(number, holder))
                    outcomes.append("ok")
                except CardError as err:
                    outcomes.append(err.code)

            writers = [threading.Thread(target=write, args=(side,)) for side in (0, 1)]
            for writer in writers:
                writer.start()
            for writer in writers:
                writer.join()
            assert sorted(outcomes) == sorted(["ok", expected]), (round_, outcomes)
    finally:
        for registry in registries:
            registry.close()
