"""The one exception tree of cardlib.

Every error carries a stable machine ``code`` (listed in ``specs/format.md``) that the CLI, the
service and the test vectors use. Nothing raised by a dependency escapes the library: each seam
wraps what it calls into one of these classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from ._pipeline import VerifiedCard

Category = Literal["invalid", "input", "environment", "internal"]

#: The thing checked (a card, a signed document, an audit log) is not valid: its own fault.
INVALID: Final[Category] = "invalid"
#: The caller's own input is unusable: arguments, key files, trust files, batch files.
INPUT: Final[Category] = "input"
#: The machine or a service failed: a database, a file system, a missing library or module.
ENVIRONMENT: Final[Category] = "environment"
#: A bug or an unexpected failure inside cardlib.
INTERNAL: Final[Category] = "internal"

#: The one table from an error's category to the CLI exit code and the HTTP status.
EXIT_CODES: Final[dict[str, int]] = {INVALID: 1, INPUT: 2, ENVIRONMENT: 4, INTERNAL: 70}
HTTP_STATUS: Final[dict[str, int]] = {INVALID: 422, INPUT: 400, ENVIRONMENT: 503, INTERNAL: 500}


class CardError(Exception):
    """Root of every error cardlib raises on purpose.

    ``code`` is stable (``specs/format.md`` §9); ``category`` (``invalid``, ``input``,
    ``environment``, ``internal``) decides the CLI exit code and the HTTP status
    (:data:`EXIT_CODES`, :data:`HTTP_STATUS`).
    """

    code: str = "card_error"
    category: Category = INTERNAL
    #: For a card refused after its signature held (its times, its signer's certificate window
    #: or key revocation): the authentic card as signed, so the refusal can show whose it is.
    card: VerifiedCard | None = None

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
    category = INVALID

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        self.problems = tuple(problems)
        summary = "; ".join(f"{p.path}: {p.code}" for p in self.problems[:8])
        more = "" if len(self.problems) <= 8 else f" (+{len(self.problems) - 8} more)"
        super().__init__(f"the holder record has {len(self.problems)} problem(s): {summary}{more}")


class KeyFileError(CardError, ValueError):
    """A key file or key value cannot be read or is of an unsupported type."""

    code = "key_file_invalid"
    category = INPUT


class PassphraseError(KeyFileError):
    """A private key is encrypted and the passphrase is missing or wrong."""

    code = "passphrase_invalid"


class SigningError(CardError):
    """The signer failed to produce a usable signature."""

    code = "signing_failed"
    category = ENVIRONMENT


# --- decoding a payload ------------------------------------------------------------------------


class DecodeError(CardError, ValueError):
    """The payload is not well-formed; it was rejected before any content was trusted."""

    code = "decode_error"
    category = INVALID


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
    category = INVALID


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


class DecryptionKeyMissingError(VerificationError):
    """The payload is encrypted (COSE_Encrypt0) and this verifier holds no decryption key."""

    code = "decryption_key_missing"


class DecryptionError(VerificationError):
    """No configured key decrypts the payload: a wrong key, or an altered ciphertext, IV or
    protected header (AES-GCM authenticates all three), or no key of the algorithm's size."""

    code = "decryption_failed"


class EncryptionAlgorithmError(AlgorithmUnsupportedError):
    """The payload is encrypted with no algorithm or one that is not accepted (only A128GCM,
    A192GCM and A256GCM are)."""

    code = "encryption_alg_unsupported"


class WeakKeyError(VerificationError, KeyFileError):
    code = "key_weak"
    category = INPUT  # raised when a key is loaded: the caller's key, not a card


class OffCurveKeyError(VerificationError, KeyFileError):
    code = "key_off_curve"
    category = INPUT


# --- time ---------------------------------------------------------------------------------------


class ValidityError(CardError):
    """The card is authentic but not valid at the time of the check."""

    code = "validity_error"
    category = INVALID


class ExpiredError(ValidityError):
    code = "expired"


class NotYetValidError(ValidityError):
    code = "not_yet_valid"


# --- printing and scanning cards ---------------------------------------------------------------


