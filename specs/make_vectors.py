"""Regenerate the test vectors in ``specs/vectors/``: one JSON file per case, every layer recorded.

Run ``python specs/make_vectors.py [OUT_DIR]`` (default ``specs/vectors``). The script deletes the
``*.json`` files in the output directory and writes every case again. Keys and clocks are fixed,
and both algorithms sign deterministically (Ed25519 by design, ES256 with RFC 6979 nonces), so a
second run writes the same bytes, except where zlib output depends on the zlib build.

A vector file holds:

``title``, ``description``
    What the case is and why it gives its result.
``algorithm``
    The algorithm of the key that signed the payload (``"EdDSA"`` or ``"ES256"``), or of the
    trusted key when nothing was signed.
``signing_key``
    The fixed TEST key that signed: ``{"alg", "private_hex", "kid_hex"}``, where ``private_hex``
    is the Ed25519 seed or the P-256 scalar d (big-endian); ``null`` when nothing was signed.
    Never use these keys for real cards.
``public_key`` or ``trusted_keys``
    The verifier's trust: one key, or a list of keys. Each is ``{"alg", "pem", "raw_hex",
    "kid_hex"}``; ``"kid_assigned": true`` marks a kid given by the trust list instead of the
    kid derived from the key (first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo).
``now``, ``skew_seconds``
    The verifier's clock (ISO-8601 UTC) and clock tolerance.
``record``
    The holder record (cardlib JSON shape) the payload was built from, or ``null``.
``issued_by``
    ``{"function": "cardlib._pipeline.build", "now", "issuer", "compress"}`` when the CBOR, the
    protected header, the Sig_structure, the signature and the COSE bytes came from cardlib's
    normal issue path with these arguments; ``null`` for payloads assembled by hand.
``layers``
    ``claims`` (the Claim 169 map as signed, JSON-friendly: integer keys as strings, bytes as
    ``{"hex": ...}``, tags as ``{"tag": n, "value": ...}``; ``null`` when the payload is not
    strict CBOR or carries no claim 169), ``cbor_hex`` (the COSE payload: the CWT claims set),
    ``protected_hex``, ``unprotected`` (JSON-friendly), ``sig_structure_hex`` (what a verifier
    computes from the message as sent), ``signature_hex``, ``cose_hex``, ``compressed_hex``
    (``null`` when the payload is not zlib-compressed) and ``base45`` (the QR text, the input to
    ``cardlib.verify``). A layer that was not produced is ``null``.
``expected``
    ``{"result": "valid", "record", "claims", "card"}`` or ``{"error": "<code>"}`` (with
    ``"problems"`` for ``record_invalid``). ``key_weak`` and ``key_off_curve`` are raised when
    the trusted key is loaded, before any payload is read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

import cardlib
from cardlib import _pipeline
from cardlib._values import json_value
from cardlib.codec import _base45, _cbor, _cose, _zlib
from cardlib.keys._algorithms import BY_NAME
from cardlib.profile._claims import to_claims


def _jsonable(value: object) -> object:
    return json_value(value, bytes_as_object=True)

SPECS = Path(__file__).resolve().parent
DEFAULT_OUT = SPECS / "vectors"
EXAMPLE = SPECS / "examples" / "holder.json"

ISSUE_NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
VERIFY_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SKEW = 300
ISSUER = "LBY"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_L = 2**252 + 27742317777372353535851937790883648493
# DER prefix of a SubjectPublicKeyInfo holding an uncompressed P-256 point (RFC 5480).
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
# An Ed25519 point of order 8 (in libsodium's list of small-order encodings).
SMALL_ORDER_POINT = bytes.fromhex(
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
)
# Decoding limits large enough to read back any payload written here (for layers.claims only).
READ_BACK = cardlib.Limits(max_depth=64, max_items=100_000, max_text_chars=100_000)

STANDARD_NAMES = {
    1: "id", 2: "version", 3: "language", 4: "full_name", 5: "first_name", 6: "middle_name",
    7: "last_name", 8: "date_of_birth", 9: "gender", 10: "address", 11: "email", 12: "phone",
    13: "nationality", 14: "marital_status", 15: "guardian", 16: "photo", 17: "photo_format",
    18: "best_quality_fingers", 19: "secondary_full_name", 20: "secondary_language",
    21: "location_code", 22: "legal_status", 23: "country_of_issuance",
}
ENUM_NAMES = frozenset({"gender", "marital_status", "photo_format"})


# --- fixed keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedKey:
    """A test key derived from a label, usable as a cardlib ``Signer``.

    Ed25519 signs through ``cardlib.PrivateKey.sign``. ES256 signs with RFC 6979 deterministic
    nonces (cryptography's ``deterministic_signing``), so regenerated vectors do not churn;
    cardlib's own ES256 signer uses random nonces, and a verifier cannot tell them apart.
    """

    secret: bytes
    private: cardlib.PrivateKey
    obj: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def derive(cls, algorithm: str, label: str) -> FixedKey:
        digest = hashlib.sha256(f"cardlib test vectors: {label}".encode()).digest()
        obj: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if algorithm == "EdDSA":
            obj = ed25519.Ed25519PrivateKey.from_private_bytes(digest)
            secret = digest
        else:
            scalar = int.from_bytes(digest, "big") % (P256_ORDER - 1) + 1
            obj = ec.derive_private_key(scalar, ec.SECP256R1())
            secret = scalar.to_bytes(32, "big")
        pem = obj.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(secret, cardlib.PrivateKey.from_pem(pem), obj)

    @property
    def algorithm(self) -> str:
        return self.private.algorithm

    @property
    def kid(self) -> bytes:
        return self.private.kid

    @property
    def public(self) -> cardlib.PublicKey:
        return self.private.public_key

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.obj, ec.EllipticCurvePrivateKey):
            der = self.obj.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
            r, s = decode_dss_signature(der)
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self.private.sign(data)

    def to_json(self) -> dict[str, Any]:
        return {"alg": self.algorithm, "private_hex": self.secret.hex(), "kid_hex": self.kid.hex()}


ED = FixedKey.derive("EdDSA", "EdDSA issuing centre key")
ED_OTHER = FixedKey.derive("EdDSA", "EdDSA other centre key")
ES = FixedKey.derive("ES256", "ES256 issuing centre key")
ES_OTHER = FixedKey.derive("ES256", "ES256 other centre key")


def key_json(key: cardlib.PublicKey, *, kid: bytes | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "alg": key.algorithm,
        "pem": key.to_pem().decode("ascii"),
        "raw_hex": key.raw.hex(),
        "kid_hex": (kid or key.kid).hex(),
    }
    if kid is not None and kid != key.kid:
        out["kid_assigned"] = True
    return out


def raw_key_json(alg: str, raw: bytes, spki_der: bytes) -> dict[str, Any]:
    """A key entry for a key cardlib refuses to load (so it is described by hand)."""
    text = base64.b64encode(spki_der).decode("ascii")
    body = "".join(f"{text[i : i + 64]}\n" for i in range(0, len(text), 64))
    pem = f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"
    kid = hashlib.sha256(spki_der).digest()[:8]
    return {"alg": alg, "pem": pem, "raw_hex": raw.hex(), "kid_hex": kid.hex()}


def weak_ed25519_key() -> dict[str, Any]:
    obj = ed25519.Ed25519PublicKey.from_public_bytes(SMALL_ORDER_POINT)
    spki = obj.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw_key_json("EdDSA", SMALL_ORDER_POINT, spki)


def off_curve_p256_key() -> dict[str, Any]:
    point = b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")  # y^2 != x^3 - 3x + b
    return raw_key_json("ES256", point, P256_SPKI_PREFIX + point)


# --- holder records -----------------------------------------------------------------------------


def fake_webp(size: int) -> bytes:
    """A RIFF/WebP container holding deterministic filler (not a decodable image)."""
    body = b"VP8 " + (size - 20).to_bytes(4, "little") + filler(size - 20)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


def filler(size: int) -> bytes:
    out = b""
    block = b"cardlib"
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:size]


def load_example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


CITIZEN = load_example()
RESIDENT: dict[str, Any] = {
    "category": "resident",
    "admin_number": "EG20190045",
    "name_ar": {"first": "أميرة", "father": "حسن", "grandfather": "عبد", "family": "المصري"},
    "name_latin": {"first": "Amira", "father": "Hassan", "grandfather": "Abd",
                   "family": "Elmasry"},
    "mother_name_ar": "نادية محمود",
    "date_of_birth": "1990-07-22",
    "place_of_birth": "القاهرة",
    "sex": "female",
    "nationality": "EGY",
    "address": "شارع جمال عبد الناصر\nبنغازي",
    "email": "amira.hassan@example.ly",
    "document_number": "RS0004567",
    "centre_code": "BEN-02",
    "issue_date": "2026-01-10",
    "expiry_date": "2031-01-09",
}
WITH_PHOTO: dict[str, Any] = {
    "category": "citizen",
    "national_number": "219920045671",
    "name_ar": {"first": "سارة", "father": "خالد", "grandfather": "مفتاح", "family": "الزوي"},
    "name_latin": {"first": "Sara", "father": "Khaled", "grandfather": "Muftah",
                   "family": "Ezzway"},
    "mother_name_ar": "مريم علي",
    "mother_name_latin": "Maryam Ali",
    "date_of_birth": "1992-11-02",
    "place_of_birth": "سبها",
    "sex": "female",
    "nationality": "LBY",
    "address": "حي المنشية، سبها",
    "phone": "+218 92 765 4321",
    "email": "sara.ezzway@example.ly",
    "document_number": "LY0009876",
    "centre_code": "SEB-03",
    "issue_date": "2026-01-10",
    "expiry_date": "2036-01-09",
    "photo": base64.b64encode(fake_webp(48)).decode("ascii"),
    "photo_format": "webp",
}
MINIMAL: dict[str, Any] = {
    "category": "citizen",
    "national_number": "120010098765",
    "name_ar": {"first": "يوسف", "father": "عمر", "grandfather": "إبراهيم", "family": "التاجوري"},
    "name_latin": {"first": "Youssef", "father": "Omar", "grandfather": "Ibrahim",
                   "family": "Tajouri"},
    "mother_name_ar": "خديجة",
    "date_of_birth": "2001-05-30",
    "place_of_birth": "مصراتة",
    "sex": "male",
    "nationality": "LBY",
    "address": "مصراتة",
    "document_number": "LY0005555",
    "centre_code": "MIS-01",
    "issue_date": "2026-01-10",
    "expiry_date": "2036-01-09",
}
BIG_PHOTO = {
    **CITIZEN,
    "photo": base64.b64encode(filler(6000)).decode("ascii"),
    "photo_format": "jpeg",
}


def holder(data: Mapping[str, Any]) -> cardlib.HolderRecord:
    record = cardlib.record_from_json(data)
    if cardlib.record_to_json(record) != data:
        raise AssertionError("vector records must already be in cardlib's normal JSON form")
    return record


# --- layers -------------------------------------------------------------------------------------


def iso(moment: datetime | int | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Wire:
    """Every layer of one payload as sent. ``None`` marks a layer that was not produced."""

    cbor: bytes | None
    protected: bytes | None
    unprotected: dict[int, Any] | None
    sig_structure: bytes | None
    signature: bytes | None
    cose: bytes | None
    compressed: bytes | None
    base45: str
    envelope: str = "tag18"

    def claims(self) -> Any:
        """Claim 169 as signed (read back leniently), or None."""
        if self.cbor is None:
            return None
        try:
            cwt = _cbor.loads(self.cbor, READ_BACK)
            raw = cwt.get(169) if isinstance(cwt, dict) else None
            if isinstance(raw, bytes):
                raw = _cbor.loads(raw, READ_BACK)
        except cardlib.CardError:
            return None
        return raw

    def to_json(self) -> dict[str, Any]:
        def hexed(data: bytes | None) -> str | None:
            return None if data is None else data.hex()

        return {
            "claims": _jsonable(self.claims()),
            "cbor_hex": hexed(self.cbor),
            "protected_hex": hexed(self.protected),
            "unprotected": None if self.unprotected is None else _jsonable(self.unprotected),
            "sig_structure_hex": hexed(self.sig_structure),
            "signature_hex": hexed(self.signature),
            "cose_hex": hexed(self.cose),
            "compressed_hex": hexed(self.compressed),
            "base45": self.base45,
        }


def envelope(items: list[Any], kind: str) -> bytes:
    if kind == "untagged":
        return _cbor.dumps(items)
    sign1 = _cbor.Tag(_cbor.TAG_COSE_SIGN1, items)
    if kind == "tag18":
        return _cbor.dumps(sign1)
    if kind == "tag61":
        return _cbor.dumps(_cbor.Tag(_cbor.TAG_CWT, sign1))
    raise ValueError(kind)


def transport(cose: bytes, compress: bool) -> tuple[bytes | None, str]:
    compressed = _zlib.compress(cose) if compress else None
    return compressed, _base45.b45encode(cose if compressed is None else compressed)


def wrap(
    payload: bytes,
    protected: bytes,
    unprotected: dict[int, Any],
    signature: bytes,
    *,
    kind: str = "tag18",
    compress: bool = True,
) -> Wire:
    cose = envelope([protected, unprotected, payload, signature], kind)
    compressed, text = transport(cose, compress)
    return Wire(payload, protected, unprotected, _cose.sig_structure(protected, payload),
                signature, cose, compressed, text, kind)


def seal(
    key: FixedKey,
    payload: bytes,
    *,
    protected: dict[int, Any] | None = None,
    unprotected: dict[int, Any] | None = None,
    kind: str = "tag18",
    compress: bool = True,
) -> Wire:
    """Sign ``payload`` properly with ``key`` (default protected header: alg and kid)."""
    header = {1: BY_NAME[key.algorithm].cose_id, 4: key.kid} if protected is None else protected
    encoded = _cose.encode_header(header)
    signature = key.sign(_cose.sig_structure(encoded, payload))
    return wrap(payload, encoded, unprotected or {}, signature, kind=kind, compress=compress)


def rewrap(wire: Wire, *, payload: bytes | None = None, signature: bytes | None = None) -> Wire:
    """The same message with its payload or signature replaced (and not re-signed)."""
    assert wire.cbor is not None and wire.protected is not None and wire.signature is not None
    return wrap(payload or wire.cbor, wire.protected, wire.unprotected or {},
                signature or wire.signature, kind=wire.envelope,
                compress=wire.compressed is not None)


def issued(record: Mapping[str, Any], key: FixedKey, *, compress: bool = True) -> tuple[
    Wire, dict[str, Any]
]:
    """Layers from cardlib's normal issue path, and the ``issued_by`` entry describing it."""
    layers = _pipeline.build(holder(record), key, now=ISSUE_NOW, issuer=ISSUER, compress=compress)
    wire = Wire(layers.cbor, layers.protected, {}, layers.sig_structure, layers.signature,
                layers.cose, layers.compressed if compress else None, layers.base45)
    if wire.cose is None or _cbor.dumps(cwt(layers.claims, record)) != layers.cbor:
        raise AssertionError("hand-built CWT no longer matches cardlib's issue path")
    by = {"function": "cardlib._pipeline.build", "now": iso(ISSUE_NOW), "issuer": ISSUER,
          "compress": compress}
    return wire, by


def expiry(record: Mapping[str, Any]) -> int:
    day = datetime.fromisoformat(record["expiry_date"]).replace(tzinfo=UTC)
    return int((day + timedelta(days=1)).timestamp())


def cwt(claims: Any, record: Mapping[str, Any] | None = None) -> dict[int, Any]:
    """A CWT claims set as cardlib issues it: iss, exp (end of expiry day), nbf, iat, 169."""
    out: dict[int, Any] = {1: ISSUER, 5: int(ISSUE_NOW.timestamp()),
                           6: int(ISSUE_NOW.timestamp()), 169: claims}
    if record is not None:
        out[4] = expiry(record)
    return out


def profile_claims(record: Mapping[str, Any]) -> dict[int, Any]:
    return to_claims(holder(record))


def head(major: int, length: int) -> bytes:
    """A CBOR item head (RFC 8949 section 3), for maps written by hand."""
    if length < 24:
        return bytes([major << 5 | length])
    if length < 256:
        return bytes([major << 5 | 24, length])
    return bytes([major << 5 | 25]) + length.to_bytes(2, "big")


def raw_map(pairs: list[tuple[Any, bytes]]) -> bytes:
    """A CBOR map from keys and pre-encoded values, in the given order (duplicates allowed)."""
    return head(5, len(pairs)) + b"".join(_cbor.dumps(k) + v for k, v in pairs)


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


# --- expectations -------------------------------------------------------------------------------


def claims_view(claims: Mapping[Any, Any]) -> dict[str, Any]:
    """The expected ``VerifiedCard.claims`` as JSON: standard fields present, then the rest."""
    view: dict[str, Any] = {}
    biometrics: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in claims.items():
        if key in STANDARD_NAMES:
            name = STANDARD_NAMES[key]
            textual = name in ENUM_NAMES and isinstance(value, str)
            view[name] = int(value) if textual else _jsonable(value)
        elif key in range(50, 66):
            biometrics[str(key)] = _jsonable(value)
        else:
            extras[str(key)] = _jsonable(value)
    return {**view, "biometrics": biometrics, "extras": extras}


def valid(wire: Wire, key: FixedKey, record: Mapping[str, Any] | None, *,
          kid: bytes | None) -> dict[str, Any]:
    assert wire.cbor is not None
    signed = _cbor.loads(wire.cbor, READ_BACK)
    claims = wire.claims()
    return {
        "result": "valid",
        "record": None if record is None else dict(record),
        "claims": claims_view(claims),
        "card": {
            "algorithm": key.algorithm,
            "kid_hex": None if kid is None else kid.hex(),
            "issuer": signed.get(1),
            "subject": signed.get(2),
            "issued_at": iso(signed.get(6)),
            "not_before": iso(signed.get(5)),
            "expires_at": iso(signed.get(4)),
            "envelope": wire.envelope,
            "compressed": wire.compressed is not None,
        },
    }


def error(code: str, *problems: tuple[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"error": code}
    if problems:
        out["problems"] = [{"path": path, "code": kind} for path, kind in problems]
    return out


# --- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    title: str
    description: str
    key: FixedKey | None  # None when nothing was signed
    wire: Wire
    expected: dict[str, Any]
    trusted: tuple[dict[str, Any], ...]
    record: Mapping[str, Any] | None = None
    issued_by: dict[str, Any] | None = None
    now: datetime = VERIFY_NOW
    skew: int = SKEW

    def to_json(self) -> dict[str, Any]:
        trust: dict[str, Any] = (
            {"public_key": self.trusted[0]} if len(self.trusted) == 1
            else {"trusted_keys": list(self.trusted)}
        )
        return {
            "title": self.title,
            "description": self.description,
            "algorithm": self.trusted[0]["alg"] if self.key is None else self.key.algorithm,
            "signing_key": None if self.key is None else self.key.to_json(),
            **trust,
            "now": iso(self.now),
            "skew_seconds": self.skew,
            "record": None if self.record is None else dict(self.record),
            "issued_by": self.issued_by,
            "layers": self.wire.to_json(),
            "expected": self.expected,
        }


def trust(*keys: FixedKey) -> tuple[dict[str, Any], ...]:
    return tuple(key_json(k.public) for k in keys)


def issue_cases() -> Iterator[Case]:
    records = (
        ("citizen record", CITIZEN,
         "The example citizen record (specs/examples/holder.json) through cardlib's issue path."),
        ("resident record", RESIDENT,
         "A foreign resident: administrative number instead of a national number, nationality "
         "EGY, a two-line address and an e-mail address."),
        ("record with WebP photo", WITH_PHOTO,
         "A citizen with a small photo (fake WebP bytes, claim 16) and photoFormat 4 (claim 17)."),
        ("record without optional fields", MINIMAL,
         "Only the required fields: no Latin mother's name, phone, e-mail or photo."),
    )
    for key in (ED, ES):
        for name, record, text in records:
            wire, by = issued(record, key)
            yield Case(f"{key.algorithm} valid {name}", text, key, wire,
                       valid(wire, key, record, kid=key.kid), trust(key), record, by)
        wire, by = issued(CITIZEN, key, compress=False)
        yield Case(f"{key.algorithm} valid uncompressed payload",
                   "The COSE_Sign1 bytes Base45-encoded directly, without zlib. A verifier tells "
                   "the two apart by the zlib header.", key, wire,
                   valid(wire, key, CITIZEN, kid=key.kid), trust(key), CITIZEN, by)


def wire_variant_cases() -> Iterator[Case]:
    claims = profile_claims(CITIZEN)
    payload = _cbor.dumps(cwt(claims, CITIZEN))
    for key in (ED, ES):
        alg = BY_NAME[key.algorithm].cose_id
        wire = seal(key, payload, kind="untagged")
        yield Case(f"{key.algorithm} valid untagged COSE_Sign1",
                   "The COSE_Sign1 array without tag 18 (RFC 9052 allows both).", key, wire,
                   valid(wire, key, CITIZEN, kid=key.kid), trust(key), CITIZEN)
        wire = seal(key, payload, kind="tag61")
        yield Case(f"{key.algorithm} valid CWT tag 61 wrapping tag 18",
                   "The spec example's envelope: tag 61 (CWT) around tag 18 (COSE_Sign1).",
                   key, wire, valid(wire, key, CITIZEN, kid=key.kid), trust(key), CITIZEN)
        wire = seal(key, payload, protected={1: alg}, unprotected={4: key.kid})
        yield Case(f"{key.algorithm} valid kid only in unprotected header",
                   "alg is protected but the kid is in the unprotected header, as in MOSIP's own "
                   "examples. The kid is only a hint: the signature is what is trusted.",
                   key, wire, valid(wire, key, CITIZEN, kid=key.kid), trust(key), CITIZEN)
        other = ED_OTHER if key is ED else ES_OTHER
        wire = seal(key, payload, protected={1: alg})
        yield Case(f"{key.algorithm} valid without kid tries each trusted key",
                   f"No kid anywhere. The verifier tries every trusted {key.algorithm} key; the "
                   "first one fails, the second one verifies.", key, wire,
                   valid(wire, key, CITIZEN, kid=None), trust(other, key, ES if key is ED else ED),
                   CITIZEN)
    wire = seal(ED, _cbor.dumps(cwt(_cbor.dumps(claims), CITIZEN)))
    yield Case("EdDSA valid claim 169 as byte string",
               "Claim 169 is a byte string holding the CBOR map instead of the map itself (the "
               "spec example's form).", ED, wire, valid(wire, ED, CITIZEN, kid=ED.kid),
               trust(ED), CITIZEN)
    standard = {k: v for k, v in claims.items() if k < 75}
    wire = seal(ED, _cbor.dumps(cwt(standard, CITIZEN)))
    yield Case("EdDSA valid standard Claim 169 keys only",
               "Only standard keys (1-23), no profile keys 75-84: a card from another issuer's "
               "tool. It verifies, with record null and the standard claims.", ED, wire,
               valid(wire, ED, None, kid=ED.kid), trust(ED), CITIZEN)
    mosip = {**standard, 9: "1"}
    wire = seal(ED, _cbor.dumps(cwt(_cbor.dumps(mosip), CITIZEN)), protected={1: -8},
                unprotected={4: ED.kid}, kind="tag61")
    yield Case("EdDSA valid MOSIP spec style payload",
               "Everything the spec's own example does at once: tag 61 around tag 18, claim 169 "
               "as a byte string, the kid unprotected, gender as the text \"1\" (read as 1), "
               "standard keys only.", ED, wire, valid(wire, ED, None, kid=ED.kid), trust(ED),
               CITIZEN)
    wire = seal(ED, payload)
    shared = (key_json(ED_OTHER.public, kid=ED.kid), key_json(ED.public))
    yield Case("EdDSA valid kid shared by two trusted keys",
               "The trust list assigns the same kid to two Ed25519 keys. The first key with "
               "that kid does not verify, the second does: a kid is a hint, not an identity.",
               ED, wire, valid(wire, ED, CITIZEN, kid=ED.kid), shared, CITIZEN)


def time_cases() -> Iterator[Case]:
    exp = datetime.fromtimestamp(expiry(CITIZEN), UTC)
    skew = timedelta(seconds=SKEW)
    wire, by = issued(CITIZEN, ED)
    yield Case("EdDSA valid one second before expiry plus skew",
               "exp is the end of the expiry date; with 300 s of skew the card is still valid "
               "at exp + 299 s.", ED, wire, valid(wire, ED, CITIZEN, kid=ED.kid), trust(ED),
               CITIZEN, by, now=exp + skew - timedelta(seconds=1))
    yield Case("EdDSA expired at expiry plus skew",
               "At exp + skew the card is expired (exp is exclusive).", ED, wire,
               error("expired"), trust(ED), CITIZEN, by, now=exp + skew)
    yield Case("EdDSA valid at nbf minus skew",
               "nbf and iat are the issue time; with 300 s of skew the card is valid from "
               "nbf - 300 s.", ED, wire, valid(wire, ED, CITIZEN, kid=ED.kid), trust(ED), CITIZEN,
               by, now=ISSUE_NOW - skew)
    yield Case("EdDSA not yet valid one second before nbf minus skew",
               "One second earlier than nbf - skew the card is not yet valid.", ED, wire,
               error("not_yet_valid"), trust(ED), CITIZEN, by,
               now=ISSUE_NOW - skew - timedelta(seconds=1))
    wire, by = issued(CITIZEN, ES)
    yield Case("ES256 expired card", "Checked half a year after the expiry date.", ES, wire,
               error("expired"), trust(ES), CITIZEN, by, now=exp + timedelta(days=180))
    yield Case("ES256 not yet valid card", "Checked a day before it was issued.", ES, wire,
               error("not_yet_valid"), trust(ES), CITIZEN, by, now=ISSUE_NOW - timedelta(days=1))


def signature_cases() -> Iterator[Case]:
    for key in (ED, ES):
        alg = key.algorithm
        wire, by = issued(CITIZEN, key)
        assert wire.cbor is not None and wire.signature is not None
        spot = wire.cbor.index(b"Mohamed") + 1
        yield Case(f"{alg} signature_invalid flipped payload byte",
                   "One bit of the signed payload flipped (\"Mohamed\" became \"Mnhamed\") and "
                   "the original signature kept. sig_structure_hex is what the verifier "
                   "computes from the altered payload.", key,
                   rewrap(wire, payload=flip(wire.cbor, spot)), error("signature_invalid"),
                   trust(key), CITIZEN)
        yield Case(f"{alg} signature_invalid flipped signature byte",
                   "One bit of the signature's first byte flipped.", key,
                   rewrap(wire, signature=flip(wire.signature, 0)), error("signature_invalid"),
                   trust(key), CITIZEN)
        other = ED_OTHER if key is ED else ES_OTHER
        yield Case(f"{alg} key_unknown kid not in trust store",
                   "A valid card, but the verifier only trusts another centre's key.", key, wire,
                   error("key_unknown"), trust(other), CITIZEN, by)
    wire, _ = issued(CITIZEN, ED)
    assert wire.signature is not None
    s = int.from_bytes(wire.signature[32:], "little") + ED25519_L
    yield Case("EdDSA signature_invalid non-canonical S",
               "The Ed25519 signature's S replaced by S + L (the group order): the same value "
               "modulo L, but not canonical. Accepting it would make signatures malleable.",
               ED, rewrap(wire, signature=wire.signature[:32] + s.to_bytes(32, "little")),
               error("signature_invalid"), trust(ED), CITIZEN)
    yield Case("EdDSA signature_malformed 63-byte signature",
               "The last byte of the signature is missing.", ED,
               rewrap(wire, signature=wire.signature[:63]), error("signature_malformed"),
               trust(ED), CITIZEN)
    wire, _ = issued(CITIZEN, ES)
    assert wire.signature is not None
    r, s = (int.from_bytes(wire.signature[i : i + 32], "big") for i in (0, 32))
    yield Case("ES256 signature_malformed DER-encoded signature",
               "The same r and s DER-encoded (as OpenSSL returns them) instead of raw r||s, "
               "which COSE requires.", ES, rewrap(wire, signature=encode_dss_signature(r, s)),
               error("signature_malformed"), trust(ES), CITIZEN)
    yield Case("ES256 valid high-S signature",
               "s replaced by n - s: ECDSA signatures are malleable and this twin verifies too "
               "(specs/format.md section 5 accepts high S). Never identify a card by its "
               "signature bytes.", ES,
               rewrap(wire, signature=wire.signature[:32] + (P256_ORDER - s).to_bytes(32, "big")),
               valid(wire, ES, CITIZEN, kid=ES.kid), trust(ES), CITIZEN)
    yield Case("ES256 signature_malformed s out of range",
               "s replaced by the group order n: 64 bytes, but not a valid ECDSA s.", ES,
               rewrap(wire, signature=wire.signature[:32] + P256_ORDER.to_bytes(32, "big")),
               error("signature_malformed"), trust(ES), CITIZEN)


def header_cases() -> Iterator[Case]:
    payload = _cbor.dumps(cwt(profile_claims(CITIZEN), CITIZEN))
    yield Case("EdDSA alg_missing no alg header",
               "The protected header holds only the kid; no algorithm anywhere.", ED,
               seal(ED, payload, protected={4: ED.kid}), error("alg_missing"), trust(ED), CITIZEN)
    yield Case("EdDSA alg_missing alg only in unprotected header",
               "alg is in the unprotected header, which the signature does not cover; it must "
               "be protected.", ED,
               seal(ED, payload, protected={4: ED.kid}, unprotected={1: -8}),
               error("alg_missing"), trust(ED), CITIZEN)
    yield Case("EdDSA alg_unsupported ES384",
               "The protected header says alg -35 (ES384), which cardlib does not accept.", ED,
               seal(ED, payload, protected={1: -35, 4: ED.kid}), error("alg_unsupported"),
               trust(ED), CITIZEN)
    yield Case("ES256 alg_unsupported RS256",
               "The protected header says alg -257 (RS256), which cardlib does not accept.", ES,
               seal(ES, payload, protected={1: -257, 4: ES.kid}), error("alg_unsupported"),
               trust(ES), CITIZEN)
    yield Case("EdDSA alg_unsupported alg is an array",
               "The protected alg is the array [-8] instead of the integer -8.", ED,
               seal(ED, payload, protected={1: [-8], 4: ED.kid}), error("alg_unsupported"),
               trust(ED), CITIZEN)
    yield Case("EdDSA cose_invalid alg in both headers",
               "alg -8 in the protected and again in the unprotected header: RFC 9052 forbids a "
               "label in both (only kid is tolerated).", ED,
               seal(ED, payload, unprotected={1: -8}), error("cose_invalid"), trust(ED), CITIZEN)
    wire = seal(ED, payload, unprotected={4: ED_OTHER.kid})
    yield Case("EdDSA valid kid in both headers protected wins",
               "The protected kid names the signing key, the unprotected kid another centre's "
               "key (not trusted). kid may appear in both headers; the protected one wins.", ED,
               wire, valid(wire, ED, CITIZEN, kid=ED.kid), trust(ED), CITIZEN)
    yield Case("EdDSA alg_key_mismatch ES256 header with Ed25519 kid",
               "The header says ES256 (-7) but its kid names a trusted Ed25519 key: refused as "
               "algorithm confusion before any signature check.", ED,
               seal(ED, payload, protected={1: -7, 4: ED.kid}), error("alg_key_mismatch"),
               trust(ED), CITIZEN)
    yield Case("ES256 alg_key_mismatch EdDSA header with P-256 kid",
               "The header says EdDSA (-8) but its kid names a trusted P-256 key.", ES,
               seal(ES, payload, protected={1: -8, 4: ES.kid}), error("alg_key_mismatch"),
               trust(ES), CITIZEN)


def content_cases() -> Iterator[Case]:
    """Properly signed payloads whose content is refused after the signature check."""
    claims = profile_claims(CITIZEN)
    times = {k: v for k, v in cwt(None, CITIZEN).items() if k != 169}
    pairs = [(k, _cbor.dumps(v)) for k, v in sorted(times.items())]
    duplicated = raw_map([*((k, _cbor.dumps(v)) for k, v in sorted(claims.items())),
                          (9, _cbor.dumps(2))])
    yield Case("EdDSA cbor_duplicate_key in signed payload",
               "Claim 169 lists gender (key 9) twice, first 1 then 2, in bytes written by hand "
               "and properly signed. The strict decoder refuses it after the signature check.",
               ED, seal(ED, raw_map([*pairs, (169, duplicated)])), error("cbor_duplicate_key"),
               trust(ED), CITIZEN)
    tests: list[tuple[str, str, dict[int, Any], str]] = [
        ("text_too_long in signed payload",
         "The address (claim 10) is 1,025 characters; the decoder accepts at most 1,024 per text.",
         {**claims, 10: "ب" * 1025}, "text_too_long"),
        ("cbor_too_deep in signed payload",
         "Claim 40 holds arrays nested 9 deep inside the CWT and claim maps: deeper than the "
         "decoder's limit of 8.", {**claims, 40: nested(9)}, "cbor_too_deep"),
        ("cbor_too_many_items in signed payload",
         "Claim 40 holds a list of 600 integers: more than the decoder's 512 items.",
         {**claims, 40: list(range(600))}, "cbor_too_many_items"),
    ]
    for name, text, body, code in tests:
        yield Case(f"EdDSA {name}", text, ED, seal(ED, _cbor.dumps(cwt(body, CITIZEN))),
                   error(code), trust(ED), CITIZEN)
    yield Case("EdDSA cbor_invalid float in signed payload",
               "exp is the float 2083449600.0 instead of an integer: floats are refused.", ED,
               seal(ED, _cbor.dumps({**cwt(claims, CITIZEN), 4: float(expiry(CITIZEN))})),
               error("cbor_invalid"), trust(ED), CITIZEN)
    yield Case("EdDSA cbor_invalid tag 1 in signed payload",
               "nbf wrapped in tag 1 (epoch date/time): only tags 18 and 61, around the whole "
               "message, are allowed.", ED,
               seal(ED, _cbor.dumps({**cwt(claims, CITIZEN),
                                     5: _cbor.Tag(1, int(ISSUE_NOW.timestamp()))})),
               error("cbor_invalid"), trust(ED), CITIZEN)
    nested_sign1 = _cbor.Tag(_cbor.TAG_COSE_SIGN1, [b"", {}, b"", b""])
    standard = {k: v for k, v in claims.items() if k < 75}
    yield Case("EdDSA cbor_invalid tag 18 inside claim 169",
               "Claim 40 holds a COSE_Sign1 tag (18). Tags 18 and 61 are only allowed around "
               "the whole message (cardlib/codec/_cbor.py); inside the signed payload they are "
               "as forbidden as any other tag.", ED,
               seal(ED, _cbor.dumps(cwt({**standard, 40: nested_sign1}, CITIZEN))),
               error("cbor_invalid"), trust(ED), CITIZEN)
    yield Case("EdDSA claims_invalid claim 169 missing",
               "A signed CWT with iss, exp, nbf and iat but no claim 169.", ED,
               seal(ED, _cbor.dumps(times)), error("claims_invalid"), trust(ED), CITIZEN)
    yield Case("EdDSA claims_invalid exp beyond year 9999",
               "exp is 253402300800 (10000-01-01T00:00:00Z): an integer, but past the last "
               "second a CWT time may name.", ED,
               seal(ED, _cbor.dumps({**cwt(claims, CITIZEN), 4: 253_402_300_800})),
               error("claims_invalid"), trust(ED), CITIZEN)
    yield Case("EdDSA record_invalid gender 7",
               "Gender 7 in a signed profile map: out-of-range enumerations are errors, never "
               "silently dropped.", ED, seal(ED, _cbor.dumps(cwt({**claims, 9: 7}, CITIZEN))),
               error("record_invalid", ("claim169.9", "enum")), trust(ED), CITIZEN)
    female = cardlib.record_to_json(replace(holder(CITIZEN), sex=cardlib.Sex.FEMALE))
    yield Case("EdDSA record_invalid national number sex digit disagrees",
               "A signed profile map for a woman whose national number starts with 1 (male). "
               "The record cannot be issued by cardlib, so the map was built and signed by "
               "hand.", ED,
               seal(ED, _cbor.dumps(cwt(to_claims(replace(holder(CITIZEN),
                                                          sex=cardlib.Sex.FEMALE)), CITIZEN))),
               error("record_invalid", ("national_number", "sex_mismatch")), trust(ED), female)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def transport_cases() -> Iterator[Case]:
    bomb = _zlib.compress(bytes(70_000))
    yield Case("EdDSA payload_too_large zlib bomb",
               "A few hundred bytes of zlib that inflate to 70,000 zero bytes, more than the "
               "64 KiB limit. Nothing but the compressed layer exists.", None,
               Wire(None, None, None, None, None, None, bomb, _base45.b45encode(bomb)),
               error("payload_too_large"), trust(ED))
    wire, by = issued(CITIZEN, ED)
    assert wire.compressed is not None and wire.cose is not None
    half = wire.compressed[: len(wire.compressed) // 2]
    yield Case("EdDSA decompress_failed truncated zlib",
               "The first half of a valid card's zlib stream (cose_hex is the full message).",
               ED, replace(wire, compressed=half, base45=_base45.b45encode(half)),
               error("decompress_failed"), trust(ED), CITIZEN, by)
    yield Case("EdDSA base45_invalid lower-case text",
               "A valid card's Base45 text in lower case: QR alphanumeric mode is upper case "
               "only, and so is Base45.", ED, replace(wire, base45=wire.base45.lower()),
               error("base45_invalid"), trust(ED), CITIZEN, by)
    cose = envelope([wire.protected, {}, wire.cbor], "tag18")
    compressed, text = transport(cose, True)
    yield Case("EdDSA cose_invalid array of 3",
               "A COSE_Sign1 of three items (protected, unprotected, payload): the signature "
               "is missing.", ED,
               replace(wire, signature=None, cose=cose, compressed=compressed, base45=text),
               error("cose_invalid"), trust(ED), CITIZEN)
    big, big_by = issued(BIG_PHOTO, ED)
    yield Case("EdDSA input_too_large 6000-byte photo",
               "A citizen record with a 6,000-byte photo issues fine, but its Base45 text is "
               "longer than the 8,192 characters a verifier reads.", ED, big,
               error("input_too_large"), trust(ED), BIG_PHOTO, big_by)


def key_cases() -> Iterator[Case]:
    wire, by = issued(CITIZEN, ED)
    yield Case("EdDSA key_weak small-order trusted key",
               "The trusted Ed25519 key is a point of order 8. Loading it (from PEM or raw) "
               "fails with key_weak, so no card can be checked against it.", ED, wire,
               error("key_weak"), (weak_ed25519_key(),), CITIZEN, by)
    wire, by = issued(CITIZEN, ES)
    yield Case("ES256 key_off_curve trusted key",
               "The trusted P-256 key is the point (1, 1), which is not on the curve. Loading "
               "it (from PEM or raw) fails with key_off_curve.", ES, wire,
               error("key_off_curve"), (off_curve_p256_key(),), CITIZEN, by)


def all_cases() -> list[Case]:
    return [*issue_cases(), *wire_variant_cases(), *time_cases(), *signature_cases(),
            *header_cases(), *content_cases(), *transport_cases(), *key_cases()]


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def write(out: Path) -> list[Path]:
    cases = all_cases()
    names = [f"{slug(case.title)}.json" for case in cases]
    if len(set(names)) != len(names):
        raise SystemExit("two cases have the same slug")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    written = []
    for name, case in zip(names, cases, strict=True):
        path = out / name
        text = json.dumps(case.to_json(), ensure_ascii=False, indent=2, sort_keys=True)
        path.write_text(text + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: make_vectors.py [OUT_DIR]", file=sys.stderr)
        return 2
    out = Path(argv[0]) if argv else DEFAULT_OUT
    written = write(out)
    print(f"wrote {len(written)} vectors to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
