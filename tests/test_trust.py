"""Trust (issue 4): root and centre certificates, the root-signed trust list, cards verified
through it. Real keys, pinned times."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import cardlib
from cardlib._errors import (
    CertificateExpiredError,
    CertificateInvalidError,
    CertificateNotYetValidError,
    TrustInputError,
    TrustListError,
    TrustListRollbackError,
    TrustListSignatureError,
    all_error_classes,
)
from cardlib.codec import _cbor, _cose
from cardlib.trust._certs import (
    CARD_SIGNING_EKU,
    certify_centre,
    check_centre_certificate,
    create_root,
    kid_for_certificate,
    root_public_key,
)
from cardlib.trust._signer import CertifiedSigner
from cardlib.trust._trustlist import (
    CENTRES,
    CONTENT_TYPE,
    SEQUENCE,
    KeyRevocation,
    TrustList,
    load_trust_list,
    publish_trust_list,
)

from .conftest import CHECKED, ISSUED

ROOT_FROM = datetime(2025, 1, 1, tzinfo=UTC)
CENTRE_FROM = datetime(2025, 6, 1, tzinfo=UTC)
CENTRE_UNTIL = datetime(2028, 6, 1, tzinfo=UTC)
LIST_ISSUED = datetime(2026, 1, 1, tzinfo=UTC)
LIST_NEXT = datetime(2026, 2, 1, tzinfo=UTC)
LOADED = datetime(2026, 1, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Root:
    key: cardlib.PrivateKey
    der: bytes


@dataclass(frozen=True)
class Centre:
    key: cardlib.PrivateKey
    der: bytes
    code: str = "TRP-01"

    def card(self, record: cardlib.HolderRecord) -> cardlib.HolderRecord:
        """``record`` as this centre issues it (a card names the centre that signs it)."""
        return dataclasses.replace(record, centre_code=self.code)


CentreSigner = CertifiedSigner


@dataclass(frozen=True)
class _Anonymous:
    """A certified signer that does not say its centre (as a dishonest station's would not)."""

    inner: CertifiedSigner

    @property
    def algorithm(self) -> str:
        return self.inner.algorithm

    @property
    def kid(self) -> bytes:
        return self.inner.kid

    def sign(self, data: bytes) -> bytes:
        return self.inner.sign(data)


def make_root(algorithm: str, name: str = "Civil Registry Root") -> Root:
    key = cardlib.PrivateKey.generate(algorithm)
    return Root(key, create_root(name, key, now=ROOT_FROM, days=3650))


def make_centre(root: Root, algorithm: str, code: str) -> Centre:
    key = cardlib.PrivateKey.generate(algorithm)
    der = certify_centre(root.key, root.der, key.public_key, centre_code=code,
                         not_before=CENTRE_FROM, not_after=CENTRE_UNTIL)
    return Centre(key, der, code)


@pytest.fixture(scope="module", params=["EdDSA", "ES256"])
def root(request: pytest.FixtureRequest) -> Root:
    return make_root(request.param)


@pytest.fixture(scope="module")
def centres(root: Root) -> tuple[Centre, Centre]:
    return make_centre(root, "EdDSA", "TRP-01"), make_centre(root, "ES256", "BEN-02")


@pytest.fixture(scope="module")
def signed_list(root: Root, centres: tuple[Centre, Centre]) -> bytes:
    return publish_trust_list(root.key, root.der, [c.der for c in centres], sequence=7,
                              issued=LIST_ISSUED, next_update=LIST_NEXT)


def load(
    data: bytes,
    root: Root,
    *,
    now: datetime = LOADED,
    previous_sequence: int | None = None,
    limits: cardlib.Limits = cardlib.DEFAULT_LIMITS,
) -> TrustList:
    return load_trust_list(data, root.der, now=now, previous_sequence=previous_sequence,
                           limits=limits)


# --- certificates ------------------------------------------------------------------------------


def test_kid_for_certificate_is_sha256_of_der(root: Root) -> None:
    assert kid_for_certificate(root.der) == hashlib.sha256(root.der).digest()[:8]


def test_root_certificate_profile(root: Root) -> None:
    cert = x509.load_der_x509_certificate(root.der)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.critical and constraints.value.ca
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_before_utc == ROOT_FROM
    assert root_public_key(root.der).spki_der == root.key.public_key.spki_der


def test_centre_certificate_round_trip(root: Root, centres: tuple[Centre, Centre]) -> None:
    for centre, code in zip(centres, ("TRP-01", "BEN-02"), strict=True):
        checked = check_centre_certificate(centre.der, root.der, now=LOADED)
        assert checked.centre_code == code
        assert checked.kid == kid_for_certificate(centre.der)
        assert checked.public_key.spki_der == centre.key.public_key.spki_der
        assert checked.public_key.algorithm == centre.key.algorithm
        assert (checked.not_before, checked.not_after) == (CENTRE_FROM, CENTRE_UNTIL)
        cert = x509.load_der_x509_certificate(centre.der)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [CARD_SIGNING_EKU]


def test_centre_certificate_from_another_root_is_refused(
    root: Root, centres: tuple[Centre, Centre]
) -> None:
    # Same subject name: the check is the signature, not the name.
    other = make_root(root.key.algorithm)
    stranger = make_centre(other, "EdDSA", "TRP-01")
    with pytest.raises(CertificateInvalidError) as caught:
        check_centre_certificate(stranger.der, root.der)
    assert caught.value.code == "certificate_invalid"
    with pytest.raises(CertificateInvalidError):
        check_centre_certificate(centres[0].der, other.der)


def test_pinned_root_must_be_a_ca(root: Root, centres: tuple[Centre, Centre]) -> None:
    with pytest.raises(CertificateInvalidError, match="not a CA"):
        check_centre_certificate(centres[0].der, centres[0].der)
    with pytest.raises(CertificateInvalidError):
        check_centre_certificate(b"\x30\x03\x02\x01\x00", root.der)


def _craft(
    root: Root,
    *,
    ca: bool = False,
    cert_sign: bool = False,
    eku: list[x509.ObjectIdentifier] | None = None,
    ou: str | None = "TRP-09",
    critical_extra: bool = False,
) -> bytes:
    """A centre-like certificate signed by the real root but breaking one profile rule."""
    obj = serialization.load_pem_private_key(root.key.to_pem(), password=None)
    assert isinstance(obj, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    algorithm = None if isinstance(obj, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    issuer = x509.load_der_x509_certificate(root.der).subject
    names = [x509.NameAttribute(NameOID.COMMON_NAME, "Card signer")]
    if ou is not None:
        names.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=False, encipher_only=False, decipher_only=False)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(names))
        .issuer_name(issuer)
        .public_key(ed25519.Ed25519PrivateKey.generate().public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(CENTRE_FROM)
        .not_valid_after(CENTRE_UNTIL)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if critical_extra:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00"),
            critical=True)
    return builder.sign(obj, algorithm).public_bytes(serialization.Encoding.DER)


BAD_CERTS: dict[str, Callable[[Root], bytes]] = {
    "no EKU": lambda r: _craft(r),
    "server-auth EKU": lambda r: _craft(r, eku=[ExtendedKeyUsageOID.SERVER_AUTH]),
    "any EKU": lambda r: _craft(
        r, eku=[CARD_SIGNING_EKU, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]),
    "CA=true": lambda r: _craft(r, ca=True, eku=[CARD_SIGNING_EKU]),
    "keyCertSign": lambda r: _craft(r, cert_sign=True, eku=[CARD_SIGNING_EKU]),
    "no OU": lambda r: _craft(r, ou=None, eku=[CARD_SIGNING_EKU]),
    "unknown critical extension": lambda r: _craft(
        r, eku=[CARD_SIGNING_EKU], critical_extra=True),
}


@pytest.mark.parametrize("case", sorted(BAD_CERTS))
def test_centre_certificate_breaking_the_profile_is_refused(root: Root, case: str) -> None:
    with pytest.raises(CertificateInvalidError) as caught:
        check_centre_certificate(BAD_CERTS[case](root), root.der)
    assert caught.value.code == "certificate_invalid"


def test_well_formed_crafted_certificate_passes(root: Root) -> None:
    """The crafting helper is honest: with every rule kept, the same certificate is accepted."""
    assert check_centre_certificate(_craft(root, eku=[CARD_SIGNING_EKU]), root.der)


def test_centre_validity_window_is_reported_and_checked_on_request(
    root: Root, centres: tuple[Centre, Centre]
) -> None:
    der = centres[0].der
    before, after = CENTRE_FROM - timedelta(seconds=1), CENTRE_UNTIL + timedelta(seconds=1)
    with pytest.raises(CertificateNotYetValidError) as early:
        check_centre_certificate(der, root.der, now=before)
    assert early.value.code == "certificate_not_yet_valid"
    with pytest.raises(CertificateExpiredError) as late:
        check_centre_certificate(der, root.der, now=after)
    assert late.value.code == "certificate_expired"
    # Without `now` only the window is reported.
    assert check_centre_certificate(der, root.der).not_after == CENTRE_UNTIL


def test_certify_refuses_bad_input(root: Root) -> None:
    centre = cardlib.PrivateKey.generate("EdDSA")
    other = cardlib.PrivateKey.generate(root.key.algorithm)
    with pytest.raises(TrustInputError, match="does not match"):
        certify_centre(other, root.der, centre.public_key, centre_code="TRP-01",
                       not_before=CENTRE_FROM, not_after=CENTRE_UNTIL)
    with pytest.raises(TrustInputError, match="centre code"):
        certify_centre(root.key, root.der, centre.public_key, centre_code="TRP 01",
                       not_before=CENTRE_FROM, not_after=CENTRE_UNTIL)
    with pytest.raises(TrustInputError, match="later"):
        certify_centre(root.key, root.der, centre.public_key, centre_code="TRP-01",
                       not_before=CENTRE_UNTIL, not_after=CENTRE_FROM)
    with pytest.raises(TrustInputError, match="timezone"):
        certify_centre(root.key, root.der, centre.public_key, centre_code="TRP-01",
                       not_before=datetime(2025, 1, 1), not_after=CENTRE_UNTIL)


# --- the trust list ------------------------------------------------------------------------------


def test_trust_list_round_trip(
    root: Root, centres: tuple[Centre, Centre], signed_list: bytes
) -> None:
    trust_list = load(signed_list, root)
    assert trust_list.sequence == 7
    assert (trust_list.issued, trust_list.next_update) == (LIST_ISSUED, LIST_NEXT)
    assert [c.der for c in trust_list.centres] == [c.der for c in centres]
    assert [c.centre_code for c in trust_list.centres] == ["TRP-01", "BEN-02"]
    assert dict(trust_list.revoked) == {}
    assert trust_list.stale is False
    # Deterministic CBOR: the signed payload re-encodes to the same bytes.
    message = _cose.decode(signed_list, cardlib.DEFAULT_LIMITS)
    assert message.protected_header[3] == CONTENT_TYPE
    assert message.protected_header[4] == kid_for_certificate(root.der)
    assert _cbor.dumps(_cbor.loads(message.payload, cardlib.DEFAULT_LIMITS)) == message.payload


def test_card_from_a_certified_centre_verifies_through_the_trust_list(
    root: Root, centres: tuple[Centre, Centre], signed_list: bytes, record: cardlib.HolderRecord
) -> None:
    store = load(signed_list, root).trust_store()
    assert sorted(k.kid for k in store.keys) == sorted(kid_for_certificate(c.der) for c in centres)
    for centre in centres:
        signer = CentreSigner(centre.key, centre.der)
        assert isinstance(signer, cardlib.Signer)
        payload = cardlib.issue(centre.card(record), signer, now=ISSUED)
        card = cardlib.verify(payload, store, now=CHECKED)
        assert card.kid == kid_for_certificate(centre.der)
        # The same centre cannot issue a card in another centre's name: issue refuses it,
        # and a card made anyway (by a signer that hides its centre) fails verification.
        other = dataclasses.replace(record, centre_code="BEN-02" if centre.code == "TRP-01"
                                    else "TRP-01")
        with pytest.raises(cardlib.ValidationError) as refused:
            cardlib.issue(other, signer, now=ISSUED)
        assert [(p.path, p.code) for p in refused.value.problems] == [
            ("centre_code", "signer_mismatch")]
        forged = cardlib.issue(other, _Anonymous(signer), now=ISSUED)
        with pytest.raises(cardlib.CentreMismatchError):
            cardlib.verify(forged, store, now=CHECKED)
        assert card.algorithm == centre.key.algorithm
        # A key outside the list is not trusted, whatever kid it claims.
        stranger = CentreSigner(cardlib.PrivateKey.generate(centre.key.algorithm), centre.der)
        with pytest.raises(cardlib.SignatureInvalidError):
            cardlib.verify(cardlib.issue(centre.card(record), stranger, now=ISSUED), store,
                           now=CHECKED)


def test_trust_list_signed_by_another_root_is_refused(
    root: Root, centres: tuple[Centre, Centre]
) -> None:
    other = make_root(root.key.algorithm)  # same name, different key
    forged = publish_trust_list(other.key, other.der, [make_centre(other, "EdDSA", "TRP-01").der],
                                sequence=99, issued=LIST_ISSUED, next_update=LIST_NEXT)
    with pytest.raises(TrustListSignatureError) as caught:
        load(forged, root)
    assert caught.value.code == "trust_list_signature_invalid"


def test_trust_list_with_root_of_other_algorithm_is_refused(root: Root) -> None:
    other = make_root("ES256" if root.key.algorithm == "EdDSA" else "EdDSA")
    forged = publish_trust_list(other.key, other.der, [], sequence=1, issued=LIST_ISSUED,
                                next_update=LIST_NEXT)
    with pytest.raises(TrustListError, match="algorithm"):
        load(forged, root)


def test_tampered_payload_is_refused(root: Root, signed_list: bytes) -> None:
    message = _cose.decode(signed_list, cardlib.DEFAULT_LIMITS)
    body = _cbor.loads(message.payload, cardlib.DEFAULT_LIMITS)
    body[SEQUENCE] = 8
    altered = _cose.encode(message.protected, {}, _cbor.dumps(body), message.signature)
    with pytest.raises(TrustListSignatureError):
        load(altered, root)


def test_every_flipped_byte_is_refused(root: Root, signed_list: bytes) -> None:
    for index in range(len(signed_list)):
        data = bytearray(signed_list)
        data[index] ^= 0x01
        with pytest.raises(cardlib.CardError):
            load(bytes(data), root)


def test_rollback_is_refused_with_its_code(root: Root, signed_list: bytes) -> None:
    with pytest.raises(TrustListRollbackError) as caught:
        load(signed_list, root, previous_sequence=8)
    assert caught.value.code == "trust_list_rollback"
    assert load(signed_list, root, previous_sequence=7).sequence == 7
    assert load(signed_list, root, previous_sequence=6).sequence == 7


def test_stale_list_is_reported_not_refused(
    root: Root, signed_list: bytes, record: cardlib.HolderRecord, centres: tuple[Centre, Centre]
) -> None:
    assert load(signed_list, root, now=LIST_NEXT).stale is False
    stale = load(signed_list, root, now=LIST_NEXT + timedelta(seconds=1))
    assert stale.stale is True
    payload = cardlib.issue(record, CentreSigner(centres[0].key, centres[0].der), now=ISSUED)
    assert cardlib.verify(payload, stale.trust_store(), now=CHECKED)


def test_expired_centre_stays_listed(root: Root, signed_list: bytes) -> None:
    """Cards signed before a rotation keep verifying: load does not drop expired centres."""
    late = load(signed_list, root, now=CENTRE_UNTIL + timedelta(days=30))
    assert late.stale is True
    assert len(late.trust_store()) == 2
    with pytest.raises(CertificateExpiredError):
        late.centres[0].check_valid_at(CENTRE_UNTIL + timedelta(days=30))


def test_a_revoked_centre_key_refuses_cards_signed_after_the_revocation(
    root: Root, centres: tuple[Centre, Centre], record: cardlib.HolderRecord
) -> None:
    gone = kid_for_certificate(centres[1].der)
    when = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)
    signer = CertifiedSigner(centres[1].key, centres[1].der)
    record = centres[1].card(record)
    after = cardlib.issue(record, signer, now=ISSUED)  # 2026-01-10: after the revocation
    before_record = dataclasses.replace(record, issue_date=datetime(2026, 1, 4).date())
    before = cardlib.issue(before_record, signer, now=datetime(2026, 1, 4, 9, tzinfo=UTC))
    reasons: tuple[Literal["superseded", "compromised"], ...] = ("superseded", "compromised")
    for reason in reasons:
        revocation = KeyRevocation(when, reason)
        data = publish_trust_list(root.key, root.der, [c.der for c in centres], sequence=8,
                                  issued=LIST_ISSUED, next_update=LIST_NEXT,
                                  revoked={gone: revocation})
        trust_list = load(data, root)
        assert dict(trust_list.revoked) == {gone: revocation}
        store = trust_list.trust_store()
        revoked_key = store.by_kid(gone)[0]
        assert (revoked_key.revoked_at, revoked_key.revocation_reason) == (when, reason)
        assert revoked_key.label == "BEN-02"
        with pytest.raises(cardlib.KeyRevokedError) as info:
            cardlib.verify(after, store, now=CHECKED)
        assert info.value.code == "key_revoked"
        if reason == "superseded":  # signed before a retirement: still good
            card = cardlib.verify(before, store, now=CHECKED)
            assert card.signer == "BEN-02" and card.record == before_record
        else:  # a compromised key's holder chooses the iat: a date before proves nothing
            with pytest.raises(cardlib.KeyRevokedError, match="compromised"):
                cardlib.verify(before, store, now=CHECKED)


