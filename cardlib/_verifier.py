"""One verifier for the library, the CLI and the service: a verdict a clerk can act on.

A :class:`Verifier` holds the trust data (bare keys, or a pinned root with its trust list,
revocation list or offline bundle) and a :class:`Policy`; :meth:`Verifier.check` and
:meth:`Verifier.check_image` turn a card into a :class:`~cardlib.VerificationResult` and never
raise for a bad card. Errors in the caller's own inputs (a damaged trust file, an older list
than one already held) raise, with their own codes.

The verdict (``specs/format.md`` §10):

1. the card fails :func:`cardlib.verify` (signature, times, signer window, record) → ``invalid``;
2. the revocation list names the card → ``revoked`` (even from a stale list: revocations are
   never undone);
3. the card's signer came from a trust list that is stale → ``unknown`` (``trust_list_stale``);
4. revocation is required (the default) and there is no list (``revocation_missing``), the card
   has no document number (``revocation_not_applicable``) or the list is stale
   (``revocation_stale``) → ``unknown``;
5. otherwise → ``valid``.

"Stale" means past the list's ``next_update`` plus the policy's ``grace`` period. Trust data is
replaced atomically (one snapshot object), so other threads keep verifying during a reload.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ._errors import (
    BarcodeNotFoundError,
    BundleError,
    CardError,
    DecodeError,
    RevocationDeltaBaseError,
    RevocationListError,
    RevocationListRollbackError,
    TrustInputError,
    TrustListError,
    TrustListRollbackError,
)
from ._limits import DEFAULT_LIMITS, Limits
from ._pipeline import DEFAULT_SKEW, VerifiedCard, as_decryption_keys, verify
from ._result import (
    ListInfo,
    RevocationInfo,
    ScanInfo,
    SignerInfo,
    Verdict,
    VerificationResult,
    invalid,
)
from ._state import OlderThanHeld, VerifierState
from .bundle import read_bundle
from .keys import PublicKey, SymmetricKey, TrustStore
from .profile import DEFAULT_RULES, Rules
from .revocation import (
    DEFAULT_REVOCATION_LIMITS,
    RevocationLimits,
    RevocationList,
    load_revocation_list,
)
from .trust import (
    TrustList,
    certificate_der,
    kid_for_certificate,
    load_trust_list,
    root_public_key,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


#: The longest skew or grace period a policy accepts.
MAX_PERIOD: Final = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Policy:
    """How a :class:`Verifier` judges cards.

    ``clock``: the time source when a call gives no ``now``. ``skew``: clock tolerance for the
    card's exp, nbf and iat. ``grace``: how long after a list's ``next_update`` it still counts
    as fresh (default none: stale data never gives ``valid``). ``require_revocation``: without
    a usable, fresh revocation list a card is ``unknown``; set it to False only where no
    revocation list is published at all (the result then carries no revocation status).
    """

    clock: Callable[[], datetime] = _utc_now
    skew: timedelta = DEFAULT_SKEW
    grace: timedelta = timedelta(0)
    require_revocation: bool = True
    rules: Rules = DEFAULT_RULES
    limits: Limits = DEFAULT_LIMITS
    revocation_limits: RevocationLimits = DEFAULT_REVOCATION_LIMITS

    def __post_init__(self) -> None:
        for name in ("skew", "grace"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or not timedelta(0) <= value <= MAX_PERIOD:
                raise TrustInputError(f"Policy.{name} must be a timedelta from 0 to 366 days")
        if not isinstance(self.require_revocation, bool):
            raise TrustInputError("Policy.require_revocation must be True or False")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything one check reads, replaced as a whole on reload."""

    keys: tuple[PublicKey, ...]
    trust_list: TrustList | None
    revocations: RevocationList | None
    store: TrustStore
    certified: frozenset[int] = field(default_factory=frozenset)  # id() of trust-list keys


def _bytes(data: Any, what: str, error: type[CardError]) -> bytes:
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise error(f"the {what} must be given as bytes")
    return data


