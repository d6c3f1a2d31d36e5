"""The holder's own view (``POST /v1/me``, the page at ``/me``): a card as signed, and, with the
holder's personal access code, the registry's history of their cards and every access event
recorded for them (agency, time, purpose, outcome), newest first.

Who may learn what (the threat model in the README):

* Without the access code the answer is what the card itself says: its verification, as anyone
  who scans its QR code learns it. Nothing from the registry or the access events.
* The code is not printed on the card. It is handed to the holder at issuance and stored in the
  registry only as a slow hash (scrypt); checking one costs tens of milliseconds, so at most
  :data:`HASHING_AT_ONCE` checks run at once, each off the event loop.
* Guessing is bounded per card and per client address (``holder_attempts_per_hour``,
  ``holder_address_attempts_per_hour``): token buckets of this process, taken before the code
  is even parsed (a malformed code is ``access_code_malformed``, whoever the holder; a wrong
  code and a holder without a code are both ``access_code_wrong``, after the same hash work).
  Every call, with a code or without, takes from the address's bucket: /me is
  no way around the API keys (and their access events) for an agency verifying cards.
* The history and events opened are the card holder's own: the holder is the national number
  in the *verified* payload (the signature holds with a signer known good: a card refused for
  its signer, say a revoked centre key, opens nothing; an expired one does), the events are
  found by the keyed hashes of that holder's document numbers, and the hashes themselves, the
  keys' ids and the payloads of the checks are never shown.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardlib import Verifier
from cardlib._values import iso
from cardlib.store import open_registry

from ._access import AccessEvent, AccessStore, document_hmac
from ._errors import AccessCodeWrongError, HolderViewUnavailableError
from ._gate import refuse_over_limit
from ._ratelimit import RateLimiter

#: scrypt checks at once (each holds its 16 MiB for tens of milliseconds).
HASHING_AT_ONCE = 2
#: Access events listed at most (newest first).
MAX_EVENTS = 500


@dataclass(frozen=True)
class HolderView:
    """Opens a holder's view; every method runs off the event loop (the registry and scrypt
    block)."""

    verifier: Verifier
    registry: str | Path | None  # the issuance registry: a URL, or an SQLite file
    store: AccessStore
    secret: bytes  # the key of the document numbers' keyed hashes
    per_card: RateLimiter
    per_address: RateLimiter
    hashing: threading.BoundedSemaphore

    @classmethod
    def of(cls, verifier: Verifier, registry: str | None, store: AccessStore, secret: bytes,
           *, card_attempts: int, address_attempts: int) -> HolderView:
        where = None if registry is None else registry if "://" in registry else Path(registry)
        return cls(verifier, where, store, secret,
                   RateLimiter(card_attempts / 3600, card_attempts),
                   RateLimiter(address_attempts / 3600, address_attempts),
                   threading.BoundedSemaphore(HASHING_AT_ONCE))

    def open(self, payload: str, code: str | None, address: str) -> dict[str, Any]:
        """The answer: ``result`` (the verification, every field: the card is the holder's
        own), ``history`` and ``access_events`` (null without the code, and for a payload that
        is no authentic card of the profile, whatever code comes with it)."""
        refuse_over_limit(self.per_address, f"address {address}", "this address")
        result = self.verifier.check(payload)
        answer: dict[str, Any] = {"result": result.to_json(), "history": None,
                                  "access_events": None}
        card = result.card
        record = None if card is None else card.record
        if code is None or record is None or not _opens(result.status, result.code):
            return answer  # no code, or no card whose signer is known good
        if self.registry is None:
            raise HolderViewUnavailableError(
                "this service has no issuance registry: only what the card says is shown")
        refuse_over_limit(self.per_card, record.document_number, "this card")
        holder = record.identifier
        with open_registry(self.registry) as registry:
            with self.hashing:
                known = registry.check_access_code(holder, code)
            if not known:
                raise AccessCodeWrongError("the access code is not this card holder's")
            history = registry.history(holder)
        numbers = {event.document_number for event in history} | {record.document_number}
        events: list[AccessEvent] = []
        for number in numbers:
            events += self.store.events(document_hmac(self.secret, number), limit=MAX_EVENTS)
        events.sort(key=lambda event: event.at, reverse=True)
        answer["history"] = [
            {"event": event.event, "document_number": event.document_number,
             "at": iso(event.at), "reason": event.reason, "replaces": event.replaces}
            for event in reversed(history)]
        answer["access_events"] = [
            {"agency": event.agency, "at": iso(event.at), "purpose": event.purpose,
             "status": event.status, "code": event.code} for event in events[:MAX_EVENTS]]
        return answer


def _opens(status: str, code: str | None) -> bool:
    """Whether a verified card may open its holder's record: its signature, signer and chain
    hold (valid, revoked, or unknown for stale lists), or it is refused only for its dates (an
    expired card still names its holder). Not a card signed with a key revoked or outside its
    certificate: a leaked centre key must not stand in for the holder's card."""
    return status != "invalid" or code in ("expired", "not_yet_valid")