def test_a_key_revocation_needs_a_reason_and_a_listed_kid(
    root: Root, centres: tuple[Centre, Centre]
) -> None:
    gone = kid_for_certificate(centres[1].der)
    when = datetime(2026, 1, 5, tzinfo=UTC)
    base: dict[str, Any] = {"sequence": 9, "issued": LIST_ISSUED, "next_update": LIST_NEXT}
    with pytest.raises(cardlib.TrustInputError, match="reason"):
        publish_trust_list(root.key, root.der, [c.der for c in centres],
                           revoked={gone: when}, **base)  # type: ignore[dict-item]
    with pytest.raises(cardlib.TrustInputError):
        KeyRevocation(when, "lost")  # type: ignore[arg-type]
    with pytest.raises(cardlib.TrustInputError, match="not the kid of a centre"):
        publish_trust_list(root.key, root.der, [centres[0].der],
                           revoked={gone: KeyRevocation(when, "compromised")}, **base)



def test_cards_must_be_signed_inside_the_certificate_window(
    root: Root, centres: tuple[Centre, Centre], record: cardlib.HolderRecord
) -> None:
    data = publish_trust_list(root.key, root.der, [c.der for c in centres], sequence=9,
                              issued=LIST_ISSUED, next_update=LIST_NEXT)
    store = load(data, root).trust_store()
    signer = CertifiedSigner(centres[0].key, centres[0].der)
    early = dataclasses.replace(record, issue_date=(CENTRE_FROM - timedelta(days=2)).date())
    payload = cardlib.issue(early, signer, now=CENTRE_FROM - timedelta(days=1))
    with pytest.raises(cardlib.CardError) as info:
        cardlib.verify(payload, store, now=CHECKED)
    assert info.value.code == "certificate_not_yet_valid"
    late_now = CENTRE_UNTIL + timedelta(days=1)
    late = dataclasses.replace(record, issue_date=late_now.date(),
                               expiry_date=(late_now + timedelta(days=3650)).date())
    payload = cardlib.issue(late, signer, now=late_now)
    with pytest.raises(cardlib.CardError) as info:
        cardlib.verify(payload, store, now=late_now + timedelta(days=1))
    assert info.value.code == "certificate_expired"


