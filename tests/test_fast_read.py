"""The verify path's fixed-shape readers against the general strict ones they stand in for.

``_cose._fixed_shape`` (the COSE_Sign1 envelope read by offsets), ``read_profile`` (the claim 169
map and the holder record in one pass) and ``_pipeline._read_fixed`` (the CWT around it) only
ever answer for the common layout and hand everything else to the general readers. Each must
return exactly what the general reader returns, and nothing where the general reader refuses:
checked here on every test vector, on every single-byte change and truncation of a real
message, on Hypothesis-made changes to a real claims map, and through ``verify`` as a whole.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cardlib
from cardlib import DEFAULT_LIMITS, DEFAULT_RULES, CardError, Limits, PrivateKey, _pipeline
from cardlib._pipeline import _read_claims, _read_cwt, _read_fixed, build
from cardlib.codec import _cbor, _cose
from cardlib.profile import read_claim169, read_profile, record_from_claims

VECTORS = sorted((Path(__file__).resolve().parents[1] / "specs" / "vectors").glob("*.json"))
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def _vector_layers() -> list[dict[str, Any]]:
    out = []
    for path in VECTORS:
        layers = json.loads(path.read_text(encoding="utf-8")).get("layers")
        if layers and layers.get("cose_hex") and layers.get("cbor_hex"):
            out.append(layers)
    return out


LAYERS = _vector_layers()


def general_cose(data: bytes, limits: Limits) -> Any:
    try:
        return _cose.decode_general(data, limits)
    except CardError as err:
        return err.code


def check_cose(data: bytes, limits: Limits = DEFAULT_LIMITS) -> bool:
    """The fixed-shape reader agrees with the general one on ``data``; True if it answered (a
    refusal of the protected header's content is an answer too)."""
    try:
        fixed = _cose._fixed_shape(data, limits)
    except CardError as err:
        assert err.code == general_cose(data, limits), data.hex()
        return True
    if fixed is None:
        return False
    assert fixed == general_cose(data, limits), data.hex()
    return True


def test_vectors_cover_the_fixed_and_the_general_layouts() -> None:
    answered = [check_cose(bytes.fromhex(layers["cose_hex"])) for layers in LAYERS]
    assert any(answered) and not all(answered)  # both readers are exercised by the vectors


@pytest.fixture(scope="module")
def message(record: cardlib.HolderRecord, ed_key: PrivateKey) -> bytes:
    return build(record, ed_key, now=NOW).cose


def test_every_byte_change_of_a_real_message(message: bytes) -> None:
    answered = 0
    for at in range(len(message)):
        for value in {0x00, 0x18, 0x40, 0x58, 0x59, 0x84, 0xA0, 0xD2, 0xFF,
                      message[at] ^ 0x01, message[at] ^ 0x20}:
            answered += check_cose(message[:at] + bytes([value]) + message[at + 1 :])
    assert answered > len(message)  # most changes inside the payload keep the layout


@pytest.mark.parametrize("envelope", [b"", b"\xd2", b"\xd8\x3d\xd2", b"\xd8\x3d"])
def test_truncations_extensions_and_envelopes(message: bytes, envelope: bytes) -> None:
    body = envelope + message[1:]  # message starts with tag 18 (d2)
    check_cose(body)
    for cut in range(len(body)):
        check_cose(body[:cut])
    for extra in (b"\x00", b"\xa0", body):
        check_cose(body + extra)


@pytest.mark.parametrize("limits", [
    Limits(max_depth=1), Limits(max_depth=2), Limits(max_depth=3), Limits(max_items=3),
    Limits(max_items=5), Limits(max_items=7), Limits(max_items=8), Limits(max_kid_bytes=1),
])
def test_tight_limits(message: bytes, limits: Limits) -> None:
    for body in (message, b"\xd8\x3d" + message, message[1:]):
        check_cose(body, limits)


def test_a_long_protected_header_and_an_odd_signature_length(ed_key: PrivateKey) -> None:
    protected = _cbor.dumps({1: -8, 4: ed_key.kid, -70000: b"x" * 300})  # a 2-byte length head
    long_header = _cbor.dumps(_cbor.Tag(18, [protected, {}, b"payload", bytes(64)]))
    assert check_cose(long_header)
    for size in (0, 63, 65):
        check_cose(_cbor.dumps(_cbor.Tag(18, [protected, {}, b"payload", bytes(size)])))
    crit = _cbor.dumps({1: -8, 2: [4]})
    assert not check_cose(_cbor.dumps(_cbor.Tag(18, [crit, {}, b"p", bytes(64)])))
    assert general_cose(_cbor.dumps(_cbor.Tag(18, [crit, {}, b"p", bytes(64)])),
                        DEFAULT_LIMITS) == "cose_invalid"


# --- the claims: read_profile against read_claim169 + record_from_claims ------------------------


def general_claims(claims: dict[Any, Any]) -> Any:
    try:
        view = read_claim169(claims)
        return view, record_from_claims(claims, view, DEFAULT_RULES)
    except CardError as err:
        return err.code


def check_claims(claims: dict[Any, Any]) -> bool:
    fast = read_profile(claims, DEFAULT_RULES)
    if fast is None:
        return False
    assert fast == general_claims(claims), claims
    return True


def test_vector_claims() -> None:
    answered = 0
    for layers in LAYERS:
        try:
            cwt = _cbor.loads(bytes.fromhex(layers["cbor_hex"]), DEFAULT_LIMITS)
        except CardError:
            continue
        if isinstance(cwt, dict) and isinstance(cwt.get(169), dict):
            answered += check_claims(cwt[169])
    assert answered >= 10


@pytest.fixture(scope="module")
def claims(record: cardlib.HolderRecord, ed_key: PrivateKey) -> dict[Any, Any]:
    cwt = _cbor.loads(build(record, ed_key, now=NOW).cbor, DEFAULT_LIMITS)
    assert check_claims(cwt[169])
    return cwt[169]  # type: ignore[no-any-return]


ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.binary(max_size=3),
    st.sampled_from(["", " ", "1", "ara", "LBY", "citizen", "resident", "20260110", "2026-01-10",
                     "19900230", "٢٠٢٦٠١١٠", "A" * 300, "Ahmed", "أحمد", "a\u0301", "\x00"]),
    st.lists(st.integers(0, 5), max_size=5), st.lists(st.booleans(), min_size=4, max_size=4),
    st.dictionaries(st.integers(0, 3), st.integers(0, 3), max_size=2),
)
KEYS = st.one_of(st.sampled_from([1, 2, 3, 4, 8, 9, 11, 12, 15, 16, 17, 18, 21, 50, 74, 75,
                                  76, 77, 78, 80, 84, 85, 99, 100]),
                 st.just(True), st.just("1"), st.integers(-5, 200))


