"""Offline centres: export what a centre recorded while disconnected, apply it to the central.

A centre issues into its own registry (usually SQLite) while offline. :func:`export_changes`
reads the events about the centre's **own** cards (``centre_code`` is the centre's) after a
cursor (the events' ``seq``) with a snapshot of every card they name, as a versioned,
JSON-serialisable :class:`SyncBatch` sealed by a SHA-256 content hash. :func:`sign_changes`
signs it with the centre's certified key: a COSE_Sign1 (tag 18) over the batch's canonical JSON,
content type :data:`CONTENT_TYPE`. The batch carries its own proof: the central accepts it only
through :func:`apply_changes`, which first checks it (:func:`open_changes`) against the
root-signed trust list, before anything is read into the registry:

* the signature verifies with the key of a centre certificate in the trust list (so issued by
  the root), fresh, inside its validity window and not revoked
  (:class:`SyncBatchSignatureError`, :class:`SyncSignerUntrustedError`);
* that certificate certifies the batch's centre, and every card in the batch is that centre's:
  its ``centre_code`` is the batch's centre and its kid one of that centre's certificates in the
  trust list (:class:`SyncForeignCardError`; the whole batch is refused, nothing applied).

A verified batch is applied to the central registry in **one transaction**:

* an incoming card already held with identical issuance content is *skipped* (re-sending a
  batch is harmless); a revocation already held with the same time and reason likewise;
* a new card is recorded, a revocation (or the supersession of a known card) applied, with the
  centre's own times (``issued_at``, the revocation's ``at``);
* anything that cannot be applied without breaking a registry rule is a *conflict*: it is not
  dropped but stored, with the central record it collided with, in the ``sync_conflicts`` table,
  and reported (:class:`SyncConflict`, kinds in :data:`CONFLICT_KINDS`);
* the central remembers, per centre, the last cursor it applied (``sync_cursors``); a batch that
  starts after it is refused (:class:`SyncGapError`), so no event is skipped between batches.

Holders' access codes travel too (batch version 3), as hashes only: the
:class:`~._access_codes.AccessCodeRecord` of every code the centre set (``centre_code`` is the
centre's) at or after the batch's ``since`` in the event order (its ``after_seq``; up to
``until`` when ``limit`` cut the batch short). Batches overlap at their boundary, so a code may
be sent twice, and a code set when the centre has no new event is sent again until it has one:
re-sending is harmless, because the central keeps, per holder, the record with the later
``set_at`` (an equal or older one is skipped). A record set by another centre makes the whole
batch :class:`SyncForeignCardError`. Version 2 batches (without codes) are still read.

Both tables are created by the registry's schema migration 3 (both backends). A card that
supersedes a card of *another* centre is sent without that card (a centre's batch holds only its
own cards), and the central stores it as a ``supersedes_other_centre`` conflict instead of
revoking another centre's card on this centre's word. This module works through the
transaction seam of
:class:`~._registry.SqlRegistry` (``transaction``, ``select_card``, ``insert_card``, ...), so it
works with the SQLite and PostgreSQL registries and refuses any other
:class:`~._registry.IssuanceRegistry`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from datetime import UTC, datetime
from typing import Final, Literal, cast, get_args

from .._errors import (
    CardError,
    DocumentNumberReusedError,
    HolderHasActiveCardError,
    RegistryBusyError,
    RegistryError,
    RegistryInputError,
    SyncBatchInvalidError,
    SyncBatchSignatureError,
    SyncBatchTamperedError,
    SyncError,
    SyncForeignCardError,
    SyncGapError,
    SyncSignerUntrustedError,
    SyncUnsupportedError,
)
from .._limits import DEFAULT_LIMITS
from .._pipeline import check_signer
from ..codec import _cose
from ..keys import BY_NAME, Signer
from ..trust import CentreCertificate, TrustList
from ._access_codes import AccessCodeRecord, ScryptCost
from ._registry import (
    EVENTS,
    KINDS,
    REASONS,
    STATUSES,
    EventType,
    IssuanceRegistry,
    IssuedCard,
    Reason,
    RegistryEvent,
    SqlRegistry,
    Tx,
    _as_int,
    _pick,
)

__all__ = [
    "CONFLICT_KINDS",
    "CONTENT_TYPE",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_SIGNED_BATCH_BYTES",
    "SyncBatch",
    "SyncBatchInvalidError",
    "SyncBatchSignatureError",
    "SyncBatchTamperedError",
    "SyncChange",
    "SyncConflict",
    "SyncError",
    "SyncForeignCardError",
    "SyncGapError",
    "SyncReport",
    "SyncSignerUntrustedError",
    "SyncUnsupportedError",
    "VerifiedSyncBatch",
    "apply_changes",
    "export_changes",
    "list_conflicts",
    "open_changes",
    "sign_changes",
    "sync_cursor",
]

FORMAT = "cardlib-sync"
#: 3: with the access codes the centre set (hashes). 2: signed by the centre (COSE_Sign1), only
#: the centre's own cards, still read. Version 1 was unsigned and is refused.
FORMAT_VERSION = 3
READ_VERSIONS: Final = (2, 3)
#: The COSE content type (protected header label 3) of a signed batch.
CONTENT_TYPE: Final = "application/vnd.cardlib.sync-batch+json"
#: The largest signed batch :func:`open_changes` reads (export in chunks with ``limit``).
MAX_SIGNED_BATCH_BYTES: Final = 256 * 1024 * 1024
_HEADER_CONTENT_TYPE = 3

ConflictKind = Literal[
    "document_number_reused",  # the central holds another card under this document number
    "holder_has_active_card",  # the holder already has another active card at the central
    "unknown_card",  # a revocation of / successor to a card the central does not hold as sent
    "card_superseded",  # a successor to a card the central saw superseded by another card
    "revoked_differently",  # the central revoked the card already, at another time or reason
    "supersedes_other_centre",  # a successor to another centre's card (not in this batch)
]
CONFLICT_KINDS: tuple[ConflictKind, ...] = get_args(ConflictKind)

_SUPERSEDE_REASON: dict[str, Reason] = {
    "replacement": "replaced",
    "renewal": "replaced",
    "correction": "data_correction",
}


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncChange:
    """One incoming event, as the central treated it (applied or skipped)."""

    seq: int
    event: EventType
    document_number: str


@dataclass(frozen=True, slots=True)
class SyncConflict:
    """An incoming event the central could not apply; stored in ``sync_conflicts``.

    ``incoming`` is the centre's card as exported; ``central`` the central card it collided with
    (``None`` for ``unknown_card`` when the central holds no card under that number).
    ``already_recorded`` is true when an earlier sync stored this same conflict.
    """

    kind: ConflictKind
    centre: str  # the centre that sent the batch
    seq: int  # the event's seq at that centre
    event: EventType
    document_number: str
    holder_identifier: str
    incoming_centre: str
    incoming: IssuedCard
    central_document_number: str | None
    central_centre: str | None
    central: IssuedCard | None
    detected_at: datetime
    already_recorded: bool = False


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What :func:`apply_changes` did with a batch; every incoming event is in exactly one of
    ``applied``, ``skipped`` and ``conflicts``. ``cursor`` is the ``since`` of the next batch."""

    centre: str
    applied: tuple[SyncChange, ...]
    skipped: tuple[SyncChange, ...]
    conflicts: tuple[SyncConflict, ...]
    cursor: int
    batch_sha256: str
    signer_kid: bytes  # the kid of the centre certificate that signed the batch
    #: The holders whose access code the batch set at the central, and those whose code there
    #: was set as late or later (the batch's record skipped).
    access_codes_applied: tuple[str, ...] = ()
    access_codes_skipped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """A centre's events in ``(since, until]``, the cards they name and the access codes the
    centre set (version 3), sealed by a hash.

    Build one with :func:`export_changes` or :meth:`from_json`; construction checks the
    structure and the content hash (:class:`SyncBatchTamperedError`). The hash detects damage;
    it is not a signature (anyone can recompute it): the central takes a batch only signed by
    the centre (:func:`sign_changes`, checked by :func:`open_changes`). ``version`` is the
    format version the batch was written in (one of :data:`READ_VERSIONS`; version 2 has no
    access codes).
    """

    centre: str
    since: int
    until: int
    cards: tuple[IssuedCard, ...]
    events: tuple[RegistryEvent, ...]
    content_sha256: str = field(default="")
    access_codes: tuple[AccessCodeRecord, ...] = ()
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_structure(self)
        expected = _digest(self._body())
        if not self.content_sha256:
            object.__setattr__(self, "content_sha256", expected)
        elif self.content_sha256 != expected:
            raise SyncBatchTamperedError(
                f"the batch from centre {self.centre!r} does not match its content hash "
                f"({self.content_sha256[:16]}... expected {expected[:16]}...); it was altered "
                "or damaged in transit: export it again at the centre, do not edit it"
            )

    def _body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "format": FORMAT,
            "version": self.version,
            "centre": self.centre,
            "since": self.since,
            "until": self.until,
            "cards": [_card_json(card) for card in self.cards],
            "events": [_event_json(event) for event in self.events],
        }
        if self.version >= 3:
            body["access_codes"] = [_code_json(code) for code in self.access_codes]
        return body

    def to_json(self) -> dict[str, object]:
        """The batch as JSON-serialisable values (``json.dumps`` it to send it)."""
        return {**self._body(), "content_sha256": self.content_sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> SyncBatch:
        """Read a batch from :meth:`to_json`'s values, checking its version and content hash."""
        try:
            if not isinstance(data, Mapping):
                raise TypeError("a batch is a JSON object")
            version = data.get("version")
            if data.get("format") != FORMAT or version not in READ_VERSIONS:
                raise SyncBatchInvalidError(
                    f"not a {FORMAT} batch of version 2 or 3 (format "
                    f"{data.get('format')!r}, version {data.get('version')!r}); export it with "
                    "a cardlib that writes one of these versions"
                )
            digest = data["content_sha256"]
            if not isinstance(digest, str) or not digest:
                raise TypeError("content_sha256 is a hex string")
            codes = _list(data["access_codes"]) if version == 3 else []
            return cls(
                centre=_str(data["centre"]),
                since=_int(data["since"]),
                until=_int(data["until"]),
                cards=tuple(_card_from_json(item) for item in _list(data["cards"])),
                events=tuple(_event_from_json(item) for item in _list(data["events"])),
                content_sha256=digest,
                access_codes=tuple(_code_from_json(item) for item in codes),
                version=_int(version),
            )
        except SyncError:
            raise
        except (KeyError, TypeError, ValueError) as err:  # RegistryInputError is a ValueError
            raise SyncBatchInvalidError(
                f"the sync batch is malformed ({err}); export it again at the centre"
            ) from err


# --- export (at the centre) --------------------------------------------------------------------

# One statement, so the events and the card snapshots are consistent on every backend; the
# column order is the event's, then SqlRegistry.card_from_row's for the card and for the card it
# replaces.
_EXPORT_SQL = """SELECT e.seq, e.event, e.document_number, e.holder_identifier, e.at, e.reason,
    e.replaces,
    c.document_number, c.holder_identifier, c.centre_code, c.kid, c.issued_at, c.expires_at,
    c.payload_sha256, c.kind, c.status, c.revoked_at, c.revocation_reason, c.replaces,
    o.document_number, o.holder_identifier, o.centre_code, o.kid, o.issued_at, o.expires_at,
    o.payload_sha256, o.kind, o.status, o.revoked_at, o.revocation_reason, o.replaces
    FROM events e JOIN cards c ON c.document_number = e.document_number
    LEFT JOIN cards o ON o.document_number = c.replaces
    WHERE e.seq > ? AND c.centre_code = ? ORDER BY e.seq"""
# The access codes the centre set at or after ``since`` in the event order; the column order is
# SqlRegistry.access_code_from_row's.
_EXPORT_CODES_SQL = """SELECT holder_identifier, centre_code, set_at, algorithm, salt, cost_n,
    cost_r, cost_p, digest FROM access_codes WHERE centre_code = ? AND after_seq >= ?"""


def export_changes(
    centre_registry: IssuanceRegistry, *, centre: str, since: int, limit: int | None = None
) -> SyncBatch:
    """The events about the centre's own cards (``centre_code == centre``) recorded after
    ``since`` (at most ``limit`` of them, oldest first) and a snapshot of every card they name
    (and of the card each new card supersedes, when that card is the centre's too).

    ``centre`` names the sending centre at the central (its cursor is kept under that name); a
    registry that also holds other centres' cards sends none of them. The batch also holds the
    hash records of the access codes the centre set at or after ``since`` in the event order
    (up to ``until`` when ``limit`` cut the events short; see the module docstring). Sign the
    batch (:func:`sign_changes`), send it, then export again from the report's ``cursor`` (or
    :func:`sync_cursor`).
    """
    registry = _sql(centre_registry)
    if not isinstance(centre, str) or not centre.strip():
        raise RegistryInputError(f"centre must be a non-empty string, got {centre!r}")
    _cursor_arg("since", since)
    if limit is not None:
        _cursor_arg("limit", limit)
        if limit == 0:
            raise RegistryInputError("limit must be at least 1 (or None for every event)")
    sql = _EXPORT_SQL + ("" if limit is None else " LIMIT ?")
    params: tuple[object, ...] = (since, centre) if limit is None else (since, centre, limit)
    with registry.transaction(write=False) as tx:
        rows = tx(sql, params)
    cut = limit is not None and len(rows) == limit  # more events may follow: codes up to until
    codes_sql = _EXPORT_CODES_SQL + (" AND after_seq <= ?" if cut else "")
    codes_params: tuple[object, ...] = (centre, since, _as_int(rows[-1][0])) if cut else (
        centre, since)
    with registry.transaction(write=False) as tx:
        code_rows = tx(codes_sql + " ORDER BY holder_identifier", codes_params)
    events: list[RegistryEvent] = []
    cards: dict[str, IssuedCard] = {}
    for row in rows:
        events.append(_event_row(registry, row[:7]))
        card = registry.card_from_row(row[7:19])
        cards[card.document_number] = card
        if row[19] is not None:
            old = registry.card_from_row(row[19:31])
            if old.centre_code == centre:  # another centre's card is never in this batch
                cards.setdefault(old.document_number, old)
    until = events[-1].seq if events else since
    return SyncBatch(
        centre=centre,
        since=since,
        until=until,
        cards=tuple(sorted(cards.values(), key=lambda c: c.document_number)),
        events=tuple(events),
        access_codes=tuple(registry.access_code_from_row(row) for row in code_rows),
    )


# --- apply (at the central) --------------------------------------------------------------------


def sign_changes(batch: SyncBatch, signer: Signer) -> bytes:
    """The batch signed by its centre: a COSE_Sign1 (tag 18) whose payload is the batch's
    canonical JSON (:meth:`SyncBatch.to_json`, keys sorted, no spaces, UTF-8) and whose
    protected header is ``{1: alg, 3: CONTENT_TYPE, 4: kid}``.

    Sign with the centre's certified key (:class:`cardlib.trust.CertifiedSigner`, kid = the
    certificate's): the central finds that certificate in its trust list by the kid, and refuses
    the batch unless it certifies ``batch.centre`` (:func:`open_changes`).
    """
    if not isinstance(batch, SyncBatch):
        raise RegistryInputError(f"sign_changes takes a SyncBatch, got {type(batch).__name__}")
    algorithm = BY_NAME.get(signer.algorithm)
    kid = signer.kid
    if algorithm is None or not isinstance(kid, bytes) or not kid:
        raise RegistryInputError(
            "the signer must be a centre key (EdDSA or ES256) named by its certificate kid "
            "(cardlib.trust.CertifiedSigner)"
        )
    payload = _dumps(batch.to_json()).encode("utf-8")
    protected = _cose.encode_header(
        {_cose.HEADER_ALG: algorithm.cose_id, _HEADER_CONTENT_TYPE: CONTENT_TYPE,
         _cose.HEADER_KID: kid}
    )
    signature = signer.sign(_cose.sig_structure(protected, payload))
    return _cose.encode(protected, {}, payload, signature)


@dataclass(frozen=True, slots=True)
class VerifiedSyncBatch:
    """What :func:`open_changes` returns: the batch, and the centre certificate that signed it
    (checked against the trust list)."""

    batch: SyncBatch
    signer: CentreCertificate


def open_changes(data: bytes, *, trust_list: TrustList, now: datetime) -> VerifiedSyncBatch:
    """Check a signed batch (:func:`sign_changes`) before anything in it is used.

    ``trust_list`` is the root-signed trust list, loaded and checked against the pinned root
    (:func:`cardlib.trust.load_trust_list`). In order: the batch names a certificate of the list
    by its kid (:class:`SyncSignerUntrustedError` otherwise); the list is fresh at ``now`` and
    the certificate inside its validity window and not revoked (idem); the signature verifies
    with the certificate's key (:class:`SyncBatchSignatureError`); the payload is a well-formed
    batch (:class:`SyncBatchInvalidError`, :class:`SyncBatchTamperedError`) of the centre the
    certificate certifies (:class:`SyncSignerUntrustedError`) whose every card is that
    centre's: its ``centre_code``, and a kid of one of the centre's certificates in the list
    (:class:`SyncForeignCardError`).
    """
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise RegistryInputError(f"now must be a timezone-aware datetime (UTC), got {now!r}")
    if not isinstance(data, bytes):
        raise RegistryInputError(
            f"a signed sync batch is bytes (sign_changes), got {type(data).__name__}"
        )
    if len(data) > MAX_SIGNED_BATCH_BYTES:
        raise SyncBatchInvalidError(
            f"the signed batch has {len(data)} bytes, over {MAX_SIGNED_BATCH_BYTES}; export in "
            "smaller batches (export_changes(..., limit=N))"
        )
    try:
        message = _cose.decode(data, DEFAULT_LIMITS)
    except CardError as err:
        raise SyncBatchSignatureError(
            f"this is not a signed sync batch, or it is damaged ({err.message}); sign batches "
            "with the centre's key (cardlib sync --key ... --certificate ...)"
        ) from None
    header = message.protected_header
    if message.envelope != "tag18" or header.get(_HEADER_CONTENT_TYPE) != CONTENT_TYPE:
        raise SyncBatchSignatureError(
            f"this COSE message is not a signed sync batch (a COSE_Sign1, tag 18, of content "
            f"type {CONTENT_TYPE!r})"
        )
    kid = header.get(_cose.HEADER_KID)
    signer = next((c for c in trust_list.centres if c.kid == kid), None)
    if signer is None:
        shown = kid.hex() if isinstance(kid, bytes) else repr(kid)[:40]
        raise SyncSignerUntrustedError(
            f"the batch is signed by key {shown}, which is not a centre certificate in the "
            f"trust list (sequence {trust_list.sequence}); sign with the centre's certified key "
            "(--key with its --certificate) listed in the current trust list"
        )
    _check_signer(signer, trust_list, now)
    if header.get(_cose.HEADER_ALG) != BY_NAME[signer.public_key.algorithm].cose_id:
        raise SyncBatchSignatureError(
            f"the batch's algorithm is not the {signer.public_key.algorithm} of centre "
            f"{signer.centre_code}'s certificate {signer.kid.hex()}"
        )
    try:
        signer.public_key.verify(
            message.signature, _cose.sig_structure(message.protected, message.payload)
        )
    except CardError as err:
        raise SyncBatchSignatureError(
            f"the batch's signature does not verify with the key of centre "
            f"{signer.centre_code}'s certificate {signer.kid.hex()}: it was altered after it "
            "was signed, or signed by another key; nothing was applied"
        ) from err
    # --- signed by a listed, valid centre key from here on ---
    try:
        document = json.loads(message.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise SyncBatchInvalidError(f"the signed batch is not JSON ({err})") from None
    batch = SyncBatch.from_json(document)
    if batch.centre != signer.centre_code:
        raise SyncSignerUntrustedError(
            f"the batch of centre {batch.centre!r} is signed by the certificate of centre "
            f"{signer.centre_code!r} ({signer.kid.hex()}); a centre signs only its own batches"
        )
    _check_cards(batch, trust_list)
    return VerifiedSyncBatch(batch, signer)


def _check_signer(signer: CentreCertificate, trust_list: TrustList, now: datetime) -> None:
    """The certificate may sign a batch at ``now``: a fresh list, inside its window, not
    revoked."""
    if now > trust_list.next_update:
        raise SyncSignerUntrustedError(
            f"the trust list (sequence {trust_list.sequence}) was due for an update on "
            f"{trust_list.next_update.isoformat()}; load the current trust list"
        )
    try:
        signer.check_valid_at(now)
    except CardError as err:
        raise SyncSignerUntrustedError(
            f"the batch's signing certificate cannot sign now ({err.message})"
        ) from err
    revocation = trust_list.revoked.get(signer.kid)
    if revocation is not None and revocation.at <= now:
        raise SyncSignerUntrustedError(
            f"the key of centre {signer.centre_code}'s certificate {signer.kid.hex()} was "
            f"revoked on {revocation.at.isoformat()} ({revocation.reason}); sign with the "
            "centre's current key"
        )


def _check_cards(batch: SyncBatch, trust_list: TrustList) -> None:
    """Every card of the batch is its centre's: the centre code, and a key of that centre."""
    kids = {c.kid for c in trust_list.centres if c.centre_code == batch.centre}
    keys = {key.kid: key for key in trust_list.trust_store().keys}
    for card in batch.cards:
        if card.centre_code != batch.centre:
            raise SyncForeignCardError(
                f"card {card.document_number} was issued by centre {card.centre_code!r}, not by "
                f"{batch.centre!r} that sent the batch; a centre sends only its own cards, so "
                "the whole batch was refused (export it again with this cardlib)"
            )
        if card.kid not in kids:
            raise SyncForeignCardError(
                f"card {card.document_number} names signing key {card.kid.hex()}, which is not "
                f"a certificate of centre {batch.centre!r} in the trust list; the whole batch "
                "was refused"
            )
        # The card's own key, judged as a verifier judges it: a card a verifier would refuse
        # is not recorded as the holder's active card.
        try:
            check_signer(keys[card.kid], int(card.issued_at.timestamp()))
        except CardError as err:
            raise SyncSignerUntrustedError(
                f"card {card.document_number} cannot be trusted: {err.message}; the whole batch "
                "was refused") from None
    for code in batch.access_codes:
        if code.centre_code != batch.centre:
            raise SyncForeignCardError(
                f"the access code of holder {code.holder_identifier!r} was set by centre "
                f"{code.centre_code!r}, not by {batch.centre!r} that sent the batch; a centre "
                "sends only the codes it set, so the whole batch was refused")


def apply_changes(
    central_registry: IssuanceRegistry,
    signed: bytes,
    *,
    trust_list: TrustList,
    now: datetime,
) -> SyncReport:
    """Check a centre's signed batch (:func:`open_changes`), then apply it to the central
    registry, in one transaction.

    A batch that fails a check is refused whole with its typed error, before the registry is
    touched. Idempotent: what the central already holds identically is skipped. Conflicts are
    stored in ``sync_conflicts`` and reported, never dropped. Raises :class:`SyncGapError` when
    events between the central's cursor for this centre and ``batch.since`` are missing, and
    :class:`~._registry.RegistryBusyError` when another writer recorded a colliding card while
    the batch was applied (nothing of the batch was applied then; send it again).
    """
    registry = _sql(central_registry)
    verified = open_changes(signed, trust_list=trust_list, now=now)
    batch = verified.batch
    try:
        with registry.transaction(write=True) as tx:
            registry.lock_schema(tx)  # one sync at a time (PostgreSQL; SQLite: the write lock)
            stored = _stored_cursor(tx, batch.centre)
            if batch.since > stored:
                raise SyncGapError(
                    f"the central has applied centre {batch.centre!r}'s events up to {stored}, "
                    f"but this batch starts after {batch.since}; events {stored + 1} to "
                    f"{batch.since} would be lost: export again with since={stored}"
                )
            report = _Applier(registry, tx, batch, now, verified.signer.kid).run()
            _store_cursor(registry, tx, batch, max(stored, batch.until), now)
            return _replace(report, cursor=max(stored, batch.until))
    except RegistryError as err:
        # Our own checks passed a moment earlier in this transaction: the registry's re-check
        # or a constraint failing now means another writer recorded a card in between.
        cause = err.__cause__
        raced = isinstance(cause, Exception) and registry.broken_rule(cause) is not None
        if raced or isinstance(err, DocumentNumberReusedError | HolderHasActiveCardError):
            raise RegistryBusyError(
                f"another writer recorded a card for the same document number or holder while "
                f"the batch from centre {batch.centre!r} was applied; nothing of the batch was "
                "applied: send it again"
            ) from err
        raise


class _Applier:
    """Applies one batch's events inside the transaction ``tx``."""

    def __init__(
        self, registry: SqlRegistry, tx: Tx, batch: SyncBatch, now: datetime, signer_kid: bytes
    ) -> None:
        self.registry = registry
        self.tx = tx
        self.batch = batch
        self.now = now
        self.signer_kid = signer_kid
        self.cards = {card.document_number: card for card in batch.cards}
        self.applied: list[SyncChange] = []
        self.skipped: list[SyncChange] = []
        self.conflicts: list[SyncConflict] = []
        self.codes: dict[bool, list[str]] = {True: [], False: []}  # applied?: holders

    def run(self) -> SyncReport:
        for event in self.batch.events:
            if event.event == "revocation":
                self._revocation(event)
            else:
                self._issuance(event)
        for code in self.batch.access_codes:  # after the cards: the holder is known by then
            self._access_code(code)
        return SyncReport(
            centre=self.batch.centre,
            applied=tuple(self.applied),
            skipped=tuple(self.skipped),
            conflicts=tuple(self.conflicts),
            cursor=self.batch.until,
            batch_sha256=self.batch.content_sha256,
            signer_kid=self.signer_kid,
            access_codes_applied=tuple(self.codes[True]),
            access_codes_skipped=tuple(self.codes[False]),
        )

    def _access_code(self, incoming: AccessCodeRecord) -> None:
        """The later ``set_at`` wins; an equal or older record (a batch sent again, a code
        reset since at the central or at another centre) is skipped."""
        held = self.registry.select_access_code(self.tx, incoming.holder_identifier, lock=True)
        newer = held is None or held.set_at < incoming.set_at
        if newer:
            self.registry.put_access_code(self.tx, incoming, newer_only=True)
        self.codes[newer].append(incoming.holder_identifier)

    def _change(self, event: RegistryEvent) -> SyncChange:
        return SyncChange(event.seq, event.event, event.document_number)

    def _select(self, number: str) -> IssuedCard | None:
        return self.registry.select_card(self.tx, number, lock=True)

    def _active(self, holder: str) -> IssuedCard | None:
        rows = self.tx(
            "SELECT document_number FROM cards WHERE holder_identifier = ? AND status = 'active'",
            (holder,),
        )
        return self._select(str(rows[0][0])) if rows else None

    def _issuance(self, event: RegistryEvent) -> None:
        incoming = self.cards[event.document_number]
        held = self._select(incoming.document_number)
        if held is not None:
            if _same_card(held, incoming):
                self.skipped.append(self._change(event))
            else:
                self._conflict("document_number_reused", event, incoming, held)
            return
        new = _replace(incoming, status="active", revoked_at=None, revocation_reason=None)
        old: IssuedCard | None = None
        if incoming.replaces is not None and incoming.replaces not in self.cards:
            # It supersedes another centre's card: not revoked on this centre's word.
            self._conflict(
                "supersedes_other_centre", event, incoming, self._select(incoming.replaces)
            )
            return
        if incoming.replaces is not None:
            old = self._select(incoming.replaces)
            sent = self.cards[incoming.replaces]
            if old is None or not _same_card(old, sent):
                self._conflict("unknown_card", event, incoming, old)
                return
            successor = self.tx(
                "SELECT document_number FROM cards WHERE replaces = ?", (old.document_number,)
            )
            if successor:
                self._conflict(
                    "card_superseded", event, incoming, self._select(str(successor[0][0]))
                )
                return
        active = self._active(incoming.holder_identifier)
        if active is not None and (old is None or active.document_number != old.document_number):
            self._conflict("holder_has_active_card", event, incoming, active)
            return
        if old is not None and old.status == "active":  # its revocation was not in the batches
            self.registry.revoke_card(
                self.tx, old, _SUPERSEDE_REASON[incoming.kind], incoming.issued_at
            )
        self.registry.insert_card(self.tx, new)
        self.applied.append(self._change(event))

    def _revocation(self, event: RegistryEvent) -> None:
        incoming = self.cards[event.document_number]
        held = self._select(event.document_number)
        if held is None:
            self._conflict("unknown_card", event, incoming, None)
        elif not _same_card(held, incoming):
            self._conflict("document_number_reused", event, incoming, held)
        elif held.status == "active":
            assert event.reason is not None  # checked when the batch was built
            self.registry.revoke_card(self.tx, held, event.reason, event.at)
            self.applied.append(self._change(event))
        elif held.revoked_at == event.at and held.revocation_reason == event.reason:
            self.skipped.append(self._change(event))
        else:
            self._conflict("revoked_differently", event, incoming, held)

    def _conflict(
        self,
        kind: ConflictKind,
        event: RegistryEvent,
        incoming: IssuedCard,
        central: IssuedCard | None,
    ) -> None:
        record = {
            "centre": self.batch.centre,
            "event": _event_json(event),
            "incoming": _card_json(incoming),
        }
        fingerprint = _digest(record)
        rows = self.tx(
            "SELECT detected_at FROM sync_conflicts WHERE fingerprint = ?", (fingerprint,)
        )
        if rows:
            detected_at, already = self.registry.from_db_time(rows[0][0]), True
        else:
            detected_at, already = self.now, False
            self.tx(
                "INSERT INTO sync_conflicts (fingerprint, kind, centre, seq, event, "
                "document_number, holder_identifier, incoming_centre, central_document_number, "
                "central_centre, incoming_event, incoming_card, central_card, batch_sha256, "
                "detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fingerprint,
                    kind,
                    self.batch.centre,
                    event.seq,
                    event.event,
                    event.document_number,
                    incoming.holder_identifier,
                    incoming.centre_code,
                    None if central is None else central.document_number,
                    None if central is None else central.centre_code,
                    _dumps(_event_json(event)),
                    _dumps(_card_json(incoming)),
                    None if central is None else _dumps(_card_json(central)),
                    self.batch.content_sha256,
                    self.registry.to_db_time(self.now),
                ),
            )
        self.conflicts.append(
            SyncConflict(
                kind=kind,
                centre=self.batch.centre,
                seq=event.seq,
                event=event.event,
                document_number=event.document_number,
                holder_identifier=incoming.holder_identifier,
                incoming_centre=incoming.centre_code,
                incoming=incoming,
                central_document_number=None if central is None else central.document_number,
                central_centre=None if central is None else central.centre_code,
                central=central,
                detected_at=detected_at,
                already_recorded=already,
            )
        )


def list_conflicts(
    central_registry: IssuanceRegistry, *, holder_identifier: str | None = None
) -> tuple[SyncConflict, ...]:
    """Every conflict stored by :func:`apply_changes` (or only the holder's), oldest first."""
    registry = _sql(central_registry)
    sql = (
        "SELECT kind, centre, seq, event, document_number, holder_identifier, incoming_centre, "
        "central_document_number, central_centre, incoming_card, central_card, detected_at "
        "FROM sync_conflicts"
    )
    params: tuple[object, ...] = ()
    if holder_identifier is not None:
        sql += " WHERE holder_identifier = ?"
        params = (holder_identifier,)
    with registry.transaction(write=False) as tx:
        rows = tx(sql + " ORDER BY id", params)
    return tuple(_stored_conflict(registry, row) for row in rows)


def _stored_conflict(registry: SqlRegistry, row: tuple[object, ...]) -> SyncConflict:
    (kind, centre, seq, event, number, holder, incoming_centre, central_number, central_centre,
     incoming, central, detected_at) = row  # fmt: skip
    return SyncConflict(
        kind=_pick(CONFLICT_KINDS, kind),
        centre=str(centre),
        seq=_as_int(seq),
        event=_pick(EVENTS, event),
        document_number=str(number),
        holder_identifier=str(holder),
        incoming_centre=str(incoming_centre),
        incoming=_card_from_json(json.loads(str(incoming))),
        central_document_number=None if central_number is None else str(central_number),
        central_centre=None if central_centre is None else str(central_centre),
        central=None if central is None else _card_from_json(json.loads(str(central))),
        detected_at=registry.from_db_time(detected_at),
        already_recorded=True,
    )


def sync_cursor(central_registry: IssuanceRegistry, centre: str) -> int:
    """The cursor up to which the central applied ``centre``'s events (0: never synced); a
    centre that lost its own cursor exports from here."""
    registry = _sql(central_registry)
    with registry.transaction(write=False) as tx:
        return _stored_cursor(tx, centre)


# --- the sync tables (created by the registry's migration 3) ------------------------------------


def _stored_cursor(tx: Tx, centre: str) -> int:
    rows = tx("SELECT last_seq FROM sync_cursors WHERE centre = ?", (centre,))
    return _as_int(rows[0][0]) if rows else 0


def _store_cursor(
    registry: SqlRegistry, tx: Tx, batch: SyncBatch, cursor: int, now: datetime
) -> None:
    values = (cursor, batch.content_sha256, registry.to_db_time(now), batch.centre)
    if tx("SELECT 1 FROM sync_cursors WHERE centre = ?", (batch.centre,)):
        tx(
            "UPDATE sync_cursors SET last_seq = ?, batch_sha256 = ?, applied_at = ? "
            "WHERE centre = ?",
            values,
        )
    else:
        tx(
            "INSERT INTO sync_cursors (last_seq, batch_sha256, applied_at, centre) "
            "VALUES (?, ?, ?, ?)",
            values,
        )


# --- helpers -----------------------------------------------------------------------------------


def _sql(registry: IssuanceRegistry) -> SqlRegistry:
    if not isinstance(registry, SqlRegistry):
        raise SyncUnsupportedError(
            f"sync works with cardlib's SQLite and PostgreSQL registries (open_registry), not "
            f"{type(registry).__name__}"
        )
    return registry


def _cursor_arg(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RegistryInputError(f"{name} must be a non-negative integer, got {value!r}")


def _same_card(a: IssuedCard, b: IssuedCard) -> bool:
    """The same issued card: every field fixed at issue (status and revocation may differ)."""
    return (
        a.document_number,
        a.holder_identifier,
        a.centre_code,
        a.kid,
        a.issued_at,
        a.expires_at,
        a.payload_sha256,
        a.kind,
        a.replaces,
    ) == (
        b.document_number,
        b.holder_identifier,
        b.centre_code,
        b.kid,
        b.issued_at,
        b.expires_at,
        b.payload_sha256,
        b.kind,
        b.replaces,
    )


def _check_structure(batch: SyncBatch) -> None:
    def bad(why: str) -> SyncBatchInvalidError:
        return SyncBatchInvalidError(f"the sync batch is inconsistent: {why}")

    if not isinstance(batch.centre, str) or not batch.centre.strip():
        raise bad("centre must be a non-empty string")
    for name, value in (("since", batch.since), ("until", batch.until)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(f"{name} must be a non-negative integer, got {value!r}")
    if batch.until < batch.since:
        raise bad(f"until ({batch.until}) is before since ({batch.since})")
    if batch.version not in READ_VERSIONS:
        raise bad(f"version must be one of {READ_VERSIONS}, got {batch.version!r}")
    if not isinstance(batch.cards, tuple) or not isinstance(batch.events, tuple):
        raise bad("cards and events are tuples")
    if not isinstance(batch.access_codes, tuple) or not all(
        isinstance(code, AccessCodeRecord) for code in batch.access_codes
    ):
        raise bad("access_codes is a tuple of AccessCodeRecord values")
    if batch.access_codes and batch.version < 3:
        raise bad("a version 2 batch carries no access codes")
    holders = [code.holder_identifier for code in batch.access_codes]
    if len(set(holders)) != len(holders):
        raise bad("a holder appears twice among the access codes")
    if not all(isinstance(c, IssuedCard) for c in batch.cards) or not all(
        isinstance(e, RegistryEvent) for e in batch.events
    ):
        raise bad("cards are IssuedCard values and events RegistryEvent values")
    cards = {card.document_number: card for card in batch.cards}
    if len(cards) != len(batch.cards):
        raise bad("a document number appears twice among the cards")
    previous = batch.since
    for event in batch.events:
        if not previous < event.seq <= batch.until:
            raise bad(
                f"event {event.seq} is out of order or outside ({batch.since}, {batch.until}]"
            )
        previous = event.seq
        card = cards.get(event.document_number)
        if card is None or card.holder_identifier != event.holder_identifier:
            raise bad(f"event {event.seq} names card {event.document_number!r}, not in the batch")
        if event.event == "revocation":
            if event.reason is None:
                raise bad(f"revocation {event.seq} has no reason")
        elif event.event != card.kind or event.replaces != card.replaces:
            raise bad(f"event {event.seq} does not match card {card.document_number!r}")
        # A superseded card missing from the batch is another centre's (never sent): the
        # central stores such a successor as a conflict.


def _digest(value: object) -> str:
    return hashlib.sha256(_dumps(value).encode("utf-8")).hexdigest()


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _time_json(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _card_json(card: IssuedCard) -> dict[str, object]:
    return {
        "document_number": card.document_number,
        "holder_identifier": card.holder_identifier,
        "centre_code": card.centre_code,
        "kid": card.kid.hex(),
        "issued_at": _time_json(card.issued_at),
        "expires_at": _time_json(card.expires_at),
        "payload_sha256": card.payload_sha256.hex(),
        "kind": card.kind,
        "status": card.status,
        "revoked_at": _time_json(card.revoked_at),
        "revocation_reason": card.revocation_reason,
        "replaces": card.replaces,
    }


def _event_json(event: RegistryEvent) -> dict[str, object]:
    return {
        "seq": event.seq,
        "event": event.event,
        "document_number": event.document_number,
        "holder_identifier": event.holder_identifier,
        "at": _time_json(event.at),
        "reason": event.reason,
        "replaces": event.replaces,
    }


def _code_json(code: AccessCodeRecord) -> dict[str, object]:
    return {
        "holder_identifier": code.holder_identifier,
        "centre_code": code.centre_code,
        "set_at": _time_json(code.set_at),
        "algorithm": code.algorithm,
        "salt": code.salt.hex(),
        "n": code.cost.n,
        "r": code.cost.r,
        "p": code.cost.p,
        "digest": code.digest.hex(),
    }


def _code_from_json(item: object) -> AccessCodeRecord:
    if not isinstance(item, dict):
        raise TypeError("an access code is a JSON object")
    return AccessCodeRecord(
        holder_identifier=_str(item["holder_identifier"]),
        centre_code=_str(item["centre_code"]),
        set_at=_time(item["set_at"]),
        algorithm=_str(item["algorithm"]),
        salt=bytes.fromhex(_str(item["salt"])),
        cost=ScryptCost(_int(item["n"]), _int(item["r"]), _int(item["p"])),
        digest=bytes.fromhex(_str(item["digest"])),
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _time(value: object) -> datetime:
    parsed = datetime.fromisoformat(_str(value))
    if parsed.utcoffset() is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def _choice(allowed: Sequence[str], value: object) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {tuple(allowed)}")
    return cast(str, value)


def _card_from_json(item: object) -> IssuedCard:
    if not isinstance(item, dict):
        raise TypeError("a card is a JSON object")
    revoked_at = item["revoked_at"]
    reason = item["revocation_reason"]
    return IssuedCard(
        document_number=_str(item["document_number"]),
        holder_identifier=_str(item["holder_identifier"]),
        centre_code=_str(item["centre_code"]),
        kid=bytes.fromhex(_str(item["kid"])),
        issued_at=_time(item["issued_at"]),
        expires_at=_time(item["expires_at"]),
        payload_sha256=bytes.fromhex(_str(item["payload_sha256"])),
        kind=_pick(KINDS, _choice(KINDS, item["kind"])),
        status=_pick(STATUSES, _choice(STATUSES, item["status"])),
        revoked_at=None if revoked_at is None else _time(revoked_at),
        revocation_reason=None if reason is None else _pick(REASONS, _choice(REASONS, reason)),
        replaces=_opt_str(item["replaces"]),
    )


def _event_from_json(item: object) -> RegistryEvent:
    if not isinstance(item, dict):
        raise TypeError("an event is a JSON object")
    reason = item["reason"]
    return RegistryEvent(
        seq=_int(item["seq"]),
        event=_pick(EVENTS, _choice(EVENTS, item["event"])),
        document_number=_str(item["document_number"]),
        holder_identifier=_str(item["holder_identifier"]),
        at=_time(item["at"]),
        reason=None if reason is None else _pick(REASONS, _choice(REASONS, reason)),
        replaces=_opt_str(item["replaces"]),
    )


def _event_row(registry: SqlRegistry, row: tuple[object, ...]) -> RegistryEvent:
    seq, event, number, holder, at, reason, replaces = row
    return RegistryEvent(
        seq=_as_int(seq),
        event=_pick(EVENTS, event),
        document_number=str(number),
        holder_identifier=str(holder),
        at=registry.from_db_time(at),
        reason=None if reason is None else _pick(REASONS, reason),
        replaces=None if replaces is None else str(replaces),
    )
