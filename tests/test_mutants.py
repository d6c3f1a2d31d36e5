"""Behaviour a mutation run of the verify path showed no test held (specs/mutation.md).

Each test pins something a caller can observe: the exact words of every refusal (what a clerk
reads), the boundaries of every limit, that arguments reach the code they configure, the bounded
inflate, and the layout of ``inspect``. Real keys and payloads throughout; the only stand-in is a
CBOR decoder that fails in a way no input can make it fail (the seam must still wrap it).
"""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import cbor2
import pytest

import cardlib
from cardlib import CardError, HolderRecord, Limits, PrivateKey, Rules, verify
from cardlib._pipeline import MAX_TIME, build, end_of_day
from cardlib.codec import _base45, _cbor, _cose, _zlib
from cardlib.codec._base45 import b45encode
from cardlib.profile._claims import read_claim169
from tests._craft import craft, cwt

from .conftest import CHECKED, ISSUED

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Built = tuple[Any, Any, dict[str, Any]]  # payload, trust, keyword arguments of verify


def _refusal(payload: Any, trust: Any, **kwargs: Any) -> tuple[str, str]:
    kwargs.setdefault("now", CHECKED)
    with pytest.raises(CardError) as info:
        verify(payload, trust, **kwargs)
    return info.value.code, info.value.message


def _problems(payload: str, trust: Any, **kwargs: Any) -> set[tuple[str, str, str]]:
    kwargs.setdefault("now", CHECKED)
    with pytest.raises(cardlib.ValidationError) as info:
        verify(payload, trust, **kwargs)
    return {(p.path, p.code, p.message) for p in info.value.problems}


def _resigned(key: PrivateKey, record: HolderRecord, change: Callable[[Any], object]) -> str:
    claims = cbor2.loads(build(record, key, now=ISSUED).cbor)
    change(claims[169])
    return craft(key, cbor2.dumps(claims, canonical=True))


def _certified(key: PrivateKey, **fields: Any) -> cardlib.PublicKey:
    return dataclasses.replace(key.public_key, **fields)


# --- every refusal on the verify path, word for word ------------------------------------------