@settings(max_examples=400, deadline=None)
@given(changes=st.lists(st.tuples(KEYS, st.one_of(ODD_VALUES, st.just("delete"))),
                        min_size=1, max_size=3))
def test_changed_claims(claims: dict[Any, Any], changes: list[tuple[Any, Any]]) -> None:
    changed = copy.deepcopy(claims)
    for key, value in changes:
        if value == "delete":
            changed.pop(key, None)
        else:
            changed[key] = value
    check_claims(changed)


@pytest.mark.parametrize("field", ["phone", "email", "mother_name_latin", "photo", "resident"])
def test_optional_fields_and_residents(record: cardlib.HolderRecord, ed_key: PrivateKey,
                                       field: str) -> None:
    options: dict[str, dict[str, Any]] = {
        "phone": {"phone": "+218 91 234 5678"}, "email": {"email": "a@example.ly"},
        "mother_name_latin": {"mother_name_latin": "Fatima"},
        "photo": {"photo": b"\xff\xd8\xff\xe0", "photo_format": cardlib.PhotoFormat.JPEG},
        "resident": {"category": cardlib.HolderCategory.RESIDENT, "national_number": None,
                     "admin_number": "EG1234567", "nationality": "EGY"},
    }
    changes = options[field]
    varied = dataclasses.replace(record, **changes)
    cwt = _cbor.loads(build(varied, ed_key, now=NOW).cbor, DEFAULT_LIMITS)
    assert check_claims(cwt[169])


# --- the CWT, and verify as a whole -------------------------------------------------------------


def general_cwt(payload: bytes, limits: Limits) -> Any:
    try:
        raw, issuer, subject, exp, nbf, iat = _read_cwt(payload, limits)
        return (issuer, subject, exp, nbf, iat, *_read_claims(raw, exp, DEFAULT_RULES))
    except CardError as err:
        return err.code


def check_cwt(payload: bytes, limits: Limits = DEFAULT_LIMITS) -> bool:
    fast = _read_fixed(payload, limits, DEFAULT_RULES)
    if fast is None:
        return False
    assert fast == general_cwt(payload, limits)
    return True


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 169, True, "1", -1]),
       value=st.one_of(ODD_VALUES, st.integers(0, 2**64), st.just(2**40)))
def test_changed_cwt(claims: dict[Any, Any], key: Any, value: Any) -> None:
    cwt = {1: "LBY", 4: 4_102_444_800, 5: 1_768_035_600, 6: 1_768_035_600, 169: claims}
    assert check_cwt(_cbor.dumps(cwt)) is (
        _pipeline.end_of_day(read_profile(claims)[1].expiry_date) == 4_102_444_800)  # type: ignore[index]
    cwt[key] = value
    check_cwt(_cbor.dumps(cwt))


