"""X.509 certificates for trust distribution: the root CA and the centres' card-signing keys.

The only module that imports ``cryptography.x509``. Profile (strict; anything else is refused):

* **Root** (self-signed): BasicConstraints CA=true (critical), KeyUsage keyCertSign + cRLSign
  (critical), SubjectKeyIdentifier; subject ``CN=<name>``. Ed25519 or P-256 (ECDSA-SHA256).
* **Centre signing certificate**, issued by the root: BasicConstraints CA=false (critical),
  KeyUsage digitalSignature only (critical), ExtendedKeyUsage holding
  :data:`CARD_SIGNING_EKU` (critical), SubjectKeyIdentifier, AuthorityKeyIdentifier; subject
  ``CN=Card signer <code>, OU=<code>``, where ``<code>`` is the centre code (1-32 characters of
  ``A-Z a-z 0-9 - _ .``). Ed25519 or P-256.

``kid_for_certificate`` is the first 8 bytes of SHA-256 over the certificate's DER, as in the
EU Digital COVID Certificate. It replaces the SPKI-based kid of :class:`cardlib.PublicKey` for
certified centre keys.

Validity windows: :func:`check_centre_certificate` checks a centre certificate's notBefore and
notAfter only when it is given ``now``. A trust list does not refuse expired centres, because
cards signed while the certificate was valid must keep verifying during the overlap after a key
rotation; the window is reported on :class:`CentreCertificate` for the verifier to apply to
each card's iat.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .._errors import (
    CardError,
    CertificateExpiredError,
    CertificateInvalidError,
    CertificateNotYetValidError,
    TrustInputError,
)
from ..keys import KID_BYTES, PrivateKey, PublicKey

# PLACEHOLDER OID for the "card signing" extended key usage. It sits under the ITU-T X.667 UUID
# arc 2.25 (anyone may mint an OID there from a random UUID without registration, so it cannot
# collide), and must be replaced by an OID under the registry's own IANA Private Enterprise
# Number arc (1.3.6.1.4.1.<PEN>.1) before certificates are issued for production.
CARD_SIGNING_EKU: Final = x509.ObjectIdentifier("2.25.48171838564180339287699196138801570316")

# The holder record's centre_code pattern: a certificate only for a centre a card can name.
_CENTRE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,15}")
_MAX_NAME_CHARS = 64  # ub-common-name (RFC 5280)
# Extensions this profile understands; any other extension marked critical is refused.
_KNOWN_EXTENSIONS = frozenset({
    x509.BasicConstraints.oid,
    x509.KeyUsage.oid,
    x509.ExtendedKeyUsage.oid,
    x509.SubjectKeyIdentifier.oid,
    x509.AuthorityKeyIdentifier.oid,
})

_Ext = TypeVar("_Ext", bound=x509.ExtensionType)
_SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey






@dataclass(frozen=True, slots=True)
class CentreCertificate:
    """A centre signing certificate verified against the pinned root.

    ``public_key`` keeps the SPKI-based kid of :class:`cardlib.PublicKey`; ``kid`` is the
    certificate kid (SHA-256 over the DER, first 8 bytes) that the centre puts in its cards.
    """

    public_key: PublicKey
    kid: bytes
    centre_code: str
    not_before: datetime
    not_after: datetime
    der: bytes

    def check_valid_at(self, now: datetime) -> None:
        """Raise unless ``now`` lies within notBefore..notAfter (inclusive)."""
        moment = _utc(now, "now")
        if moment < self.not_before:
            raise CertificateNotYetValidError(
                f"the signing certificate of centre {self.centre_code} is not valid before "
                f"{self.not_before:%Y-%m-%d %H:%M} UTC"
            )
        if moment > self.not_after:
            raise CertificateExpiredError(
                f"the signing certificate of centre {self.centre_code} expired on "
                f"{self.not_after:%Y-%m-%d %H:%M} UTC"
            )


def kid_for_certificate(der: bytes) -> bytes:
    """Key id of a certified key: first 8 bytes of SHA-256 over the certificate DER."""
    return hashlib.sha256(der).digest()[:KID_BYTES]


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise TrustInputError(f"{name} must be a timezone-aware datetime (UTC)")
    return moment.astimezone(UTC)


def _cert_time(moment: datetime, name: str) -> datetime:
    """X.509 times have whole seconds."""
    return _utc(moment, name).replace(microsecond=0)


def _signing_key(key: PrivateKey) -> _SigningKey:
    """The ``cryptography`` object behind a cardlib key, through its public PEM export."""
    obj = serialization.load_pem_private_key(key.to_pem(), password=None)
    if not isinstance(obj, _SigningKey):  # pragma: no cover - PrivateKey holds only these
        raise TrustInputError("only Ed25519 and P-256 keys can sign certificates")
    return obj


def _hash_for(key: _SigningKey) -> hashes.SHA256 | None:
    """Ed25519 signs the message itself; ECDSA on P-256 uses SHA-256."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _public_object(key: PublicKey) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    obj = serialization.load_der_public_key(key.spki_der)
    if not isinstance(obj, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise TrustInputError("only Ed25519 and P-256 keys can be certified")  # pragma: no cover
    return obj


def _load(der: bytes, what: str) -> x509.Certificate:
    if not isinstance(der, bytes):
        raise CertificateInvalidError(f"the {what} must be DER bytes")
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as err:
        raise CertificateInvalidError(f"the {what} is not a DER X.509 certificate ({err})") from err
    if cert.version is not x509.Version.v3:
        raise CertificateInvalidError(f"the {what} must be an X.509 version 3 certificate")
    return cert


def _extension(
    cert: x509.Certificate, kind: type[_Ext], what: str
) -> x509.Extension[_Ext]:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        raise CertificateInvalidError(f"the {what} has no {kind.__name__} extension") from None
    except ValueError as err:  # duplicate or malformed extensions
        raise CertificateInvalidError(f"the {what} has malformed extensions ({err})") from err


def _check_critical(cert: x509.Certificate, what: str) -> None:
    try:
        extensions = list(cert.extensions)
    except ValueError as err:
        raise CertificateInvalidError(f"the {what} has malformed extensions ({err})") from err
    for ext in extensions:
        if ext.critical and ext.oid not in _KNOWN_EXTENSIONS:
            raise CertificateInvalidError(
                f"the {what} has a critical extension {ext.oid.dotted_string} that this profile "
                "does not understand; refused (RFC 5280 section 4.2)"
            )


def _cardlib_key(cert: x509.Certificate, what: str) -> PublicKey:
    try:
        public = cert.public_key()
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return PublicKey.from_pem(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm, CardError) as err:
        raise CertificateInvalidError(
            f"the {what} holds a key cardlib cannot use; use Ed25519 or P-256 ({err})"
        ) from err


def _check_issued_by(cert: x509.Certificate, issuer: x509.Certificate, what: str) -> None:
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature as err:
        raise CertificateInvalidError(
            f"the {what} is not signed by the pinned root; it cannot be trusted"
        ) from err
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise CertificateInvalidError(
            f"the {what} was not issued by the pinned root ({err}); it cannot be trusted"
        ) from err


@lru_cache(maxsize=8)
def _load_root(root_der: bytes) -> x509.Certificate:
    """Parse the pinned root and check it is a self-signed CA certificate (cached: a trust list
    checks every centre against the same root)."""
    root = _load(root_der, "root certificate")
    _check_critical(root, "root certificate")
    constraints = _extension(root, x509.BasicConstraints, "root certificate").value
    usage = _extension(root, x509.KeyUsage, "root certificate").value
    if not constraints.ca or not usage.key_cert_sign:
        raise CertificateInvalidError(
            "the pinned root is not a CA certificate (it needs CA=true and keyCertSign)"
        )
    _check_issued_by(root, root, "root certificate")
    return root


def root_public_key(root_der: bytes) -> PublicKey:
    """The cardlib key of the pinned root, after checking the root certificate's profile."""
    return _cardlib_key(_load_root(root_der), "root certificate")


def _check_root_key(root_key: PrivateKey, root: x509.Certificate) -> None:
    if _cardlib_key(root, "root certificate").spki_der != root_key.public_key.spki_der:
        raise TrustInputError("the root private key does not match the root certificate")


def check_root_key(root_key: PrivateKey, root_der: bytes) -> None:
    """Check, before anything is signed with ``root_key``, that ``root_der`` is a usable pinned
    root (a self-signed CA certificate) and that ``root_key`` is its private key.

    Raises :class:`~cardlib.CertificateInvalidError` for a root that breaks the profile and
    :class:`~cardlib.TrustInputError` for a key that is not the root's.
    """
    _check_root_key(root_key, _load_root(root_der))


def _serial(serial_number: int | None) -> int:
    """A random 159-bit serial (RFC 5280), or the caller's (e.g. for reproducible test data)."""
    if serial_number is None:
        return x509.random_serial_number()
    if type(serial_number) is not int or not 0 < serial_number < 2**159:
        raise TrustInputError("a serial number is a positive whole number below 2**159")
    return serial_number


def create_root(name: str, key: PrivateKey, *, now: datetime, days: int,
                serial_number: int | None = None) -> bytes:
    """DER of a self-signed root CA certificate for ``key``, valid ``days`` days from ``now``
    (serial number random unless given)."""
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME_CHARS:
        raise TrustInputError(f"the root name must be 1-{_MAX_NAME_CHARS} characters")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise TrustInputError("days must be a positive whole number")
    start = _cert_time(now, "now")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    serial = _serial(serial_number)
    signing = _signing_key(key)
    public = _public_object(key.public_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(signing, _hash_for(signing)).public_bytes(serialization.Encoding.DER)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def certify_centre(
    root_key: PrivateKey,
    root_cert_der: bytes,
    centre_public: PublicKey,
    *,
    centre_code: str,
    not_before: datetime,
    not_after: datetime,
    serial_number: int | None = None,
) -> bytes:
    """DER of a centre's card-signing certificate, issued by the root (serial number random
    unless given)."""
    if not isinstance(centre_code, str) or not _CENTRE_CODE.fullmatch(centre_code):
        raise TrustInputError(
            "a centre code is 2-16 capital letters, digits or '-', starting with a letter or "
            "digit (as a card's centre_code)"
        )
    start, end = _cert_time(not_before, "not_before"), _cert_time(not_after, "not_after")
    if end <= start:
        raise TrustInputError("not_after must be later than not_before")
    serial = _serial(serial_number)
    root = _load_root(root_cert_der)
    _check_root_key(root_key, root)
    signing = _signing_key(root_key)
    public = _public_object(centre_public)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"Card signer {centre_code}"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, centre_code),
    ])
    root_ski = _extension(root, x509.SubjectKeyIdentifier, "root certificate").value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.subject)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([CARD_SIGNING_EKU]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
    )
    return builder.sign(signing, _hash_for(signing)).public_bytes(serialization.Encoding.DER)


