"""The verdict of one verification, and its one JSON shape (``specs/format.md`` §10).

A :class:`VerificationResult` is what :class:`cardlib.Verifier` returns for every card, good or
bad; the CLI prints ``to_json()`` and the verification service answers with it, so the two
cannot drift apart.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final, Literal

from ._errors import BarcodeNotFoundError, CardError, Problem, ValidationError
from ._messages import Message, message_for
from ._pipeline import VerifiedCard
from ._values import iso, json_value
from .keys import PublicKey
from .profile import PROFILE_KEYS, Claim169, record_to_json

Verdict = Literal["valid", "revoked", "unknown", "invalid"]

#: CLI exit code of each verdict (an error raised instead of a verdict uses its category's code).
VERDICT_EXIT: Final[dict[str, int]] = {"valid": 0, "invalid": 1, "revoked": 1, "unknown": 3}


@dataclass(frozen=True, slots=True)
class ListInfo:
    """A root-signed list a verification relied on, and how fresh it was at the check."""

    kind: Literal["trust_list", "revocation_list"]
    sequence: int
    issued: datetime
    next_update: datetime
    stale: bool  # past next_update plus the policy's grace period, at the time of the check
    age_seconds: int  # from the list's issue time to the time of the check

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "sequence": self.sequence, "issued": iso(self.issued),
                "next_update": iso(self.next_update), "stale": self.stale,
                "age_seconds": self.age_seconds}


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """The trusted key whose signature held: its kid, and for a centre key from a trust list,
    the centre, its certificate's window and the key's revocation time."""

    kid: str
    algorithm: str
    centre: str | None
    certificate_valid_from: datetime | None
    certificate_valid_until: datetime | None
    key_revoked_at: datetime | None

    @classmethod
    def of(cls, key: PublicKey) -> SignerInfo:
        return cls(key.kid.hex(), key.algorithm, key.label, key.valid_from, key.valid_until,
                   key.revoked_at)

    def to_json(self) -> dict[str, Any]:
        return {"kid": self.kid, "algorithm": self.algorithm, "centre": self.centre,
                "certificate_valid_from": iso(self.certificate_valid_from),
                "certificate_valid_until": iso(self.certificate_valid_until),
                "key_revoked_at": iso(self.key_revoked_at)}


@dataclass(frozen=True, slots=True)
class RevocationInfo:
    """The card's entry (or absence) in the revocation list used.

    ``state``: ``"revoked"`` (listed, whatever the list's age), ``"not_revoked"`` (not listed in
    a fresh list) or ``"unknown"`` (not listed, but the list is stale).
    """

    state: Literal["not_revoked", "revoked", "unknown"]
    reason: str | None
    revoked_at: datetime | None
    list_sequence: int

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "revoked_at": iso(self.revoked_at),
                "list_sequence": self.list_sequence}


@dataclass(frozen=True, slots=True)
class ScanInfo:
    """What a card image showed: the barcodes found, the MRZ lines (when read with certainty)
    and whether the printed data agrees with the signed data (``None``: nothing to compare)."""

    barcodes: tuple[tuple[str, str], ...]  # (format, text)
    mrz: tuple[str, ...] | None
    print_agrees: bool | None
    # Each printed element and its state: ("qr" | "code128" | "mrz_numbers" | "mrz_name",
    # "agrees" | "disagrees" | "not_read"); empty when the QR code itself did not verify.
    elements: tuple[tuple[str, str], ...] = ()
    other_cards: tuple[str, ...] = ()  # numbers printed on other cards in the picture

    @property
    def print_checked(self) -> bool:
        """A printed number (Code128 or MRZ) was read and agrees, and nothing disagrees."""
        states = dict(self.elements)
        return self.print_agrees is True and "agrees" in (states.get("code128"),
                                                         states.get("mrz_numbers"))

    def to_json(self) -> dict[str, Any]:
        return {"barcodes": [{"format": f, "text": t} for f, t in self.barcodes],
                "mrz": None if self.mrz is None else list(self.mrz),
                "print_agrees": self.print_agrees,
                "print_checked": self.print_checked,
                "elements": dict(self.elements),
                "other_cards": list(self.other_cards)}


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict on one card, with everything a clerk or a program needs to act on it.

    ``status``: ``valid`` (everything known good: signature, times, signer, fresh revocation
    data), ``revoked``, ``unknown`` (authentic, but revocation or trust data is missing or
    stale: cannot confirm) or ``invalid`` (``code`` says why). ``card`` is set whenever the
    signature held, including for ``revoked``, ``unknown`` and a print mismatch, so the clerk
    sees what was signed.
    """

    status: Verdict
    code: str | None
    detail: str | None
    checked_at: datetime
    card: VerifiedCard | None = None
    problems: tuple[Problem, ...] = ()
    signer: SignerInfo | None = None
    revocation: RevocationInfo | None = None
    lists: tuple[ListInfo, ...] = ()
    scan: ScanInfo | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def message(self) -> Message:
        """The catalogue text for the verdict's code, in English and Arabic (a valid card
        checked without revocation data, as its policy allows, says so)."""
        if self.status != "valid":
            return message_for(self.code)
        key = "valid" if self.revocation is not None else "valid_no_revocation"
        if self.scan is not None:
            key += "_print_checked" if self.scan.print_checked else "_print_not_checked"
        return message_for(key)

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 0 valid, 1 invalid or revoked, 3 unknown."""
        return VERDICT_EXIT[self.status]

    def to_json(self) -> dict[str, Any]:
        """The one JSON shape (``specs/format.md`` §10), for the CLI, the service and vectors."""
        text = self.message
        return {
            "status": self.status,
            "code": self.code,
            "message": {"en": text.en, "ar": text.ar},
            "detail": self.detail,
            "checked_at": iso(self.checked_at),
            "card": None if self.card is None else card_to_json(self.card),
            "problems": problems_to_json(self.problems),
            "signer": None if self.signer is None else self.signer.to_json(),
            "revocation": None if self.revocation is None else self.revocation.to_json(),
            "lists": [item.to_json() for item in self.lists],
            "scan": None if self.scan is None else self.scan.to_json(),
        }


def invalid(error: CardError, checked_at: datetime, **extra: Any) -> VerificationResult:
    """The result for a card refused with ``error``."""
    problems = error.problems if isinstance(error, ValidationError) else ()
    return VerificationResult("invalid", error.code, error.message, checked_at,
                              problems=problems, **extra)


def claims_to_json(claims: Claim169, *, profile: bool = False) -> dict[str, Any]:
    """The standard Claim 169 fields that are present (bytes as hex).

    With ``profile``, the profile keys (75-84), already shown as the record, are left out of
    ``extras``; empty ``biometrics`` and ``extras`` are left out.
    """
    out: dict[str, Any] = {}
    for name, value in zip(_SCALAR_CLAIMS, _scalar_claims(claims), strict=True):
        if value is None:
            continue
        kind = type(value)
        out[name] = value if kind is str or kind is int else json_value(value)
    if claims.biometrics:
        out["biometrics"] = json_value(claims.biometrics)
    extras = claims.extras
    if profile and extras:
        extras = {k: v for k, v in extras.items() if k not in PROFILE_KEYS}
    if extras:
        out["extras"] = json_value(extras)
    return out


# The Claim169 fields in their order, but for the two maps written last.
_SCALAR_CLAIMS: Final = tuple(spec.name for spec in fields(Claim169)
                              if spec.name not in ("biometrics", "extras"))
_scalar_claims: Final = operator.attrgetter(*_SCALAR_CLAIMS)  # all in one C call


def card_to_json(card: VerifiedCard) -> dict[str, Any]:
    """What was signed: the profile record (or null), the standard view and the CWT claims,
    and the content encryption algorithm of an encrypted payload (or null)."""
    return {
        "record": None if card.record is None else record_to_json(card.record),
        "claims": claims_to_json(card.claims, profile=card.record is not None),
        "algorithm": card.algorithm,
        "kid": None if card.kid is None else card.kid.hex(),
        "issuer": card.issuer,
        "subject": card.subject,
        "issued_at": iso(card.issued_at),
        "not_before": iso(card.not_before),
        "expires_at": iso(card.expires_at),
        "encryption": card.encryption,
    }


def error_to_json(error: CardError) -> dict[str, Any]:
    """An error that stopped a command (not a verdict): ``{"status": "error", "code", "message":
    {"en", "ar"}, "detail", "category"}`` plus ``problems`` for ``record_invalid``."""
    text = message_for(error.code)
    out: dict[str, Any] = {"status": "error", "code": error.code,
                           "message": {"en": text.en, "ar": text.ar}, "detail": error.message,
                           "category": error.category}
    if isinstance(error, ValidationError):
        out["problems"] = problems_to_json(error.problems)
    if isinstance(error, BarcodeNotFoundError) and error.unsigned_mrz is not None:
        out["unsigned_mrz"] = list(error.unsigned_mrz)  # printed, not signed
    return out


def problems_to_json(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    """A record's problems (§2.2) as ``[{"path", "code", "message"}, …]``."""
    return [{"path": p.path, "code": p.code, "message": p.message} for p in problems]
