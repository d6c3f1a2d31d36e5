"""Regenerate the test vectors in ``specs/vectors/``: one JSON file per case, every layer recorded.

Run ``python specs/make_vectors.py [OUT_DIR]`` (default ``specs/vectors``). The script deletes the
``*.json`` files in the output directory and writes every case again. Keys, certificates, lists
and clocks are fixed, and every signature is deterministic (Ed25519 by design, ES256 with RFC
6979 nonces), so a second run writes the same bytes, except where zlib output depends on the
zlib build (``layers.compressed_hex``, ``layers.base45`` and ``verifier.revocation_list_hex``).

The file format is specified member by member in ``specs/format.md`` section 11. In short:
``title``, ``description``, ``algorithm``, ``signing_key``, ``record``, ``issued_by``, ``layers``
(every intermediate layer of the payload), ``verifier`` (exactly the inputs of
``cardlib.Verifier``: ``trusted_keys``, ``root_certificate``, ``trust_list_hex``,
``revocation_list_hex``, ``policy``), ``now`` (the time given to ``check``) and then either
``expected`` (the whole ``VerificationResult.to_json()`` of ``Verifier(...).check(payload,
now=now)``, computed here by cardlib and checked against the verdict, code and problems each
case states) or ``expected_error`` (``{"code", "category"}`` of the error raised while the
verifier's own inputs are loaded, e.g. a weak trusted key; no card verdict exists then).
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
from cardlib._verifier import Policy, Verifier
from cardlib.codec import _base45, _cbor, _cose, _zlib
from cardlib.keys._algorithms import BY_NAME
from cardlib.profile._claims import to_claims
from cardlib.revocation import Reason, RevocationEntry, publish_revocation_list
from cardlib.trust import (
    KeyRevocation,
    certificate_pem,
    certify_centre,
    create_root,
    kid_for_certificate,
    publish_trust_list,
)


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
    # The kid this signer writes when it is not the key's own (a certified centre key signs
    # under its certificate's kid, specs/format.md section 6).
    assigned_kid: bytes | None = None

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
        return self.private.kid if self.assigned_kid is None else self.assigned_kid

    @property
    def public(self) -> cardlib.PublicKey:
        return self.private.public_key

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.obj, ec.EllipticCurvePrivateKey):
            der = self.obj.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
            r, s = decode_dss_signature(der)
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self.private.sign(data)

    def certified(self, certificate_der: bytes) -> FixedKey:
        """The same key signing under the kid of its certificate."""
        return replace(self, assigned_kid=kid_for_certificate(certificate_der))

    def to_json(self) -> dict[str, Any]:
        return {"alg": self.algorithm, "private_hex": self.secret.hex(),
                "kid_hex": self.kid.hex(), "kid_assigned": self.assigned_kid is not None}


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
        "kid_assigned": kid is not None and kid != key.kid,
    }
    return out


def raw_key_json(alg: str, raw: bytes, spki_der: bytes) -> dict[str, Any]:
    """A key entry for a key cardlib refuses to load (so it is described by hand)."""
    text = base64.b64encode(spki_der).decode("ascii")
    body = "".join(f"{text[i : i + 64]}\n" for i in range(0, len(text), 64))
    pem = f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"
    kid = hashlib.sha256(spki_der).digest()[:8]
    return {"alg": alg, "pem": pem, "raw_hex": raw.hex(), "kid_hex": kid.hex(),
            "kid_assigned": False}


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


# --- certified signers: a root, centre certificates, a trust list, revocation lists -------------
#
# The certificates come from cardlib's create_root and certify_centre with fixed serial numbers
# and times. Ed25519 signs deterministically, so the certificates and the trust lists are
# byte-reproducible; a revocation list holds a zlib stream, so its bytes (and its signature) may
# differ with the zlib build.

ROOT_KEY = FixedKey.derive("EdDSA", "national root key")
CENTRE_KEY = FixedKey.derive("EdDSA", "TRP-01 certified centre key")
RETIRED_KEY = FixedKey.derive("EdDSA", "MIS-01 revoked centre key")
TRUST_START = datetime(2026, 1, 1, tzinfo=UTC)
RETIRED_REVOKED_AT = datetime(2026, 1, 8, tzinfo=UTC)  # before ISSUE_NOW: its cards are refused

#: The self-signed TEST root (serial 1, 2026-01-01 for 20 years).
ROOT_DER = create_root("cardlib TEST national root", ROOT_KEY.private, now=TRUST_START,
                       days=7305, serial_number=1)


def centre_certificate(key: FixedKey, code: str, serial: int) -> bytes:
    """A centre's card-signing certificate (2026-01-01 to 2029-01-01), issued by the root."""
    return certify_centre(ROOT_KEY.private, ROOT_DER, key.private.public_key, centre_code=code,
                          not_before=TRUST_START, not_after=datetime(2029, 1, 1, tzinfo=UTC),
                          serial_number=serial)


