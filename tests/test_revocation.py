"""Card revocation lists: publish, load, deltas, status rules, bounds and size. Real keys (a root
from ``create_root``), pinned times."""

from __future__ import annotations

import dataclasses
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cardlib
from cardlib._errors import (
    CardError,
    InputTooLargeError,
    PayloadTooLargeError,
    TrustInputError,
    TrustListError,
    VerificationError,
)
from cardlib.codec import _cbor, _cose
from cardlib.revocation._revocation import (
    CONTENT_TYPE,
    CardStatus,
    Reason,
    RevocationDeltaBaseError,
    RevocationEntriesDroppedError,
    RevocationEntry,
    RevocationInputError,
    RevocationLimits,
    RevocationList,
    RevocationListError,
    RevocationListRollbackError,
    RevocationListSignatureError,
    dropped_entries,
    load_revocation_list,
    publish_delta,
    publish_revocation_list,
)
from cardlib.trust._certs import create_root
from cardlib.trust._trustlist import load_trust_list, publish_trust_list

ROOT_FROM = datetime(2025, 1, 1, tzinfo=UTC)
ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
NEXT = datetime(2026, 1, 2, tzinfo=UTC)
LOADED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATE = datetime(2026, 1, 3, tzinfo=UTC)  # after NEXT: stale
DAY = timedelta(days=1)
TARGET_BYTES = 2_000_000  # the issue: a full list for 10 million cards in <= 2 MB
POPULATION = 10_000_000


@dataclass(frozen=True)
class Root:
    key: cardlib.PrivateKey
    der: bytes


def make_root(algorithm: str) -> Root:
    key = cardlib.PrivateKey.generate(algorithm)
    return Root(key, create_root("Civil Registry Root", key, now=ROOT_FROM, days=3650))


@pytest.fixture(scope="module", params=["EdDSA", "ES256"])
def root(request: pytest.FixtureRequest) -> Root:
    return make_root(request.param)


@pytest.fixture(scope="module")
def eddsa_root() -> Root:
    return make_root("EdDSA")


ENTRIES = (
    RevocationEntry("LY10234567", Reason.LOST, datetime(2025, 12, 3, 14, 5, tzinfo=UTC)),
    RevocationEntry("LY10234568", Reason.STOLEN, datetime(2025, 11, 1, tzinfo=UTC)),
    RevocationEntry("LY9000001", Reason.REPLACED, datetime(2024, 2, 29, tzinfo=UTC)),
    RevocationEntry("TRP010000042", Reason.FRAUD, datetime(2025, 1, 1, tzinfo=UTC)),
    RevocationEntry("LY00000007", Reason.DATA_CORRECTION, datetime(2025, 6, 1, tzinfo=UTC)),
    RevocationEntry("ABCDEF", Reason.LOST, datetime(2025, 6, 2, tzinfo=UTC)),
    RevocationEntry("12345678901234567890", Reason.STOLEN, datetime(2025, 6, 3, tzinfo=UTC)),
)


def publish(root: Root, entries: tuple[RevocationEntry, ...] | list[RevocationEntry] = ENTRIES,
            *, sequence: int = 5, issued: datetime = ISSUED, next_update: datetime = NEXT,
            ) -> bytes:
    return publish_revocation_list(root.key, root.der, entries, sequence=sequence,
                                   issued=issued, next_update=next_update)


def load(data: bytes, root: Root, *, now: datetime = LOADED,
         previous: RevocationList | None = None,
         limits: RevocationLimits | None = None) -> RevocationList:
    if limits is None:
        return load_revocation_list(data, root.der, now=now, previous=previous)
    return load_revocation_list(data, root.der, now=now, previous=previous, limits=limits)


@pytest.fixture(scope="module")
def signed(root: Root) -> bytes:
    return publish(root)


@pytest.fixture(scope="module")
def loaded(root: Root, signed: bytes) -> RevocationList:
    return load(signed, root)


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# --- round trip and status rules ---------------------------------------------------------------


