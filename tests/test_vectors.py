"""The test vectors in ``specs/vectors/``: one loader, every file a parametrised case.

Each vector is checked five ways: a ``cardlib.Verifier`` built from exactly the vector's
``verifier`` member gives exactly its ``expected`` result (the whole ``to_json()``) for its
``now``, or raises its ``expected_error`` while it is built; its recorded layers are consistent
with one another (checked with zlib, cbor2 and cryptography directly, not only with cardlib);
its root certificate and lists check out with cryptography directly; cardlib's issue path
reproduces the layers of vectors built from a record; and the generator, run again, writes the
same files. The file format is specified in ``specs/format.md`` section 11.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import cardlib
from cardlib import _pipeline
from cardlib._errors import all_error_classes
from cardlib._verifier import Policy, Verifier
from cardlib.codec import _base45, _cbor, _cose, _zlib
from cardlib.trust import certificate_der

ROOT = Path(__file__).resolve().parents[1]
VECTOR_DIR = ROOT / "specs" / "vectors"
GENERATOR = ROOT / "specs" / "make_vectors.py"
LIMITS = cardlib.DEFAULT_LIMITS

# The members of a vector file, of its ``verifier`` member and of the objects in it
# (specs/format.md section 11). Exactly one of ``expected`` and ``expected_error`` is present.
MEMBERS = frozenset({"title", "description", "algorithm", "signing_key", "record", "issued_by",
                     "layers", "verifier", "now"})
VERIFIER_MEMBERS = frozenset({"trusted_keys", "root_certificate", "trust_list_hex",
                              "revocation_list_hex", "policy"})
POLICY_MEMBERS = frozenset({"skew_seconds", "grace_seconds", "require_revocation"})
KEY_MEMBERS = frozenset({"alg", "pem", "raw_hex", "kid_hex", "kid_assigned"})
SIGNING_KEY_MEMBERS = frozenset({"alg", "private_hex", "kid_hex", "kid_assigned"})
ROOT_MEMBERS = frozenset({"der_hex", "pem", "kid_hex"})
ISSUED_BY_MEMBERS = frozenset({"function", "now", "issuer", "compress"})
LAYER_MEMBERS = frozenset({"claims", "cbor_hex", "protected_hex", "unprotected",
                           "sig_structure_hex", "signature_hex", "cose_hex", "compressed_hex",
                           "base45"})
RESULT_MEMBERS = ["status", "code", "message", "detail", "checked_at", "card", "problems",
                  "signer", "revocation", "lists", "scan"]

# Raised while the verifier's own inputs load (``expected_error``), before any payload is read.
KEY_CODES = frozenset({"key_weak", "key_off_curve"})
# Raised by one layer's decoder (Base45, zlib, COSE or CBOR): a vector expecting one of these
# must have exactly one recorded layer that fails to decode, with that code.
LAYER_CODES = frozenset({
    "base45_invalid", "decompress_failed", "payload_too_large", "cose_invalid", "cbor_invalid",
    "cbor_duplicate_key", "cbor_too_deep", "cbor_too_many_items", "text_too_long",
})
# Raised only after the signature was checked: such a vector must carry a genuine signature.
AFTER_SIGNATURE = frozenset({
    "cbor_invalid", "cbor_duplicate_key", "cbor_too_deep", "cbor_too_many_items", "text_too_long",
    "claims_invalid", "record_invalid", "expired", "not_yet_valid", "key_revoked",
    "certificate_expired", "certificate_not_yet_valid",
})
# Every error code the vector set must exercise.
REQUIRED_CODES = frozenset({
    "signature_invalid", "key_unknown", "alg_missing", "alg_unsupported", "alg_key_mismatch",
    "signature_malformed", "expired", "not_yet_valid", "cbor_duplicate_key", "text_too_long",
    "cbor_too_deep", "cbor_too_many_items", "payload_too_large", "decompress_failed",
    "base45_invalid", "input_too_large", "cose_invalid", "claims_invalid", "record_invalid",
    "cbor_invalid", "key_weak", "key_off_curve", "key_revoked", "certificate_expired",
    "certificate_not_yet_valid",
})
# Every verdict other than invalid, with its code.
REQUIRED_VERDICTS = frozenset({
    ("valid", None), ("revoked", "revoked"), ("unknown", "trust_list_stale"),
    ("unknown", "revocation_missing"), ("unknown", "revocation_stale"),
    ("unknown", "revocation_not_applicable"),
})
# The problem codes of specs/format.md section 2.2 that a signed map can produce (section 3.1):
# each has a record_invalid vector. The others cannot arise from a signed map: check_digit
# (the default Rules accept any check digit, and a vector cannot carry a deployment's
# function), not_allowed (key 1 becomes the identifier of key 76's category only),
# duplicate_field and json (JSON documents only; a repeated CBOR key is cbor_duplicate_key),
# past and future (issue time only).
SIGNED_MAP_PROBLEMS = frozenset({
    "required", "empty", "type", "too_long", "whitespace", "control_chars", "not_nfc", "format",
    "enum", "date", "order", "range", "sex_mismatch", "birth_year_mismatch",
    "category_mismatch", "unknown_field", "unsupported_profile", "inconsistent",
})
NOT_FROM_SIGNED_MAP = frozenset({"check_digit", "not_allowed", "duplicate_field", "json", "past",
                                 "future"})


def load_vectors(directory: Path) -> dict[str, dict[str, Any]]:
    """Every vector in ``directory`` by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