CENTRE_DER = centre_certificate(CENTRE_KEY, "TRP-01", 2)
RETIRED_DER = centre_certificate(RETIRED_KEY, "MIS-01", 3)
CENTRE = CENTRE_KEY.certified(CENTRE_DER)
RETIRED = RETIRED_KEY.certified(RETIRED_DER)


def trust_list(sequence: int, issued: datetime, next_update: datetime,
               revoked: Mapping[bytes, KeyRevocation]) -> bytes:
    return publish_trust_list(ROOT_KEY.private, ROOT_DER, [CENTRE_DER, RETIRED_DER],
                              sequence=sequence, issued=issued, next_update=next_update,
                              revoked=revoked)


def revocation_list(sequence: int, issued: datetime, next_update: datetime,
                    entries: list[tuple[str, Reason, datetime]]) -> bytes:
    return publish_revocation_list(
        ROOT_KEY.private, ROOT_DER, [RevocationEntry(*entry) for entry in entries],
        sequence=sequence, issued=issued, next_update=next_update)


# Fresh at VERIFY_NOW (2026-03-01T12:00Z): next update 2026-03-20; MIS-01's key revoked.
FRESH_TRUST_LIST = trust_list(2, datetime(2026, 2, 20, tzinfo=UTC),
                              datetime(2026, 3, 20, tzinfo=UTC),
                              {RETIRED.kid: KeyRevocation(RETIRED_REVOKED_AT, "superseded")})
# The same, but MIS-01's key was revoked as compromised: even its cards dated before the
# revocation are refused (their iat is whatever the key's holder wrote).
COMPROMISED_TRUST_LIST = trust_list(
    2, datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC),
    {RETIRED.kid: KeyRevocation(RETIRED_REVOKED_AT, "compromised")})
# Stale at VERIFY_NOW: next update 2026-02-01.
STALE_TRUST_LIST = trust_list(1, TRUST_START, datetime(2026, 2, 1, tzinfo=UTC), {})
REVOKED_DOCUMENT = "LY0007777"
# Fresh at VERIFY_NOW: next update 2026-03-11; names one card, stolen.
FRESH_REVOCATIONS = revocation_list(
    2, datetime(2026, 2, 25, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC),
    [(REVOKED_DOCUMENT, Reason.STOLEN, datetime(2026, 2, 18, tzinfo=UTC)),
     ("LY0005000", Reason.LOST, datetime(2026, 1, 12, tzinfo=UTC))])
# Stale at VERIFY_NOW: next update 2026-02-14; names only another card.
STALE_REVOCATIONS = revocation_list(
    1, datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 2, 14, tzinfo=UTC),
    [("LY0005000", Reason.LOST, datetime(2026, 1, 12, tzinfo=UTC))])


@dataclass(frozen=True)
class RootTrust:
    """A verifier's pinned root and the root-signed lists it loads."""

    trust_list: bytes | None
    revocation_list: bytes | None
    root: bytes = ROOT_DER

    def to_json(self) -> dict[str, Any]:
        return {
            "root_certificate": {
                "der_hex": self.root.hex(),
                "pem": certificate_pem(self.root).decode("ascii"),
                "kid_hex": kid_for_certificate(self.root).hex(),
            },
            "trust_list_hex": None if self.trust_list is None else self.trust_list.hex(),
            "revocation_list_hex": (None if self.revocation_list is None
                                    else self.revocation_list.hex()),
        }


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


def issued(record: Mapping[str, Any], key: FixedKey, *, compress: bool = True,
           now: datetime = ISSUE_NOW) -> tuple[Wire, dict[str, Any]]:
    """Layers from cardlib's normal issue path, and the ``issued_by`` entry describing it."""
    layers = _pipeline.build(holder(record), key, now=now, issuer=ISSUER, compress=compress)
    wire = Wire(layers.cbor, layers.protected, {}, layers.sig_structure, layers.signature,
                layers.cose, layers.compressed if compress else None, layers.base45)
    if wire.cose is None or _cbor.dumps(cwt(layers.claims, record, now=now)) != layers.cbor:
        raise AssertionError("hand-built CWT no longer matches cardlib's issue path")
    by = {"function": "cardlib._pipeline.build", "now": iso(now), "issuer": ISSUER,
          "compress": compress}
    return wire, by


