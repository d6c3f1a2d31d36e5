"""CBOR (RFC 8949): deterministic encoding and a strict, bounded decoder. The only cbor2 import.

The decoder accepts only what a Claim 169 payload needs: integers, byte and text strings, arrays,
maps, booleans and null. Every semantic tag is refused except the COSE_Sign1 (18) and CWT (61)
tags, which callers must only accept at the top level, and the COSE_Encrypt0 tag (16), read only
by :func:`loads_encrypt0` around a whole message. Indefinite lengths, duplicate map keys,
floats, undefined and other simple values are refused. Depth, item count and text length are
bounded by :class:`cardlib.Limits`.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import cbor2

from .._errors import (
    CborCountError,
    CborDepthError,
    CborError,
    DuplicateKeyError,
    TextTooLongError,
)
from .._limits import Limits

TAG_COSE_ENCRYPT0 = 16
TAG_COSE_SIGN1 = 18
TAG_CWT = 61
_ALLOWED_TAGS = frozenset({TAG_COSE_SIGN1, TAG_CWT})
# Tags that cbor2 6.x decodes itself (found by probing cbor2 6.3); each is overridden to refuse.
_BUILTIN_TAGS = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261,
                 1004, 43000, 55799)

Tag = cbor2.CBORTag
# Inside a tag, cbor2 builds arrays as tuples and maps as frozendicts.
ARRAY_TYPES = (list, tuple)
MAP_TYPES = (dict, cbor2.frozendict)


class _Refused(Exception):
    def __init__(self, error: CborError) -> None:
        super().__init__(error.message)
        self.error = error


def _refuse_builtin(value: object, immutable: bool) -> object:
    raise _Refused(CborError("the payload uses a CBOR tag that Claim 169 does not allow"))


_SEMANTIC = dict.fromkeys(_BUILTIN_TAGS, _refuse_builtin)


def _tag_hook(tag: cbor2.CBORTag, immutable: bool) -> object:
    if tag.tag in _ALLOWED_TAGS:
        return tag
    raise _Refused(CborError(f"the payload uses CBOR tag {tag.tag}, which is not allowed here"))


def dumps(value: object) -> bytes:
    """Deterministic CBOR (RFC 8949 section 4.2: shortest forms, sorted map keys)."""
    return cbor2.dumps(value, canonical=True)


def loads(data: bytes, limits: Limits) -> Any:
    """Decode exactly one strict CBOR item from ``data`` within ``limits``."""
    value = loads_unchecked(data, limits)
    _check(value, limits)
    return value


def loads_encrypt0(data: bytes, limits: Limits) -> Any:
    """The content of one tag-16 item (COSE_Encrypt0) around the whole of ``data``, decoded and
    checked as :func:`loads` checks a message (the tag counts as one item). Tag 16 is refused
    everywhere else, so an Encrypt0 inside anything (itself included) is ``cbor_invalid``."""
    if data[:1] != b"\xd0":
        raise CborError("the message is not a COSE_Encrypt0 (tag 16)")
    value = loads_unchecked(data[1:], limits)
    _check(cbor2.CBORTag(TAG_COSE_ENCRYPT0, value), limits)
    return value


def loads_unchecked(data: bytes, limits: Limits) -> Any:
    """:func:`loads` without its walk over the decoded tree (types, item count, text length).

    The decoder's own refusals hold (tags, indefinite lengths, duplicate keys, depth, trailing
    bytes). Only for a reader that accepts one fixed shape, checks the type of every value it
    accepts, and hands anything else to :func:`loads`.
    """
    stream = BytesIO(data)
    try:
        value = cbor2.CBORDecoder(
            stream,
            tag_hook=_tag_hook,
            semantic_decoders=_SEMANTIC,
            max_depth=limits.max_depth,
            allow_indefinite=False,
            allow_duplicate_keys=False,
        ).decode()
    except _Refused as refused:
        raise refused.error from None
    except cbor2.CBORDecodeError as err:
        cause = err.__cause__
        if isinstance(cause, _Refused):
            raise cause.error from None
        text = str(err)
        if "Duplicate map key" in text:
            raise DuplicateKeyError("a CBOR map repeats a key; refused") from err
        if "depth" in text:
            raise CborDepthError(
                f"the CBOR nests deeper than {limits.max_depth} levels; refused"
            ) from err
        raise CborError(f"the payload is not well-formed CBOR ({text})") from err
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as err:
        raise CborError(f"the payload is not well-formed CBOR ({err})") from err
    if stream.tell() != len(data):
        raise CborError(f"{len(data) - stream.tell()} unexpected byte(s) follow the CBOR item")
    return value


def _check(root: object, limits: Limits) -> None:
    """Check types, item count and text length in one pass over the decoded tree.

    Every data item counts once towards ``max_items`` (map keys included). Scalars are checked
    in place; only containers and tags go on the stack. This runs on every verification, so it
    is written for speed.
    """
    budget = limits.max_items - 1
    max_text = limits.max_text_chars
    # Tags 18 and 61 may wrap the whole message (61 around 18 at most); nowhere else.
    for _ in range(2):
        if type(root) is not cbor2.CBORTag:
            break
        root = root.value
        budget -= 1
    stack: list[Any] = [root]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict or kind is cbor2.frozendict:
            budget -= 2 * len(item)
            values: Any = item.values()
            for key in item:
                if type(key) is not int and type(key) is not str:
                    raise CborError("a CBOR map key is neither an integer nor a text string")
                if type(key) is str and len(key) > max_text:
                    raise _text_error(max_text)
        elif kind is list or kind is tuple:
            budget -= len(item)
            values = item
        elif kind is cbor2.CBORTag:
            raise CborError(f"CBOR tag {item.tag} is only allowed around the whole message")
        else:
            _check_scalar(item, kind, max_text)
            continue
        if budget < 0:
            raise CborCountError(f"the CBOR holds more than {limits.max_items} items; refused")
        for value in values:
            kind = type(value)
            if kind is int or kind is bytes:
                continue
            if kind is str:
                if len(value) > max_text:
                    raise _text_error(max_text)
                continue
            push(value)


def _check_scalar(item: object, kind: type, max_text: int) -> None:
    if kind is str:
        if len(item) > max_text:  # type: ignore[arg-type]
            raise _text_error(max_text)
    elif not (kind is int or kind is bytes or kind is bool or item is None):
        raise CborError(f"the payload holds a CBOR {kind.__name__}, which is not allowed")


def _text_error(max_text: int) -> TextTooLongError:
    return TextTooLongError(f"a text value is longer than {max_text} characters; refused")
