"""Verification results as JSON-ready values: one shape for the CLI, the service and vectors."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from ._errors import CardError, ValidationError
from ._pipeline import VerifiedCard
from ._values import json_value
from .profile._claims import PROFILE_KEYS, Claim169
from .profile._json import record_to_json


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def claims_to_json(claims: Claim169, *, profile: bool = False) -> dict[str, Any]:
    """The standard Claim 169 fields that are present (bytes as hex).

    With ``profile``, the profile keys (75-84), already shown as the record, are left out of
    ``extras``.
    """
    out: dict[str, Any] = {}
    for spec in fields(claims):
        value = getattr(claims, spec.name)
        if profile and spec.name == "extras":
            value = {k: v for k, v in value.items() if k not in PROFILE_KEYS}
        if value is None or (spec.name in ("biometrics", "extras") and not value):
            continue
        out[spec.name] = json_value(value)
    return out


def card_to_json(card: VerifiedCard) -> dict[str, Any]:
    """``{"status": "valid", "code": null, "message": …, "record": {…}, …}``."""
    return {
        "status": "valid",
        "code": None,
        "message": "the signature is valid and the card is within its validity period",
        "record": None if card.record is None else record_to_json(card.record),
        "claims": claims_to_json(card.claims, profile=card.record is not None),
        "algorithm": card.algorithm,
        "kid": None if card.kid is None else card.kid.hex(),
        "issuer": card.issuer,
        "subject": card.subject,
        "issued_at": _iso(card.issued_at),
        "not_before": _iso(card.not_before),
        "expires_at": _iso(card.expires_at),
    }


def error_to_json(error: CardError) -> dict[str, Any]:
    """``{"status": "invalid", "code": …, "message": …, "record": null}`` (+ problems)."""
    out: dict[str, Any] = {
        "status": "invalid",
        "code": error.code,
        "message": error.message,
        "record": None,
    }
    if isinstance(error, ValidationError):
        out["problems"] = [
            {"path": p.path, "code": p.code, "message": p.message} for p in error.problems
        ]
    return out
