"""Card revocation lists: root-signed, exact, compact and delta-friendly.

A card is revoked by its **document number** (profile rule ``[A-Z0-9]{6,20}``), never by a hash
of its signature (ECDSA signatures are malleable: a high-S twin of a revoked card would verify
and not be listed). Each entry carries a :class:`Reason` and the day it took effect.

Wire format
===========

A COSE_Sign1 (tag 18) signed by the pinned root key, exactly like the trust list
(:func:`cardlib.trust.publish_trust_list`), with its own content type:

* Protected header ``{1: alg, 3: "application/vnd.cardlib.revocation-list+cbor", 4: root kid}``.
  The content type differs from the trust list's, so neither can be passed off as the other.
  The kid is a hint only; the list is verified with the pinned root's key whatever it says.
* Payload: deterministic CBOR of the map

  =====  ==============  ===========================================================================
  label  name            value
  =====  ==============  ===========================================================================
  1      sequence        uint; grows with every published list or delta (rollback protection)
  2      issued          uint, seconds since 1970 (UTC)
  3      next_update     uint, seconds since 1970; after it the list is *stale* (not invalid)
  4      base_sequence   ``null`` for a full list; for a delta, the sequence of the list it updates
  5      count           uint, number of entries
  6      groups          uint, number of groups (see below)
  7      entries         bstr: the zlib stream (RFC 1950) of the entry table below
  =====  ==============  ===========================================================================

  The entries are one byte string rather than a CBOR array, so the CBOR item count stays at a
  handful whatever the list's size (cardlib's strict decoder bounds items), and the table is
  decoded with C-speed slicing instead of one Python object per CBOR item.

Entry table (after inflating; all integers little-endian)
---------------------------------------------------------

Every document number is split into a **stem** and its trailing run of at most 18 digits read
as an integer (``LY10234567`` → stem ``LY``, width 8, serial 10234567; ``TRP010000042`` → stem
``TRP``, width 9, serial 10000042). The split is canonical (the stem never ends in a digit
unless the run is 18 digits long) and keeps leading zeros (the width), so it is exact and
reversible: *no false positives*, a valid card can never show as revoked. Numbers sharing a
(stem, width) form a **group**; serials inside a group are sorted, strictly increasing, and
stored as gaps. The table is::

    u8 version (1) | u8 gap_bytes (1|2|4|8) | u8 day_bytes (1|2|4)
    groups × (u8 stem_len, stem ASCII, u8 width, u32 count, u64 first_serial)
    gaps:    (count - groups) × (serial[i] - serial[i-1] - 1), gap_bytes each, byte-planes
    reasons: count × u8 reason code
    days:    count × (days since 1970 of revoked_at), day_bytes each, byte-planes

Groups are sorted by (stem, width), entries by serial. "Byte-planes" means the column is stored
as all low bytes, then all second bytes, and so on (a byte shuffle): high bytes are nearly all
zero and deflate to almost nothing. Dense serials (a batch revoked in one go) give gaps of 0,
which deflate about 1000:1, so the same layout serves sparse lists and dense ones; no separate
bitmap mode is needed. ``revoked_at`` is kept **to the day** (UTC): publishing truncates it.
A day is the granularity of a revocation notice, and a time of day would cost about 2 more
bytes per entry after compression.

Sizes (measured, see ``tests/test_revocation.py`` and ``benchmarks/test_bench_revocation.py``)
----------------------------------------------------------------------------------------------

The reasons and days are the incompressible part: about 1.8 bits of reason and 11 bits of day
per entry when revocations spread over five years. **"Full list" means the complete list of the
revocations in force for a population of 10 million cards at a realistic revocation rate**
(5 %: 500,000 entries, ``LY`` + 7-8 digits or centre-prefixed numbers alike): it measures
1.22 MB (2.44 bytes per entry), under the 2 MB target; about 800,000 entries (8 %) fit in 2 MB.
When *all* 10 million cards are revoked, the list is exact and small only if reasons and days
repeat: a mass revocation (one reason, one day) is 39 KB. With a random reason per card but one
day it is 2.7 MB; with independent random reasons and days it is 16.8 MB, which the information
content alone (10 M × ~12.6 bits ≈ 16 MB) forces on any exact format, so that case cannot meet
2 MB. Publishers should prune entries of cards past their expiry date from full lists.

Deltas
======

A delta (``base_sequence`` set) lists the entries added (or corrected: a delta entry replaces
the base entry for the same number, e.g. lost → fraud) since the list with sequence
``base_sequence``; it is applied only to exactly that list (:class:`RevocationDeltaBaseError`
otherwise). Deltas never remove entries: pruning happens in a new full list. About 1,000 new
revocations among 10 million cards make a delta of 2.7 KB.

Publishing over the previous list
=================================

A revocation is never undone by accident. :func:`publish_revocation_list` takes the previous
list (``previous``, loaded and checked against the root, deltas applied): the new list's
sequence must be above it, and every entry of it must be in the new list, unless its document
number is named in ``allow_drop`` (e.g. cards past their expiry, pruned on purpose); otherwise
:class:`RevocationEntriesDroppedError` lists the numbers left out, and nothing is signed.
:func:`dropped_entries` tells a publisher which entries a new list would leave out.

Status rules (:meth:`RevocationList.status`)
============================================

* listed → ``"revoked"`` with its reason and day, **even when the list is stale** (a revocation
  is never undone, so old news of one is still true);
* not listed and the list is fresh (``now <= next_update``) → ``"valid"``;
* not listed and the list is stale → ``"unknown"`` with ``stale=True``, never ``"valid"``.

Every :class:`CardStatus` carries the list's sequence, issue time, next update and ``stale``:
the freshness of the data it used.

Bounds
======

Loading refuses, with typed errors: input over ``max_list_bytes`` (4 MiB) before parsing;
a declared ``count`` over ``max_entries``; an inflated table over the size its declared counts
allow (and over ``max_inflated_bytes``); strict CBOR through the codec seam. The root signature
is verified **before** the payload is decoded, as for the trust list.
"""

