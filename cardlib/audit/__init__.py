"""The audit log: an append-only, hash-chained record of issuance, revocation and key events,
sealed by checkpoints that the registry key signs, with a holder's view of their own events.

:class:`AuditLog` appends (and mirrors a registry's events); :func:`verify_log` re-checks a log
and returns an :class:`AuditReport`, against an :class:`AuditAnchor` kept elsewhere
(:func:`parse_anchor`) to catch entries cut from its end; :func:`read_log` returns the entries of
a log that checks; :func:`events_for` is a holder's view. The file format is
described in ``specs/format.md`` §13.3.
"""

from __future__ import annotations

from ._log import (
    CARD_KINDS,
    KINDS,
    MAX_DATA_BYTES,
    MAX_DATA_DEPTH,
    MAX_LINE_BYTES,
    PROBLEMS,
    ZERO_HASH,
    AuditAnchor,
    AuditEntry,
    AuditLog,
    AuditReport,
    checkpoint_message,
    events_for,
    parse_anchor,
    read_log,
    verify_log,
)

__all__ = [
    "CARD_KINDS",
    "KINDS",
    "MAX_DATA_BYTES",
    "MAX_DATA_DEPTH",
    "MAX_LINE_BYTES",
    "PROBLEMS",
    "ZERO_HASH",
    "AuditAnchor",
    "AuditEntry",
    "AuditLog",
    "AuditReport",
    "checkpoint_message",
    "events_for",
    "parse_anchor",
    "read_log",
    "verify_log",
]
