"""Public and private keys: generate, PEM in and out, key ids.

kid = the first 8 bytes of SHA-256 over the public key's DER SubjectPublicKeyInfo. (When a
centre's key is certified, issue 4, the kid becomes the hash of the certificate's DER instead.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .._errors import KeyFileError, PassphraseError
from ._algorithms import (
    BY_NAME,
    EDDSA,
    Algorithm,
    PrivateKeyObject,
    Verifier,
    generate,
    make_verifier,
    p256_point,
    raw_public,
    sign,
)

KID_BYTES = 8
# DER prefix of a SubjectPublicKeyInfo holding an uncompressed P-256 point (RFC 5480).
_P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
_P256_SPKI_COMPRESSED_PREFIX = bytes.fromhex(
    "3039301306072a8648ce3d020106082a8648ce3d030107032200"
)


def kid_for(spki_der: bytes) -> bytes:
    """Key id: first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der).digest()[:KID_BYTES]


def _algorithm(name: str) -> Algorithm:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyFileError(f"unknown algorithm {name!r}; use one of {sorted(BY_NAME)}") from None


@dataclass(frozen=True, eq=False)
class PublicKey:
    """A trusted verification key. Ready on construction: weak and off-curve keys never load."""

    algorithm: str
    raw: bytes
    kid: bytes
    spki_der: bytes = field(repr=False)
    _verify: Verifier = field(repr=False)
    # Set for a certified key (from a trust list): who it belongs to, the certificate's validity
    # window, and when the key was revoked. A card is accepted only if its iat lies in the window
    # and before the revocation time.
    label: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    # "compromised": every card of the key is refused; "superseded": cards signed before
    # revoked_at stay valid (the signing time is the card's own iat).
    revocation_reason: str | None = None

    @classmethod
    def from_raw(cls, algorithm: str, raw: bytes) -> PublicKey:
        """Ed25519: 32 raw bytes. ES256: a SEC1 point (65 bytes uncompressed or 33 compressed)."""
        alg = _algorithm(algorithm)
        obj: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
        if alg.cose_id == EDDSA:
            if len(raw) != 32:
                raise KeyFileError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
            obj = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        else:
            obj = p256_point(raw)
        return cls._from_object(obj)

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        try:
            obj = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as err:
            cls._diagnose_p256(data)
            raise KeyFileError(f"not a PEM public key cardlib can use ({err})") from err
        if not isinstance(obj, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
            raise KeyFileError(f"unsupported key type {type(obj).__name__}; use Ed25519 or P-256")
        return cls._from_object(obj)

    @classmethod
    def _from_object(cls, obj: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> PublicKey:
        alg, raw = raw_public(obj)
        return cls._build(alg, raw, obj, make_verifier(alg, raw))

    @classmethod
    def _build(
        cls,
        alg: Algorithm,
        raw: bytes,
        obj: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey,
        verify: Verifier,
    ) -> PublicKey:
        spki = obj.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(alg.name, raw, kid_for(spki), spki, verify)

    @staticmethod
    def _diagnose_p256(pem: bytes) -> None:
        """OpenSSL says only "invalid key" for an off-curve point; name the real reason."""
        import base64

        lines = [ln for ln in pem.strip().splitlines() if ln and not ln.startswith(b"-----")]
        try:
            der = base64.b64decode(b"".join(lines), validate=True)
        except ValueError:
            return
        for prefix, size in ((_P256_SPKI_PREFIX, 65), (_P256_SPKI_COMPRESSED_PREFIX, 33)):
            if der.startswith(prefix) and len(der) == len(prefix) + size:
                p256_point(der[len(prefix) :])

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise a typed error unless ``signature`` is valid over ``data``."""
        self._verify(signature, data)

    def to_pem(self) -> bytes:
        der = self.spki_der
        obj = serialization.load_der_public_key(der)
        return obj.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True, eq=False)
class PrivateKey:
    """A signing key held in this process. It is a :class:`Signer` (algorithm, kid, sign)."""

    algorithm: str
    public_key: PublicKey
    _key: PrivateKeyObject = field(repr=False)

    @property
    def kid(self) -> bytes:
        return self.public_key.kid

    @classmethod
    def generate(cls, algorithm: str = "EdDSA") -> PrivateKey:
        return cls._from_object(generate(_algorithm(algorithm)))

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> PrivateKey:
        try:
            obj = serialization.load_pem_private_key(data, password=passphrase)
        except TypeError as err:
            if passphrase is None:
                raise PassphraseError(
                    "this private key is encrypted; give its passphrase (--passphrase-file)"
                ) from err
            raise PassphraseError("this private key is not encrypted; give no passphrase") from err
        except (ValueError, UnsupportedAlgorithm) as err:
            if passphrase is not None and b"ENCRYPTED" in data:
                raise PassphraseError("the passphrase does not open this private key") from err
            raise KeyFileError(f"not a PEM private key cardlib can use ({err})") from err
        if not isinstance(obj, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyFileError(f"unsupported key type {type(obj).__name__}; use Ed25519 or P-256")
        return cls._from_object(obj)

    @classmethod
    def _from_object(cls, obj: PrivateKeyObject) -> PrivateKey:
        public = PublicKey._from_object(obj.public_key())
        return cls(public.algorithm, public, obj)

    def sign(self, data: bytes) -> bytes:
        return sign(self._key, data)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM; with a passphrase, encrypted by ``cryptography``'s best available scheme
        (PBES2 with AES-256-CBC; its KDF work factor is the library's, not configurable)."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