from __future__ import annotations

import operator
import re
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from itertools import accumulate, chain, islice
from types import MappingProxyType
from typing import Final, Literal

from .._errors import (
    InputTooLargeError,
    RevocationDeltaBaseError,
    RevocationEntriesDroppedError,
    RevocationInputError,
    RevocationListError,
    RevocationListRollbackError,
    RevocationListSignatureError,
)
from .._limits import DEFAULT_LIMITS
from ..codec import _cbor, _zlib
from ..keys import PrivateKey
from ..trust import check_root_key, open_root_signed, sign_root_document

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_REVOCATION_LIMITS",
    "CardStatus",
    "Reason",
    "RevocationDeltaBaseError",
    "RevocationEntriesDroppedError",
    "RevocationEntry",
    "RevocationInputError",
    "RevocationLimits",
    "RevocationList",
    "RevocationListError",
    "RevocationListRollbackError",
    "RevocationListSignatureError",
    "dropped_entries",
    "load_revocation_list",
    "publish_delta",
    "publish_revocation_list",
]

# --- format constants ----------------------------------------------------------------------------

CONTENT_TYPE: Final = "application/vnd.cardlib.revocation-list+cbor"
SEQUENCE, ISSUED, NEXT_UPDATE, BASE_SEQUENCE, COUNT, GROUPS, ENTRIES = 1, 2, 3, 4, 5, 6, 7
_LABELS = frozenset({SEQUENCE, ISSUED, NEXT_UPDATE, BASE_SEQUENCE, COUNT, GROUPS, ENTRIES})
TABLE_VERSION: Final = 1
_MAX_UINT = 2**63 - 1
_MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z
_DAY = 86400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_RUN = 18  # digits read as one serial (10**18 < 2**63)
_DIGITS = "0123456789"
_NUMBER = re.compile(r"[A-Z0-9]{6,20}")
_STEM = re.compile(r"[A-Z0-9]{0,20}")
_GROUP = struct.Struct("<BIQ")  # width, count, first serial (after the stem)
_HEADER = struct.Struct("<BBB")  # version, gap bytes, day bytes
_TYPECODES = {array(code).itemsize: code for code in "QLIHB"}  # bytes -> array typecode
_LITTLE = sys.byteorder == "little"


