"""One benchmark per pipeline stage, grouped by stage, with the libraries we compare against.

Inputs come from session fixtures (conftest.py); only the call handed to ``bench`` is timed.
Each test then checks the result outside the timing, so the normal test run (benchmarks
disabled: each body runs once) is also a smoke test of every stage.
"""

from __future__ import annotations

from datetime import datetime

import base45
import cbor2
import claim169
import nacl.bindings
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import cardlib
from cardlib import DEFAULT_LIMITS, _pipeline
from cardlib.codec import _base45, _cbor, _cose, _zlib
from cardlib.profile import check_record, read_profile

from ._support import Bench, Card

# pytest-benchmark's report names each benchmark after its test; the targets refer to them as
# "<group>/<test name>" (see conftest.stage_key), so rename with care.


@pytest.mark.benchmark(group="base45")
class TestBase45:
    def test_cardlib_b45decode(self, bench: Bench, eddsa: Card) -> None:
        assert bench(_base45.b45decode, eddsa.payload) == eddsa.compressed

    def test_cardlib_b45encode(self, bench: Bench, eddsa: Card) -> None:
        assert bench(_base45.b45encode, eddsa.compressed) == eddsa.payload

    def test_pip_base45_b45decode(self, bench: Bench, eddsa: Card) -> None:
        assert bench(base45.b45decode, eddsa.payload) == eddsa.compressed


@pytest.mark.benchmark(group="zlib")
class TestZlib:
    def test_cardlib_decompress_bounded(self, bench: Bench, eddsa: Card) -> None:
        limit = DEFAULT_LIMITS.max_decompressed_bytes
        assert bench(_zlib.decompress, eddsa.compressed, limit) == eddsa.cose

    def test_cardlib_compress(self, bench: Bench, eddsa: Card) -> None:
        assert bench(_zlib.compress, eddsa.cose) == eddsa.compressed


@pytest.mark.benchmark(group="cbor")
class TestCbor:
    def test_cardlib_loads_cose(self, bench: Bench, eddsa: Card) -> None:
        message = bench(_cbor.loads, eddsa.cose, DEFAULT_LIMITS)
        assert message == cbor2.loads(eddsa.cose)

    def test_cardlib_loads_cwt(self, bench: Bench, eddsa: Card) -> None:
        claims = bench(_cbor.loads, eddsa.cwt, DEFAULT_LIMITS)
        assert claims == cbor2.loads(eddsa.cwt)

    def test_cbor2_loads_cose(self, bench: Bench, eddsa: Card) -> None:
        message = bench(cbor2.loads, eddsa.cose)
        assert isinstance(message, cbor2.CBORTag)
        assert message.tag == _cbor.TAG_COSE_SIGN1

    def test_cbor2_loads_cwt(self, bench: Bench, eddsa: Card) -> None:
        assert isinstance(bench(cbor2.loads, eddsa.cwt), dict)


@pytest.mark.benchmark(group="readers")
class TestReaders:
    """The verify path's fixed-shape readers (specs/format.md §8.3) on the example card."""

    def test_cose_fixed_shape(self, bench: Bench, eddsa: Card) -> None:
        message = bench(_cose.decode, eddsa.cose, DEFAULT_LIMITS)
        assert message == _cose.decode_general(eddsa.cose, DEFAULT_LIMITS)

    def test_cwt_and_profile_in_one_pass(self, bench: Bench, eddsa: Card) -> None:
        signed = bench(_pipeline._read_fixed, eddsa.cwt, DEFAULT_LIMITS, cardlib.DEFAULT_RULES)
        assert signed is not None and signed[6] is not None

    def test_profile_record_and_view(self, bench: Bench, eddsa: Card) -> None:
        claims = _cbor.loads(eddsa.cwt, DEFAULT_LIMITS)[169]
        read = bench(read_profile, claims, cardlib.DEFAULT_RULES)
        assert read is not None and read[1].document_number

    def test_record_rules_fast_path(self, bench: Bench, record: cardlib.HolderRecord) -> None:
        assert bench(check_record, record, cardlib.DEFAULT_RULES) == ()


@pytest.mark.benchmark(group="cose-sign")
class TestCoseSign:
    def test_cardlib_sign(self, bench: Bench, card: Card) -> None:
        signature = bench(card.key.sign, card.sig_structure)
        assert len(signature) == 64
        card.public_key.verify(signature, card.sig_structure)


@pytest.mark.benchmark(group="cose-verify")
class TestCoseVerify:
    def test_cardlib_public_key_verify(self, bench: Bench, card: Card) -> None:
        bench(card.public_key.verify, card.signature, card.sig_structure)


def _crypto_sign_open(signature: bytes, message: bytes, public_key: bytes) -> bytes:
    """libsodium's one-shot verify, fed as a (signature, message) verifier must feed it."""
    result: bytes = nacl.bindings.crypto_sign_open(signature + message, public_key)
    return result


@pytest.mark.benchmark(group="floor-ed25519")
class TestFloorEd25519:
    """Bare Ed25519 verification of the same Sig_structure and signature: the floor for verify."""

    def test_pynacl_verify(self, bench: Bench, eddsa: Card) -> None:
        verify_key = nacl.signing.VerifyKey(eddsa.public_key.raw)
        opened = bench(verify_key.verify, eddsa.sig_structure, eddsa.signature)
        assert opened == eddsa.sig_structure

    def test_cryptography_verify(self, bench: Bench, eddsa: Card) -> None:
        public_key = Ed25519PublicKey.from_public_bytes(eddsa.public_key.raw)
        bench(public_key.verify, eddsa.signature, eddsa.sig_structure)

    def test_pynacl_crypto_sign_open(self, bench: Bench, eddsa: Card) -> None:
        opened = bench(_crypto_sign_open, eddsa.signature, eddsa.sig_structure,
                       eddsa.public_key.raw)
        assert opened == eddsa.sig_structure


_REFERENCE_DECODERS = {
    "EdDSA": claim169.decode_with_ed25519,
    "ES256": claim169.decode_with_ecdsa_p256,  # PublicKey.raw: the 65-byte uncompressed point
}


@pytest.mark.benchmark(group="end-to-end")
class TestEndToEnd:
    """Record → Base45 payload and back, on the example record (no photo) with a pinned clock."""

    def test_issue_cardlib(
        self, bench: Bench, card: Card, record: cardlib.HolderRecord, now: datetime,
        trust: cardlib.TrustStore,
    ) -> None:
        payload = bench(cardlib.issue, record, card.key, now=now)
        if card.key.algorithm == "EdDSA":  # deterministic signatures: the very same payload
            assert payload == card.payload
        assert cardlib.verify(payload, trust, now=now).record == record

    def test_verify_cardlib(
        self, bench: Bench, card: Card, record: cardlib.HolderRecord, now: datetime,
        trust: cardlib.TrustStore,
    ) -> None:
        verified = bench(cardlib.verify, card.payload, trust, now=now)
        assert verified.algorithm == card.key.algorithm
        assert verified.record == record

    def test_verify_claim169(
        self, bench: Bench, card: Card, record: cardlib.HolderRecord
    ) -> None:
        decode = _REFERENCE_DECODERS[card.key.algorithm]
        result = bench(decode, card.payload, card.public_key.raw, validate_timestamps=False)
        assert result.is_verified()
        assert result.claim169.id == record.national_number