def _root_signed(root: Root, body: object, content_type: str = CONTENT_TYPE) -> bytes:
    """A COSE_Sign1 signed by the real root around any payload (bypasses publish's checks)."""
    alg = -8 if root.key.algorithm == "EdDSA" else -7
    protected = _cose.encode_header({1: alg, 3: content_type})
    payload = _cbor.dumps(body)
    return _cose.encode(protected, {}, payload,
                        root.key.sign(_cose.sig_structure(protected, payload)))


def test_signed_list_with_foreign_centre_is_refused(root: Root) -> None:
    stranger = make_centre(make_root(root.key.algorithm), "EdDSA", "TRP-01")
    body = {1: 1, 2: 0, 3: 10, 4: [stranger.der], 5: []}
    with pytest.raises(CertificateInvalidError):
        load(_root_signed(root, body), root)


@pytest.mark.parametrize(
    "body",
    [
        {1: 1, 2: 0, 3: 10, 4: []},
        {1: -1, 2: 0, 3: 10, 4: [], 5: []},
        {1: 1, 2: 10, 3: 0, 4: [], 5: []},
        {1: 1, 2: 0, 3: 10, 4: ["x"], 5: []},
        {1: 1, 2: 0, 3: 10, 4: [], 5: [[b"k", 1, 2]]},
        {1: 1, 2: 0, 3: 10, 4: [], 5: [[b"k", 1], [b"k", 2]]},
        [1, 2, 3],
    ],
    ids=["missing label", "negative sequence", "next before issued", "text cert",
         "bad revoked pair", "revoked twice", "not a map"],
)
def test_malformed_signed_payload_is_refused(root: Root, body: object) -> None:
    with pytest.raises(TrustListError):
        load(_root_signed(root, body), root)