@pytest.mark.parametrize("limits", [Limits(max_text_chars=259), Limits(max_text_chars=40),
                                    Limits(max_items=60), Limits(max_depth=2)])
def test_limits_below_what_a_card_needs_take_the_general_path(
        record: cardlib.HolderRecord, ed_key: PrivateKey, limits: Limits) -> None:
    payload = build(record, ed_key, now=NOW).cbor
    assert not check_cwt(payload, limits)
    assert check_cwt(payload)


def _outcome(verify: Callable[[], cardlib.VerifiedCard]) -> Any:
    try:
        return verify()
    except CardError as err:
        return err.code, err.message, err.card


def _vector_run(path: Path) -> Callable[[], cardlib.VerifiedCard] | None:
    """Verify the vector's payload under its trusted keys and clock (None: no such vector)."""
    vector = json.loads(path.read_text(encoding="utf-8"))
    payload = (vector.get("layers") or {}).get("base45")
    try:
        trust = [cardlib.PublicKey.from_pem(entry["pem"].encode())
                 for entry in (vector.get("verifier") or {}).get("trusted_keys") or []]
    except CardError:  # a vector of a key that never loads
        return None
    if not payload or not trust:
        return None
    moment = datetime.fromisoformat(vector["now"].replace("Z", "+00:00"))
    return lambda: cardlib.verify(payload, trust, now=moment)