VECTORS = load_vectors(VECTOR_DIR)


def cases(select: Callable[[dict[str, Any]], bool] = lambda vector: True) -> list[Any]:
    return [pytest.param(v, id=v["title"]) for v in VECTORS.values() if select(v)]


# --- helpers ------------------------------------------------------------------------------------


def as_json(value: Any) -> Any:
    """A decoded value as the vectors write it: int keys as strings, bytes as {"hex"}."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    raise TypeError(f"a verified card holds a {type(value).__name__}, which has no JSON form")


def instant(text: str) -> datetime:
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert moment.strftime("%Y-%m-%dT%H:%M:%SZ") == text
    return moment


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unhex(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text)


def expected_code(vector: Mapping[str, Any]) -> str | None:
    """The error code a vector expects: of ``expected_error``, or of an ``invalid`` verdict."""
    if "expected_error" in vector:
        code: str = vector["expected_error"]["code"]
        return code
    expected = vector["expected"]
    return expected["code"] if expected["status"] == "invalid" else None


def key_entries(vector: Mapping[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = vector["verifier"]["trusted_keys"]
    return entries


def key_from_pem(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    return cardlib.PublicKey.from_pem(entry["pem"].encode("ascii"))


def key_from_raw(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    return cardlib.PublicKey.from_raw(entry["alg"], bytes.fromhex(entry["raw_hex"]))


def trusted_key(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    """Load a key both ways; both must agree with the entry. The key is trusted under
    ``kid_hex``: its derived kid, unless ``kid_assigned`` says a trust source assigned it."""
    key, raw = key_from_pem(entry), key_from_raw(entry)
    assert key.algorithm == raw.algorithm == entry["alg"]
    assert key.raw == raw.raw == bytes.fromhex(entry["raw_hex"])
    assert key.kid == raw.kid
    kid = bytes.fromhex(entry["kid_hex"])
    if entry["kid_assigned"]:
        assert kid != key.kid
        return replace(key, kid=kid)
    assert key.kid == kid
    return key


def build_verifier(vector: Mapping[str, Any]) -> Verifier:
    """A Verifier built from exactly the vector's ``verifier`` member (and ``now``)."""
    inputs = vector["verifier"]
    policy = inputs["policy"]
    root = inputs["root_certificate"]
    root_der = None
    if root is not None:
        root_der = bytes.fromhex(root["der_hex"])
        assert certificate_der(root["pem"].encode("ascii")) == root_der
        assert hashlib.sha256(root_der).digest()[:8].hex() == root["kid_hex"]
    return Verifier(
        keys=[trusted_key(entry) for entry in inputs["trusted_keys"]],
        root=root_der,
        trust_list=unhex(inputs["trust_list_hex"]),
        revocation_list=unhex(inputs["revocation_list_hex"]),
        policy=Policy(skew=timedelta(seconds=policy["skew_seconds"]),
                      grace=timedelta(seconds=policy["grace_seconds"]),
                      require_revocation=policy["require_revocation"]),
        now=instant(vector["now"]),
    )


@dataclass(frozen=True)
class AssignedKidSigner:
    """A private key signing under a kid its trust source assigned (a certificate's kid)."""

    key: cardlib.PrivateKey
    kid: bytes

    @property
    def algorithm(self) -> str:
        return self.key.algorithm

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def private_key(entry: Mapping[str, Any]) -> cardlib.PrivateKey:
    secret = bytes.fromhex(entry["private_hex"])
    obj: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if entry["alg"] == "EdDSA":
        obj = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
    else:
        obj = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    pem = obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = cardlib.PrivateKey.from_pem(pem)
    assert key.algorithm == entry["alg"]
    assert (key.kid.hex() == entry["kid_hex"]) is not entry["kid_assigned"]
    return key


