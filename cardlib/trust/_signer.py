"""A centre's signing key named by its certificate: what a certified printing station signs with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..keys import PrivateKey
from ._certs import certificate_centre, check_signing_certificate, kid_for_certificate


@dataclass(frozen=True, slots=True)
class CertifiedSigner:
    """A :class:`cardlib.Signer` whose kid is the centre certificate's (first 8 bytes of
    SHA-256 over its DER), as verifiers holding a trust list look it up."""

    key: PrivateKey
    certificate_der: bytes
    #: The centre the certificate names (its OU), or None if the certificate cannot be read;
    #: ``cardlib.issue`` refuses a record naming another centre (``signer_mismatch``).
    centre_code: str | None = field(init=False, default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "centre_code", certificate_centre(self.certificate_der))

    @classmethod
    def checked(cls, key: PrivateKey, certificate_der: bytes, *, now: datetime,
                root_der: bytes | None = None) -> CertifiedSigner:
        """A signer whose certificate was checked first (:func:`check_signing_certificate`):
        a centre's card-signing certificate for exactly this key, valid at ``now``, and with
        ``root_der`` issued by that root. The plain constructor checks nothing."""
        check_signing_certificate(certificate_der, key.public_key, now=now, root_der=root_der)
        return cls(key, certificate_der)

    @property
    def algorithm(self) -> str:
        return self.key.algorithm

    @property
    def kid(self) -> bytes:
        return kid_for_certificate(self.certificate_der)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)