def test_round_trip_keeps_every_entry_to_the_day(loaded: RevocationList) -> None:
    assert len(loaded) == len(ENTRIES)
    assert (loaded.sequence, loaded.issued, loaded.next_update) == (5, ISSUED, NEXT)
    assert not loaded.stale
    got = {entry.document_number: entry for entry in loaded.entries()}
    assert got == {e.document_number: RevocationEntry(e.document_number, e.reason,
                                                      _day(e.revoked_at)) for e in ENTRIES}
    # leading zeros, an all-letter number and a 20-digit number survive exactly
    assert {"LY00000007", "ABCDEF", "12345678901234567890"} <= got.keys()


@pytest.mark.parametrize("reason", list(Reason), ids=[r.name for r in Reason])
def test_every_reason_is_reported(eddsa_root: Root, reason: Reason) -> None:
    listed = load(publish(eddsa_root, [RevocationEntry("LY12345678", reason, ISSUED)]),
                  eddsa_root)
    status = listed.status("LY12345678", now=LOADED)
    assert (status.state, status.reason, status.revoked_at) == ("revoked", reason, ISSUED)
    assert listed.status("LY12345679", now=LOADED).reason is None


def test_reason_wire_codes_are_stable() -> None:
    assert [(r.name, int(r)) for r in Reason] == [
        ("LOST", 1), ("STOLEN", 2), ("REPLACED", 3), ("FRAUD", 4), ("DATA_CORRECTION", 5)]


def test_fresh_list_gives_valid_or_revoked(loaded: RevocationList) -> None:
    valid = loaded.status("LY10234569", now=LOADED)
    assert valid == CardStatus("LY10234569", "valid", None, None, 5, ISSUED, NEXT, False)
    revoked = loaded.status("LY10234567", now=LOADED)
    assert revoked == CardStatus("LY10234567", "revoked", Reason.LOST,
                                 datetime(2025, 12, 3, tzinfo=UTC), 5, ISSUED, NEXT, False)
    # the boundary: at next_update the list is still fresh
    assert loaded.status("LY10234569", now=NEXT).state == "valid"


def test_stale_list_never_says_valid(loaded: RevocationList) -> None:
    unknown = loaded.status("LY10234569", now=LATE)
    assert (unknown.state, unknown.stale, unknown.reason) == ("unknown", True, None)
    assert (unknown.list_sequence, unknown.list_next_update) == (5, NEXT)
    still = loaded.status("TRP010000042", now=LATE)  # revoked stays revoked, flagged stale
    assert (still.state, still.reason, still.stale) == ("revoked", Reason.FRAUD, True)
    assert loaded.status("LY10234569", now=NEXT + timedelta(microseconds=1)).state == "unknown"


def test_stale_at_load_is_reported(root: Root, signed: bytes) -> None:
    assert load(signed, root, now=LATE).stale


def test_numbers_close_to_a_listed_one_are_not_revoked(loaded: RevocationList) -> None:
    """Exact representation: no neighbour, prefix, padding or width variant is a false hit."""
    for number in ("LY1023456", "LY102345670", "LY0010234567", "LZ10234567", "LY9000000",
                   "LY09000001", "LY0000007", "LY000000007", "TRP0100000042", "TRP01000004",
                   "ABCDEG", "ABCDE0", "12345678901234567891", "2345678901234567890"):
        assert loaded.status(number, now=LOADED).state == "valid", number


@pytest.mark.parametrize("number", ["ly1234567", "LY-123456", "LY123", "A" * 21, ""])
def test_status_refuses_a_malformed_number(loaded: RevocationList, number: str) -> None:
    with pytest.raises(RevocationInputError):
        loaded.status(number, now=LOADED)


def test_status_needs_an_aware_now(loaded: RevocationList) -> None:
    with pytest.raises(RevocationInputError):
        loaded.status("LY10234567", now=datetime(2026, 1, 1))