class ImageError(CardError, ValueError):
    """An image (portrait, card photo or scan) cannot be read or is unusable."""

    code = "image_invalid"
    category = INPUT


class PhotoBudgetError(CardError):
    """The portrait cannot be compressed into the payload's byte budget."""

    code = "photo_budget"
    category = INPUT


class QrCapacityError(CardError):
    """The payload does not fit the largest QR version allowed at the chosen error level."""

    code = "qr_too_large"
    category = INPUT


class BarcodeError(CardError):
    """A barcode could not be generated."""

    code = "barcode_error"
    category = INTERNAL


class DecoderUnavailableError(CardError):
    """The requested barcode decoder backend is not installed on this machine."""

    code = "decoder_unavailable"
    category = ENVIRONMENT


class BarcodeNotFoundError(CardError):
    """No readable barcode of the expected kind was found in the image."""

    code = "barcode_not_found"
    category = INPUT  # the image shows no card: not a verdict on a card
    #: The machine-readable zone read without the QR code (covered or damaged), when it was:
    #: printed, not signed, so nothing vouches for it.
    unsigned_mrz: tuple[str, str, str] | None = None


class SeveralCardsError(BarcodeNotFoundError):
    """The image holds the QR codes of more than one card: which one to verify is not known."""

    code = "several_cards"


class MrzError(CardError, ValueError):
    """A machine-readable zone is malformed or a check digit is wrong."""

    code = "mrz_invalid"
    category = INPUT


class LayoutError(CardError, ValueError):
    """A card layout configuration is malformed."""

    code = "layout_invalid"
    category = INPUT


class FontError(CardError):
    """A font package needed to render cards is not installed."""

    code = "font_unavailable"
    category = ENVIRONMENT


class UnprintableError(CardError, ValueError):
    """A valid record cannot be printed on the card (a value is too long for its place)."""

    code = "record_unprintable"
    category = INPUT


class PrintMismatchError(VerificationError):
    """The printed data (Code128, MRZ) disagrees with the signed payload: a tampered print."""

    code = "print_mismatch"


# --- batch issuance -----------------------------------------------------------------------------


class BatchError(CardError):
    """The batch as a whole cannot run (not one bad row); nothing was issued by this call."""

    code = "batch_error"
    category = INPUT


class BatchInputError(BatchError, ValueError):
    """The batch input (or the output directory's manifest) is unusable: not a row's fault."""

    code = "batch_input_invalid"


class BatchBusyError(BatchError):
    """Another batch is writing to the same output directory."""

    code = "batch_busy"
    category = ENVIRONMENT


class KeyRevokedError(VerificationError):
    """The card was signed (iat) at or after its signing key's revocation time."""

    code = "key_revoked"


class CentreMismatchError(VerificationError):
    """The card names another registration centre than the one whose certificate signed it."""

    code = "centre_mismatch"


# --- trust: certificates and trust lists ---------------------------------------------------------


class CertificateInvalidError(VerificationError, ValueError):
    """A certificate is malformed, not issued by the pinned root, or breaks the profile."""

    code = "certificate_invalid"
    category = INPUT


class CertificateExpiredError(ValidityError):
    """A centre certificate is authentic but its notAfter has passed."""

    code = "certificate_expired"


class CertificateNotYetValidError(ValidityError):
    """A centre certificate is authentic but its notBefore is still in the future."""

    code = "certificate_not_yet_valid"


class TrustInputError(CardError, ValueError):
    """An argument given to create a certificate or a trust list is unusable."""

    code = "trust_input_invalid"
    category = INPUT


class TrustListError(VerificationError, ValueError):
    """A trust list is malformed or breaks the format; nothing in it is used."""

    code = "trust_list_invalid"
    category = INPUT


class TrustListSignatureError(TrustListError):
    """A trust list is not signed by the pinned root (another root, or altered in transit)."""

    code = "trust_list_signature_invalid"


class TrustListRollbackError(TrustListError):
    """A trust list is older (lower sequence) than one this verifier already accepted."""

    code = "trust_list_rollback"