class Reason(IntEnum):
    """Why a card was revoked; the value is the wire code (stable)."""

    LOST = 1
    STOLEN = 2
    REPLACED = 3
    FRAUD = 4
    DATA_CORRECTION = 5


_REASONS: tuple[Reason, ...] = (Reason.LOST, *Reason)  # index = code (index 0 unused)
_MAX_REASON = max(Reason)


@dataclass(frozen=True, slots=True)
class RevocationLimits:
    """How much of a revocation list a verifier accepts (checked before the work is done).

    The defaults hold the 100 %-revoked list of a 16-million-card population.
    """

    max_list_bytes: int = 4 * 1024 * 1024
    max_entries: int = 16_777_216
    max_inflated_bytes: int = 128 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"RevocationLimits.{name} must be a positive integer, got {value!r}"
                )


DEFAULT_REVOCATION_LIMITS = RevocationLimits()


@dataclass(frozen=True, slots=True)
class RevocationEntry:
    """One revoked card: its document number, why, and since when (kept to the day, UTC)."""

    document_number: str
    reason: Reason
    revoked_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.document_number, str) or not _NUMBER.fullmatch(
            self.document_number
        ):
            raise RevocationInputError(
                f"document number {self.document_number!r} does not match [A-Z0-9]{{6,20}}"
            )
        if not isinstance(self.reason, Reason):
            raise RevocationInputError(
                f"the reason must be a cardlib Reason (LOST ... DATA_CORRECTION), got "
                f"{self.reason!r}"
            )
        if not isinstance(self.revoked_at, datetime) or self.revoked_at.tzinfo is None:
            raise RevocationInputError("revoked_at must be a timezone-aware datetime (UTC)")


@dataclass(frozen=True, slots=True)
class CardStatus:
    """A card's revocation status and the freshness of the list that gave it.

    ``state`` is ``"revoked"`` (``reason`` and ``revoked_at`` set), ``"valid"`` (only from a
    fresh list) or ``"unknown"`` (the list is stale and does not name the card).
    """

    document_number: str
    state: Literal["valid", "revoked", "unknown"]
    reason: Reason | None
    revoked_at: datetime | None
    list_sequence: int
    list_issued: datetime
    list_next_update: datetime
    stale: bool


@dataclass(frozen=True, slots=True)
class _Group:
    """The entries of one (stem, width): sorted serials and their reason codes and days."""

    serials: array[int]
    reasons: bytes
    days: array[int]


@dataclass(frozen=True, slots=True, eq=False)
class RevocationList:
    """A revocation list verified against the pinned root (deltas already applied).

    ``stale`` tells whether the list was past its ``next_update`` when loaded;
    :meth:`status` recomputes it for the time it is given. Compared by identity (two lists
    with one sequence may differ: compare ``entries()`` to compare content).
    """

    sequence: int
    issued: datetime
    next_update: datetime
    stale: bool
    _groups: Mapping[tuple[str, int], _Group] = field(repr=False, compare=False)
    _count: int = field(repr=False)  # entries, after any delta

    def __len__(self) -> int:
        return self._count

    def status(self, document_number: str, *, now: datetime) -> CardStatus:
        """The card's status at ``now``: revoked if listed (stale or not); else valid from a
        fresh list and unknown from a stale one."""
        if not isinstance(document_number, str) or not _NUMBER.fullmatch(document_number):
            raise RevocationInputError(
                f"document number {document_number!r} does not match [A-Z0-9]{{6,20}}"
            )
        stale = _aware(now, "now") > self.next_update
        stem, width, serial = _split(document_number)
        group = self._groups.get((stem, width))
        if group is not None:
            index = bisect_left(group.serials, serial)
            if index < len(group.serials) and group.serials[index] == serial:
                return CardStatus(
                    document_number, "revoked", _REASONS[group.reasons[index]],
                    _from_day(group.days[index]), self.sequence, self.issued,
                    self.next_update, stale,
                )
        return CardStatus(document_number, "unknown" if stale else "valid", None, None,
                          self.sequence, self.issued, self.next_update, stale)

    def entries(self) -> Iterator[RevocationEntry]:
        """Every entry, by (stem, width) then serial."""
        for (stem, width), group in sorted(self._groups.items()):
            for serial, code, day in zip(group.serials, group.reasons, group.days, strict=True):
                yield RevocationEntry(_join(stem, width, serial), _REASONS[code], _from_day(day))