X = cwt({1: "X"})
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
CASES: dict[str, tuple[Callable[[PrivateKey], Built], str, str]] = {
    "not text": (lambda k: (12345, k.public_key, {}), "decode_error",
                 "the payload must be text (the QR code's content)"),
    "too long": (lambda k: ("A" * 20, k.public_key, {"limits": Limits(max_input_chars=10)}),
                 "input_too_large", "the payload has 20 characters; at most 10 are accepted"),
    "base45 non-ascii": (
        lambda k: ("AB\u00e9", k.public_key, {}), "base45_invalid",
        "the payload contains characters outside the Base45 alphabet (only 0-9, A-Z, space "
        "and $%*+-./: are allowed)"),
    "base45 names the first bad character": (
        lambda k: ("AbC-d", k.public_key, {}), "base45_invalid",
        "the payload contains 'b', which is not a Base45 character (only 0-9, A-Z, space and "
        "$%*+-./: are allowed; lower case is not)"),
    "base45 length": (lambda k: ("ABCD", k.public_key, {}), "base45_invalid",
                      "Base45 text cannot have length 4 (a multiple of 3, plus 0 or 2)"),
    "base45 group": (lambda k: (":::", k.public_key, {}), "base45_invalid",
                     "a Base45 group encodes a value above 65535"),
    "base45 pair": (lambda k: ("::", k.public_key, {}), "base45_invalid",
                    "the final Base45 pair encodes a value above 255"),
    "zlib invalid": (
        lambda k: (b45encode(b"\x78\xda\xff\xff"), k.public_key, {}), "decompress_failed",
        "the payload is not valid zlib data (Error -3 while decompressing data: invalid block "
        "type)"),
    "zlib truncated": (
        lambda k: (b45encode(zlib.compress(b"abcdef" * 10, 9)[:-3]), k.public_key, {}),
        "decompress_failed", "the zlib stream is truncated (no end-of-stream marker)"),
    "zlib trailing": (
        lambda k: (b45encode(zlib.compress(b"abc", 9) + b"\x00"), k.public_key, {}),
        "decompress_failed", "1 unexpected byte(s) follow the end of the zlib stream"),
    "zlib too large": (
        lambda k: (b45encode(zlib.compress(bytes(200), 9)), k.public_key,
                   {"limits": Limits(max_decompressed_bytes=100)}),
        "payload_too_large", "the payload inflates to more than 100 bytes; refused"),
    "raw too large": (
        lambda k: (b45encode(bytes(200)), k.public_key,
                   {"limits": Limits(max_decompressed_bytes=100)}),
        "input_too_large", "the payload is larger than the decompression limit"),
    "tag 61 without 18": (
        lambda k: (b45encode(cbor2.dumps(cbor2.CBORTag(61, [b"", {}, b"", b""]))),
                   k.public_key, {}),
        "cose_invalid", "a CWT tag (61) must wrap a COSE_Sign1 (tag 18)"),
    "tag 98 (COSE_Sign)": (
        lambda k: (b45encode(cbor2.dumps(cbor2.CBORTag(98, [b"", {}, b"", b""]))),
                   k.public_key, {}),
        "cbor_invalid", "the payload uses CBOR tag 98, which is not allowed here"),
    "three items": (lambda k: (b45encode(cbor2.dumps([b"", {}, b""])), k.public_key, {}),
                    "cose_invalid", "a COSE_Sign1 is an array of 4 items (protected, "
                    "unprotected, payload, signature)"),
    "protected not bytes": (
        lambda k: (b45encode(cbor2.dumps([{}, {}, b"", b""])), k.public_key, {}),
        "cose_invalid", "the COSE protected header must be a byte string"),
    "unprotected not a map": (
        lambda k: (b45encode(cbor2.dumps([b"", [], b"", b""])), k.public_key, {}),
        "cose_invalid", "the COSE unprotected header must be a map"),
    "detached payload": (
        lambda k: (b45encode(cbor2.dumps([b"", {}, None, b""])), k.public_key, {}),
        "cose_invalid", "the COSE payload must be an attached byte string (detached is refused)"),
    "signature not bytes": (
        lambda k: (b45encode(cbor2.dumps([b"", {}, b"", "x"])), k.public_key, {}),
        "cose_invalid", "the COSE signature must be a byte string"),
    "crit": (lambda k: (craft(k, X, unprotected={2: [1]}), k.public_key, {}), "cose_invalid",
             "the message marks header parameters as critical (crit); none is understood by "
             "this profile, so it is refused (RFC 9052 section 3.1)"),
    "label in both headers": (
        lambda k: (craft(k, X, unprotected={1: -8}), k.public_key, {}), "cose_invalid",
        "a COSE header label appears in both the protected and unprotected header"),
    "alg missing": (lambda k: (craft(k, X, protected={4: k.kid}), k.public_key, {}),
                    "alg_missing", "the algorithm is missing from the protected header"),
    "alg unprotected": (
        lambda k: (craft(k, X, protected={4: k.kid}, unprotected={1: -8}), k.public_key, {}),
        "alg_missing", "the algorithm is missing from the protected header (it is in the "
        "unprotected header, which is not signed)"),
    "alg shown to 40 characters": (
        lambda k: (craft(k, X, protected={1: "A" * 50, 4: k.kid}), k.public_key, {}),
        "alg_unsupported", f"algorithm {'A' * 40!r} is not accepted; only EdDSA (-8) and "
        "ES256 (-7) are"),
    "empty kid": (lambda k: (craft(k, X, protected={1: -8, 4: b""}), k.public_key, {}),
                  "cose_invalid", "the kid must be a byte string of 1-64 bytes"),
    "long kid": (lambda k: (craft(k, X, protected={1: -8, 4: bytes(65)}), k.public_key, {}),
                 "cose_invalid", "the kid must be a byte string of 1-64 bytes"),
    "no kid, no key": (lambda k: (craft(k, X, protected={1: -7}), k.public_key, {}),
                       "key_unknown", "the card names no key and no ES256 key is trusted"),
    "unknown kid": (lambda k: (craft(k, X, protected={1: -8, 4: b"\x01\x02"}), k.public_key, {}),
                    "key_unknown", "no trusted key has kid 0102; is the issuer's key loaded?"),
    "claims not a map": (lambda k: (craft(k, cbor2.dumps([1])), k.public_key, {}),
                         "claims_invalid", "the signed payload must be a CWT claims map"),
    "no claim 169": (lambda k: (craft(k, cbor2.dumps({1: "LBY"})), k.public_key, {}),
                     "claims_invalid", "claim 169 (the identity map) is missing or is not a map"),
    "iss": (lambda k: (craft(k, cwt({1: "X"}, extra={1: 5})), k.public_key, {}),
            "claims_invalid", "the CWT iss and sub claims must be text"),
    "sub": (lambda k: (craft(k, cwt({1: "X"}, extra={2: 5})), k.public_key, {}),
            "claims_invalid", "the CWT iss and sub claims must be text"),
    "exp": (lambda k: (craft(k, cwt({1: "X"}, exp=-1)), k.public_key, {}), "claims_invalid",
            "the CWT exp claim must be a whole number of seconds from 1970 to 9999"),
    "nbf": (lambda k: (craft(k, cwt({1: "X"}, extra={5: "x"})), k.public_key, {}),
            "claims_invalid",
            "the CWT nbf claim must be a whole number of seconds from 1970 to 9999"),
    "iat": (lambda k: (craft(k, cwt({1: "X"}, iat=MAX_TIME + 1)), k.public_key, {}),
            "claims_invalid",
            "the CWT iat claim must be a whole number of seconds from 1970 to 9999"),
    "expired": (lambda k: (craft(k, X), k.public_key, {"now": datetime(2040, 1, 1, tzinfo=UTC)}),
                "expired", "the card expired on 2033-05-18 03:33 UTC"),
    "not yet valid": (lambda k: (craft(k, cwt({1: "X"}, nbf=1_900_000_000)), k.public_key, {}),
                      "not_yet_valid", "the card is not valid before 2030-03-17 17:46 UTC"),
    "revoked, by label": (
        lambda k: (craft(k, X), _certified(k, label="TRP-01", revoked_at=LONG_AGO,
                                           revocation_reason="superseded"), {}),
        "key_revoked", "the signing key of TRP-01 was revoked on 2020-01-01 00:00 UTC; this card "
        "was signed on 2023-11-14 22:13 UTC"),
    "revoked as compromised, by label": (
        lambda k: (craft(k, X), _certified(k, label="TRP-01", revoked_at=LONG_AGO,
                                           revocation_reason="compromised"), {}),
        "key_revoked", "the signing key of TRP-01 was revoked as compromised on 2020-01-01 "
        "00:00 UTC; every card it signed is refused (re-issue)"),
    "no iat, by label": (
        lambda k: (craft(k, cwt({1: "X"}, iat=None)), _certified(k, label="TRP-01",
                                                                 revoked_at=LONG_AGO), {}),
        "claims_invalid", "a card signed by a certified key (TRP-01) must state its iat"),
    "certificate not yet valid, by kid": (
        lambda k: (craft(k, X), _certified(k, valid_from=datetime(2030, 1, 1, tzinfo=UTC)), {}),
        "certificate_not_yet_valid",
        "the card was signed before the certificate of {kid} became valid"),
    "certificate expired, by kid": (
        lambda k: (craft(k, X), _certified(k, valid_until=LONG_AGO), {}),
        "certificate_expired", "the card was signed after the certificate of {kid} expired"),
    "tag 1 in the claims": (
        lambda k: (craft(k, cwt({24: cbor2.CBORTag(1, 0)})), k.public_key, {}),
        "cbor_invalid", "the payload uses a CBOR tag that Claim 169 does not allow"),
    "tag 99 in the claims": (
        lambda k: (craft(k, cwt({24: cbor2.CBORTag(99, 0)})), k.public_key, {}),
        "cbor_invalid", "the payload uses CBOR tag 99, which is not allowed here"),
    "duplicate key": (lambda k: (craft(k, bytes.fromhex("a201010101")), k.public_key, {}),
                      "cbor_duplicate_key", "a CBOR map repeats a key; refused"),
    "too deep": (lambda k: (craft(k, cwt({24: [[[[[[[[1]]]]]]]]})), k.public_key, {}),
                 "cbor_too_deep", "the CBOR nests deeper than 8 levels; refused"),
    "trailing bytes": (lambda k: (craft(k, X + b"\x01\x02"), k.public_key, {}), "cbor_invalid",
                       "2 unexpected byte(s) follow the CBOR item"),
    "byte-string map key": (lambda k: (craft(k, cwt({24: {b"k": 1}})), k.public_key, {}),
                            "cbor_invalid",
                            "a CBOR map key is neither an integer nor a text string"),
    "nested tag 18": (lambda k: (craft(k, cwt({24: cbor2.CBORTag(18, 1)})), k.public_key, {}),
                      "cbor_invalid", "CBOR tag 18 is only allowed around the whole message"),
    "too many items": (lambda k: (craft(k, cwt({24: list(range(600))})), k.public_key, {}),
                       "cbor_too_many_items", "the CBOR holds more than 512 items; refused"),
    "float": (lambda k: (craft(k, cwt({24: 1.5})), k.public_key, {}), "cbor_invalid",
              "the payload holds a CBOR float, which is not allowed"),
    "long text value": (lambda k: (craft(k, cwt({24: ["x" * 1025]})), k.public_key, {}),
                        "text_too_long", "a text value is longer than 1024 characters; refused"),
    "long text key": (lambda k: (craft(k, cwt({24: {"x" * 1025: 1}})), k.public_key, {}),
                      "text_too_long", "a text value is longer than 1024 characters; refused"),
}


