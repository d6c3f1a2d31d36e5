"""Build payloads layer by layer, including malformed ones, signed with real keys."""

from __future__ import annotations

import zlib
from typing import Any

import cbor2

from cardlib import PrivateKey
from cardlib.codec._base45 import b45encode
from cardlib.codec._cose import sig_structure


def claims_of(payload_cbor: bytes) -> Any:
    return cbor2.loads(payload_cbor)


def craft(
    key: PrivateKey | None,
    payload: bytes,
    *,
    protected: dict[int, Any] | bytes | None = None,
    unprotected: dict[int, Any] | None = None,
    signature: bytes | None = None,
    envelope: str = "tag18",
    compress: bool = True,
) -> str:
    """A Base45 payload around CBOR ``payload``; signed with ``key`` unless ``signature``."""
    if protected is None:
        assert key is not None
        protected = {1: -8 if key.algorithm == "EdDSA" else -7, 4: key.kid}
    protected_bytes = protected if isinstance(protected, bytes) else (
        cbor2.dumps(protected, canonical=True) if protected else b"")
    if signature is None:
        assert key is not None
        signature = key.sign(sig_structure(protected_bytes, payload))
    body = [protected_bytes, unprotected or {}, payload, signature]
    item: Any = body
    if envelope in ("tag18", "tag61"):
        item = cbor2.CBORTag(18, body)
    if envelope == "tag61":
        item = cbor2.CBORTag(61, item)
    cose = cbor2.dumps(item)
    return b45encode(zlib.compress(cose, 9) if compress else cose)


def cwt(claim169: Any, *, exp: int | None = 2_000_000_000, nbf: int | None = 1_700_000_000,
        iat: int | None = 1_700_000_000, extra: dict[int, Any] | None = None) -> bytes:
    claims: dict[int, Any] = {1: "LBY", 169: claim169}
    for label, value in ((4, exp), (5, nbf), (6, iat)):
        if value is not None:
            claims[label] = value
    claims.update(extra or {})
    return cbor2.dumps(claims, canonical=True)
