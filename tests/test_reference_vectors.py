"""The Claim 169 reference implementation's test vectors (idpass/claim-169), read by cardlib.

The vectors are third-party data read at run time from ``../shared/vectors/claim169/`` (see its
README, errata included; never copied into this repo). Each file holds a Base45 ``qr_data`` and
what a reader must find in it. This test reads every payload a second time without cardlib
(base45, zlib, cbor2 and cryptography directly) to know what it is: a signed COSE_Sign1, an
*unsigned* one (most of the "valid" vectors carry an empty signature), a COSE_Encrypt0, or
malformed. What a conforming reader that trusts only signed cards must do, for each kind:

- signed: ``cardlib.verify`` accepts it under the vector's key, and reports the vector's
  fields and CWT times; the reference decoder (pip ``claim169``) reads the same values; any other
  key, or a changed signature, is refused (``signature_invalid``);
- unsigned: never verified (``signature_malformed``: an empty signature); ``cardlib.inspect``
  shows exactly the encoded claims. The same COSE_Sign1 signed here with a test key (its
  protected header and payload bytes unchanged) then verifies, with the vector's fields, the
  refusal its times call for (the ``edge`` vectors) or its missing claim 169 (``claims_invalid``);
- COSE_Encrypt0 (specs/format.md §5.3): read with the vector's ``encryption_key``. The signed
  card inside (``encrypted-signed``) verifies with the vector's fields and CWT times, as the
  reference decoder reads it; content that is no COSE_Sign1 at all (``encrypted-aes256``: a bare,
  unsigned CWT) is never a card (``cose_invalid``), but ``inspect`` shows its claims. Without a
  key: ``decryption_key_missing``; with another key, or anything altered:
  ``decryption_failed``;
- malformed: refused with the stable code of the step that fails.

Every refusal is a :class:`cardlib.CardError`, never another exception.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import base45
import cbor2
import claim169
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import cardlib

from .conftest import refusal_code, require

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "claim169"
CATEGORIES = ("valid", "invalid", "edge")

# Inside the validity window (iat/nbf to exp) of every valid vector: test_now_is_inside_...
# checks it. The edge vectors' windows lie before and after it, as their names say.
NOW = datetime(2026, 1, 1, tzinfo=UTC)

# Claim 169 keys (MOSIP claim_169.md): key -> (the vectors' JSON name, the attribute of
# cardlib.Claim169 and of the reference decoder's Claim169).
FIELDS: dict[int, tuple[str, str]] = {
    1: ("id", "id"), 2: ("version", "version"), 3: ("language", "language"),
    4: ("fullName", "full_name"), 5: ("firstName", "first_name"),
    6: ("middleName", "middle_name"), 7: ("lastName", "last_name"),
    8: ("dateOfBirth", "date_of_birth"), 9: ("gender", "gender"), 10: ("address", "address"),
    11: ("email", "email"), 12: ("phone", "phone"), 13: ("nationality", "nationality"),
    14: ("maritalStatus", "marital_status"), 15: ("guardian", "guardian"),
    16: ("photo", "photo"), 17: ("photoFormat", "photo_format"),
    18: ("bestQualityFingers", "best_quality_fingers"),
    19: ("secondaryFullName", "secondary_full_name"),
    20: ("secondaryLanguage", "secondary_language"), 21: ("locationCode", "location_code"),
    22: ("legalStatus", "legal_status"), 23: ("countryOfIssuance", "country_of_issuance"),
}
BIOMETRICS: dict[int, tuple[str, str]] = {
    50: ("rightThumb", "right_thumb"), 51: ("rightPointerFinger", "right_pointer_finger"),
    52: ("rightMiddleFinger", "right_middle_finger"), 53: ("rightRingFinger", "right_ring_finger"),
    54: ("rightLittleFinger", "right_little_finger"), 55: ("leftThumb", "left_thumb"),
    56: ("leftPointerFinger", "left_pointer_finger"),
    57: ("leftMiddleFinger", "left_middle_finger"), 58: ("leftRingFinger", "left_ring_finger"),
    59: ("leftLittleFinger", "left_little_finger"), 60: ("rightIris", "right_iris"),
    61: ("leftIris", "left_iris"), 62: ("face", "face"), 63: ("rightPalm", "right_palm"),
    64: ("leftPalm", "left_palm"), 65: ("voice", "voice"),
}
# A biometric entry: JSON name -> key, and the reference decoder's attribute.
BIOMETRIC_MEMBERS = {"data": (0, "data"), "format": (1, "format"),
                     "subFormat": (2, "sub_format"), "issuer": (3, "issuer")}
JSON_KEYS = {name: key for key, (name, _) in (FIELDS | BIOMETRICS).items()}
META = {"issuer": "issuer", "subject": "subject", "expiresAt": "expires_at",
        "notBefore": "not_before", "issuedAt": "issued_at"}

# The reference implementation's error names (``expected_error``) and cardlib's codes for the
# same fault (specs/format.md §12). "Decompress" is erratum 2 of the README: ``bad-zlib`` has no
# zlib header, so cardlib (which reads uncompressed payloads too) refuses it at the CBOR step.
REFERENCE_ERRORS = {
    "Base45Decode": "base45_invalid",
    "Decompress": "cbor_invalid",
    "CoseParse": "cose_invalid",
    "Claim169NotFound": "claims_invalid",
}
# Erratum 1 of the README: the face bytes ``valid/with-face`` lists, and those its generator
# encodes (FF D8 FF E0 00 10).
FACE_ERRATUM = ("valid/with-face", "//3+4AAQ", "/9j/4AAQ")

COSE_ALGS = {-8: "EdDSA", -7: "ES256"}
TAG_SIGN1, TAG_ENCRYPT0 = 18, 16
A256GCM, HEADER_ALG, HEADER_IV = 3, 1, 5


# --- the vectors, read without cardlib ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vector:
    name: str  # "category/file stem", the pytest id
    category: str
    data: Mapping[str, Any]

    @property
    def qr(self) -> str:
        text: str = self.data["qr_data"]
        return text

    @property
    def expected_error(self) -> str | None:
        error: str | None = self.data.get("expected_error")
        return error

    def key(self, member: str) -> dict[str, str] | None:
        key: dict[str, str] | None = self.data.get(member)
        return key

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.data.get("expected_cwt_meta", {})
        return meta


@dataclass(frozen=True, slots=True)
class Parsed:
    """A payload as base45 + zlib + cbor2 read it: kind is "signed", "unsigned", "encrypted" or
    "malformed" (anything else: not Base45, not CBOR, not a COSE_Sign1 or COSE_Encrypt0)."""

    kind: str
    cbor: bytes = b""
    parts: tuple[Any, ...] = ()

    @property
    def alg(self) -> str:
        header = cbor2.loads(self.parts[0])
        name: str = COSE_ALGS[header[HEADER_ALG]]
        return name

    @property
    def claims(self) -> dict[Any, Any]:
        cwt: dict[Any, Any] = cbor2.loads(self.parts[2])
        return cwt


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0


def _parse(qr: str) -> Parsed:
    try:
        data = bytes(base45.b45decode(qr))
    except ValueError:
        return Parsed("malformed")
    if _zlib_header(data):
        try:
            data = zlib.decompress(data)
        except zlib.error:
            return Parsed("malformed")
    try:
        item = cbor2.loads(data)
    except cbor2.CBORDecodeError:
        return Parsed("malformed")
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_ENCRYPT0 and len(item.value) == 3:
        return Parsed("encrypted", data, tuple(item.value))
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_SIGN1 and len(item.value) == 4:
        return Parsed("signed" if item.value[3] else "unsigned", data, tuple(item.value))
    return Parsed("malformed", data)


def _load() -> list[Vector]:
    if not VECTORS.is_dir():
        return []
    return [Vector(f"{category}/{path.stem}", category, json.loads(path.read_text("utf-8")))
            for category in CATEGORIES for path in sorted((VECTORS / category).glob("*.json"))]


ALL = _load()
PARSED = {vector.name: _parse(vector.qr) for vector in ALL}


def _kind(*kinds: str) -> list[Vector]:
    return [vector for vector in ALL if PARSED[vector.name].kind in kinds]


def _params(vectors: list[Vector]) -> list[Any]:
    if not ALL:
        return [pytest.param(None, id="vectors-missing")]
    return [pytest.param(vector, id=vector.name) for vector in vectors]


def _present(vector: Vector | None) -> Vector:
    require("Claim 169 reference vectors", vector is not None,
            f"{VECTORS} is missing (idpass/claim-169 test-vectors, see "
            "../shared/vectors/README.md)")
    assert vector is not None
    return vector


# --- expected values ----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Maps, arrays and bytes-like values as plain dicts, lists and bytes, for comparing."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def _expected_claims(vector: Vector) -> dict[int, Any]:
    """The vector's ``expected_claim169`` keyed by Claim 169 key (bytes decoded from base64),
    erratum 1 applied."""
    expected: dict[int, Any] = {}
    for name, value in vector.data["expected_claim169"].items():
        assert name in JSON_KEYS, f"{vector.name}: unknown field {name!r} in the vector"
        key = JSON_KEYS[name]
        if key in BIOMETRICS:
            value = [{BIOMETRIC_MEMBERS[member][0]: _biometric_value(vector, member, item)
                      for member, item in entry.items()} for entry in value]
        elif key == 16:
            value = base64.b64decode(value)
        expected[key] = value
    return expected


def _biometric_value(vector: Vector, member: str, value: Any) -> Any:
    if member != "data":
        return value
    if (vector.name, value) == FACE_ERRATUM[:2]:
        value = FACE_ERRATUM[2]
    return base64.b64decode(value)


def _assert_has_expected(actual: Mapping[int, Any], vector: Vector) -> None:
    """Every field the vector lists is present with its value (biometric entries: the members
    listed; ``claim169-example`` lists its face's format but not its data)."""
    for key, value in _expected_claims(vector).items():
        assert key in actual, f"{vector.name}: key {key} missing"
        if key in BIOMETRICS:
            entries = _plain(actual[key])
            assert len(entries) == len(value), f"{vector.name}: key {key}"
            for entry, wanted in zip(entries, value, strict=True):
                assert {member: entry.get(member) for member in wanted} == wanted, vector.name
        else:
            assert _plain(actual[key]) == value, f"{vector.name}: key {key}"


def _cardlib_map(claims: cardlib.Claim169) -> dict[int, Any]:
    """cardlib's standard view as a Claim 169 map: fields, biometrics and extras."""
    view: dict[int, Any] = {}
    for key, (_, attribute) in FIELDS.items():
        value = getattr(claims, attribute)
        if value is not None:
            view[key] = value
    assert not view.keys() & claims.biometrics.keys() and not view.keys() & claims.extras.keys()
    assert not claims.biometrics.keys() & claims.extras.keys()
    assert claims.biometrics.keys() <= BIOMETRICS.keys()
    view.update(claims.biometrics)
    view.update(claims.extras)
    plain: dict[int, Any] = _plain(view)
    return plain


def _assert_times(card: cardlib.VerifiedCard, vector: Vector) -> None:
    meta = vector.meta
    assert set(meta) <= META.keys(), vector.name
    for name, attribute in META.items():
        wanted = meta.get(name)
        if isinstance(wanted, int):
            wanted = datetime.fromtimestamp(wanted, UTC)
        assert getattr(card, attribute) == wanted, f"{vector.name}: {name}"


def _assert_card(card: cardlib.VerifiedCard, vector: Vector, encoded: Mapping[int, Any]) -> None:
    """The card holds the vector's fields and times and, nothing dropped, every encoded key."""
    assert card.record is None  # the reference vectors carry no cardlib profile
    view = _cardlib_map(card.claims)
    _assert_has_expected(view, vector)
    assert view == _plain(encoded), vector.name
    # Keys this version does not interpret are kept, not dropped (edge/unknown-fields).
    assert card.claims.extras.keys() == encoded.keys() - FIELDS.keys() - BIOMETRICS.keys()
    _assert_times(card, vector)


def _assert_reference_agrees(result: Any, card: cardlib.VerifiedCard) -> None:
    """The reference decoder's reading equals cardlib's: every standard field, every biometric,
    the CWT claims."""
    reference = result.claim169
    assert (reference.id, reference.full_name) == (card.claims.id, card.claims.full_name)
    for _, attribute in FIELDS.values():
        ours, theirs = getattr(card.claims, attribute), getattr(reference, attribute)
        if attribute == "best_quality_fingers" and theirs is not None:
            theirs = tuple(theirs)  # the reference returns the finger numbers as bytes
        assert ours == theirs, attribute
    for key, (_, attribute) in BIOMETRICS.items():
        entries = [{number: getattr(entry, name) for number, name in BIOMETRIC_MEMBERS.values()
                    if getattr(entry, name) is not None}
                   for entry in getattr(reference, attribute) or []]
        assert _plain(card.claims.biometrics.get(key, [])) == entries, attribute
    meta = result.cwt_meta
    assert (meta.issuer, meta.subject) == (card.issuer, card.subject)
    for attribute in ("expires_at", "not_before", "issued_at"):
        stamp = getattr(card, attribute)
        assert getattr(meta, attribute) == (None if stamp is None else int(stamp.timestamp()))


# --- calling cardlib ----------------------------------------------------------------------------


def _card(call: Callable[[], cardlib.VerifiedCard]) -> cardlib.VerifiedCard:
    try:
        return call()
    except cardlib.CardError as err:
        pytest.fail(f"refused: [{err.code}] {err}")


@dataclass(frozen=True, slots=True)
class SigningKey:
    algorithm: str
    sign: Callable[[bytes], bytes]  # a COSE signature (ES256: raw r||s)
    public: cardlib.PublicKey


def _make_key(algorithm: str) -> SigningKey:
    if algorithm == "EdDSA":
        ed = ed25519.Ed25519PrivateKey.generate()
        raw = ed.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
        return SigningKey(algorithm, ed.sign, cardlib.PublicKey.from_raw(algorithm, raw))
    es = ec.generate_private_key(ec.SECP256R1())

    def sign_es256(data: bytes) -> bytes:
        r, s = decode_dss_signature(es.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    point = es.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)
    return SigningKey(algorithm, sign_es256, cardlib.PublicKey.from_raw(algorithm, point))


@pytest.fixture(scope="module")
def signing_keys() -> dict[str, SigningKey]:
    return {algorithm: _make_key(algorithm) for algorithm in COSE_ALGS.values()}


def _vector_key(vector: Vector) -> cardlib.PublicKey | None:
    key = vector.key("signing_key")
    if key is None:
        return None
    return cardlib.PublicKey.from_raw(key["algorithm"], bytes.fromhex(key["public_key_hex"]))


def _trust(vector: Vector, signing_keys: dict[str, SigningKey]) -> cardlib.PublicKey:
    """The vector's own key, or (it has none) a key of the algorithm its header names."""
    key = _vector_key(vector)
    if key is not None:
        return key
    parsed = PARSED[vector.name]
    return signing_keys[parsed.alg if parsed.kind in ("signed", "unsigned") else "EdDSA"].public


def _wrap(cose: bytes) -> str:
    """COSE bytes as a card's QR text: zlib, then Base45 (the pip base45 package)."""
    text: str = base45.b45encode(zlib.compress(cose, 9)).decode("ascii")
    return text


def _signed_by(parsed: Parsed, key: SigningKey) -> str:
    """The same COSE_Sign1 (protected header and payload bytes unchanged) signed by ``key``."""
    protected, unprotected, payload, _ = parsed.parts
    assert parsed.alg == key.algorithm
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    return _wrap(cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [protected, dict(unprotected), payload,
                                                          key.sign(to_sign)])))