class Verifier:
    """Verifies cards against trusted keys or a pinned root's trust data, under a policy.

    ``keys``: bare trusted public keys. ``root``: the pinned national root certificate (PEM
    or DER), needed for ``trust_list``, ``revocation_list`` and ``bundle`` (each the signed
    file's bytes). ``state``: a :class:`VerifierState` (or a directory) that remembers the
    highest list sequences accepted, so an older list is refused even after a restart and by
    every process sharing the directory. ``decryption_keys``: the AES-GCM keys that open
    encrypted cards (COSE_Encrypt0); without one, such a card is ``decryption_key_missing``.
    """

    def __init__(
        self,
        *,
        keys: Iterable[PublicKey] | TrustStore = (),
        root: bytes | None = None,
        trust_list: bytes | None = None,
        revocation_list: bytes | None = None,
        bundle: bytes | None = None,
        policy: Policy = DEFAULT_POLICY,
        state: VerifierState | str | os.PathLike[str] | None = None,
        now: datetime | None = None,
        decryption_keys: SymmetricKey | Iterable[SymmetricKey] = (),
    ) -> None:
        if not isinstance(policy, Policy):
            raise TrustInputError("policy must be a cardlib.Policy")
        self._policy = policy
        self._decryption_keys = as_decryption_keys(decryption_keys)
        self._lock = threading.Lock()
        bare = tuple(keys.keys if isinstance(keys, TrustStore) else keys)
        store = TrustStore(bare)  # refuses anything that is not a PublicKey
        self._root_der: bytes | None = None
        self._root_kid: str | None = None
        if root is not None:
            self._root_der = certificate_der(_bytes(root, "root certificate", TrustInputError))
            root_public_key(self._root_der)  # a CA certificate with a usable key, or raise
            self._root_kid = kid_for_certificate(self._root_der).hex()
        self._state = state if isinstance(state, VerifierState) or state is None \
            else VerifierState(state)
        self._snapshot = _Snapshot(bare, None, None, store)
        if bundle is not None or trust_list is not None or revocation_list is not None:
            with self.update(now=now) as update:
                if bundle is not None:
                    update.load_bundle(bundle)
                if trust_list is not None:
                    update.load_trust_list(trust_list)
                if revocation_list is not None:
                    update.load_revocation_list(revocation_list)

    # --- trust data ----------------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def trust_list(self) -> TrustList | None:
        return self._snapshot.trust_list

    @property
    def revocations(self) -> RevocationList | None:
        return self._snapshot.revocations

    def _now(self, now: datetime | None) -> datetime:
        moment = self._policy.clock() if now is None else now
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValueError("now is outside the years a UTC time can name") from None

    def _need_root(self, what: str) -> bytes:
        if self._root_der is None:
            raise TrustInputError(f"a {what} is checked against the pinned root: give root=")
        return self._root_der

    @contextlib.contextmanager
    def update(self, *, now: datetime | None = None) -> Iterator[TrustUpdate]:
        """Stage new trust data and swap it in at once when the block ends without an error::

            with verifier.update() as update:
                update.load_bundle(bundle)             # full lists ...
                update.load_revocation_list(delta)     # ... and a delta on top

        Nothing is used, and nothing is recorded in the state, if any part fails. The data as
        a whole must not be older than the data held (rollback), checked against this
        verifier and against its state directory (other processes, earlier runs).
        """
        with self._lock:
            staged = TrustUpdate(self, self._now(now))
            yield staged
            self._commit(staged)

    def load_trust_list(self, data: bytes, *, now: datetime | None = None) -> TrustList:
        """Check a trust list against the pinned root and use it from now on (an older one
        than held raises ``trust_list_rollback``; a damaged one ``trust_list_invalid``)."""
        with self.update(now=now) as update:
            return update.load_trust_list(data)

    def load_revocation_list(self, data: bytes, *, now: datetime | None = None
                             ) -> RevocationList:
        """Check a full revocation list (or a delta on the one held) against the pinned root
        and use it from now on."""
        with self.update(now=now) as update:
            return update.load_revocation_list(data)

    def load_bundle(self, data: bytes, *, now: datetime | None = None) -> None:
        """Check both parts of an offline bundle against the pinned root and use them from now
        on, together."""
        with self.update(now=now) as update:
            update.load_bundle(data)

    def _commit(self, staged: TrustUpdate) -> None:
        """Refuse a rollback, record the sequences, then replace the snapshot (one assignment:
        readers see the old data or the new, never a mix)."""
        old = self._snapshot
        offered: dict[str, int] = {}
        for kind, new, held, error in (
                ("trust_list", staged.trust_list, old.trust_list, TrustListRollbackError),
                ("revocation_list", staged.revocations, old.revocations,
                 RevocationListRollbackError)):
            if new is None:
                continue
            if held is not None and new.sequence < held.sequence:
                raise error(_rollback(kind, new.sequence, held.sequence))
            offered[kind] = new.sequence
        if offered and self._state is not None and self._root_kid is not None:
            try:
                self._state.advance(self._root_kid, offered)
            except OlderThanHeld as err:
                raise (TrustListRollbackError if err.kind == "trust_list"
                       else RevocationListRollbackError)(
                    _rollback(err.kind, err.offered, err.held)) from None
        trust_list = old.trust_list if staged.trust_list is None else staged.trust_list
        revocations = old.revocations if staged.revocations is None else staged.revocations
        listed = () if trust_list is None else trust_list.trust_store().keys
        by_spki = {key.spki_der: key for key in listed}
        # A bare key that the trust list also names is held to the list's terms (its
        # certificate window, its revocation), whatever kid a card names it by.
        bare = tuple(_under_terms(key, by_spki.get(key.spki_der)) for key in old.keys)
        self._snapshot = _Snapshot(old.keys, trust_list, revocations,
                                   TrustStore([*bare, *listed]),
                                   frozenset(id(key) for key in listed))

    # --- verdicts ------------------------------------------------------------------------------

    def _stale(self, next_update: datetime, moment: datetime) -> bool:
        try:
            return moment - self._policy.grace > next_update
        except OverflowError:  # moment lies within the grace period of year 1: not stale
            return False

    def _lists(self, snap: _Snapshot, moment: datetime) -> tuple[ListInfo, ...]:
        out = []
        for kind, loaded in (("trust_list", snap.trust_list),
                             ("revocation_list", snap.revocations)):
            if loaded is not None:
                out.append(ListInfo(kind, loaded.sequence, loaded.issued,  # type: ignore[arg-type]
                                    loaded.next_update, self._stale(loaded.next_update, moment),
                                    int((moment - loaded.issued).total_seconds())))
        return tuple(out)

    def lists(self, now: datetime | None = None) -> tuple[ListInfo, ...]:
        """The root-signed lists held now, and how fresh each is at ``now`` (for a service's
        readiness and freshness reports)."""
        return self._lists(self._snapshot, self._now(now))

    def check(self, payload: str, *, now: datetime | None = None) -> VerificationResult:
        """The verdict on one payload (the QR code's text). Never raises for a bad card."""
        moment = self._now(now)
        snap = self._snapshot  # one read: a reload during this check does not mix data
        if not len(snap.store):
            raise TrustInputError("this Verifier trusts no key yet: give keys=, or load a trust "
                                  "list or a bundle")
        lists = self._lists(snap, moment)
        policy = self._policy
        try:
            card = verify(payload, snap.store, now=moment, skew=policy.skew,
                          limits=policy.limits, rules=policy.rules,
                          decryption_keys=self._decryption_keys)
        except CardError as err:  # the card is kept when it was authentic (err.card)
            key = None if err.card is None else err.card.signing_key
            return invalid(err, moment, lists=lists, card=err.card,
                           signer=None if key is None else SignerInfo.of(key))
        return self._judge(card, snap, moment, lists)

    def _judge(self, card: VerifiedCard, snap: _Snapshot, moment: datetime,
               lists: tuple[ListInfo, ...]) -> VerificationResult:
        key = card.signing_key
        signer = None if key is None else SignerInfo.of(key)
        revocation = None
        if snap.revocations is not None and card.record is not None:
            status = snap.revocations.status(card.record.document_number, now=moment)
            if status.state == "revoked":
                revocation = RevocationInfo("revoked", None if status.reason is None
                                            else status.reason.name.lower(), status.revoked_at,
                                            status.list_sequence)
            else:
                fresh = not self._stale(status.list_next_update, moment)
                revocation = RevocationInfo("not_revoked" if fresh else "unknown", None, None,
                                            status.list_sequence)

        def found(status: Verdict, code: str | None, detail: str | None) -> VerificationResult:
            return VerificationResult(status, code, detail, moment, card=card, signer=signer,
                                      revocation=revocation, lists=lists)

        if revocation is not None and revocation.state == "revoked":
            when = "" if revocation.revoked_at is None else f" on {revocation.revoked_at:%Y-%m-%d}"
            return found("revoked", "revoked",
                         f"the card was revoked{when} ({revocation.reason})")
        trust_list = snap.trust_list
        if (trust_list is not None and key is not None and id(key) in snap.certified
                and self._stale(trust_list.next_update, moment)):
            return found("unknown", "trust_list_stale", "cannot confirm: the trust list is "
                         f"stale since {trust_list.next_update:%Y-%m-%d %H:%M} UTC")
        if (revocation is not None and revocation.state == "unknown"
                and snap.revocations is not None):
            # A list was consulted and it is stale: never valid, whatever the policy says.
            return found("unknown", "revocation_stale", "cannot confirm: revocation data "
                         f"stale since {snap.revocations.next_update:%Y-%m-%d %H:%M} UTC")
        if self._policy.require_revocation:
            if snap.revocations is None:
                return found("unknown", "revocation_missing",
                             "cannot confirm: no revocation list is loaded")
            if card.record is None:
                return found("unknown", "revocation_not_applicable", "cannot confirm: the card "
                             "has no profile record, so no document number to look up")
        return found("valid", None, None)

    def check_image(self, image: Any, *, now: datetime | None = None, backend: str = "zxing",
                    mrz: bool = True) -> VerificationResult:
        """Read a card image (a Pillow image, or the bytes of a PNG, JPEG or WebP file), verify
        its QR code and cross-check the printed data (Code128, MRZ) with the signed data.

        A print that disagrees gives ``invalid`` with ``print_mismatch`` and keeps the card in
        the result. An image that cannot be read (``image_invalid``), shows no card
        (``barcode_not_found``) or a missing decoder (``decoder_unavailable``) raises: none of
        these is a verdict on a card. Needs the ``cards`` extra.
        """
        from .barcodes import load_image
        from .scan import add_unsigned_zone, card_payload, compare_print, read_card_barcodes

        moment = self._now(now)
        picture = load_image(bytes(image)) if isinstance(image, bytes | bytearray | memoryview) \
            else image
        found = read_card_barcodes(picture, backend=backend)
        barcodes = tuple((d.format, d.text) for d in found)
        try:
            payload = card_payload(found)
        except BarcodeNotFoundError as err:
            if mrz:
                add_unsigned_zone(err, picture)
            raise
        result = self.check(payload.text, now=moment)
        if result.card is None:
            return dataclasses.replace(result, scan=ScanInfo(barcodes, None, None))
        printed = compare_print(found, result.card, payload, image=picture if mrz else None,
                                now=moment)
        scan = ScanInfo(barcodes, printed.mrz, printed.agrees, printed.elements,
                        printed.other_cards)
        if printed.mismatch is not None:  # the card stays: the clerk sees what was signed
            return dataclasses.replace(result, status="invalid", code="print_mismatch",
                                       detail=printed.mismatch, scan=scan)
        return dataclasses.replace(result, scan=scan)