def test_empty_list_round_trips(eddsa_root: Root) -> None:
    empty = load(publish(eddsa_root, []), eddsa_root)
    assert len(empty) == 0 and list(empty.entries()) == []
    assert empty.status("LY12345678", now=LOADED).state == "valid"


@settings(max_examples=60, deadline=None)
@given(numbers=st.sets(st.from_regex(r"[A-Z0-9]{6,20}", fullmatch=True), min_size=2,
                       max_size=40),
       data=st.data())
def test_any_numbers_are_exact(eddsa_root: Root, numbers: set[str], data: st.DataObject) -> None:
    ordered = sorted(numbers)
    listed = set(data.draw(st.lists(st.sampled_from(ordered), unique=True)))
    entries = [RevocationEntry(n, data.draw(st.sampled_from(list(Reason))), ISSUED)
               for n in sorted(listed, reverse=True)]  # unsorted input is sorted by publish
    result = load(publish(eddsa_root, entries), eddsa_root)
    assert sorted(result.entries(), key=lambda e: e.document_number) == sorted(
        entries, key=lambda e: e.document_number)
    for number in ordered:
        assert result.status(number, now=LOADED).state == (
            "revoked" if number in listed else "valid")


# --- deltas, rollback ---------------------------------------------------------------------------


def test_delta_adds_and_corrects(root: Root, loaded: RevocationList) -> None:
    added = [RevocationEntry("LY10234570", Reason.STOLEN, ISSUED + DAY),
             RevocationEntry("LY10234567", Reason.FRAUD, ISSUED + DAY),  # lost -> fraud
             RevocationEntry("BEN020000001", Reason.LOST, ISSUED + DAY)]
    delta = publish_delta(root.key, root.der, added, base_sequence=5, sequence=6,
                          issued=ISSUED + DAY, next_update=NEXT + DAY)
    updated = load(delta, root, now=LOADED + DAY, previous=loaded)
    assert (updated.sequence, updated.issued, updated.next_update) == (6, ISSUED + DAY, NEXT + DAY)
    assert len(updated) == len(ENTRIES) + 2
    now = LOADED + DAY
    assert updated.status("LY10234570", now=now).reason is Reason.STOLEN
    corrected = updated.status("LY10234567", now=now)
    assert (corrected.reason, corrected.revoked_at) == (Reason.FRAUD, ISSUED + DAY)
    assert updated.status("BEN020000001", now=now).state == "revoked"
    assert updated.status("LY10234568", now=now).reason is Reason.STOLEN  # base entries kept
    assert updated.status("LY10234569", now=now).state == "valid"
    # the base list is unchanged (immutable values)
    assert loaded.status("LY10234570", now=LOADED).state == "valid"
    assert loaded.status("LY10234567", now=LOADED).reason is Reason.LOST
    # a second delta chains on the first
    again = publish_delta(root.key, root.der, [RevocationEntry("LY10234571", Reason.LOST,
                                                               ISSUED + 2 * DAY)],
                          base_sequence=6, sequence=9, issued=ISSUED + 2 * DAY,
                          next_update=NEXT + 2 * DAY)
    assert len(load(again, root, now=LOADED + 2 * DAY, previous=updated)) == len(ENTRIES) + 3


# --- a new full list over the previous one (issue 9, item 5) ------------------------------------


