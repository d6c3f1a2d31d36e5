"""A trust store: the public keys a verifier accepts, looked up by key id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .._errors import KeyFileError
from ._keys import PublicKey


class TrustStore:
    """An immutable set of trusted public keys, indexed by kid and by algorithm.

    Several keys may share a kid (a kid is a hint, not an identity): the verifier tries each,
    and trusts the key, never the kid.
    """

    __slots__ = ("_by_alg", "_by_kid", "_keys")

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        collected = tuple(keys)
        for key in collected:
            if not isinstance(key, PublicKey):
                raise KeyFileError(f"a trust store holds PublicKey objects, not {type(key)!r}")
        by_kid: dict[bytes, list[PublicKey]] = {}
        by_alg: dict[str, list[PublicKey]] = {}
        for key in collected:
            by_kid.setdefault(key.kid, []).append(key)
            by_alg.setdefault(key.algorithm, []).append(key)
        self._keys = collected
        self._by_kid: Mapping[bytes, tuple[PublicKey, ...]] = MappingProxyType(
            {kid: tuple(found) for kid, found in by_kid.items()}
        )
        self._by_alg: Mapping[str, tuple[PublicKey, ...]] = MappingProxyType(
            {alg: tuple(found) for alg, found in by_alg.items()}
        )

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        return self._keys

    def by_kid(self, kid: bytes) -> tuple[PublicKey, ...]:
        return self._by_kid.get(kid, ())

    def by_algorithm(self, algorithm: str) -> tuple[PublicKey, ...]:
        return self._by_alg.get(algorithm, ())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        kids = ", ".join(f"{k.algorithm}:{k.kid.hex()}" for k in self._keys)
        return f"TrustStore([{kids}])"