def test_other_root_signed_message_is_not_a_trust_list(root: Root) -> None:
    body = {1: 1, 2: 0, 3: 10, 4: [], 5: []}
    with pytest.raises(TrustListError, match="not a trust list"):
        load(_root_signed(root, body, content_type="application/cwt"), root)


def test_duplicate_centre_refused(root: Root, centres: tuple[Centre, Centre]) -> None:
    body = {1: 1, 2: 0, 3: 10, 4: [centres[0].der, centres[0].der], 5: []}
    with pytest.raises(TrustListError, match="twice"):
        load(_root_signed(root, body), root)
    with pytest.raises(TrustInputError, match="twice"):
        publish_trust_list(root.key, root.der, [centres[0].der] * 2, sequence=1,
                           issued=LIST_ISSUED, next_update=LIST_NEXT)


def test_publish_refuses_what_load_would_refuse(root: Root) -> None:
    stranger = make_centre(make_root(root.key.algorithm), "EdDSA", "TRP-01")
    with pytest.raises(CertificateInvalidError):
        publish_trust_list(root.key, root.der, [stranger.der], sequence=1,
                           issued=LIST_ISSUED, next_update=LIST_NEXT)
    with pytest.raises(TrustInputError, match="does not match"):
        publish_trust_list(cardlib.PrivateKey.generate(root.key.algorithm), root.der, [],
                           sequence=1, issued=LIST_ISSUED, next_update=LIST_NEXT)


