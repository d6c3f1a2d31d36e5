"""The one exception tree of cardlib.

Every error carries a stable machine ``code`` (listed in ``specs/format.md``) that the CLI, the
service and the test vectors use. Nothing raised by a dependency escapes the library: each seam
wraps what it calls into one of these classes.
"""

from __future__ import annotations

from dataclasses import dataclass


class CardError(Exception):
    """Root of every error cardlib raises on purpose."""

    code: str = "card_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


# --- usage / input problems -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a holder record: where it is, a stable code, and what to do."""

    path: str
    code: str
    message: str


class ValidationError(CardError, ValueError):
    """A holder record breaks one or more rules; ``problems`` lists every one of them."""

    code = "record_invalid"

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        self.problems = tuple(problems)
        summary = "; ".join(f"{p.path}: {p.code}" for p in self.problems[:8])
        more = "" if len(self.problems) <= 8 else f" (+{len(self.problems) - 8} more)"
        super().__init__(f"the holder record has {len(self.problems)} problem(s): {summary}{more}")


class KeyFileError(CardError, ValueError):
    """A key file or key value cannot be read or is of an unsupported type."""

    code = "key_file_invalid"


class PassphraseError(KeyFileError):
    """A private key is encrypted and the passphrase is missing or wrong."""

    code = "passphrase_invalid"


class SigningError(CardError):
    """The signer failed to produce a usable signature."""

    code = "signing_failed"


# --- decoding a payload ------------------------------------------------------------------------


class DecodeError(CardError, ValueError):
    """The payload is not well-formed; it was rejected before any content was trusted."""

    code = "decode_error"


class InputTooLargeError(DecodeError):
    code = "input_too_large"


class Base45Error(DecodeError):
    code = "base45_invalid"


class DecompressError(DecodeError):
    code = "decompress_failed"


class PayloadTooLargeError(DecodeError):
    code = "payload_too_large"


class CborError(DecodeError):
    code = "cbor_invalid"


class DuplicateKeyError(CborError):
    code = "cbor_duplicate_key"


class CborDepthError(CborError):
    code = "cbor_too_deep"


class CborCountError(CborError):
    code = "cbor_too_many_items"


class TextTooLongError(CborError):
    code = "text_too_long"


class CoseError(DecodeError):
    code = "cose_invalid"


class ClaimsError(DecodeError):
    """The signed CWT claims are malformed (after the signature was verified)."""

    code = "claims_invalid"


# --- cryptographic verification ----------------------------------------------------------------


class VerificationError(CardError):
    """The payload is well-formed but its signature or key cannot be trusted."""

    code = "verification_failed"


class AlgorithmMissingError(VerificationError):
    code = "alg_missing"


class AlgorithmUnsupportedError(VerificationError):
    code = "alg_unsupported"


class AlgorithmKeyMismatchError(VerificationError):
    code = "alg_key_mismatch"


class SignatureMalformedError(VerificationError):
    code = "signature_malformed"


class SignatureInvalidError(VerificationError):
    code = "signature_invalid"


class UnknownKeyError(VerificationError):
    code = "key_unknown"


class WeakKeyError(VerificationError, KeyFileError):
    code = "key_weak"


class OffCurveKeyError(VerificationError, KeyFileError):
    code = "key_off_curve"


# --- time ---------------------------------------------------------------------------------------


class ValidityError(CardError):
    """The card is authentic but not valid at the time of the check."""

    code = "validity_error"


class ExpiredError(ValidityError):
    code = "expired"


class NotYetValidError(ValidityError):
    code = "not_yet_valid"


# --- printing and scanning cards ---------------------------------------------------------------


class ImageError(CardError, ValueError):
    """An image (portrait, card photo or scan) cannot be read or is unusable."""

    code = "image_invalid"


class PhotoBudgetError(CardError):
    """The portrait cannot be compressed into the payload's byte budget."""

    code = "photo_budget"


class QrCapacityError(CardError):
    """The payload does not fit the largest QR version allowed at the chosen error level."""

    code = "qr_too_large"


class BarcodeError(CardError):
    """A barcode could not be generated."""

    code = "barcode_error"


class DecoderUnavailableError(CardError):
    """The requested barcode decoder backend is not installed on this machine."""

    code = "decoder_unavailable"


class BarcodeNotFoundError(CardError):
    """No readable barcode of the expected kind was found in the image."""

    code = "barcode_not_found"


class MrzError(CardError, ValueError):
    """A machine-readable zone is malformed or a check digit is wrong."""

    code = "mrz_invalid"


class LayoutError(CardError, ValueError):
    """A card layout configuration is malformed."""

    code = "layout_invalid"


class FontError(CardError):
    """A font package needed to render cards is not installed."""

    code = "font_unavailable"


class UnprintableError(CardError, ValueError):
    """A valid record cannot be printed on the card (a value is too long for its place)."""

    code = "record_unprintable"


class PrintMismatchError(VerificationError):
    """The printed data (Code128, MRZ) disagrees with the signed payload: a tampered print."""

    code = "print_mismatch"


# --- batch issuance -----------------------------------------------------------------------------


class BatchError(CardError):
    """The batch as a whole cannot run (not one bad row); nothing was issued by this call."""

    code = "batch_error"


class BatchInputError(BatchError, ValueError):
    """The batch input (or the output directory's manifest) is unusable: not a row's fault."""

    code = "batch_input_invalid"


class BatchBusyError(BatchError):
    """Another batch is writing to the same output directory."""

    code = "batch_busy"


class KeyRevokedError(VerificationError):
    """The card was signed (iat) at or after its signing key's revocation time."""

    code = "key_revoked"


# --- trust: certificates and trust lists ---------------------------------------------------------


class CertificateInvalidError(VerificationError, ValueError):
    """A certificate is malformed, not issued by the pinned root, or breaks the profile."""

    code = "certificate_invalid"


class CertificateExpiredError(ValidityError):
    """A centre certificate is authentic but its notAfter has passed."""

    code = "certificate_expired"


class CertificateNotYetValidError(ValidityError):
    """A centre certificate is authentic but its notBefore is still in the future."""

    code = "certificate_not_yet_valid"


class TrustInputError(CardError, ValueError):
    """An argument given to create a certificate or a trust list is unusable."""

    code = "trust_input_invalid"


class TrustListError(VerificationError, ValueError):
    """A trust list is malformed or breaks the format; nothing in it is used."""

    code = "trust_list_invalid"


class TrustListSignatureError(TrustListError):
    """A trust list is not signed by the pinned root (another root, or altered in transit)."""

    code = "trust_list_signature_invalid"


class TrustListRollbackError(TrustListError):
    """A trust list is older (lower sequence) than one this verifier already accepted."""

    code = "trust_list_rollback"


class BundleError(CardError, ValueError):
    """A file is not a usable offline bundle (its parts are checked by their own rules)."""

    code = "bundle_invalid"


def all_error_classes() -> tuple[type[CardError], ...]:
    """Every CardError class, root first (used to document and test the code table)."""
    seen: list[type[CardError]] = []
    todo: list[type[CardError]] = [CardError]
    while todo:
        cls = todo.pop(0)
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return tuple(seen)
