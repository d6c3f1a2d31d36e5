"""Ed25519 verification: libsodium (pynacl) through cardlib's key objects, judged case by case.

cardlib verifies EdDSA with libsodium's ``crypto_sign_open`` (specs/format.md §5). Every test here
uses real keys and real signatures, and checks that cardlib's verdict (through
``PublicKey.verify``, with its typed errors) is libsodium's on the very same bytes, including the
signatures that only a dishonest key holder makes: from the secret scalar, with a chosen R. The
Wycheproof suite and the "many EdDSAs" vectors are in test_wycheproof.py and below.
"""

from __future__ import annotations

import hashlib
from array import array

import nacl.bindings
import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardlib import CardError, KeyFileError, PublicKey, WeakKeyError

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493

# libsodium's ge25519_has_small_order list (crypto_core/ed25519/ref10/ed25519_ref10.c), compared
# with the sign bit cleared: y = 0 (order 4), 1 (order 1), two of order 8, p - 1 (order 2), and the
# non-canonical p (= 0) and p + 1 (= 1). With either sign bit: 14 encodings.
LIBSODIUM_SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
SMALL_ORDER_R = [
    bytes.fromhex(h)[:31] + bytes([bytes.fromhex(h)[31] | sign])
    for h in LIBSODIUM_SMALL_ORDER for sign in (0x00, 0x80)
]
# Every encoding of y >= p (y = p ... p + 18, either sign bit): 38 non-canonical encodings.
NON_CANONICAL_R = [
    (y | sign << 255).to_bytes(32, "little") for y in range(P, 2**255) for sign in (0, 1)
]
ORDER_8 = bytes.fromhex(LIBSODIUM_SMALL_ORDER[2])

SEEDS = [hashlib.sha256(b"cardlib ed25519 test key %d" % i).digest() for i in range(3)]


class Holder:
    """A real Ed25519 key pair whose secret scalar is at hand, to forge what must be refused."""

    def __init__(self, seed: bytes) -> None:
        self.signing = nacl.signing.SigningKey(seed)
        self.raw = bytes(self.signing.verify_key)
        self.key = PublicKey.from_raw("EdDSA", self.raw)
        digest = bytearray(hashlib.sha512(seed).digest()[:32])
        digest[0] &= 248
        digest[31] &= 127
        digest[31] |= 64
        self.scalar = int.from_bytes(digest, "little")

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self.signing.sign(message).signature
        return signature

    def sign_with_r(self, message: bytes, r_point: bytes, r: int) -> bytes:
        """S = r + k·a for a chosen R (r: R's discrete log to the base point, up to torsion)."""
        k = int.from_bytes(hashlib.sha512(r_point + self.raw + message).digest(), "little") % L
        return r_point + ((r + k * self.scalar) % L).to_bytes(32, "little")


HOLDERS = [Holder(seed) for seed in SEEDS]


def sodium(signature: bytes, message: bytes, public: bytes) -> bool:
    """libsodium's verdict (crypto_sign_open checks the detached signature, then copies)."""
    try:
        nacl.bindings.crypto_sign_open(signature + message, public)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def ours(signature: bytes, message: bytes, key: PublicKey) -> str:
    """cardlib's verdict: "valid" or the error code."""
    try:
        key.verify(signature, message)
    except CardError as err:
        return err.code
    return "valid"


def with_s(signature: bytes, s: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "little")


def flips(data: bytes) -> list[bytes]:
    return [
        data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]
        for i in range(len(data)) for bit in range(8)
    ]


# --- differential: honest signatures and every single-bit change -------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=600))
def test_honest_signatures_are_accepted_by_both(seed: bytes, message: bytes) -> None:
    holder = Holder(seed)
    signature = holder.sign(message)
    assert sodium(signature, message, holder.raw)
    assert ours(signature, message, holder.key) == "valid"


@settings(max_examples=40, deadline=None)
@given(signature=st.binary(min_size=64, max_size=64), message=st.binary(max_size=64))
def test_random_signatures_are_refused_by_both(signature: bytes, message: bytes) -> None:
    holder = HOLDERS[0]
    assert not sodium(signature, message, holder.raw)
    assert ours(signature, message, holder.key) == "signature_invalid"