def test_a_new_list_never_drops_an_entry_of_the_previous_one(
    root: Root, loaded: RevocationList
) -> None:
    """Before, a list with fewer (or no) entries was signed as readily as any other: a typo in
    the registry URL published an empty list that silently un-revoked every card."""
    later: dict[str, Any] = {"sequence": 6, "issued": ISSUED + DAY, "next_update": NEXT + DAY}
    for kept in ([], list(ENTRIES[1:]), list(ENTRIES[:3])):
        with pytest.raises(RevocationEntriesDroppedError) as info:
            publish_revocation_list(root.key, root.der, kept, previous=loaded, **later)
        err = info.value
        assert (err.code, err.category) == ("revocation_entries_dropped", "input")
        gone = sorted({e.document_number for e in ENTRIES} - {e.document_number for e in kept})
        assert err.dropped == tuple(gone)
        assert f"leaves out {len(gone)} entr" in str(err) and gone[0] in str(err)
        assert "of revocation list 5" in str(err)
    # Every entry kept, and new ones added: signed.
    more = [*ENTRIES, RevocationEntry("LY10234599", Reason.LOST, ISSUED)]
    assert len(load(publish_revocation_list(root.key, root.der, more, previous=loaded, **later),
                    root, now=LOADED + DAY, previous=loaded)) == len(ENTRIES) + 1
    # A corrected entry (other reason or day) is not a dropped one.
    corrected = [dataclasses.replace(ENTRIES[0], reason=Reason.FRAUD), *ENTRIES[1:]]
    publish_revocation_list(root.key, root.der, corrected, previous=loaded, **later)


def test_dropping_on_purpose_names_each_number(root: Root, loaded: RevocationList) -> None:
    later: dict[str, Any] = {"sequence": 6, "issued": ISSUED + DAY, "next_update": NEXT + DAY}
    kept = [e for e in ENTRIES if e.document_number not in ("LY9000001", "ABCDEF")]
    assert [e.document_number for e in dropped_entries(loaded, kept)] == ["ABCDEF", "LY9000001"]
    assert dropped_entries(loaded, kept)[1] == RevocationEntry(
        "LY9000001", Reason.REPLACED, datetime(2024, 2, 29, tzinfo=UTC))
    with pytest.raises(RevocationEntriesDroppedError) as info:  # one allowed, one not
        publish_revocation_list(root.key, root.der, kept, previous=loaded,
                                allow_drop=["LY9000001"], **later)
    assert info.value.dropped == ("ABCDEF",)
    pruned = publish_revocation_list(root.key, root.der, kept, previous=loaded,
                                     allow_drop={"LY9000001", "ABCDEF"}, **later)
    assert len(load(pruned, root, now=LOADED + DAY, previous=loaded)) == len(ENTRIES) - 2
    for bad in ({"sequence": 5}, {"sequence": 4}):  # not newer than the previous list
        with pytest.raises(RevocationInputError, match="must be above"):
            publish_revocation_list(root.key, root.der, ENTRIES, previous=loaded,
                                    **(later | bad))
    with pytest.raises(RevocationInputError, match="previous"):
        publish_revocation_list(root.key, root.der, kept, allow_drop=["ABCDEF"], **later)
    with pytest.raises(RevocationInputError, match="collection"):
        publish_revocation_list(root.key, root.der, kept, previous=loaded, allow_drop="ABCDEF",
                                **later)


def test_delta_merges_into_a_dense_group(eddsa_root: Root) -> None:
    base = [RevocationEntry(f"LY{n}", Reason.REPLACED, ISSUED) for n in range(10_000_000,
                                                                              10_001_000, 2)]
    first = load(publish(eddsa_root, base, sequence=1), eddsa_root)
    added = [RevocationEntry(f"LY{n}", Reason.LOST, ISSUED + DAY)
             for n in (9_999_999, 10_000_001, 10_000_002, 10_000_999, 10_005_000)]
    delta = publish_delta(eddsa_root.key, eddsa_root.der, added, base_sequence=1, sequence=2,
                          issued=ISSUED + DAY, next_update=NEXT + DAY)
    merged = load(delta, eddsa_root, now=LOADED, previous=first)
    assert len(merged) == 500 + 4
    numbers = [e.document_number for e in merged.entries()]
    assert numbers[:2] == ["LY9999999", "LY10000000"]  # 7 digits: a group of its own
    assert [e.reason for e in merged.entries() if e.document_number == "LY10000002"] == [
        Reason.LOST]
    assert numbers[1:] == sorted(numbers[1:])