def test_oversize_input_is_refused(root: Root, signed_list: bytes) -> None:
    tight = cardlib.Limits(max_decompressed_bytes=len(signed_list) - 1)
    with pytest.raises(cardlib.InputTooLargeError):
        load(signed_list, root, limits=tight)
    assert load(signed_list, root, limits=cardlib.Limits(max_decompressed_bytes=len(signed_list)))
    with pytest.raises(cardlib.TrustListError, match="more than 6 items"):
        load(signed_list, root, limits=cardlib.Limits(max_items=6))  # the file's error, named


def test_many_centres_are_counted_against_the_item_limit(root: Root) -> None:
    body = {1: 1, 2: 0, 3: 10, 4: [b"\x00"] * 600, 5: []}
    with pytest.raises(cardlib.CborCountError):
        load(_root_signed(root, body), root)


def test_new_error_codes_are_unique_and_distinct() -> None:
    new = [CertificateInvalidError, CertificateExpiredError, CertificateNotYetValidError,
           TrustInputError, TrustListError, TrustListSignatureError, TrustListRollbackError]
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes)), "every CardError code is unique"
    assert all(cls in all_error_classes() for cls in new)
    assert {cls.code for cls in new} == {
        "certificate_invalid", "certificate_expired", "certificate_not_yet_valid",
        "trust_input_invalid", "trust_list_invalid", "trust_list_signature_invalid",
        "trust_list_rollback"}
    assert CENTRES == 4


