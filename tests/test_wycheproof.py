"""cardlib's signature verification judged by Wycheproof (C2SP), case by case.

The vectors are third-party data read at run time from ``../shared/vectors/wycheproof/`` (see its
README; never copied into this repo). Three files, one parametrised test each:

- ``ed25519_test.json``: cardlib's verdict (through ``PublicKey.from_raw`` and ``verify``) is
  Wycheproof's, and is libsodium's (``crypto_sign_open``) on the very same bytes.
- ``ecdsa_secp256r1_sha256_p1363_test.json``: raw ``r‖s`` signatures, exactly COSE's ES256 format
  (RFC 9053 §2.1): cardlib's verdict is Wycheproof's. cardlib accepts high S (specs/format.md §5),
  so its verdict never changes when ``s`` becomes ``n - s``; Wycheproof agrees (it marks no P1363
  signature invalid for its high S alone).
- ``ecdsa_secp256r1_sha256_test.json``: DER signatures, which COSE forbids: cardlib refuses every
  one; the valid ones, converted to ``r‖s``, verify.

A refusal is always a :class:`cardlib.CardError` with a signature or key code, never another
exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

import cardlib

from .conftest import require

WYCHEPROOF = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "wycheproof"
ED25519_FILE = "ed25519_test.json"
P1363_FILE = "ecdsa_secp256r1_sha256_p1363_test.json"
DER_FILE = "ecdsa_secp256r1_sha256_test.json"

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# The codes a refusal may carry: at the signature (specs/format.md §12) or, for a key that can
# never be trusted, when the key loads.
SIGNATURE_CODES = frozenset({"signature_invalid", "signature_malformed"})
KEY_CODES = frozenset({"key_weak", "key_off_curve", "key_file_invalid"})


@dataclass(frozen=True, slots=True)
class Case:
    """One Wycheproof test, with its group's public key."""

    file: str
    tc_id: int
    comment: str
    flags: tuple[str, ...]
    public_key: bytes
    msg: bytes
    sig: bytes
    result: str  # "valid", "invalid" or "acceptable"

    @property
    def label(self) -> str:
        return f"{self.file} tcId {self.tc_id} ({self.comment or 'no comment'}; {self.flags})"


@dataclass(frozen=True, slots=True)
class Verdict:
    """cardlib's answer: accepted, or refused with a CardError code (at load or at verify)."""

    accepted: bool
    code: str | None = None
    at_load: bool = False


def _read(name: str) -> dict[str, Any] | None:
    path = WYCHEPROOF / name
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _cases(data: dict[str, Any] | None, name: str,
           public_key: Callable[[dict[str, Any]], bytes]) -> list[Case]:
    if data is None:
        return []
    return [
        Case(name, test["tcId"], test["comment"], tuple(test["flags"]),
             public_key(group["publicKey"]), bytes.fromhex(test["msg"]),
             bytes.fromhex(test["sig"]), test["result"])
        for group in data["testGroups"]
        for test in group["tests"]
    ]


def _ed25519_key(key: dict[str, Any]) -> bytes:
    return bytes.fromhex(key["pk"])


def _p256_key(key: dict[str, Any]) -> bytes:
    return bytes.fromhex(key["uncompressed"])


FILES = {name: _read(name) for name in (ED25519_FILE, P1363_FILE, DER_FILE)}
ED25519 = _cases(FILES[ED25519_FILE], ED25519_FILE, _ed25519_key)
P1363 = _cases(FILES[P1363_FILE], P1363_FILE, _p256_key)
DER = _cases(FILES[DER_FILE], DER_FILE, _p256_key)
CASES = {ED25519_FILE: ED25519, P1363_FILE: P1363, DER_FILE: DER}


def _params(cases: list[Case]) -> list[Any]:
    """One param per case, id'd by tcId and comment; one placeholder when the file is missing,
    so that the test runs and calls ``require`` (a skip locally, a failure in CI)."""
    if not cases:
        return [pytest.param(None, id="vectors-missing")]
    return [pytest.param(case, id=_case_id(case)) for case in cases]