@pytest.mark.parametrize("holder", HOLDERS, ids=["key0", "key1", "key2"])
def test_every_bit_flip_gets_the_same_verdict_as_libsodium(holder: Holder) -> None:
    message = b"Sig_structure stand-in: " + holder.raw[:16]
    signature = holder.sign(message)
    for bad in flips(signature):
        assert not sodium(bad, message, holder.raw)
        assert ours(bad, message, holder.key) == "signature_invalid", bad.hex()
    for bad in flips(message):
        assert not sodium(signature, bad, holder.raw)
        assert ours(signature, bad, holder.key) == "signature_invalid", bad.hex()
    loaded = 0
    for bad in flips(holder.raw):
        assert not sodium(signature, message, bad)
        try:
            key = PublicKey.from_raw("EdDSA", bad)
        except WeakKeyError:  # not a canonical prime-order point: never trusted
            continue
        loaded += 1
        assert ours(signature, message, key) == "signature_invalid", bad.hex()
    assert loaded > 0, "some flipped keys are valid points; they must be checked too"


# --- edge cases: each refused with its code, and refused by libsodium too ----------------------


def test_s_at_or_above_the_group_order_is_refused() -> None:
    """S + k·L is the same scalar modulo L: accepting it would make signatures malleable."""
    holder = HOLDERS[0]
    message = b"non-canonical S"
    signature = holder.sign(message)
    s = int.from_bytes(signature[32:], "little")
    variants = [with_s(signature, s + k * L) for k in range(1, 16) if s + k * L < 2**256]
    variants += [with_s(signature, L), with_s(signature, L + 1), with_s(signature, 2**256 - 1)]
    assert len(variants) >= 17
    for bad in variants:
        assert not sodium(bad, message, holder.raw)
        assert ours(bad, message, holder.key) == "signature_invalid"
    assert ours(with_s(signature, s), message, holder.key) == "valid"


@pytest.mark.parametrize("r_point", SMALL_ORDER_R, ids=lambda r: r.hex()[:8] + r.hex()[-2:])
def test_small_order_r_is_refused_even_when_the_cofactored_equation_holds(r_point: bytes) -> None:
    """R of small order with S = k·a: [8]([S]B − R − [k]A) = 0, so a ZIP-215 (cofactored)
    verifier accepts it, and for R = identity even the cofactorless equation holds. libsodium
    refuses R by its small-order list, and so cardlib does."""
    holder = HOLDERS[1]
    message = b"small-order R"
    forged = holder.sign_with_r(message, r_point, 0)
    honest_s = with_s(r_point + bytes(32), int.from_bytes(holder.sign(message)[32:], "little"))
    for signature in (forged, honest_s):
        assert not sodium(signature, message, holder.raw)
        assert ours(signature, message, holder.key) == "signature_invalid"


@pytest.mark.parametrize("r_point", NON_CANONICAL_R, ids=lambda r: r.hex()[:4] + r.hex()[-2:])
def test_non_canonical_r_is_refused(r_point: bytes) -> None:
    holder = HOLDERS[2]
    message = b"non-canonical R"
    signature = r_point + holder.sign(message)[32:]
    assert not sodium(signature, message, holder.raw)
    assert ours(signature, message, holder.key) == "signature_invalid"


def test_non_canonical_small_order_r_is_refused() -> None:
    """y = p and y = p + 1 are non-canonical encodings of small-order points; with S = k·a a
    ZIP-215 verifier (which decodes non-canonical R) accepts them."""
    holder = HOLDERS[2]
    message = b"non-canonical small-order R"
    for y in (P, P + 1):
        for sign in (0, 1):
            forged = holder.sign_with_r(message, (y | sign << 255).to_bytes(32, "little"), 0)
            assert not sodium(forged, message, holder.raw)
            assert ours(forged, message, holder.key) == "signature_invalid"


def test_all_zero_signature_is_refused() -> None:
    for holder in HOLDERS:
        for message in (b"", b"all-zero signature"):
            assert not sodium(bytes(64), message, holder.raw)
            assert ours(bytes(64), message, holder.key) == "signature_invalid"


@pytest.mark.parametrize("size", [0, 1, 32, 63, 65, 96, 128])
def test_wrong_length_is_malformed(size: int) -> None:
    holder = HOLDERS[0]
    message = b"wrong length"
    signature = (holder.sign(message) * 2)[:size]
    assert ours(signature, message, holder.key) == "signature_malformed"
    with pytest.raises(ValueError, match="64 bytes"):  # pynacl refuses before libsodium runs
        holder.signing.verify_key.verify(message, signature)


