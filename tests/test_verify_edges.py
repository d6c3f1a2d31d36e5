"""Edges of the verify path that a mutation run showed were thin: the boundary instants of a
certified signer, a profile card without exp, a forgery whose payload is also malformed, crit in
either header, and the consistency of every standard name field with the profile.

Real keys, real certificates and trust lists, real payloads; a pinned clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest

import cardlib
from cardlib import CardError, HolderRecord, PrivateKey, PublicKey, TrustStore, verify
from cardlib._pipeline import build, end_of_day
from cardlib.codec import _cbor
from cardlib.trust._certs import certify_centre, create_root, kid_for_certificate
from cardlib.trust._signer import CertifiedSigner
from cardlib.trust._trustlist import KeyRevocation, load_trust_list, publish_trust_list
from tests._craft import craft, cwt

from .conftest import CHECKED, ISSUED

ROOT_FROM = datetime(2025, 1, 1, tzinfo=UTC)
CENTRE_FROM = datetime(2025, 6, 1, tzinfo=UTC)
CENTRE_UNTIL = datetime(2028, 6, 1, tzinfo=UTC)
REVOKED_AT = datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
LIST_ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
LIST_NEXT = datetime(2026, 2, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _code(payload: str, trust: object, now: datetime = CHECKED) -> str:
    with pytest.raises(CardError) as info:
        verify(payload, trust, now=now)  # type: ignore[arg-type]
    return info.value.code


def _problems(payload: str, trust: object) -> set[tuple[str, str]]:
    with pytest.raises(cardlib.ValidationError) as info:
        verify(payload, trust, now=CHECKED)  # type: ignore[arg-type]
    assert info.value.code == "record_invalid"
    return {(p.path, p.code) for p in info.value.problems}


def _resigned(key: PrivateKey, record: HolderRecord, change: Callable[[Any], None]) -> str:
    """The example card's signed CWT, changed by ``change`` and signed again by ``key``."""
    claims = cbor2.loads(build(record, key, now=ISSUED).cbor)
    change(claims)
    return craft(key, cbor2.dumps(claims, canonical=True))


# --- certified signers: the boundary instants, through the real trust machinery --------------


@dataclasses.dataclass(frozen=True)
class Pki:
    store: TrustStore
    live: CertifiedSigner  # centre TRP-01, never revoked
    revoked: CertifiedSigner  # centre BEN-02, revoked at REVOKED_AT


@pytest.fixture(scope="module")
def pki() -> Pki:
    root_key = PrivateKey.generate("EdDSA")
    root_der = create_root("Civil Registry Root", root_key, now=ROOT_FROM, days=3650)
    signers = []
    for code in ("TRP-01", "BEN-02"):
        key = PrivateKey.generate("EdDSA")
        der = certify_centre(root_key, root_der, key.public_key, centre_code=code,
                             not_before=CENTRE_FROM, not_after=CENTRE_UNTIL)
        signers.append(CertifiedSigner(key, der))
    live, gone = signers
    data = publish_trust_list(root_key, root_der, [s.certificate_der for s in signers],
                              sequence=1, issued=LIST_ISSUED, next_update=LIST_NEXT,
                              revoked={kid_for_certificate(gone.certificate_der):
                                       KeyRevocation(REVOKED_AT, "superseded")})
    store = load_trust_list(data, root_der, now=LIST_ISSUED).trust_store()
    return Pki(store, live, gone)


def _signed_at(record: HolderRecord, signer: CertifiedSigner, moment: datetime) -> str:
    """The example record issued by ``signer`` with iat = ``moment`` (its issue date that day),
    naming the signer's centre."""
    centre = check_centre_certificate_code(signer.certificate_der)
    return cardlib.issue(dataclasses.replace(record, issue_date=moment.date(), centre_code=centre),
                         signer, now=moment)


