"""A :class:`cardlib.Signer` whose private key never leaves a PKCS#11 token (an HSM, a smart card,
SoftHSM2 in tests).

The only module that imports ``python-pkcs11`` (the ``hsm`` extra): every exception it raises is
wrapped here into an :class:`HsmError` with a stable code. The PIN is handed to the token's
``C_Login`` and nowhere else: it is not stored, logged, or put into a message.

Algorithms, each found from the key's type and curve (``CKA_KEY_TYPE`` and ``CKA_EC_PARAMS``):

* ES256: a P-256 key (``CKK_EC``); the SHA-256 digest is computed here and signed by the token with
  ``CKM_ECDSA``, which returns the raw ``r||s`` (64 bytes) that COSE uses.
* EdDSA: an Ed25519 key (``CKK_EC_EDWARDS``), signed with ``CKM_EDDSA`` (pure Ed25519, no
  parameters). Needs a PKCS#11 3.0 token; SoftHSM2 2.6 built with OpenSSL 1.1.1+ has it.

Each signature is checked against the token's public key before it is returned, so a faulty token
or a public key object that belongs to another private key never yields a card.

PKCS#11 logs in per token and per process, not per session: one process holds at most one open
signer (or :func:`generate_keypair` call) per token at a time; a second gets ``hsm_token_in_use``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, cast

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from .._errors import (
    CardError,
    HsmError,
    HsmInputError,
    HsmKeyAmbiguousError,
    HsmKeyExistsError,
    HsmKeyMismatchError,
    HsmKeyNotFoundError,
    HsmKeyUnsupportedError,
    HsmModuleError,
    HsmPinError,
    HsmPinLockedError,
    HsmSigningError,
    HsmTokenInUseError,
    HsmTokenNotFoundError,
    SignatureInvalidError,
)
from ._keys import PublicKey

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as _Lib

# --- third-party errors -> ours (a registry, most specific first) ------------------------------

_WRAP: Final[tuple[tuple[type[Exception], type[HsmError], str], ...]] = (
    (pkcs11.PinIncorrect, HsmPinError, "the token refused the PIN; check it and try again"),
    (pkcs11.PinInvalid, HsmPinError, "the PIN contains characters the token does not accept"),
    (pkcs11.PinLenRange, HsmPinError, "the PIN is too short or too long for this token"),
    (pkcs11.PinExpired, HsmPinError, "the PIN has expired; set a new one with the token's tool"),
    (pkcs11.PinLocked, HsmPinLockedError,
     "the PIN is locked after too many wrong tries; the security officer must unlock it"),
    (pkcs11.UserPinNotInitialized, HsmPinError,
     "the token has no user PIN yet; initialise it with the token's tool"),
    (pkcs11.UserAlreadyLoggedIn, HsmTokenInUseError,
     "this process is already logged in to the token; close the other signer first"),
    (pkcs11.AnotherUserAlreadyLoggedIn, HsmTokenInUseError,
     "another user (the security officer?) is logged in to the token; log them out first"),
    (pkcs11.NoSuchToken, HsmTokenNotFoundError,
     "no token has this label; list the tokens (softhsm2-util --show-slots, pkcs11-tool -L)"),
    (pkcs11.MultipleTokensReturned, HsmTokenNotFoundError,
     "more than one token has this label; give each token a distinct label"),
    (pkcs11.TokenNotPresent, HsmTokenNotFoundError, "the token was removed; insert it again"),
    (pkcs11.DeviceRemoved, HsmTokenNotFoundError, "the token was removed; insert it again"),
    (pkcs11.MechanismInvalid, HsmKeyUnsupportedError,
     "the token does not support the signing mechanism this key needs"),
    (pkcs11.KeyTypeInconsistent, HsmKeyUnsupportedError,
     "the key's type does not fit the signing mechanism"),
    (pkcs11.TokenWriteProtected, HsmError, "the token is write-protected"),
)


def _wrap(err: Exception, doing: str) -> HsmError:
    """An :class:`HsmError` for a python-pkcs11 exception (the caller raises it ``from err``).

    The message names the PKCS#11 error class only: none of them carries the PIN.
    """
    for their, ours, advice in _WRAP:
        if isinstance(err, their):
            return ours(f"{doing}: {advice} ({type(err).__name__})")
    return HsmError(f"{doing}: the PKCS#11 module reported {type(err).__name__}")


# --- algorithms: {name: Scheme} ------------------------------------------------------------------

_P256_OID: Final = bytes.fromhex("06082a8648ce3d030107")  # 1.2.840.10045.3.1.7 (secp256r1)
_ED25519_OID: Final = bytes.fromhex("06032b6570")  # 1.3.101.112 (id-Ed25519, RFC 8410)
_ED25519_NAME: Final = b"\x13\x0cedwards25519"  # PrintableString form of PKCS#11 3.0


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _as_is(data: bytes) -> bytes:
    return data


@dataclass(frozen=True, slots=True)
class _Scheme:
    """How one cardlib algorithm maps onto PKCS#11."""

    name: str
    key_type: KeyType
    ec_params: tuple[bytes, ...]  # accepted CKA_EC_PARAMS; the first is used to generate
    point_sizes: tuple[int, ...]  # accepted raw public key sizes
    mechanism: Mechanism
    prepare: Callable[[bytes], bytes]  # what the token signs, from the data to sign