def test_bytes_like_inputs_verify_and_other_types_are_a_type_error() -> None:
    """Bytes-like signatures and messages verify (cardlib copies them to bytes); anything else is
    a TypeError that names the argument, never an exception from pynacl."""
    holder = HOLDERS[0]
    message = b"bytes-like"
    signature = holder.sign(message)
    for sig_like in (bytearray(signature), memoryview(signature), array("B", signature)):
        for msg_like in (bytearray(message), memoryview(message)):
            holder.key.verify(sig_like, msg_like)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes, not str"):
        holder.key.verify(signature, message.decode())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes, not NoneType"):
        holder.key.verify(None, message)  # type: ignore[arg-type]


# --- R with a torsion component: refused, as libsodium refuses it --------------------------------


def test_mixed_order_r_is_refused_like_libsodium() -> None:
    """R = [r]B + T (T of order 8) and S = r + k·a: the cofactored equation (RFC 8032 §5.1.7,
    ZIP-215) holds, the cofactorless one libsodium checks does not. Only the key's holder can
    make such a signature; cardlib refuses it, exactly as libsodium does (specs/format.md §5),
    so cardlib and every libsodium-based verifier agree on every card."""
    holder = HOLDERS[0]
    message = b"mixed-order R"
    r = 0x1234567890ABCDEF1234567890ABCDEF % L
    r_point = nacl.bindings.crypto_core_ed25519_add(
        nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little")), ORDER_8)
    assert not nacl.bindings.crypto_core_ed25519_is_valid_point(r_point)  # has a torsion part
    signature = holder.sign_with_r(message, r_point, r)
    assert not sodium(signature, message, holder.raw)
    assert ours(signature, message, holder.key) == "signature_invalid"
    clean = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little"))
    honest = holder.sign_with_r(message, clean, r)  # the same construction without torsion
    assert sodium(honest, message, holder.raw)
    assert ours(honest, message, holder.key) == "valid"


# --- "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko 2020) ----------------------------
# The 12 vectors of novifinancial/ed25519-speccheck (cases.txt; the paper's Table 6, cases 0-11):
# (message, public key, signature, cardlib's verdict, libsodium accepts, what the case is).
# "load:key_weak": cardlib refuses the key itself when it loads (not a canonical point of the
# prime-order subgroup), so no signature under it is ever checked; the two vectors with a valid key
# have S >= L, refused by libsodium. Case 3 is the only one libsodium accepts: its key has a torsion
# component, which cardlib refuses when the key loads.
SPECCHECK = [
    ("8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
     "0000000000000000000000000000000000000000000000000000000000000000",
     "load:key_weak", False, "0: S = 0, small-order A and R"),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     "load:key_weak", False, "1: small-order A, mixed-order R"),
    ("aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
     "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
     "load:key_weak", False, "2: mixed-order A, small-order R"),
    ("9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
     "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
     "load:key_weak", True,
     "3: mixed-order A and R, both equations hold (libsodium lists small-order A only)"),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
     "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
     "load:key_weak", False, "4: mixed-order A and R, only the cofactored equation holds"),
    ("e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
     "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
     "load:key_weak", False, "5: mixed-order A, the paper's pre-reduced-scalar case"),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
     "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
     "signature_invalid", False, "6: S > L, prime-order A and R"),
    ("85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
     "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
     "signature_invalid", False, "7: S >> L, prime-order A and R"),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
     "load:key_weak", False, "8: mixed-order A, R = order-2 point, x = 0, sign bit set"),
    ("9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
     "load:key_weak", False, "9: as 8, k over the other encoding of R"),
    ("e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     "load:key_weak", False, "10: A = order-2 point, x = 0, sign bit set"),
    ("39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     "load:key_weak", False, "11: as 10, k over the other encoding of A"),
]


@pytest.mark.parametrize(
    ("message", "public", "signature", "expected", "by_libsodium"),
    [case[:5] for case in SPECCHECK], ids=[case[5] for case in SPECCHECK])
def test_speccheck_vectors(
    message: str, public: str, signature: str, expected: str, by_libsodium: bool
) -> None:
    msg, raw, sig = bytes.fromhex(message), bytes.fromhex(public), bytes.fromhex(signature)
    assert sodium(sig, msg, raw) is by_libsodium
    try:
        key = PublicKey.from_raw("EdDSA", raw)
    except (WeakKeyError, KeyFileError) as err:
        verdict = f"load:{err.code}"
    else:
        verdict = ours(sig, msg, key)
    assert verdict == expected
    assert verdict != "valid"  # none of these is a signature a verifier should want
