"""Trust distribution: X.509 certificates for the root and the issuing centres, and the
root-signed trust list that tells verifiers which centre keys to accept.

Certificates: :func:`create_root`, :func:`certify_centre` (a :class:`CentreCertificate` is
checked by :func:`check_centre_certificate`), :func:`kid_for_certificate`, PEM/DER helpers, and
:class:`CertifiedSigner` (a centre key named by its certificate). Trust lists:
:func:`publish_trust_list`, :func:`load_trust_list` → :class:`TrustList`. Documents signed by the
root (trust lists, revocation lists) are opened by one function, :func:`open_root_signed`, and
signed by :func:`sign_root_document` after :func:`check_root_key`.
"""

from __future__ import annotations

from ._certs import (
    CARD_SIGNING_EKU,
    CentreCertificate,
    certificate_der,
    certificate_pem,
    certify_centre,
    check_centre_certificate,
    check_root_key,
    check_signing_certificate,
    create_root,
    kid_for_certificate,
    root_public_key,
)
from ._signed import open_root_signed, sign_root_document
from ._signer import CertifiedSigner
from ._trustlist import CONTENT_TYPE as TRUST_LIST_CONTENT_TYPE
from ._trustlist import KeyRevocation, TrustList, load_trust_list, publish_trust_list

__all__ = [
    "CARD_SIGNING_EKU",
    "TRUST_LIST_CONTENT_TYPE",
    "CentreCertificate",
    "CertifiedSigner",
    "KeyRevocation",
    "TrustList",
    "certificate_der",
    "certificate_pem",
    "certify_centre",
    "check_centre_certificate",
    "check_root_key",
    "check_signing_certificate",
    "create_root",
    "kid_for_certificate",
    "load_trust_list",
    "open_root_signed",
    "publish_trust_list",
    "root_public_key",
    "sign_root_document",
]