@pytest.mark.parametrize("case", CASES)
def test_every_refusal_is_worded_exactly(ed_key: PrivateKey, case: str) -> None:
    build_case, code, message = CASES[case]
    payload, trust, kwargs = build_case(ed_key)
    assert _refusal(payload, trust, **kwargs) == (code, message.format(kid=ed_key.kid.hex()))


def test_algorithm_confusion_is_worded_exactly(ed_key: PrivateKey) -> None:
    payload = craft(ed_key, X, protected={1: -7, 4: ed_key.kid})
    assert _refusal(payload, ed_key.public_key) == (
        "alg_key_mismatch", f"the card says ES256 but the trusted key {ed_key.kid.hex()} is EdDSA; "
        "refused (algorithm confusion)")


def test_a_naive_clock_is_refused_with_its_reason(ed_key: PrivateKey) -> None:
    with pytest.raises(ValueError, match=r"^now must be a timezone-aware datetime$"):
        verify(craft(ed_key, X), ed_key.public_key, now=datetime(2026, 1, 1))


class _Floating(tzinfo):
    """A tzinfo that knows no offset: such a datetime is aware in name only."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_a_clock_without_an_offset_is_refused(ed_key: PrivateKey) -> None:
    floating = datetime(2027, 1, 1, tzinfo=_Floating())
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(craft(ed_key, X), ed_key.public_key, now=floating)


# --- issuing: problems, signer failures, arguments, boundaries --------------------------------


def _issue_problems(record: HolderRecord, key: Any, **kwargs: Any) -> set[tuple[str, str, str]]:
    kwargs.setdefault("now", ISSUED)
    with pytest.raises(cardlib.ValidationError) as info:
        cardlib.issue(record, key, **kwargs)
    return {(p.path, p.code, p.message) for p in info.value.problems}


def test_issue_problems_are_worded_exactly(record: HolderRecord, ed_key: PrivateKey) -> None:
    assert ("now", "range", "the signing time must be between 1970 and 9998") in _issue_problems(
        record, ed_key, now=datetime(1969, 12, 31, tzinfo=UTC))
    assert _issue_problems(record, ed_key, issuer="") == {
        ("issuer", "type", "the issuer (CWT iss) is 1-256 characters of printable text")}
    assert _issue_problems(record, ed_key, now=datetime(2036, 1, 11, tzinfo=UTC)) == {
        ("expiry_date", "past", "the card would already be expired")}
    assert _issue_problems(record, ed_key, now=datetime(2026, 1, 8, tzinfo=UTC)) == {
        ("issue_date", "future", "the issue date is later than the time of signing")}


@pytest.mark.parametrize(("moment", "out_of_range"), [
    (EPOCH - timedelta(seconds=1), True),
    (EPOCH, False),
    (datetime.fromtimestamp(MAX_TIME - 86_400, UTC), False),
    (datetime.fromtimestamp(MAX_TIME - 86_400 + 1, UTC), True),
])
def test_signing_time_range_ends(
    record: HolderRecord, ed_key: PrivateKey, moment: datetime, out_of_range: bool
) -> None:
    # The example record is not valid at these instants for other reasons; only "now" matters.
    found = {(path, code) for path, code, _ in _issue_problems(record, ed_key, now=moment)}
    assert (("now", "range") in found) is out_of_range


@pytest.mark.parametrize("issuer", ["L", "I" * 256, "ليبيا"])
def test_issuers_of_1_to_256_characters(
    record: HolderRecord, ed_key: PrivateKey, issuer: str
) -> None:
    card = verify(cardlib.issue(record, ed_key, now=ISSUED, issuer=issuer), ed_key.public_key,
                  now=CHECKED)
    assert card.issuer == issuer


@pytest.mark.parametrize("issuer", ["I" * 257, " LBY", "LBY ", "LBY\u200e"])
def test_issuers_that_are_refused(record: HolderRecord, ed_key: PrivateKey, issuer: str) -> None:
    assert ("issuer", "type") in {
        (p, c) for p, c, _ in _issue_problems(record, ed_key, issuer=issuer)}


def test_a_record_whose_expiry_is_not_a_date_is_a_problem(
    record: HolderRecord, ed_key: PrivateKey
) -> None:
    bad = dataclasses.replace(record, expiry_date="2036-01-09")  # type: ignore[arg-type]
    assert "expiry_date" in {p for p, _, _ in _issue_problems(bad, ed_key)}


def test_a_card_must_not_be_expired_when_signed(record: HolderRecord, ed_key: PrivateKey) -> None:
    exp = datetime.fromtimestamp(end_of_day(record.expiry_date), UTC)
    assert _issue_problems(record, ed_key, now=exp) == {
        ("expiry_date", "past", "the card would already be expired")}
    last = exp - timedelta(seconds=1)
    card = verify(cardlib.issue(record, ed_key, now=last), ed_key.public_key, now=last)
    assert card.issued_at == last and card.expires_at == exp


@pytest.fixture
def far_east(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time is UTC+14 (POSIX TZ spells it UTC-14)."""
    monkeypatch.setenv("TZ", "UTC-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_east")
