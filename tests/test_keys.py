"""Keys: generation, PEM, kid, weak and off-curve keys, the signer interface."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import cardlib
from cardlib import (
    KeyFileError,
    OffCurveKeyError,
    PassphraseError,
    PrivateKey,
    PublicKey,
    TrustStore,
    WeakKeyError,
)

# --- a tiny Edwards25519 model, only to prove the test points really are small-order ---------
P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _decode(raw: bytes) -> tuple[int, int]:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    assert y < P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    if (v * x * x - u) % P:
        x = (x * SQRT_M1) % P
    assert (v * x * x - u) % P == 0, "not on the curve"
    if x & 1 != sign:
        x = (-x) % P
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P,
            (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def _pem(spki: bytes) -> bytes:
    body = base64.encodebytes(spki)
    return b"-----BEGIN PUBLIC KEY-----\n" + body + b"-----END PUBLIC KEY-----\n"


SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4 (all zero)
    "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
]


@pytest.mark.parametrize("hex_point", SMALL_ORDER)
def test_small_order_ed25519_keys_are_refused(hex_point: str) -> None:
    raw = bytes.fromhex(hex_point)
    point = _decode(raw)
    multiple = point
    for _ in range(7):
        multiple = _add(multiple, point)
    assert multiple == (0, 1), "the test point must really have order dividing 8"
    with pytest.raises(WeakKeyError) as info:
        PublicKey.from_raw("EdDSA", raw)
    assert info.value.code == "key_weak"
    with pytest.raises(WeakKeyError):
        PublicKey.from_pem(_pem(bytes.fromhex("302a300506032b6570032100") + raw))


def test_non_canonical_ed25519_encoding_is_refused() -> None:
    # y = p + 1 (non-canonical encoding of y = 1): refused even though it "decodes".
    raw = (P + 1).to_bytes(32, "little")
    with pytest.raises(WeakKeyError):
        PublicKey.from_raw("EdDSA", raw)


def _off_curve_point() -> bytes:
    good = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return good[:-1] + bytes([good[-1] ^ 1])


def test_off_curve_p256_points_are_refused_raw_and_pem() -> None:
    bad = _off_curve_point()
    with pytest.raises(OffCurveKeyError) as info:
        PublicKey.from_raw("ES256", bad)
    assert info.value.code == "key_off_curve"
    spki = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + bad
    with pytest.raises(OffCurveKeyError):
        PublicKey.from_pem(_pem(spki))


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_pem_round_trip_and_kid_derivation(alg: str) -> None:
    key = PrivateKey.generate(alg)
    assert key.algorithm == alg
    public = PublicKey.from_pem(key.public_key.to_pem())
    spki = serialization.load_pem_public_key(key.public_key.to_pem()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public.kid == hashlib.sha256(spki).digest()[:8] == key.kid
    assert public.raw == key.public_key.raw
    assert PublicKey.from_raw(alg, key.public_key.raw).kid == key.kid
    again = PrivateKey.from_pem(key.to_pem())
    data = b"to be signed"
    public.verify(again.sign(data), data)


def test_encrypted_private_key_needs_the_right_passphrase() -> None:
    key = PrivateKey.generate("ES256")
    pem = key.to_pem(b"correct horse")
    assert b"ENCRYPTED" in pem
    assert PrivateKey.from_pem(pem, b"correct horse").kid == key.kid
    with pytest.raises(PassphraseError) as missing:
        PrivateKey.from_pem(pem)
    assert missing.value.code == "passphrase_invalid"
    with pytest.raises(PassphraseError):
        PrivateKey.from_pem(pem, b"wrong")
    with pytest.raises(PassphraseError):
        PrivateKey.from_pem(key.to_pem(), b"not needed")


@pytest.mark.parametrize(
    "pem",
    [
        b"not a key",
        rsa.generate_private_key(65537, 2048).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    ],
)
def test_unusable_public_keys_are_refused(pem: bytes) -> None:
    with pytest.raises(KeyFileError) as info:
        PublicKey.from_pem(pem)
    assert info.value.code == "key_file_invalid"


def test_unusable_private_keys_and_algorithms_are_refused() -> None:
    rsa_pem = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(KeyFileError):
        PrivateKey.from_pem(rsa_pem)
    with pytest.raises(KeyFileError):
        PrivateKey.generate("RS256")
    with pytest.raises(KeyFileError):
        PublicKey.from_raw("EdDSA", bytes(31))
    with pytest.raises(KeyFileError):
        PublicKey.from_raw("ES256", b"\x05" + bytes(64))


def test_trust_store_indexes_by_kid_and_algorithm() -> None:
    ed, es = PrivateKey.generate("EdDSA"), PrivateKey.generate("ES256")
    store = TrustStore([ed.public_key, es.public_key])
    assert len(store) == 2
    assert store.by_kid(ed.kid) == (ed.public_key,)
    assert store.by_algorithm("ES256") == (es.public_key,)
    assert store.by_kid(b"\x00" * 8) == ()
    with pytest.raises(KeyFileError):
        TrustStore([b"raw bytes"])  # type: ignore[list-item]


def test_private_key_satisfies_the_signer_protocol() -> None:
    assert isinstance(PrivateKey.generate("EdDSA"), cardlib.Signer)
    raw = ed25519.Ed25519PrivateKey.generate()
    assert not isinstance(raw, cardlib.Signer)


def test_compressed_off_curve_point_in_pem_is_named() -> None:
    prefix = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200")
    with pytest.raises(OffCurveKeyError):
        PublicKey.from_pem(_pem(prefix + b"\x02" + b"\xff" * 32))