def test_rotation_keeps_old_cards_verifying(
    root: Root, centres: tuple[Centre, Centre], record: cardlib.HolderRecord
) -> None:
    """A retired centre key (its certificate expired) stays in the list: the cards it signed
    while certified keep verifying until they expire; a successor key signs new cards."""
    successor = make_centre(root, "EdDSA", "TRP-01")
    data = publish_trust_list(root.key, root.der, [c.der for c in centres] + [successor.der],
                              sequence=10, issued=LIST_ISSUED, next_update=LIST_NEXT)
    store = load(data, root).trust_store()
    old = cardlib.issue(record, CertifiedSigner(centres[0].key, centres[0].der), now=ISSUED)
    new = cardlib.issue(record, CertifiedSigner(successor.key, successor.der), now=ISSUED)
    after_retirement = CENTRE_UNTIL + timedelta(days=30)  # the old certificate has expired
    assert cardlib.verify(old, store, now=after_retirement).record == record
    assert cardlib.verify(new, store, now=after_retirement).record == record


def test_a_serial_number_can_be_fixed_for_reproducible_certificates() -> None:

    from cardlib.trust import certify_centre, create_root

    key = cardlib.PrivateKey.generate("EdDSA")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = create_root("R", key, now=start, days=10, serial_number=7)
    assert first == create_root("R", key, now=start, days=10, serial_number=7)  # Ed25519
    assert x509.load_der_x509_certificate(first).serial_number == 7
    assert create_root("R", key, now=start, days=10) != create_root("R", key, now=start, days=10)
    centre = certify_centre(key, first, cardlib.PrivateKey.generate("ES256").public_key,
                            centre_code="TRP-01", not_before=start,
                            not_after=start + timedelta(days=1), serial_number=2**159 - 1)
    assert x509.load_der_x509_certificate(centre).serial_number == 2**159 - 1
    for bad in (0, -1, 2**159, True, 1.5):
        with pytest.raises(cardlib.TrustInputError):
            create_root("R", key, now=start, days=10, serial_number=bad)  # type: ignore[arg-type]


