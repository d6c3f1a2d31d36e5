"""The signed documents the service verifies with and serves: kept, reloaded, published.

Every trust list and revocation list the service accepts (from its files at start, uploaded by
an admin, or signed here when an admin revokes a card) is checked by ``cardlib.Verifier``
against the pinned root, swapped in without pausing verification (``Verifier.update``: one
snapshot), and kept in the service's store with the deltas signed here, so
``GET /v1/revocations?since=SEQ`` can answer with a small delta. :meth:`Documents.refresh`
loads what another process (a replica, an admin command) stored since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cardlib import CardError, PrivateKey, RevocationDeltaBaseError, Verifier
from cardlib.bundle import export_bundle
from cardlib.revocation import (
    Reason,
    RevocationEntry,
    load_revocation_list,
    publish_delta,
    publish_revocation_list,
)
from cardlib.trust import (
    KeyRevocation,
    TrustList,
    certificate_der,
    check_centre_certificate,
    load_trust_list,
    publish_trust_list,
)

from ._db import StoreError, create_tables, open_database
from ._errors import NotFoundError, RequestInvalidError, SigningKeyUnavailableError

TRUST_LIST, REVOCATION_LIST = "trust_list", "revocation_list"
FULL = -1  # the base of a full list (a delta's base is the sequence it updates)
#: How long a list signed here is fresh for, and how long before its end it is renewed.
REVOCATION_PERIOD = timedelta(days=7)
TRUST_PERIOD = timedelta(days=90)
RENEW_BEFORE = timedelta(days=1)
_PUBLISH_ATTEMPTS = 10
#: A change to a trust list: the list held → the new list's centres and key revocations.
_TrustChange = Callable[[TrustList | None], tuple[list[bytes], dict[bytes, KeyRevocation]]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL, sequence BIGINT NOT NULL, base BIGINT NOT NULL, data BLOB NOT NULL,
    stored_at TEXT NOT NULL, PRIMARY KEY (kind, sequence, base));
"""


@dataclass(frozen=True)
class Held:
    """The documents served right now (each the exact bytes that were signed)."""

    trust_list: bytes | None
    revocation_list: bytes | None
    bundle: bytes | None
    trust_sequence: int | None
    revocation_sequence: int | None


