"""Both directions with the reference Claim 169 implementation (pip package ``claim169``)."""

from __future__ import annotations

import claim169
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import cardlib
from cardlib import HolderRecord, PrivateKey

from .conftest import CHECKED, ISSUED


def _reference_decode(payload: str, key: PrivateKey) -> object:
    decode = (claim169.decode_with_ed25519 if key.algorithm == "EdDSA"
              else claim169.decode_with_ecdsa_p256)
    return decode(payload, key.public_key.raw, validate_timestamps=False)


def test_reference_decoder_reads_cardlib_payloads(
    record: HolderRecord, any_key: PrivateKey
) -> None:
    payload = cardlib.issue(record, any_key, now=ISSUED)
    result = _reference_decode(payload, any_key)
    assert result.is_verified()  # type: ignore[attr-defined]
    claim = result.claim169  # type: ignore[attr-defined]
    assert claim.id == "119850012347"
    assert claim.full_name == "Mohamed Ali Salem Elwarfali"
    assert claim.first_name == "Mohamed"
    assert claim.last_name == "Elwarfali"
    assert claim.secondary_full_name == "محمد علي سالم الورفلي"
    assert claim.secondary_language == "ara"
    assert claim.date_of_birth == "19850314"
    assert claim.gender == 1
    assert claim.nationality == "LBY"
    assert claim.location_code == "TRP-01"
    assert claim.legal_status == "citizen"
    assert claim.country_of_issuance == "LBY"
    meta = result.cwt_meta  # type: ignore[attr-defined]
    assert meta.issuer == "LBY"
    assert meta.issued_at == int(ISSUED.timestamp())
    inspected = claim169.inspect(payload)
    assert inspected.key_id == any_key.kid
    assert inspected.algorithm == any_key.algorithm


def test_reference_decoder_rejects_a_cardlib_payload_under_another_key(
    record: HolderRecord, ed_key: PrivateKey
) -> None:
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    with pytest.raises(claim169.Claim169Exception):
        _reference_decode(payload, PrivateKey.generate("EdDSA"))


def _reference_payload(alg: str) -> tuple[str, cardlib.PublicKey]:
    data = claim169.Claim169Input(
        id="R20260001", full_name="Amina Haddad", first_name="Amina", last_name="Haddad",
        date_of_birth="19900502", gender=2, nationality="TUN", secondary_full_name="أمينة حداد",
        secondary_language="ara", location_code="EMB-TUN", legal_status="resident",
        country_of_issuance="LBY", photo=b"\x00\x01webp", photo_format=4,
    )
    meta = claim169.CwtMetaInput(issuer="https://issuer.example", expires_at=2_000_000_000)
    meta.issued_at = 1_700_000_000
    if alg == "EdDSA":
        ed = ed25519.Ed25519PrivateKey.generate()
        seed = ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        public = cardlib.PublicKey.from_raw("EdDSA", ed.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        return claim169.encode_with_ed25519(data, meta, seed), public
    es = ec.generate_private_key(ec.SECP256R1())
    scalar = es.private_numbers().private_value.to_bytes(32, "big")
    public = cardlib.PublicKey.from_raw("ES256", es.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    return claim169.encode_with_ecdsa_p256(data, meta, scalar), public


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_cardlib_verifies_reference_payloads(alg: str) -> None:
    payload, public = _reference_payload(alg)
    card = cardlib.verify(payload, public, now=CHECKED)
    assert card.record is None  # no profile keys: the standard view only
    assert card.algorithm == alg
    assert card.kid is None  # the reference encoder writes no kid
    assert card.issuer == "https://issuer.example"
    claims = card.claims
    assert claims.id == "R20260001"
    assert claims.full_name == "Amina Haddad"
    assert claims.secondary_full_name == "أمينة حداد"
    assert claims.gender == 2
    assert claims.photo == b"\x00\x01webp" and claims.photo_format == 4
    assert claims.legal_status == "resident"
    other = PrivateKey.generate(alg).public_key
    with pytest.raises(cardlib.SignatureInvalidError):
        cardlib.verify(payload, other, now=CHECKED)
