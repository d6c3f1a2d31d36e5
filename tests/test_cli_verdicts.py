"""The CLI's verdicts and exit codes: stale data, damaged trust files, rollback across runs.

Exit codes (specs/format.md §10): 0 valid, 1 invalid or revoked, 3 unknown; errors by category:
2 the caller's input, 4 the environment. The CLI runs in process (``main``) on real files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import cardlib

from .conftest import cli_json
from .test_verifier import ISSUED, NOW, REVOCATION_DUE, Chain, chain  # noqa: F401 (fixture)


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


@pytest.fixture
def files(chain: Chain, tmp_path: Path, record: cardlib.HolderRecord) -> dict[str, Path]:  # noqa: F811
    paths = {"root": tmp_path / "root.der", "trust": tmp_path / "trust.cose",
             "revocations": tmp_path / "revocations.cose", "bundle": tmp_path / "bundle.cbor",
             "revoked_bundle": tmp_path / "revoked.cbor", "old_bundle": tmp_path / "old.cbor"}
    paths["root"].write_bytes(chain.root)
    paths["trust"].write_bytes(chain.trust_list(2))
    paths["revocations"].write_bytes(chain.revocations(sequence=2))
    paths["bundle"].write_bytes(chain.bundle(sequence=2))
    paths["revoked_bundle"].write_bytes(chain.bundle(record.document_number, sequence=3))
    paths["old_bundle"].write_bytes(chain.bundle(sequence=1))
    return paths


@pytest.fixture
def payload(chain: Chain, record: cardlib.HolderRecord) -> str:  # noqa: F811
    return cardlib.issue(record, chain.signer, now=ISSUED)


def test_stale_revocation_data_exits_3_not_0(capsys: pytest.CaptureFixture[str],
                                             files: dict[str, Path], payload: str) -> None:
    base = ["verify", "--root", str(files["root"]), "--bundle", str(files["bundle"])]
    code, out = cli_json(capsys, *base, "--now", _iso(NOW), payload)
    assert (code, out["status"]) == (0, "valid")
    late = _iso(REVOCATION_DUE + timedelta(seconds=1))
    code, out = cli_json(capsys, *base, "--now", late, payload)
    assert (code, out["status"], out["code"]) == (3, "unknown", "revocation_stale")
    assert out["message"]["en"].startswith("Cannot confirm")
    code, out = cli_json(capsys, "verify", "--root", str(files["root"]), "--trust-list",
                    str(files["trust"]), "--revocation-list", str(files["revocations"]),
                    "--now", _iso(NOW), payload)
    assert (code, out["status"]) == (0, "valid")


@pytest.mark.parametrize("option", ["--bundle", "--trust-list", "--revocation-list"])
@pytest.mark.parametrize("damage", ["empty", "truncated", "random"])
def test_a_damaged_trust_file_is_a_usage_error_naming_the_file(
        capsys: pytest.CaptureFixture[str], files: dict[str, Path], payload: str,
        tmp_path: Path, option: str, damage: str) -> None:
    source = files[{"--bundle": "bundle", "--trust-list": "trust",
                    "--revocation-list": "revocations"}[option]]
    good = source.read_bytes()
    damaged = tmp_path / f"damaged-{damage}"
    damaged.write_bytes({"empty": b"", "truncated": good[: len(good) // 2],
                         "random": bytes((i * 37 + 11) % 256 for i in range(700))}[damage])
    extra = ["--trust-list", str(files["trust"])] if option == "--revocation-list" else []
    code, out = cli_json(capsys, "verify", "--root", str(files["root"]), *extra, option,
                    str(damaged), "--now", _iso(NOW), payload)
    expected = {"--bundle": "bundle_invalid", "--trust-list": "trust_list_invalid",
                "--revocation-list": "revocation_list_invalid"}[option]
    assert (code, out["status"], out["code"], out["category"]) == (2, "error", expected, "input")
    assert str(damaged) in out["detail"]


def test_swapped_trust_and_revocation_files_are_named(capsys: pytest.CaptureFixture[str],
                                                      files: dict[str, Path],
                                                      payload: str) -> None:
    code, out = cli_json(capsys, "verify", "--root", str(files["root"]), "--trust-list",
                    str(files["revocations"]), "--now", _iso(NOW), payload)
    assert (code, out["code"]) == (2, "trust_list_invalid")
    assert str(files["revocations"]) in out["detail"]


def test_an_older_bundle_is_refused_in_a_later_run(capsys: pytest.CaptureFixture[str],
                                                   files: dict[str, Path], payload: str,
                                                   tmp_path: Path) -> None:
    """A replaced card is listed in bundle 3; bundle 1 (older) does not list it. A stateless
    verify would call the card valid with bundle 1: the state directory refuses it."""
    state = ["--state-dir", str(tmp_path / "state")]
    base = ["verify", "--root", str(files["root"]), *state, "--now", _iso(NOW)]
    code, out = cli_json(capsys, *base, "--bundle", str(files["revoked_bundle"]), payload)
    assert (code, out["status"]) == (1, "revoked")
    code, out = cli_json(capsys, *base, "--bundle", str(files["old_bundle"]), payload)
    assert (code, out["code"], out["category"]) == (2, "trust_list_rollback", "input")
    assert str(files["old_bundle"]) in out["detail"]
    code, out = cli_json(capsys, *base, "--trust-list", str(files["trust"]), "--revocation-list",
                    str(files["revocations"]), payload)
    assert (code, out["code"]) == (2, "trust_list_rollback")  # 2 < 3 for either list
    # The default state directory is per user ($CARDLIB_STATE_DIR in these tests).
    default = ["verify", "--root", str(files["root"]), "--now", _iso(NOW)]
    assert cli_json(capsys, *default, "--bundle", str(files["revoked_bundle"]), payload)[0] == 1
    code, out = cli_json(capsys, *default, "--bundle", str(files["old_bundle"]), payload)
    assert (code, out["code"]) == (2, "trust_list_rollback")
    # --no-state opts out knowingly.
    code, out = cli_json(capsys, *default, "--no-state", "--bundle", str(files["old_bundle"]),
                    payload)
    assert (code, out["status"]) == (0, "valid")


def test_a_damaged_state_file_is_an_environment_error(capsys: pytest.CaptureFixture[str],
                                                      files: dict[str, Path], payload: str,
                                                      tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "sequences.json").write_text("[1, 2")
    code, out = cli_json(capsys, "verify", "--root", str(files["root"]), "--state-dir",
                    str(tmp_path / "state"), "--bundle", str(files["bundle"]), payload)
    assert (code, out["code"], out["category"]) == (4, "state_invalid", "environment")


def test_registry_failures_exit_with_the_environment_code(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = cli_json(capsys, "revoke", "--registry", "postgresql://nobody@127.0.0.1:1/none",
                    "--reason", "lost", "--json", "LY0001234")
    assert (code, out["code"], out["category"]) == (4, "registry_unavailable", "environment")


def test_every_code_the_cli_emits_is_documented() -> None:
    spec = (Path(__file__).resolve().parent.parent / "specs" / "format.md").read_text("utf-8")
    from cardlib._messages import VERDICT_CODES

    for code in [*VERDICT_CODES, "revoked", "history_not_found", "state_invalid"]:
        assert f"`{code}`" in spec, code


def test_the_spec_lists_every_code_with_its_category_and_both_messages() -> None:
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "specs" / "make_messages.py"
    spec = importlib.util.spec_from_file_location("make_messages", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = path.with_name("format.md").read_text("utf-8")
    assert module.table() in text, "run: python specs/make_messages.py"


def test_deltas_on_top_of_a_bundle_in_every_run(capsys: pytest.CaptureFixture[str],
                                                chain: Chain, files: dict[str, Path],  # noqa: F811
                                                payload: str, tmp_path: Path,
                                                record: cardlib.HolderRecord) -> None:
    from .test_verifier import _delta

    delta = tmp_path / "delta.cose"
    delta.write_bytes(_delta(chain, record.document_number, base=2, sequence=5))
    args = ["verify", "--root", str(files["root"]), "--bundle", str(files["bundle"]),
            "--revocation-list", str(delta), "--now", _iso(NOW), payload]
    for _ in range(2):
        code, out = cli_json(capsys, *args)
        assert (code, out["status"], out["revocation"]["list_sequence"]) == (1, "revoked", 5)
    code, out = cli_json(capsys, "verify", "--root", str(files["root"]), "--bundle",
                    str(files["bundle"]), "--now", _iso(NOW), payload)
    assert (code, out["code"]) == (2, "revocation_list_rollback")
    assert str(files["bundle"]) in out["detail"]


def test_a_bad_root_is_named_and_odd_times_are_usage_errors(
        capsys: pytest.CaptureFixture[str], chain: Chain, files: dict[str, Path],  # noqa: F811
        payload: str, tmp_path: Path) -> None:
    centre = tmp_path / "centre.der"
    centre.write_bytes(chain.cert)
    code, out = cli_json(capsys, "verify", "--root", str(centre), "--bundle", str(files["bundle"]),
                    payload)
    assert (code, out["code"]) == (2, "certificate_invalid") and str(centre) in out["detail"]
    for moment in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+00:01", "1969-12-31"):
        code, out = cli_json(capsys, "verify", "--root", str(files["root"]), "--bundle",
                        str(files["bundle"]), "--now", moment, payload)
        assert (code, out["code"]) == (2, "usage"), moment


def test_a_bug_is_an_internal_error_not_an_invalid_card(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import cardlib._cli as cli_module

    def broken(args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli_module, "cmd_inspect", broken)
    code, out = cli_json(capsys, "inspect", "AAAA")
    assert (code, out["category"]) == (70, "internal") and "ZeroDivisionError" in out["detail"]