def test_the_issue_date_check_uses_the_utc_date(record: HolderRecord, ed_key: PrivateKey) -> None:
    # 12:00 UTC on the 8th is already the 9th in local time; the issue date (the 10th) is still
    # two days after the UTC date of signing.
    assert _issue_problems(record, ed_key, now=datetime(2026, 1, 8, 12, tzinfo=UTC)) == {
        ("issue_date", "future", "the issue date is later than the time of signing")}


def test_issue_and_verify_default_to_the_current_time(
    record: HolderRecord, ed_key: PrivateKey
) -> None:
    today = datetime.now(UTC)
    current = dataclasses.replace(record, issue_date=today.date(),
                                  expiry_date=today.date() + timedelta(days=3650))
    card = verify(cardlib.issue(current, ed_key), ed_key.public_key)
    assert card.issued_at is not None
    assert abs(card.issued_at - today) < timedelta(minutes=1)


def test_rules_reach_every_check(record: HolderRecord, ed_key: PrivateKey) -> None:
    refuse_all = Rules(national_number_check=lambda number: False)
    assert "national_number" in {p for p, _, _ in _issue_problems(record, ed_key,
                                                                  rules=refuse_all)}
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    assert "national_number" in {p for p, _, _ in _problems(payload, ed_key.public_key,
                                                            rules=refuse_all)}
    tunisia = Rules(issuing_country="TUN")
    citizen = dataclasses.replace(record, nationality="TUN")
    card = verify(cardlib.issue(citizen, ed_key, now=ISSUED, rules=tunisia), ed_key.public_key,
                  now=CHECKED, rules=tunisia)
    assert card.claims.country_of_issuance == "TUN" and card.record == citizen