def _reference_decode(qr: str, key: cardlib.PublicKey) -> Any:
    decode = (claim169.decode_with_ed25519 if key.algorithm == "EdDSA"
              else claim169.decode_with_ecdsa_p256)
    return decode(qr, key.raw, validate_timestamps=False)


def _inspected_claims(qr: str) -> dict[Any, Any]:
    """``cardlib.inspect``'s JSON view of the CWT, back to CBOR values (keys to ints,
    ``{"hex": …}`` to bytes)."""
    layers = cardlib.inspect(qr)
    assert layers["verified"] is False

    def back(value: Any) -> Any:
        if isinstance(value, dict):
            if value.keys() == {"hex"}:
                return bytes.fromhex(value["hex"])
            return {int(key) if re.fullmatch(r"-?\d+", key) else key: back(item)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [back(item) for item in value]
        return value

    claims: dict[Any, Any] = back(layers["claims"])
    return claims


# --- the tests ----------------------------------------------------------------------------------


def test_the_vectors_are_as_documented() -> None:
    require("Claim 169 reference vectors", bool(ALL), f"{VECTORS} is missing")
    for vector in ALL:
        assert vector.data["category"] == vector.category, vector.name
        assert vector.data["name"] == vector.name.split("/")[1]
        assert (vector.expected_error is None) == (vector.category != "invalid"), vector.name
        if vector.category != "invalid":
            assert {"id", "fullName"} <= vector.data["expected_claim169"].keys(), vector.name
    kinds = {PARSED[vector.name].kind for vector in ALL}
    assert kinds == {"signed", "unsigned", "encrypted", "malformed"}
    assert {vector.category for vector in ALL} == set(CATEGORIES)


def test_now_is_inside_every_valid_vectors_window() -> None:
    require("Claim 169 reference vectors", bool(ALL), f"{VECTORS} is missing")
    moment = NOW.timestamp()
    for vector in ALL:
        if vector.category == "valid" and vector.meta:
            start = max(vector.meta.get("notBefore", 0), vector.meta.get("issuedAt", 0))
            assert start <= moment < vector.meta["expiresAt"], vector.name


def test_the_errata_still_apply() -> None:
    """If the vectors are fixed upstream, the two errata (and their handling here) go."""
    require("Claim 169 reference vectors", bool(ALL), f"{VECTORS} is missing")
    by_name = {vector.name: vector for vector in ALL}
    name, listed, encoded = FACE_ERRATUM
    face = by_name[name].data["expected_claim169"]["face"][0]["data"]
    assert face == listed
    assert PARSED[name].claims[169][62][0][0] == base64.b64decode(encoded) != base64.b64decode(
        listed)
    bad_zlib = by_name["invalid/bad-zlib"]
    assert bad_zlib.expected_error == "Decompress"
    assert not _zlib_header(bytes(base45.b45decode(bad_zlib.qr)))


@pytest.mark.parametrize("vector", _params(ALL))
def test_cardlib_verdict(vector: Vector | None, signing_keys: dict[str, SigningKey]) -> None:
    """Every vector: accepted if signed, otherwise refused with the code of the failing step,
    by ``verify`` and (for a structural fault) by ``inspect`` too."""
    vector = _present(vector)
    parsed = PARSED[vector.name]
    trust = _trust(vector, signing_keys)

    def verify() -> cardlib.VerifiedCard:
        return cardlib.verify(vector.qr, trust, now=NOW)

    if parsed.kind == "signed":
        assert vector.category == "valid"
        assert _card(verify).claims.id == vector.data["expected_claim169"]["id"]
    elif parsed.kind == "unsigned":
        # An empty signature is never a signature: the step before any content is read.
        assert refusal_code(verify) == "signature_malformed"
        assert cardlib.inspect(vector.qr)["signature_hex"] == ""
    elif parsed.kind == "encrypted":
        # COSE_Encrypt0 (tag 16), specs/format.md §5.3: nothing is read without its key.
        assert vector.category == "valid"
        assert refusal_code(verify) == refusal_code(lambda: cardlib.inspect(vector.qr)) == (
            "decryption_key_missing")
    else:
        assert vector.category == "invalid" and vector.expected_error is not None
        wanted = REFERENCE_ERRORS[vector.expected_error]
        assert refusal_code(verify) == refusal_code(lambda: cardlib.inspect(vector.qr)) == wanted
        with pytest.raises(claim169.Claim169Exception):  # the reference refuses it too
            claim169.decode_unverified(vector.qr, validate_timestamps=False)


@pytest.mark.parametrize("vector", _params(_kind("signed")))
def test_signed_vector_verifies_with_its_fields(vector: Vector | None) -> None:
    vector = _present(vector)
    parsed = PARSED[vector.name]
    key = _vector_key(vector)
    assert key is not None
    card = _card(lambda: cardlib.verify(vector.qr, key, now=NOW))
    assert card.algorithm == key.algorithm == parsed.alg
    _assert_card(card, vector, parsed.claims[169])
    result = _reference_decode(vector.qr, key)
    assert result.is_verified()
    _assert_reference_agrees(result, card)
    # Under any other key, or with one bit of the signature changed, the card is refused.
    other = _make_key(key.algorithm).public
    assert refusal_code(lambda: cardlib.verify(vector.qr, other, now=NOW)) == "signature_invalid"
    protected, unprotected, payload, signature = parsed.parts
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    altered = _wrap(cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [protected, dict(unprotected), payload,
                                                           flipped])))
    assert refusal_code(lambda: cardlib.verify(altered, key, now=NOW)) == "signature_invalid"


