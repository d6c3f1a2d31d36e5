"""Card revocation: a root-signed, compact, delta-friendly list of revoked document numbers.

:func:`publish_revocation_list` / :func:`publish_delta` sign a list of :class:`RevocationEntry`
values (document number, :class:`Reason`, day); :func:`load_revocation_list` checks one against
the pinned root and returns a :class:`RevocationList`, whose ``status(document_number, now=…)``
is a :class:`CardStatus`. A new full list takes the previous one (``previous=``) and never
drops an entry of it unless told so (``allow_drop``, :func:`dropped_entries`;
:class:`cardlib.RevocationEntriesDroppedError`). The format and the status rules are described
in ``specs/format.md`` §13.1.
"""

from __future__ import annotations

from ._revocation import (
    CONTENT_TYPE,
    DEFAULT_REVOCATION_LIMITS,
    CardStatus,
    Reason,
    RevocationEntry,
    RevocationLimits,
    RevocationList,
    dropped_entries,
    load_revocation_list,
    publish_delta,
    publish_revocation_list,
)

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_REVOCATION_LIMITS",
    "CardStatus",
    "Reason",
    "RevocationEntry",
    "RevocationLimits",
    "RevocationList",
    "dropped_entries",
    "load_revocation_list",
    "publish_delta",
    "publish_revocation_list",
]