_SCHEMES: Final[dict[str, _Scheme]] = {
    "ES256": _Scheme("ES256", KeyType.EC, (_P256_OID,), (65, 33), Mechanism.ECDSA, _sha256),
    "EdDSA": _Scheme(
        "EdDSA", KeyType.EC_EDWARDS, (_ED25519_OID, _ED25519_NAME), (32,), Mechanism.EDDSA, _as_is
    ),
}
_SIGNATURE_BYTES: Final = 64
_PROBE: Final = b"cardlib pkcs11 key check"


def _scheme_for(key_type: object, ec_params: bytes, label: str) -> _Scheme:
    for scheme in _SCHEMES.values():
        if key_type == scheme.key_type and ec_params in scheme.ec_params:
            return scheme
    raise HsmKeyUnsupportedError(
        f"the key {label!r} is not a P-256 or Ed25519 key (type {key_type!r}, curve "
        f"{ec_params.hex() or 'none'}); cardlib signs with ES256 or EdDSA only"
    )


def _raw_point(ec_point: bytes, scheme: _Scheme) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING on most tokens (SoftHSM2), the bare point on some."""
    size = len(ec_point) - 2
    if size in scheme.point_sizes and ec_point[0] == 0x04 and ec_point[1] == size:
        return ec_point[2:]
    return ec_point


# --- the token ---------------------------------------------------------------------------------


def _library(module_path: str) -> _Lib:
    if not module_path:
        raise HsmInputError("give the path of the PKCS#11 module (a .so file)")
    if not os.path.isfile(module_path):
        raise HsmModuleError(f"the PKCS#11 module {module_path!r} does not exist")
    try:
        return pkcs11.lib(module_path)  # loaded and initialised once per process
    except pkcs11.PKCS11Error as err:
        raise HsmModuleError(
            f"the PKCS#11 module {module_path!r} cannot be loaded ({type(err).__name__}: {err})"
        ) from err


def _login(module_path: str, token_label: str, pin: str, *, rw: bool) -> pkcs11.Session:
    if not token_label:
        raise HsmInputError("give the token's label")
    if not pin:
        raise HsmInputError("give the token's user PIN")
    lib = _library(module_path)
    try:
        token = lib.get_token(token_label=token_label)
    except pkcs11.PKCS11Error as err:
        raise _wrap(err, f"opening token {token_label!r}") from err
    try:
        return token.open(user_pin=pin, rw=rw)
    except pkcs11.PKCS11Error as err:
        raise _wrap(err, f"logging in to token {token_label!r}") from err


def _close(session: pkcs11.Session) -> None:
    try:
        session.close()  # logs out, then closes
    except pkcs11.PKCS11Error as err:
        raise _wrap(err, "closing the token session") from err


def _find(
    session: pkcs11.Session, object_class: ObjectClass, attrs: dict[Attribute, Any]
) -> list[pkcs11.Object]:
    return list(session.get_objects({Attribute.CLASS: object_class, **attrs}))


def _public_for(session: pkcs11.Session, private: pkcs11.Object, label: str) -> pkcs11.Object:
    """The public key object paired with ``private``: same CKA_ID if it has one, else same label."""
    try:
        key_id = cast(bytes, private[Attribute.ID])
    except pkcs11.PKCS11Error:
        key_id = b""
    found = _find(session, ObjectClass.PUBLIC_KEY, {Attribute.LABEL: label})
    if key_id:
        found = [obj for obj in found if _attr(obj, Attribute.ID) == key_id] or _find(
            session, ObjectClass.PUBLIC_KEY, {Attribute.ID: key_id}
        )
    if len(found) != 1:
        raise HsmKeyNotFoundError(
            f"the token holds the private key {label!r} but {len(found)} matching public key "
            "objects (same CKA_ID or label); store exactly one next to it"
        )
    return found[0]


def _attr(obj: pkcs11.Object, attribute: Attribute) -> bytes:
    try:
        value = obj[attribute]
    except pkcs11.PKCS11Error:
        return b""
    return value if isinstance(value, bytes) else b""


def _public_key(public: pkcs11.Object, scheme: _Scheme, label: str) -> PublicKey:
    raw = _raw_point(_attr(public, Attribute.EC_POINT), scheme)
    try:
        return PublicKey.from_raw(scheme.name, raw)
    except CardError as err:
        raise HsmKeyUnsupportedError(
            f"the token's public key {label!r} is not a valid {scheme.name} key ({err.message})"
        ) from err


class Pkcs11Signer:
    """A :class:`cardlib.Signer` backed by a private key on a PKCS#11 token.

    Open it with :meth:`open`; close it (or use ``with``) to log out. ``kid`` is the public key's
    (SHA-256 over its SPKI, first 8 bytes) unless an explicit one is given, for example a centre
    certificate's: ``kid=cardlib.trust.kid_for_certificate(certificate_der)``.
    Safe to share between threads: one signature at a time goes to the token.
    """

    def __init__(
        self,
        *,
        session: pkcs11.Session,
        key: pkcs11.Object,
        scheme: _Scheme,
        public_key: PublicKey,
        kid: bytes,
        token_label: str,
        key_label: str,
    ) -> None:
        """Internal: use :meth:`open`, which finds the key and checks it before returning."""
        self._session = session
        self._key = key
        self._scheme = scheme
        self._kid = kid
        self._lock = threading.Lock()
        self._closed = False
        self.public_key: Final = public_key
        self.token_label: Final = token_label
        self.key_label: Final = key_label

    @classmethod
    def open(
        cls,
        module_path: str,
        *,
        token_label: str,
        pin: str,
        key_label: str,
        kid: bytes | None = None,
    ) -> Pkcs11Signer:
        """Log in to the token and find the private key ``key_label`` and its public key.

        Raises :class:`HsmError` subclasses: ``hsm_module_unavailable``, ``hsm_token_not_found``,
        ``hsm_pin_invalid``, ``hsm_key_not_found``, ``hsm_key_ambiguous``,
        ``hsm_key_unsupported``, ``hsm_key_mismatch``, ``hsm_token_in_use``.
        """
        if not key_label:
            raise HsmInputError("give the label of the signing key on the token")
        if kid is not None and not kid:
            raise HsmInputError("an explicit kid must not be empty")
        session = _login(module_path, token_label, pin, rw=False)
        try:
            return cls._build(session, token_label, key_label, kid)
        except BaseException:
            with contextlib.suppress(HsmError):  # keep the first error, not a failed logout
                _close(session)
            raise

    @classmethod
    def _build(
        cls, session: pkcs11.Session, token_label: str, key_label: str, kid: bytes | None
    ) -> Pkcs11Signer:
        try:
            keys = _find(session, ObjectClass.PRIVATE_KEY, {Attribute.LABEL: key_label})
            if not keys:
                raise HsmKeyNotFoundError(
                    f"token {token_label!r} holds no private key labelled {key_label!r}; check "
                    "the label (pkcs11-tool --list-objects) or generate the key"
                )
            if len(keys) > 1:
                raise HsmKeyAmbiguousError(
                    f"token {token_label!r} holds {len(keys)} private keys labelled "
                    f"{key_label!r}; give each key a distinct label"
                )
            private = keys[0]
            scheme = _scheme_for(
                private[Attribute.KEY_TYPE], _attr(private, Attribute.EC_PARAMS), key_label
            )
            public = _public_key(_public_for(session, private, key_label), scheme, key_label)
        except pkcs11.PKCS11Error as err:
            raise _wrap(err, f"finding key {key_label!r} on token {token_label!r}") from err
        self = cls(
            session=session,
            key=private,
            scheme=scheme,
            public_key=public,
            kid=public.kid if kid is None else bytes(kid),
            token_label=token_label,
            key_label=key_label,
        )
        try:
            self.sign(_PROBE)
        except HsmSigningError as err:
            if isinstance(err.__cause__, SignatureInvalidError):
                raise HsmKeyMismatchError(
                    f"the public key stored with {key_label!r} does not verify the private key's "
                    "signatures; the token holds a mismatched pair"
                ) from err
            raise
        return self

    @property
    def algorithm(self) -> str:
        return self._scheme.name

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def closed(self) -> bool:
        return self._closed

    def sign(self, data: bytes) -> bytes:
        """Sign on the token and return the raw 64-byte signature (ES256: r||s)."""
        message = self._scheme.prepare(bytes(data))
        with self._lock:
            if self._closed:
                raise HsmError("this PKCS#11 signer is closed; open it again")
            try:
                signature = cast(
                    bytes, self._key.sign(message, mechanism=self._scheme.mechanism)  # type: ignore[attr-defined]
                )
            except pkcs11.PKCS11Error as err:
                raise _wrap(err, f"signing with {self.key_label!r}") from err
        if len(signature) != _SIGNATURE_BYTES:
            raise HsmSigningError(
                f"the token returned a {len(signature)}-byte {self.algorithm} signature, not 64"
            )
        try:
            self.public_key.verify(signature, data)
        except CardError as err:
            raise HsmSigningError(
                f"the token's signature with {self.key_label!r} does not verify under its public "
                "key; the card was not signed"
            ) from err
        return signature

    def close(self) -> None:
        """Log out and close the session (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            _close(self._session)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<Pkcs11Signer {self.algorithm} token={self.token_label!r} key={self.key_label!r} "
            f"kid={self._kid.hex()} {state}>"
        )