def expiry(record: Mapping[str, Any]) -> int:
    day = datetime.fromisoformat(record["expiry_date"]).replace(tzinfo=UTC)
    return int((day + timedelta(days=1)).timestamp())


def cwt(claims: Any, record: Mapping[str, Any] | None = None, *,
        now: datetime = ISSUE_NOW) -> dict[int, Any]:
    """A CWT claims set as cardlib issues it: iss, exp (end of expiry day), nbf, iat, 169."""
    out: dict[int, Any] = {1: ISSUER, 5: int(now.timestamp()), 6: int(now.timestamp()),
                           169: claims}
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


@dataclass(frozen=True)
class Want:
    """What a case is meant to show: the verdict and code (and, for ``record_invalid``, the
    problems' paths and codes), or, with status ``"error"``, the code of the error raised while
    the verifier's inputs load. The generator refuses to write a vector whose computed result
    disagrees."""

    status: str
    code: str | None = None
    problems: tuple[tuple[str, str], ...] | None = None


VALID = Want("valid")


def error(code: str, *problems: tuple[str, str]) -> Want:
    """An ``invalid`` verdict; for ``record_invalid``, every problem in order."""
    return Want("invalid", code, problems if code == "record_invalid" else None)


def verdict(status: str, code: str) -> Want:
    return Want(status, code)


def load_error(code: str) -> Want:
    """The verifier cannot be built: one of its own inputs is refused (not a card verdict)."""
    return Want("error", code)


def load_key(entry: Mapping[str, Any]) -> cardlib.PublicKey:
    """A trusted key as a loader reads it: from its PEM, under its kid (specs/format.md
    section 6: the kid a trust source assigns, else the one derived from the key)."""
    key = cardlib.PublicKey.from_pem(entry["pem"].encode("ascii"))
    return replace(key, kid=bytes.fromhex(entry["kid_hex"])) if entry["kid_assigned"] else key


def build_verifier(inputs: Mapping[str, Any], now: datetime) -> Verifier:
    """``cardlib.Verifier`` built from exactly a vector's ``verifier`` member."""
    policy = inputs["policy"]
    root = inputs["root_certificate"]

    def unhex(name: str) -> bytes | None:
        text = inputs[name]
        return None if text is None else bytes.fromhex(text)

    keys = [load_key(entry) for entry in inputs["trusted_keys"]]
    return Verifier(
        keys=keys,
        root=None if root is None else bytes.fromhex(root["der_hex"]),
        trust_list=unhex("trust_list_hex"),
        revocation_list=unhex("revocation_list_hex"),
        policy=Policy(skew=timedelta(seconds=policy["skew_seconds"]),
                      grace=timedelta(seconds=policy["grace_seconds"]),
                      require_revocation=policy["require_revocation"]),
        now=now,
    )


