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


def decode(data: bytes, limits: Limits) -> Sign1:
    """Parse a COSE_Sign1 (tagged 18, untagged, or inside a CWT tag 61)."""
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
    header = _protected_header(protected, limits)
    if HEADER_CRIT in header or HEADER_CRIT in unprotected:
        raise CoseError("the message marks header parameters as critical (crit); none is "
                        "understood by this profile, so it is refused (RFC 9052 section 3.1)")
    # RFC 9052 forbids a label in both buckets. Only kid is tolerated there (as EU DCC verifiers
    # do): it is a lookup hint, and the protected one wins.
    if (header.keys() & unprotected.keys()) - {HEADER_KID}:
        raise CoseError("a COSE header label appears in both the protected and unprotected header")
    return Sign1(
        protected,
        MappingProxyType(header),  # read-only views: the cached header is shared
        MappingProxyType(unprotected),
        payload,
        signature,
        envelope,
    )


@lru_cache(maxsize=256)
def _protected_header(protected: bytes, limits: Limits) -> dict[Any, Any]:
    """Decode a protected header. A pure function of its bytes, and verifiers see the same few
    headers (one per issuing key) again and again, so the result is cached. Callers must not
    mutate it (``decode`` hands out a read-only copy)."""
    header: Any = _cbor.loads(protected, limits) if protected else {}
    if not isinstance(header, _cbor.MAP_TYPES):
        raise CoseError("the COSE protected header must encode a map")
    return dict(header)