def check_centre_certificate(
    der: bytes, root_der: bytes, *, now: datetime | None = None
) -> CentreCertificate:
    """Verify a centre certificate against the pinned root and return what it certifies.

    Checks, in order: the root is a self-signed CA; the certificate's signature by the root (before
    anything in it is trusted); CA=false; KeyUsage is digitalSignature only; the card-signing
    ExtendedKeyUsage is present (``anyExtendedKeyUsage`` does not count); no unknown critical
    extension; exactly one OU holding a valid centre code; an Ed25519 or P-256 key. With ``now``,
    also the validity window (:class:`CertificateExpiredError`,
    :class:`CertificateNotYetValidError`); without it the window is only reported.
    """
    what = "centre certificate"
    root = _load_root(root_der)
    cert = _load(der, what)
    _check_issued_by(cert, root, what)
    # --- signed by the pinned root from here on ---
    centre = _centre_profile(cert, der)
    if now is not None:
        centre.check_valid_at(now)
    return centre


def check_signing_certificate(
    der: bytes, public_key: PublicKey, *, now: datetime, root_der: bytes | None = None
) -> CentreCertificate:
    """Before a printing station signs with a certified key: the certificate is a centre's
    card-signing certificate (not the root, not any CA), certifies exactly ``public_key`` and
    is valid at ``now``; with ``root_der``, it is also issued by that root. Raises
    :class:`CertificateInvalidError`, :class:`CertificateExpiredError` or
    :class:`CertificateNotYetValidError`: nothing is signed with a certificate that would make
    the card fail."""
    if root_der is not None:
        centre = check_centre_certificate(der, root_der)
    else:
        centre = _centre_profile(_load(der, "centre certificate"), der)
    if not isinstance(public_key, PublicKey) or centre.public_key.spki_der != public_key.spki_der:
        raise CertificateInvalidError(
            f"the signing key does not match the certificate of centre {centre.centre_code} "
            "(another key, or another centre's certificate); nothing was signed")
    centre.check_valid_at(now)
    return centre


