"""COSE_Sign1 and COSE_Encrypt0 (RFC 9052): build, parse, and the structures signed
(Sig_structure) and authenticated (Enc_structure) by both sides."""

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
HEADER_IV = 5
HEADER_PARTIAL_IV = 6


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, not yet verified, COSE_Sign1 message."""

    protected: bytes
    protected_header: MappingProxyType[int, Any]
    unprotected_header: MappingProxyType[int, Any]
    payload: bytes
    signature: bytes
    envelope: str  # "tag18", "untagged" or "tag61"


@dataclass(frozen=True, slots=True)
class Encrypt0:
    """A parsed, not yet decrypted, COSE_Encrypt0 message (always tag 16 here).

    Its structure is checked (RFC 9052 §5.2 and this profile): the headers' types, no crit, no
    label in both headers but kid, no Partial IV, an IV byte string, and a ciphertext at least as
    long as the 16-byte tag. The algorithm, the IV's length and the kid are judged by the
    caller, which knows the algorithms.
    """

    protected: bytes
    protected_header: MappingProxyType[int, Any]
    unprotected_header: MappingProxyType[int, Any]
    ciphertext: bytes

    def header(self, label: int) -> Any:
        """A header parameter: the protected one, else the unprotected one (or None)."""
        value = self.protected_header.get(label)
        return self.unprotected_header.get(label) if value is None else value


#: The first byte of a COSE_Encrypt0 message: tag 16 (one byte, major type 6).
ENCRYPT0_START = b"\xd0"
_SIG_STRUCTURE_START = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"
_ENC_STRUCTURE_START = b"\x83\x68Encrypt0"  # array(3), text(8) "Encrypt0"
_GCM_TAG_BYTES = 16


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


def enc_structure(protected: bytes) -> bytes:
    """The additional authenticated data of a COSE_Encrypt0 (RFC 9052 §5.3):
    ["Encrypt0", protected, external_aad = h''], deterministically encoded."""
    return b"".join((_ENC_STRUCTURE_START, _bstr_head(len(protected)), protected, b"\x40"))


def encode_header(header: dict[int, Any]) -> bytes:
    """A protected header as its bstr content (an empty map is sent as a zero-length bstr)."""
    return _cbor.dumps(header) if header else b""


def encode(
    protected: bytes, unprotected: dict[int, Any], payload: bytes, signature: bytes
) -> bytes:
    body = [protected, unprotected, payload, signature]
    return _cbor.dumps(_cbor.Tag(_cbor.TAG_COSE_SIGN1, body))


def encode_encrypt0(protected: bytes, unprotected: dict[int, Any], ciphertext: bytes) -> bytes:
    return _cbor.dumps(_cbor.Tag(_cbor.TAG_COSE_ENCRYPT0, [protected, unprotected, ciphertext]))


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


def decode_message(data: bytes, limits: Limits) -> Sign1 | Encrypt0:
    """A card's message: a COSE_Sign1 as :func:`decode` reads it (the fast path first), or a
    COSE_Encrypt0 (tag 16), told apart by its first byte."""
    fixed = _fixed_shape(data, limits)
    if fixed is not None:
        return fixed
    if data[:1] == ENCRYPT0_START:
        return decode_encrypt0(data, limits)
    return decode_general(data, limits)


def decode_encrypt0(data: bytes, limits: Limits) -> Encrypt0:
    """Parse a COSE_Encrypt0 (tag 16 around ``[protected, unprotected, ciphertext]``)."""
    item = _cbor.loads_encrypt0(data, limits)
    if not isinstance(item, _cbor.ARRAY_TYPES) or len(item) != 3:
        raise CoseError(
            "a COSE_Encrypt0 is an array of 3 items (protected, unprotected, ciphertext)")
    protected, unprotected, ciphertext = item
    if not isinstance(protected, bytes):
        raise CoseError("the COSE protected header must be a byte string")
    if not isinstance(unprotected, _cbor.MAP_TYPES):
        raise CoseError("the COSE unprotected header must be a map")
    if not isinstance(ciphertext, bytes):
        raise CoseError("the COSE_Encrypt0 ciphertext must be an attached byte string "
                        "(detached is refused)")
    header = _protected_view(protected, limits)
    _check_headers(header, unprotected)
    if HEADER_PARTIAL_IV in header or HEADER_PARTIAL_IV in unprotected:
        raise CoseError("a Partial IV (header label 6) is not supported; the full IV (label 5) "
                        "must be given")
    iv = header.get(HEADER_IV, unprotected.get(HEADER_IV))
    if iv is None:
        raise CoseError("the COSE_Encrypt0 has no IV (header label 5)")
    if type(iv) is not bytes:
        raise CoseError("the COSE_Encrypt0 IV (header label 5) must be a byte string")
    if len(ciphertext) < _GCM_TAG_BYTES:
        raise CoseError(f"the ciphertext is shorter than the {_GCM_TAG_BYTES}-byte "
                        "authentication tag it must end with")
    return Encrypt0(protected, header, MappingProxyType(unprotected), ciphertext)


def _check_headers(header: MappingProxyType[Any, Any], unprotected: Any) -> None:
    """The two header rules of every message here: no crit; no label in both buckets but kid."""
    if HEADER_CRIT in header or HEADER_CRIT in unprotected:
        raise CoseError("the message marks header parameters as critical (crit); none is "
                        "understood by this profile, so it is refused (RFC 9052 section 3.1)")
    # RFC 9052 forbids a label in both buckets. Only kid is tolerated there (as EU DCC verifiers
    # do): it is a lookup hint, and the protected one wins.
    if (header.keys() & unprotected.keys()) - {HEADER_KID}:
        raise CoseError("a COSE header label appears in both the protected and unprotected header")


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
    _check_headers(header, unprotected)
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