# --- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    title: str
    description: str
    key: FixedKey | None  # None when nothing was signed
    wire: Wire
    want: Want
    trusted: tuple[dict[str, Any], ...]
    record: Mapping[str, Any] | None = None
    issued_by: dict[str, Any] | None = None
    now: datetime = VERIFY_NOW
    skew: int = SKEW
    roots: RootTrust | None = None
    grace: int = 0
    require_revocation: bool = False

    def verifier_json(self) -> dict[str, Any]:
        roots = ({"root_certificate": None, "trust_list_hex": None, "revocation_list_hex": None}
                 if self.roots is None else self.roots.to_json())
        return {
            "trusted_keys": list(self.trusted),
            **roots,
            "policy": {"skew_seconds": self.skew, "grace_seconds": self.grace,
                       "require_revocation": self.require_revocation},
        }

    def outcome(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``expected``: what cardlib's Verifier gives, checked against ``want``; or
        ``expected_error`` when the verifier's inputs are refused."""
        want = self.want
        try:
            verifier = build_verifier(inputs, self.now)
        except cardlib.CardError as err:
            if (want.status, want.code) != ("error", err.code):
                raise AssertionError(f"{self.title}: the verifier refused its inputs "
                                     f"({err.code})") from err
            return {"expected_error": {"code": err.code, "category": err.category}}
        result = verifier.check(self.wire.base45, now=self.now).to_json()
        problems = tuple((p["path"], p["code"]) for p in result["problems"])
        if ((result["status"], result["code"]) != (want.status, want.code)
                or (want.problems is not None and problems != want.problems)):
            raise AssertionError(f"{self.title}: got {result['status']} {result['code']} "
                                 f"{problems}, wanted {want}")
        return {"expected": result}

    def to_json(self) -> dict[str, Any]:
        inputs = self.verifier_json()
        algorithm = self.key.algorithm if self.key is not None else self.trusted[0]["alg"]
        return {
            "title": self.title,
            "description": self.description,
            "algorithm": algorithm,
            "signing_key": None if self.key is None else self.key.to_json(),
            "record": None if self.record is None else dict(self.record),
            "issued_by": self.issued_by,
            "layers": self.wire.to_json(),
            "verifier": inputs,
            "now": iso(self.now),
            **self.outcome(inputs),
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
                       VALID, trust(key), record, by)
        wire, by = issued(CITIZEN, key, compress=False)
        yield Case(f"{key.algorithm} valid uncompressed payload",
                   "The COSE_Sign1 bytes Base45-encoded directly, without zlib. A verifier tells "
                   "the two apart by the zlib header.", key, wire,
                   VALID, trust(key), CITIZEN, by)


def wire_variant_cases() -> Iterator[Case]:
    claims = profile_claims(CITIZEN)
    payload = _cbor.dumps(cwt(claims, CITIZEN))
    for key in (ED, ES):
        alg = BY_NAME[key.algorithm].cose_id
        wire = seal(key, payload, kind="untagged")
        yield Case(f"{key.algorithm} valid untagged COSE_Sign1",
                   "The COSE_Sign1 array without tag 18 (RFC 9052 allows both).", key, wire,
                   VALID, trust(key), CITIZEN)
        wire = seal(key, payload, kind="tag61")
        yield Case(f"{key.algorithm} valid CWT tag 61 wrapping tag 18",
                   "The spec example's envelope: tag 61 (CWT) around tag 18 (COSE_Sign1).",
                   key, wire, VALID, trust(key), CITIZEN)
        wire = seal(key, payload, protected={1: alg}, unprotected={4: key.kid})
        yield Case(f"{key.algorithm} valid kid only in unprotected header",
                   "alg is protected but the kid is in the unprotected header, as in MOSIP's own "
                   "examples. The kid is only a hint: the signature is what is trusted.",
                   key, wire, VALID, trust(key), CITIZEN)
        other = ED_OTHER if key is ED else ES_OTHER
        wire = seal(key, payload, protected={1: alg})
        yield Case(f"{key.algorithm} valid without kid tries each trusted key",
                   f"No kid anywhere. The verifier tries every trusted {key.algorithm} key; the "
                   "first one fails, the second one verifies.", key, wire,
                   VALID, trust(other, key, ES if key is ED else ED),
                   CITIZEN)
    wire = seal(ED, _cbor.dumps(cwt(_cbor.dumps(claims), CITIZEN)))
    yield Case("EdDSA valid claim 169 as byte string",
               "Claim 169 is a byte string holding the CBOR map instead of the map itself (the "
               "spec example's form).", ED, wire, VALID,
               trust(ED), CITIZEN)
    standard = {k: v for k, v in claims.items() if k < 75}
    wire = seal(ED, _cbor.dumps(cwt(standard, CITIZEN)))
    yield Case("EdDSA valid standard Claim 169 keys only",
               "Only standard keys (1-23), no profile keys 75-84: a card from another issuer's "
               "tool. It verifies, with record null and the standard claims.", ED, wire,
               VALID, trust(ED), CITIZEN)
    mosip = {**standard, 9: "1"}
    wire = seal(ED, _cbor.dumps(cwt(_cbor.dumps(mosip), CITIZEN)), protected={1: -8},
                unprotected={4: ED.kid}, kind="tag61")
    yield Case("EdDSA valid MOSIP spec style payload",
               "Everything the spec's own example does at once: tag 61 around tag 18, claim 169 "
               "as a byte string, the kid unprotected, gender as the text \"1\" (read as 1), "
               "standard keys only.", ED, wire, VALID, trust(ED),
               CITIZEN)
    wire = seal(ED, payload)
    shared = (key_json(ED_OTHER.public, kid=ED.kid), key_json(ED.public))
    yield Case("EdDSA valid kid shared by two trusted keys",
               "The trust list assigns the same kid to two Ed25519 keys. The first key with "
               "that kid does not verify, the second does: a kid is a hint, not an identity.",
               ED, wire, VALID, shared, CITIZEN)


def time_cases() -> Iterator[Case]:
    exp = datetime.fromtimestamp(expiry(CITIZEN), UTC)
    skew = timedelta(seconds=SKEW)
    wire, by = issued(CITIZEN, ED)
    yield Case("EdDSA valid one second before expiry plus skew",
               "exp is the end of the expiry date; with 300 s of skew the card is still valid "
               "at exp + 299 s.", ED, wire, VALID, trust(ED),
               CITIZEN, by, now=exp + skew - timedelta(seconds=1))
    yield Case("EdDSA expired at expiry plus skew",
               "At exp + skew the card is expired (exp is exclusive).", ED, wire,
               error("expired"), trust(ED), CITIZEN, by, now=exp + skew)
    yield Case("EdDSA valid at nbf minus skew",
               "nbf and iat are the issue time; with 300 s of skew the card is valid from "
               "nbf - 300 s.", ED, wire, VALID, trust(ED), CITIZEN,
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
               VALID, trust(ES), CITIZEN)
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
               wire, VALID, trust(ED), CITIZEN)
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
               load_error("key_weak"), (weak_ed25519_key(),), CITIZEN, by)
    wire, by = issued(CITIZEN, ES)
    yield Case("ES256 key_off_curve trusted key",
               "The trusted P-256 key is the point (1, 1), which is not on the curve. Loading "
               "it (from PEM or raw) fails with key_off_curve.", ES, wire,
               load_error("key_off_curve"), (off_curve_p256_key(),), CITIZEN, by)


