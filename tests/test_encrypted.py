"""Encrypted payloads (specs/format.md §5.3): COSE_Encrypt0 (tag 16, AES-GCM) around the
COSE_Sign1, written by ``issue(encrypt_key=)`` and read by ``verify``, ``inspect``, the
``Verifier``, the CLI and the service, given the key. Every refusal is a CardError with a stable
code, never another exception; the signature is verified after decryption exactly as without
it. Messages here are built independently of cardlib (cbor2 + cryptography's AESGCM) where the
test is about reading them."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import base45
import cbor2
import claim169
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient

import cardlib
from cardlib import Limits, Policy, SymmetricKey, Verifier
from cardlib._pipeline import build
from cardlib.codec import _cose
from verifier_service import Settings, create_app

from ._craft import craft, cwt
from .conftest import CHECKED, EXAMPLE, ISSUED, cli_json
from .conftest import refusal_code as _code

TAG_ENCRYPT0 = 16
ALGORITHMS = {"A128GCM": (1, 16), "A192GCM": (2, 24), "A256GCM": (3, 32)}
IV = bytes(range(12))


# --- helpers: messages built without cardlib ----------------------------------------------------


def _qr(cose: bytes, *, compress: bool = True) -> str:
    text: str = base45.b45encode(zlib.compress(cose, 9) if compress else cose).decode("ascii")
    return text


def _encrypt0(plaintext: bytes, secret: bytes, *, protected: dict[int, Any] | bytes | None = None,
              unprotected: dict[int, Any] | None = None, iv: bytes = IV,
              tag: int | None = TAG_ENCRYPT0) -> bytes:
    """A COSE_Encrypt0 of ``plaintext`` under ``secret`` (AES-GCM over the Enc_structure of the
    protected bytes as sent); the headers default to {1: alg} and {5: iv}."""
    if protected is None:
        protected = {1: {16: 1, 24: 2, 32: 3}[len(secret)]}
    head = protected if isinstance(protected, bytes) else cbor2.dumps(protected, canonical=True)
    ciphertext = AESGCM(secret).encrypt(iv, plaintext, cbor2.dumps(["Encrypt0", head, b""]))
    body = [head, {5: iv} if unprotected is None else unprotected, ciphertext]
    return cbor2.dumps(body if tag is None else cbor2.CBORTag(tag, body), canonical=True)


def _sign1(qr: str) -> bytes:
    """The COSE bytes of an unencrypted payload."""
    return zlib.decompress(base45.b45decode(qr))


def _parts(qr: str) -> tuple[bytes, dict[int, Any], bytes]:
    item = cbor2.loads(_sign1(qr))
    assert isinstance(item, cbor2.CBORTag) and item.tag == TAG_ENCRYPT0
    protected, unprotected, ciphertext = item.value
    return protected, dict(unprotected), ciphertext


@pytest.fixture(scope="module")
def secret() -> SymmetricKey:
    return SymmetricKey.generate("A256GCM")


@pytest.fixture(scope="module")
def signed(record: cardlib.HolderRecord, ed_key: cardlib.PrivateKey) -> str:
    return cardlib.issue(record, ed_key, now=ISSUED)


@pytest.fixture(scope="module")
def sealed(record: cardlib.HolderRecord, ed_key: cardlib.PrivateKey,
           secret: SymmetricKey) -> str:
    return cardlib.issue(record, ed_key, now=ISSUED, encrypt_key=secret)


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_round_trip(any_key: cardlib.PrivateKey, record: cardlib.HolderRecord,
                    algorithm: str) -> None:
    key = SymmetricKey.generate(algorithm)
    payload = cardlib.issue(record, any_key, now=ISSUED, encrypt_key=key)
    protected, unprotected, ciphertext = _parts(payload)
    assert cbor2.loads(protected) == {1: ALGORITHMS[algorithm][0]}
    assert unprotected.keys() == {5} and len(unprotected[5]) == 12
    card = cardlib.verify(payload, any_key.public_key, now=CHECKED, decryption_keys=key)
    plain = cardlib.verify(cardlib.issue(record, any_key, now=ISSUED), any_key.public_key,
                           now=CHECKED)
    assert card.encryption == algorithm and plain.encryption is None
    assert card.record == plain.record == record.normalised()
    assert (card.algorithm, card.kid, card.envelope, card.compressed) == (
        plain.algorithm, plain.kid, plain.envelope, plain.compressed)
    # Decrypted independently (cryptography), the plaintext is the card's COSE_Sign1.
    inner = AESGCM(key.secret).decrypt(unprotected[5], ciphertext,
                                       cbor2.dumps(["Encrypt0", protected, b""]))
    assert cbor2.loads(inner).tag == 18
    if any_key.algorithm == "EdDSA":  # deterministic signature: the very bytes of the card
        assert inner == _sign1(cardlib.issue(record, any_key, now=ISSUED))


def test_every_card_gets_a_fresh_iv(record: cardlib.HolderRecord, ed_key: cardlib.PrivateKey,
                                    secret: SymmetricKey) -> None:
    ivs = {_parts(cardlib.issue(record, ed_key, now=ISSUED, encrypt_key=secret))[1][5]
           for _ in range(8)}
    assert len(ivs) == 8


def test_build_keeps_every_layer_with_an_injected_iv(record: cardlib.HolderRecord,
                                                     ed_key: cardlib.PrivateKey) -> None:
    key = SymmetricKey(bytes(range(32)), kid=b"aes-1")
    layers = build(record, ed_key, now=ISSUED, encrypt_key=key, iv_source=lambda n: IV[:n])
    assert layers.encrypt0 is not None
    assert layers.encrypt0 == _encrypt0(layers.cose, key.secret, unprotected={5: IV,
                                                                               4: b"aes-1"})
    assert zlib.decompress(layers.compressed) == layers.encrypt0
    assert build(record, ed_key, now=ISSUED).encrypt0 is None
    assert _cose.enc_structure(b"\xa1\x01\x03") == cbor2.dumps(
        ["Encrypt0", b"\xa1\x01\x03", b""])
    # The same IV twice would break AES-GCM: the IV source must give 12 bytes, or nothing is made.
    assert _code(lambda: build(record, ed_key, now=ISSUED, encrypt_key=key,
                               iv_source=lambda n: b"short")) == "signing_failed"


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_enc_structure_matches_the_encoder(size: int) -> None:
    protected = bytes(size)
    assert _cose.enc_structure(protected) == cbor2.dumps(["Encrypt0", protected, b""],
                                                         canonical=True)


def test_issue_refuses_what_is_not_a_symmetric_key(record: cardlib.HolderRecord,
                                                   ed_key: cardlib.PrivateKey) -> None:
    for bad in (bytes(32), "00" * 32, ed_key):
        assert _code(partial(cardlib.issue, record, ed_key, now=ISSUED,
                             encrypt_key=bad)) == "key_file_invalid"  # type: ignore[arg-type]


# --- keys ---------------------------------------------------------------------------------------


def test_symmetric_key_files_hex_or_raw() -> None:
    raw = bytes(range(32))
    assert SymmetricKey.load(raw).secret == raw
    assert SymmetricKey.load(raw.hex().encode() + b"\n").secret == raw
    assert SymmetricKey.load(b"  " + raw.hex().upper().encode() + b"\r\n").secret == raw
    assert SymmetricKey.load(raw[:16].hex().encode()).algorithm == "A128GCM"
    assert SymmetricKey.load(raw[:24]).algorithm == "A192GCM"
    assert SymmetricKey.load(raw, kid=b"k").kid == b"k"
    for bad in (b"", raw[:15], raw + b"\n", b"00" * 15, b"zz" * 32, b"00" * 33):
        with pytest.raises(cardlib.KeyFileError) as info:
            SymmetricKey.load(bad)
        assert info.value.code == "key_file_invalid"
    for secret_bytes, kid in ((bytes(20), None), (bytes(32), b""), (bytes(32), bytes(65)),
                              (bytes(32), "kid")):
        with pytest.raises(cardlib.KeyFileError):
            SymmetricKey(secret_bytes, kid)  # type: ignore[arg-type]
    with pytest.raises(cardlib.KeyFileError):
        SymmetricKey.generate("A512GCM")
    key = SymmetricKey(raw, kid=b"\x01")
    assert raw.hex() not in repr(key) and "A256GCM" in repr(key) and "01" in repr(key)
    assert SymmetricKey.generate().secret != SymmetricKey.generate().secret


def test_decryption_keys_must_be_symmetric_keys(sealed: str, ed_key: cardlib.PrivateKey,
                                                secret: SymmetricKey) -> None:
    for bad in (secret.secret, [secret.secret], [secret, "x"], secret.secret.hex()):
        assert _code(partial(cardlib.verify, sealed, ed_key.public_key, now=CHECKED,
                             decryption_keys=bad)) == "key_file_invalid"  # type: ignore[arg-type]
        with pytest.raises(cardlib.KeyFileError):
            Verifier(keys=[ed_key.public_key], decryption_keys=bad)  # type: ignore[arg-type]


def test_kid_decides_which_keys_are_tried(record: cardlib.HolderRecord,
                                          ed_key: cardlib.PrivateKey) -> None:
    right = SymmetricKey(os.urandom(32), kid=b"2026")
    payload = cardlib.issue(record, ed_key, now=ISSUED, encrypt_key=right)
    assert _parts(payload)[1] == {5: _parts(payload)[1][5], 4: b"2026"}

    def code(*keys: SymmetricKey) -> str | None:
        try:
            cardlib.verify(payload, ed_key.public_key, now=CHECKED, decryption_keys=keys)
        except cardlib.CardError as err:
            return err.code
        return None

    old = SymmetricKey(os.urandom(32), kid=b"2025")
    same_secret_other_kid = SymmetricKey(right.secret, kid=b"2025")
    anonymous = SymmetricKey(right.secret)
    assert code(old, right) is None
    assert code(SymmetricKey(os.urandom(32)), right) is None  # a kid-less key is tried too
    assert code(anonymous) is None  # no key has the kid: the kid-less keys are tried
    assert code(same_secret_other_kid) == "decryption_failed"  # another kid is never tried
    assert code(old) == "decryption_failed"
    assert code(SymmetricKey(right.secret[:16], kid=b"2026")) == "decryption_failed"  # size
    assert code() == "decryption_key_missing"


def test_without_a_kid_every_key_of_the_size_is_tried(sealed: str, ed_key: cardlib.PrivateKey,
                                                      secret: SymmetricKey) -> None:
    others = [SymmetricKey.generate(), SymmetricKey.generate("A128GCM"),
              SymmetricKey.generate(kid=b"x")]
    card = cardlib.verify(sealed, ed_key.public_key, now=CHECKED,
                          decryption_keys=[*others, SymmetricKey(secret.secret, kid=b"y")])
    assert card.encryption == "A256GCM"


# --- refusals -----------------------------------------------------------------------------------


def test_no_key_wrong_key(sealed: str, ed_key: cardlib.PrivateKey) -> None:
    trust = ed_key.public_key
    assert _code(lambda: cardlib.verify(sealed, trust, now=CHECKED)) == "decryption_key_missing"
    assert _code(lambda: cardlib.verify(sealed, trust, now=CHECKED, decryption_keys=[])) == (
        "decryption_key_missing")
    assert _code(lambda: cardlib.inspect(sealed)) == "decryption_key_missing"
    wrong = SymmetricKey.generate()
    assert _code(lambda: cardlib.verify(sealed, trust, now=CHECKED,
                                        decryption_keys=wrong)) == "decryption_failed"
    assert _code(lambda: cardlib.inspect(sealed, decryption_keys=wrong)) == "decryption_failed"
    try:
        cardlib.verify(sealed, trust, now=CHECKED)
    except cardlib.DecryptionKeyMissingError as err:
        assert err.category == "invalid" and "A256GCM" in err.message
        assert isinstance(err, cardlib.VerificationError) and err.card is None


def _tampered(qr: str) -> dict[str, bytes]:
    protected, unprotected, ciphertext = _parts(qr)

    def again(protected: bytes = protected, unprotected: dict[int, Any] = unprotected,
              ciphertext: bytes = ciphertext) -> bytes:
        return cbor2.dumps(cbor2.CBORTag(TAG_ENCRYPT0, [protected, unprotected, ciphertext]))

    iv = unprotected[5]
    return {
        "first ciphertext byte": again(ciphertext=bytes([ciphertext[0] ^ 1]) + ciphertext[1:]),
        "last ciphertext byte before the tag": again(
            ciphertext=ciphertext[:-17] + bytes([ciphertext[-17] ^ 1]) + ciphertext[-16:]),
        "tag": again(ciphertext=ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])),
        "truncated tag": again(ciphertext=ciphertext[:-1]),
        "iv": again(unprotected={5: bytes([iv[0] ^ 1]) + iv[1:]}),
        "protected header bytes (non-shortest alg)": again(protected=b"\xa1\x01\x18\x03"),
        "protected header with a kid added": again(protected=cbor2.dumps({1: 3, 4: b"k"})),
        "kid added unprotected": again(unprotected={5: iv, 4: b"k"}),  # no kid: any key
    }


def test_tampering_is_decryption_failed(sealed: str, ed_key: cardlib.PrivateKey,
                                        secret: SymmetricKey) -> None:
    for what, cose in _tampered(sealed).items():
        qr = _qr(cose)
        call = partial(cardlib.verify, qr, ed_key.public_key, now=CHECKED,
                       decryption_keys=secret)
        if what == "kid added unprotected":  # a hint only: the kid-less key is still tried
            assert call().encryption == "A256GCM"
            continue
        assert _code(call) == "decryption_failed", what
        assert _code(partial(cardlib.inspect, qr, decryption_keys=secret)) == (
            "decryption_failed"), what


def test_every_single_byte_change_is_refused_with_a_code(sealed: str,
                                                         ed_key: cardlib.PrivateKey,
                                                         secret: SymmetricKey) -> None:
    """Each byte of the COSE_Encrypt0 altered in turn: always a CardError (mostly
    decryption_failed: AES-GCM authenticates ciphertext, IV and protected header), never an
    accepted card and never another exception."""
    cose = _sign1(sealed)
    seen: set[str] = set()
    for at in range(len(cose)):
        changed = cose[:at] + bytes([cose[at] ^ 0x21]) + cose[at + 1:]
        seen.add(_code(partial(cardlib.verify, _qr(changed, compress=False), ed_key.public_key,
                               now=CHECKED, decryption_keys=secret)))
    assert "decryption_failed" in seen
    assert seen <= {"decryption_failed", "cbor_invalid", "cose_invalid", "decode_error",
                    "encryption_alg_unsupported", "input_too_large", "decompress_failed",
                    "cbor_too_many_items", "cbor_too_deep", "text_too_long",
                    "cbor_duplicate_key"}, seen


@pytest.fixture(scope="module")
def inner(signed: str) -> bytes:
    """The COSE_Sign1 bytes of a valid card, to be encrypted by the tests."""
    return _sign1(signed)


@pytest.mark.parametrize(("headers", "code"), [
    (({1: 3}, {}), "cose_invalid"),  # no IV
    (({1: 3}, {5: bytes(8)}), "cose_invalid"),  # IV of 8 bytes
    (({1: 3}, {5: bytes(16)}), "cose_invalid"),  # IV of 16 bytes
    (({1: 3}, {5: "iv"}), "cose_invalid"),  # IV not a byte string
    (({1: 3}, {6: bytes(12)}), "cose_invalid"),  # Partial IV
    (({1: 3}, {5: IV, 6: b"\x01"}), "cose_invalid"),  # Partial IV besides the IV
    (({1: 3, 5: IV}, {5: IV}), "cose_invalid"),  # the IV in both headers
    (({1: 3, 2: [5]}, {5: IV}), "cose_invalid"),  # crit
    (({1: 3}, {5: IV, 2: [1]}), "cose_invalid"),  # crit, unprotected
    (({1: 3}, {5: IV, 4: b""}), "cose_invalid"),  # empty kid
    (({1: 3}, {5: IV, 4: bytes(65)}), "cose_invalid"),  # kid over max_kid_bytes
    (({1: 3}, {5: IV, 4: "kid"}), "cose_invalid"),  # kid not a byte string
    (({1: 10}, {5: IV}), "encryption_alg_unsupported"),  # AES-CCM
    (({1: -8}, {5: IV}), "encryption_alg_unsupported"),  # a signature algorithm
    (({1: 24}, {5: IV}), "encryption_alg_unsupported"),  # ChaCha20/Poly1305
    (({1: "A256GCM"}, {5: IV}), "encryption_alg_unsupported"),
    (({1: True}, {5: IV}), "encryption_alg_unsupported"),
    (({}, {5: IV}), "encryption_alg_unsupported"),  # no alg
    (({}, {1: 3, 5: IV}), "encryption_alg_unsupported"),  # alg only unprotected
    (({1: 3}, {5: IV, 4: b"k"}), None),  # a kid the kid-less key answers for
    (({1: 3, 5: IV}, {}), None),  # the IV in the protected header
])
def test_header_refusals(inner: bytes, ed_key: cardlib.PrivateKey,
                         headers: tuple[dict[int, Any], dict[int, Any]],
                         code: str | None) -> None:
    key = SymmetricKey(bytes(range(32)))
    protected, unprotected = headers
    iv = unprotected.get(5, protected.get(5, IV))
    cose = _encrypt0(inner, key.secret, protected=protected, unprotected=unprotected,
                     iv=iv if isinstance(iv, bytes) and len(iv) == 12 else IV)
    call = partial(cardlib.verify, _qr(cose), ed_key.public_key, now=CHECKED,
                   decryption_keys=key)
    if code is None:
        assert call().encryption == "A256GCM"
        return
    assert _code(call) == code
    if code == "encryption_alg_unsupported":
        with pytest.raises(cardlib.AlgorithmUnsupportedError):  # the family of alg_unsupported
            call()


def test_the_header_is_judged_before_the_keys(inner: bytes, ed_key: cardlib.PrivateKey) -> None:
    """As for a COSE_Sign1 (§7): structure, algorithm, IV and kid first, then the keys."""
    trust = ed_key.public_key
    for cose, code in ((_encrypt0(inner, bytes(32), unprotected={}), "cose_invalid"),
                       (_encrypt0(inner, bytes(32), protected={1: 10}),
                        "encryption_alg_unsupported"),
                       (_encrypt0(inner, bytes(32)), "decryption_key_missing")):
        assert _code(partial(cardlib.verify, _qr(cose), trust, now=CHECKED)) == code


@pytest.mark.parametrize(("body", "code"), [
    (lambda ct: [b"\xa1\x01\x03", {5: IV}], "cose_invalid"),  # two items
    (lambda ct: [b"\xa1\x01\x03", {5: IV}, ct, b""], "cose_invalid"),  # four items
    (lambda ct: [{1: 3}, {5: IV}, ct], "cose_invalid"),  # protected not a bstr
    (lambda ct: [b"\xa1\x01\x03", [5], ct], "cose_invalid"),  # unprotected not a map
    (lambda ct: [b"\xa1\x01\x03", {5: IV}, None], "cose_invalid"),  # detached ciphertext
    (lambda ct: [b"\xa1\x01\x03", {5: IV}, "text"], "cose_invalid"),
    (lambda ct: [b"\xa1\x01\x03", {5: IV}, ct[:15]], "cose_invalid"),  # shorter than a tag
    (lambda ct: [b"\x81\x03", {5: IV}, ct], "cose_invalid"),  # protected not a map
    (lambda ct: cbor2.CBORTag(18, [b"", {}, b"", b""]), "cose_invalid"),  # 16(18(…))
    (lambda ct: [b"\xa1\x01\x03", {5: IV, 7: 1.5}, ct], "cbor_invalid"),  # a float
    (lambda ct: [b"\xa1\x01\x03", {5: IV, 7: cbor2.CBORTag(1, 0)}, ct], "cbor_invalid"),
])
def test_structure_refusals(inner: bytes, ed_key: cardlib.PrivateKey,
                            body: Callable[[bytes], Any], code: str) -> None:
    ciphertext = AESGCM(bytes(32)).encrypt(IV, inner, cbor2.dumps(["Encrypt0", b"\xa1\x01\x03",
                                                                   b""]))
    cose = cbor2.dumps(cbor2.CBORTag(TAG_ENCRYPT0, body(ciphertext)))
    assert _code(partial(cardlib.verify, _qr(cose), ed_key.public_key, now=CHECKED,
                         decryption_keys=SymmetricKey(bytes(32)))) == code
    assert _code(partial(cardlib.inspect, _qr(cose),
                         decryption_keys=SymmetricKey(bytes(32)))) == code


def test_envelopes_other_than_tag_16(inner: bytes, ed_key: cardlib.PrivateKey) -> None:
    """Only tag 16 around the whole message is a COSE_Encrypt0 (§5.3): untagged it is a 3-item
    array (cose_invalid, as before); inside tag 61 or 16 it is a tag 16 where none may be."""
    key = SymmetricKey(bytes(32))
    one = cbor2.loads(_encrypt0(inner, key.secret))
    for item, code in (([*one.value], "cose_invalid"),
                       (cbor2.CBORTag(61, one), "cbor_invalid"),
                       (cbor2.CBORTag(18, one), "cbor_invalid"),
                       (cbor2.CBORTag(16, one), "cbor_invalid")):
        assert _code(partial(cardlib.verify, _qr(cbor2.dumps(item)), ed_key.public_key,
                             now=CHECKED, decryption_keys=key)) == code


def test_encrypt0_inside_encrypt0_is_refused(inner: bytes, ed_key: cardlib.PrivateKey) -> None:
    key = SymmetricKey(bytes(32))
    nested = _encrypt0(_encrypt0(inner, key.secret), key.secret)
    for call in (partial(cardlib.verify, _qr(nested), ed_key.public_key, now=CHECKED,
                         decryption_keys=key),
                 partial(cardlib.inspect, _qr(nested), decryption_keys=key)):
        try:
            call()
        except cardlib.CoseError as err:
            assert err.code == "cose_invalid" and "another COSE_Encrypt0" in err.message
        else:
            pytest.fail("a nested COSE_Encrypt0 was read")


def test_the_signature_is_verified_after_decryption(record: cardlib.HolderRecord,
                                                    ed_key: cardlib.PrivateKey,
                                                    es_key: cardlib.PrivateKey,
                                                    sealed: str,
                                                    secret: SymmetricKey) -> None:
    # Decryption is no proof of origin: another signer's key is refused as ever.
    assert _code(partial(cardlib.verify, sealed, es_key.public_key, now=CHECKED,
                         decryption_keys=secret)) == "key_unknown"
    # A forged signature inside a genuinely encrypted message.
    body = _sign1(cardlib.issue(record, ed_key, now=ISSUED))
    forged = body[:-1] + bytes([body[-1] ^ 1])
    assert _code(partial(cardlib.verify, _qr(_encrypt0(forged, secret.secret)),
                         ed_key.public_key, now=CHECKED, decryption_keys=secret)) == (
        "signature_invalid")
    # Times: an authentic card past its expiry is refused, and carries its card.
    try:
        cardlib.verify(sealed, ed_key.public_key, now=CHECKED + timedelta(days=5000),
                       decryption_keys=secret)
    except cardlib.ExpiredError as err:
        assert err.card is not None and err.card.encryption == "A256GCM"
    else:
        pytest.fail("an expired card was accepted")


def test_unsigned_content(ed_key: cardlib.PrivateKey) -> None:
    """Encrypted but not signed: an empty signature (signature_malformed) or a bare CWT with no
    COSE_Sign1 at all (cose_invalid) is never a card; ``inspect`` shows both, given the key."""
    key = SymmetricKey(bytes(range(16)))
    payload = cwt({1: "ID-1", 4: "Someone"})
    unsigned = craft(None, payload, protected={1: -8}, signature=b"")
    bare = _qr(_encrypt0(payload, key.secret))
    sealed_unsigned = _qr(_encrypt0(_sign1(unsigned), key.secret))
    assert _code(partial(cardlib.verify, sealed_unsigned, ed_key.public_key, now=CHECKED,
                         decryption_keys=key)) == "signature_malformed"
    assert _code(partial(cardlib.verify, bare, ed_key.public_key, now=CHECKED,
                         decryption_keys=key)) == "cose_invalid"
    shown = cardlib.inspect(sealed_unsigned, decryption_keys=key)
    assert shown["signature_hex"] == "" and shown["claims"]["169"] == {"1": "ID-1",
                                                                        "4": "Someone"}
    assert shown["encryption"]["algorithm"] == "A128GCM"
    bare_shown = cardlib.inspect(bare, decryption_keys=key)
    assert bare_shown["signed"] is False and bare_shown["verified"] is False
    assert bare_shown["claims"]["169"] == {"1": "ID-1", "4": "Someone"}
    assert bare_shown["encryption"]["plaintext_hex"] == payload.hex()
    broken = _qr(_encrypt0(b"\xa1\x01", key.secret))  # a map cut short
    assert cardlib.inspect(broken, decryption_keys=key)["claims_error"]["code"] == "cbor_invalid"


def test_inspect_shows_the_encryption_layer(sealed: str, secret: SymmetricKey,
                                            signed: str) -> None:
    layers = cardlib.inspect(sealed, decryption_keys=[secret])
    plain = cardlib.inspect(signed)
    assert "encryption" not in plain and "signed" not in plain
    protected, unprotected, ciphertext = _parts(sealed)
    assert layers["encryption"] == {
        "algorithm": "A256GCM", "protected_header": {"1": 3},
        "unprotected_header": {"5": {"hex": unprotected[5].hex()}},
        "enc_structure_hex": cbor2.dumps(["Encrypt0", protected, b""]).hex(),
        "ciphertext_hex": ciphertext.hex(),
        "plaintext_hex": _sign1(signed).hex(),
    }
    assert {k: v for k, v in layers.items() if k != "encryption"} == plain


# --- bounds -------------------------------------------------------------------------------------


def test_everything_is_bounded(inner: bytes, ed_key: cardlib.PrivateKey) -> None:
    key = SymmetricKey(bytes(32))
    trust = ed_key.public_key

    def code(cose: bytes, limits: Limits = cardlib.DEFAULT_LIMITS, compress: bool = True) -> str:
        return _code(partial(cardlib.verify, _qr(cose, compress=compress), trust, now=CHECKED,
                             limits=limits, decryption_keys=key))

    sealed = _encrypt0(inner, key.secret)
    # The encrypted message is inflated and read within the same limits as a signed one.
    assert code(sealed, Limits(max_decompressed_bytes=len(sealed) - 1)) == "payload_too_large"
    assert code(sealed, Limits(max_decompressed_bytes=len(sealed) - 1), compress=False) == (
        "input_too_large")
    assert code(_encrypt0(os.urandom(6000), key.secret)) == "input_too_large"  # no QR holds it
    many = {5: IV} | {100 + i: i for i in range(300)}
    assert code(_encrypt0(inner, key.secret, unprotected=many)) == "cbor_too_many_items"
    deep: Any = 0
    for _ in range(10):
        deep = [deep]
    assert code(_encrypt0(inner, key.secret, unprotected={5: IV, 9: deep})) == "cbor_too_deep"
    assert code(_encrypt0(inner, key.secret, unprotected={5: IV, 9: "x" * 2000})) == (
        "text_too_long")
    assert code(_encrypt0(inner, key.secret, protected={1: 3, 9: "x" * 2000})) == (
        "text_too_long")
    # The plaintext is a message of its own: decoded within the limits too.
    crowded = cbor2.dumps(cbor2.CBORTag(18, [b"\xa1\x01\x27", {i: i for i in range(300)},
                                             b"\xa0", bytes(64)]))
    assert code(_encrypt0(crowded, key.secret)) == "cbor_too_many_items"
    assert code(sealed, Limits(max_items=5)) == "cbor_too_many_items"  # the inner one


def test_signed_cards_keep_the_fast_path(signed: str, ed_key: cardlib.PrivateKey,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A signed card is read by the fixed-shape reader and never reaches the encrypted path."""
    data = _sign1(signed)
    fixed = _cose._fixed_shape(data, cardlib.DEFAULT_LIMITS)
    assert fixed is not None and _cose.decode_message(data, cardlib.DEFAULT_LIMITS) == fixed

    def never(*args: object) -> None:
        raise AssertionError("the encrypted path was taken for a signed card")

    monkeypatch.setattr(_cose, "decode_encrypt0", never)
    monkeypatch.setattr(_cose, "decode_general", never)
    assert cardlib.verify(signed, ed_key.public_key, now=CHECKED).encryption is None


