"""The test vectors in ``specs/vectors/``: one loader, every file a parametrised case.

Each vector is checked four ways: verifying its Base45 text with its trusted keys gives exactly
the expected result or error code; its recorded layers are consistent with one another (checked
with zlib, cbor2 and cryptography directly, not only with cardlib); cardlib's issue path
reproduces the layers of vectors built from a record; and the generator, run again, writes the
same files. The file format is described in ``specs/make_vectors.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zlib
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import cardlib
from cardlib import _pipeline
from cardlib._errors import all_error_classes
from cardlib.codec import _base45, _cbor, _cose, _zlib

ROOT = Path(__file__).resolve().parents[1]
VECTOR_DIR = ROOT / "specs" / "vectors"
GENERATOR = ROOT / "specs" / "make_vectors.py"
LIMITS = cardlib.DEFAULT_LIMITS

# Raised while loading the trusted key, before any payload is read.
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
    "claims_invalid", "record_invalid", "expired", "not_yet_valid",
})
# Every code the vector set must exercise.
REQUIRED_CODES = frozenset({
    "signature_invalid", "key_unknown", "alg_missing", "alg_unsupported", "alg_key_mismatch",
    "signature_malformed", "expired", "not_yet_valid", "cbor_duplicate_key", "text_too_long",
    "cbor_too_deep", "cbor_too_many_items", "payload_too_large", "decompress_failed",
    "base45_invalid", "input_too_large", "cose_invalid", "claims_invalid", "record_invalid",
    "cbor_invalid", "key_weak", "key_off_curve",
})


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


def key_entries(vector: Mapping[str, Any]) -> list[dict[str, Any]]:
    assert ("public_key" in vector) != ("trusted_keys" in vector)
    entries: list[dict[str, Any]] = (
        [vector["public_key"]] if "public_key" in vector else vector["trusted_keys"]
    )
    assert entries
    return entries


def key_from_pem(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    return cardlib.PublicKey.from_pem(entry["pem"].encode("ascii"))


def key_from_raw(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    return cardlib.PublicKey.from_raw(entry["alg"], bytes.fromhex(entry["raw_hex"]))


def trusted_key(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    """Load a key both ways; both must agree with the entry (and the kid be derived, unless
    the entry says the trust list assigned it)."""
    key, raw = key_from_pem(entry), key_from_raw(entry)
    assert key.algorithm == raw.algorithm == entry["alg"]
    assert key.raw == raw.raw == bytes.fromhex(entry["raw_hex"])
    assert key.kid == raw.kid
    kid = bytes.fromhex(entry["kid_hex"])
    if entry.get("kid_assigned"):
        assert kid != key.kid
        return replace(key, kid=kid)
    assert key.kid == kid
    return key


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
    assert key.kid.hex() == entry["kid_hex"]
    return key


def claims_json(claims: cardlib.Claim169) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in fields(claims):
        value = getattr(claims, spec.name)
        if spec.name in ("biometrics", "extras") or value is not None:
            out[spec.name] = as_json(value)
    return out


def card_json(card: cardlib.VerifiedCard) -> dict[str, Any]:
    return {
        "algorithm": card.algorithm,
        "kid_hex": None if card.kid is None else card.kid.hex(),
        "issuer": card.issuer,
        "subject": card.subject,
        "issued_at": iso(card.issued_at),
        "not_before": iso(card.not_before),
        "expires_at": iso(card.expires_at),
        "envelope": card.envelope,
        "compressed": card.compressed,
    }


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


# --- (a) verify gives the expected result -------------------------------------------------------


@pytest.mark.parametrize("vector", cases())
def test_verify_gives_expected_result(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    code = expected.get("error")
    entries = key_entries(vector)
    if code in KEY_CODES:
        for entry in entries:
            for load in (key_from_pem, key_from_raw):
                with pytest.raises(cardlib.CardError) as info:
                    load(entry)
                assert info.value.code == code
        return
    trust = cardlib.TrustStore([trusted_key(entry) for entry in entries])
    now = instant(vector["now"])
    skew = timedelta(seconds=vector["skew_seconds"])
    if code is not None:
        with pytest.raises(cardlib.CardError) as info:
            cardlib.verify(vector["layers"]["base45"], trust, now=now, skew=skew)
        assert info.value.code == code, str(info.value)
        if "problems" in expected:
            assert isinstance(info.value, cardlib.ValidationError)
            found = [{"path": p.path, "code": p.code} for p in info.value.problems]
            assert found == expected["problems"]
        return
    assert expected["result"] == "valid"
    card = cardlib.verify(vector["layers"]["base45"], trust, now=now, skew=skew)
    record = None if card.record is None else cardlib.record_to_json(card.record)
    assert record == expected["record"]
    assert claims_json(card.claims) == expected["claims"]
    assert card_json(card) == expected["card"]


# --- (b) the recorded layers are consistent -----------------------------------------------------


@pytest.mark.parametrize("vector", cases())
def test_layers_are_consistent(vector: dict[str, Any]) -> None:
    code = vector["expected"].get("error")
    failures = layer_failures(vector["layers"])
    assert failures == ([code] if code in LAYER_CODES else [])


@pytest.mark.parametrize(
    "vector",
    cases(lambda v: v["expected"].get("error") in AFTER_SIGNATURE | {None, "signature_invalid"}),
)
def test_signature_matches_expectation(vector: dict[str, Any]) -> None:
    """Content errors come from genuinely signed payloads; signature_invalid from bad ones."""
    layers = vector["layers"]
    signature, structure = unhex(layers["signature_hex"]), unhex(layers["sig_structure_hex"])
    assert signature is not None and structure is not None
    verified = [signature_checks(e, signature, structure) for e in key_entries(vector)]
    if vector["expected"].get("error") == "signature_invalid":
        assert not any(verified)
    else:
        assert any(verified)


# --- (c) cardlib's issue path reproduces the layers ---------------------------------------------


@pytest.mark.parametrize("vector", cases(lambda v: v["issued_by"] is not None))
def test_issue_path_reproduces_layers(vector: dict[str, Any]) -> None:
    issued_by, layers = vector["issued_by"], vector["layers"]
    assert issued_by["function"] == "cardlib._pipeline.build"
    key = private_key(vector["signing_key"])
    assert key.algorithm == vector["algorithm"]
    built = _pipeline.build(
        cardlib.record_from_json(vector["record"]),
        key,
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
        key.public_key.verify(recorded, built.sig_structure)
        assert _cose.encode(built.protected, {}, built.cbor, recorded).hex() == layers["cose_hex"]


# --- (d) the set of vectors ---------------------------------------------------------------------


def test_vector_set_covers_the_cases() -> None:
    assert len(VECTORS) >= 30
    assert {v["algorithm"] for v in VECTORS.values()} == {"EdDSA", "ES256"}
    results = [v["expected"] for v in VECTORS.values()]
    assert all(("error" in r) != (r.get("result") == "valid") for r in results)
    codes = {r["error"] for r in results if "error" in r}
    assert any(r.get("result") == "valid" for r in results)
    assert codes >= REQUIRED_CODES
    assert codes <= {cls.code for cls in all_error_classes()}
    for algorithm in ("EdDSA", "ES256"):
        mine = [v["expected"] for v in VECTORS.values() if v["algorithm"] == algorithm]
        assert any("error" in r for r in mine) and any("result" in r for r in mine)
    assert any(v["issued_by"] and v["algorithm"] == "EdDSA" for v in VECTORS.values())
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
    return {**vector, "layers": layers}