def test_delta_with_the_wrong_base_is_refused(root: Root, loaded: RevocationList) -> None:
    delta = publish_delta(root.key, root.der, [], base_sequence=4, sequence=6, issued=ISSUED,
                          next_update=NEXT)
    with pytest.raises(RevocationDeltaBaseError) as caught:
        load(delta, root, previous=loaded)
    assert caught.value.code == "revocation_delta_base_mismatch"
    with pytest.raises(RevocationDeltaBaseError, match="no list"):
        load(delta, root)


def test_rollback_is_refused(root: Root, loaded: RevocationList) -> None:
    older = publish(root, sequence=4)
    with pytest.raises(RevocationListRollbackError) as caught:
        load(older, root, previous=loaded)
    assert caught.value.code == "revocation_list_rollback"
    assert load(publish(root, sequence=5), root, previous=loaded).sequence == 5
    newer = load(publish(root, ENTRIES[:1], sequence=8), root, previous=loaded)
    assert len(newer) == 1  # a full list replaces the previous one (it may prune)


# --- authenticity -------------------------------------------------------------------------------


def test_list_signed_by_another_root_is_refused(root: Root, signed: bytes) -> None:
    other = make_root(root.key.algorithm)
    with pytest.raises(RevocationListSignatureError) as caught:
        load(signed, other)
    assert caught.value.code == "revocation_list_signature_invalid"


def test_trust_list_and_revocation_list_cannot_stand_in_for_each_other(
    root: Root, signed: bytes
) -> None:
    trust_list = publish_trust_list(root.key, root.der, [], sequence=5, issued=ISSUED,
                                    next_update=NEXT)
    with pytest.raises(RevocationListError, match="not a revocation list"):
        load(trust_list, root)
    with pytest.raises(TrustListError, match="not a trust list"):
        load_trust_list(signed, root.der, now=LOADED)


@pytest.mark.parametrize("where", [0.5, 0.8, -10, -1])
def test_tampered_bytes_are_refused(root: Root, signed: bytes, where: float) -> None:
    position = int(len(signed) * where) if where > 0 else len(signed) + int(where)
    tampered = bytearray(signed)
    tampered[position] ^= 0x01
    with pytest.raises(CardError) as caught:
        load(bytes(tampered), root)
    assert isinstance(caught.value, VerificationError | cardlib.DecodeError)


def test_payload_swap_is_refused(root: Root, signed: bytes) -> None:
    message = _cose.decode(signed, cardlib.DEFAULT_LIMITS)
    body = _cbor.loads(message.payload, cardlib.DEFAULT_LIMITS)
    body[3] += 86400  # extend next_update
    forged = _cose.encode(message.protected, {}, _cbor.dumps(body), message.signature)
    with pytest.raises(RevocationListSignatureError):
        load(forged, root)


def test_untagged_and_wrong_algorithm_are_refused(eddsa_root: Root, signed: bytes) -> None:
    message = _cose.decode(publish(eddsa_root), cardlib.DEFAULT_LIMITS)
    untagged = _cbor.dumps([message.protected, {}, message.payload, message.signature])
    with pytest.raises(RevocationListError, match="tag 18"):
        load(untagged, eddsa_root)
    with pytest.raises(RevocationListError, match="algorithm"):
        load(_root_signed(eddsa_root, {}, alg=-7), eddsa_root)


# --- root-signed but malformed payloads ---------------------------------------------------------


def _root_signed(root: Root, body: object, *, alg: int | None = None) -> bytes:
    """A COSE_Sign1 signed by the real root around any payload (bypasses publish's checks)."""
    if alg is None:
        alg = -8 if root.key.algorithm == "EdDSA" else -7
    protected = _cose.encode_header({1: alg, 3: CONTENT_TYPE})
    payload = _cbor.dumps(body)
    return _cose.encode(protected, {}, payload,
                        root.key.sign(_cose.sig_structure(protected, payload)))