class _Signer:
    """A real key behind a chosen kid and a chosen signature transform."""

    def __init__(self, key: PrivateKey, kid: bytes, *, algorithm: str | None = None,
                 output: Callable[[bytes], Any] = lambda sig: sig) -> None:
        self._key, self.kid, self._output = key, kid, output
        self.algorithm = algorithm or key.algorithm

    def sign(self, data: bytes) -> Any:
        return self._output(self._key.sign(data))


@pytest.mark.parametrize("size", [1, 64])
def test_kids_of_1_and_64_bytes_sign_and_verify(
    record: HolderRecord, ed_key: PrivateKey, size: int
) -> None:
    kid = bytes(range(1, size + 1))
    payload = cardlib.issue(record, _Signer(ed_key, kid), now=ISSUED)
    card = verify(payload, dataclasses.replace(ed_key.public_key, kid=kid), now=CHECKED)
    assert card.kid == kid and card.record == record


@pytest.mark.parametrize("kid", [b"", bytes(65)])
def test_kids_outside_1_to_64_bytes_are_not_signed(
    record: HolderRecord, ed_key: PrivateKey, kid: bytes
) -> None:
    with pytest.raises(cardlib.SigningError) as info:
        cardlib.issue(record, _Signer(ed_key, kid), now=ISSUED)
    assert info.value.message == "the signer must provide a kid of 1-64 bytes"


def test_signer_failures_are_worded_exactly(record: HolderRecord, ed_key: PrivateKey) -> None:
    def failing(_: bytes) -> bytes:
        raise ConnectionError("HSM unreachable")

    cases: list[tuple[_Signer, type[CardError], str]] = [
        (_Signer(ed_key, ed_key.kid, algorithm="RS256"), cardlib.AlgorithmUnsupportedError,
         "the signer's algorithm 'RS256' is not supported; use one of ['ES256', 'EdDSA']"),
        (_Signer(ed_key, ed_key.kid, output=failing), cardlib.SigningError,
         "the signer failed: ConnectionError: HSM unreachable"),
        (_Signer(ed_key, ed_key.kid, output=lambda sig: sig.hex()), cardlib.SigningError,
         "the signer returned str of length ?; a EdDSA signature is 64 raw bytes"),
        (_Signer(ed_key, ed_key.kid, output=lambda sig: sig[:10]), cardlib.SigningError,
         "the signer returned bytes of length 10; a EdDSA signature is 64 raw bytes"),
    ]
    for signer, error, message in cases:
        with pytest.raises(error) as info:
            cardlib.issue(record, signer, now=ISSUED)
        assert info.value.message == message


# --- verifying: limits, times and claims at their boundaries ---------------------------------


def test_input_length_limit_is_inclusive(ed_key: PrivateKey) -> None:
    payload = craft(ed_key, X)
    size = len(payload)
    assert verify(payload, ed_key.public_key, now=CHECKED,
                  limits=Limits(max_input_chars=size)).claims.id == "X"
    assert _refusal(payload, ed_key.public_key, limits=Limits(max_input_chars=size - 1))[0] == (
        "input_too_large")


def test_uncompressed_size_limit_is_inclusive(ed_key: PrivateKey) -> None:
    payload = craft(ed_key, X, compress=False)
    size = len(_base45.b45decode(payload))
    card = verify(payload, ed_key.public_key, now=CHECKED,
                  limits=Limits(max_decompressed_bytes=size))
    assert card.compressed is False
    assert _refusal(payload, ed_key.public_key,
                    limits=Limits(max_decompressed_bytes=size - 1))[0] == "input_too_large"


@pytest.mark.parametrize("size", [1, 64])
def test_kids_of_1_and_64_bytes_in_a_crafted_card(ed_key: PrivateKey, size: int) -> None:
    kid = bytes(size)
    payload = craft(ed_key, X, protected={1: -8, 4: kid})
    trusted = dataclasses.replace(ed_key.public_key, kid=kid)
    card = verify(payload, trusted, now=CHECKED)
    assert card.kid == kid and card.signing_key is trusted


def test_trust_may_be_any_iterable_of_keys(ed_key: PrivateKey, es_key: PrivateKey) -> None:
    payload = craft(ed_key, X)
    for trust in ([es_key.public_key, ed_key.public_key], (ed_key.public_key,),
                  iter([ed_key.public_key])):
        assert verify(payload, trust, now=CHECKED).claims.id == "X"


def test_times_at_the_ends_of_their_range(ed_key: PrivateKey) -> None:
    at_epoch = craft(ed_key, cwt({1: "X"}, exp=None, nbf=0, iat=0))
    card = verify(at_epoch, ed_key.public_key, now=EPOCH, skew=timedelta(0))
    assert card.not_before == EPOCH == card.issued_at
    last = craft(ed_key, cwt({1: "X"}, exp=MAX_TIME))
    card = verify(last, ed_key.public_key, now=CHECKED)
    assert card.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(("nbf", "iat"), [(None, 0), (0, None)])
def test_a_missing_nbf_or_iat_adds_no_bound(
    ed_key: PrivateKey, nbf: int | None, iat: int | None
) -> None:
    payload = craft(ed_key, cwt({1: "X"}, exp=None, nbf=nbf, iat=iat))
    assert verify(payload, ed_key.public_key, now=EPOCH, skew=timedelta(0)).claims.id == "X"
    before = EPOCH - timedelta(seconds=1)
    assert _refusal(payload, ed_key.public_key, now=before, skew=timedelta(0)) == (
        "not_yet_valid", "the card is not valid before 1970-01-01 00:00 UTC")


