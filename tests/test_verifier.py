"""cardlib.Verifier: one verdict (valid / revoked / unknown / invalid) for library, CLI and service.

Real root, centre, trust lists, revocation lists and bundles throughout; the clock is pinned.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import cardlib
from cardlib._errors import (
    BundleError,
    RevocationListError,
    RevocationListRollbackError,
    StateError,
    TrustInputError,
    TrustListError,
    TrustListRollbackError,
)
from cardlib._messages import CATALOGUE
from cardlib._state import VerifierState
from cardlib._verifier import Policy, Verifier
from cardlib.bundle._bundle import export_bundle
from cardlib.revocation._revocation import Reason, RevocationEntry, publish_revocation_list
from cardlib.trust import KeyRevocation
from cardlib.trust._certs import certify_centre, create_root
from cardlib.trust._signer import CertifiedSigner
from cardlib.trust._trustlist import publish_trust_list

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ISSUED = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)  # the example record's issue date
NOW = T0 + timedelta(days=19)  # both lists fresh
REVOCATION_DUE = T0 + timedelta(days=30)
TRUST_DUE = T0 + timedelta(days=60)


@dataclasses.dataclass
class Chain:
    root_key: cardlib.PrivateKey
    root: bytes
    signer: CertifiedSigner
    cert: bytes

    def trust_list(self, sequence: int = 1, next_update: datetime = TRUST_DUE) -> bytes:
        return publish_trust_list(self.root_key, self.root, [self.cert], sequence=sequence,
                                  issued=T0, next_update=next_update)

    def revocations(self, *numbers: str, sequence: int = 1,
                    next_update: datetime = REVOCATION_DUE) -> bytes:
        entries = [RevocationEntry(n, Reason.STOLEN, T0 + timedelta(days=3)) for n in numbers]
        return publish_revocation_list(self.root_key, self.root, entries, sequence=sequence,
                                       issued=T0 + timedelta(days=5), next_update=next_update)

    def bundle(self, *numbers: str, sequence: int = 1) -> bytes:
        return export_bundle(self.trust_list(sequence),
                             self.revocations(*numbers, sequence=sequence), root_der=self.root)


@pytest.fixture(scope="module")
def chain() -> Chain:
    root_key = cardlib.PrivateKey.generate("EdDSA")
    root = create_root("Root", root_key, now=T0, days=3650)
    centre = cardlib.PrivateKey.generate("EdDSA")
    cert = certify_centre(root_key, root, centre.public_key, centre_code="TRP-01",
                          not_before=T0, not_after=T0 + timedelta(days=900))
    return Chain(root_key, root, CertifiedSigner(centre, cert), cert)


@pytest.fixture(scope="module")
def payload(chain: Chain, record: cardlib.HolderRecord) -> str:
    return cardlib.issue(record, chain.signer, now=ISSUED)


def test_valid_only_when_everything_is_known_good(chain: Chain, payload: str,
                                                  record: cardlib.HolderRecord) -> None:
    verifier = Verifier(root=chain.root, trust_list=chain.trust_list(),
                        revocation_list=chain.revocations("LY0000001"), now=NOW)
    result = verifier.check(payload, now=NOW)
    assert (result.status, result.code, result.exit_code) == ("valid", None, 0)
    assert result.card is not None and result.card.record == record.normalised()
    assert result.signer is not None and result.signer.centre == "TRP-01"
    assert result.signer.certificate_valid_from == T0
    assert result.revocation is not None and result.revocation.state == "not_revoked"
    assert [(i.kind, i.sequence, i.stale) for i in result.lists] == [
        ("trust_list", 1, False), ("revocation_list", 1, False)]
    assert result.lists[1].age_seconds == int((NOW - T0 - timedelta(days=5)).total_seconds())


def test_stale_revocation_data_is_unknown_not_valid(chain: Chain, payload: str) -> None:
    late = REVOCATION_DUE + timedelta(seconds=1)
    verifier = Verifier(root=chain.root, trust_list=chain.trust_list(),
                        revocation_list=chain.revocations(), now=NOW)
    assert verifier.check(payload, now=REVOCATION_DUE).status == "valid"  # the last fresh second
    result = verifier.check(payload, now=late)
    assert (result.status, result.code, result.exit_code) == ("unknown", "revocation_stale", 3)
    assert result.card is not None  # authentic: the clerk still sees what was signed
    assert result.revocation is not None and result.revocation.state == "unknown"
    assert result.detail is not None and "stale since" in result.detail
    assert result.lists[1].stale and not result.lists[0].stale
    # A grace period set by the policy keeps slightly stale data usable, and no longer.
    graced = Verifier(root=chain.root, trust_list=chain.trust_list(),
                      revocation_list=chain.revocations(), now=NOW,
                      policy=Policy(grace=timedelta(hours=1)))
    assert graced.check(payload, now=late).status == "valid"
    assert graced.check(payload, now=REVOCATION_DUE + timedelta(hours=1, seconds=1)).code == (
        "revocation_stale")


def test_a_listed_card_is_revoked_even_from_a_stale_list(chain: Chain, payload: str,
                                                         record: cardlib.HolderRecord) -> None:
    verifier = Verifier(root=chain.root, trust_list=chain.trust_list(),
                        revocation_list=chain.revocations(record.document_number), now=NOW)
    for moment in (NOW, REVOCATION_DUE + timedelta(days=5)):
        result = verifier.check(payload, now=moment)
        assert (result.status, result.code, result.exit_code) == ("revoked", "revoked", 1)
        assert result.revocation is not None
        assert (result.revocation.reason, result.revocation.revoked_at) == (
            "stolen", T0 + timedelta(days=3))
        assert result.card is not None


def test_stale_trust_list_is_unknown(chain: Chain, payload: str) -> None:
    verifier = Verifier(root=chain.root, trust_list=chain.trust_list(next_update=NOW),
                        revocation_list=chain.revocations(next_update=NOW + timedelta(days=90)),
                        now=NOW)
    result = verifier.check(payload, now=NOW + timedelta(seconds=1))
    assert (result.status, result.code) == ("unknown", "trust_list_stale")
    assert verifier.check(payload, now=NOW).status == "valid"


def test_no_revocation_data_is_unknown_unless_the_policy_says_none_is_published(
        ed_key: cardlib.PrivateKey, record: cardlib.HolderRecord) -> None:
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    result = Verifier(keys=[ed_key.public_key]).check(payload, now=NOW)
    assert (result.status, result.code) == ("unknown", "revocation_missing")
    assert result.revocation is None and result.signer is not None
    assert result.signer.centre is None and result.signer.kid == ed_key.kid.hex()
    relaxed = Verifier(keys=[ed_key.public_key], policy=Policy(require_revocation=False))
    assert relaxed.check(payload, now=NOW).status == "valid"


def test_a_bad_card_never_raises(chain: Chain, record: cardlib.HolderRecord) -> None:
    from cardlib._pipeline import build
    from cardlib.trust._certs import kid_for_certificate

    from ._craft import craft

    verifier = Verifier(root=chain.root, bundle=chain.bundle(), now=NOW)
    impostor = cardlib.PrivateKey.generate("EdDSA")  # signs under the centre's kid
    forged = craft(impostor, build(record, chain.signer, now=ISSUED).cbor,
                   protected={1: -8, 4: kid_for_certificate(chain.cert)})
    cases: dict[Any, str] = {"": "cbor_invalid", "not base45!": "base45_invalid",
                             forged: "signature_invalid", None: "decode_error",
                             "A" * 9000: "input_too_large"}
    for bad, code in cases.items():
        result = verifier.check(bad, now=NOW)
        assert (result.status, result.code, result.exit_code) == ("invalid", code, 1)
        assert result.card is None and result.signer is None and result.detail
    payload = cardlib.issue(record, chain.signer, now=ISSUED)
    expired = verifier.check(payload, now=T0 + timedelta(days=6000))
    assert (expired.status, expired.code) == ("invalid", "expired")


def test_a_record_invalid_result_lists_its_problems(ed_key: cardlib.PrivateKey,
                                                    record: cardlib.HolderRecord) -> None:
    from cardlib._pipeline import build

    from ._craft import claims_of, craft, cwt

    layers = build(record, ed_key, now=ISSUED)
    claims = claims_of(layers.cbor)
    claims[169][9] = 7  # gender: not a Claim 169 gender code
    signed = craft(ed_key, cwt(claims[169], exp=claims[4], nbf=claims[5], iat=claims[6]))
    result = Verifier(keys=[ed_key.public_key]).check(signed, now=NOW)
    assert (result.status, result.code) == ("invalid", "record_invalid")
    assert result.problems and all(p.code for p in result.problems)
    assert result.to_json()["problems"][0]["path"] == result.problems[0].path


# --- rollback and state ----------------------------------------------------------------------


def test_older_lists_are_refused(chain: Chain) -> None:
    verifier = Verifier(root=chain.root, trust_list=chain.trust_list(3),
                        revocation_list=chain.revocations(sequence=3), now=NOW)
    with pytest.raises(TrustListRollbackError):
        verifier.load_trust_list(chain.trust_list(2), now=NOW)
    with pytest.raises(RevocationListRollbackError):
        verifier.load_revocation_list(chain.revocations(sequence=2), now=NOW)
    with pytest.raises(TrustListRollbackError):
        verifier.load_bundle(chain.bundle(sequence=2), now=NOW)
    verifier.load_trust_list(chain.trust_list(3), now=NOW)  # the same one again is fine
    assert verifier.trust_list is not None and verifier.trust_list.sequence == 3


def test_state_directory_remembers_sequences_across_verifiers(
        chain: Chain, payload: str, tmp_path: Path, record: cardlib.HolderRecord) -> None:
    state = str(tmp_path / "state")
    # Version 2 of the data revokes the card (it was replaced); version 1 does not list it.
    Verifier(root=chain.root, bundle=chain.bundle(record.document_number, sequence=2),
             state=state, now=NOW)
    with pytest.raises(TrustListRollbackError):
        Verifier(root=chain.root, bundle=chain.bundle(sequence=1), state=state, now=NOW)
    with pytest.raises(RevocationListRollbackError):
        Verifier(root=chain.root, trust_list=chain.trust_list(2),
                 revocation_list=chain.revocations(sequence=1), state=state, now=NOW)
    # Without the state, the old bundle would make the replaced card valid again.
    stateless = Verifier(root=chain.root, bundle=chain.bundle(sequence=1), now=NOW)
    assert stateless.check(payload, now=NOW).status == "valid"
    # Another root keeps its own sequences.
    other = Chain(chain.root_key, create_root("Other", chain.root_key, now=T0, days=10),
                  chain.signer, chain.cert)
    assert other.root != chain.root
    (tmp_path / "state" / "sequences.json").write_text("{not json")
    with pytest.raises(StateError) as caught:
        Verifier(root=chain.root, bundle=chain.bundle(sequence=3), state=state, now=NOW)
    assert caught.value.category == "environment" and "sequences.json" in caught.value.message


@pytest.mark.parametrize("kind", ["trust_list", "revocation_list", "bundle"])
def test_damaged_trust_files_are_the_callers_error(chain: Chain, kind: str) -> None:
    good = {"trust_list": chain.trust_list(), "revocation_list": chain.revocations(),
            "bundle": chain.bundle()}[kind]
    error = {"trust_list": TrustListError, "revocation_list": RevocationListError,
             "bundle": BundleError}[kind]
    swapped = chain.revocations() if kind == "trust_list" else chain.trust_list()
    for damaged in (b"", good[: len(good) // 2], good[:-1], bytes(range(256)) * 3, b"\x00",
                    swapped):
        verifier = Verifier(root=chain.root)
        load: Callable[..., Any] = getattr(verifier, f"load_{kind}")
        with pytest.raises(error) as caught:
            load(damaged, now=NOW)
        assert caught.value.category == "input", (damaged[:8], caught.value)
        assert caught.value.code.startswith(kind.split("_")[0])
        assert verifier.trust_list is None and verifier.revocations is None  # nothing half-used


def test_caller_mistakes_raise(chain: Chain, payload: str) -> None:
    with pytest.raises(TrustInputError):
        Verifier(trust_list=chain.trust_list())  # no root to check it against
    with pytest.raises(TrustInputError):
        Verifier(root=chain.root).check(payload, now=NOW)  # trusts nothing yet
    with pytest.raises(cardlib.KeyFileError):
        Verifier(keys=["not a key"])  # type: ignore[list-item]
    with pytest.raises(TrustInputError):
        Policy(grace=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Verifier(root=chain.root, bundle=chain.bundle(), now=NOW).check(
            payload, now=datetime(2026, 1, 1))


def test_the_clock_comes_from_the_policy(chain: Chain, payload: str) -> None:
    moments = iter([NOW, REVOCATION_DUE + timedelta(days=1)])
    verifier = Verifier(root=chain.root, bundle=chain.bundle(),
                        policy=Policy(clock=lambda: next(moments)))
    assert verifier.check(payload).code == "revocation_stale"


def test_reloading_swaps_trust_data_atomically_while_threads_verify(
        chain: Chain, payload: str) -> None:
    verifier = Verifier(root=chain.root, bundle=chain.bundle(sequence=1), now=NOW)
    bundles = [chain.bundle(sequence=n) for n in range(2, 40)]
    seen: list[tuple[int, ...]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def check() -> None:
        try:
            while not done.is_set():
                result = verifier.check(payload, now=NOW)
                assert result.status == "valid", result.to_json()
                seen.append(tuple(item.sequence for item in result.lists))
        except BaseException as err:  # reported below
            failures.append(err)

    workers = [threading.Thread(target=check) for _ in range(3)]
    for worker in workers:
        worker.start()
    for data in bundles:
        verifier.load_bundle(data, now=NOW)
    done.set()
    for worker in workers:
        worker.join()
    assert not failures
    assert seen and all(a == b for a, b in seen)  # never a trust list of one load with the
    assert len(set(seen)) > 1  # revocation list of another


# --- the JSON shape --------------------------------------------------------------------------


def test_to_json_is_the_documented_shape(chain: Chain, payload: str) -> None:
    verifier = Verifier(root=chain.root, bundle=chain.bundle(), now=NOW)
    shown = verifier.check(payload, now=NOW).to_json()
    assert list(shown) == ["status", "code", "message", "detail", "checked_at", "card",
                           "problems", "signer", "revocation", "lists", "scan"]
    assert shown["checked_at"] == "2026-01-20T00:00:00Z"
    assert shown["message"]["en"] == CATALOGUE["valid"].en and shown["message"]["ar"]
    assert shown["card"]["issued_at"] == "2026-01-10T09:00:00Z"
    assert shown["signer"]["centre"] == "TRP-01"
    assert shown["revocation"] == {"state": "not_revoked", "reason": None, "revoked_at": None,
                                   "list_sequence": 1}
    bad = verifier.check("XYZ", now=NOW).to_json()
    assert bad["status"] == "invalid" and bad["card"] is None and bad["code"] == "base45_invalid"
    assert bad["message"]["ar"] == CATALOGUE["base45_invalid"].ar


def test_every_code_has_english_and_arabic_text() -> None:
    from cardlib._errors import all_error_classes
    from cardlib._messages import VERDICT_CODES

    codes = {cls.code for cls in all_error_classes()} | set(VERDICT_CODES) | {"valid"}
    assert codes <= set(CATALOGUE), sorted(codes - set(CATALOGUE))
    arabic = range(0x0600, 0x06FF)
    for code, text in CATALOGUE.items():
        assert text.en and text.ar and text.en != text.ar, code
        assert any(ord(ch) in arabic for ch in text.ar), code


def test_a_valid_card_without_revocation_data_says_so(ed_key: cardlib.PrivateKey,
                                                      record: cardlib.HolderRecord) -> None:
    payload = cardlib.issue(record, ed_key, now=ISSUED)
    result = Verifier(keys=[ed_key.public_key], policy=Policy(require_revocation=False)).check(
        payload, now=NOW)
    assert result.status == "valid" and result.revocation is None
    assert result.message == CATALOGUE["valid_no_revocation"] != CATALOGUE["valid"]
    assert result.to_json()["message"]["en"] == CATALOGUE["valid_no_revocation"].en


# --- found by review: deltas, shared state, policy edges -------------------------------------


def _delta(chain: Chain, number: str, *, base: int, sequence: int) -> bytes:
    from cardlib.revocation import publish_delta

    return publish_delta(chain.root_key, chain.root,
                         [RevocationEntry(number, Reason.FRAUD, T0 + timedelta(days=6))],
                         base_sequence=base, sequence=sequence, issued=T0 + timedelta(days=6),
                         next_update=REVOCATION_DUE)


def test_a_delta_on_a_bundle_works_in_every_run_with_a_state_directory(
        chain: Chain, payload: str, tmp_path: Path, record: cardlib.HolderRecord) -> None:
    state = tmp_path / "state"  # a Path works as well as a str
    delta = _delta(chain, record.document_number, base=3, sequence=4)
    for _ in range(2):  # the full list 3 plus the delta 4 is not older than the 4 held
        verifier = Verifier(root=chain.root, state=state)
        with verifier.update(now=NOW) as update:
            update.load_bundle(chain.bundle(sequence=3))
            update.load_revocation_list(delta)
        result = verifier.check(payload, now=NOW)
        assert (result.status, result.revocation.reason if result.revocation else None) == (
            "revoked", "fraud")
    with pytest.raises(RevocationListRollbackError):  # the full list 3 alone is older than 4
        Verifier(root=chain.root, bundle=chain.bundle(sequence=3), state=state, now=NOW)


def test_nothing_is_used_or_recorded_when_an_update_fails(chain: Chain, tmp_path: Path) -> None:
    state = VerifierState(tmp_path / "state")
    verifier = Verifier(root=chain.root, bundle=chain.bundle(sequence=2), state=state, now=NOW)

    def stage_a_newer_list_then_a_damaged_one() -> None:
        with verifier.update(now=NOW) as update:
            update.load_trust_list(chain.trust_list(5))
            update.load_revocation_list(b"garbage")

    with pytest.raises(RevocationListError):
        stage_a_newer_list_then_a_damaged_one()
    assert verifier.trust_list is not None and verifier.trust_list.sequence == 2
    assert state.sequences(verifier_root_kid(chain)) == {"trust_list": 2, "revocation_list": 2}


def verifier_root_kid(chain: Chain) -> str:
    from cardlib.trust import kid_for_certificate

    return kid_for_certificate(chain.root).hex()


def test_processes_sharing_a_state_directory_cannot_both_accept(chain: Chain,
                                                                tmp_path: Path) -> None:
    first = Verifier(root=chain.root, state=str(tmp_path))
    second = Verifier(root=chain.root, state=str(tmp_path))  # read the state before `first` wrote
    first.load_trust_list(chain.trust_list(9), now=NOW)
    with pytest.raises(TrustListRollbackError):
        second.load_trust_list(chain.trust_list(6), now=NOW)
    assert second.trust_list is None


def test_a_stale_list_is_never_valid_even_when_revocation_is_not_required(
        chain: Chain, payload: str) -> None:
    verifier = Verifier(root=chain.root, bundle=chain.bundle(), now=NOW,
                        policy=Policy(require_revocation=False))
    assert verifier.check(payload, now=NOW).message == CATALOGUE["valid"]  # it was checked
    result = verifier.check(payload, now=REVOCATION_DUE + timedelta(days=1))
    assert (result.status, result.code) == ("unknown", "revocation_stale")


def test_a_bare_key_that_the_trust_list_revokes_is_revoked_under_every_kid(
        chain: Chain, record: cardlib.HolderRecord) -> None:
    from cardlib.trust import kid_for_certificate

    centre_key = chain.signer.key  # the private key behind the certificate
    revoked = publish_trust_list(chain.root_key, chain.root, [chain.cert], sequence=1,
                                 issued=T0, next_update=TRUST_DUE,
                                 revoked={kid_for_certificate(chain.cert):
                                          KeyRevocation(T0, "compromised")})
    verifier = Verifier(keys=[centre_key.public_key], root=chain.root, trust_list=revoked,
                        revocation_list=chain.revocations(), now=NOW)
    from cardlib._pipeline import build

    from ._craft import craft

    cbor = build(record, chain.signer, now=ISSUED).cbor
    for protected in ({1: -8, 4: centre_key.kid}, {1: -8}):  # its own kid, or none
        result = verifier.check(craft(centre_key, cbor, protected=protected), now=NOW)
        assert (result.status, result.code) == ("invalid", "key_revoked"), protected


def test_policy_and_clock_edges(chain: Chain, payload: str) -> None:
    with pytest.raises(TrustInputError):
        Policy(grace=timedelta(days=367))
    with pytest.raises(TrustInputError):
        Policy(require_revocation="no")  # type: ignore[arg-type]
    verifier = Verifier(root=chain.root, trust_list=chain.trust_list(
        next_update=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        revocation_list=chain.revocations(), policy=Policy(grace=timedelta(days=366)), now=NOW)
    assert verifier.check(payload, now=NOW).status == "valid"  # no overflow near year 9999
    from datetime import timezone

    east = datetime(2026, 1, 20, 5, 0, tzinfo=timezone(timedelta(hours=5)))
    assert verifier.check(payload, now=east).to_json()["checked_at"] == "2026-01-20T00:00:00Z"
    with pytest.raises(ValueError, match="outside"):
        verifier.check(payload, now=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))


def test_the_state_lock_is_bounded_and_a_deep_state_file_is_damaged(tmp_path: Path) -> None:
    import fcntl

    state = VerifierState(tmp_path, lock_timeout=0.2)
    with open(tmp_path / ".lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(StateError, match="held"):
            state.sequences("00")
    (tmp_path / "sequences.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(StateError, match="damaged"):
        state.sequences("00")
    (tmp_path / "sequences.json").write_text('{"00": {"trust_list": 1}, "00": {}}')
    with pytest.raises(StateError, match="repeated"):
        state.sequences("00")


def test_a_root_that_is_not_a_ca_is_refused_at_once(chain: Chain) -> None:
    with pytest.raises(cardlib.CertificateInvalidError):
        Verifier(root=chain.cert)


def test_an_authentic_card_refused_for_its_times_or_signer_is_shown(
        chain: Chain, payload: str, record: cardlib.HolderRecord) -> None:
    verifier = Verifier(root=chain.root, bundle=chain.bundle(), now=NOW)
    expired = verifier.check(payload, now=datetime(2036, 1, 11, tzinfo=UTC))
    assert (expired.status, expired.code) == ("invalid", "expired")
    assert expired.card is not None and expired.card.record == record.normalised()
    assert expired.signer is not None and expired.signer.centre == "TRP-01"
    early = verifier.check(payload, now=ISSUED - timedelta(hours=1))
    assert early.code == "not_yet_valid" and early.card is not None
    shown = early.to_json()
    assert shown["card"]["record"]["document_number"] == record.document_number
    assert shown["signer"]["centre"] == "TRP-01"
    forged = verifier.check(payload[:-8] + "A" * 8, now=NOW)
    assert forged.card is None and forged.signer is None


def test_a_card_refused_for_its_times_with_malformed_content_reports_the_time(
        ed_key: cardlib.PrivateKey, record: cardlib.HolderRecord) -> None:
    from cardlib._pipeline import build

    from ._craft import claims_of, craft, cwt

    claims = claims_of(build(record, ed_key, now=ISSUED).cbor)
    claims[169][9] = 7  # gender: not a Claim 169 gender code
    signed = craft(ed_key, cwt(claims[169], exp=claims[4], nbf=claims[5], iat=claims[6]))
    verifier = Verifier(keys=[ed_key.public_key], policy=Policy(require_revocation=False))
    late = verifier.check(signed, now=datetime(2036, 1, 11, tzinfo=UTC))
    assert (late.code, late.card, late.problems) == ("expired", None, ())  # §7: time first
    assert verifier.check(signed, now=NOW).code == "record_invalid"
    with pytest.raises(cardlib.ExpiredError) as caught:
        cardlib.verify(signed, ed_key.public_key, now=datetime(2036, 1, 11, tzinfo=UTC))
    assert caught.value.card is None
