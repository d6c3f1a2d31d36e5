"""Content encryption keys for COSE_Encrypt0 (RFC 9052 §5.2): AES-GCM, a registry by COSE id.

A Claim 169 payload may be encrypted (COSE_Encrypt0 around the COSE_Sign1) with a key the issuer
shares with authorised verifiers. The only module that calls an AEAD: ``cryptography``'s
``AESGCM`` (OpenSSL), never hand-rolled. RFC 9053 §4.1: A128GCM (1), A192GCM (2) and A256GCM (3),
each a 96-bit nonce (the IV, header label 5) and a 128-bit tag appended to the ciphertext.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import DecryptionError, KeyFileError, SigningError

IV_BYTES: Final = 12
TAG_BYTES: Final = 16
MAX_KID_BYTES: Final = 64
_HEX_KEY = re.compile(rb"(?:[0-9a-fA-F]{2}){16}(?:(?:[0-9a-fA-F]{2}){8}){0,2}")

_FAILED = ("no configured decryption key opens this card: the key is wrong, or the card's "
           "ciphertext, IV or protected header was altered")


@dataclass(frozen=True, slots=True)
class ContentAlgorithm:
    """One content encryption algorithm: its COSE id, name and key size."""

    cose_id: int
    name: str
    key_bytes: int


CONTENT_ALGORITHMS: Final[dict[int, ContentAlgorithm]] = {
    1: ContentAlgorithm(1, "A128GCM", 16),
    2: ContentAlgorithm(2, "A192GCM", 24),
    3: ContentAlgorithm(3, "A256GCM", 32),
}
_BY_SIZE: Final = {alg.key_bytes: alg for alg in CONTENT_ALGORITHMS.values()}
_BY_NAME: Final = {alg.name: alg for alg in CONTENT_ALGORITHMS.values()}


@dataclass(frozen=True, slots=True)
class SymmetricKey:
    """An AES-GCM key (16, 24 or 32 bytes) shared by an issuer and its authorised verifiers.

    Its size names its algorithm (A128GCM, A192GCM, A256GCM). ``kid`` (1-64 bytes, optional)
    is written in the card's header when it encrypts and, when a card names a kid, decides
    which keys are tried: those with that kid, else those without a kid. Ready on
    construction: a key of another size or a malformed kid raises ``key_file_invalid``.
    """

    secret: bytes = field(repr=False)
    kid: bytes | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) not in _BY_SIZE:
            size = len(self.secret) if isinstance(self.secret, bytes) else "?"
            raise KeyFileError(f"an AES-GCM key is 16, 24 or 32 bytes, not {size}")
        if self.kid is not None and (not isinstance(self.kid, bytes)
                                     or not 0 < len(self.kid) <= MAX_KID_BYTES):
            raise KeyFileError(f"a key id is 1-{MAX_KID_BYTES} bytes")

    @classmethod
    def generate(cls, algorithm: str = "A256GCM", *, kid: bytes | None = None) -> SymmetricKey:
        """A fresh random key for ``algorithm`` (A128GCM, A192GCM or A256GCM)."""
        alg = _BY_NAME.get(algorithm)
        if alg is None:
            raise KeyFileError(f"unknown content encryption algorithm {algorithm!r}; use one "
                               f"of {sorted(_BY_NAME)}")
        return cls(os.urandom(alg.key_bytes), kid)

    @classmethod
    def load(cls, data: bytes, *, kid: bytes | None = None) -> SymmetricKey:
        """A key file's content: hex text (32, 48 or 64 hex digits; surrounding whitespace is
        ignored) or the raw 16, 24 or 32 bytes."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise KeyFileError("a key file's content must be given as bytes")
        data = bytes(data)
        text = data.strip()
        if _HEX_KEY.fullmatch(text):
            return cls(bytes.fromhex(text.decode("ascii")), kid)
        if len(data) in _BY_SIZE:
            return cls(data, kid)
        raise KeyFileError("not an AES-GCM key: give 32, 48 or 64 hex digits, or the raw 16, 24 "
                           f"or 32 bytes (this file holds {len(data)} bytes)")

    @property
    def algorithm(self) -> str:
        """A128GCM, A192GCM or A256GCM: the algorithm this key's size is for."""
        return _BY_SIZE[len(self.secret)].name

    @property
    def cose_id(self) -> int:
        return _BY_SIZE[len(self.secret)].cose_id

    def encrypt(self, plaintext: bytes, aad: bytes, *,
                iv_source: Callable[[int], bytes] = os.urandom) -> tuple[bytes, bytes]:
        """``(iv, ciphertext with its tag)``: a fresh 12-byte IV from ``iv_source`` each call
        (an IV is never reused under one key: AES-GCM loses its confidentiality and integrity
        if it is)."""
        iv = iv_source(IV_BYTES)
        if not isinstance(iv, bytes) or len(iv) != IV_BYTES:
            raise SigningError(f"the IV source must return {IV_BYTES} bytes")
        return iv, AESGCM(self.secret).encrypt(iv, plaintext, aad)

    def decrypt(self, iv: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """The plaintext, or ``decryption_failed`` (wrong key, or anything altered)."""
        try:
            return AESGCM(self.secret).decrypt(iv, ciphertext, aad)
        except (InvalidTag, ValueError, OverflowError) as err:
            raise DecryptionError(_FAILED) from err

    def __repr__(self) -> str:
        kid = "" if self.kid is None else f", kid={self.kid.hex()}"
        return f"SymmetricKey({self.algorithm}{kid})"