# --- the Verifier ---------------------------------------------------------------------------------


def test_verifier(sealed: str, ed_key: cardlib.PrivateKey, secret: SymmetricKey) -> None:
    policy = Policy(require_revocation=False)
    verifier = Verifier(keys=[ed_key.public_key], policy=policy, decryption_keys=[secret])
    result = verifier.check(sealed, now=CHECKED)
    assert (result.status, result.code) == ("valid", None)
    assert result.card is not None and result.card.encryption == "A256GCM"
    assert result.to_json()["card"]["encryption"] == "A256GCM"  # the answer says so too
    single = Verifier(keys=[ed_key.public_key], policy=policy, decryption_keys=secret)
    assert single.check(sealed, now=CHECKED).status == "valid"
    for verifier, code in ((Verifier(keys=[ed_key.public_key], policy=policy),
                            "decryption_key_missing"),
                           (Verifier(keys=[ed_key.public_key], policy=policy,
                                     decryption_keys=[SymmetricKey.generate()]),
                            "decryption_failed")):
        refused = verifier.check(sealed, now=CHECKED)
        assert (refused.status, refused.code, refused.card) == ("invalid", code, None)
        shown = refused.to_json()
        assert shown["message"]["en"] and shown["message"]["ar"] and shown["detail"]
        assert refused.exit_code == 1


