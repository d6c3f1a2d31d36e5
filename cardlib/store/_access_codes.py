"""Holders' personal access codes: the code, its printed form, and the slow hash kept of it.

A holder opens their own record (the ``/me`` page: their registry history, who checked their
card) with their card and a personal access code that is **not** printed on the card: it is
handed to them once at issuance and can be reset at a centre with the holder present. The
registry keeps only a slow hash of it, an :class:`AccessCodeRecord`; the plain code exists only
in the value returned to the clerk (:func:`generate_access_code`).

**The code.** 12 characters drawn with :mod:`secrets` from Crockford's base32 alphabet
:data:`ALPHABET` (the digits and the upper-case letters without I, L, O and U), so 60 bits of
entropy, printed in three groups of four: ``7KQ4-M2XD-9WPR``. A code typed back by a holder is
read by Crockford's rules (:func:`parse_access_code`): case, spaces and hyphens are ignored,
``O`` is read as ``0``, ``I`` and ``L`` as ``1``. Anything else (``U``, punctuation, a letter
outside ASCII, the wrong number of characters, more than :data:`MAX_ACCESS_CODE_INPUT`
characters, checked first) is :class:`AccessCodeMalformedError`, whose message never repeats
what was typed.

**The hash.** ``hashlib.scrypt`` (OpenSSL) of the 12 canonical characters (ASCII, without the
hyphens) with a random 16-byte salt, 32 bytes long, at the cost :data:`ACCESS_CODE_COST`
(N = 2**14, r = 8, p = 1: 16 MiB of memory). Measured on the project's test machine (2 cores,
OpenSSL 3.0.19, CPython 3.11): 39 ms median per hash (37-59 ms over 15 runs; N = 2**13 took
23 ms, N = 2**15 100 ms). The algorithm name, the salt and the cost travel with every hash, so
a code is always checked at the cost it was hashed with and :data:`ACCESS_CODE_COST` can be
raised later without invalidating the codes already handed out. Hashes are compared with
:func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from .._errors import AccessCodeMalformedError, RegistryInputError

__all__ = [
    "ACCESS_CODE_ALGORITHM",
    "ACCESS_CODE_COST",
    "ALPHABET",
    "MAX_ACCESS_CODE_INPUT",
    "AccessCodeMalformedError",
    "AccessCodeRecord",
    "ScryptCost",
    "generate_access_code",
    "parse_access_code",
]

#: Crockford's base32 alphabet: digits and upper-case letters without I, L, O, U.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Characters in a code (5 bits each: 60 bits of entropy), printed in groups of :data:`_GROUP`.
CODE_LENGTH: Final = 12
_GROUP = 4
#: The most characters :func:`parse_access_code` reads (spaces and hyphens included).
MAX_ACCESS_CODE_INPUT: Final = 64
#: The hash algorithm of every record this cardlib writes (and the only one it checks).
ACCESS_CODE_ALGORITHM: Final = "scrypt"
SALT_BYTES: Final = 16
DIGEST_BYTES: Final = 32
#: Crockford's reading: each accepted (upper-cased ASCII) character and the symbol it stands for.
_READ: Final = {**{symbol: symbol for symbol in ALPHABET}, "O": "0", "I": "1", "L": "1"}


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's cost parameters: ``n`` (CPU/memory cost, a power of two), ``r`` (block size),
    ``p`` (parallelism). Memory is ``128 * n * r`` bytes; bounded (at most 256 MiB, ``n`` from
    2**10 to 2**20, ``r`` 1-32, ``p`` 1-16) so a record from a sync batch cannot make a check
    exhaust the central's memory."""

    n: int
    r: int
    p: int

    def __post_init__(self) -> None:
        for name, value, low, high in (("n", self.n, 1 << 10, 1 << 20), ("r", self.r, 1, 32),
                                       ("p", self.p, 1, 16)):
            if type(value) is not int or not low <= value <= high:
                raise RegistryInputError(f"scrypt {name} must be an integer from {low} to "
                                         f"{high}, got {value!r}")
        if self.n & (self.n - 1):
            raise RegistryInputError(f"scrypt n must be a power of two, got {self.n}")
        if 128 * self.n * self.r > 256 << 20:
            raise RegistryInputError(f"scrypt n={self.n}, r={self.r} needs more than 256 MiB")


#: The cost new codes are hashed at (about 39 ms per hash here; see the module docstring).
ACCESS_CODE_COST: Final = ScryptCost(n=1 << 14, r=8, p=1)


