"""Issue and verify: the pipeline record → claims → CBOR → COSE_Sign1 → zlib → Base45, and back.

Verification follows the order of ``specs/format.md`` section 7: structure, algorithm, key,
signature, and only then the signed content and its times. An encrypted payload
(COSE_Encrypt0 around the COSE_Sign1, section 5.3) is decrypted first with a key the caller
gives, and its COSE_Sign1 is then verified exactly as an unencrypted one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from ._errors import (
    AlgorithmKeyMismatchError,
    AlgorithmMissingError,
    AlgorithmUnsupportedError,
    CardError,
    CentreMismatchError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    ClaimsError,
    CoseError,
    DecodeError,
    DecryptionError,
    DecryptionKeyMissingError,
    EncryptionAlgorithmError,
    ExpiredError,
    InputTooLargeError,
    KeyFileError,
    KeyRevokedError,
    NotYetValidError,
    Problem,
    SignatureInvalidError,
    SigningError,
    UnknownKeyError,
    ValidationError,
    ValidityError,
)
from ._limits import DEFAULT_LIMITS, Limits
from ._values import json_value
from .codec import _base45, _cbor, _cose, _zlib
from .keys import (
    ALGORITHMS,
    BY_NAME,
    CONTENT_ALGORITHMS,
    IV_BYTES,
    ContentAlgorithm,
    PublicKey,
    Signer,
    SymmetricKey,
    TrustStore,
)
from .profile import (
    CONTROL_CHARS,
    DEFAULT_RULES,
    Claim169,
    HolderRecord,
    Rules,
    check_record,
    has_profile,
    read_claim169,
    read_profile,
    record_from_claims,
    to_claims,
)

CWT_ISS, CWT_SUB, CWT_EXP, CWT_NBF, CWT_IAT, CWT_CLAIM169 = 1, 2, 4, 5, 6, 169
DEFAULT_ISSUER = "LBY"
DEFAULT_SKEW = timedelta(minutes=5)

#: The decryption keys a call may be given: one key, or several (tried as §5.3 says).
DecryptionKeys = SymmetricKey | Iterable[SymmetricKey]


@dataclass(frozen=True, slots=True)
class Layers:
    """Every intermediate layer of one issued payload (for test vectors and ``inspect``)."""

    claims: dict[int, Any]
    cbor: bytes
    protected: bytes
    sig_structure: bytes
    signature: bytes
    cose: bytes
    compressed: bytes
    base45: str
    encrypt0: bytes | None = None  # the COSE_Encrypt0 around ``cose``, when encrypted


@dataclass(frozen=True, slots=True)
class VerifiedCard:
    """A card whose signature was verified against a trusted key and whose times are valid.

    ``record`` is the national-number profile's holder record, or ``None`` for a Claim 169
    payload without the profile (for example one made by another issuer's tool); ``claims``
    always holds the standard fields exactly as signed.
    """

    record: HolderRecord | None
    claims: Claim169
    algorithm: str
    kid: bytes | None
    issuer: str | None
    subject: str | None
    issued_at: datetime | None
    not_before: datetime | None
    expires_at: datetime | None
    envelope: str
    compressed: bool
    signer: str | None = None  # the certified signer's label (its centre code), when known
    # The trusted key whose signature held (its certificate window and revocation, if any).
    signing_key: PublicKey | None = field(default=None, repr=False, compare=False)
    # The content encryption algorithm (A256GCM, ...) of an encrypted payload, else None.
    encryption: str | None = None


_EPOCH_DAY = date(1970, 1, 1).toordinal()
# The last second a CWT time may name here (9999-12-31T23:59:59Z): Python dates end there.
MAX_TIME = 253_402_300_799


def end_of_day(day: date) -> int:
    """CWT exp for a card valid through ``day``: the next midnight, UTC, in seconds."""
    return (day.toordinal() + 1 - _EPOCH_DAY) * 86_400


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def build(
    record: HolderRecord,
    signer: Signer,
    *,
    now: datetime,
    issuer: str = DEFAULT_ISSUER,
    rules: Rules = DEFAULT_RULES,
    compress: bool = True,
    encrypt_key: SymmetricKey | None = None,
    iv_source: Callable[[int], bytes] = os.urandom,
) -> Layers:
    """Normalise (NFC), validate, sign and encode ``record``, keeping every layer.

    With ``encrypt_key`` the COSE_Sign1 is encrypted into a COSE_Encrypt0 (a fresh IV from
    ``iv_source`` for each card) before compression.
    """
    if encrypt_key is not None and not isinstance(encrypt_key, SymmetricKey):
        raise KeyFileError("encrypt_key must be a cardlib.SymmetricKey (an AES-GCM key)")
    record = record.normalised()
    problems = list(check_record(record, rules))
    centre = getattr(signer, "centre_code", None)  # a certified signer's centre
    if isinstance(centre, str) and record.centre_code != centre:
        problems.append(Problem("centre_code", "signer_mismatch",
                                f"the signer is the key of centre {centre}; a centre issues "
                                "only cards that name it (verifiers refuse centre_mismatch)"))
    issued_at = int(_utc(now).timestamp())
    if not 0 <= issued_at <= MAX_TIME - 86_400:
        problems.append(Problem("now", "range", "the signing time must be between 1970 and 9998"))
        issued_at = 0
    moment = datetime.fromtimestamp(issued_at, UTC)
    if (not isinstance(issuer, str) or not 0 < len(issuer) <= 256 or not _encodable(issuer)
            or issuer != issuer.strip() or CONTROL_CHARS.search(issuer)):
        problems.append(Problem("issuer", "type", "the issuer (CWT iss) is 1-256 characters "
                                "of printable text"))
    exp = end_of_day(record.expiry_date) if isinstance(record.expiry_date, date) else 0
    if not problems and exp <= issued_at:
        problems.append(Problem("expiry_date", "past", "the card would already be expired"))
    if not problems and record.issue_date.toordinal() > moment.date().toordinal() + 1:
        problems.append(Problem("issue_date", "future",
                                "the issue date is later than the time of signing"))
    if problems:
        raise ValidationError(problems)
    claims = to_claims(record, rules)
    cwt = {CWT_ISS: issuer, CWT_EXP: exp, CWT_NBF: issued_at, CWT_IAT: issued_at,
           CWT_CLAIM169: claims}
    payload = _cbor.dumps(cwt)
    alg = BY_NAME.get(signer.algorithm)
    if alg is None:
        raise AlgorithmUnsupportedError(f"the signer's algorithm {signer.algorithm!r} is not "
                                        f"supported; use one of {sorted(BY_NAME)}")
    kid = signer.kid
    if not isinstance(kid, bytes) or not 0 < len(kid) <= DEFAULT_LIMITS.max_kid_bytes:
        raise SigningError(
            f"the signer must provide a kid of 1-{DEFAULT_LIMITS.max_kid_bytes} bytes"
        )
    protected = _cose.encode_header({_cose.HEADER_ALG: alg.cose_id, _cose.HEADER_KID: kid})
    to_sign = _cose.sig_structure(protected, payload)
    try:
        signature = signer.sign(to_sign)
    except CardError:
        raise
    except Exception as err:  # an external signer (HSM, remote service) failed
        raise SigningError(f"the signer failed: {type(err).__name__}: {err}") from err
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise SigningError(f"the signer returned {type(signature).__name__} of length "
                           f"{len(signature) if isinstance(signature, bytes) else '?'}; a "
                           f"{alg.name} signature is 64 raw bytes")
    cose = _cose.encode(protected, {}, payload, signature)
    sealed = None if encrypt_key is None else seal(cose, encrypt_key, iv_source=iv_source)
    outer = cose if sealed is None else sealed
    compressed = _zlib.compress(outer) if compress else outer
    return Layers(claims, payload, protected, to_sign, signature, cose, compressed,
                  _base45.b45encode(compressed), sealed)


def seal(cose: bytes, key: SymmetricKey, *,
         iv_source: Callable[[int], bytes] = os.urandom) -> bytes:
    """COSE_Encrypt0 around a COSE_Sign1 (RFC 9052 §5.3): protected {1: alg}, unprotected
    {5: a fresh 12-byte IV} and, when the key has one, {4: kid}; the AAD is the Enc_structure
    over the protected header."""
    protected = _cose.encode_header({_cose.HEADER_ALG: key.cose_id})
    iv, ciphertext = key.encrypt(cose, _cose.enc_structure(protected), iv_source=iv_source)
    unprotected: dict[int, Any] = {_cose.HEADER_IV: iv}
    if key.kid is not None:
        unprotected[_cose.HEADER_KID] = key.kid
    return _cose.encode_encrypt0(protected, unprotected, ciphertext)


def issue(
    record: HolderRecord,
    signer: Signer,
    *,
    now: datetime | None = None,
    issuer: str = DEFAULT_ISSUER,
    rules: Rules = DEFAULT_RULES,
    encrypt_key: SymmetricKey | None = None,
) -> str:
    """Sign ``record`` and return the Base45 payload for the card's QR code.

    Text is normalised to Unicode NFC before validation and signing, so the verified record
    equals ``record.normalised()``.
    ``now`` (default: the current time, UTC) becomes the CWT iat and nbf; the card expires at the
    end of ``record.expiry_date`` (UTC). Raises :class:`ValidationError` listing every problem.
    With ``encrypt_key`` the signed card is also encrypted (COSE_Encrypt0, AES-GCM): only a
    verifier given the same key can read it.
    """
    return build(record, signer, now=_utc(now), issuer=issuer, rules=rules,
                 encrypt_key=encrypt_key).base45


def unwrap(payload: str, limits: Limits, decryption_keys: DecryptionKeys = ()) -> tuple[
    _cose.Sign1, bool
]:
    """Base45 text → COSE_Sign1 (not verified), decrypted first if it is a COSE_Encrypt0.
    Returns the message and whether it was zlib'd."""
    message, compressed, _ = _open(payload, limits, as_decryption_keys(decryption_keys))
    return message, compressed


def _unpack(payload: str, limits: Limits) -> tuple[bytes, bool]:
    """Base45 text → the (inflated) COSE bytes, and whether they were zlib'd."""
    if not isinstance(payload, str):
        raise DecodeError("the payload must be text (the QR code's content)")
    if len(payload) > limits.max_input_chars:
        raise InputTooLargeError(
            f"the payload has {len(payload)} characters; at most {limits.max_input_chars} "
            "are accepted"
        )
    data = _base45.b45decode(payload)
    compressed = _zlib.looks_compressed(data)
    if compressed:
        data = _zlib.decompress(data, limits.max_decompressed_bytes)
    elif len(data) > limits.max_decompressed_bytes:
        raise InputTooLargeError("the payload is larger than the decompression limit")
    return data, compressed


def _open(payload: str, limits: Limits, keys: tuple[SymmetricKey, ...]) -> tuple[
    _cose.Sign1, bool, str | None
]:
    """The COSE_Sign1 of ``payload`` (decrypted with ``keys`` if it came as a COSE_Encrypt0),
    whether it was zlib'd, and the content encryption algorithm's name (or None)."""
    data, compressed = _unpack(payload, limits)
    message = _cose.decode_message(data, limits)
    if type(message) is _cose.Sign1:
        return message, compressed, None
    assert isinstance(message, _cose.Encrypt0)
    alg, plaintext = _decrypt(message, keys, limits)
    return _inner_sign1(plaintext, limits), compressed, alg.name


def as_decryption_keys(keys: DecryptionKeys) -> tuple[SymmetricKey, ...]:
    """One key or several, as a tuple; anything but :class:`SymmetricKey` values (raw bytes,
    hex text) is ``key_file_invalid``."""
    if isinstance(keys, SymmetricKey):
        return (keys,)
    if isinstance(keys, str | bytes | bytearray | memoryview):
        raise KeyFileError("decryption keys must be cardlib.SymmetricKey values (load a key "
                           "file's bytes with cardlib.SymmetricKey.load)")
    collected = tuple(keys)
    for key in collected:
        if not isinstance(key, SymmetricKey):
            raise KeyFileError(f"decryption keys must be cardlib.SymmetricKey values, not "
                               f"{type(key).__name__}")
    return collected


def _content_algorithm(message: _cose.Encrypt0) -> ContentAlgorithm:
    if _cose.HEADER_ALG not in message.protected_header:
        where = " (it is in the unprotected header, which is not authenticated)" if (
            _cose.HEADER_ALG in message.unprotected_header) else ""
        raise EncryptionAlgorithmError(
            f"the encryption algorithm is missing from the protected header{where}")
    named = message.protected_header[_cose.HEADER_ALG]
    alg = CONTENT_ALGORITHMS.get(named) if type(named) is int else None
    if alg is None:
        raise EncryptionAlgorithmError(
            f"content encryption algorithm {str(named)[:40]!r} is not accepted; only A128GCM "
            "(1), A192GCM (2) and A256GCM (3) are")
    return alg


def _decrypt(message: _cose.Encrypt0, keys: tuple[SymmetricKey, ...], limits: Limits) -> tuple[
    ContentAlgorithm, bytes
]:
    """The algorithm and the plaintext of a COSE_Encrypt0, or a typed refusal (§5.3, §7):
    algorithm, IV length, kid, then the keys: those with the card's kid, then those without a
    kid (with no kid on the card: every key), of the algorithm's size, each tried in turn."""
    alg = _content_algorithm(message)
    iv = message.header(_cose.HEADER_IV)
    if len(iv) != IV_BYTES:
        raise CoseError(f"the IV of {alg.name} is {IV_BYTES} bytes, not {len(iv)}")
    kid = message.header(_cose.HEADER_KID)
    if kid is not None and (type(kid) is not bytes or not 0 < len(kid) <= limits.max_kid_bytes):
        raise CoseError(f"the kid must be a byte string of 1-{limits.max_kid_bytes} bytes")
    named = "" if kid is None else f", kid {kid.hex()}"
    if not keys:
        raise DecryptionKeyMissingError(
            f"the card's data is encrypted ({alg.name}{named}); give the key its issuer shares "
            "with authorised verifiers (decryption_keys=, --decrypt-key, "
            "VERIFIER_DECRYPTION_KEYS)")
    sized = [key for key in keys if len(key.secret) == alg.key_bytes]
    candidates = sized if kid is None else (
        [key for key in sized if key.kid == kid] + [key for key in sized if key.kid is None])
    if not candidates:
        which = "" if kid is None else f" with kid {kid.hex()} or without a kid"
        raise DecryptionError(f"no configured decryption key is a {alg.key_bytes * 8}-bit "
                              f"key{which}, as {alg.name} needs")
    aad = _cose.enc_structure(message.protected)
    failure: DecryptionError | None = None
    for key in candidates:
        try:
            return alg, key.decrypt(iv, message.ciphertext, aad)
        except DecryptionError as err:
            failure = err
    assert failure is not None
    raise failure


def _is_map(data: bytes) -> bool:
    """Whether ``data`` starts with a CBOR map head (major type 5)."""
    return data[:1] != b"" and data[0] >> 5 == 5


def _inner_sign1(plaintext: bytes, limits: Limits) -> _cose.Sign1:
    """The COSE_Sign1 an encrypted payload must hold (one layer of encryption, no more)."""
    if plaintext[:1] == _cose.ENCRYPT0_START:
        raise CoseError("the encrypted content is another COSE_Encrypt0; a card is encrypted "
                        "once, around its COSE_Sign1")
    if _is_map(plaintext):
        raise CoseError("the encrypted content is a bare CWT claims map, not a COSE_Sign1: it "
                        "is not signed, so it is not accepted as a card (inspect shows it)")
    return _cose.decode(plaintext, limits)


def _as_trust(trust: TrustStore | PublicKey | Iterable[PublicKey]) -> TrustStore:
    if isinstance(trust, TrustStore):
        return trust
    if isinstance(trust, PublicKey):
        return TrustStore([trust])
    return TrustStore(trust)


def _candidates(message: _cose.Sign1, trust: TrustStore, limits: Limits) -> tuple[
    str, bytes | None, tuple[PublicKey, ...]
]:
    """The algorithm, the kid and the trusted keys to try, or a typed refusal."""
    if _cose.HEADER_ALG not in message.protected_header:
        where = " (it is in the unprotected header, which is not signed)" if (
            _cose.HEADER_ALG in message.unprotected_header) else ""
        raise AlgorithmMissingError(f"the algorithm is missing from the protected header{where}")
    named = message.protected_header[_cose.HEADER_ALG]
    alg = ALGORITHMS.get(named) if type(named) is int else None
    if alg is None:
        raise AlgorithmUnsupportedError(
            f"algorithm {str(named)[:40]!r} is not accepted; only EdDSA (-8) and ES256 (-7) are"
        )
    kid = message.protected_header.get(_cose.HEADER_KID)
    if kid is None:
        kid = message.unprotected_header.get(_cose.HEADER_KID)
    if kid is not None and (type(kid) is not bytes or not 0 < len(kid) <= limits.max_kid_bytes):
        raise CoseError(f"the kid must be a byte string of 1-{limits.max_kid_bytes} bytes")
    if kid is None:
        keys = trust.by_algorithm(alg.name)
        if not keys:
            raise UnknownKeyError(f"the card names no key and no {alg.name} key is trusted")
        return alg.name, None, keys
    keys = trust.by_kid(kid)
    if not keys:
        raise UnknownKeyError(f"no trusted key has kid {kid.hex()}; is the issuer's key loaded?")
    matching = tuple(k for k in keys if k.algorithm == alg.name)
    if not matching:
        raise AlgorithmKeyMismatchError(
            f"the card says {alg.name} but the trusted key {kid.hex()} is "
            f"{keys[0].algorithm}; refused (algorithm confusion)"
        )
    return alg.name, kid, matching


def _check_signature(message: _cose.Sign1, keys: tuple[PublicKey, ...]) -> PublicKey:
    """The trusted key whose signature matches (several may share a kid)."""
    to_verify = _cose.sig_structure(message.protected, message.payload)
    failure: CardError | None = None
    for key in keys:
        try:
            key.verify(message.signature, to_verify)
        except SignatureInvalidError as err:
            failure = err
            continue
        return key
    assert failure is not None
    raise failure


def check_signer(key: PublicKey, iat: int | None) -> None:
    """A certified key signs only inside its certificate's window and before its revocation
    (never, once revoked as compromised). Also judges the cards a centre syncs."""
    if key.valid_from is None and key.valid_until is None and key.revoked_at is None:
        return
    who = key.label or key.kid.hex()
    if iat is None:
        raise ClaimsError(f"a card signed by a certified key ({who}) must state its iat")
    signed = datetime.fromtimestamp(iat, UTC)
    if key.revoked_at is not None and key.revocation_reason != "superseded":
        # A compromised key (or one revoked without a reason) may sign with any iat it likes:
        # none of its cards can be trusted, whatever date they claim.
        raise KeyRevokedError(
            f"the signing key of {who} was revoked as compromised on "
            f"{key.revoked_at:%Y-%m-%d %H:%M} UTC; every card it signed is refused (re-issue)")
    if key.revoked_at is not None and signed >= key.revoked_at:
        raise KeyRevokedError(
            f"the signing key of {who} was revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC; "
            f"this card was signed on {signed:%Y-%m-%d %H:%M} UTC")
    if key.valid_from is not None and signed < key.valid_from:
        raise CertificateNotYetValidError(
            f"the card was signed before the certificate of {who} became valid")
    if key.valid_until is not None and signed > key.valid_until:
        raise CertificateExpiredError(
            f"the card was signed after the certificate of {who} expired")


def _time(cwt: Mapping[Any, Any], label: int, name: str) -> int | None:
    value = cwt.get(label)
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_TIME:
        raise ClaimsError(
            f"the CWT {name} claim must be a whole number of seconds from 1970 to 9999"
        )
    return value


def _stamp(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


_CWT_KEYS: Final = frozenset({CWT_ISS, CWT_SUB, CWT_EXP, CWT_NBF, CWT_IAT, CWT_CLAIM169})
_INT_ONLY: Final = frozenset({int})
_Signed = tuple[str | None, str | None, int | None, int | None, int | None, Claim169,
                HolderRecord | None]


def _read_fixed(payload: bytes, limits: Limits, rules: Rules) -> _Signed | None:
    """The signed CWT of a valid profile card, read in one pass (the common case); None for any
    other content, which :func:`_read_cwt` and :func:`_read_claims` then read or refuse.

    Accepts only what those accept, and returns what they return: every value of the CWT map
    is type-checked here, the claim 169 map by :func:`cardlib.profile.read_profile`, and the
    limits are at least as generous as such a card needs (item count, depth, text length).
    """
    if limits.max_items < 128 or limits.max_depth < 3 or limits.max_text_chars < 260:
        return None
    try:
        cwt = _cbor.loads_unchecked(payload, limits)
    except CardError:
        return None
    if type(cwt) is not dict or not cwt.keys() <= _CWT_KEYS or {*map(type, cwt)} != _INT_ONLY:
        return None
    raw = cwt.get(CWT_CLAIM169)
    issuer, subject = cwt.get(CWT_ISS), cwt.get(CWT_SUB)
    exp, nbf, iat = cwt.get(CWT_EXP), cwt.get(CWT_NBF), cwt.get(CWT_IAT)
    if (type(raw) is not dict or type(exp) is not int or not 0 <= exp <= MAX_TIME
            or (issuer is not None and (type(issuer) is not str
                                        or len(issuer) > limits.max_text_chars))
            or (subject is not None and (type(subject) is not str
                                         or len(subject) > limits.max_text_chars))
            or (nbf is not None and (type(nbf) is not int or not 0 <= nbf <= MAX_TIME))
            or (iat is not None and (type(iat) is not int or not 0 <= iat <= MAX_TIME))):
        return None
    read = read_profile(raw, rules)
    if read is None or exp != end_of_day(read[1].expiry_date):
        return None
    return issuer, subject, exp, nbf, iat, read[0], read[1]


def _read_cwt(payload: bytes, limits: Limits) -> tuple[
    dict[Any, Any], str | None, str | None, int | None, int | None, int | None
]:
    """The CWT claims map (strict), its claim 169 map and its standard claims, or a refusal."""
    cwt = _cbor.loads(payload, limits)
    if type(cwt) is not dict:
        raise ClaimsError("the signed payload must be a CWT claims map")
    raw = cwt.get(CWT_CLAIM169)
    if type(raw) is bytes:
        raw = _cbor.loads(raw, limits)
    if type(raw) is not dict:
        raise ClaimsError("claim 169 (the identity map) is missing or is not a map")
    issuer, subject = cwt.get(CWT_ISS), cwt.get(CWT_SUB)
    if (issuer is not None and type(issuer) is not str) or (
            subject is not None and type(subject) is not str):
        raise ClaimsError("the CWT iss and sub claims must be text")
    return (raw, issuer, subject, _time(cwt, CWT_EXP, "exp"), _time(cwt, CWT_NBF, "nbf"),
            _time(cwt, CWT_IAT, "iat"))


def _read_claims(raw: dict[Any, Any], exp: int | None, rules: Rules) -> tuple[
    Claim169, HolderRecord | None
]:
    """The standard view and, for a profile card, the validated holder record."""
    claims = read_claim169(raw)
    if not has_profile(raw):
        return claims, None
    record = record_from_claims(raw, claims, rules)
    if exp != end_of_day(record.expiry_date):
        raise ValidationError([Problem("cwt.exp", "inconsistent",
                                       "exp must be the end of the card's expiry date")])
    return claims, record


def _refusal(signer: PublicKey, iat: int | None, exp: int | None, nbf: int | None, moment: int,
             slack: int) -> ValidityError | KeyRevokedError | None:
    """Why an authentic card is refused for its times or its signer's window, if it is."""
    try:
        check_signer(signer, iat)
        if exp is not None and moment - slack >= exp:
            raise ExpiredError(f"the card expired on {_stamp(exp):%Y-%m-%d %H:%M} UTC")
        start = max(-1 if nbf is None else nbf, -1 if iat is None else iat)
        if start >= 0 and moment + slack < start:  # -1: neither nbf nor iat is present
            raise NotYetValidError(
                f"the card is not valid before {_stamp(start):%Y-%m-%d %H:%M} UTC")
    except (ValidityError, KeyRevokedError) as err:
        return err
    return None


def verify(
    payload: str,
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    now: datetime | None = None,
    skew: timedelta = DEFAULT_SKEW,
    limits: Limits = DEFAULT_LIMITS,
    rules: Rules = DEFAULT_RULES,
    decryption_keys: DecryptionKeys = (),
) -> VerifiedCard:
    """Verify a Base45 payload and return the card, or raise a :class:`CardError`.

    The signature is checked against ``trust`` before any signed content is read. ``now``
    defaults to the current time (UTC); ``skew`` is the clock tolerance applied to exp, nbf and
    iat. An encrypted payload (COSE_Encrypt0) is decrypted with ``decryption_keys`` first
    (none given: ``decryption_key_missing``), then verified as any other.
    """
    moment = int(_utc(now).timestamp())
    store = _as_trust(trust)
    secrets = as_decryption_keys(decryption_keys) if decryption_keys else ()
    message, compressed, encryption = _open(payload, limits, secrets)
    algorithm, kid, keys = _candidates(message, store, limits)
    signer = _check_signature(message, keys)
    # --- the content below is signed by a trusted key ---
    failure: CardError | None = None
    signed = _read_fixed(message.payload, limits, rules)
    if signed is not None:
        issuer, subject, exp, nbf, iat, claims, record = signed
    else:  # any other content: read field by field, each problem named
        raw, issuer, subject, exp, nbf, iat = _read_cwt(message.payload, limits)
        try:
            claims, record = _read_claims(raw, exp, rules)
        except CardError as err:
            failure = err
    # A certified centre signs only cards that name it (key 21, the profile's centre_code, or
    # the standard locationCode of a card without the profile).
    if failure is None and signer.label is not None and claims.location_code not in (
            None, signer.label):
        failure = CentreMismatchError(f"the card names centre {claims.location_code} but was "
                                      f"signed with the certificate of centre {signer.label}")
    # A card refused for its times or its signer's window is still authentic: its content is
    # read (it is signed) and handed to the caller on the error, so a clerk sees whose it is.
    # That refusal comes first (§7); a problem in the content is reported only without one.
    refusal = _refusal(signer, iat, exp, nbf, moment, int(skew.total_seconds()))
    if failure is not None:
        raise refusal or failure
    card = VerifiedCard(record, claims, algorithm, kid, issuer, subject, _stamp(iat),
                        _stamp(nbf), _stamp(exp), message.envelope, compressed, signer.label,
                        signer, encryption)
    if refusal is not None:
        refusal.card = card
        raise refusal
    return card


def inspect(payload: str, limits: Limits = DEFAULT_LIMITS, *,
            decryption_keys: DecryptionKeys = ()) -> dict[str, Any]:
    """Every layer of ``payload`` as JSON-friendly values. NOTHING here is verified.

    An encrypted payload is decrypted with ``decryption_keys`` (it is refused without one, as
    by :func:`verify`); its layers then include ``encryption``, and content that is not a
    COSE_Sign1 but a bare CWT claims map (unsigned) is shown too.
    """
    data, compressed = _unpack(payload, limits)
    message = _cose.decode_message(data, limits)
    layers: dict[str, Any] = {
        "verified": False,
        "warning": "UNVERIFIED: nothing below has been checked against a trusted key",
        "compressed": compressed,
    }
    if type(message) is _cose.Encrypt0:
        alg, plaintext = _decrypt(message, as_decryption_keys(decryption_keys), limits)
        layers["encryption"] = {
            "algorithm": alg.name,
            "protected_header": json_value(message.protected_header, bytes_as_object=True),
            "unprotected_header": json_value(message.unprotected_header, bytes_as_object=True),
            "enc_structure_hex": _cose.enc_structure(message.protected).hex(),
            "ciphertext_hex": message.ciphertext.hex(),
            "plaintext_hex": plaintext.hex(),
        }
        if _is_map(plaintext):  # a bare CWT: no signature at all (never accepted by verify)
            layers["signed"] = False
            _inspect_claims(plaintext, limits, layers)
            return layers
        message = _inner_sign1(plaintext, limits)
    assert isinstance(message, _cose.Sign1)
    layers.update({
        "envelope": message.envelope,
        "protected_header": json_value(message.protected_header, bytes_as_object=True),
        "unprotected_header": json_value(message.unprotected_header, bytes_as_object=True),
        "signature_hex": message.signature.hex(),
        "sig_structure_hex": _cose.sig_structure(message.protected, message.payload).hex(),
        "payload_hex": message.payload.hex(),
    })
    _inspect_claims(message.payload, limits, layers)
    return layers


def _inspect_claims(payload: bytes, limits: Limits, layers: dict[str, Any]) -> None:
    """``claims`` (the CWT, claim 169 decoded if bstr-wrapped) or ``claims_error``."""
    try:
        cwt = _cbor.loads(payload, limits)
        if isinstance(cwt, _cbor.MAP_TYPES) and type(cwt.get(CWT_CLAIM169)) is bytes:
            cwt = dict(cwt)
            cwt[CWT_CLAIM169] = _cbor.loads(cwt[CWT_CLAIM169], limits)
        layers["claims"] = json_value(cwt, bytes_as_object=True)
    except CardError as err:
        layers["claims_error"] = {"code": err.code, "message": err.message}