class BundleError(CardError, ValueError):
    """A file is not a usable offline bundle (its parts are checked by their own rules)."""

    code = "bundle_invalid"
    category = INPUT


class StateError(CardError):
    """A verifier's state directory (the highest list sequences seen) cannot be read or written."""

    code = "state_invalid"
    category = ENVIRONMENT


class HistoryNotFoundError(CardError, LookupError):
    """No history matches this national number together with this document number."""

    code = "history_not_found"
    category = INPUT


# --- card revocation lists -----------------------------------------------------------------------


class RevocationInputError(TrustInputError):
    """An argument given to publish a revocation list, or a document number looked up in one,
    is unusable."""

    code = "revocation_input_invalid"


class RevocationListError(VerificationError, ValueError):
    """A revocation list is malformed or breaks the format; nothing in it is used."""

    code = "revocation_list_invalid"
    category = INPUT


class RevocationListSignatureError(RevocationListError):
    """A revocation list is not signed by the pinned root (another root, or altered)."""

    code = "revocation_list_signature_invalid"


class RevocationListRollbackError(RevocationListError):
    """A revocation list is older (lower sequence) than one this verifier already accepted."""

    code = "revocation_list_rollback"


class RevocationDeltaBaseError(RevocationListError):
    """A revocation delta updates another list than the one this verifier holds."""

    code = "revocation_delta_base_mismatch"