def test_a_compromised_key_is_refused_under_every_certificate_of_it(
    root: Root, centres: tuple[Centre, Centre], record: cardlib.HolderRecord
) -> None:
    """A key certified twice (a renewed certificate) and revoked as compromised under one kid is
    revoked under the other too: a revocation is of the key, not of one certificate."""
    centre = centres[0]
    renewed = certify_centre(root.key, root.der, centre.key.public_key, centre_code=centre.code,
                             not_before=CENTRE_FROM, not_after=CENTRE_UNTIL)
    data = publish_trust_list(
        root.key, root.der, [centre.der, renewed], sequence=10, issued=LIST_ISSUED,
        next_update=LIST_NEXT,
        revoked={kid_for_certificate(centre.der): KeyRevocation(LIST_ISSUED, "compromised")})
    store = load(data, root).trust_store()
    for der in (centre.der, renewed):
        payload = cardlib.issue(centre.card(record), CertifiedSigner(centre.key, der), now=ISSUED)
        with pytest.raises(cardlib.KeyRevokedError, match="compromised"):
            cardlib.verify(payload, store, now=CHECKED)


def test_a_card_without_the_profile_must_name_its_signers_centre(
    root: Root, centres: tuple[Centre, Centre], signed_list: bytes
) -> None:
    """A certified centre's card without the national profile names its centre in the standard
    locationCode (key 21): another centre's code is centre_mismatch; none at all is allowed."""
    from ._craft import craft, cwt

    store = load(signed_list, root).trust_store()
    centre = centres[0]
    signer = CertifiedSigner(centre.key, centre.der)
    alg = -8 if centre.key.algorithm == "EdDSA" else -7
    for named, expected in (("BEN-02", "centre_mismatch"), (centre.code, None), (None, None)):
        claims: dict[int, object] = {1: "119850012347", 4: "Mohamed Ali Salem Elwarfali"}
        if named is not None:
            claims[21] = named
        iat = int(ISSUED.timestamp())
        payload = craft(centre.key, cwt(claims, iat=iat, nbf=iat),
                        protected={1: alg, 4: signer.kid})
        if expected is None:
            assert cardlib.verify(payload, store, now=CHECKED).record is None
        else:
            with pytest.raises(cardlib.CentreMismatchError):
                cardlib.verify(payload, store, now=CHECKED)
