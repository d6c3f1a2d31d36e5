"""cardlib: signed MOSIP Claim 169 identity-card payloads for a national-number registry.

The common path::

    key = cardlib.PrivateKey.generate("EdDSA")
    payload = cardlib.issue(record, key)                     # Base45 text for the QR code
    card = cardlib.verify(payload, cardlib.TrustStore([key.public_key]))

Everything that can go wrong raises a :class:`CardError` with a stable ``code``.
"""

from __future__ import annotations

from ._errors import (
    AlgorithmKeyMismatchError,
    AlgorithmMissingError,
    AlgorithmUnsupportedError,
    BarcodeError,
    BarcodeNotFoundError,
    Base45Error,
    CardError,
    CborCountError,
    CborDepthError,
    CborError,
    ClaimsError,
    CoseError,
    DecodeError,
    DecoderUnavailableError,
    DecompressError,
    DuplicateKeyError,
    ExpiredError,
    FontError,
    ImageError,
    InputTooLargeError,
    KeyFileError,
    KeyRevokedError,
    LayoutError,
    MrzError,
    NotYetValidError,
    OffCurveKeyError,
    PassphraseError,
    PayloadTooLargeError,
    PhotoBudgetError,
    PrintMismatchError,
    Problem,
    QrCapacityError,
    SignatureInvalidError,
    SignatureMalformedError,
    SigningError,
    TextTooLongError,
    UnknownKeyError,
    UnprintableError,
    ValidationError,
    ValidityError,
    VerificationError,
    WeakKeyError,
)
from ._limits import DEFAULT_LIMITS, Limits
from ._pipeline import DEFAULT_SKEW, VerifiedCard, inspect, issue, verify
from .keys._keys import PrivateKey, PublicKey
from .keys._signer import Signer
from .keys._trust import TrustStore
from .profile._claims import Claim169
from .profile._json import record_from_json, record_from_json_text, record_to_json
from .profile._record import FourPartName, HolderCategory, HolderRecord, PhotoFormat, Sex
from .profile._rules import DEFAULT_RULES, Rules, check_record

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RULES",
    "DEFAULT_SKEW",
    "AlgorithmKeyMismatchError",
    "AlgorithmMissingError",
    "AlgorithmUnsupportedError",
    "BarcodeError",
    "BarcodeNotFoundError",
    "Base45Error",
    "CardError",
    "CborCountError",
    "CborDepthError",
    "CborError",
    "Claim169",
    "ClaimsError",
    "CoseError",
    "DecodeError",
    "DecoderUnavailableError",
    "DecompressError",
    "DuplicateKeyError",
    "ExpiredError",
    "FontError",
    "FourPartName",
    "HolderCategory",
    "HolderRecord",
    "ImageError",
    "InputTooLargeError",
    "KeyFileError",
    "KeyRevokedError",
    "LayoutError",
    "Limits",
    "MrzError",
    "NotYetValidError",
    "OffCurveKeyError",
    "PassphraseError",
    "PayloadTooLargeError",
    "PhotoBudgetError",
    "PhotoFormat",
    "PrintMismatchError",
    "PrivateKey",
    "Problem",
    "PublicKey",
    "QrCapacityError",
    "Rules",
    "Sex",
    "SignatureInvalidError",
    "SignatureMalformedError",
    "Signer",
    "SigningError",
    "TextTooLongError",
    "TrustStore",
    "UnknownKeyError",
    "UnprintableError",
    "ValidationError",
    "ValidityError",
    "VerificationError",
    "VerifiedCard",
    "WeakKeyError",
    "__version__",
    "check_record",
    "inspect",
    "issue",
    "record_from_json",
    "record_from_json_text",
    "record_to_json",
    "verify",
]