class Documents:
    def __init__(self, path: Path, verifier: Verifier, root_der: bytes,
                 root_key: PrivateKey | None, *, url: str | None = None) -> None:
        self._verifier, self._root, self._root_key = verifier, root_der, root_key
        self._lock = threading.Lock()
        self._db = open_database(url, path)
        create_tables(self._db, _SCHEMA)
        self._held = Held(None, None, None, None, None)

    def close(self) -> None:
        self._db.close()

    @property
    def held(self) -> Held:
        return self._held

    # --- storing and loading ---------------------------------------------------------------------

    def _store(self, kind: str, sequence: int, data: bytes, base: int | None = None) -> bool:
        """Keep a document; False when one with that kind, sequence and base is kept already
        (another process published that sequence first)."""
        return 1 == self._db.execute("INSERT OR IGNORE INTO documents VALUES (?, ?, ?, ?, ?)",
                         (kind, sequence, FULL if base is None else base, data,
                          datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))

    def _newest(self, kind: str) -> tuple[int, bytes] | None:
        rows = self._db.rows("SELECT sequence, data FROM documents WHERE kind = ? AND base = ? "
                             "ORDER BY sequence DESC LIMIT 1", (kind, FULL))
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def start(self, trust_list: bytes | None, revocation_list: bytes | None) -> None:
        """Keep the configured files' lists (each checked against the root), then load the
        newest lists kept: a list published since the files were written wins over them."""
        now = datetime.now(UTC)
        with self._lock:
            if trust_list is not None:
                self._store(TRUST_LIST,
                            load_trust_list(trust_list, self._root, now=now).sequence, trust_list)
            if revocation_list is not None:
                sequence = load_revocation_list(revocation_list, self._root, now=now).sequence
                self._store(REVOCATION_LIST, sequence, revocation_list)
        self.refresh()

    def refresh(self) -> bool:
        """Load the newest stored lists if they are newer than those held; True if any was."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        """(The caller holds the lock.) The newest full lists kept and the chain of deltas that
        continues the revocation list (an edge node keeps the deltas it fetched) are staged and
        swapped in as one update: the verifier's rollback state sees only the end result."""
        trust = self._newest(TRUST_LIST)
        revocations = self._newest(REVOCATION_LIST)
        held_trust = self._verifier.trust_list
        held_revocations = self._verifier.revocations
        newer_trust = trust is not None and (
            held_trust is None or trust[0] > held_trust.sequence)
        newer_revocations = revocations is not None and (
            held_revocations is None or revocations[0] > held_revocations.sequence)
        base = revocations[0] if newer_revocations and revocations is not None else (
            None if held_revocations is None else held_revocations.sequence)
        chain: list[bytes] = []
        while base is not None:  # each delta's sequence is above its base: this ends
            rows = self._db.rows("SELECT data, sequence FROM documents WHERE kind = ? AND "
                                 "base = ? ORDER BY sequence DESC LIMIT 1",
                                 (REVOCATION_LIST, base))
            if not rows:
                break
            chain.append(bytes(rows[0][0]))
            base = int(rows[0][1])
        changed = newer_trust or newer_revocations or bool(chain)
        if changed:
            with self._verifier.update() as update:
                if newer_trust and trust is not None:
                    update.load_trust_list(trust[1])
                if newer_revocations and revocations is not None:
                    update.load_revocation_list(revocations[1])
                for delta in chain:
                    update.load_revocation_list(delta)
        if changed or self._held.trust_sequence is None:
            self._held = self._current()  # (a bundle is built: only when something changed)
        return changed

    def _next_sequence(self, kind: str, now: datetime) -> int:
        """The sequence of the next list this service signs: one above the newest kept, so
        two processes signing at once claim the same sequence and one of them retries on top
        of the other's list (nothing signed elsewhere is lost)."""
        rows = self._db.rows("SELECT MAX(sequence) FROM documents WHERE kind = ? AND base = ?",
                             (kind, FULL))
        newest = rows[0][0] if rows and rows[0][0] is not None else None
        return int(now.timestamp()) if newest is None else int(newest) + 1

    def _publish(self, kind: str, now: datetime,
                 sign: Callable[[int], tuple[bytes, bytes | None, int | None]]) -> int:
        """Sign a new list on top of the newest kept and claim its sequence in the store;
        when another process claimed it first, load theirs and sign again. ``sign(sequence)``
        returns the list, and a delta with its base when there is one. (Lock held.)"""
        for _ in range(_PUBLISH_ATTEMPTS):
            self._refresh()
            sequence = self._next_sequence(kind, now)
            data, delta, base = sign(sequence)
            if not self._store(kind, sequence, data):
                continue  # another process published this sequence first: build on theirs
            if delta is not None:
                self._store(kind, sequence, delta, base=base)
            with self._verifier.update(now=now) as update:
                if kind == TRUST_LIST:
                    update.load_trust_list(data)
                else:
                    update.load_revocation_list(data)
            self._held = self._current()
            return sequence
        raise StoreError(f"could not publish a {kind.replace('_', ' ')}: other processes kept "
                         "publishing first; try again")

    def _current(self) -> Held:
        trust, revocations = self._verifier.trust_list, self._verifier.revocations
        trust_data = None if trust is None else self._data(TRUST_LIST, trust.sequence)
        revocation_data = None if revocations is None else self._data(REVOCATION_LIST,
                                                                       revocations.sequence)
        bundle = None
        if trust_data is not None and revocation_data is not None:
            bundle = export_bundle(trust_data, revocation_data, root_der=self._root)
        return Held(trust_data, revocation_data, bundle,
                    None if trust is None else trust.sequence,
                    None if revocations is None else revocations.sequence)

    def _data(self, kind: str, sequence: int) -> bytes | None:
        rows = self._db.rows("SELECT data FROM documents WHERE kind = ? AND sequence = ? AND "
                             "base = ?", (kind, sequence, FULL))
        return bytes(rows[0][0]) if rows else None

    def delta_since(self, base: int) -> bytes | None:
        """The delta signed here from list ``base`` to the list held, if there is one."""
        held = self._held.revocation_sequence
        rows = self._db.rows("SELECT data FROM documents WHERE kind = ? AND base = ? AND "
                             "sequence = ?", (REVOCATION_LIST, base, held))
        return bytes(rows[0][0]) if rows else None

    # --- publishing ------------------------------------------------------------------------------

    def accept(self, kind: str, data: bytes) -> int:
        """An uploaded full list (signed by the root elsewhere): checked, used, kept. Returns
        its sequence. An older list than held is refused (rollback), a damaged one too."""
        if kind == REVOCATION_LIST:
            try:  # a delta applies to one list only; the store keeps full lists from uploads
                load_revocation_list(data, self._root, now=datetime.now(UTC))
            except RevocationDeltaBaseError:
                raise RequestInvalidError("upload a full revocation list, not a delta") from None
        with self._lock:
            self._refresh()
            with self._verifier.update() as update:
                if kind == TRUST_LIST:
                    sequence = update.load_trust_list(data).sequence
                else:
                    loaded = update.load_revocation_list(data)
                    held = self._verifier.revocations
                    if held is not None and loaded.sequence == held.sequence:
                        raise RequestInvalidError("this revocation list is the one held")
                    sequence = loaded.sequence
                if not self._store(kind, sequence, data) and self._data(kind, sequence) != data:
                    raise RequestInvalidError(f"another {kind.replace('_', ' ')} with sequence "
                                              f"{sequence} is published already")
            self._held = self._current()
        return sequence

    def revoke(self, document_number: str, reason: str, *, now: datetime) -> int:
        """Revoke a card: sign a new full list and the delta from the one held, with the
        service's list-signing key (the root key: held only where configured), use both, keep
        both. Returns the new sequence."""
        if self._root_key is None:
            raise SigningKeyUnavailableError(
                "this service holds no list-signing key (VERIFIER_ROOT_KEY); sign a new "
                "revocation list where the key is and upload it (PUT /v1/admin/revocation-list)")
        key = self._root_key
        try:
            why = Reason[reason.upper()]
        except KeyError:
            raise RequestInvalidError(
                f"the reason is one of {', '.join(r.name.lower() for r in Reason)}") from None
        try:
            entry = RevocationEntry(document_number, why, now)
        except CardError as err:
            raise RequestInvalidError(err.message) from None
        with self._lock:
            def sign(sequence: int) -> tuple[bytes, bytes | None, int | None]:
                previous = self._verifier.revocations
                if previous is not None and previous.status(document_number,
                                                            now=now).state == "revoked":
                    raise RequestInvalidError(f"the card {document_number} is already revoked")
                entries = [] if previous is None else list(previous.entries())
                full = publish_revocation_list(
                    key, self._root, [*entries, entry], sequence=sequence, issued=now,
                    next_update=now + REVOCATION_PERIOD, previous=previous)
                if previous is None:
                    return full, None, None
                delta = publish_delta(key, self._root, [entry], base_sequence=previous.sequence,
                                      sequence=sequence, issued=now,
                                      next_update=now + REVOCATION_PERIOD)
                return full, delta, previous.sequence

            return self._publish(REVOCATION_LIST, now, sign)

    def take(self, kind: str, data: bytes, since: int | None = None) -> bool:
        """A list fetched from the upstream service: a full list, or (for the revocation list
        asked ``?since=SEQ``) a delta from list SEQ. Used at once and kept; False when it is
        the one held already."""
        with self._lock:
            held = (self._verifier.trust_list if kind == TRUST_LIST
                    else self._verifier.revocations)
            with self._verifier.update() as update:
                loaded = (update.load_trust_list(data) if kind == TRUST_LIST
                          else update.load_revocation_list(data))
                if held is not None and loaded.sequence == held.sequence:
                    return False
            base = None
            if kind == REVOCATION_LIST:
                try:
                    load_revocation_list(data, self._root, now=datetime.now(UTC))
                except RevocationDeltaBaseError:
                    base = since
            self._store(kind, loaded.sequence, data, base=base)
            self._held = self._current()
        return True

    def _signing_key(self) -> PrivateKey:
        if self._root_key is None:
            raise SigningKeyUnavailableError(
                "this service holds no list-signing key (VERIFIER_ROOT_KEY); sign a new list "
                "where the key is and upload it (PUT /v1/admin/trust-list)")
        return self._root_key

    def _publish_trust(self, change: _TrustChange, now: datetime) -> int:
        """Sign, use and keep a new trust list: ``change`` turns the newest list kept into the
        new list's centres and key revocations (the caller holds the lock)."""
        key = self._signing_key()

        def sign(sequence: int) -> tuple[bytes, bytes | None, int | None]:
            centres, revoked = change(self._verifier.trust_list)
            return publish_trust_list(key, self._root, centres, sequence=sequence, issued=now,
                                      next_update=now + TRUST_PERIOD, revoked=revoked), None, None

        return self._publish(TRUST_LIST, now, sign)

    def enrol(self, certificate: bytes, *, now: datetime) -> tuple[str, str, int]:
        """Add a centre's certificate (issued by the root) to a new trust list. Returns the
        certificate kid (hex), the centre code and the new list's sequence."""
        self._signing_key()
        try:
            der = certificate_der(certificate)
            centre = check_centre_certificate(der, self._root)
        except CardError as err:
            raise RequestInvalidError(f"the centre certificate is not usable: "
                                      f"{err.message}") from None
        def add(held: TrustList | None) -> tuple[list[bytes], dict[bytes, KeyRevocation]]:
            centres = [] if held is None else [c.der for c in held.centres]
            if der in centres:
                raise RequestInvalidError(f"centre certificate {centre.kid.hex()} is already "
                                          "on the trust list")
            return [*centres, der], {} if held is None else dict(held.revoked)

        with self._lock:
            sequence = self._publish_trust(add, now)
        return centre.kid.hex(), centre.centre_code, sequence

    def retire(self, kid: str, reason: str, *, now: datetime) -> int:
        """Revoke a centre key on a new trust list: ``superseded`` (cards it signed before now
        stay valid) or ``compromised`` (every card it signed is refused)."""
        self._signing_key()
        if reason not in ("superseded", "compromised"):
            raise RequestInvalidError("the reason is superseded or compromised")
        def drop(held: TrustList | None) -> tuple[list[bytes], dict[bytes, KeyRevocation]]:
            listed = {} if held is None else {c.kid.hex(): c for c in held.centres}
            if held is None or kid not in listed:
                raise NotFoundError(f"no centre certificate with kid {kid!r} is on the list")
            revoked = dict(held.revoked)
            if bytes.fromhex(kid) in revoked:
                raise RequestInvalidError(f"the key {kid} is already revoked")
            revoked[bytes.fromhex(kid)] = KeyRevocation(now, reason)  # type: ignore[arg-type]
            return [c.der for c in held.centres], revoked

        with self._lock:
            return self._publish_trust(drop, now)

    def renew(self, now: datetime) -> bool:
        """Where this service holds the list-signing key: sign the held lists again, unchanged
        but for a new sequence and period, when they are within a day of their next update (so
        a demo or a signing service never serves stale lists). True if any was renewed."""
        if self._root_key is None:
            return False
        key = self._root_key
        renewed = False
        with self._lock:
            self._refresh()
            trust = self._verifier.trust_list
            if trust is not None and trust.next_update - now < RENEW_BEFORE:
                self._publish_trust(lambda held: ([c.der for c in held.centres] if held else [],
                                                  dict(held.revoked) if held else {}), now)
                renewed = True
            revocations = self._verifier.revocations
            if revocations is not None and revocations.next_update - now < RENEW_BEFORE:
                def sign(sequence: int) -> tuple[bytes, bytes | None, int | None]:
                    held = self._verifier.revocations
                    entries = [] if held is None else list(held.entries())
                    return publish_revocation_list(
                        key, self._root, entries, sequence=sequence, issued=now,
                        next_update=now + REVOCATION_PERIOD, previous=held), None, None

                self._publish(REVOCATION_LIST, now, sign)
                renewed = True
        return renewed