# --- the reference decoder (pip claim169) ---------------------------------------------------------


def _reference_verifier(key: cardlib.PublicKey) -> Callable[[str, bytes | None, bytes, bytes],
                                                            None]:
    """A verifier callback for the reference decoder (raises if the signature fails)."""
    if key.algorithm == "EdDSA":
        ed_public = ed25519.Ed25519PublicKey.from_public_bytes(key.raw)

        def verify_eddsa(algorithm: str, kid: bytes | None, data: bytes, sig: bytes) -> None:
            assert algorithm == "EdDSA"
            ed_public.verify(sig, data)

        return verify_eddsa
    ec_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key.raw)

    def verify_es256(algorithm: str, kid: bytes | None, data: bytes, sig: bytes) -> None:
        assert algorithm == "ES256" and len(sig) == 64
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                   int.from_bytes(sig[32:], "big"))
        ec_public.verify(der, data, ec.ECDSA(hashes.SHA256()))

    return verify_es256


@pytest.mark.parametrize("algorithm", ["A128GCM", "A256GCM"])
def test_the_reference_decoder_reads_cardlibs_encrypted_cards(
        any_key: cardlib.PrivateKey, record: cardlib.HolderRecord, algorithm: str) -> None:
    key = SymmetricKey.generate(algorithm, kid=b"kid-1")
    payload = cardlib.issue(record, any_key, now=ISSUED, encrypt_key=key)
    card = cardlib.verify(payload, any_key.public_key, now=CHECKED, decryption_keys=key)
    result = claim169.decode_encrypted_aes(payload, key.secret,
                                           verifier=_reference_verifier(any_key.public_key))
    assert result.is_verified()
    assert (result.claim169.id, result.claim169.full_name) == (card.claims.id,
                                                               card.claims.full_name)
    assert result.cwt_meta.issuer == card.issuer == "LBY"
    assert result.cwt_meta.expires_at == int(card.expires_at.timestamp())  # type: ignore[union-attr]
    with pytest.raises(claim169.DecryptionError):
        claim169.decode_encrypted_aes(payload, SymmetricKey.generate(algorithm).secret,
                                      allow_unverified=True)