def _case_id(case: Case) -> str:
    slug = re.sub(r"[^A-Za-z0-9+]+", "_", case.comment).strip("_")[:60].rstrip("_")
    return f"{case.tc_id}-{slug}" if slug else str(case.tc_id)


def _present(case: Case | None, name: str) -> Case:
    require("Wycheproof vectors", case is not None,
            f"{WYCHEPROOF / name} is missing (C2SP/wycheproof testvectors_v1, see "
            "../shared/vectors/README.md)")
    assert case is not None
    return case


def _verdict(algorithm: str, public_key: bytes, sig: bytes, msg: bytes) -> Verdict:
    """cardlib's verdict on ``sig`` over ``msg``: any exception but a CardError fails the test."""
    try:
        key = cardlib.PublicKey.from_raw(algorithm, public_key)
    except cardlib.CardError as err:
        return Verdict(False, err.code, at_load=True)
    except Exception as err:
        pytest.fail(f"loading the {algorithm} key raised {type(err).__name__}: {err} "
                    "(not a CardError)")
    try:
        key.verify(sig, msg)
    except cardlib.CardError as err:
        return Verdict(False, err.code)
    except Exception as err:
        pytest.fail(f"{algorithm} verify raised {type(err).__name__}: {err} (not a CardError)")
    return Verdict(True)


def _check_refusal_codes(verdict: Verdict, case: Case) -> None:
    if verdict.at_load:
        assert verdict.code in KEY_CODES, f"{case.label}: key refused with {verdict.code}"
    elif not verdict.accepted:
        assert verdict.code in SIGNATURE_CODES, f"{case.label}: refused with {verdict.code}"


def _check_against_wycheproof(verdict: Verdict, case: Case) -> None:
    """valid ⇒ accepted; invalid ⇒ refused; acceptable ⇒ either (RFC-legal but discouraged)."""
    assert case.result in ("valid", "invalid", "acceptable"), case.label
    if case.result == "valid":
        assert verdict.accepted, f"{case.label}: Wycheproof says valid, cardlib refused " \
                                 f"({verdict.code})"
    elif case.result == "invalid":
        assert not verdict.accepted, f"{case.label}: Wycheproof says invalid, cardlib accepted"
    _check_refusal_codes(verdict, case)