# --- helpers -------------------------------------------------------------------------------------


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise RevocationInputError(f"{name} must be a timezone-aware datetime (UTC)")
    return moment


def _seconds(moment: datetime, name: str) -> int:
    value = int(_aware(moment, name).timestamp())
    if not 0 <= value <= _MAX_TIME:
        raise RevocationInputError(f"{name} must lie between 1970 and 9999")
    return value


def _stamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _from_day(day: int) -> datetime:
    return _EPOCH + timedelta(days=day)


def _split(number: str) -> tuple[str, int, int]:
    """(stem, width, serial): the trailing run of at most 18 digits as an integer."""
    stem = number.rstrip(_DIGITS)
    width = min(len(number) - len(stem), _MAX_RUN)
    cut = len(number) - width
    return number[:cut], width, int(number[cut:]) if width else 0


def _join(stem: str, width: int, serial: int) -> str:
    return f"{stem}{serial:0{width}d}" if width else stem


def _canonical_group(stem: str, width: int) -> bool:
    return (
        bool(_STEM.fullmatch(stem))
        and 0 <= width <= _MAX_RUN
        and 6 <= len(stem) + width <= 20
        and (width == _MAX_RUN or not stem or stem[-1] not in _DIGITS)
    )


def _byte_width(largest: int, choices: tuple[int, ...]) -> int:
    for width in choices:
        if largest < 1 << (8 * width):
            return width
    raise RevocationInputError("a value is too large for the revocation table")  # pragma: no cover


def _planes(values: Iterable[int], width: int) -> bytes:
    """``values`` as ``width``-byte little-endian integers, stored byte-plane by byte-plane."""
    column = array(_TYPECODES[width], values)
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        column.byteswap()
    raw = column.tobytes()
    return b"".join(raw[plane::width] for plane in range(width))


def _unplanes(data: bytes, count: int, width: int) -> array[int]:
    raw = bytearray(count * width)
    for plane in range(width):
        raw[plane::width] = data[plane * count:(plane + 1) * count]
    column = array(_TYPECODES[width])
    column.frombytes(raw)
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        column.byteswap()
    return column


# --- publishing ----------------------------------------------------------------------------------


def _collect(
    entries: Iterable[RevocationEntry], issued_day: int
) -> dict[tuple[str, int], _Group]:
    """Group, sort and check the entries (no number twice, no day after ``issued``)."""
    buckets: dict[tuple[str, int], tuple[array[int], bytearray, array[int]]] = {}
    for entry in entries:
        if not isinstance(entry, RevocationEntry):
            raise RevocationInputError(f"a revocation entry must be a RevocationEntry, not "
                                       f"{type(entry).__name__}")
        stem, width, serial = _split(entry.document_number)
        day = int(entry.revoked_at.timestamp()) // _DAY
        if not 0 <= day <= issued_day:
            raise RevocationInputError(
                f"{entry.document_number} is revoked on a day after the list is issued "
                "(or before 1970); a list only records revocations already in effect"
            )
        bucket = buckets.get((stem, width))
        if bucket is None:
            bucket = buckets[stem, width] = (array("Q"), bytearray(), array("L"))
        bucket[0].append(serial)
        bucket[1].append(entry.reason)
        bucket[2].append(day)
    groups: dict[tuple[str, int], _Group] = {}
    for key in sorted(buckets):
        serials, reasons, days = buckets[key]
        if not all(map(operator.lt, serials, islice(serials, 1, None))):
            order = sorted(range(len(serials)), key=serials.__getitem__)
            serials = array("Q", map(serials.__getitem__, order))
            reasons = bytearray(map(reasons.__getitem__, order))
            days = array("L", map(days.__getitem__, order))
            for left, right in zip(serials, islice(serials, 1, None), strict=False):
                if left == right:
                    raise RevocationInputError(
                        f"document number {_join(*key, left)} is listed twice"
                    )
        groups[key] = _Group(serials, bytes(reasons), days)
    return groups


