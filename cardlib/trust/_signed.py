"""Documents signed by the national root (trust lists, revocation lists): one way to open them.

A root-signed document is a tagged COSE_Sign1 whose protected header names its content type
(label 3) and the root key's algorithm. It is checked against the pinned root certificate's key
**before** its payload is read; the payload bytes are returned only then.
"""

from __future__ import annotations

from .._errors import CardError, DecodeError, SignatureInvalidError
from .._limits import Limits
from ..codec import _cose
from ..keys import BY_NAME, PrivateKey
from ._certs import kid_for_certificate, root_public_key

HEADER_CONTENT_TYPE = 3


def sign_root_document(root_key: PrivateKey, root_der: bytes, *, content_type: str,
                       payload: bytes) -> bytes:
    """A tagged COSE_Sign1 of ``payload`` signed by the root key, naming ``content_type``, the
    algorithm and (as a hint) the root certificate's kid in the protected header."""
    protected = _cose.encode_header({
        _cose.HEADER_ALG: BY_NAME[root_key.algorithm].cose_id,
        HEADER_CONTENT_TYPE: content_type,
        _cose.HEADER_KID: kid_for_certificate(root_der),
    })
    signature = root_key.sign(_cose.sig_structure(protected, payload))
    return _cose.encode(protected, {}, payload, signature)


def open_root_signed(
    data: bytes,
    root_der: bytes,
    *,
    content_type: str,
    what: str,
    limits: Limits,
    invalid: type[CardError],
    bad_signature: type[CardError],
) -> bytes:
    """The payload of a COSE_Sign1 of ``content_type`` signed by the pinned root.

    Raises ``invalid`` for a structural problem and ``bad_signature`` when the signature is
    not the root's (or is malformed), with messages naming ``what`` ("trust list", …).
    """
    root = root_public_key(root_der)
    if not data:
        raise invalid(f"the {what} is empty")
    try:
        message = _cose.decode(data, limits)
    except DecodeError as err:  # truncated, random or another kind of file: the file's fault
        raise invalid(f"this is not a {what}, or it is damaged ({err.message})") from None
    if message.envelope != "tag18":
        raise invalid(f"a {what} is a tagged COSE_Sign1 (tag 18)")
    header = message.protected_header
    if header.get(HEADER_CONTENT_TYPE) != content_type:
        raise invalid(f"this COSE message is not a {what} (content type {content_type!r} missing)")
    if header.get(_cose.HEADER_ALG) != BY_NAME[root.algorithm].cose_id:
        raise invalid(f"the {what}'s protected algorithm is not the root key's ({root.algorithm})")
    try:
        root.verify(message.signature, _cose.sig_structure(message.protected, message.payload))
    except SignatureInvalidError as err:
        raise bad_signature(
            f"the {what} is not signed by the pinned root (another root, or altered); keep using "
            "the last list you accepted"
        ) from err
    except CardError as err:  # malformed signature bytes
        raise bad_signature(f"the {what}'s signature is unusable ({err})") from err
    return message.payload