def _reference_input() -> tuple[Any, Any]:
    claims = claim169.Claim169Input(id="REF-0001", full_name="Reference Person")
    meta = claim169.CwtMetaInput(issuer="https://issuer.example", expires_at=2_000_000_000)
    meta.issued_at = 1_700_000_000
    return claims, meta


def _check_reference_card(qr: str, public: cardlib.PublicKey, key: SymmetricKey) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    card = cardlib.verify(qr, public, now=moment, decryption_keys=key)
    assert (card.claims.id, card.claims.full_name) == ("REF-0001", "Reference Person")
    assert card.record is None and card.encryption == key.algorithm
    assert card.issuer == "https://issuer.example"
    assert card.expires_at == datetime.fromtimestamp(2_000_000_000, UTC)
    assert _code(partial(cardlib.verify, qr, public, now=moment)) == "decryption_key_missing"
    assert _code(partial(cardlib.verify, qr, public, now=moment,
                         decryption_keys=SymmetricKey.generate(key.algorithm))) == (
        "decryption_failed")
    assert cardlib.inspect(qr, decryption_keys=key)["claims"]["169"]["1"] == "REF-0001"


@pytest.mark.parametrize("size", [16, 32])
def test_cardlib_reads_the_reference_encoders_encrypted_cards(size: int) -> None:
    seed = os.urandom(32)
    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    public = cardlib.PublicKey.from_raw("EdDSA", private.public_key().public_bytes_raw())
    key = SymmetricKey(os.urandom(size))
    encode = (claim169.encode_signed_encrypted if size == 32
              else claim169.encode_signed_encrypted_aes128)
    qr = encode(*_reference_input(), seed, key.secret)
    _check_reference_card(qr, public, key)


