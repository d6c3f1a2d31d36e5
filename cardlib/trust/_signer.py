"""A centre's signing key named by its certificate: what a certified printing station signs with."""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import PrivateKey
from ._certs import kid_for_certificate


@dataclass(frozen=True, slots=True)
class CertifiedSigner:
    """A :class:`cardlib.Signer` whose kid is the centre certificate's (first 8 bytes of
    SHA-256 over its DER), as verifiers holding a trust list look it up."""

    key: PrivateKey
    certificate_der: bytes

    @property
    def algorithm(self) -> str:
        return self.key.algorithm

    @property
    def kid(self) -> bytes:
        return kid_for_certificate(self.certificate_der)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)