def signer_of(entry: Mapping[str, Any]) -> cardlib.PrivateKey | AssignedKidSigner:
    key = private_key(entry)
    return AssignedKidSigner(key, bytes.fromhex(entry["kid_hex"])) if entry["kid_assigned"] else key


def root_signed(data: bytes) -> tuple[dict[Any, Any], Any, bytes, bytes]:
    """A root-signed list read with cbor2 alone: (protected header, payload, Sig_structure,
    signature)."""
    item = cbor2.loads(data)
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18
    protected, unprotected, payload, signature = item.value
    assert unprotected == {}
    structure = cbor2.dumps(["Signature1", protected, b"", payload])
    return cbor2.loads(protected), cbor2.loads(payload), structure, signature


def listed_certificates(vector: Mapping[str, Any]) -> list[x509.Certificate]:
    """The centre certificates in the vector's trust list (read with cbor2 and cryptography)."""
    text = vector["verifier"]["trust_list_hex"]
    if text is None:
        return []
    _, body, _, _ = root_signed(bytes.fromhex(text))
    return [x509.load_der_x509_certificate(der) for der in body[4]]


def pem_of(key: Any) -> str:
    pem: bytes = key.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def candidate_entries(vector: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every key the verifier trusts: the bare keys, then the trust list's centre keys."""
    listed = [{"pem": pem_of(cert.public_key())} for cert in listed_certificates(vector)]
    return [*key_entries(vector), *listed]


def signature_checks(entry: Mapping[str, Any], signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies under the entry's key, using cryptography
    directly (not cardlib)."""
    key = serialization.load_pem_public_key(entry["pem"].encode("ascii"))
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def layer_failures(layers: Mapping[str, Any]) -> list[str]:
    """Check each recorded layer against the next one; return the codes of layers that fail to
    decode (a layer that decodes must give exactly the recorded next layer)."""
    failures: list[str] = []
    compressed, cose = unhex(layers["compressed_hex"]), unhex(layers["cose_hex"])
    protected, payload = unhex(layers["protected_hex"]), unhex(layers["cbor_hex"])
    signature, structure = unhex(layers["signature_hex"]), unhex(layers["sig_structure_hex"])
    try:
        raw = _base45.b45decode(layers["base45"])
    except cardlib.CardError as err:
        failures.append(err.code)
    else:
        assert _base45.b45encode(raw) == layers["base45"]
        assert raw == (cose if compressed is None else compressed)
    if compressed is not None:
        try:
            inflated = _zlib.decompress(compressed, LIMITS.max_decompressed_bytes)
        except cardlib.CardError as err:
            failures.append(err.code)
            if cose is not None:  # what a truncated stream holds is a prefix of the message
                assert cose.startswith(zlib.decompressobj().decompress(compressed))
        else:
            assert inflated == zlib.decompress(compressed) == cose
    if cose is not None:
        try:
            message = _cose.decode(cose, LIMITS)
        except cardlib.CardError as err:
            failures.append(err.code)
        else:
            assert (message.protected, message.payload, message.signature) == (
                protected, payload, signature)
            assert as_json(message.unprotected_header) == layers["unprotected"]
            item, tags = cbor2.loads(cose), []
            while isinstance(item, cbor2.CBORTag):
                tags.append(item.tag)
                item = item.value
            envelopes = {(): "untagged", (18,): "tag18", (61, 18): "tag61"}
            assert message.envelope == envelopes[tuple(tags)]
            assert list(item) == [protected, dict(message.unprotected_header), payload, signature]
    if protected is not None and payload is not None:
        expected = cbor2.dumps(["Signature1", protected, b"", payload])
        assert structure == expected == _cose.sig_structure(protected, payload)
    if payload is not None:
        try:
            signed = _cbor.loads(payload, LIMITS)
            claims = signed.get(169) if isinstance(signed, dict) else None
            if isinstance(claims, bytes):
                claims = _cbor.loads(claims, LIMITS)
        except cardlib.CardError as err:
            failures.append(err.code)
        else:
            assert as_json(claims) == layers["claims"]
    return failures


# --- (a) the verifier gives the expected result ------------------------------------------------


@pytest.mark.parametrize("vector", cases())
def test_verify_gives_expected_result(vector: dict[str, Any]) -> None:
    if "expected_error" in vector:
        assert "expected" not in vector
        error = vector["expected_error"]
        assert set(error) == {"code", "category"}
        with pytest.raises(cardlib.CardError) as info:
            build_verifier(vector)
        assert (info.value.code, info.value.category) == (error["code"], error["category"])
        for entry in key_entries(vector):  # the refused key, however it is given
            for load in (key_from_pem, key_from_raw):
                with pytest.raises(cardlib.CardError) as info:
                    load(entry)
                assert info.value.code == error["code"]
        return
    verifier = build_verifier(vector)
    result = verifier.check(vector["layers"]["base45"], now=instant(vector["now"]))
    found = result.to_json()
    assert list(found) == RESULT_MEMBERS
    assert found == vector["expected"], (found["code"], found["detail"])


# --- (b) the recorded layers and trust data are consistent --------------------------------------


@pytest.mark.parametrize("vector", cases())
def test_layers_are_consistent(vector: dict[str, Any]) -> None:
    code = expected_code(vector)
    failures = layer_failures(vector["layers"])
    assert failures == ([code] if code in LAYER_CODES else [])


@pytest.mark.parametrize(
    "vector",
    cases(lambda v: expected_code(v) in AFTER_SIGNATURE | {None, "signature_invalid"}),
)
def test_signature_matches_expectation(vector: dict[str, Any]) -> None:
    """Content errors come from genuinely signed payloads; signature_invalid from bad ones."""
    layers = vector["layers"]
    signature, structure = unhex(layers["signature_hex"]), unhex(layers["sig_structure_hex"])
    assert signature is not None and structure is not None
    verified = [signature_checks(e, signature, structure) for e in candidate_entries(vector)]
    if expected_code(vector) == "signature_invalid":
        assert not any(verified)
    else:
        assert any(verified)


@pytest.mark.parametrize("vector", cases(lambda v: v["verifier"]["root_certificate"] is not None))
def test_trust_data_is_consistent(vector: dict[str, Any]) -> None:
    """Checked with cryptography and cbor2 directly: the root is self-signed, every listed
    centre certificate is issued by it, both lists carry the root's signature and their content
    types, and a certified signing key signs under its certificate's kid."""
    inputs = vector["verifier"]
    root = x509.load_der_x509_certificate(bytes.fromhex(inputs["root_certificate"]["der_hex"]))
    root.verify_directly_issued_by(root)
    public = root.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    for cert in listed_certificates(vector):
        cert.verify_directly_issued_by(root)
    kinds = {"trust_list_hex": "application/vnd.cardlib.trust-list+cbor",
             "revocation_list_hex": "application/vnd.cardlib.revocation-list+cbor"}
    for member, content_type in kinds.items():
        if inputs[member] is not None:
            header, _, structure, signature = root_signed(bytes.fromhex(inputs[member]))
            assert header[3] == content_type
            public.verify(signature, structure)
    signing = vector["signing_key"]
    if signing is not None and signing["kid_assigned"]:
        mine = private_key(signing).public_key.to_pem().decode("ascii")
        kids = {hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8].hex()
                for cert in listed_certificates(vector) if pem_of(cert.public_key()) == mine}
        assert kids == {signing["kid_hex"]}


# --- (c) cardlib's issue path reproduces the layers ---------------------------------------------


@pytest.mark.parametrize("vector", cases(lambda v: v["issued_by"] is not None))
def test_issue_path_reproduces_layers(vector: dict[str, Any]) -> None:
    issued_by, layers = vector["issued_by"], vector["layers"]
    assert issued_by["function"] == "cardlib._pipeline.build"
    signer = signer_of(vector["signing_key"])
    assert signer.algorithm == vector["algorithm"]
    built = _pipeline.build(
        cardlib.record_from_json(vector["record"]),
        signer,
        now=instant(issued_by["now"]),
        issuer=issued_by["issuer"],
        compress=issued_by["compress"],
    )
    assert as_json(built.claims) == layers["claims"]
    assert built.cbor.hex() == layers["cbor_hex"]
    assert built.protected.hex() == layers["protected_hex"]
    assert layers["unprotected"] == {}
    assert built.sig_structure.hex() == layers["sig_structure_hex"]
    if vector["algorithm"] == "EdDSA":
        assert built.signature.hex() == layers["signature_hex"]
        assert built.cose.hex() == layers["cose_hex"]
        if not issued_by["compress"]:
            assert built.base45 == layers["base45"]
    else:
        # cardlib's ES256 nonces are random: the recorded signature differs but must verify,
        # and the message around it must be the one cardlib writes.
        recorded = bytes.fromhex(layers["signature_hex"])
        private_key(vector["signing_key"]).public_key.verify(recorded, built.sig_structure)
        assert _cose.encode(built.protected, {}, built.cbor, recorded).hex() == layers["cose_hex"]


# --- (d) the set of vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("vector", cases())
def test_vector_members_match_the_spec(vector: dict[str, Any]) -> None:
    """Every member of specs/format.md section 11, and nothing else."""
    outcome = {"expected"} if "expected" in vector else {"expected_error"}
    assert set(vector) == MEMBERS | outcome
    inputs = vector["verifier"]
    assert set(inputs) == VERIFIER_MEMBERS
    assert set(inputs["policy"]) == POLICY_MEMBERS
    assert all(set(entry) == KEY_MEMBERS for entry in inputs["trusted_keys"])
    assert inputs["root_certificate"] is None or set(inputs["root_certificate"]) == ROOT_MEMBERS
    if inputs["root_certificate"] is None:
        assert inputs["trust_list_hex"] is None and inputs["revocation_list_hex"] is None
        assert inputs["trusted_keys"]
    assert vector["signing_key"] is None or set(vector["signing_key"]) == SIGNING_KEY_MEMBERS
    assert vector["issued_by"] is None or set(vector["issued_by"]) == ISSUED_BY_MEMBERS
    assert set(vector["layers"]) == LAYER_MEMBERS
    assert "expected" not in vector or list(vector["expected"]) == sorted(RESULT_MEMBERS)


def test_vector_set_covers_the_cases() -> None:
    assert len(VECTORS) >= 90
    assert {v["algorithm"] for v in VECTORS.values()} == {"EdDSA", "ES256"}
    outcomes = [v.get("expected", {}) for v in VECTORS.values()]
    verdicts = {(r["status"], r["code"]) for r in outcomes if r and r["status"] != "invalid"}
    assert verdicts == REQUIRED_VERDICTS
    codes = {expected_code(v) for v in VECTORS.values()} - {None}
    assert codes >= REQUIRED_CODES
    assert codes <= {cls.code for cls in all_error_classes()}
    assert {v["expected_error"]["code"] for v in VECTORS.values() if "expected_error" in v} == (
        KEY_CODES)
    for algorithm in ("EdDSA", "ES256"):
        mine = [v for v in VECTORS.values() if v["algorithm"] == algorithm]
        assert any(expected_code(v) is not None for v in mine)
        assert any(v.get("expected", {}).get("status") == "valid" for v in mine)
    assert any(v["issued_by"] and v["algorithm"] == "EdDSA" for v in VECTORS.values())
    problems = {p["code"] for r in outcomes if r for p in r["problems"]}
    assert problems == SIGNED_MAP_PROBLEMS
    assert not problems & NOT_FROM_SIGNED_MAP
    # One card carries every standard Claim 169 field (keys 1-23 and 50-65).
    every = [r["card"]["claims"] for r in outcomes
             if r and r["card"] and r["card"]["record"] is None]
    assert any(set(c) >= set(cardlib.Claim169.__dataclass_fields__)
               and set(c["biometrics"]) == {str(k) for k in range(50, 66)} for c in every)
    titles = [v["title"] for v in VECTORS.values()]
    assert len(set(titles)) == len(titles)
    for name, vector in VECTORS.items():
        assert name == re.sub(r"[^a-z0-9]+", "-", vector["title"].lower()).strip("-") + ".json"


# --- (e) the generator reproduces the vectors ---------------------------------------------------


def test_generator_reproduces_vectors(tmp_path: Path) -> None:
    out = tmp_path / "vectors"
    out.mkdir()
    (out / "stale.json").write_text("{}", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(GENERATOR), str(out)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    fresh = load_vectors(out)
    assert sorted(fresh) == sorted(VECTORS)
    for name, vector in VECTORS.items():
        assert without_zlib(fresh[name]) == without_zlib(vector), name
        for path in (out / name, VECTOR_DIR / name):
            text = path.read_text(encoding="utf-8")
            layout = json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True)
            assert text == layout + "\n"


def without_zlib(vector: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``vector`` without the layers that depend on the zlib build."""
    layers = dict(vector["layers"])
    if layers["compressed_hex"] is not None:
        layers["compressed_hex"] = layers["base45"] = "<depends on zlib>"
    inputs = dict(vector["verifier"])
    if inputs["revocation_list_hex"] is not None:  # its entry table is a zlib stream
        inputs["revocation_list_hex"] = "<depends on zlib>"
    return {**vector, "layers": layers, "verifier": inputs}