def test_a_card_without_nbf_and_iat_has_no_start(ed_key: PrivateKey) -> None:
    """Spec section 7 step 15: not_yet_valid compares with max(nbf, iat) over those present; with
    neither there is nothing to compare, whatever the clock says (even before 1970)."""
    payload = craft(ed_key, cwt({1: "X"}, exp=None, nbf=None, iat=None))
    for now in (EPOCH, datetime(1969, 12, 31, 23, tzinfo=UTC), datetime(1900, 1, 1, tzinfo=UTC)):
        assert verify(payload, ed_key.public_key, now=now, skew=timedelta(0)).not_before is None


def test_nbf_alone_can_make_a_card_not_yet_valid(ed_key: PrivateKey) -> None:
    future = int(CHECKED.timestamp()) + 3600
    payload = craft(ed_key, cwt({1: "X"}, nbf=future, iat=1_700_000_000))
    assert _refusal(payload, ed_key.public_key)[0] == "not_yet_valid"


def test_the_subject_claim_is_carried(ed_key: PrivateKey) -> None:
    card = verify(craft(ed_key, cwt({1: "X"}, extra={2: "S-1"})), ed_key.public_key, now=CHECKED)
    assert (card.issuer, card.subject) == ("LBY", "S-1")
    assert verify(craft(ed_key, X), ed_key.public_key, now=CHECKED).subject is None


# --- the codec layers directly ----------------------------------------------------------------


@pytest.mark.parametrize(("size", "head"), [
    (0, "40"), (23, "57"), (24, "5818"), (255, "58ff"), (256, "590100"), (65535, "59ffff"),
    (65536, "5a00010000"), (2**32 - 1, "5affffffff"), (2**32, "5b0000000100000000"),
    (2**40 + 5, "5b0000010000000005"),
])
def test_byte_string_heads_at_every_length_boundary(size: int, head: str) -> None:
    assert _cose._bstr_head(size).hex() == head


def test_an_empty_protected_header_is_an_empty_byte_string() -> None:
    assert _cose.encode_header({}) == b""
    assert _cose.encode_header({1: -8}) == bytes.fromhex("a10127")


def test_compression_is_level_9() -> None:
    data = b"Claim 169 " * 50
    assert _zlib.compress(data) == zlib.compress(data, 9)
    assert _zlib.compress(data)[:2] == b"\x78\xda"  # FLEVEL 3: maximum compression


@pytest.mark.parametrize(("head", "is_zlib"), [
    ("78da", True), ("789c", True), ("081d", True),  # deflate, 32 KiB and 256-byte windows
    ("78", False),  # too short
    ("0000", False),  # checksum passes, method 0
    ("881c", False),  # deflate, checksum passes, window 64 KiB (CINFO 8)
    ("7800", False),  # checksum fails
    ("d818", False), ("8440", False),  # CBOR: tag 61, array of 4
])
def test_zlib_header_detection(head: str, is_zlib: bool) -> None:
    assert _zlib.looks_compressed(bytes.fromhex(head)) is is_zlib


def test_inflate_stops_at_the_limit() -> None:
    """A small payload that inflates to 32 MiB is refused without inflating it all."""
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join([*(packer.compress(chunk) for _ in range(32)), packer.flush()])
    assert len(bomb) < 64_000
    tracemalloc.start()
    try:
        with pytest.raises(cardlib.PayloadTooLargeError):
            _zlib.decompress(bomb, 65_536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def _cbor_error(value: Any, limits: Limits = cardlib.DEFAULT_LIMITS) -> tuple[str, str]:
    with pytest.raises(CardError) as info:
        _cbor.loads(cbor2.dumps(value), limits)
    return info.value.code, info.value.message


def test_at_most_two_tags_are_unwrapped_around_the_message() -> None:
    two = cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, [1])))
    assert _cbor.loads(two, cardlib.DEFAULT_LIMITS) == cbor2.loads(two)
    assert _cbor_error(cbor2.CBORTag(61, cbor2.CBORTag(18, cbor2.CBORTag(18, [])))) == (
        "cbor_invalid", "CBOR tag 18 is only allowed around the whole message")
    # What a tag wraps is checked like everything else.
    assert _cbor_error(cbor2.CBORTag(18, [1.5]))[0] == "cbor_invalid"
    assert _cbor_error(cbor2.CBORTag(61, cbor2.CBORTag(18, [[1.5]])))[0] == "cbor_invalid"


@pytest.mark.parametrize("tags", [0, 1, 2])
def test_item_count_is_exact_with_or_without_tags(tags: int) -> None:
    limits = Limits(max_items=20)

    def wrapped(count: int) -> Any:
        value: Any = list(range(count))
        for tag in (18, 61)[:tags]:
            value = cbor2.CBORTag(tag, value)
        return value

    fits = cbor2.dumps(wrapped(20 - 1 - tags))  # the array and each tag count as one item
    assert _cbor.loads(fits, limits) == cbor2.loads(fits)
    assert _cbor_error(wrapped(20 - tags), limits) == (
        "cbor_too_many_items", "the CBOR holds more than 20 items; refused")