def _table(groups: list[tuple[str, int, int, int]], gaps: bytes, reasons: bytes, days: bytes,
           gap_bytes: int = 1, day_bytes: int = 2, version: int = 1) -> bytes:
    head = b"".join(bytes((len(s),)) + s.encode() + struct.pack("<BIQ", w, c, f)
                    for s, w, c, f in groups)
    return bytes((version, gap_bytes, day_bytes)) + head + gaps + reasons + days


def _body(table: bytes, count: int, groups: int, **changes: object) -> dict[int, object]:
    body: dict[int, object] = {1: 3, 2: int(ISSUED.timestamp()), 3: int(NEXT.timestamp()),
                               4: None, 5: count, 6: groups, 7: zlib.compress(table)}
    body.update({int(k[1:]): v for k, v in changes.items()})
    return body


_D = struct.pack("<H", 20000)  # a day in 2024, as 2 byte-planes of one value
_D2 = bytes((_D[0], _D[0], _D[1], _D[1]))  # two such days, byte-planes


def test_a_crafted_table_loads(eddsa_root: Root) -> None:
    table = _table([("LY", 8, 2, 10000000)], b"\x04", b"\x01\x05", _D2)
    listed = load(_root_signed(eddsa_root, _body(table, 2, 2 - 1)), eddsa_root)
    assert [(e.document_number, e.reason) for e in listed.entries()] == [
        ("LY10000000", Reason.LOST), ("LY10000005", Reason.DATA_CORRECTION)]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({1: 1, 2: 0, 3: 10}, RevocationListError),
        ([1, 2, 3], RevocationListError),
        (_body(b"", 0, 0, _1=-1), RevocationListError),
        (_body(b"", 0, 0, _3=0, _2=10), RevocationListError),
        (_body(b"", 0, 0, _4=3), RevocationListError),
        (_body(b"", 0, 0, _7="text"), RevocationListError),
        (_body(b"", 1, 2), RevocationListError),
        (_body(b"\x00", 0, 0), RevocationListError),
        (_body(_table([], b"", b"", b"", version=2), 0, 0), RevocationListError),
        (_body(_table([], b"", b"", b"", gap_bytes=3), 0, 0), RevocationListError),
        (_body(_table([("LY", 8, 2, 10000000)], b"\x04", b"\x01\x06", _D2), 2, 1),
         RevocationListError),
        (_body(_table([("LY", 8, 2, 10000000)], b"\x04", b"\x01\x00", _D2), 2, 1),
         RevocationListError),
        (_body(_table([("LY", 8, 2, 10000000)], b"\x04", b"\x01\x01", b"\xff\xff\xff\xff"), 2,
               1), RevocationListError),
        (_body(_table([("LY", 8, 2, 10000000)], b"\x04", b"\x01\x01", _D2) + b"\x00", 2, 1),
         RevocationListError),
        (_body(_table([("LY", 8, 3, 10000000)], b"\x04", b"\x01\x01", _D2), 2, 1),
         RevocationListError),
        (_body(_table([("LY", 8, 2, 99999999)], b"\x04", b"\x01\x01", _D2), 2, 1),
         RevocationListError),
        (_body(_table([("LY1", 7, 1, 1)], b"", b"\x01", _D), 1, 1), RevocationListError),
        (_body(_table([("ly", 8, 1, 1)], b"", b"\x01", _D), 1, 1), RevocationListError),
        (_body(_table([("LY", 2, 1, 1)], b"", b"\x01", _D), 1, 1), RevocationListError),
        (_body(_table([("ABCDEF", 0, 1, 1)], b"", b"\x01", _D), 1, 1), RevocationListError),
        (_body(_table([("LY", 8, 1, 1), ("LY", 8, 1, 5)], b"", b"\x01\x01", _D2), 2, 2),
         RevocationListError),
        (_body(_table([("LY", 8, 1, 1), ("LX", 8, 1, 5)], b"", b"\x01\x01", _D2), 2, 2),
         RevocationListError),
        (_body(_table([("LY", 8, 1, 1)], b"", b"\x01", _D)[:-5], 1, 1), RevocationListError),
        (_body(b"\x00" * 100_000, 1, 1), PayloadTooLargeError),
        (_body(b"", 0, 0, _5=10**9), InputTooLargeError),
    ],
    ids=["missing labels", "not a map", "negative sequence", "next before issued",
         "base not below sequence", "entries not bytes", "more groups than entries",
         "short table", "unknown version", "odd gap width", "unknown reason", "reason zero",
         "day after issue", "trailing byte", "count mismatch", "serial wider than width",
         "stem ends in digit", "lower-case stem", "too short", "letters-only with serial",
         "duplicate group", "unsorted groups", "truncated group", "inflation bomb",
         "too many entries"],
)
def test_malformed_signed_payloads_are_refused(
    eddsa_root: Root, body: object, error: type[CardError], request: pytest.FixtureRequest
) -> None:
    case = request.node.callspec.id
    with pytest.raises(error, match=_WHY[case]):
        load(_root_signed(eddsa_root, body), eddsa_root)


