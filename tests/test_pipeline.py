"""Issue and verify end to end, and every refusal on the verify path."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import cardlib
from cardlib import (
    CardError,
    HolderRecord,
    PrivateKey,
    TrustStore,
    verify,
)
from cardlib._pipeline import build, end_of_day
from cardlib.codec._base45 import b45decode
from cardlib.codec._cose import sig_structure
from tests._craft import craft, cwt

from .conftest import CHECKED, ISSUED

NOW_TS = int(CHECKED.timestamp())


def _code(payload: str, trust: object, **kwargs: object) -> str:
    with pytest.raises(CardError) as info:
        verify(payload, trust, now=CHECKED, **kwargs)  # type: ignore[arg-type]
    return info.value.code


def test_round_trip_both_algorithms(
    record: HolderRecord, any_key: PrivateKey, trust: TrustStore
) -> None:
    payload = cardlib.issue(record, any_key, now=ISSUED)
    assert payload == payload.upper() and len(payload) < 700
    card = verify(payload, trust, now=CHECKED)
    assert card.record == record
    assert card.algorithm == any_key.algorithm
    assert card.kid == any_key.kid
    assert card.issuer == "LBY"
    assert card.issued_at == ISSUED
    assert card.expires_at == datetime(2036, 1, 10, tzinfo=UTC)
    assert card.claims.id == "119850012347"
    assert card.claims.secondary_full_name == "محمد علي سالم الورفلي"
    assert card.claims.secondary_language == "ara"
    assert card.claims.full_name == "Mohamed Ali Salem Elwarfali"
    assert card.claims.date_of_birth == "19850314"
    assert card.compressed and card.envelope == "tag18"
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.record = None  # type: ignore[misc]


def test_issue_is_deterministic_for_ed25519(record: HolderRecord, ed_key: PrivateKey) -> None:
    assert cardlib.issue(record, ed_key, now=ISSUED) == cardlib.issue(record, ed_key, now=ISSUED)


def test_photo_is_carried(record: HolderRecord, ed_key: PrivateKey) -> None:
    photo = bytes(range(256)) * 2
    with_photo = dataclasses.replace(record, photo=photo, photo_format=cardlib.PhotoFormat.WEBP)
    card = verify(cardlib.issue(with_photo, ed_key, now=ISSUED), ed_key.public_key, now=CHECKED)
    assert card.record is not None and card.record.photo == photo
    assert card.claims.photo_format == 4


def test_invalid_record_is_not_signed(record: HolderRecord, ed_key: PrivateKey) -> None:
    bad = dataclasses.replace(record, national_number="219850012347", centre_code="")
    with pytest.raises(cardlib.ValidationError) as info:
        cardlib.issue(bad, ed_key, now=ISSUED)
    assert {p.code for p in info.value.problems} == {"sex_mismatch", "required"}
    with pytest.raises(cardlib.ValidationError, match=r"expiry_date: past"):
        cardlib.issue(record, ed_key, now=datetime(2036, 1, 11, tzinfo=UTC))


# --- time ---------------------------------------------------------------------------------------

def test_expiry_and_not_before_with_skew(record: HolderRecord, ed_key: PrivateKey) -> None:
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    exp = datetime(2036, 1, 10, tzinfo=UTC)
    trust = ed_key.public_key
    # The default skew (300 s) tolerates a verifier clock that runs behind or ahead.
    assert verify(payload, trust, now=exp + timedelta(seconds=299)).record == record
    with pytest.raises(cardlib.ExpiredError) as expired:
        verify(payload, trust, now=exp + timedelta(seconds=300))
    assert expired.value.code == "expired"
    assert verify(payload, trust, now=exp - timedelta(seconds=1), skew=timedelta(0)).record
    with pytest.raises(cardlib.ExpiredError):
        verify(payload, trust, now=exp, skew=timedelta(0))
    assert verify(payload, trust, now=ISSUED - timedelta(seconds=300)).record == record
    with pytest.raises(cardlib.NotYetValidError) as early:
        verify(payload, trust, now=ISSUED - timedelta(seconds=301))
    assert early.value.code == "not_yet_valid"
    with pytest.raises(cardlib.NotYetValidError):
        verify(payload, trust, now=ISSUED - timedelta(seconds=1), skew=timedelta(0))
    assert end_of_day(record.expiry_date) == int(exp.timestamp())


def test_naive_now_is_refused(record: HolderRecord, ed_key: PrivateKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cardlib.issue(record, ed_key, now=datetime(2026, 1, 1))


# --- keys and algorithms -----------------------------------------------------------------------

def test_unknown_key(record: HolderRecord, ed_key: PrivateKey) -> None:
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    assert _code(payload, PrivateKey.generate("EdDSA").public_key) == "key_unknown"
    assert _code(payload, TrustStore([])) == "key_unknown"


def test_tampered_payload_and_signature(record: HolderRecord, ed_key: PrivateKey) -> None:
    layers = build(record, ed_key, now=ISSUED)
    flipped = bytearray(layers.cbor)
    flipped[-1] ^= 1
    assert _code(craft(ed_key, bytes(flipped), signature=layers.signature),
                 ed_key.public_key) == "signature_invalid"
    bad_sig = bytes([layers.signature[0] ^ 1]) + layers.signature[1:]
    assert _code(craft(ed_key, layers.cbor, signature=bad_sig),
                 ed_key.public_key) == "signature_invalid"


def test_alg_must_be_in_the_protected_header(ed_key: PrivateKey) -> None:
    body = cwt({1: "x"})
    only_kid = craft(ed_key, body, protected={4: ed_key.kid})
    assert _code(only_kid, ed_key.public_key) == "alg_missing"
    moved = craft(ed_key, body, protected={4: ed_key.kid}, unprotected={1: -8})
    assert _code(moved, ed_key.public_key) == "alg_missing"
    empty = craft(ed_key, body, protected=b"", unprotected={1: -8, 4: ed_key.kid})
    assert _code(empty, ed_key.public_key) == "alg_missing"


@pytest.mark.parametrize("alg", [-35, -36, -257, -37, 0, "EdDSA", -7.0])
def test_unsupported_algorithms(ed_key: PrivateKey, alg: object) -> None:
    payload = craft(ed_key, cwt({1: "x"}), protected={1: alg, 4: ed_key.kid})
    assert _code(payload, ed_key.public_key) in ("alg_unsupported", "cbor_invalid")


def test_algorithm_confusion_is_refused(ed_key: PrivateKey, es_key: PrivateKey) -> None:
    body = cwt({1: "x"})
    # Header claims ES256 but names the Ed25519 key (and vice versa).
    es_claim = craft(es_key, body, protected={1: -7, 4: ed_key.kid})
    assert _code(es_claim, TrustStore([ed_key.public_key])) == "alg_key_mismatch"
    ed_claim = craft(ed_key, body, protected={1: -8, 4: es_key.kid})
    assert _code(ed_claim, TrustStore([es_key.public_key])) == "alg_key_mismatch"
    # Without a kid, only keys of the named algorithm are tried.
    no_kid = craft(ed_key, body, protected={1: -7})
    assert _code(no_kid, TrustStore([ed_key.public_key])) == "key_unknown"


def test_es256_signature_must_be_raw_r_s(es_key: PrivateKey) -> None:
    body = cwt({1: "x"})
    protected = cbor2.dumps({1: -7, 4: es_key.kid}, canonical=True)
    raw = es_key.sign(sig_structure(protected, body))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    assert _code(craft(es_key, body, signature=der), es_key.public_key) == "signature_malformed"
    for bad in (raw[:63], raw + b"\x00", bytes(64), b"\xff" * 64, b""):
        assert _code(craft(es_key, body, signature=bad), es_key.public_key) in (
            "signature_malformed",)
    assert verify(craft(es_key, body, signature=raw), es_key.public_key, now=CHECKED)


def test_eddsa_signature_length(ed_key: PrivateKey) -> None:
    body = cwt({1: "x"})
    for bad in (b"", bytes(63), bytes(65)):
        assert _code(craft(ed_key, body, signature=bad), ed_key.public_key) == (
            "signature_malformed")


def test_shared_kid_tries_each_key(ed_key: PrivateKey) -> None:
    other = PrivateKey.generate("EdDSA")
    body = cwt({1: "x"})
    payload = craft(ed_key, body, protected={1: -8, 4: other.kid})
    # A trust store where the *real* signer's key is listed under the other key's kid.
    impostor = dataclasses.replace(ed_key.public_key, kid=other.kid)
    card = verify(payload, TrustStore([other.public_key, impostor]), now=CHECKED)
    assert card.claims.id == "x"
    assert _code(payload, TrustStore([other.public_key])) == "signature_invalid"


# --- accepted variants -------------------------------------------------------------------------

@pytest.mark.parametrize("envelope", ["tag18", "untagged", "tag61"])
@pytest.mark.parametrize("compress", [True, False])
def test_accepted_envelopes(
    record: HolderRecord, ed_key: PrivateKey, envelope: str, compress: bool
) -> None:
    layers = build(record, ed_key, now=ISSUED)
    payload = craft(ed_key, layers.cbor, envelope=envelope, compress=compress)
    card = verify(payload, ed_key.public_key, now=CHECKED)
    assert card.record == record
    assert card.envelope == envelope and card.compressed is compress


def test_claim_169_as_a_byte_string(record: HolderRecord, es_key: PrivateKey) -> None:
    layers = build(record, es_key, now=ISSUED)
    claims = cbor2.loads(layers.cbor)
    claims[169] = cbor2.dumps(claims[169], canonical=True)
    card = verify(craft(es_key, cbor2.dumps(claims, canonical=True)), es_key.public_key,
                  now=CHECKED)
    assert card.record == record


def test_kid_in_the_unprotected_header_and_no_kid(record: HolderRecord, ed_key: PrivateKey) -> None:
    body = build(record, ed_key, now=ISSUED).cbor
    unprotected = craft(ed_key, body, protected={1: -8}, unprotected={4: ed_key.kid})
    assert verify(unprotected, ed_key.public_key, now=CHECKED).kid == ed_key.kid
    nokid = craft(ed_key, body, protected={1: -8})
    others = [PrivateKey.generate("EdDSA").public_key for _ in range(3)]
    card = verify(nokid, TrustStore([*others, ed_key.public_key]), now=CHECKED)
    assert card.kid is None and card.record == record
    assert _code(nokid, TrustStore(others)) == "signature_invalid"
    # The protected kid wins over an unprotected one.
    both = craft(ed_key, body, protected={1: -8, 4: ed_key.kid}, unprotected={4: b"other"})
    assert verify(both, ed_key.public_key, now=CHECKED).kid == ed_key.kid
    bad_kid = craft(ed_key, body, protected={1: -8, 4: "text kid"})
    assert _code(bad_kid, ed_key.public_key) == "cose_invalid"


def test_generic_claim169_without_the_profile(ed_key: PrivateKey) -> None:
    claim = {1: "ID-1", 4: "Jane Doe", 9: 2, 16: b"\x01\x02", 17: 4, 24: "future", 62: [{0: b"x"}]}
    card = verify(craft(ed_key, cwt(claim)), ed_key.public_key, now=CHECKED)
    assert card.record is None
    assert card.claims.full_name == "Jane Doe" and card.claims.gender == 2
    assert dict(card.claims.extras) == {24: "future"}
    assert set(card.claims.biometrics) == {62}


@pytest.mark.parametrize(
    ("claim", "path"),
    [({9: 7}, "claim169.9"), ({17: 9}, "claim169.17"), ({4: 5}, "claim169.4"),
     ({16: "hex"}, "claim169.16"), ({14: 0}, "claim169.14"), ({18: [11]}, "claim169.18"),
     ({50: "x"}, "claim169.50")],
)
def test_out_of_range_and_mistyped_claims_are_errors(
    ed_key: PrivateKey, claim: dict[int, object], path: str
) -> None:
    with pytest.raises(cardlib.ValidationError) as info:
        verify(craft(ed_key, cwt(claim)), ed_key.public_key, now=CHECKED)
    assert info.value.code == "record_invalid"
    assert path in {p.path for p in info.value.problems}


def test_profile_map_is_revalidated(record: HolderRecord, ed_key: PrivateKey) -> None:
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[169][9] = 2  # sex female, but national number says male and name parts disagree
    claims[169][99] = "unknown profile field"
    claims[169][4] = "Someone Else"
    with pytest.raises(cardlib.ValidationError) as info:
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)
    found = {(p.path, p.code) for p in info.value.problems}
    assert ("national_number", "sex_mismatch") in found
    assert ("claim169.99", "unknown_field") in found
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[169][5] = "Someone"  # firstName disagrees with the first part of fullName
    with pytest.raises(cardlib.ValidationError, match="inconsistent"):
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[169][75] = 2
    with pytest.raises(cardlib.ValidationError, match="unsupported_profile"):
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[4] += 1
    with pytest.raises(cardlib.ValidationError, match=r"cwt\.exp"):
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)


@pytest.mark.parametrize(("key", "value", "problem"), [
    (77, [1, 1, 1, 2], "claim169.77"),  # one word short of the counts
    (77, [1, 1, 1], "claim169.77"),
    (77, [0, 2, 1, 1], "claim169.77"),
    (78, [True, 1, 1, 1], "claim169.78"),
    (78, "1111", "claim169.78"),
    (78, None, "claim169.78"),
    (8, "19851314", "claim169.8"),
    (8, "１９８５０３１４", "claim169.8"),
    (8, "1985W011", "claim169.8"),
    (83, 20260101, "claim169.83"),
    (84, "2036-13-01", "claim169.84"),
])
def test_profile_fields_are_read_strictly(
    record: HolderRecord, ed_key: PrivateKey, key: int, value: object, problem: str
) -> None:
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    if value is None:
        del claims[169][key]
    else:
        claims[169][key] = value
    with pytest.raises(cardlib.ValidationError) as info:
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)
    assert problem in {p.path for p in info.value.problems}


def test_names_with_several_words_per_part(record: HolderRecord, ed_key: PrivateKey) -> None:
    """Word counts cut the full name back into its parts; a part may have several words."""
    latin = cardlib.FourPartName("Abd Al Rahman", "Ali", "Salem Omar", "El Warfali")
    arabic = cardlib.FourPartName("عبد الرحمن", "علي", "سالم", "الورفلي")
    long_names = dataclasses.replace(record, name_latin=latin, name_ar=arabic)
    card = verify(cardlib.issue(long_names, ed_key, now=ISSUED), ed_key.public_key, now=CHECKED)
    assert card.record == long_names
    claims = cbor2.loads(build(long_names, ed_key, now=ISSUED).cbor)
    assert claims[169][78] == [3, 1, 2, 2] and claims[169][77] == [2, 1, 1, 1]
    claims[169][78] = [2, 2, 2, 2]  # same word total, other cut: parts change, names disagree
    with pytest.raises(cardlib.ValidationError, match="inconsistent"):
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)


def test_dates_in_the_signed_map_may_use_dashes(record: HolderRecord, ed_key: PrivateKey) -> None:
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[169][8] = record.date_of_birth.isoformat()
    card = verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
                  now=CHECKED)
    assert card.record is not None and card.record.date_of_birth == record.date_of_birth


# --- bounded, strict decoding after the signature ---------------------------------------------

def _signed_raw(key: PrivateKey, payload_cbor: bytes) -> str:
    return craft(key, payload_cbor)


def test_duplicate_keys_in_the_signed_payload(ed_key: PrivateKey) -> None:
    # {1: "LBY", 169: {1: "a", 1: "b"}} written by hand: cbor2 cannot produce duplicates.
    body = bytes.fromhex("a2" "01634c4259" "18a9" "a2" "016161" "016162")
    assert _code(_signed_raw(ed_key, body), ed_key.public_key) == "cbor_duplicate_key"


def test_limits_on_the_signed_payload(ed_key: PrivateKey) -> None:
    key = ed_key.public_key
    assert _code(_signed_raw(ed_key, cwt({1: "x" * 2000})), key) == "text_too_long"
    nested: object = 1
    for _ in range(12):
        nested = [nested]
    assert _code(_signed_raw(ed_key, cwt({24: nested})), key) == "cbor_too_deep"
    assert _code(_signed_raw(ed_key, cwt({24: list(range(1000))})), key) == "cbor_too_many_items"
    big = cwt({16: bytes(70_000)})
    assert _code(_signed_raw(ed_key, big), key) == "payload_too_large"
    loose = cardlib.Limits(max_decompressed_bytes=200_000, max_input_chars=400_000)
    assert verify(_signed_raw(ed_key, big), key, now=CHECKED, limits=loose).claims.photo
    assert _code(_signed_raw(ed_key, cwt({24: 1.5})), key) == "cbor_invalid"
    assert _code(_signed_raw(ed_key, cwt({24: cbor2.CBORTag(1, 0)})), key) == "cbor_invalid"


def test_claims_structure(ed_key: PrivateKey) -> None:
    key = ed_key.public_key
    assert _code(_signed_raw(ed_key, cbor2.dumps([1, 2])), key) == "claims_invalid"
    assert _code(_signed_raw(ed_key, cbor2.dumps({1: "LBY"})), key) == "claims_invalid"
    assert _code(_signed_raw(ed_key, cwt([1])), key) == "claims_invalid"
    assert _code(_signed_raw(ed_key, cwt({1: "x"}, exp=-5)), key) == "claims_invalid"
    assert _code(_signed_raw(ed_key, cwt({1: "x"}, extra={1: 5})), key) == "claims_invalid"
    assert _code(_signed_raw(ed_key, cwt({1: "x"}, iat=NOW_TS + 3600)), key) == "not_yet_valid"
    no_times = cwt({1: "x"}, exp=None, nbf=None, iat=None)
    assert verify(_signed_raw(ed_key, no_times), key, now=CHECKED).expires_at is None


def test_input_bounds(ed_key: PrivateKey) -> None:
    key = ed_key.public_key
    assert _code("A" * 9000, key) == "input_too_large"
    assert _code("nope", key) == "base45_invalid"
    assert _code(12345, key) == "decode_error"  # type: ignore[arg-type]
    assert _code("", key) in ("cbor_invalid",)


# --- signers outside the process --------------------------------------------------------------

class RemoteSigner:
    """A stand-in for an HSM: the key never leaves this object; callers see only sign()."""

    def __init__(self) -> None:
        self._key = PrivateKey.generate("ES256")
        self.calls = 0

    @property
    def algorithm(self) -> str:
        return "ES256"

    @property
    def kid(self) -> bytes:
        return self._key.kid

    @property
    def public_key(self) -> cardlib.PublicKey:
        return self._key.public_key

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self._key.sign(data)


def test_an_external_signer_needs_no_caller_change(record: HolderRecord) -> None:
    signer = RemoteSigner()
    assert isinstance(signer, cardlib.Signer)
    card = verify(cardlib.issue(record, signer, now=ISSUED), signer.public_key, now=CHECKED)
    assert card.record == record and signer.calls == 1


class BrokenSigner(RemoteSigner):
    def sign(self, data: bytes) -> bytes:
        return b"\x30" + super().sign(data)


def test_a_broken_signer_is_caught(record: HolderRecord) -> None:
    with pytest.raises(cardlib.SigningError) as info:
        cardlib.issue(record, BrokenSigner(), now=ISSUED)
    assert info.value.code == "signing_failed"


def test_payload_hash_is_stable(record: HolderRecord, ed_key: PrivateKey) -> None:
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    assert hashlib.sha256(b45decode(payload)).digest() == hashlib.sha256(
        build(record, ed_key, now=ISSUED).compressed).digest()


# --- regressions found in review ---------------------------------------------------------------

@pytest.mark.parametrize("alg", [[-8], {1: 2}, b"\xf8", True, None])
def test_odd_alg_values_are_typed_errors_before_the_signature(
    ed_key: PrivateKey, alg: object
) -> None:
    payload = craft(ed_key, cwt({1: "x"}), protected={1: alg, 4: ed_key.kid},
                    signature=bytes(64))
    assert _code(payload, ed_key.public_key) in ("alg_unsupported", "cbor_invalid")


@pytest.mark.parametrize("label", [4, 5, 6])
def test_times_beyond_year_9999_are_claims_errors(ed_key: PrivateKey, label: int) -> None:
    far = 2**39
    payload = craft(ed_key, cwt({1: "x"}, exp=far if label == 4 else None,
                                nbf=far if label == 5 else None, iat=far if label == 6 else None))
    assert _code(payload, ed_key.public_key) == "claims_invalid"


def test_far_dates_are_record_problems_not_crashes(
    record: HolderRecord, ed_key: PrivateKey
) -> None:
    far = dataclasses.replace(record, expiry_date=datetime(9999, 12, 31).date())
    with pytest.raises(cardlib.ValidationError) as info:
        cardlib.issue(far, ed_key, now=ISSUED)
    assert ("expiry_date", "range") in {(p.path, p.code) for p in info.value.problems}
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[169][84] = "99991231"
    with pytest.raises(cardlib.ValidationError):
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)


@pytest.mark.parametrize("gender", ["²", "١", "01", " 1", True])
def test_non_ascii_or_odd_enum_text_is_refused(ed_key: PrivateKey, gender: object) -> None:
    with pytest.raises(cardlib.ValidationError):
        verify(craft(ed_key, cwt({9: gender})), ed_key.public_key, now=CHECKED)
    assert verify(craft(ed_key, cwt({9: "1"})), ed_key.public_key, now=CHECKED).claims.gender == 1


def test_tags_inside_the_claims_are_refused(ed_key: PrivateKey) -> None:
    for tag in (18, 61):
        payload = craft(ed_key, cwt({24: cbor2.CBORTag(tag, [1])}))
        assert _code(payload, ed_key.public_key) == "cbor_invalid"


def test_profile_version_must_be_the_integer_1(record: HolderRecord, ed_key: PrivateKey) -> None:
    claims = cbor2.loads(build(record, ed_key, now=ISSUED).cbor)
    claims[169][75] = True
    with pytest.raises(cardlib.ValidationError, match="unsupported_profile"):
        verify(craft(ed_key, cbor2.dumps(claims, canonical=True)), ed_key.public_key,
               now=CHECKED)


def test_issue_date_after_signing_and_long_kids(record: HolderRecord, ed_key: PrivateKey) -> None:
    with pytest.raises(cardlib.ValidationError, match="issue_date: future"):
        cardlib.issue(record, ed_key, now=datetime(2026, 1, 8, tzinfo=UTC))
    assert cardlib.issue(record, ed_key, now=datetime(2026, 1, 9, 23, tzinfo=UTC))

    class LongKid(RemoteSigner):
        @property
        def kid(self) -> bytes:
            return bytes(65)

    with pytest.raises(cardlib.SigningError):
        cardlib.issue(record, LongKid(), now=ISSUED)


def test_issue_signs_nfc_text(record: HolderRecord, ed_key: PrivateKey) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Zoé Dupré")
    nfd = dataclasses.replace(
        record, mother_name_latin=decomposed,
        name_latin=cardlib.FourPartName("Zoé".replace("é", "e\u0301"), "Ali", "Salem", "Elwarfali"))
    card = verify(cardlib.issue(nfd, ed_key, now=ISSUED), ed_key.public_key, now=CHECKED)
    assert card.record is not None
    assert card.record.mother_name_latin == "Zoé Dupré"
    assert card.record.name_latin.first == "Zoé"
    assert card.record == nfd.normalised() != nfd


class FailingSigner(RemoteSigner):
    def sign(self, data: bytes) -> bytes:
        raise ConnectionError("HSM unreachable")


def test_signer_failures_and_bad_issue_arguments(record: HolderRecord, ed_key: PrivateKey) -> None:
    with pytest.raises(cardlib.SigningError, match="HSM unreachable"):
        cardlib.issue(record, FailingSigner(), now=ISSUED)
    with pytest.raises(cardlib.ValidationError) as before_1970:
        cardlib.issue(record, ed_key, now=datetime(1969, 12, 31, tzinfo=UTC))
    assert ("now", "range") in {(p.path, p.code) for p in before_1970.value.problems}
    with pytest.raises(cardlib.ValidationError):
        cardlib.issue(record, ed_key, now=datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(cardlib.ValidationError, match="issuer: type"):
        cardlib.issue(record, ed_key, now=ISSUED, issuer="")
    with pytest.raises(cardlib.ValidationError, match="issuer: type"):
        cardlib.issue(record, ed_key, now=ISSUED, issuer=7)  # type: ignore[arg-type]
    with pytest.raises(cardlib.ValidationError, match="issuer: type"):
        cardlib.issue(record, ed_key, now=ISSUED, issuer="LBY\x00")


def test_inspect_output_is_always_json(ed_key: PrivateKey) -> None:
    import json

    for payload in (craft(ed_key, cwt({1: "X"}), unprotected={5: {1: 2}}),
                    craft(ed_key, cbor2.dumps(cbor2.CBORTag(61, {169: {1: "X"}})))):
        layers = cardlib.inspect(payload)
        assert layers["verified"] is False
        json.dumps(layers)


def test_critical_headers_are_refused(ed_key: PrivateKey) -> None:
    payload = craft(ed_key, cwt({1: "X"}), protected={1: -8, 4: ed_key.kid, 2: [99], 99: "x"})
    assert _code(payload, ed_key.public_key) == "cose_invalid"


def test_colliding_keys_survive_the_json_report(ed_key: PrivateKey) -> None:
    from cardlib._result import card_to_json

    card = verify(craft(ed_key, cwt({1: "X", 100: {1: "int-key", "1": "text-key"}})),
                  ed_key.public_key, now=CHECKED)
    shown = card_to_json(card)["claims"]["extras"]["100"]
    assert {"key": 1, "value": "int-key"} in shown and {"key": "1", "value": "text-key"} in shown


def test_now_near_the_datetime_limits(record: HolderRecord, ed_key: PrivateKey) -> None:
    from datetime import timezone

    for now in (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
                datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))):
        with pytest.raises(cardlib.ValidationError, match="now: range"):
            cardlib.issue(record, ed_key, now=now)


def test_lone_surrogates_are_refused_before_signing(
    record: HolderRecord, ed_key: PrivateKey
) -> None:
    with pytest.raises(cardlib.ValidationError, match="control_chars"):
        cardlib.issue(dataclasses.replace(record, place_of_birth="Tripoli\ud800"), ed_key,
                      now=ISSUED)
    with pytest.raises(cardlib.ValidationError, match="issuer: type"):
        cardlib.issue(record, ed_key, now=ISSUED, issuer="\udcff")
