"""The PKCS#11 signer against a fresh SoftHSM2 token (skipped on a laptop without SoftHSM2, required
in CI).

SoftHSM2 reads ``SOFTHSM2_CONF`` and scans its token directory when the module is initialised, and
python-pkcs11 loads a module once per process: the module-scoped ``token`` fixture writes the
config, creates the token, then (re)initialises the module, and finalises it at the end so the
next user starts clean.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import claim169
import pytest

import cardlib
from cardlib._errors import CardError, SigningError, all_error_classes

from .conftest import CHECKED, ISSUED, require

if TYPE_CHECKING:
    from cardlib.keys._pkcs11 import Pkcs11Signer

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian, Ubuntu
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",  # Fedora
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",  # macOS
)
TOKEN_LABEL = "cardlib-test"
PIN = "1234"
SO_PIN = "5678"
WRONG_PIN = "97531"


@dataclass(frozen=True)
class Token:
    module: str
    label: str
    pin: str
    hsm: ModuleType  # cardlib.keys._pkcs11, imported only once SoftHSM2 is known to be there

    def open(self, key_label: str, **kwargs: object) -> Pkcs11Signer:
        signer: Pkcs11Signer = self.hsm.Pkcs11Signer.open(
            self.module, token_label=self.label, pin=self.pin, key_label=key_label, **kwargs
        )
        return signer

    def generate(self, key_label: str, algorithm: str) -> cardlib.PublicKey:
        public: cardlib.PublicKey = self.hsm.generate_keypair(
            self.module, token_label=self.label, pin=self.pin, key_label=key_label,
            algorithm=algorithm,
        )
        return public


def _softhsm() -> tuple[str | None, str | None]:
    module = next((path for path in MODULE_CANDIDATES if Path(path).is_file()), None)
    return module, shutil.which("softhsm2-util")


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    module, tool = _softhsm()
    require("SoftHSM2", module is not None, "no libsofthsm2.so found: apt-get install softhsm2")
    require("SoftHSM2", tool is not None, "softhsm2-util is not on PATH: apt-get install softhsm2")
    assert module is not None and tool is not None
    try:
        hsm = importlib.import_module("cardlib.keys._pkcs11")
        pkcs11 = importlib.import_module("pkcs11")
    except ImportError as err:
        require("SoftHSM2", False, f"python-pkcs11 is missing ({err}): pip install -e '.[dev]'")
        raise  # not reached: require() skipped or failed
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\n",
        "utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(
            [tool, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN,
             "--so-pin", SO_PIN],
            check=True, capture_output=True, env=dict(os.environ),
        )
        lib = pkcs11.lib(module)
        lib.reinitialize()  # in case this process loaded SoftHSM2 before, under another config
        try:
            yield Token(module, TOKEN_LABEL, PIN, hsm)
        finally:
            lib.finalize()


@pytest.fixture(scope="module")
def es_label(token: Token) -> str:
    token.generate("centre-es256", "ES256")
    return "centre-es256"


@pytest.fixture(scope="module")
def ed_label(token: Token) -> str:
    token.generate("centre-ed25519", "EdDSA")
    return "centre-ed25519"


# --- signing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_token_key_issues_cards_that_cardlib_and_the_reference_decoder_verify(
    token: Token, es_label: str, ed_label: str, record: cardlib.HolderRecord, alg: str
) -> None:
    label = es_label if alg == "ES256" else ed_label
    with token.open(label) as signer:
        assert isinstance(signer, cardlib.Signer)
        assert signer.algorithm == alg
        assert signer.kid == signer.public_key.kid
        assert len(signer.kid) == 8
        assert signer.public_key.algorithm == alg
        payload = cardlib.issue(record, signer, now=ISSUED)
    card = cardlib.verify(payload, signer.public_key, now=CHECKED)
    assert card.record == record.normalised()
    assert card.algorithm == alg
    assert card.kid == signer.kid
    decode = claim169.decode_with_ecdsa_p256 if alg == "ES256" else claim169.decode_with_ed25519
    result = decode(payload, signer.public_key.raw, validate_timestamps=False)
    assert result.is_verified()
    assert result.claim169.id == record.normalised().national_number


def test_es256_signatures_are_raw_r_s_over_a_sha256_digest(token: Token, es_label: str) -> None:
    with token.open(es_label) as signer:
        first, second = signer.sign(b"data"), signer.sign(b"data")
    assert len(first) == len(second) == 64
    assert first != second  # ECDSA draws a fresh nonce on the token
    signer.public_key.verify(first, b"data")  # cardlib's verifier takes r||s
    with pytest.raises(cardlib.SignatureInvalidError):
        signer.public_key.verify(first, b"other data")


def test_the_public_key_is_the_one_generate_keypair_returned(token: Token) -> None:
    public = token.generate("returned", "ES256")
    with token.open("returned") as signer:
        assert signer.public_key.raw == public.raw
        assert signer.kid == public.kid
        assert len(public.raw) == 65 and public.raw[0] == 4


def test_an_explicit_kid_names_the_key_in_the_card(
    token: Token, es_label: str, record: cardlib.HolderRecord
) -> None:
    kid = bytes.fromhex("00112233445566ff")
    with token.open(es_label, kid=kid) as signer:
        assert signer.kid == kid
        payload = cardlib.issue(record, signer, now=ISSUED)
    assert claim169.inspect(payload).key_id == kid
    certified = replace(signer.public_key, kid=kid)
    assert cardlib.verify(payload, certified, now=CHECKED).kid == kid


# --- the private key stays on the token ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_the_private_key_is_sensitive_and_never_extractable(
    token: Token, es_label: str, ed_label: str, alg: str
) -> None:
    pkcs11 = importlib.import_module("pkcs11")
    label = es_label if alg == "ES256" else ed_label
    with pkcs11.lib(token.module).get_token(token_label=token.label).open(user_pin=PIN) as session:
        (key,) = session.get_objects(
            {pkcs11.Attribute.CLASS: pkcs11.ObjectClass.PRIVATE_KEY, pkcs11.Attribute.LABEL: label}
        )
        assert key[pkcs11.Attribute.SENSITIVE] is True
        assert key[pkcs11.Attribute.ALWAYS_SENSITIVE] is True
        assert key[pkcs11.Attribute.EXTRACTABLE] is False
        assert key[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            key[pkcs11.Attribute.VALUE]


def _raw_pair(token: Token, public_label: str, private_label: str) -> None:
    """A P-256 pair made with python-pkcs11 directly (no CKA_ID), to build broken token states."""
    pkcs11 = importlib.import_module("pkcs11")
    ec = importlib.import_module("pkcs11.util.ec")
    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.label).open(user_pin=PIN, rw=True) as session:
        params = session.create_domain_parameters(
            pkcs11.KeyType.EC,
            {pkcs11.Attribute.EC_PARAMS: ec.encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        params.generate_keypair(
            store=True,
            public_template={pkcs11.Attribute.LABEL: public_label},
            private_template={pkcs11.Attribute.LABEL: private_label},
        )


def test_a_public_key_of_another_pair_is_caught_when_the_signer_opens(
    token: Token, es_label: str
) -> None:
    _raw_pair(token, public_label="orphan", private_label="mismatched")
    _raw_pair(token, public_label="mismatched", private_label="stray")
    with pytest.raises(token.hsm.HsmKeyMismatchError) as caught:
        token.open("mismatched")
    assert caught.value.code == "hsm_key_mismatch"
    with pytest.raises(token.hsm.HsmKeyNotFoundError, match="public key"):
        token.open("stray")  # a private key without its public key object
    with token.open(es_label) as signer:  # the failed opens logged out again
        assert len(signer.sign(b"x")) == 64


def test_two_private_keys_under_one_label_are_refused(token: Token) -> None:
    _raw_pair(token, public_label="twin", private_label="twin")
    _raw_pair(token, public_label="twin-2", private_label="twin")
    with pytest.raises(token.hsm.HsmKeyAmbiguousError) as caught:
        token.open("twin")
    assert caught.value.code == "hsm_key_ambiguous"


# --- typed errors --------------------------------------------------------------------------------


def test_a_wrong_pin_is_a_typed_error_that_never_shows_the_pin(token: Token, es_label: str) -> None:
    with pytest.raises(token.hsm.HsmPinError) as caught:
        token.hsm.Pkcs11Signer.open(
            token.module, token_label=token.label, pin=WRONG_PIN, key_label=es_label
        )
    err = caught.value
    assert err.code == "hsm_pin_invalid"
    assert isinstance(err, CardError)
    shown = " ".join([str(err), repr(err), str(err.__cause__), repr(err.__cause__)])
    assert WRONG_PIN not in shown and PIN not in shown
    with token.open(es_label) as signer:  # the right PIN still works afterwards
        assert len(signer.sign(b"x")) == 64


def test_an_unknown_key_label_is_a_typed_error(token: Token, es_label: str) -> None:
    with pytest.raises(token.hsm.HsmKeyNotFoundError) as caught:
        token.open("no-such-key")
    assert caught.value.code == "hsm_key_not_found"
    assert isinstance(caught.value, LookupError)
    assert "no-such-key" in str(caught.value)
    with token.open(es_label) as signer:  # the failed open logged out again
        assert signer.sign(b"x")


def test_an_unknown_token_is_a_typed_error(token: Token) -> None:
    with pytest.raises(token.hsm.HsmTokenNotFoundError) as caught:
        token.hsm.Pkcs11Signer.open(
            token.module, token_label="no-such-token", pin=PIN, key_label="k"
        )
    assert caught.value.code == "hsm_token_not_found"


def test_a_missing_module_is_a_typed_error(token: Token, tmp_path: Path) -> None:
    for path in (str(tmp_path / "missing.so"), str(tmp_path)):
        with pytest.raises(token.hsm.HsmModuleError) as caught:
            token.hsm.Pkcs11Signer.open(path, token_label=token.label, pin=PIN, key_label="k")
        assert caught.value.code == "hsm_module_unavailable"
    not_a_module = tmp_path / "not-a-module.so"
    not_a_module.write_bytes(b"not an ELF file")
    with pytest.raises(token.hsm.HsmModuleError):
        token.hsm.generate_keypair(
            str(not_a_module), token_label=token.label, pin=PIN, key_label="k"
        )


def test_a_second_signer_on_the_same_token_is_refused_until_the_first_closes(
    token: Token, es_label: str, ed_label: str
) -> None:
    first = token.open(es_label)
    try:
        with pytest.raises(token.hsm.HsmTokenInUseError) as caught:
            token.open(ed_label)
        assert caught.value.code == "hsm_token_in_use"
        assert len(first.sign(b"still logged in")) == 64
    finally:
        first.close()
    with token.open(ed_label) as second:
        assert len(second.sign(b"x")) == 64


def test_a_closed_signer_refuses_to_sign(token: Token, es_label: str) -> None:
    signer = token.open(es_label)
    assert not signer.closed
    assert "open" in repr(signer) and PIN not in repr(signer)
    signer.close()
    signer.close()  # idempotent
    assert signer.closed
    with pytest.raises(token.hsm.HsmError, match="closed"):
        signer.sign(b"x")


def test_generate_refuses_a_used_label_and_an_unknown_algorithm(
    token: Token, es_label: str
) -> None:
    with pytest.raises(token.hsm.HsmKeyExistsError) as exists:
        token.generate(es_label, "ES256")
    assert exists.value.code == "hsm_key_exists"
    with pytest.raises(token.hsm.HsmInputError) as unknown:
        token.generate("rsa", "RS256")
    assert unknown.value.code == "hsm_input_invalid"
    assert isinstance(unknown.value, ValueError)
    with pytest.raises(token.hsm.HsmKeyNotFoundError):
        token.open("rsa")  # nothing was created


def test_arguments_are_checked_before_the_token_is_touched(token: Token) -> None:
    for kwargs in ({"key_label": ""}, {"key_label": "k", "kid": b""}):
        with pytest.raises(token.hsm.HsmInputError):
            token.open(**kwargs)
    with pytest.raises(token.hsm.HsmInputError):
        token.hsm.Pkcs11Signer.open(token.module, token_label=token.label, pin="", key_label="k")


def test_hsm_error_codes_are_unique_and_stable(token: Token) -> None:
    hsm = token.hsm
    ours = [cls for cls in all_error_classes() if cls.__name__.startswith("Hsm")]
    codes = {cls.__name__: cls.code for cls in ours}
    assert codes == {
        "HsmError": "hsm_error",
        "HsmInputError": "hsm_input_invalid",
        "HsmModuleError": "hsm_module_unavailable",
        "HsmTokenNotFoundError": "hsm_token_not_found",
        "HsmTokenInUseError": "hsm_token_in_use",
        "HsmPinError": "hsm_pin_invalid",
        "HsmPinLockedError": "hsm_pin_locked",
        "HsmKeyNotFoundError": "hsm_key_not_found",
        "HsmKeyAmbiguousError": "hsm_key_ambiguous",
        "HsmKeyExistsError": "hsm_key_exists",
        "HsmKeyUnsupportedError": "hsm_key_unsupported",
        "HsmKeyMismatchError": "hsm_key_mismatch",
        "HsmSigningError": "hsm_sign_failed",
    }
    all_codes = [cls.code for cls in all_error_classes()]
    assert len(all_codes) == len(set(all_codes))
    assert issubclass(hsm.HsmSigningError, SigningError)
    assert sorted(hsm.__all__) == sorted({*codes, "Pkcs11Signer", "generate_keypair"})