def problem_case(name: str, text: str, changes: Mapping[Any, Any], *problems: tuple[str, str],
                 drop: tuple[int, ...] = (), exp: int | None = None) -> Case:
    """The example citizen's profile map with ``changes`` (and without ``drop``), signed by
    hand: the verifier reports ``record_invalid`` with exactly ``problems``, in order."""
    claims: dict[Any, Any] = {**profile_claims(CITIZEN), **changes}
    for key in drop:
        del claims[key]
    body = cwt(claims, CITIZEN)
    if exp is not None:
        body[4] = exp
    return Case(f"EdDSA record_invalid {name}", text, ED, seal(ED, _cbor.dumps(body)),
                error("record_invalid", *problems), trust(ED), CITIZEN)


def record_problem_cases() -> Iterator[Case]:
    """One signed profile map per problem code a signed map can produce (specs/format.md 3.1),
    each with its complete problem list."""
    yield problem_case(
        "required mother name and address missing",
        "Keys 79 (mother's name, Arabic) and 10 (address) left out. A missing profile key is "
        "reported at its key and again at the rebuilt record's field; a missing standard key "
        "only at the record's field.",
        {}, ("claim169.79", "required"), ("mother_name_ar", "required"), ("address", "required"),
        drop=(79, 10))
    yield problem_case(
        "empty phone and latin mother name",
        "Key 12 (phone) and key 80 (mother's name, Latin) signed as \"\": an optional text is "
        "left out, never empty.",
        {12: "", 80: ""}, ("mother_name_latin", "empty"), ("phone", "empty"))
    yield problem_case(
        "type standard keys of the wrong type",
        "Address (key 10) is the integer 42, the photo (key 16) is hex text instead of bytes, "
        "and the map has the text key \"x\". The standard view reports all three, in the "
        "order of the map's keys, and nothing of the profile is checked.",
        {10: 42, 16: "52494646", "x": 1},
        ("claim169.10", "type"), ("claim169.16", "type"), ("claim169.x", "type"))
    yield problem_case(
        "type profile keys of the wrong type",
        "Key 79 (mother's name, Arabic) is the integer 7 and key 81 (document number) the "
        "integer 1234: reported at the rebuilt record's fields.",
        {79: 7, 81: 1234}, ("mother_name_ar", "type"), ("document_number", "type"))
    yield problem_case(
        "too_long place of birth",
        "Key 82 (place of birth) is 257 Arabic letters; the profile allows 256.",
        {82: "ب" * 257}, ("place_of_birth", "too_long"))
    yield problem_case(
        "whitespace around place of birth",
        "Key 82 (place of birth) has a leading and a trailing space: one problem.",
        {82: " طرابلس "}, ("place_of_birth", "whitespace"))
    yield problem_case(
        "control_chars tab in address and bidi mark in place of birth",
        "Key 10 (address) holds a tab (only a line feed is allowed there) and key 82 (place of "
        "birth) starts with U+200F RIGHT-TO-LEFT MARK, an invisible format character.",
        {10: "شارع عمر المختار،\tطرابلس", 82: "\u200fطرابلس"},
        ("place_of_birth", "control_chars"), ("address", "control_chars"))
    yield problem_case(
        "not_nfc decomposed hamza in mother name",
        "Key 79 writes the hamza of أحمد as U+0627 U+0654 (alef + combining hamza above) "
        "instead of U+0623: not NFC, and a verifier does not normalise signed text.",
        {79: "فاطمة ا\u0654حمد محمود"}, ("mother_name_ar", "not_nfc"))
    yield problem_case(
        "format phone and lower-case document number",
        "Key 12 (phone) holds words and key 81 (document number) is in lower case.",
        {12: "call 0912345678", 81: "ly0001234"},
        ("phone", "format"), ("document_number", "format"))
    yield problem_case(
        "enum holder category 3",
        "Key 76 (holder category) is 3; only 1 (citizen) and 2 (resident) exist. The record "
        "then has no category, which is reported too.",
        {76: 3}, ("claim169.76", "enum"), ("category", "required"))
    yield problem_case(
        "enum gender 3 in a profile map",
        "Gender (key 9) 3 is a valid Claim 169 value (other), so the standard view accepts it, "
        "but the profile's sex is male or female.",
        {9: 3}, ("sex", "enum"))
    yield problem_case(
        "date expiry date february 30",
        "Key 84 (expiry date) is 20360230, which is not a calendar day. The record then has no "
        "expiry date, which is reported too.",
        {84: "20360230"}, ("claim169.84", "date"), ("expiry_date", "required"))
    yield problem_case(
        "order expiry before issue",
        "Key 84 (expiry date) is 2025-01-09, before the issue date 2026-01-10 (key 83). The CWT "
        "exp is not checked against it while the record has problems.",
        {84: "20250109"}, ("expiry_date", "order"))
    yield problem_case(
        "range birth year 1899",
        "Date of birth (key 8) 1899-12-31, with the national number's year digits to match: "
        "years must lie in 1900-9998.",
        {8: "18991231", 1: "118990012347"}, ("date_of_birth", "range"))
    yield problem_case(
        "birth_year_mismatch national number",
        "National number 119860012347: digits 2-5 say 1986, the date of birth 1985.",
        {1: "119860012347"}, ("national_number", "birth_year_mismatch"))
    yield problem_case(
        "category_mismatch citizen with nationality egy",
        "A citizen (key 76 = 1) whose nationality (key 13) is EGY: a citizen's nationality "
        "is the issuing country, LBY.",
        {13: "EGY"}, ("nationality", "category_mismatch"))
    yield problem_case(
        "unknown_field keys 85 and 99",
        "Keys 85 and 99 are reserved by the profile but not defined in version 1.",
        {85: 1, 99: "x"}, ("claim169.85", "unknown_field"), ("claim169.99", "unknown_field"))
    yield problem_case(
        "unsupported_profile version 2",
        "Key 75 (profile version) is 2. It is the only problem reported: the unknown key 85 "
        "in the same map is not examined.",
        {75: 2, 85: 1}, ("claim169.75", "unsupported_profile"))
    yield problem_case(
        "inconsistent last name and legal status",
        "Key 7 (lastName) is Warfali and key 22 (legalStatus) resident, while the profile keys "
        "say Elwarfali (the last part of key 4, cut by key 78) and citizen (key 76).",
        {7: "Warfali", 22: "resident"},
        ("claim169.7", "inconsistent"), ("claim169.22", "inconsistent"))
    yield problem_case(
        "inconsistent exp one day late",
        "The CWT exp is one day after the end of the expiry date (key 84).",
        {}, ("cwt.exp", "inconsistent"), exp=expiry(CITIZEN) + 86_400)