def generate_access_code() -> str:
    """A new random access code in its printed form, e.g. ``7KQ4-M2XD-9WPR``."""
    return _grouped("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def parse_access_code(text: str) -> str:
    """The code a holder typed, in its printed form (``7kq4 m2xd 9wpr`` and ``7KQ4M2XD9WPR``
    both give ``7KQ4-M2XD-9WPR``; ``O`` reads as ``0``, ``I`` and ``L`` as ``1``).

    :class:`AccessCodeMalformedError` when it is not a code (see the module docstring)."""
    return _grouped(_canonical(text))


def _grouped(canonical: str) -> str:
    return "-".join(canonical[i:i + _GROUP] for i in range(0, len(canonical), _GROUP))


def _canonical(text: str) -> str:
    """The 12 symbols of a code, or :class:`AccessCodeMalformedError` (never quoting it)."""
    if not isinstance(text, str):
        raise AccessCodeMalformedError(f"an access code is text, not {type(text).__name__}")
    if len(text) > MAX_ACCESS_CODE_INPUT:
        raise AccessCodeMalformedError(
            f"the access code given is {len(text)} characters long; a code is 12 letters and "
            f"digits (at most {MAX_ACCESS_CODE_INPUT} characters with spaces and hyphens)")
    symbols: list[str] = []
    for char in text:
        if char == "-" or char.isspace():
            continue
        symbol = _READ.get(char.upper()) if char.isascii() else None
        if symbol is None:
            raise AccessCodeMalformedError(
                "the access code given holds a character that is not in a code: a code has "
                "only the digits and the letters A-Z without U (e.g. 7KQ4-M2XD-9WPR)")
        symbols.append(symbol)
    if len(symbols) != CODE_LENGTH:
        raise AccessCodeMalformedError(
            f"the access code given has {len(symbols)} letters and digits; a code has "
            f"{CODE_LENGTH} (e.g. 7KQ4-M2XD-9WPR)")
    return "".join(symbols)


def _scrypt(canonical: str, salt: bytes, cost: ScryptCost, length: int) -> bytes:
    # maxmem: scrypt's own need (128 * r * (n + p + 2) bytes) and room for OpenSSL's overhead.
    maxmem = 128 * cost.r * (cost.n + cost.p + 2) + (1 << 20)
    return hashlib.scrypt(canonical.encode("ascii"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                          dklen=length, maxmem=maxmem)


def _bytes(name: str, value: bytes, low: int, high: int) -> None:
    if not isinstance(value, bytes) or not low <= len(value) <= high:
        raise RegistryInputError(f"{name} must be {low} to {high} bytes")


@dataclass(frozen=True, slots=True)
class AccessCodeRecord:
    """A holder's current access code as the registry stores it and a centre's sync batch
    carries it: the hash and what is needed to check a code against it, never the code.

    ``centre_code`` is the centre that set it and ``set_at`` when (at issuance, the card's
    ``issued_at``); between two records of one holder, the later ``set_at`` wins.
    """

    holder_identifier: str
    centre_code: str
    set_at: datetime
    salt: bytes
    cost: ScryptCost
    digest: bytes = field(repr=False)
    algorithm: str = ACCESS_CODE_ALGORITHM

    def __post_init__(self) -> None:
        for name in ("holder_identifier", "centre_code"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RegistryInputError(f"{name} must be a non-empty string, got {value!r}")
        if not isinstance(self.set_at, datetime) or self.set_at.utcoffset() is None:
            raise RegistryInputError("set_at must be a timezone-aware datetime (UTC)")
        if self.algorithm != ACCESS_CODE_ALGORITHM:
            raise RegistryInputError(f"access code hash algorithm {self.algorithm!r} is not "
                                     f"known; this cardlib checks {ACCESS_CODE_ALGORITHM!r}")
        if not isinstance(self.cost, ScryptCost):
            raise RegistryInputError("cost must be a ScryptCost")
        _bytes("salt", self.salt, SALT_BYTES, 64)
        _bytes("digest", self.digest, 16, 64)

    @classmethod
    def create(cls, holder_identifier: str, code: str, *, centre_code: str, set_at: datetime,
               cost: ScryptCost = ACCESS_CODE_COST) -> AccessCodeRecord:
        """Hash ``code`` (read as :func:`parse_access_code` reads it) with a fresh random salt
        at ``cost``: one scrypt computation."""
        canonical = _canonical(code)
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(holder_identifier=holder_identifier, centre_code=centre_code, set_at=set_at,
                   salt=salt, cost=cost, digest=_scrypt(canonical, salt, cost, DIGEST_BYTES))

    def matches(self, code: str) -> bool:
        """Whether ``code`` is this record's code: one scrypt computation at the record's own
        cost, compared in constant time. :class:`AccessCodeMalformedError` for a non-code."""
        candidate = _scrypt(_canonical(code), self.salt, self.cost, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def check_without_record(code: str) -> bool:
    """``False``, after the work of checking ``code`` against a record at
    :data:`ACCESS_CODE_COST` (for a holder without a code: the answer takes as long as for a
    holder with one, so its timing does not tell whether the holder exists)."""
    candidate = _scrypt(_canonical(code), secrets.token_bytes(SALT_BYTES), ACCESS_CODE_COST,
                        DIGEST_BYTES)
    hmac.compare_digest(candidate, bytes(DIGEST_BYTES))
    return False