def _libsodium_accepts(case: Case) -> bool:
    """libsodium's verdict on the same bytes (pynacl's ``crypto_sign_open`` on ``sig + msg``)."""
    try:
        nacl.bindings.crypto_sign_open(case.sig + case.msg, case.public_key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return False
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_test_of_the_file_is_loaded(name: str) -> None:
    data = FILES[name]
    require("Wycheproof vectors", data is not None, f"{WYCHEPROOF / name} is missing")
    assert data is not None
    assert len(CASES[name]) == data["numberOfTests"] > 0
    assert len({case.tc_id for case in CASES[name]}) == len(CASES[name])  # unique pytest ids


# --- Ed25519 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(ED25519))
def test_ed25519_verdict_is_wycheproofs_and_libsodiums(case: Case | None) -> None:
    case = _present(case, ED25519_FILE)
    verdict = _verdict("EdDSA", case.public_key, case.sig, case.msg)
    _check_against_wycheproof(verdict, case)
    sodium = _libsodium_accepts(case)
    assert verdict.accepted == sodium, (
        f"{case.label}: cardlib {verdict} but libsodium {'accepts' if sodium else 'refuses'}")
    if not verdict.accepted and not verdict.at_load:
        # An Ed25519 signature is 64 bytes: any other length is malformed, never "invalid".
        assert (verdict.code == "signature_malformed") == (len(case.sig) != 64), case.label


# --- ES256: raw r||s (IEEE P1363), COSE's format ----------------------------------------------


def _scalars(sig: bytes) -> tuple[int, int] | None:
    """``(r, s)`` of a 64-byte ``r‖s`` signature; None for any other length."""
    if len(sig) != 64:
        return None
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


def _in_range(scalars: tuple[int, int] | None) -> bool:
    return scalars is not None and all(0 < value < P256_N for value in scalars)


def _twin(sig: bytes) -> bytes:
    """The other signature of the pair ECDSA always allows: ``s`` replaced by ``n - s``."""
    s = int.from_bytes(sig[32:], "big")
    return sig[:32] + (P256_N - s).to_bytes(32, "big")


@pytest.mark.parametrize("case", _params(P1363))
def test_es256_verdict_is_wycheproofs(case: Case | None) -> None:
    case = _present(case, P1363_FILE)
    verdict = _verdict("ES256", case.public_key, case.sig, case.msg)
    _check_against_wycheproof(verdict, case)
    scalars = _scalars(case.sig)
    if not verdict.accepted and not verdict.at_load:
        # specs/format.md §5: 64 bytes and 0 < r, s < n, or the signature is malformed.
        assert (verdict.code == "signature_malformed") == (not _in_range(scalars)), case.label
    if _in_range(scalars) and not verdict.at_load:
        # cardlib accepts high S: (r, s) and (r, n - s) stand or fall together. For an invalid
        # case this also shows Wycheproof refuses it for more than a high S.
        twin = _verdict("ES256", case.public_key, _twin(case.sig), case.msg)
        assert twin.accepted == verdict.accepted, f"{case.label}: the s ↔ n - s twin differs"
        _check_refusal_codes(twin, case)


def test_wycheproof_has_valid_high_s_p1363_signatures() -> None:
    """The twin check above is not vacuous: the file holds valid signatures with high S, and
    every high-S signature it calls invalid has something else wrong (its low-S twin fails)."""
    require("Wycheproof vectors", bool(P1363), f"{WYCHEPROOF / P1363_FILE} is missing")
    high = [case for case in P1363
            if _in_range(_scalars(case.sig)) and int.from_bytes(case.sig[32:], "big") > P256_N // 2]
    assert any(case.result == "valid" for case in high)
    for case in high:
        if case.result == "invalid":
            twin = _verdict("ES256", case.public_key, _twin(case.sig), case.msg)
            assert not twin.accepted, f"{case.label}: invalid only for its high S"


# --- ES256: DER, which COSE forbids -----------------------------------------------------------


def _der_as_raw(sig: bytes) -> tuple[bytes, bool] | None:
    """``r‖s`` (32 bytes each) of a DER signature cryptography can parse, and whether the DER
    was canonical (it re-encodes to the same bytes); None if it cannot be read or does not fit."""
    try:
        r, s = decode_dss_signature(sig)
    except ValueError:
        return None
    if not (0 <= r < 2**256 and 0 <= s < 2**256):
        return None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big"), encode_dss_signature(r, s) == sig


@pytest.mark.parametrize("case", _params(DER))
def test_es256_refuses_every_der_signature(case: Case | None) -> None:
    case = _present(case, DER_FILE)
    verdict = _verdict("ES256", case.public_key, case.sig, case.msg)
    assert not verdict.accepted, f"{case.label}: a DER signature was accepted"
    assert not verdict.at_load, f"{case.label}: the key was refused ({verdict.code})"
    assert verdict.code in SIGNATURE_CODES, case.label
    if len(case.sig) != 64:
        assert verdict.code == "signature_malformed", case.label
    raw = _der_as_raw(case.sig)
    if case.result == "valid":
        # Cross-check: the same signature in COSE's format verifies.
        assert raw is not None, f"{case.label}: a valid signature does not fit r‖s"
        assert _verdict("ES256", case.public_key, raw[0], case.msg).accepted, case.label
    elif case.result == "invalid" and raw is not None and raw[1]:
        # Canonical DER refused by Wycheproof: the fault is in r, s or the message, not in the
        # encoding, so the raw form is refused too.
        converted = _verdict("ES256", case.public_key, raw[0], case.msg)
        assert not converted.accepted, f"{case.label}: accepted once converted to r‖s"
        _check_refusal_codes(converted, case)


def test_the_cases_cover_both_verdicts() -> None:
    """Each file holds valid and invalid cases, so neither 'always accept' nor 'always refuse'
    would pass the tests above."""
    require("Wycheproof vectors", all(CASES.values()), f"a file in {WYCHEPROOF} is missing")
    for name, cases in CASES.items():
        assert {"valid", "invalid"} <= {case.result for case in cases}, name
