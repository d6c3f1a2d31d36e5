"""COSE_Sign1 (RFC 9052): build, parse and the Sig_structure signed by both sides."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .._errors import CoseError
from .._limits import Limits
from . import _cbor

HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_KID = 4


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, not yet verified, COSE_Sign1 message."""

    protected: bytes
    protected_header: MappingProxyType[int, Any]
    unprotected_header: MappingProxyType[int, Any]
    payload: bytes
    signature: bytes
    envelope: str  # "tag18", "untagged" or "tag61"


_SIG_STRUCTURE_START = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"


def _bstr_head(size: int) -> bytes:
    """The CBOR head of a byte string of ``size`` bytes (major type 2, shortest form)."""
    if size < 24:
        return bytes((0x40 | size,))
    if size < 0x100:
        return bytes((0x58, size))
    if size < 0x10000:
        return b"\x59" + size.to_bytes(2, "big")
    if size < 0x100000000:
        return b"\x5a" + size.to_bytes(4, "big")
    return b"\x5b" + size.to_bytes(8, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes that are signed: ["Signature1", protected, external_aad = h'', payload].

    Written directly (it runs on every verification); tests/test_codecs.py checks it against
    the CBOR encoder.
    """
    return b"".join((_SIG_STRUCTURE_START, _bstr_head(len(protected)), protected, b"\x40",
                     _bstr_head(len(payload)), payload))


def encode_header(header: dict[int, Any]) -> bytes:
    """A protected header as its bstr content (an empty map is sent as a zero-length bstr)."""
    return _cbor.dumps(header) if header else b""


def encode(
    protected: bytes, unprotected: dict[int, Any], payload: bytes, signature: bytes
) -> bytes:
    body = [protected, unprotected, payload, signature]
    return _cbor.dumps(_cbor.Tag(_cbor.TAG_COSE_SIGN1, body))


_EMPTY: MappingProxyType[int, Any] = MappingProxyType({})


def _bstr(data: bytes, at: int) -> tuple[bytes, int] | None:
    """The byte string whose shortest-form, definite head starts at ``at`` (up to 64 KiB), and
    the offset after it; ``None`` for anything else."""
    head = data[at] if at < len(data) else 0
    if 0x40 <= head <= 0x57:
        start, size = at + 1, head - 0x40
    elif head == 0x58 and at + 1 < len(data) and data[at + 1] >= 24:
        start, size = at + 2, data[at + 1]
    elif head == 0x59 and at + 2 < len(data) and data[at + 1]:
        start, size = at + 3, (data[at + 1] << 8) | data[at + 2]
    else:
        return None
    end = start + size
    return (data[start:end], end) if end <= len(data) else None


def _fixed_shape(data: bytes, limits: Limits) -> Sign1 | None:
    """The layout every card issuer writes, read by offsets instead of a general decode:
    ``[tag 61] [tag 18] [protected bstr, {}, payload bstr, 64-byte signature]`` with
    shortest-form heads and nothing after it. ``None`` for any other layout: the general decoder
    then reads it or refuses it, so nothing the strict decoder refuses is accepted here
    (tests/test_codecs.py checks the two agree)."""
    if limits.max_depth < 3 or limits.max_items < 8:
        return None
    at, envelope = 0, "untagged"
    if data[:3] == b"\xd8\x3d\xd2":
        at, envelope = 3, "tag61"
    elif data[:1] == b"\xd2":
        at, envelope = 1, "tag18"
    if data[at : at + 1] != b"\x84":
        return None
    protected = _bstr(data, at + 1)
    if protected is None or data[protected[1] : protected[1] + 1] != b"\xa0":
        return None
    payload = _bstr(data, protected[1] + 1)
    if payload is None or len(data) != payload[1] + 66 or (
            data[payload[1] : payload[1] + 2] != b"\x58\x40"):
        return None
    header = _protected_view(protected[0], limits)
    if HEADER_CRIT in header:
        return None
    return Sign1(protected[0], header, _EMPTY, payload[0], data[payload[1] + 2 :], envelope)


def decode(data: bytes, limits: Limits) -> Sign1:
    """Parse a COSE_Sign1 (tagged 18, untagged, or inside a CWT tag 61)."""
    fixed = _fixed_shape(data, limits)
    return fixed if fixed is not None else decode_general(data, limits)


def decode_general(data: bytes, limits: Limits) -> Sign1:
    """:func:`decode` by the general strict CBOR decoder, for any layout (or a refusal)."""
    item = _cbor.loads(data, limits)
    envelope = "untagged"
    if isinstance(item, _cbor.Tag) and item.tag == _cbor.TAG_CWT:
        item = item.value
        envelope = "tag61"
        if not (isinstance(item, _cbor.Tag) and item.tag == _cbor.TAG_COSE_SIGN1):
            raise CoseError("a CWT tag (61) must wrap a COSE_Sign1 (tag 18)")
    if isinstance(item, _cbor.Tag):
        if item.tag != _cbor.TAG_COSE_SIGN1:
            raise CoseError(f"tag {item.tag} is not COSE_Sign1 (18); only signed cards are read")
        item = item.value
        if envelope == "untagged":
            envelope = "tag18"
    if not isinstance(item, _cbor.ARRAY_TYPES) or len(item) != 4:
        raise CoseError(
            "a COSE_Sign1 is an array of 4 items (protected, unprotected, payload, signature)"
        )
    protected, unprotected, payload, signature = item
    if not isinstance(protected, bytes):
        raise CoseError("the COSE protected header must be a byte string")
    if not isinstance(unprotected, _cbor.MAP_TYPES):
        raise CoseError("the COSE unprotected header must be a map")
    if not isinstance(payload, bytes):
        raise CoseError("the COSE payload must be an attached byte string (detached is refused)")
    if not isinstance(signature, bytes):
        raise CoseError("the COSE signature must be a byte string")
    header = _protected_view(protected, limits)
    if HEADER_CRIT in header or HEADER_CRIT in unprotected:
        raise CoseError("the message marks header parameters as critical (crit); none is "
                        "understood by this profile, so it is refused (RFC 9052 section 3.1)")
    # RFC 9052 forbids a label in both buckets. Only kid is tolerated there (as EU DCC verifiers
    # do): it is a lookup hint, and the protected one wins.
    if (header.keys() & unprotected.keys()) - {HEADER_KID}:
        raise CoseError("a COSE header label appears in both the protected and unprotected header")
    return Sign1(
        protected,
        header,
        MappingProxyType(unprotected),
        payload,
        signature,
        envelope,
    )


@lru_cache(maxsize=256)
def _protected_view(protected: bytes, limits: Limits) -> MappingProxyType[Any, Any]:
    """Decode a protected header, as a read-only view. A pure function of its bytes, and
    verifiers see the same few headers (one per issuing key) again and again, so the result is
    cached (bounded: 256 headers)."""
    header: Any = _cbor.loads(protected, limits) if protected else {}
    if not isinstance(header, _cbor.MAP_TYPES):
        raise CoseError("the COSE protected header must encode a map")
    return MappingProxyType(dict(header))
