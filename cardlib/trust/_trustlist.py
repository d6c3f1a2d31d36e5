"""The trust list: the root-signed list of centre signing certificates a verifier accepts.

Wire format: a COSE_Sign1 (tag 18) signed by the root key.

* Protected header ``{1: alg, 3: "application/vnd.cardlib.trust-list+cbor", 4: root kid}``.
  The content type (label 3) separates a trust list from anything else the root might sign; the
  alg must be the root key's algorithm; the kid (SHA-256 of the root certificate DER, first 8
  bytes) is only a hint: the list is verified with the pinned root's key whatever it says.
* Payload: deterministic CBOR (RFC 8949 section 4.2) of the map

  ======  ================  =====================================================================
  label   name              value
  ======  ================  =====================================================================
  1       sequence          uint; grows with every published list (rollback protection)
  2       issued            uint, seconds since 1970 (UTC)
  3       next_update       uint, seconds since 1970; after it the list is *stale*, not invalid
  4       centres           array of bstr, each a centre certificate (DER), no two with one kid
  5       revoked           array of ``[kid (bstr), revoked_at (uint seconds), reason (uint)]``
                            triples, sorted by kid, no kid twice, each kid one of the centres';
                            reason 1 = compromised (every card of the key is refused, whatever
                            its date), 2 = superseded (cards signed before revoked_at stay valid)
  ======  ================  =====================================================================

  Label 5 is an array of triples rather than a ``{kid: …}`` map because cardlib's strict
  CBOR decoder admits only integer and text map keys (a kid is a byte string).

Loading verifies the COSE signature with the pinned root's key **before** the payload is
decoded, then checks every centre certificate with :func:`check_centre_certificate`. Expired
centre certificates are kept (cards they signed stay verifiable during a rotation overlap); each
certificate's validity window is reported on its :class:`CentreCertificate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from .._errors import (
    InputTooLargeError,
    TrustInputError,
    TrustListError,
    TrustListRollbackError,
    TrustListSignatureError,
)
from .._limits import DEFAULT_LIMITS, Limits
from ..codec import _cbor
from ..keys import PrivateKey, TrustStore
from ._certs import (
    CentreCertificate,
    _cert_time,
    _check_root_key,
    _load_root,
    check_centre_certificate,
)
from ._signed import open_root_signed, sign_root_document

CONTENT_TYPE: Final = "application/vnd.cardlib.trust-list+cbor"
SEQUENCE, ISSUED, NEXT_UPDATE, CENTRES, REVOKED = 1, 2, 3, 4, 5
_LABELS = frozenset({SEQUENCE, ISSUED, NEXT_UPDATE, CENTRES, REVOKED})
_MAX_UINT = 2**63 - 1
_MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z





KeyRevocationReason = Literal["compromised", "superseded"]
_REASON_CODES: Final[dict[str, int]] = {"compromised": 1, "superseded": 2}
_REASONS: Final[dict[int, KeyRevocationReason]] = {1: "compromised", 2: "superseded"}


@dataclass(frozen=True, slots=True)
class KeyRevocation:
    """A centre key's revocation: since when, and why.

    ``compromised``: someone else may hold the key, and the card's own signing time (iat) is
    set by whoever signs, so EVERY card of that key is refused whatever its date (its holders
    get new cards). ``superseded``: the key was retired in good order (rotation, centre
    closed); cards it signed before ``at`` stay valid.
    """

    at: datetime
    reason: KeyRevocationReason

    def __post_init__(self) -> None:
        if self.reason not in _REASON_CODES:
            raise TrustInputError("a key revocation's reason is 'compromised' or 'superseded'")
        _seconds(self.at, "revoked_at")


@dataclass(frozen=True, slots=True)
class TrustList:
    """A trust list verified against the pinned root.

    ``stale`` is true when the list was loaded after its ``next_update``: it is still authentic,
    but the verifier should fetch a newer one (stale is not the same as revoked).
    """

    sequence: int
    issued: datetime
    next_update: datetime
    centres: tuple[CentreCertificate, ...]
    revoked: Mapping[bytes, KeyRevocation]
    stale: bool

    def trust_store(self) -> TrustStore:
        """A :class:`cardlib.TrustStore` of the centres' keys, each under its certificate kid.

        :class:`cardlib.PublicKey` derives its kid from the SPKI; a certified key is named by its
        certificate kid instead, so each key is copied with that kid (the key itself, which the
        verifier trusts, is unchanged), its centre code, its certificate's validity window and
        its revocation time: :func:`cardlib.verify` accepts a card only if its iat lies in the
        window and before the revocation (``key_revoked``). Retired keys stay in the list, so
        cards they signed keep verifying until they expire (rotation with overlap).
        """
        revocations = self.key_revocations()
        return TrustStore(
            dataclasses.replace(centre.public_key, kid=centre.kid, label=centre.centre_code,
                                valid_from=centre.not_before, valid_until=centre.not_after,
                                revoked_at=_at(revocations.get(centre.public_key.spki_der)),
                                revocation_reason=_why(
                                    revocations.get(centre.public_key.spki_der)))
            for centre in self.centres
        )

    def key_revocations(self) -> dict[bytes, KeyRevocation]:
        """The revocation of each KEY (by SubjectPublicKeyInfo), from the revocations of its
        certificates: a key certified twice (a renewed certificate) is revoked under both kids.
        Compromised wins over superseded; the earliest time of that reason applies."""
        by_key: dict[bytes, KeyRevocation] = {}
        for centre in self.centres:
            revocation = self.revoked.get(centre.kid)
            if revocation is None:
                continue
            spki = centre.public_key.spki_der
            held = by_key.get(spki)
            if held is None or _stronger(revocation, held):
                by_key[spki] = revocation
        return by_key


def _seconds(moment: datetime, name: str) -> int:
    value = int(_cert_time(moment, name).timestamp())
    if not 0 <= value <= _MAX_TIME:
        raise TrustInputError(f"{name} must lie between 1970 and 9999")
    return value


def _uint(value: object, name: str, maximum: int = _MAX_UINT) -> int:
    if type(value) is not int or not 0 <= value <= maximum:
        raise TrustListError(f"the trust list's {name} must be a whole number from 0 to {maximum}")
    return value


def _stamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def publish_trust_list(
    root_key: PrivateKey,
    root_der: bytes,
    centres: list[bytes],
    *,
    sequence: int,
    issued: datetime,
    next_update: datetime,
    revoked: Mapping[bytes, KeyRevocation] | None = None,
) -> bytes:
    """Sign a trust list with the root key and return its COSE_Sign1 bytes.

    Every centre certificate is checked against the root first, so the root never signs a list
    a verifier would refuse.
    """
    root = _load_root(root_der)
    _check_root_key(root_key, root)
    if type(sequence) is not int or not 0 <= sequence <= _MAX_UINT:
        raise TrustInputError(f"the sequence must be a whole number from 0 to {_MAX_UINT}")
    start, end = _seconds(issued, "issued"), _seconds(next_update, "next_update")
    if end < start:
        raise TrustInputError("next_update must not be earlier than issued")
    kids: set[bytes] = set()
    for der in centres:
        kid = check_centre_certificate(der, root_der).kid
        if kid in kids:
            raise TrustInputError(f"centre certificate {kid.hex()} is listed twice")
        kids.add(kid)
    gone: list[list[Any]] = []
    for kid, revocation in sorted((revoked or {}).items()):
        if not isinstance(kid, bytes) or kid not in kids:
            shown = kid.hex() if isinstance(kid, bytes) else repr(kid)[:40]
            raise TrustInputError(f"the revoked kid {shown} is not the kid of a centre "
                                  "certificate in this list (a revocation names a listed key)")
        if not isinstance(revocation, KeyRevocation):
            raise TrustInputError("a key revocation is a KeyRevocation(at, reason) with reason "
                                  "'compromised' or 'superseded'")
        gone.append([kid, _seconds(revocation.at, "revoked_at"),
                     _REASON_CODES[revocation.reason]])
    body = {SEQUENCE: sequence, ISSUED: start, NEXT_UPDATE: end, CENTRES: list(centres),
            REVOKED: gone}
    return sign_root_document(root_key, root_der, content_type=CONTENT_TYPE,
                              payload=_cbor.dumps(body))


def load_trust_list(
    data: bytes,
    root_der: bytes,
    *,
    now: datetime,
    previous_sequence: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> TrustList:
    """Verify a trust list against the pinned root certificate and return its content.

    ``data`` may be at most ``limits.max_decompressed_bytes`` long (the largest CBOR cardlib
    decodes; raise it for a registry with many centres); CBOR depth and item counts are bounded
    by ``limits`` too. ``previous_sequence`` is the sequence of the last list this verifier
    accepted: a lower one is refused (:class:`TrustListRollbackError`); the same one is accepted.
    """
    moment = int(_cert_time(now, "now").timestamp())
    if not isinstance(data, bytes):
        raise TrustListError("a trust list is bytes (a COSE_Sign1)")
    if len(data) > limits.max_decompressed_bytes:
        raise InputTooLargeError(
            f"the trust list has {len(data)} bytes; at most {limits.max_decompressed_bytes} are "
            "accepted (raise Limits.max_decompressed_bytes if the registry has that many centres)"
        )
    payload = open_root_signed(data, root_der, content_type=CONTENT_TYPE,
                               what="trust list", limits=limits, invalid=TrustListError,
                               bad_signature=TrustListSignatureError)
    # --- signed by the pinned root from here on ---
    body = _cbor.loads(payload, limits)
    if type(body) is not dict or body.keys() != _LABELS:
        raise TrustListError(f"the trust list payload must be a map with labels {sorted(_LABELS)}")
    sequence = _uint(body[SEQUENCE], "sequence")
    issued = _uint(body[ISSUED], "issued time", _MAX_TIME)
    next_update = _uint(body[NEXT_UPDATE], "next update time", _MAX_TIME)
    if next_update < issued:
        raise TrustListError("the trust list's next update is earlier than its issue time")
    if previous_sequence is not None and sequence < previous_sequence:
        raise TrustListRollbackError(
            f"this trust list has sequence {sequence}, older than the list already accepted "
            f"({previous_sequence}); refused as a rollback, keep the newer list"
        )
    centres = _centres(body[CENTRES], root_der)
    revoked = _revoked(body[REVOKED], limits)
    unknown = set(revoked) - {centre.kid for centre in centres}
    if unknown:
        raise TrustListError(f"the trust list revokes kid {min(unknown).hex()}, which is not "
                             "the kid of any centre it lists")
    return TrustList(
        sequence=sequence,
        issued=_stamp(issued),
        next_update=_stamp(next_update),
        centres=centres,
        revoked=revoked,
        stale=moment > next_update,
    )


def _centres(items: object, root_der: bytes) -> tuple[CentreCertificate, ...]:
    if type(items) is not list or any(type(der) is not bytes for der in items):
        raise TrustListError("the trust list's centres must be an array of DER certificates")
    found: list[CentreCertificate] = []
    kids: set[bytes] = set()
    for der in items:
        centre = check_centre_certificate(der, root_der)
        if centre.kid in kids:
            raise TrustListError(f"centre certificate {centre.kid.hex()} is listed twice")
        kids.add(centre.kid)
        found.append(centre)
    return tuple(found)


def _revoked(items: object, limits: Limits) -> Mapping[bytes, KeyRevocation]:
    if type(items) is not list:
        raise TrustListError("the trust list's revoked entries must be an array of triples")
    revoked: dict[bytes, KeyRevocation] = {}
    for entry in items:
        if type(entry) is not list or len(entry) != 3:
            raise TrustListError("a revoked entry is a triple [kid, revoked_at, reason]")
        kid, when, why = entry
        if type(kid) is not bytes or not 0 < len(kid) <= limits.max_kid_bytes:
            raise TrustListError(f"a revoked kid must be 1-{limits.max_kid_bytes} bytes")
        if kid in revoked:
            raise TrustListError(f"kid {kid.hex()} is revoked twice")
        reason = _REASONS.get(why) if type(why) is int else None
        if reason is None:
            raise TrustListError("a key revocation's reason is 1 (compromised) or 2 "
                                 "(superseded)")
        revoked[kid] = KeyRevocation(_stamp(_uint(when, "revocation time", _MAX_TIME)), reason)
    return MappingProxyType(revoked)


def _stronger(new: KeyRevocation, held: KeyRevocation) -> bool:
    if new.reason != held.reason:
        return new.reason == "compromised"
    return new.at < held.at


def _at(revocation: KeyRevocation | None) -> datetime | None:
    return None if revocation is None else revocation.at


def _why(revocation: KeyRevocation | None) -> str | None:
    return None if revocation is None else revocation.reason