def _under_terms(key: PublicKey, listed: PublicKey | None) -> PublicKey:
    """``key`` held to the terms under which the trust list names the same key, if it does."""
    if listed is None:
        return key
    return dataclasses.replace(key, label=listed.label, valid_from=listed.valid_from,
                               valid_until=listed.valid_until, revoked_at=listed.revoked_at,
                               revocation_reason=listed.revocation_reason)


def _rollback(kind: str, offered: int, held: int) -> str:
    what = kind.replace("_", " ")
    return (f"this {what} has sequence {offered}, older than the {what} this verifier already "
            f"accepted ({held}); refused as a rollback, keep the newer one")


class TrustUpdate:
    """Trust data staged by :meth:`Verifier.update`, swapped in together at the end."""

    def __init__(self, verifier: Verifier, moment: datetime) -> None:
        self._verifier = verifier
        self._moment = moment
        self.trust_list: TrustList | None = None
        self.revocations: RevocationList | None = None

    def load_trust_list(self, data: bytes) -> TrustList:
        verifier = self._verifier
        root = verifier._need_root("trust list")
        try:
            self.trust_list = load_trust_list(_bytes(data, "trust list", TrustListError), root,
                                              now=self._moment,
                                              limits=verifier.policy.limits)
        except DecodeError as err:  # a damaged file: the file's fault, not a card's
            raise TrustListError(f"the trust list is damaged: {err.message}") from err
        return self.trust_list

    def load_revocation_list(self, data: bytes) -> RevocationList:
        """A full list, or a delta applied to the list staged before it (else the one held)."""
        verifier = self._verifier
        root = verifier._need_root("revocation list")
        data = _bytes(data, "revocation list", RevocationListError)
        limits = verifier.policy.revocation_limits
        try:
            try:
                loaded = load_revocation_list(data, root, now=self._moment, limits=limits)
            except RevocationDeltaBaseError:  # a delta: apply it to the list it updates
                # (``is None``, not ``or``: an empty list is a list)
                base = verifier.revocations if self.revocations is None else self.revocations
                loaded = load_revocation_list(data, root, now=self._moment, previous=base,
                                              limits=limits)
        except DecodeError as err:
            raise RevocationListError(f"the revocation list is damaged: {err.message}") from err
        self.revocations = loaded
        return loaded

    def load_bundle(self, data: bytes) -> None:
        self._verifier._need_root("bundle")
        # read_bundle: anything that is not a bundle is already bundle_invalid
        trust_part, revocation_part = read_bundle(_bytes(data, "bundle", BundleError))
        self.load_trust_list(trust_part)
        self.load_revocation_list(revocation_part)