def _table(groups: Mapping[tuple[str, int], _Group]) -> tuple[bytes, int]:
    """The inflated entry table of ``groups`` (already sorted and checked), and its count."""
    head: list[bytes] = []
    gap_columns: list[Iterable[int]] = []
    largest_gap = largest_day = 0
    for (stem, width), group in sorted(groups.items()):
        head += [bytes((len(stem),)), stem.encode("ascii"),
                 _GROUP.pack(width, len(group.serials), group.serials[0])]
        gaps = array("Q", map((-1).__add__, map(operator.sub, islice(group.serials, 1, None),
                                                 group.serials)))
        if gaps:
            largest_gap = max(largest_gap, max(gaps))
        gap_columns.append(gaps)
        largest_day = max(largest_day, max(group.days))
    gap_bytes = _byte_width(largest_gap, (1, 2, 4, 8))
    day_bytes = _byte_width(largest_day, (1, 2, 4))
    ordered = [groups[key] for key in sorted(groups)]
    count = sum(len(group.serials) for group in ordered)
    table = b"".join([
        _HEADER.pack(TABLE_VERSION, gap_bytes, day_bytes),
        *head,
        _planes(chain.from_iterable(gap_columns), gap_bytes),
        b"".join(group.reasons for group in ordered),
        _planes(chain.from_iterable(group.days for group in ordered), day_bytes),
    ])
    return table, count


def _missing(
    previous: Mapping[tuple[str, int], _Group], groups: Mapping[tuple[str, int], _Group]
) -> Iterator[tuple[tuple[str, int], int]]:
    """The (group, index) of every entry of ``previous`` whose number is not in ``groups``."""
    for key, old in sorted(previous.items()):
        new = groups.get(key)
        kept = frozenset(new.serials) if new is not None else frozenset()
        for index, serial in enumerate(old.serials):
            if serial not in kept:
                yield key, index


