"""The signer interface: anything that can sign bytes under a key id.

A key held in this process (:class:`cardlib.PrivateKey`) is one signer; a key held in a hardware
security module or a remote service is another, written against the same three members, so
that callers of :func:`cardlib.issue` never change.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Signer(Protocol):
    """Signs COSE Sig_structure bytes.

    ``algorithm`` is ``"EdDSA"`` or ``"ES256"``; ``kid`` goes into the protected header;
    ``sign`` returns the raw signature (64 bytes for both algorithms; ES256 as r||s).
    """

    @property
    def algorithm(self) -> str: ...

    @property
    def kid(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...