def _centre_profile(cert: x509.Certificate, der: bytes) -> CentreCertificate:
    """The centre-certificate profile (once the issuer is checked, or when signing locally)."""
    what = "centre certificate"
    _check_critical(cert, what)
    if _extension(cert, x509.BasicConstraints, what).value.ca:
        raise CertificateInvalidError("a centre certificate must not be a CA (CA=true); refused")
    usage = _extension(cert, x509.KeyUsage, what).value
    if usage != _key_usage(cert_sign=False):
        raise CertificateInvalidError(
            "a centre certificate's KeyUsage must be digitalSignature only; refused"
        )
    purposes = _extension(cert, x509.ExtendedKeyUsage, what).value
    if CARD_SIGNING_EKU not in purposes or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in purposes:
        raise CertificateInvalidError(
            "the certificate is not restricted to card signing (its ExtendedKeyUsage lacks "
            f"{CARD_SIGNING_EKU.dotted_string}); refused"
        )
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    code = units[0].value if len(units) == 1 else None
    if not isinstance(code, str) or not _CENTRE_CODE.fullmatch(code):
        raise CertificateInvalidError(
            "a centre certificate's subject must hold exactly one OU with the centre code"
        )
    return CentreCertificate(
        public_key=_cardlib_key(cert, what),
        kid=kid_for_certificate(der),
        centre_code=code,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        der=der,
    )


def certificate_centre(der: bytes) -> str | None:
    """The centre code a certificate names (its single OU), or None (unreadable, no OU)."""
    try:
        units = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(
            NameOID.ORGANIZATIONAL_UNIT_NAME)
    except (ValueError, TypeError):
        return None
    code = units[0].value if len(units) == 1 else None
    return code if isinstance(code, str) else None


def certificate_pem(der: bytes) -> bytes:
    """A DER certificate as PEM (for files)."""
    return _load(der, "certificate").public_bytes(serialization.Encoding.PEM)


def certificate_der(data: bytes) -> bytes:
    """A certificate file's DER, from PEM or DER bytes; a typed error for anything else."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
        return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    except (ValueError, TypeError) as err:
        raise CertificateInvalidError(f"not an X.509 certificate ({str(err)[:120]})") from None