def test_cardlib_reads_the_reference_encoders_es256_encrypted_cards() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public = cardlib.PublicKey.from_raw("ES256", private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    key = SymmetricKey(os.urandom(32))

    def sign(algorithm: str, kid: bytes | None, data: bytes) -> bytes:
        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def encrypt(algorithm: str, kid: bytes | None, nonce: bytes, aad: bytes,
                plaintext: bytes) -> bytes:
        assert algorithm == "A256GCM" and len(nonce) == 12
        return AESGCM(key.secret).encrypt(nonce, plaintext, aad)

    qr = claim169.encode_with_signer_and_encryptor(*_reference_input(), sign, "ES256", encrypt,
                                                   "A256GCM")
    _check_reference_card(qr, public, key)


# --- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, ed_key: cardlib.PrivateKey) -> dict[str, Path]:
    paths = {"private": tmp_path / "private.pem", "public": tmp_path / "public.pem",
             "aes": tmp_path / "aes.key", "aes_raw": tmp_path / "aes.bin",
             "other": tmp_path / "other.key", "bad": tmp_path / "bad.key"}
    paths["private"].write_bytes(ed_key.to_pem(None))
    paths["public"].write_bytes(ed_key.public_key.to_pem())
    secret = os.urandom(32)
    paths["aes"].write_text(secret.hex() + "\n")
    paths["aes_raw"].write_bytes(secret)
    paths["other"].write_text(os.urandom(32).hex())
    paths["bad"].write_text("not a key")
    return paths


def test_cli_issue_verify_inspect(capsys: pytest.CaptureFixture[str],
                                  files: dict[str, Path]) -> None:
    code, issued = cli_json(capsys, "issue", "--key", str(files["private"]), "--encrypt-key",
                       str(files["aes"]), "--now", "2026-01-10T09:00:00Z", str(EXAMPLE))
    assert code == 0, issued
    payload = issued["payload"]
    assert _sign1(payload)[:1] == b"\xd0"
    verify = ["verify", "--key", str(files["public"]), "--no-revocation", "--now",
              "2027-06-01T12:00:00Z"]
    for key_file in ("aes", "aes_raw"):
        code, out = cli_json(capsys, *verify, "--decrypt-key", str(files["other"]), "--decrypt-key",
                        str(files[key_file]), payload)
        assert (code, out["status"], out["code"]) == (0, "valid", None)
        assert out["card"]["record"] == json.loads(EXAMPLE.read_text("utf-8"))
    code, out = cli_json(capsys, *verify, payload)
    assert (code, out["status"], out["code"]) == (1, "invalid", "decryption_key_missing")
    assert out["message"]["ar"] and "decrypt" in out["detail"]
    code, out = cli_json(capsys, *verify, "--decrypt-key", str(files["other"]), payload)
    assert (code, out["code"]) == (1, "decryption_failed")
    code, out = cli_json(capsys, *verify, "--decrypt-key", str(files["bad"]), payload)
    assert (code, out["code"]) == (2, "key_file_invalid") and str(files["bad"]) in out["detail"]
    code, out = cli_json(capsys, "inspect", "--decrypt-key", str(files["aes"]), payload)
    assert code == 0 and out["encryption"]["algorithm"] == "A256GCM"
    assert out["verified"] is False and out["claims"]["169"]
    code, out = cli_json(capsys, "inspect", payload)
    assert (code, out["verified"], out["code"]) == (1, False, "decryption_key_missing")
    code, out = cli_json(capsys, "inspect", "--decrypt-key", str(files["bad"]), payload)
    assert (code, out["code"]) == (2, "key_file_invalid")
    code, out = cli_json(capsys, "issue", "--key", str(files["private"]), "--encrypt-key",
                    str(files["bad"]), str(EXAMPLE))
    assert (code, out["code"]) == (2, "key_file_invalid")


def test_cli_render_an_encrypted_card_and_scan_it(capsys: pytest.CaptureFixture[str],
                                                  files: dict[str, Path], tmp_path: Path) -> None:
    """A printing station renders an encrypted card; its printed back scans with the key
    (the MRZ cross-checked against the decrypted, verified record) and not without it."""
    out_dir = tmp_path / "card"
    code, report = cli_json(capsys, "render", "--key", str(files["private"]), "--encrypt-key",
                            str(files["aes"]), "--now", "2026-01-10T09:00:00Z", "--out",
                            str(out_dir), str(EXAMPLE))
    assert code == 0, report
    payload = (out_dir / "payload.txt").read_text("ascii").strip()
    assert _sign1(payload)[:1] == b"\xd0"  # COSE_Encrypt0
    scan = ["scan", "--key", str(files["public"]), "--no-revocation", "--now",
            "2027-06-01T12:00:00Z"]
    code, out = cli_json(capsys, *scan, "--decrypt-key", str(files["aes"]),
                         str(out_dir / "back.png"))
    assert (code, out["status"]) == (0, "valid")
    assert out["scan"]["elements"]["mrz_numbers"] == "agrees"
    code, out = cli_json(capsys, *scan, str(out_dir / "back.png"))
    assert (code, out["code"]) == (1, "decryption_key_missing")


def test_cli_as_a_user_runs_it(files: dict[str, Path]) -> None:
    """The real command in a subprocess: issue --encrypt-key, then verify --decrypt-key."""
    from .test_cli import run

    issued = run("issue", "--key", str(files["private"]), "--encrypt-key", str(files["aes"]),
                 "--now", "2026-01-10T09:00:00Z", str(EXAMPLE))
    assert issued.returncode == 0, issued.stderr
    checked = run("verify", "--key", str(files["public"]), "--decrypt-key", str(files["aes"]),
                  "--no-revocation", "--now", "2027-06-01T12:00:00Z", "-",
                  stdin=issued.stdout)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["status"] == "valid"
    for command in ("verify", "inspect", "scan"):
        shown = run(command, "--help")
        assert "--decrypt-key" in shown.stdout and "Traceback" not in shown.stderr
    assert "--encrypt-key" in run("issue", "--help").stdout


# --- the service ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-encrypted")


@pytest.fixture(scope="module")
def service_key(service_dir: Path) -> tuple[SymmetricKey, Path]:
    key = SymmetricKey.generate()
    path = service_dir / "cards.key"
    path.write_text(key.secret.hex())
    return key, path


@pytest.fixture(scope="module")
def service(service_dir: Path, service_key: tuple[SymmetricKey, Path]) -> Iterator[TestClient]:
    settings = Settings(data_dir=service_dir, decryption_keys=[service_key[1]])
    with TestClient(create_app(settings)) as client:
        yield client


def _demo_card(data_dir: Path, key: SymmetricKey) -> str:
    """A card of the demo centre (trusted by the demo service), encrypted with ``key``."""
    from cardlib._demo import example_record
    from cardlib.trust import CertifiedSigner, certificate_der

    demo = data_dir / "demo"
    signer = CertifiedSigner(
        cardlib.PrivateKey.from_pem((demo / "centre-private.pem").read_bytes()),
        certificate_der((demo / "centre.pem").read_bytes()))
    return cardlib.issue(example_record(), signer, encrypt_key=key)


def test_service_verifies_encrypted_cards_with_its_keys(
        service: TestClient, service_dir: Path,
        service_key: tuple[SymmetricKey, Path]) -> None:
    payload = _demo_card(service_dir, service_key[0])
    answer = service.post("/v1/verify", json={"payload": payload})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["code"]) == ("valid", None)
    assert answer.json()["signer"]["centre"] == "TRP-01"
    wrong = service.post("/v1/verify", json={"payload": _demo_card(service_dir,
                                                                   SymmetricKey.generate())})
    assert wrong.status_code == 422
    assert (wrong.json()["status"], wrong.json()["code"]) == ("invalid", "decryption_failed")
    batch = service.post("/v1/verify/batch", json={"payloads": [payload, payload]})
    assert [r["status"] for r in batch.json()["results"]] == ["valid", "valid"]