def generate_keypair(
    module_path: str,
    *,
    token_label: str,
    pin: str,
    key_label: str,
    algorithm: str = "ES256",
) -> PublicKey:
    """Generate a key pair on the token, stored under ``key_label``; return its public key.

    The private key is created sensitive and non-extractable (``CKA_SENSITIVE`` true,
    ``CKA_EXTRACTABLE`` false): its value can never be read out of the token. Both objects share
    a random 16-byte ``CKA_ID``. Refuses (``hsm_key_exists``) if the label is already used.
    """
    try:
        scheme = _SCHEMES[algorithm]
    except KeyError:
        raise HsmInputError(
            f"unknown algorithm {algorithm!r}; use one of {sorted(_SCHEMES)}"
        ) from None
    if not key_label:
        raise HsmInputError("give a label for the new key")
    session = _login(module_path, token_label, pin, rw=True)
    try:
        return _generate(session, scheme, token_label, key_label)
    finally:
        _close(session)


def _generate(
    session: pkcs11.Session, scheme: _Scheme, token_label: str, key_label: str
) -> PublicKey:
    try:
        if _find(session, ObjectClass.PRIVATE_KEY, {Attribute.LABEL: key_label}) or _find(
            session, ObjectClass.PUBLIC_KEY, {Attribute.LABEL: key_label}
        ):
            raise HsmKeyExistsError(
                f"token {token_label!r} already holds a key labelled {key_label!r}; choose another "
                "label or delete the old key"
            )
        params = session.create_domain_parameters(
            scheme.key_type, {Attribute.EC_PARAMS: scheme.ec_params[0]}, local=True
        )
        public, _private = params.generate_keypair(
            id=os.urandom(16),
            label=key_label,
            store=True,
            mechanism=_KEYGEN[scheme.key_type],
            public_template={Attribute.VERIFY: True, Attribute.PRIVATE: False},
            private_template={
                Attribute.SIGN: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.PRIVATE: True,
                Attribute.DERIVE: False,
            },
        )
    except pkcs11.PKCS11Error as err:
        raise _wrap(err, f"generating an {scheme.name} key on token {token_label!r}") from err
    return _public_key(public, scheme, key_label)


_KEYGEN: Final[dict[KeyType, Mechanism]] = {
    KeyType.EC: Mechanism.EC_KEY_PAIR_GEN,
    KeyType.EC_EDWARDS: Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
}

__all__ = [
    "HsmError",
    "HsmInputError",
    "HsmKeyAmbiguousError",
    "HsmKeyExistsError",
    "HsmKeyMismatchError",
    "HsmKeyNotFoundError",
    "HsmKeyUnsupportedError",
    "HsmModuleError",
    "HsmPinError",
    "HsmPinLockedError",
    "HsmSigningError",
    "HsmTokenInUseError",
    "HsmTokenNotFoundError",
    "Pkcs11Signer",
    "generate_keypair",
]