# Cards issued by TRP-01 name TRP-01 (a card naming another centre is centre_mismatch).
TRP = {**MINIMAL, "centre_code": "TRP-01"}
REVOKED_HOLDER: dict[str, Any] = {**TRP, "document_number": REVOKED_DOCUMENT}
STALE_LISTED_HOLDER: dict[str, Any] = {**TRP, "document_number": "LY0005000"}
LATE_HOLDER: dict[str, Any] = {**TRP, "document_number": "LY0008888",
                               "issue_date": "2029-02-01", "expiry_date": "2039-01-31"}
EARLY_HOLDER: dict[str, Any] = {**TRP, "document_number": "LY0006666",
                                "issue_date": "2025-12-20", "expiry_date": "2035-12-19"}
BEFORE_REVOCATION_HOLDER: dict[str, Any] = {**MINIMAL, "document_number": "LY0003333",
                                            "issue_date": "2026-01-05",
                                            "expiry_date": "2036-01-04"}
OTHER_CENTRE_HOLDER: dict[str, Any] = {**MINIMAL, "document_number": "LY0004444",
                                       "centre_code": "BEN-01"}
DAY = 86_400


def certified_cases() -> Iterator[Case]:
    """Cards from certified centre keys, checked against a pinned root and its lists."""
    fresh = RootTrust(FRESH_TRUST_LIST, FRESH_REVOCATIONS)
    setting = ("The verifier pins the TEST root certificate and loads the trust list (centres "
               "TRP-01 and MIS-01; MIS-01's key revoked on 2026-01-08)")
    wire, by = issued(CITIZEN, CENTRE)
    yield Case("EdDSA certified valid card with fresh trust and revocation lists",
               f"{setting} and the revocation list, both fresh. The card, signed by TRP-01 "
               "under its certificate's kid, is not listed: valid.", CENTRE, wire, VALID, (),
               CITIZEN, by, roots=fresh, require_revocation=True)
    yield Case("EdDSA certified unknown revocation_missing",
               f"{setting}, but no revocation list, and the policy requires one: the card is "
               "authentic but cannot be confirmed.", CENTRE, wire,
               verdict("unknown", "revocation_missing"), (), CITIZEN, by,
               roots=RootTrust(FRESH_TRUST_LIST, None), require_revocation=True)
    stale = RootTrust(FRESH_TRUST_LIST, STALE_REVOCATIONS)
    yield Case("EdDSA certified unknown revocation_stale",
               f"{setting} and a revocation list whose next update (2026-02-14) has passed and "
               "which does not name the card: unknown, never valid.", CENTRE, wire,
               verdict("unknown", "revocation_stale"), (), CITIZEN, by, roots=stale,
               require_revocation=True)
    yield Case("EdDSA certified valid stale revocation list within grace",
               f"{setting} and the revocation list of the revocation_stale vector (next update "
               "2026-02-14T00:00:00Z), with a grace period of 16 days: still fresh at "
               "2026-03-01T12:00:00Z.", CENTRE, wire, VALID, (), CITIZEN, by, roots=stale,
               grace=16 * DAY, require_revocation=True)
    yield Case("EdDSA certified unknown trust_list_stale",
               "The verifier pins the TEST root and loads a trust list whose next update "
               "(2026-02-01) has passed, and a fresh revocation list that does not name the "
               "card: the signer's certification cannot be confirmed.", CENTRE, wire,
               verdict("unknown", "trust_list_stale"), (), CITIZEN, by,
               roots=RootTrust(STALE_TRUST_LIST, FRESH_REVOCATIONS), require_revocation=True)
    wire, by = issued(REVOKED_HOLDER, CENTRE)
    yield Case("EdDSA certified revoked card",
               f"{setting} and the fresh revocation list, which names document number "
               f"{REVOKED_DOCUMENT} (stolen, 2026-02-18).", CENTRE, wire,
               verdict("revoked", "revoked"), (), REVOKED_HOLDER, by, roots=fresh,
               require_revocation=True)
    wire, by = issued(CITIZEN, RETIRED)
    yield Case("EdDSA certified key_revoked card signed after its key was revoked",
               f"{setting}. This card was signed by MIS-01 on 2026-01-10, after its key's "
               "revocation.", RETIRED, wire, error("key_revoked"), (), CITIZEN, by, roots=fresh,
               require_revocation=True)
    before = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    wire, by = issued(BEFORE_REVOCATION_HOLDER, RETIRED, now=before)
    yield Case("EdDSA certified valid card signed before its superseded key was revoked",
               f"{setting} as superseded. This card was signed by MIS-01 on 2026-01-05, before "
               "the revocation: a superseded key's earlier cards stay valid.", RETIRED, wire,
               VALID, (), BEFORE_REVOCATION_HOLDER, by, roots=fresh, require_revocation=True)
    yield Case("EdDSA certified key_revoked compromised key card dated before the revocation",
               "The verifier pins the TEST root and loads a trust list in which MIS-01's key "
               "was revoked as compromised on 2026-01-08, and the fresh revocation list. This "
               "card says it was signed on 2026-01-05, before the revocation, but a compromised "
               "key's holder can write any date: refused.", RETIRED, wire,
               error("key_revoked"), (), BEFORE_REVOCATION_HOLDER, by,
               roots=RootTrust(COMPROMISED_TRUST_LIST, FRESH_REVOCATIONS),
               require_revocation=True)
    wire, by = issued(OTHER_CENTRE_HOLDER, CENTRE)
    yield Case("EdDSA certified centre_mismatch card naming another centre",
               f"{setting} and the fresh revocation list. The card says it was issued by "
               "centre BEN-01 but is signed with TRP-01's certificate: a centre cannot issue "
               "in another centre's name.", CENTRE, wire, error("centre_mismatch"), (),
               OTHER_CENTRE_HOLDER, by, roots=fresh, require_revocation=True)
    wire, by = issued(STALE_LISTED_HOLDER, CENTRE)
    yield Case("EdDSA certified revoked card in a stale revocation list",
               f"{setting} and a stale revocation list (next update 2026-02-14) that names the "
               f"card's document number {STALE_LISTED_HOLDER['document_number']} (lost, "
               "2026-01-12): revoked all the same, since a revocation is never undone.", CENTRE,
               wire, verdict("revoked", "revoked"), (), STALE_LISTED_HOLDER, by, roots=stale,
               require_revocation=True)
    late_now = datetime(2029, 2, 1, 9, 0, tzinfo=UTC)
    wire, by = issued(LATE_HOLDER, CENTRE, now=late_now)
    yield Case("EdDSA certified certificate_expired card signed after the certificate ended",
               f"{setting}. This card was signed by TRP-01 on 2029-02-01, after its "
               "certificate's notAfter (2029-01-01); checked on 2029-03-01. The lists are stale "
               "by then, but an invalid card is invalid first.", CENTRE, wire,
               error("certificate_expired"), (), LATE_HOLDER, by, roots=fresh,
               now=late_now + timedelta(days=28), require_revocation=True)
    early_now = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
    wire, by = issued(EARLY_HOLDER, CENTRE, now=early_now)
    yield Case("EdDSA certified certificate_not_yet_valid card signed before the certificate",
               f"{setting}. This card was signed by TRP-01 on 2025-12-20, before its "
               "certificate's notBefore (2026-01-01).", CENTRE, wire,
               error("certificate_not_yet_valid"), (), EARLY_HOLDER, by, roots=fresh,
               require_revocation=True)
    wire = seal(CENTRE, _cbor.dumps(every_field_cwt()))
    yield Case("EdDSA certified unknown revocation_not_applicable",
               f"{setting} and the fresh revocation list. The card is the every-field card "
               "(standard keys only, no profile), signed by TRP-01: it has no document number "
               "to look up.", CENTRE, wire, verdict("unknown", "revocation_not_applicable"), (),
               None, roots=fresh, require_revocation=True)


