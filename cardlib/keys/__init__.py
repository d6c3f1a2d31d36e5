"""Keys, algorithms, signers and trust stores. The only package that touches raw crypto.

:class:`PrivateKey` / :class:`PublicKey` (PEM, raw, kid), the :class:`Signer` protocol, the
:class:`TrustStore` a verifier accepts keys from, and the algorithm registry (:data:`ALGORITHMS`
by COSE id, :data:`BY_NAME`). :class:`SymmetricKey` is an AES-GCM key for encrypted payloads
(COSE_Encrypt0), its algorithms in :data:`CONTENT_ALGORITHMS`. :class:`Pkcs11Signer` and
:func:`generate_keypair` keep a key in an HSM; they need the ``hsm`` extra (``pip install
'cardlib[hsm]'``) and are imported only when first used, so this package imports without
python-pkcs11. Errors (``HsmPinError``, ...) are in
:mod:`cardlib`, with every other error.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._algorithms import ALGORITHMS, BY_NAME, Algorithm
from ._keys import KID_BYTES, PrivateKey, PublicKey, kid_for
from ._signer import Signer
from ._symmetric import CONTENT_ALGORITHMS, IV_BYTES, ContentAlgorithm, SymmetricKey
from ._trust import TrustStore

if TYPE_CHECKING:
    from ._pkcs11 import Pkcs11Signer, generate_keypair

# Names whose module needs an optional extra: imported on first access (PEP 562).
_LAZY = {"Pkcs11Signer": ("._pkcs11", "hsm"), "generate_keypair": ("._pkcs11", "hsm")}

__all__ = [
    "ALGORITHMS",
    "BY_NAME",
    "CONTENT_ALGORITHMS",
    "IV_BYTES",
    "KID_BYTES",
    "Algorithm",
    "ContentAlgorithm",
    "Pkcs11Signer",
    "PrivateKey",
    "PublicKey",
    "Signer",
    "SymmetricKey",
    "TrustStore",
    "generate_keypair",
    "kid_for",
]


def __getattr__(name: str) -> Any:
    """Import the names that need an optional extra only when they are first used."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, extra = _LAZY[name]
    try:
        value = getattr(import_module(module, __name__), name)
    except ImportError as err:
        raise ImportError(
            f"cardlib.keys.{name} needs the {extra!r} extra: pip install 'cardlib[{extra}]' "
            f"({err})"
        ) from err
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