def test_a_map_entry_counts_as_two_items() -> None:
    limits = Limits(max_items=21)
    assert len(_cbor.loads(cbor2.dumps(dict.fromkeys(range(10), 0)), limits)) == 10
    assert _cbor_error(dict.fromkeys(range(11), 0), limits)[0] == "cbor_too_many_items"


def test_text_length_limit_is_inclusive_for_keys_values_and_the_root() -> None:
    limits = Limits(max_text_chars=10)
    fits = "x" * 10
    assert _cbor.loads(cbor2.dumps({fits: [fits]}), limits) == {fits: [fits]}
    assert _cbor.loads(cbor2.dumps(fits), limits) == fits
    refused = ("text_too_long", "a text value is longer than 10 characters; refused")
    for value in ({fits + "x": 1}, [fits + "x"], fits + "x"):
        assert _cbor_error(value, limits) == refused


def test_every_container_is_checked() -> None:
    # A scalar met on the stack (here True) does not end the walk: the list before it is checked.
    assert _cbor_error([[1.5], True]) == (
        "cbor_invalid", "the payload holds a CBOR float, which is not allowed")
    assert _cbor_error([[None, [b"\x00", {1: [1.5]}]], False])[0] == "cbor_invalid"


def test_a_long_text_is_refused_where_it_stands() -> None:
    """Scalars in a container are checked as the container is read, nested containers after it:
    which code a doubly bad payload gets does not depend on the stack's order."""
    assert _cbor_error(["x" * 1025, 1.5])[0] == "text_too_long"


def test_a_decoder_failure_no_input_can_cause_is_still_wrapped(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    class Exhausted:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def decode(self) -> object:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(cbor2, "CBORDecoder", Exhausted)
    with pytest.raises(cardlib.CborError) as info:
        _cbor.loads(b"\x01", cardlib.DEFAULT_LIMITS)
    assert info.value.message == (
        "the payload is not well-formed CBOR (maximum recursion depth exceeded)")


# --- reading Claim 169 -------------------------------------------------------------------------


def test_only_integer_keys_name_standard_fields() -> None:
    # True and 1.0 equal 1 (the id key) in a dict lookup; neither is an integer key.
    for key in (True, 1.0, "1"):
        with pytest.raises(cardlib.ValidationError) as info:
            read_claim169({key: "x"})
        assert [(p.path, p.code, p.message) for p in info.value.problems] == [
            (f"claim169.{key}", "type", "Claim 169 keys are integers")]


@pytest.mark.parametrize(("claim", "problem"), [
    ({4: 5}, ("claim169.4", "type", "full_name must be text")),
    ({"x": 1}, ("claim169.x", "type", "Claim 169 keys are integers")),
    ({9: 7}, ("claim169.9", "enum", "gender must be 1..3 (got 7)")),
    ({17: "jpeg"}, ("claim169.17", "enum", "photo_format must be 1..4 (got 'jpeg')")),
    ({16: "AA"}, ("claim169.16", "type", "photo must be a byte string")),
    ({18: [11]}, ("claim169.18", "type", "bestQualityFingers is a list of 0..10")),
    ({18: [-1]}, ("claim169.18", "type", "bestQualityFingers is a list of 0..10")),
    ({18: ["1"]}, ("claim169.18", "type", "bestQualityFingers is a list of 0..10")),
    ({50: {}}, ("claim169.50", "type", "a biometric entry is a list of maps")),
    ({50: [1]}, ("claim169.50", "type", "a biometric entry is a list of maps")),
])
def test_standard_field_problems_are_worded_exactly(
    ed_key: PrivateKey, claim: dict[Any, Any], problem: tuple[str, str, str]
) -> None:
    assert _problems(craft(ed_key, cwt(claim)), ed_key.public_key) == {problem}


def test_fingers_and_biometrics_are_carried(ed_key: PrivateKey) -> None:
    card = verify(craft(ed_key, cwt({18: [0, 10, 5], 62: [{0: b"x"}, {1: 2}]})),
                  ed_key.public_key, now=CHECKED)
    assert card.claims.best_quality_fingers == (0, 10, 5)
    assert [dict(entry) for entry in card.claims.biometrics[62]] == [{0: b"x"}, {1: 2}]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c.__setitem__(75, 2),
     {("claim169.75", "unsupported_profile", "profile version 2 is not known")}),
    (lambda c: c.__setitem__(90, "x"),
     {("claim169.90", "unknown_field", "not defined by profile version 1")}),
    (lambda c: c.__setitem__(76, True),
     {("claim169.76", "enum", "holder category must be 1 or 2"),
      ("category", "required", "this field is required")}),
    (lambda c: c.__setitem__(9, 3), {("sex", "enum", "must be one of: male, female (got 3)")}),
    (lambda c: c.pop(79), {("claim169.79", "required", "missing from the signed data"),
                           ("mother_name_ar", "required", "this field is required")}),
    (lambda c: c.pop(81), {("claim169.81", "required", "missing from the signed data"),
                           ("document_number", "required", "this field is required")}),
    (lambda c: c.pop(82), {("claim169.82", "required", "missing from the signed data"),
                           ("place_of_birth", "required", "this field is required")}),
    (lambda c: c.__setitem__(83, 20260110),
     {("claim169.83", "date", "expected a date as YYYYMMDD (got 20260110)"),
      ("issue_date", "required", "this field is required")}),
    (lambda c: c.__setitem__(5, "Muhammad"),
     {("claim169.5", "inconsistent", "first_name disagrees with the profile fields")}),
])
def test_profile_problems_are_worded_exactly(
    record: HolderRecord, ed_key: PrivateKey, change: Callable[[Any], object],
    expected: set[tuple[str, str, str]],
) -> None:
    assert _problems(_resigned(ed_key, record, change), ed_key.public_key) == expected


