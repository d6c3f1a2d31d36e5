"""The issuance registry: every issued card, behind one interface (SQLite or PostgreSQL).

``open_registry("sqlite:///path/registry.db")`` (or a :class:`~pathlib.Path`) opens the embedded
default; ``open_registry("postgresql://...")`` a shared PostgreSQL database for several nodes
(the ``registry`` extra; psycopg is imported only then). Both apply the schema migrations at
open and return an :class:`IssuanceRegistry` that records :class:`IssuedCard` values.

Centre sync: :func:`export_changes` at the centre, :func:`apply_changes` at the central (a
:class:`SyncReport`, conflicts kept as :class:`SyncConflict`), :func:`list_conflicts`,
:func:`sync_cursor`.
"""

from __future__ import annotations

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
    apply_changes,
    export_changes,
    list_conflicts,
    sync_cursor,
)
from ._sync import FORMAT as SYNC_FORMAT
from ._sync import FORMAT_VERSION as SYNC_FORMAT_VERSION

__all__ = [
    "CONFLICT_KINDS",
    "KINDS",
    "REASONS",
    "SYNC_FORMAT",
    "SYNC_FORMAT_VERSION",
    "IssuanceRegistry",
    "IssuedCard",
    "Migration",
    "RegistryEvent",
    "SyncBatch",
    "SyncChange",
    "SyncConflict",
    "SyncReport",
    "apply_changes",
    "export_changes",
    "list_conflicts",
    "open_registry",
    "sync_cursor",
]
