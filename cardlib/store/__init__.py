"""The issuance registry: every issued card, behind one interface (SQLite or PostgreSQL).

``open_registry("sqlite:///path/registry.db")`` (or a :class:`~pathlib.Path`) opens the embedded
default; ``open_registry("postgresql://...")`` a shared PostgreSQL database for several nodes
(the ``registry`` extra; psycopg is imported only then). Both open an existing registry only
(``RegistryNotFoundError`` otherwise; ``create=True`` creates one, as ``cardlib registry init``
does), apply the schema migrations at open and return an :class:`IssuanceRegistry` that records
:class:`IssuedCard` values.

Centre sync: :func:`export_changes` and :func:`sign_changes` at the centre,
:func:`apply_changes` at the central (it checks the signed batch with :func:`open_changes`
against the trust list first; a :class:`SyncReport`, conflicts kept as :class:`SyncConflict`),
:func:`list_conflicts`, :func:`sync_cursor`.

Holders' personal access codes: :func:`generate_access_code` makes one (handed to the holder
once; ``registry.record_issue(card, access_code=code)`` stores its hash with the card),
``registry.new_access_code(holder, centre_code=..., now=...)`` resets it,
``registry.check_access_code(holder, code)`` checks one (read by :func:`parse_access_code`'s
rules); :class:`AccessCodeRecord` is the stored hash (scrypt at :data:`ACCESS_CODE_COST`), which
is all that sync batches carry.
"""

from __future__ import annotations

from ._access_codes import (
    ACCESS_CODE_COST,
    AccessCodeRecord,
    ScryptCost,
    generate_access_code,
    parse_access_code,
)
from ._registry import (
    KINDS,
    REASONS,
    IssuanceRegistry,
    IssuedCard,
    Migration,
    RegistryEvent,
    open_registry,
)
from ._sync import (
    CONFLICT_KINDS,
    SyncBatch,
    SyncChange,
    SyncConflict,
    SyncReport,
    VerifiedSyncBatch,
    apply_changes,
    export_changes,
    list_conflicts,
    open_changes,
    sign_changes,
    sync_cursor,
)
from ._sync import CONTENT_TYPE as SYNC_CONTENT_TYPE
from ._sync import FORMAT as SYNC_FORMAT
from ._sync import FORMAT_VERSION as SYNC_FORMAT_VERSION

__all__ = [
    "ACCESS_CODE_COST",
    "CONFLICT_KINDS",
    "KINDS",
    "REASONS",
    "SYNC_CONTENT_TYPE",
    "SYNC_FORMAT",
    "SYNC_FORMAT_VERSION",
    "AccessCodeRecord",
    "IssuanceRegistry",
    "IssuedCard",
    "Migration",
    "RegistryEvent",
    "ScryptCost",
    "SyncBatch",
    "SyncChange",
    "SyncConflict",
    "SyncReport",
    "VerifiedSyncBatch",
    "apply_changes",
    "export_changes",
    "generate_access_code",
    "list_conflicts",
    "open_changes",
    "open_registry",
    "parse_access_code",
    "sign_changes",
    "sync_cursor",
]