_WHY = {  # each malformed payload is refused by its own check
    "missing labels": "labels", "not a map": "labels", "negative sequence": "sequence",
    "next before issued": "next update", "base not below sequence": "base sequence",
    "entries not bytes": "entry table", "more groups than entries": "entry table",
    "short table": "truncated", "unknown version": "layout", "odd gap width": "layout",
    "unknown reason": "reason", "reason zero": "reason", "day after issue": "after the list",
    "trailing byte": "counts call for", "count mismatch": "groups hold",
    "serial wider than width": "longer than 8 digits", "stem ends in digit": "canonical",
    "lower-case stem": "canonical", "too short": "canonical",
    "letters-only with serial": "impossible", "duplicate group": "strictly sorted",
    "unsorted groups": "strictly sorted", "truncated group": "group table is truncated",
    "inflation bomb": "inflates", "too many entries": "declares",
}


# --- publishing input and bounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: RevocationEntry("LY12", Reason.LOST, ISSUED),
        lambda: RevocationEntry("ly12345678", Reason.LOST, ISSUED),
        lambda: RevocationEntry("LY12345678", 1, ISSUED),  # type: ignore[arg-type]
        lambda: RevocationEntry("LY12345678", Reason.LOST, datetime(2026, 1, 1)),
    ],
    ids=["short", "lower case", "int reason", "naive time"],
)
def test_entries_are_checked_when_made(make: object) -> None:
    with pytest.raises(RevocationInputError) as caught:
        make()  # type: ignore[operator]
    assert isinstance(caught.value, TrustInputError | ValueError)


def test_publish_refuses_bad_input(root: Root) -> None:
    twice = [RevocationEntry("LY12345678", Reason.LOST, ISSUED),
             RevocationEntry("LY12345670", Reason.LOST, ISSUED),
             RevocationEntry("LY12345678", Reason.FRAUD, ISSUED)]
    with pytest.raises(RevocationInputError, match="twice"):
        publish(root, twice)
    with pytest.raises(RevocationInputError, match="after the list is issued"):
        publish(root, [RevocationEntry("LY12345678", Reason.LOST, ISSUED + DAY)])
    with pytest.raises(RevocationInputError):
        publish(root, [("LY12345678", 1, ISSUED)])  # type: ignore[list-item]
    with pytest.raises(RevocationInputError):
        publish(root, issued=NEXT, next_update=ISSUED)
    with pytest.raises(RevocationInputError):
        publish(root, sequence=-1)
    with pytest.raises(RevocationInputError):
        publish_delta(root.key, root.der, [], base_sequence=5, sequence=5, issued=ISSUED,
                      next_update=NEXT)
    with pytest.raises(TrustInputError, match="does not match"):
        publish_revocation_list(make_root(root.key.algorithm).key, root.der, [], sequence=1,
                                issued=ISSUED, next_update=NEXT)