def biometric(key: int) -> list[dict[int, Any]]:
    """One Claim 169 biometric entry: {0: data, 1: format, 2: sub-format, 3: issuer}."""
    if key < 60:  # fingers: template (1), ISO/IEC 19794-2 (1)
        kind, sub = 1, 1
    elif key < 65:  # irises, face, palms: image (0), JPEG2000 (2)
        kind, sub = 0, 2
    else:  # voice: sound (2), WAV (0)
        kind, sub = 2, 0
    return [{0: filler(key - 40), 1: kind, 2: sub, 3: "LBY-CRA"}]


EVERY_FIELD: dict[int, Any] = {
    1: "119850012347", 2: "1.0", 3: "eng", 4: "Mohamed Ali Salem Elwarfali",
    5: "Mohamed", 6: "Ali Salem", 7: "Elwarfali", 8: "19850314", 9: 1,
    10: "شارع عمر المختار، طرابلس", 11: "mohamed@example.ly", 12: "+218 91 234 5678",
    13: "LBY", 14: 2, 15: "Ali Salem Elwarfali", 16: fake_webp(48), 17: 4, 18: [1, 6],
    19: "محمد علي سالم الورفلي", 20: "ara", 21: "TRP-01", 22: "citizen", 23: "LBY",
    **{key: biometric(key) for key in range(50, 66)},
    100: "kept in extras",
}


def every_field_cwt() -> dict[int, Any]:
    """Every standard field, with iss, sub, exp, nbf and iat."""
    return {**cwt(EVERY_FIELD), 2: "119850012347", 4: expiry(CITIZEN)}


def every_field_cases() -> Iterator[Case]:
    wire = seal(ED, _cbor.dumps(every_field_cwt()))
    yield Case("EdDSA valid every standard Claim 169 field",
               "Every standard Claim 169 key: 1-23 (version, language, marital status, guardian, "
               "photo and bestQualityFingers included), one biometric entry under each of keys "
               "50-65, and key 100 (kept in extras), with a CWT sub. No key 75: record null, "
               "the standard view only.", ED, wire, VALID, trust(ED), None)


def all_cases() -> list[Case]:
    return [*issue_cases(), *wire_variant_cases(), *time_cases(), *signature_cases(),
            *header_cases(), *content_cases(), *transport_cases(), *key_cases(),
            *record_problem_cases(), *certified_cases(), *every_field_cases()]


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