def test_verify_gives_the_same_answer_without_the_fast_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every vector, verified with and without the fixed-shape readers: the same card, or the
    same error with the same message (and the same card on it)."""
    runs = [run for run in map(_vector_run, VECTORS) if run is not None]
    answers = [_outcome(run) for run in runs]
    with monkeypatch.context() as patch:
        patch.setattr(_pipeline, "_read_fixed", lambda *args: None)
        patch.setattr(_cose, "_fixed_shape", lambda *args: None)
        general = [_outcome(run) for run in runs]
    assert len(answers) >= 50
    assert answers == general
    assert sum(isinstance(a, cardlib.VerifiedCard) for a in answers) >= 5


def test_expired_and_centre_refusals_keep_their_order(record: cardlib.HolderRecord,
                                                      ed_key: PrivateKey) -> None:
    """The fast path still reports a time refusal with the card on it."""
    payload = cardlib.issue(record, ed_key, now=NOW)
    late = datetime.combine(record.expiry_date, datetime.min.time(), UTC) + timedelta(days=2)
    with pytest.raises(cardlib.ExpiredError) as info:
        cardlib.verify(payload, ed_key.public_key, now=late)
    assert info.value.card is not None and info.value.card.record == record.normalised()


# --- the fast path answers where it should (a slower verify is not a wrong one, but it is the
# point of these readers; each case below is one the fixed-shape readers must take) -----------

MIN_LIMITS = Limits(max_items=128, max_depth=3, max_text_chars=260)  # what _read_fixed needs

LATIN = st.sampled_from(["Ali", "Abd Al", "Mohamed", "El Hadi", "Salem", "Ben Omar Al"])
ARABIC = st.sampled_from(["علي", "عبد الله", "محمد", "الهادي", "سالم", "بن عمر"])


@st.composite
def valid_records(draw: st.DrawFn, base: cardlib.HolderRecord) -> cardlib.HolderRecord:
    """Valid records varying what the reader must cut and map: multi-word name parts, sex,
    category, the optional fields, every photo format."""
    latin = cardlib.FourPartName(*(draw(LATIN) for _ in range(4)))
    arabic = cardlib.FourPartName(*(draw(ARABIC) for _ in range(4)))
    changes: dict[str, Any] = {"name_latin": latin, "name_ar": arabic}
    female = draw(st.booleans())
    if draw(st.booleans()):
        number = ("2" if female else "1") + base.national_number[1:]  # type: ignore[index]
        changes |= {"sex": cardlib.Sex.FEMALE if female else cardlib.Sex.MALE,
                    "national_number": number}
    else:
        changes |= {"category": cardlib.HolderCategory.RESIDENT, "national_number": None,
                    "admin_number": "EG1234567", "nationality": "EGY",
                    "sex": cardlib.Sex.FEMALE if female else cardlib.Sex.MALE}
    for name, value in (("phone", "+218 91 234 5678"), ("email", "a@example.ly"),
                        ("mother_name_latin", "Fatima")):
        changes[name] = value if draw(st.booleans()) else None
    photo = draw(st.sampled_from([None, *cardlib.PhotoFormat]))
    changes |= {"photo": None if photo is None else b"\x00\x01photo",
                "photo_format": photo}
    return dataclasses.replace(base, **changes)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_valid_card_takes_the_fast_path(record: cardlib.HolderRecord,
                                              ed_key: PrivateKey, data: st.DataObject) -> None:
    varied = data.draw(valid_records(record))
    layers = build(varied, ed_key, now=NOW)
    assert check_cose(layers.cose) and check_cose(b"\xd8\x3d" + layers.cose)
    assert check_cose(layers.cose[1:])  # untagged
    assert check_cwt(layers.cbor) and check_cwt(layers.cbor, MIN_LIMITS)
    assert check_claims(_cbor.loads(layers.cbor, DEFAULT_LIMITS)[169])


def test_the_least_limits_the_fast_paths_need(message: bytes) -> None:
    assert check_cose(message, Limits(max_depth=3, max_items=8))


@pytest.mark.parametrize("size", [0, 1, 23, 24, 25, 255, 256, 300])
def test_every_byte_string_head_the_fixed_reader_takes(ed_key: PrivateKey, size: int) -> None:
    for protected in (_cbor.dumps({1: -8, 4: ed_key.kid}),
                      _cbor.dumps({1: -8, 4: ed_key.kid, -70000: b"x" * size})):
        body = _cbor.dumps(_cbor.Tag(18, [protected, {}, b"p" * size, bytes(64)]))
        assert check_cose(body), (size, len(protected))


def changed_cwt(claims: dict[Any, Any], change: dict[Any, Any]) -> dict[Any, Any]:
    """A valid card's CWT (exp the end of its expiry date) with ``change`` applied (a value of
    None removes the claim)."""
    expiry = read_profile(claims)[1].expiry_date  # type: ignore[index]
    cwt: dict[Any, Any] = {1: "LBY", 4: _pipeline.end_of_day(expiry), 5: 1_768_035_600,
                           6: 1_768_035_600, 169: claims}
    for key, value in change.items():
        if value is None:
            del cwt[key]
        else:
            cwt[key] = value
    return cwt


@pytest.mark.parametrize("change", [
    {5: 0}, {6: 0}, {5: _pipeline.MAX_TIME}, {6: _pipeline.MAX_TIME}, {5: None, 6: None},
    {1: None}, {1: "X" * 260}, {2: "subject"}, {2: "S" * 260},
])
def test_the_fast_cwt_reader_takes_every_valid_claim(claims: dict[Any, Any],
                                                     change: dict[int, Any]) -> None:
    assert check_cwt(_cbor.dumps(changed_cwt(claims, change)), MIN_LIMITS)


@pytest.mark.parametrize(("key", "value"), [(17, 5), (17, 0), (9, 3), (9, 0), (76, 3), (75, 2)])
def test_out_of_range_enumerations_take_the_general_path(claims: dict[Any, Any], key: int,
                                                         value: int) -> None:
    changed = {**claims, key: value, 16: b"photo"} if key == 17 else {**claims, key: value}
    assert read_profile(changed, DEFAULT_RULES) is None
    assert isinstance(general_claims(changed), str)  # refused, with its code


@pytest.mark.parametrize("change", [
    {1: 5}, {2: 5}, {1: b"LBY"}, {5: "x"}, {6: "x"}, {5: -1}, {6: -1},
    {5: _pipeline.MAX_TIME + 1}, {6: _pipeline.MAX_TIME + 1}, {4: "x"}, {4: None},
    {"1": "LBY"}, {7: b"cti"}, {169: b"\xa0"}, {169: None}, {5: True}, {6: 1.5},
])
def test_every_other_cwt_is_left_to_the_general_reader(claims: dict[Any, Any],
                                                       change: dict[Any, Any]) -> None:
    cwt = changed_cwt(claims, change)
    try:
        payload = _cbor.dumps(cwt)
    except Exception:
        payload = __import__("cbor2").dumps(cwt)
    assert _read_fixed(payload, DEFAULT_LIMITS, DEFAULT_RULES) is None
    check_cwt(payload)


@pytest.mark.parametrize("change", [
    {4: 5}, {19: 5}, {19: "محمد  علي سالم الورفلي"}, {8: "١٩٨٥٠٣١٤"}, {83: "2026011X"},
    {84: "20261301"}, {77: [1, 1, 1, 0, 1]}, {77: [0, 1, 1, 2]}, {78: [2, 1, 1, 0]},
])
def test_claims_the_fast_reader_declines(claims: dict[Any, Any], change: dict[int, Any]) -> None:
    """Each is refused by the general reader; the fast one must decline, not crash or accept."""
    changed = {**claims, **change}
    assert read_profile(changed, DEFAULT_RULES) is None
    assert isinstance(general_claims(changed), str)


def test_truncated_heads_of_every_length(ed_key: PrivateKey) -> None:
    protected = _cbor.dumps({1: -8, 4: ed_key.kid})
    for size in (24, 255, 256, 300):
        body = _cbor.dumps(_cbor.Tag(18, [protected, {}, b"p" * size, bytes(64)]))
        head = body.index(b"p" * size) - (2 if size < 256 else 3)
        for cut in range(head, head + 4):
            check_cose(body[:cut])