def check_centre_certificate_code(der: bytes) -> str:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    unit = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(
        NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(unit[0].value)


def test_the_trust_store_carries_the_certificate_window_and_revocation(pki: Pki) -> None:
    live, = pki.store.by_kid(pki.live.kid)
    gone, = pki.store.by_kid(pki.revoked.kid)
    assert (live.valid_from, live.valid_until, live.revoked_at) == (
        CENTRE_FROM, CENTRE_UNTIL, None)
    assert (gone.valid_from, gone.valid_until, gone.revoked_at) == (
        CENTRE_FROM, CENTRE_UNTIL, REVOKED_AT)


@pytest.mark.parametrize(("offset", "expected"), [
    (-SECOND, None),
    (timedelta(0), "key_revoked"),  # the rule is iat >= revoked_at
    (SECOND, "key_revoked"),
])
def test_revocation_instant(
    pki: Pki, record: HolderRecord, offset: timedelta, expected: str | None
) -> None:
    moment = REVOKED_AT + offset
    payload = _signed_at(record, pki.revoked, moment)
    if expected is None:
        card = verify(payload, pki.store, now=CHECKED)
        assert card.signer == "BEN-02" and card.issued_at == moment
    else:
        assert _code(payload, pki.store) == expected
    # The same instant signed by the unrevoked centre is always fine.
    assert verify(_signed_at(record, pki.live, moment), pki.store, now=CHECKED).signer == "TRP-01"


@pytest.mark.parametrize(("moment", "expected"), [
    (CENTRE_FROM - SECOND, "certificate_not_yet_valid"),
    (CENTRE_FROM, None),  # not_before is inclusive
    (CENTRE_FROM + SECOND, None),
    (CENTRE_UNTIL - SECOND, None),
    (CENTRE_UNTIL, None),  # not_after is inclusive
    (CENTRE_UNTIL + SECOND, "certificate_expired"),
])
def test_certificate_window_ends(
    pki: Pki, record: HolderRecord, moment: datetime, expected: str | None
) -> None:
    payload = _signed_at(record, pki.live, moment)
    later = moment + timedelta(days=1)
    if expected is None:
        card = verify(payload, pki.store, now=later)
        assert card.issued_at == moment and card.signer == "TRP-01"
    else:
        assert _code(payload, pki.store, now=later) == expected


# --- certified signers: the same rule on bare keys, one attribute at a time ------------------

IAT = 1_800_000_000  # 2027-01-15 08:00 UTC
AT = datetime.fromtimestamp(IAT, UTC)


def _key_with(key: PrivateKey, window: dict[str, datetime]) -> PublicKey:
    return dataclasses.replace(
        key.public_key, label="LAB-01", valid_from=window.get("valid_from"),
        valid_until=window.get("valid_until"), revoked_at=window.get("revoked_at"),
        revocation_reason=None if "revoked_at" not in window else "superseded")


def _generic(key: PrivateKey, iat: int | None = IAT) -> str:
    return craft(key, cwt({1: "X"}, exp=IAT + 86_400 * 365, nbf=None, iat=iat))


@pytest.mark.parametrize(("window", "expected"), [
    ({"revoked_at": AT + SECOND}, None),
    ({"revoked_at": AT}, "key_revoked"),
    ({"revoked_at": AT - SECOND}, "key_revoked"),
    ({"valid_from": AT - SECOND}, None),
    ({"valid_from": AT}, None),
    ({"valid_from": AT + SECOND}, "certificate_not_yet_valid"),
    ({"valid_until": AT + SECOND}, None),
    ({"valid_until": AT}, None),
    ({"valid_until": AT - SECOND}, "certificate_expired"),
    # Revocation is checked first: a revoked key outside its window says key_revoked.
    ({"revoked_at": AT, "valid_from": AT + SECOND}, "key_revoked"),
    ({"revoked_at": AT, "valid_until": AT - SECOND}, "key_revoked"),
    ({"valid_from": AT, "valid_until": AT}, None),
], ids=lambda v: repr(v) if isinstance(v, str | None) else "-".join(
    f"{k}{int(t.timestamp()) - IAT:+d}" for k, t in v.items()))
def test_each_signer_bound_alone(
    ed_key: PrivateKey, window: dict[str, datetime], expected: str | None
) -> None:
    trust = _key_with(ed_key, window)
    payload = _generic(ed_key)
    now = AT + timedelta(days=1)
    if expected is None:
        card = verify(payload, trust, now=now)
        assert card.issued_at == AT and card.signer == "LAB-01"
    else:
        assert _code(payload, trust, now=now) == expected


@pytest.mark.parametrize("field", ["revoked_at", "valid_from", "valid_until"])
def test_a_certified_key_needs_iat_whichever_bound_it_has(ed_key: PrivateKey, field: str) -> None:
    bound = AT if field == "valid_from" else datetime(2100, 1, 1, tzinfo=UTC)
    trust = _key_with(ed_key, {field: bound})
    assert _code(_generic(ed_key, iat=None), trust, now=AT) == "claims_invalid"
    # An uncertified key accepts a card without iat.
    assert verify(_generic(ed_key, iat=None), ed_key.public_key, now=AT).issued_at is None


# --- a profile card must carry exp = the end of its expiry day --------------------------------


@pytest.mark.parametrize("exp", [None, -1, +1, -86_400])
def test_profile_card_exp_must_be_the_end_of_the_expiry_day(
    record: HolderRecord, ed_key: PrivateKey, exp: int | None
) -> None:
    right = end_of_day(record.expiry_date)

    def change(claims: Any) -> None:
        assert claims[4] == right
        if exp is None:
            del claims[4]
        else:
            claims[4] = right + exp

    found = _problems(_resigned(ed_key, record, change), ed_key.public_key)
    assert found == {("cwt.exp", "inconsistent")}


def test_generic_card_without_exp_is_accepted(ed_key: PrivateKey) -> None:
    """Only the profile ties exp to a date: a standard Claim 169 card may omit it."""
    card = verify(craft(ed_key, cwt({1: "X"}, exp=None)), ed_key.public_key, now=CHECKED)
    assert card.expires_at is None and card.record is None


# --- a forgery is refused before its payload is read -----------------------------------------

MALFORMED = [
    bytes.fromhex("a2" "01634c4259"),  # a map of 2 with one entry: truncated
    b"\xff",  # a lone break
    bytes.fromhex("a1" "01" "f97e00"),  # a float (NaN) in the claims
    bytes.fromhex("a2" "01" "01" "01" "02"),  # a duplicate key
]


@pytest.mark.parametrize("body", MALFORMED, ids=["truncated", "break", "float", "duplicate"])
def test_forgery_with_malformed_payload_is_signature_invalid(
    ed_key: PrivateKey, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    forger = PrivateKey.generate("EdDSA")
    forged = craft(forger, body, protected={1: -8, 4: ed_key.kid})  # a trusted kid
    genuine = craft(ed_key, body)
    decoded: list[bytes] = []

    def spy(decode: Any) -> Any:
        def counting(data: bytes, limits: cardlib.Limits) -> Any:
            decoded.append(data)
            return decode(data, limits)
        return counting

    for name in ("loads", "loads_unchecked"):  # every CBOR decode goes through one of them
        monkeypatch.setattr(_cbor, name, spy(getattr(_cbor, name)))
    assert _code(forged, ed_key.public_key) == "signature_invalid"
    assert body not in decoded  # the signed payload was never decoded
    # Control: signed by the trusted key, the same bytes are decoded (the spy sees them) and
    # refused as CBOR.
    assert _code(genuine, ed_key.public_key) in ("cbor_invalid", "cbor_duplicate_key")
    assert body in decoded
    assert body in decoded


# --- crit (label 2) is refused in either header ------------------------------------------------


@pytest.mark.parametrize(("protected", "unprotected"), [
    ({2: [4]}, {}),
    ({}, {2: [4]}),
    ({}, {2: []}),
    ({2: [1]}, {2: [1]}),
])
def test_crit_in_either_header_is_cose_invalid(
    ed_key: PrivateKey, protected: dict[int, Any], unprotected: dict[int, Any]
) -> None:
    payload = craft(ed_key, cwt({1: "X"}), protected={1: -8, 4: ed_key.kid, **protected},
                    unprotected=unprotected)
    assert _code(payload, ed_key.public_key) == "cose_invalid"


def test_without_crit_the_same_headers_verify(ed_key: PrivateKey) -> None:
    payload = craft(ed_key, cwt({1: "X"}), protected={1: -8, 4: ed_key.kid},
                    unprotected={3: "application/cwt"})
    assert verify(payload, ed_key.public_key, now=CHECKED).claims.id == "X"


# --- every standard name field agrees with the profile ---------------------------------------
#
# The profile carries each name once, as the standard full name (4 Latin, 19 Arabic) cut into
# four parts by its word counts (78, 77). First, middle and last name (5, 6, 7) repeat parts of
# the Latin name and are compared with them; a full name that no longer fits its word counts is
# reported at the counts; a Latin full name with the same word count but other words disagrees
# with first, middle or last name.


@pytest.mark.parametrize(("key", "value", "named"), [
    (5, "Muhammad", {5}),
    (6, "Ali", {6}),
    (6, "Ali  Salem", {6}),
    (6, "Salem Ali", {6}),
    (7, "El Warfali", {7}),
    (4, "Muhammad Ali Salem Elwarfali", {5}),
    (4, "Mohamed Ali Salim Elwarfali", {6}),
    (4, "Mohamed Ali Salem Warfali", {7}),
    (20, "ar", {20}),
    (22, "resident", {22}),
    (23, "LBX", {23}),
])
def test_each_standard_field_that_disagrees_is_named(
    record: HolderRecord, ed_key: PrivateKey, key: int, value: str, named: set[int]
) -> None:
    payload = _resigned(ed_key, record, lambda claims: claims[169].__setitem__(key, value))
    assert _problems(payload, ed_key.public_key) == {
        (f"claim169.{k}", "inconsistent") for k in named}


@pytest.mark.parametrize("key", [4, 5, 6, 7, 19, 20, 22, 23])
def test_each_standard_field_that_is_missing_is_named(
    record: HolderRecord, ed_key: PrivateKey, key: int
) -> None:
    payload = _resigned(ed_key, record, lambda claims: claims[169].pop(key))
    found = _problems(payload, ed_key.public_key)
    if key in (4, 19):  # the source of the four parts: nothing to cut
        counts = 78 if key == 4 else 77
        assert (f"claim169.{counts}", "type") in found
    else:
        assert found == {(f"claim169.{key}", "inconsistent")}


@pytest.mark.parametrize(("key", "value", "counts"), [
    (4, "Mohamed Ali Salem", 78),
    (4, "Mohamed Ali Salem El Warfali", 78),
    (4, "Mohamed  Ali Salem Elwarfali", 78),
    (19, "محمد علي سالم", 77),
    (19, "محمد علي سالم عمر الورفلي", 77),
])
def test_a_full_name_that_does_not_fit_its_word_counts_is_refused(
    record: HolderRecord, ed_key: PrivateKey, key: int, value: str, counts: int
) -> None:
    payload = _resigned(ed_key, record, lambda claims: claims[169].__setitem__(key, value))
    assert (f"claim169.{counts}", "type") in _problems(payload, ed_key.public_key)


def test_the_arabic_name_has_no_second_copy(record: HolderRecord, ed_key: PrivateKey) -> None:
    """secondaryFullName is the only Arabic name on the card: another name with the same word
    counts is another (validly signed) card, not an inconsistent one."""
    other = "أحمد علي سالم الورفلي"
    card = verify(_resigned(ed_key, record, lambda c: c[169].__setitem__(19, other)),
                  ed_key.public_key, now=CHECKED)
    assert card.record is not None and card.record.name_ar.full == other
    assert card.claims.secondary_full_name == other


def test_consistent_multi_word_parts_verify(record: HolderRecord, ed_key: PrivateKey) -> None:
    latin = cardlib.FourPartName("Abd Al Rahman", "Ali", "Salem Omar", "El Warfali")
    long_names = dataclasses.replace(record, name_latin=latin)
    claims = cbor2.loads(build(long_names, ed_key, now=ISSUED).cbor)[169]
    assert (claims[5], claims[6], claims[7]) == ("Abd Al Rahman", "Ali Salem Omar", "El Warfali")
    card = verify(cardlib.issue(long_names, ed_key, now=ISSUED), ed_key.public_key, now=CHECKED)
    assert card.record == long_names
    assert card.expires_at == datetime.combine(date(2036, 1, 10), datetime.min.time(), UTC)
