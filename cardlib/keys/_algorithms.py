"""The COSE signature algorithms cardlib accepts: a registry ``{cose_id: Algorithm}``.

The only module that imports raw crypto primitives (``cryptography`` and ``pynacl``, both
PyCA's). Ed25519 public keys are checked and signatures verified by libsodium (through pynacl):
its verdicts are strict (S < L, R canonical and not of small order, the cofactorless equation)
and it is the verifier this project stakes identity cards on. ES256 and all signing use
``cryptography`` (OpenSSL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .._errors import (
    KeyFileError,
    OffCurveKeyError,
    SignatureInvalidError,
    SignatureMalformedError,
    SigningError,
    WeakKeyError,
)

EDDSA: Final = -8
ES256: Final = -7
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_MISMATCH = "the signature does not match: the card was altered or not signed by this key"

PublicKeyObject = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKeyObject = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class Verifier(Protocol):
    def __call__(self, signature: bytes, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One signature algorithm: its COSE id, name and key type."""

    cose_id: int
    name: str
    key_type: str


ALGORITHMS: Final[dict[int, Algorithm]] = {
    EDDSA: Algorithm(EDDSA, "EdDSA", "Ed25519"),
    ES256: Algorithm(ES256, "ES256", "P-256"),
}
BY_NAME: Final[dict[str, Algorithm]] = {alg.name: alg for alg in ALGORITHMS.values()}


def check_ed25519_point(raw: bytes) -> None:
    """Refuse an Ed25519 public key that is not a canonical point of the prime-order subgroup.

    libsodium's ``crypto_core_ed25519_is_valid_point`` refuses the all-zero key, the small-order
    points, non-canonical encodings, points off the curve and mixed-order points.
    """
    if len(raw) != 32:
        raise KeyFileError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(raw):
        raise WeakKeyError(
            "this Ed25519 public key is weak (small order, all zero, non-canonical or not on "
            "the curve); it can never be trusted"
        )


def p256_point(raw: bytes) -> ec.EllipticCurvePublicKey:
    """Load an uncompressed or compressed SEC1 P-256 point; refuse points off the curve."""
    if len(raw) not in (33, 65) or raw[0] not in ((4,) if len(raw) == 65 else (2, 3)):
        raise KeyFileError("a P-256 public key is a 65-byte (04…) or 33-byte (02/03…) SEC1 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as err:
        raise OffCurveKeyError(
            "this P-256 public key is not a point on the curve; it can never be trusted"
        ) from err


def raw_public(key: PublicKeyObject) -> tuple[Algorithm, bytes]:
    """Algorithm and raw public bytes (Ed25519: 32 bytes; P-256: 65-byte uncompressed point)."""
    from cryptography.hazmat.primitives import serialization

    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        check_ed25519_point(raw)
        return ALGORITHMS[EDDSA], raw
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFileError(f"EC keys must be on P-256 for ES256, not {key.curve.name}")
        return ALGORITHMS[ES256], key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    raise KeyFileError(f"unsupported key type {type(key).__name__}; use Ed25519 or P-256")


def make_verifier(alg: Algorithm, raw: bytes) -> Verifier:
    """A function ``(signature, data) -> None`` that raises a typed error unless valid."""
    if alg.cose_id == EDDSA:
        return _eddsa_verifier(raw)

    point = p256_point(raw)
    ecdsa = ec.ECDSA(hashes.SHA256())

    def verify_es256(signature: bytes, data: bytes) -> None:
        der = es256_raw_to_der(signature)
        try:
            point.verify(der, data, ecdsa)
        except InvalidSignature as err:
            raise SignatureInvalidError(_MISMATCH) from err

    return verify_es256


def _eddsa_verifier(raw: bytes) -> Verifier:
    """Ed25519 verification by libsodium's ``crypto_sign_open`` (``crypto_sign_verify_detached``
    on the signature and message): S < L, R a canonical encoding not of small order, A checked
    again, then the cofactorless equation [S]B = R + [k]A. The public key was checked when it
    loaded (canonical, prime order)."""
    check_ed25519_point(raw)
    public = bytes(raw)
    sign_open = nacl.bindings.crypto_sign_open
    bad_signature = nacl.exceptions.BadSignatureError

    def verify_eddsa(signature: bytes, data: bytes) -> None:
        if type(signature) is not bytes:
            signature = _as_bytes(signature, "signature")
        if type(data) is not bytes:
            data = _as_bytes(data, "data")
        if len(signature) != 64:
            raise SignatureMalformedError(
                f"an EdDSA signature is 64 bytes, this one is {len(signature)}"
            )
        try:
            sign_open(signature + data, public)
        except bad_signature as err:
            raise SignatureInvalidError(_MISMATCH) from err

    return verify_eddsa


def _as_bytes(value: object, name: str) -> bytes:
    """A bytes copy of a bytes-like ``value`` (bytearray, memoryview); TypeError otherwise."""
    try:
        return memoryview(value).tobytes()  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"the {name} to verify must be bytes, not {type(value).__name__}"
        ) from None


def es256_raw_to_der(signature: bytes) -> bytes:
    """Check a raw r||s ES256 signature (RFC 9053) and convert it for OpenSSL."""
    if len(signature) != 64:
        hint = (
            " (it looks DER-encoded; COSE requires raw r||s)"
            if signature[:1] == b"\x30" and 8 <= len(signature) <= 72
            else ""
        )
        raise SignatureMalformedError(
            f"an ES256 signature is 64 bytes (r||s), this one is {len(signature)}{hint}"
        )
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
        raise SignatureMalformedError("an ES256 signature has r or s out of range")
    return encode_dss_signature(r, s)


def generate(alg: Algorithm) -> PrivateKeyObject:
    if alg.cose_id == EDDSA:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def sign(key: PrivateKeyObject, data: bytes) -> bytes:
    """Sign ``data``: Ed25519 (64 bytes) or ES256 as raw r||s (64 bytes)."""
    try:
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    except (ValueError, UnsupportedAlgorithm) as err:
        raise SigningError(f"signing failed: {err}") from err
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