def dropped_entries(
    previous: RevocationList, entries: Iterable[RevocationEntry]
) -> tuple[RevocationEntry, ...]:
    """The entries of ``previous`` whose document numbers are not among ``entries`` (the
    entries a new full list of ``entries`` would drop), by (stem, width) then serial."""
    if not isinstance(previous, RevocationList):
        raise RevocationInputError("previous must be a RevocationList (load_revocation_list)")
    groups = _collect(entries, _MAX_TIME // _DAY)
    return tuple(
        RevocationEntry(_join(*key, previous._groups[key].serials[index]),
                        _REASONS[previous._groups[key].reasons[index]],
                        _from_day(previous._groups[key].days[index]))
        for key, index in _missing(previous._groups, groups)
    )


def _check_previous(
    previous: RevocationList,
    groups: Mapping[tuple[str, int], _Group],
    sequence: int,
    allow_drop: Collection[str],
) -> None:
    if not isinstance(previous, RevocationList):
        raise RevocationInputError("previous must be a RevocationList (load_revocation_list)")
    if sequence <= previous.sequence:
        raise RevocationInputError(
            f"the new list's sequence {sequence} must be above the previous list's "
            f"({previous.sequence}), or verifiers holding that list refuse it"
        )
    allowed = frozenset(allow_drop)
    dropped = tuple(sorted(
        number for number in (_join(*key, previous._groups[key].serials[index])
                              for key, index in _missing(previous._groups, groups))
        if number not in allowed
    ))
    if dropped:
        shown = ", ".join(dropped[:5]) + (f", … (+{len(dropped) - 5} more)"
                                          if len(dropped) > 5 else "")
        raise RevocationEntriesDroppedError(
            f"the new list leaves out {len(dropped)} entr{'y' if len(dropped) == 1 else 'ies'} "
            f"of revocation list {previous.sequence} ({shown}); nothing was signed. A "
            "revocation is never dropped by mistake: add them back, or name each one to drop "
            "on purpose, e.g. a card past its expiry (allow_drop; cardlib revocation publish "
            "--allow-drop)",
            dropped,
        )


def _publish(
    root_key: PrivateKey,
    root_der: bytes,
    entries: Iterable[RevocationEntry],
    base_sequence: int | None,
    sequence: int,
    issued: datetime,
    next_update: datetime,
    limits: RevocationLimits,
    previous: RevocationList | None = None,
    allow_drop: Collection[str] = (),
) -> bytes:
    check_root_key(root_key, root_der)
    if type(sequence) is not int or not 0 <= sequence <= _MAX_UINT:
        raise RevocationInputError(f"the sequence must be a whole number from 0 to {_MAX_UINT}")
    if base_sequence is not None and (
        type(base_sequence) is not int or not 0 <= base_sequence < sequence
    ):
        raise RevocationInputError("a delta's base_sequence must be a whole number below its "
                                   "sequence")
    start, end = _seconds(issued, "issued"), _seconds(next_update, "next_update")
    if end < start:
        raise RevocationInputError("next_update must not be earlier than issued")
    groups = _collect(entries, start // _DAY)
    if isinstance(allow_drop, str | bytes) or not all(isinstance(n, str) for n in allow_drop):
        raise RevocationInputError("allow_drop is a collection of document numbers (str)")
    if previous is not None:
        _check_previous(previous, groups, sequence, allow_drop)
    elif allow_drop:
        raise RevocationInputError("allow_drop names entries of the previous list: give it "
                                   "(previous=...)")
    table, count = _table(groups)
    if count > limits.max_entries or len(table) > limits.max_inflated_bytes:
        raise RevocationInputError(
            f"{count} entries ({len(table)} bytes inflated) exceed the verifiers' limits "
            f"({limits.max_entries} entries, {limits.max_inflated_bytes} bytes)"
        )
    body = {SEQUENCE: sequence, ISSUED: start, NEXT_UPDATE: end, BASE_SEQUENCE: base_sequence,
            COUNT: count, GROUPS: len(groups), ENTRIES: _zlib.compress(table)}
    data = sign_root_document(root_key, root_der, content_type=CONTENT_TYPE,
                              payload=_cbor.dumps(body))
    if len(data) > limits.max_list_bytes:
        raise RevocationInputError(
            f"the signed list has {len(data)} bytes, over the verifiers' limit of "
            f"{limits.max_list_bytes}; prune expired cards or publish a delta"
        )
    return data


def publish_revocation_list(
    root_key: PrivateKey,
    root_der: bytes,
    entries: Iterable[RevocationEntry],
    *,
    sequence: int,
    issued: datetime,
    next_update: datetime,
    previous: RevocationList | None = None,
    allow_drop: Collection[str] = (),
    limits: RevocationLimits = DEFAULT_REVOCATION_LIMITS,
) -> bytes:
    """Sign a full revocation list (every revocation in force) with the root key.

    ``revoked_at`` is truncated to the day (UTC) and must not be after ``issued``; a document
    number may appear once. The list must fit ``limits`` (the verifiers' defaults), so the root
    never signs a list a verifier would refuse.

    ``previous`` is the list this one replaces (loaded with :func:`load_revocation_list`, its
    deltas applied); give it for every list but the first. The new ``sequence`` must be above
    its sequence, and each of its entries must be in ``entries`` unless its document number is
    in ``allow_drop`` (pruned on purpose, e.g. a card past its expiry; see
    :func:`dropped_entries`): otherwise :class:`RevocationEntriesDroppedError`, nothing signed.
    """
    return _publish(root_key, root_der, entries, None, sequence, issued, next_update, limits,
                    previous, allow_drop)


def publish_delta(
    root_key: PrivateKey,
    root_der: bytes,
    added_entries: Iterable[RevocationEntry],
    *,
    base_sequence: int,
    sequence: int,
    issued: datetime,
    next_update: datetime,
    limits: RevocationLimits = DEFAULT_REVOCATION_LIMITS,
) -> bytes:
    """Sign a delta: the entries added (or corrected) since the list numbered ``base_sequence``.

    ``sequence`` must be above ``base_sequence``; a verifier applies the delta only to the list
    with exactly that sequence.
    """
    if type(base_sequence) is not int:
        raise RevocationInputError("a delta's base_sequence must be a whole number")
    return _publish(root_key, root_der, added_entries, base_sequence, sequence, issued,
                    next_update, limits)


# --- loading -------------------------------------------------------------------------------------


def _uint(value: object, name: str, maximum: int = _MAX_UINT) -> int:
    if type(value) is not int or not 0 <= value <= maximum:
        raise RevocationListError(
            f"the revocation list's {name} must be a whole number from 0 to {maximum}"
        )
    return value


def load_revocation_list(
    data: bytes,
    root_der: bytes,
    *,
    now: datetime,
    previous: RevocationList | None = None,
    limits: RevocationLimits = DEFAULT_REVOCATION_LIMITS,
) -> RevocationList:
    """Verify a revocation list (or a delta) against the pinned root and return the list.

    ``previous`` is the last list this verifier accepted. A full list older than it is refused
    (:class:`RevocationListRollbackError`); a delta is applied to it and must name its sequence
    as ``base_sequence`` (:class:`RevocationDeltaBaseError` otherwise, or when there is no
    ``previous``: load the full list first).
    """
    moment = _aware(now, "now")
    if not isinstance(data, bytes):
        raise RevocationListError("a revocation list is bytes (a COSE_Sign1)")
    if len(data) > limits.max_list_bytes:
        raise InputTooLargeError(
            f"the revocation list has {len(data)} bytes; at most {limits.max_list_bytes} are "
            "accepted (raise RevocationLimits.max_list_bytes for a larger population)"
        )
    payload = open_root_signed(data, root_der, content_type=CONTENT_TYPE,
                               what="revocation list", limits=DEFAULT_LIMITS,
                               invalid=RevocationListError,
                               bad_signature=RevocationListSignatureError)
    # --- signed by the pinned root from here on ---
    body = _cbor.loads(payload, DEFAULT_LIMITS)
    if type(body) is not dict or body.keys() != _LABELS:
        raise RevocationListError(
            f"the revocation list payload must be a map with labels {sorted(_LABELS)}"
        )
    sequence = _uint(body[SEQUENCE], "sequence")
    issued = _uint(body[ISSUED], "issued time", _MAX_TIME)
    next_update = _uint(body[NEXT_UPDATE], "next update time", _MAX_TIME)
    if next_update < issued:
        raise RevocationListError("the revocation list's next update is earlier than its issue")
    base = body[BASE_SEQUENCE]
    if base is not None and _uint(base, "base sequence") >= sequence:
        raise RevocationListError("a delta's base sequence must be below its own sequence")
    count = _uint(body[COUNT], "entry count")
    groups = _uint(body[GROUPS], "group count")
    if count > limits.max_entries:
        raise InputTooLargeError(
            f"the revocation list declares {count} entries; at most {limits.max_entries} are "
            "accepted (raise RevocationLimits.max_entries for a larger population)"
        )
    if groups > count or type(body[ENTRIES]) is not bytes:
        raise RevocationListError("the revocation list's entry table is malformed")
    if base is None:
        if previous is not None and sequence < previous.sequence:
            raise RevocationListRollbackError(
                f"this revocation list has sequence {sequence}, older than the list already "
                f"accepted ({previous.sequence}); refused as a rollback, keep the newer list"
            )
    elif previous is None or previous.sequence != base:
        held = "no list" if previous is None else f"list {previous.sequence}"
        raise RevocationDeltaBaseError(
            f"this delta updates revocation list {base}, but this verifier holds {held}; "
            "load the full list"
        )
    # The largest table these counts allow: 8-byte gaps, 4-byte days, 20-character stems.
    bound = _HEADER.size + groups * (1 + 20 + _GROUP.size) + (count - groups) * 8 + count * 5
    table = _zlib.decompress(body[ENTRIES], min(bound, limits.max_inflated_bytes))
    parsed = _parse_table(table, count, groups, issued // _DAY)
    if previous is not None and base is not None:
        parsed = _merge(previous._groups, parsed)
    return RevocationList(
        sequence=sequence,
        issued=_stamp(issued),
        next_update=_stamp(next_update),
        stale=moment > _stamp(next_update),
        _groups=MappingProxyType(parsed),
        _count=sum(len(group.serials) for group in parsed.values()),
    )


def _parse_table(
    table: bytes, count: int, groups: int, issued_day: int
) -> dict[tuple[str, int], _Group]:
    bad = RevocationListError
    if len(table) < _HEADER.size:
        raise bad("the revocation list's entry table is truncated")
    version, gap_bytes, day_bytes = _HEADER.unpack_from(table)
    if version != TABLE_VERSION or gap_bytes not in (1, 2, 4, 8) or day_bytes not in (1, 2, 4):
        raise bad(f"the entry table has an unknown layout ({version}, {gap_bytes}, {day_bytes})")
    offset = _HEADER.size
    heads: list[tuple[str, int, int, int]] = []
    total = 0
    previous_key: tuple[str, int] | None = None
    for _ in range(groups):
        if offset >= len(table):
            raise bad("the revocation list's group table is truncated")
        size = table[offset]
        stem_bytes = table[offset + 1:offset + 1 + size]
        offset += 1 + size
        if len(stem_bytes) != size or offset + _GROUP.size > len(table):
            raise bad("the revocation list's group table is truncated")
        width, group_count, first = _GROUP.unpack_from(table, offset)
        offset += _GROUP.size
        stem = stem_bytes.decode("latin-1")
        key = (stem, width)
        if not _canonical_group(stem, width):
            raise bad(f"group {stem!r}/{width} is not a canonical document-number stem")
        if previous_key is not None and key <= previous_key:
            raise bad("the revocation list's groups are not strictly sorted")
        if group_count < 1 or (width == 0 and (group_count != 1 or first != 0)):
            raise bad(f"group {stem!r}/{width} has an impossible entry count")
        previous_key = key
        heads.append((stem, width, group_count, first))
        total += group_count
    if total != count:
        raise bad(f"the groups hold {total} entries, the list declares {count}")
    gap_count = count - groups
    expected = offset + gap_count * gap_bytes + count + count * day_bytes
    if len(table) != expected:
        raise bad(f"the entry table has {len(table)} bytes; its counts call for {expected}")
    gaps = _unplanes(table[offset:offset + gap_count * gap_bytes], gap_count, gap_bytes)
    offset += gap_count * gap_bytes
    reasons = table[offset:offset + count]
    offset += count
    days = _unplanes(table[offset:], count, day_bytes)
    if count and (min(reasons) < 1 or max(reasons) > _MAX_REASON):
        raise bad("an entry has an unknown reason code")
    if count and max(days) > issued_day:
        raise bad("an entry is revoked on a day after the list was issued")
    parsed: dict[tuple[str, int], _Group] = {}
    gap_at = at = 0
    for stem, width, group_count, first in heads:
        # serial[i] = first + sum(gaps[:i]) + i: strictly increasing by construction.
        steps = islice(gaps, gap_at, gap_at + group_count - 1)
        try:
            serials = array("Q", map(operator.add, accumulate(chain((first,), steps)),
                                     range(group_count)))
        except OverflowError as err:
            raise bad(f"group {stem!r}/{width} has a serial beyond 64 bits") from err
        if serials[-1] >= 10**width:
            raise bad(f"group {stem!r}/{width} has a serial longer than {width} digits")
        parsed[stem, width] = _Group(serials, reasons[at:at + group_count],
                                     days[at:at + group_count])
        gap_at += group_count - 1
        at += group_count
    return parsed


def _merge(
    base: Mapping[tuple[str, int], _Group], added: Mapping[tuple[str, int], _Group]
) -> dict[tuple[str, int], _Group]:
    """``base`` with ``added`` merged in; an added entry replaces a base entry of its number."""
    merged = dict(base)
    for key, new in added.items():
        old = merged.get(key)
        if old is None:
            merged[key] = new
            continue
        wide = max(old.days.itemsize, new.days.itemsize)
        old_days = old.days if old.days.itemsize == wide else array(_TYPECODES[wide], old.days)
        serials, days, reasons = array("Q"), array(_TYPECODES[wide]), bytearray()
        done = 0
        for serial, code, day in zip(new.serials, new.reasons, new.days, strict=True):
            index = bisect_left(old.serials, serial, done)
            serials += old.serials[done:index]
            reasons += old.reasons[done:index]
            days += old_days[done:index]
            serials.append(serial)
            reasons.append(code)
            days.append(day)
            done = index + 1 if index < len(old.serials) and old.serials[index] == serial else index
        serials += old.serials[done:]
        reasons += old.reasons[done:]
        days += old_days[done:]
        merged[key] = _Group(serials, bytes(reasons), days)
    return merged