class RevocationEntriesDroppedError(RevocationInputError):
    """A new full revocation list would leave out entries of the previous list.

    A revocation is never undone by accident: the publisher names every dropped document number
    (``allow_drop``), e.g. to prune cards past their expiry. ``dropped`` holds the numbers left
    out (sorted).
    """

    code = "revocation_entries_dropped"

    def __init__(self, message: str, dropped: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.dropped = dropped


# --- the audit log -------------------------------------------------------------------------------


class AuditError(CardError):
    """The audit log failed for a reason not covered by a more precise code below."""

    code = "audit_error"
    category = ENVIRONMENT


class AuditInputError(AuditError, ValueError):
    """A value handed to the audit log is unusable (a naive datetime, oversized data, ...)."""

    code = "audit_input_invalid"
    category = INPUT


class AuditUnavailableError(AuditError):
    """The audit log file cannot be opened, read or written."""

    code = "audit_unavailable"


class AuditBusyError(AuditError):
    """Another writer held the log's lock for longer than the lock timeout."""

    code = "audit_busy"


class AuditAccessError(AuditError, LookupError):
    """The holder view was refused: the document number is not one of this holder's cards.

    The same error is raised whether the holder is unknown or the document number is wrong, so
    the refusal reveals nothing about whether a national number has any history.
    """

    code = "audit_access_denied"
    category = INPUT


class AuditTamperedError(AuditError, VerificationError):
    """The log is not the one its writers wrote; this names the first place where that shows.

    ``line`` is the 1-based line of the first problem (``None`` when the problem is not at one
    line of a file), ``seq`` the sequence number that belongs there (equal to ``line`` in a
    sound log), ``problem`` a code from :data:`cardlib.audit.PROBLEMS`, and ``first_suspect``
    the earliest entry that may be the altered one: ``seq`` itself for a hash mismatch, the
    entry before for a broken link (either it was altered and rehashed, or this one was), the
    entry after the previous checkpoint for a checkpoint whose head no longer matches.
    """

    code = "audit_tampered"
    category = INVALID  # AuditError comes first in the MRO: the log itself is at fault

    def __init__(
        self,
        problem: str,
        detail: str,
        *,
        line: int | None,
        seq: int | None,
        first_suspect: int | None = None,
    ) -> None:
        self.problem = problem
        self.detail = detail
        self.line = line
        self.seq = seq
        self.first_suspect = seq if first_suspect is None else first_suspect
        where = "the log" if line is None else f"line {line} (seq {seq})"
        super().__init__(
            f"{where}: {problem}: {detail}. The audit log has been altered or damaged; keep "
            "this copy as evidence and compare it with a backup"
        )

    @property
    def details(self) -> dict[str, object]:
        """Where the problem is, for a JSON report: line, seq, problem and first suspect."""
        return {"line": self.line, "seq": self.seq, "problem": self.problem,
                "first_suspect": self.first_suspect}


class AuditTruncatedError(AuditTamperedError):
    """The log no longer holds the history an anchor (a checkpoint kept elsewhere) vouches for.

    ``problem`` is ``truncated`` when the log ends before the anchor's entry (entries were cut
    from its end, or the file was replaced by an older copy; ``line`` and ``seq`` name the first
    missing entry) or ``anchor_mismatch`` when the entry at the anchor's seq hashes to something
    else (the history up to it was rewritten). ``anchor`` is the anchor, written ``SEQ:HASH``.
    Only an anchor can show these: a log cut cleanly at a checkpoint is a sound chain.
    """

    code = "audit_truncated"
    category = INVALID

    def __init__(
        self,
        problem: str,
        detail: str,
        *,
        line: int | None,
        seq: int | None,
        anchor: str,
        first_suspect: int | None = None,
    ) -> None:
        self.anchor = anchor
        super().__init__(problem, detail, line=line, seq=seq, first_suspect=first_suspect)

    @property
    def details(self) -> dict[str, object]:
        return {**super().details, "anchor": self.anchor}


# --- the issuance registry -----------------------------------------------------------------------


class RegistryError(CardError):
    """The registry failed for a reason not covered by a more precise code below."""

    code = "registry_error"
    category = ENVIRONMENT


class RegistryInputError(RegistryError, ValueError):
    """A value handed to the registry is malformed (a naive datetime, a short hash, ...)."""

    code = "registry_input_invalid"
    category = INPUT


class RegistryUnavailableError(RegistryError):
    """The registry database cannot be opened or reached."""

    code = "registry_unavailable"


class RegistryNotFoundError(RegistryError, LookupError):
    """No registry at this URL (a missing SQLite file, a database without cardlib's schema);
    only ``cardlib registry init`` (``open_registry(url, create=True)``) creates one."""

    code = "registry_not_found"
    category = INPUT


class RegistryNotOursError(RegistryError):
    """The database at this URL holds something that is not a cardlib registry; it is refused,
    never extended."""

    code = "registry_not_ours"
    category = INPUT


class RegistryBusyError(RegistryError):
    """Another writer held the registry longer than the wait allowed; retry the operation."""

    code = "registry_busy"


class SchemaTooNewError(RegistryError):
    """The database was migrated by a newer cardlib; this one refuses to touch it."""

    code = "schema_too_new"


class DocumentNumberReusedError(RegistryError):
    """The document number was already used (by an active or a revoked card)."""

    code = "document_number_reused"
    category = INPUT


class HolderHasActiveCardError(RegistryError):
    """The holder already has an active card; replace, renew or correct it instead."""

    code = "holder_has_active_card"
    category = INPUT


class CardNotFoundError(RegistryError, LookupError):
    """No card with this document number is recorded."""

    code = "card_not_found"
    category = INPUT


class CardNotActiveError(RegistryError):
    """The card is already revoked."""

    code = "card_not_active"
    category = INPUT


class CardSupersededError(RegistryError):
    """The card was already replaced, renewed or corrected by another card."""

    code = "card_superseded"
    category = INPUT


class HolderMismatchError(RegistryError, ValueError):
    """The new card belongs to another holder than the card it supersedes."""

    code = "holder_mismatch"
    category = INPUT


class HolderNotFoundError(RegistryError, LookupError):
    """No card is recorded for this holder identifier (national number), so the holder has no
    access code to set."""

    code = "holder_not_found"
    category = INPUT


class AccessCodeMalformedError(RegistryInputError):
    """An access code given back by a holder is not one: after dropping spaces and hyphens it
    is not 12 characters of the code alphabet. The message never repeats what was typed."""

    code = "access_code_malformed"


# --- centre sync ---------------------------------------------------------------------------------


class SyncError(RegistryError):
    """Synchronising a centre with the central registry failed (family)."""

    code = "sync_error"


class SyncBatchInvalidError(SyncError, ValueError):
    """The batch is not a well-formed sync batch of a version this cardlib reads."""

    code = "sync_batch_invalid"
    category = INPUT


class SyncBatchTamperedError(SyncError, ValueError):
    """The batch's content does not match its content hash; it was altered or damaged."""

    code = "sync_batch_tampered"
    category = INVALID


class SyncGapError(SyncError):
    """The batch starts after the last cursor the central applied for this centre."""

    code = "sync_gap"
    category = INPUT


class SyncUnsupportedError(SyncError, TypeError):
    """The registry object is not one of cardlib's SQL registries (SQLite, PostgreSQL)."""

    code = "sync_registry_unsupported"
    category = INPUT


class SyncBatchSignatureError(SyncError, ValueError):
    """A signed sync batch is not a COSE_Sign1 of a sync batch, or its signature does not verify
    with the key of the certificate it names; nothing was applied."""

    code = "sync_batch_signature_invalid"
    category = INVALID


class SyncSignerUntrustedError(SyncError):
    """The batch's signing certificate is not in the trust list (so not the root's), is revoked
    or outside its validity, or certifies another centre than the batch's; nothing was
    applied."""

    code = "sync_signer_untrusted"
    category = INVALID


class SyncForeignCardError(SyncError):
    """A card in the batch is not the sending centre's (another centre code, or a kid that is
    not one of the centre's certificates); the whole batch is refused, nothing applied."""

    code = "sync_batch_foreign_card"
    category = INVALID


# --- signing keys in an HSM (PKCS#11) ------------------------------------------------------------


class HsmError(CardError):
    """The token or its PKCS#11 module failed for a reason not covered by a code below."""

    code = "hsm_error"
    category = ENVIRONMENT


class HsmInputError(HsmError, ValueError):
    """An argument is unusable (an empty label, an empty kid, an unknown algorithm)."""

    code = "hsm_input_invalid"
    category = INPUT


class HsmModuleError(HsmError):
    """The PKCS#11 module (the ``.so`` file) cannot be loaded or initialised."""

    code = "hsm_module_unavailable"


class HsmTokenNotFoundError(HsmError, LookupError):
    """No token (or more than one) carries the given label."""

    code = "hsm_token_not_found"


class HsmTokenInUseError(HsmError):
    """This process is already logged in to the token (another open signer)."""

    code = "hsm_token_in_use"


class HsmPinError(HsmError):
    """The token refused the PIN (wrong, wrong length, or expired)."""

    code = "hsm_pin_invalid"
    category = INPUT


class HsmPinLockedError(HsmPinError):
    """The token locked its user PIN after too many wrong tries."""

    code = "hsm_pin_locked"


class HsmKeyNotFoundError(HsmError, LookupError):
    """The token holds no private key (or no matching public key) with the given label."""

    code = "hsm_key_not_found"
    category = INPUT


class HsmKeyAmbiguousError(HsmError):
    """More than one private key on the token carries the given label."""

    code = "hsm_key_ambiguous"
    category = INPUT


class HsmKeyExistsError(HsmError):
    """A key with this label already exists on the token; a new one would make it ambiguous."""

    code = "hsm_key_exists"
    category = INPUT


class HsmKeyUnsupportedError(HsmError):
    """The key is neither P-256 nor Ed25519, or the token lacks the mechanism to use it."""

    code = "hsm_key_unsupported"
    category = INPUT


class HsmKeyMismatchError(HsmError):
    """The public key stored next to the private key does not verify its signatures."""

    code = "hsm_key_mismatch"


class HsmSigningError(HsmError, SigningError):
    """The token failed to sign, or returned a signature that does not verify."""

    code = "hsm_sign_failed"


def all_error_classes() -> tuple[type[CardError], ...]:
    """Every CardError class of cardlib, root first (used to document and test the code table).

    Every one lives in this module; subclasses declared elsewhere (the verification service's
    refusals of a request, an embedder's own) are not cardlib's errors and are left out."""
    seen: list[type[CardError]] = []
    todo: list[type[CardError]] = [CardError]
    while todo:
        cls = todo.pop(0)
        if cls not in seen and cls.__module__ == CardError.__module__:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return tuple(seen)