def test_service_without_keys_refuses_encrypted_cards(
        service: TestClient, service_dir: Path,
        service_key: tuple[SymmetricKey, Path]) -> None:
    payload = _demo_card(service_dir, service_key[0])
    with TestClient(create_app(Settings(data_dir=service_dir))) as keyless:
        answer = keyless.post("/v1/verify", json={"payload": payload})
    assert answer.status_code == 422
    body = answer.json()
    assert (body["status"], body["code"]) == ("invalid", "decryption_key_missing")
    assert body["message"]["en"] and body["message"]["ar"]
    assert b"Traceback" not in answer.content


def test_service_settings_name_the_key_files(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.key", tmp_path / "b.key"
    monkeypatch.setenv("VERIFIER_DECRYPTION_KEYS", str(first))
    assert Settings(data_dir=tmp_path).decryption_keys == [first]
    monkeypatch.setenv("VERIFIER_DECRYPTION_KEYS", f"{first}{os.pathsep}{second}")
    assert Settings(data_dir=tmp_path).decryption_keys == [first, second]
    monkeypatch.setenv("VERIFIER_DECRYPTION_KEYS", json.dumps([str(second), str(first)]))
    assert Settings(data_dir=tmp_path).decryption_keys == [second, first]
    monkeypatch.delenv("VERIFIER_DECRYPTION_KEYS")
    assert Settings(data_dir=tmp_path).decryption_keys == []


def test_service_refuses_to_start_on_a_bad_key_file(service_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "short.key"
    bad.write_text("0011")
    with pytest.raises(cardlib.KeyFileError) as info:
        create_app(Settings(data_dir=service_dir, decryption_keys=[bad]))
    assert str(bad) in info.value.message
