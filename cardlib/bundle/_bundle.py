"""One file holding the trust list and the card revocation list, each signed by the root.

Layout (deterministic CBOR): ``{1: "cardlib-bundle", 2: 1 (version), 3: trust list bytes,
4: revocation list bytes}``. The container itself is not signed: each part is a COSE_Sign1
signed by the national root and is checked against the pinned root certificate when the bundle
loads (trust list first, then the revocation list), so a bundle cannot mix parts from another
root. A checkpoint loads it once and verifies offline: keys come from the trust list, each
card's status (valid, revoked with reason, or unknown) and the freshness of the data from the
revocation list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from .._errors import BundleError, DecodeError, RevocationDeltaBaseError
from .._limits import Limits
from .._pipeline import VerifiedCard
from ..codec import _cbor
from ..keys import TrustStore
from ..revocation import CardStatus, RevocationList, load_revocation_list
from ..trust import TrustList, load_trust_list

MAGIC: Final = "cardlib-bundle"
VERSION: Final = 1
MAX_BUNDLE_BYTES: Final = 8 * 1024 * 1024
_EXPORT_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)  # loads need a time; staleness unused
_LIMITS = Limits(max_decompressed_bytes=MAX_BUNDLE_BYTES, max_items=16, max_depth=2,
                 max_text_chars=64)


@dataclass(frozen=True, slots=True)
class Bundle:
    """A loaded, checked bundle: the trust store for :func:`cardlib.verify` and card status."""

    trust_list: TrustList
    revocations: RevocationList
    trust_store: TrustStore

    def status(self, card: VerifiedCard, *, now: datetime) -> CardStatus | None:
        """The card's revocation status, or None for a card without a profile record (no
        document number to look up)."""
        if card.record is None:
            return None
        return self.revocations.status(card.record.document_number, now=now)


def export_bundle(trust_list: bytes, revocation_list: bytes, *, root_der: bytes) -> bytes:
    """Put a signed trust list and a signed full revocation list into one file, after checking
    both against the pinned root: the right kinds (a trust list, then a full revocation list,
    not a delta), each signed by that root. Freshness is not judged here (a verifier does)."""
    if not isinstance(trust_list, bytes) or not isinstance(revocation_list, bytes):
        raise BundleError("a bundle holds the signed trust list and revocation list as bytes")
    load_trust_list(trust_list, root_der, now=_EXPORT_TIME)
    try:
        load_revocation_list(revocation_list, root_der, now=_EXPORT_TIME)
    except RevocationDeltaBaseError:
        raise BundleError("a bundle holds a full revocation list, not a delta; publish a full "
                          "list for the bundle") from None
    return _cbor.dumps({1: MAGIC, 2: VERSION, 3: trust_list, 4: revocation_list})


def load_bundle(data: bytes, root_der: bytes, *, now: datetime,
                previous: Bundle | None = None) -> Bundle:
    """Check both parts against the pinned root (rollback refused against ``previous``)."""
    trust_part, revocation_part = read_bundle(data)
    trust_list = load_trust_list(
        trust_part, root_der, now=now,
        previous_sequence=None if previous is None else previous.trust_list.sequence)
    revocations = load_revocation_list(
        revocation_part, root_der, now=now,
        previous=None if previous is None else previous.revocations)
    return Bundle(trust_list, revocations, trust_list.trust_store())


def read_bundle(data: bytes) -> tuple[bytes, bytes]:
    """The two signed parts of a bundle file (trust list, revocation list), not yet checked:
    :func:`load_bundle` and :class:`cardlib.Verifier` check each against the pinned root.
    Anything that is not a bundle (empty, truncated, random bytes) is ``bundle_invalid``."""
    if not isinstance(data, bytes):
        raise BundleError("a bundle is bytes")
    if not data:
        raise BundleError("the bundle is empty")
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"a bundle is at most {MAX_BUNDLE_BYTES} bytes; this one has "
                          f"{len(data)}")
    try:
        container: Any = _cbor.loads(data, _LIMITS)
    except DecodeError as err:
        raise BundleError(f"this file is not a cardlib bundle ({err.message})") from None
    if (type(container) is not dict or container.get(1) != MAGIC
            or set(container) != {1, 2, 3, 4}):
        raise BundleError("this file is not a cardlib bundle")
    if container[2] != VERSION or type(container[2]) is not int:
        raise BundleError(f"bundle version {str(container[2])[:20]!r} is not supported")
    if type(container[3]) is not bytes or type(container[4]) is not bytes:
        raise BundleError("a bundle's parts are byte strings")
    return container[3], container[4]