def test_limits_are_enforced(root: Root, signed: bytes) -> None:
    with pytest.raises(InputTooLargeError):
        load(signed, root, limits=RevocationLimits(max_list_bytes=len(signed) - 1))
    assert load(signed, root, limits=RevocationLimits(max_list_bytes=len(signed)))
    with pytest.raises(InputTooLargeError):
        load(signed, root, limits=RevocationLimits(max_entries=len(ENTRIES) - 1))
    with pytest.raises(PayloadTooLargeError):
        load(signed, root, limits=RevocationLimits(max_inflated_bytes=16))
    with pytest.raises(RevocationInputError):
        publish_revocation_list(root.key, root.der, ENTRIES, sequence=1, issued=ISSUED,
                                next_update=NEXT, limits=RevocationLimits(max_entries=2))
    with pytest.raises(RevocationInputError):
        publish_revocation_list(root.key, root.der, ENTRIES, sequence=1, issued=ISSUED,
                                next_update=NEXT, limits=RevocationLimits(max_list_bytes=64))
    with pytest.raises(ValueError):
        RevocationLimits(max_entries=0)
    with pytest.raises(RevocationListError):
        load_revocation_list("text", root.der, now=LOADED)  # type: ignore[arg-type]


def test_error_codes() -> None:
    classes = [RevocationInputError, RevocationListError, RevocationListSignatureError,
               RevocationListRollbackError, RevocationDeltaBaseError,
               RevocationEntriesDroppedError]
    assert [cls.code for cls in classes] == [
        "revocation_input_invalid", "revocation_list_invalid",
        "revocation_list_signature_invalid", "revocation_list_rollback",
        "revocation_delta_base_mismatch", "revocation_entries_dropped"]
    assert all(issubclass(cls, CardError) and issubclass(cls, ValueError) for cls in classes)
    assert not issubclass(RevocationListError, TrustListError)


# --- size -----------------------------------------------------------------------------------------

_REASON_MIX = [Reason.LOST] * 50 + [Reason.REPLACED] * 30 + [Reason.STOLEN] * 10 + [
    Reason.DATA_CORRECTION] * 8 + [Reason.FRAUD] * 2


def _population(size: int, rate: float, seed: int) -> Iterator[RevocationEntry]:
    """``LY`` + 7-8 digit serials; ``rate`` of them revoked, reasons mixed, days over 5 years."""
    rng = random.Random(seed)
    days = [ISSUED - timedelta(days=d) for d in range(5 * 365)]
    for serial in range(5_000_000, 5_000_000 + size):
        if rng.random() < rate:
            yield RevocationEntry(f"LY{serial}", rng.choice(_REASON_MIX), rng.choice(days))


def test_size_scales_to_the_two_megabyte_target(eddsa_root: Root) -> None:
    """100,000 cards, 5 % revoked: the bytes per revoked card, scaled to 10 million cards
    (the same density: 500,000 entries), stay under 2 MB with room to spare."""
    entries = list(_population(100_000, 0.05, seed=1))
    data = publish(eddsa_root, entries)
    per_entry = len(data) / len(entries)
    assert per_entry * POPULATION * 0.05 <= TARGET_BYTES * 0.8, per_entry
    assert len(load(data, eddsa_root)) == len(entries)
    # 100,000 cards all revoked in one go (one reason, one day): almost nothing per card
    mass = [RevocationEntry(f"LY{s}", Reason.REPLACED, ISSUED)
            for s in range(10_000_000, 10_100_000)]
    dense = publish(eddsa_root, mass)
    assert len(dense) * (POPULATION / len(mass)) <= TARGET_BYTES / 10, len(dense)
    # a delta of 1,000 new revocations among 10 million numbers is a few kilobytes
    rng = random.Random(2)
    fresh = {f"LY{rng.randrange(10_000_000, 20_000_000)}" for _ in range(1_000)}
    delta = publish_delta(eddsa_root.key, eddsa_root.der,
                          [RevocationEntry(n, Reason.LOST, ISSUED) for n in fresh],
                          base_sequence=5, sequence=6, issued=ISSUED, next_update=NEXT)
    assert len(delta) <= 4_000, len(delta)