@pytest.mark.parametrize("vector", _params(_kind("unsigned")))
def test_unsigned_vector_inspects_to_its_claims(vector: Vector | None) -> None:
    """``inspect`` (unverified) shows exactly what is encoded, the vector's fields included; the
    reference decoder, reading it unverified, agrees (or refuses it as the vector says)."""
    vector = _present(vector)
    parsed = PARSED[vector.name]
    inspected = _inspected_claims(vector.qr)
    assert inspected == _plain(parsed.claims)
    if vector.category == "invalid":
        assert 169 not in inspected and vector.expected_error == "Claim169NotFound"
        with pytest.raises(claim169.Claim169NotFoundError):
            claim169.decode_unverified(vector.qr, validate_timestamps=False)
        return
    _assert_has_expected(inspected[169], vector)
    reference = claim169.decode_unverified(vector.qr, validate_timestamps=False)
    assert reference.verification_status == "skipped"
    assert (reference.claim169.id, reference.claim169.full_name) == (
        inspected[169][1], inspected[169][4])


@pytest.mark.parametrize("vector", _params(_kind("unsigned")))
def test_unsigned_vector_once_signed(vector: Vector | None,
                                     signing_keys: dict[str, SigningKey]) -> None:
    """The vector's COSE_Sign1 signed with a test key: the fields cardlib reports, and the
    refusals the edge and invalid vectors call for, on the vector's own protected header and
    payload bytes."""
    vector = _present(vector)
    parsed = PARSED[vector.name]
    key = signing_keys[parsed.alg]
    qr = _signed_by(parsed, key)
    if vector.category == "invalid":
        assert vector.expected_error is not None
        wanted = REFERENCE_ERRORS[vector.expected_error]
        assert refusal_code(lambda: cardlib.verify(qr, key.public, now=NOW)) == wanted
        with pytest.raises(claim169.Claim169NotFoundError):
            _reference_decode(qr, key.public)
        return
    meta = vector.meta
    start = max(meta.get("notBefore", 0), meta.get("issuedAt", 0))
    inside = datetime.fromtimestamp((start + meta["expiresAt"]) // 2, UTC)
    outcome: str | None = None
    if meta["expiresAt"] <= NOW.timestamp():
        outcome = "expired"
    elif start > NOW.timestamp():
        outcome = "not_yet_valid"
    if vector.category == "valid":
        assert outcome is None, vector.name
    if outcome is not None:
        try:
            cardlib.verify(qr, key.public, now=NOW)
        except cardlib.ValidityError as err:
            assert err.code == outcome
            assert err.card is not None  # authentic: the card is handed over with the refusal
            _assert_card(err.card, vector, parsed.claims[169])
        else:
            pytest.fail(f"{vector.name} accepted at {NOW}")
    card = _card(lambda: cardlib.verify(qr, key.public, now=NOW if outcome is None else inside))
    _assert_card(card, vector, parsed.claims[169])
    result = _reference_decode(qr, key.public)
    assert result.is_verified()
    _assert_reference_agrees(result, card)


def _decrypt(vector: Vector) -> bytes:
    """The COSE_Encrypt0's plaintext (RFC 9052 §5.3, AES-256-GCM), decrypted with
    cryptography (not cardlib)."""
    protected, unprotected, ciphertext = PARSED[vector.name].parts
    assert cbor2.loads(protected)[HEADER_ALG] == A256GCM
    aad = cbor2.dumps(["Encrypt0", protected, b""])
    plaintext: bytes = AESGCM(_secret(vector)).decrypt(unprotected[HEADER_IV], ciphertext, aad)
    return plaintext


def _secret(vector: Vector) -> bytes:
    key = vector.key("encryption_key")
    assert key is not None and key["algorithm"] == "A256GCM"
    return bytes.fromhex(key["symmetric_key_hex"])


def _encryption_key(vector: Vector) -> cardlib.SymmetricKey:
    """The vector's key as cardlib loads a key file: hex text (here with a newline)."""
    key = vector.key("encryption_key")
    assert key is not None
    loaded = cardlib.SymmetricKey.load((key["symmetric_key_hex"] + "\n").encode("ascii"))
    assert loaded.algorithm == key["algorithm"] and loaded.secret == _secret(vector)
    return loaded


def _ed25519_callback(key: cardlib.PublicKey) -> Callable[[str, bytes | None, bytes, bytes],
                                                          None]:
    """The reference decoder's verifier callback for an Ed25519 key (raises if it fails)."""
    public = ed25519.Ed25519PublicKey.from_public_bytes(key.raw)

    def verify(algorithm: str, key_id: bytes | None, data: bytes, signature: bytes) -> None:
        assert algorithm == "EdDSA"
        public.verify(signature, data)

    return verify


def _altered(vector: Vector) -> dict[str, str]:
    """The vector's COSE_Encrypt0 with one part changed (each must fail to decrypt)."""
    protected, unprotected, ciphertext = PARSED[vector.name].parts
    iv = unprotected[HEADER_IV]

    def encrypt0(protected: bytes, iv: bytes, ciphertext: bytes) -> str:
        return _wrap(cbor2.dumps(cbor2.CBORTag(TAG_ENCRYPT0, [protected, {HEADER_IV: iv},
                                                               ciphertext])))

    flip = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    tag = ciphertext[:-1] + bytes([ciphertext[-1] ^ 0x80])
    return {
        "ciphertext": encrypt0(protected, iv, flip),
        "tag": encrypt0(protected, iv, tag),
        "iv": encrypt0(protected, bytes([iv[0] ^ 1]) + iv[1:], ciphertext),
        # the same header, encoded with a non-shortest head: other bytes, so another AAD
        "protected header": encrypt0(b"\xa1\x01\x18\x03", iv, ciphertext),
    }


@pytest.mark.parametrize("vector", _params(_kind("encrypted")))
def test_encrypted_vector_is_read_with_its_key(vector: Vector | None,
                                               signing_keys: dict[str, SigningKey]) -> None:
    """Decrypted by cardlib with the vector's key: the signed card inside verifies with the
    vector's fields and times, as the reference decoder reads it; content with no signature (a
    bare CWT) is no card at all (``cose_invalid``), yet ``inspect`` shows its claims."""
    vector = _present(vector)
    secret = _encryption_key(vector)
    plaintext = _decrypt(vector)
    layers = cardlib.inspect(vector.qr, decryption_keys=[secret])
    assert layers["verified"] is False
    assert layers["encryption"]["algorithm"] == "A256GCM"
    assert layers["encryption"]["plaintext_hex"] == plaintext.hex()
    key = _vector_key(vector)
    if key is None:
        cwt = cbor2.loads(plaintext)
        assert isinstance(cwt, dict) and _parse(_wrap(plaintext)).kind == "malformed"
        assert layers["signed"] is False and "signature_hex" not in layers
        assert layers["claims"]["169"] == {"1": cwt[169][1], "4": cwt[169][4]}
        _assert_has_expected(cwt[169], vector)
        trust = signing_keys["EdDSA"].public
        assert refusal_code(lambda: cardlib.verify(vector.qr, trust, now=NOW,
                                            decryption_keys=secret)) == "cose_invalid"
        reference = claim169.decode_encrypted_aes(vector.qr, secret.secret,
                                                  allow_unverified=True)
        assert reference.verification_status == "skipped"
        assert (reference.claim169.id, reference.claim169.full_name) == (
            cwt[169][1], cwt[169][4])
        assert reference.cwt_meta.issuer == vector.meta["issuer"]
        return
    inner = _parse(_wrap(plaintext))
    assert inner.kind == "signed" and layers["signature_hex"] == inner.parts[3].hex()
    card = _card(lambda: cardlib.verify(vector.qr, key, now=NOW, decryption_keys=[secret]))
    assert card.encryption == "A256GCM" and card.algorithm == key.algorithm == inner.alg
    _assert_card(card, vector, inner.claims[169])
    result = claim169.decode_encrypted_aes(vector.qr, secret.secret,
                                           verifier=_ed25519_callback(key))
    assert result.is_verified()
    _assert_reference_agrees(result, card)
    # The signature is still checked after decryption: another signing key is refused.
    other = _make_key(key.algorithm).public
    assert refusal_code(lambda: cardlib.verify(vector.qr, other, now=NOW,
                                        decryption_keys=secret)) == "signature_invalid"


@pytest.mark.parametrize("vector", _params(_kind("encrypted")))
def test_encrypted_vector_wrong_key_or_altered(vector: Vector | None,
                                               signing_keys: dict[str, SigningKey]) -> None:
    """Another key, or any part of the message altered: ``decryption_failed``, by verify and
    inspect alike (nothing is shown); the reference decoder refuses the same."""
    vector = _present(vector)
    secret = _encryption_key(vector)
    trust = _trust(vector, signing_keys)
    wrong = cardlib.SymmetricKey(bytes(b ^ 0x55 for b in secret.secret))
    cases = {"wrong key": (vector.qr, wrong)} | {
        f"altered {part}": (qr, secret) for part, qr in _altered(vector).items()}
    for case, (qr, key) in cases.items():
        assert refusal_code(partial(cardlib.verify, qr, trust, now=NOW, decryption_keys=key)) == (
            "decryption_failed"), case
        assert refusal_code(partial(cardlib.inspect, qr, decryption_keys=key)) == (
            "decryption_failed"), case
        with pytest.raises(claim169.DecryptionError):
            claim169.decode_encrypted_aes(qr, key.secret, allow_unverified=True)
    # A 128-bit key is no candidate for A256GCM: refused before any decryption is tried.
    short = cardlib.SymmetricKey(secret.secret[:16])
    assert refusal_code(lambda: cardlib.verify(vector.qr, trust, now=NOW,
                                        decryption_keys=short)) == "decryption_failed"