@pytest.mark.parametrize("counts", [[1, 0, 2, 1], [1, 1, 0, 2], [1, 2, 1, 0], [0, 1, 1, 2]])
def test_every_part_needs_a_word(
    record: HolderRecord, ed_key: PrivateKey, counts: list[int]
) -> None:
    found = _problems(_resigned(ed_key, record, lambda c: c.__setitem__(78, counts)),
                      ed_key.public_key)
    assert ("claim169.78", "type", "the name's word counts must be 4 positive integers that add "
            "up to the number of words in the full name") in found


def test_every_part_may_have_several_words(record: HolderRecord, ed_key: PrivateKey) -> None:
    latin = cardlib.FourPartName("Abd Al", "Ali Omar", "Salem Abu Bakr", "El Warfali")
    arabic = cardlib.FourPartName("عبد الله", "علي عمر", "سالم أبو بكر", "الورفلي")
    several = dataclasses.replace(record, name_latin=latin, name_ar=arabic)
    card = verify(cardlib.issue(several, ed_key, now=ISSUED), ed_key.public_key, now=CHECKED)
    assert card.record is not None
    assert card.record.name_latin == latin and card.record.name_ar == arabic


@pytest.mark.parametrize("key", [24, 74, 100, 169])
def test_keys_outside_75_to_99_are_not_profile_fields(
    record: HolderRecord, ed_key: PrivateKey, key: int
) -> None:
    card = verify(_resigned(ed_key, record, lambda c: c.__setitem__(key, "x")),
                  ed_key.public_key, now=CHECKED)
    assert card.record == record and card.claims.extras[key] == "x"


# --- inspect ------------------------------------------------------------------------------------


def test_inspect_shows_every_layer(ed_key: PrivateKey) -> None:
    claim = cbor2.dumps({1: "X", 16: b"\x01\x02"})
    body = cbor2.dumps({1: "LBY", 169: claim})
    protected = cbor2.dumps({1: -8, 4: ed_key.kid}, canonical=True)
    signature = ed_key.sign(_cose.sig_structure(protected, body))
    payload = craft(ed_key, body, unprotected={4: b"\x01\x02"})
    assert cardlib.inspect(payload) == {
        "verified": False,
        "warning": "UNVERIFIED: nothing below has been checked against a trusted key",
        "compressed": True,
        "envelope": "tag18",
        "protected_header": {"1": -8, "4": {"hex": ed_key.kid.hex()}},
        "unprotected_header": {"4": {"hex": "0102"}},
        "signature_hex": signature.hex(),
        "sig_structure_hex": _cose.sig_structure(protected, body).hex(),
        "payload_hex": body.hex(),
        "claims": {"1": "LBY", "169": {"1": "X", "16": {"hex": "0102"}}},
    }


def test_inspect_reports_unreadable_claims(ed_key: PrivateKey) -> None:
    layers = cardlib.inspect(craft(ed_key, b"\xa1\x01", compress=False))
    assert layers["compressed"] is False and "claims" not in layers
    assert layers["claims_error"] == {
        "code": "cbor_invalid",
        "message": "the payload is not well-formed CBOR (premature end of stream (expected to "
                   "read at least 1 bytes, got 0 instead))",
    }
    assert cardlib.inspect(craft(ed_key, cbor2.dumps({169: b"\xff"})))["claims_error"][
        "code"] == "cbor_invalid"


def test_the_expiry_date_survives_the_round_trip(record: HolderRecord, ed_key: PrivateKey) -> None:
    card = verify(cardlib.issue(record, ed_key, now=ISSUED), ed_key.public_key, now=CHECKED)
    assert card.record is not None and card.record.expiry_date == date(2036, 1, 9)
    assert card.signing_key is ed_key.public_key


def test_a_certified_signer_of_another_centre_is_worded_exactly(record: HolderRecord) -> None:
    from cardlib.trust import CertifiedSigner, certify_centre, create_root

    root_key, centre_key = PrivateKey.generate("EdDSA"), PrivateKey.generate("EdDSA")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    root = create_root("R", root_key, now=start, days=10)
    cert = certify_centre(root_key, root, centre_key.public_key, centre_code="BEN-02",
                          not_before=start, not_after=start + timedelta(days=5))
    with pytest.raises(cardlib.ValidationError) as refused:
        cardlib.issue(record, CertifiedSigner(centre_key, cert), now=ISSUED)
    assert [(p.path, p.code, p.message) for p in refused.value.problems] == [
        ("centre_code", "signer_mismatch", "the signer is the key of centre BEN-02; a centre "
         "issues only cards that name it (verifiers refuse centre_mismatch)")]
