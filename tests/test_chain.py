"""The trust chain binds what it claims (issue 9): signer checks at issue, the same signer options
everywhere, checked bundles, and the CLI's rough edges. Real CLI runs on real files."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from cardlib._cli import _leaf_parsers, build_parser, main

from .conftest import cli_json as cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "specs" / "examples" / "holder.json"  # centre TRP-01
T0 = "2026-01-01T00:00:00Z"
ISSUE_AT = "2026-01-10T09:00:00Z"
CHECK_AT = "2026-01-20T00:00:00Z"


def ok(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out = cli(capsys, *args)
    assert code == 0, out
    return out


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A root, centres TRP-01 and BEN-02 (certificates 2026-01-01 for 100 days), a trust list,
    and another root; made with the CLI."""
    base = tmp_path_factory.mktemp("pki")
    capsys_free = _Quiet()
    run = capsys_free.run
    run("ca", "init", "--out", str(base / "ca"), "--now", T0)
    run("ca", "init", "--out", str(base / "other"), "--now", T0)
    for code in ("TRP-01", "BEN-02"):
        run("centre", "enrol", "--ca", str(base / "ca"), "--centre", code, "--out",
            str(base / code), "--now", T0, "--days", "100")
    run("trust", "publish", "--ca", str(base / "ca"), "--sequence", "1", "--now", T0,
        "--next-update", "2026-03-01T00:00:00Z", "--out", str(base / "trust.cose"),
        str(base / "TRP-01" / "centre.pem"), str(base / "BEN-02" / "centre.pem"))
    run("revocation", "publish", "--ca", str(base / "ca"), "--sequence", "1", "--now", T0,
        "--next-update", "2026-03-01T00:00:00Z", "--out", str(base / "revocations.cose"),
        "--first", str(_empty(base / "none.jsonl")))
    return {"base": base, "root": base / "ca" / "root.pem", "other": base / "other" / "root.pem",
            "trust": base / "trust.cose", "revocations": base / "revocations.cose"}


class _Quiet:
    """Runs the CLI outside a test's capsys (for a module fixture)."""

    def run(self, *args: str) -> None:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(list(args)) == 0


def _empty(path: Path) -> Path:
    path.write_text("")
    return path


def _signer(pki: dict[str, Path], centre: str = "TRP-01") -> list[str]:
    folder = pki["base"] / centre
    return ["--key", str(folder / "private.pem"), "--certificate", str(folder / "centre.pem")]


def test_issue_checks_the_certificate_before_signing(capsys: pytest.CaptureFixture[str],
                                                     pki: dict[str, Path]) -> None:
    base = pki["base"]
    trp, ben = base / "TRP-01", base / "BEN-02"
    cases = {
        "another centre's key": (["--key", str(ben / "private.pem"), "--certificate",
                                  str(trp / "centre.pem")], ISSUE_AT, "certificate_invalid", 2),
        "the root as a centre": (["--key", str(base / "ca" / "root-private.pem"),
                                  "--certificate", str(pki["root"])], ISSUE_AT,
                                 "certificate_invalid", 2),
        "expired": (_signer(pki), "2026-05-01T00:00:00Z", "certificate_expired", 1),
        "not yet valid": (_signer(pki), "2025-12-31T00:00:00Z", "certificate_not_yet_valid", 1),
        "another root": ([*_signer(pki), "--root", str(pki["other"])], ISSUE_AT,
                         "certificate_invalid", 2),
    }
    registry = f"sqlite:///{base / 'issue-checks.db'}"
    ok(capsys, "registry", "init", registry)
    for name, (signer, moment, expected, exit_code) in cases.items():
        code, out = cli(capsys, "issue", *signer, "--registry", registry, "--now", moment,
                        str(EXAMPLE))
        assert (code, out["code"]) == (exit_code, expected), name
        assert "payload" not in out
    code, out = cli(capsys, "history", "--registry", registry, "--holder", "119850012347",
                    "--document", "LY0001234")
    assert (code, out["code"]) == (2, "history_not_found")  # nothing was recorded
    code, out = cli(capsys, "issue", *_signer(pki), "--root", str(pki["root"]), "--now",
                    ISSUE_AT, str(EXAMPLE))
    assert code == 0 and out["payload"]


def test_a_centre_cannot_issue_in_another_centres_name(capsys: pytest.CaptureFixture[str],
                                                       pki: dict[str, Path]) -> None:
    code, out = cli(capsys, "issue", *_signer(pki, "BEN-02"), "--now", ISSUE_AT, str(EXAMPLE))
    assert (code, out["code"]) == (1, "record_invalid")
    assert [(p["path"], p["code"]) for p in out["problems"]] == [
        ("centre_code", "signer_mismatch")]


def test_render_and_batch_take_the_same_signer_options(capsys: pytest.CaptureFixture[str],
                                                        pki: dict[str, Path],
                                                        tmp_path: Path) -> None:
    trust = ["--root", str(pki["root"]), "--trust-list", str(pki["trust"]), "--revocation-list",
             str(pki["revocations"]), "--state-dir", str(tmp_path / "state")]
    ok(capsys, "render", *_signer(pki), "--now", ISSUE_AT, "--out", str(tmp_path / "card"),
       str(EXAMPLE))
    payload = (tmp_path / "card" / "payload.txt").read_text().strip()
    assert ok(capsys, "verify", *trust, "--now", CHECK_AT, payload)["signer"]["centre"] == "TRP-01"
    scanned = ok(capsys, "scan", *trust, "--now", CHECK_AT, str(tmp_path / "card" / "back.png"))
    assert (scanned["status"], scanned["scan"]["print_agrees"]) == ("valid", True)
    row = json.loads(EXAMPLE.read_text("utf-8")) | {"document_number": "LY0002000"}
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    report = ok(capsys, "batch", *_signer(pki), "--format", "jsonl", "--now", ISSUE_AT,
                "--no-render", "--out", str(tmp_path / "batch"), str(rows))
    assert report["issued"] == 1
    batch_payload = (tmp_path / "batch" / "cards" / "LY0002000" / "payload.txt").read_text()
    verdict = ok(capsys, "verify", *trust, "--now", CHECK_AT, batch_payload.strip())
    assert (verdict["status"], verdict["card"]["kid"]) == ("valid", verdict["signer"]["kid"])


def test_bundle_export_checks_its_parts(capsys: pytest.CaptureFixture[str],
                                        pki: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "bundle.cbor"
    trust, revocations = pki["trust"], pki["revocations"]
    truncated = tmp_path / "truncated.cose"
    truncated.write_bytes(trust.read_bytes()[:-20])
    cases = [
        ("truncated trust list", pki["root"], truncated, revocations, "trust_list_invalid",
         truncated),
        ("swapped parts", pki["root"], revocations, trust, "trust_list_invalid", revocations),
        ("another root", pki["other"], trust, revocations, "trust_list_signature_invalid",
         trust),
    ]
    for name, root, first, second, expected, named in cases:
        code, error = cli(capsys, "bundle", "export", "--root", str(root), "--trust-list",
                          str(first), "--revocation-list", str(second), "--out", str(out))
        assert (code, error["code"]) == (2, expected), name
        assert str(named) in error["detail"] and not out.exists(), name
    ok(capsys, "bundle", "export", "--root", str(pki["root"]), "--trust-list", str(trust),
       "--revocation-list", str(revocations), "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # a public document


def test_public_documents_are_world_readable_and_keys_are_not(pki: dict[str, Path]) -> None:
    base = pki["base"]
    for public in (pki["root"], pki["trust"], pki["revocations"],
                   base / "TRP-01" / "centre.pem"):
        assert stat.S_IMODE(public.stat().st_mode) == 0o644, public
    for private in (base / "ca" / "root-private.pem", base / "TRP-01" / "private.pem"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private


def test_trust_publish_refuses_unknown_kids_and_reasonless_revocations(
        capsys: pytest.CaptureFixture[str], pki: dict[str, Path], tmp_path: Path) -> None:
    base = pki["base"]
    args = ["trust", "publish", "--ca", str(base / "ca"), "--sequence", "2", "--now", T0,
            "--next-update", "2026-03-01T00:00:00Z", "--out", str(tmp_path / "t.cose"),
            str(base / "TRP-01" / "centre.pem")]
    code, out = cli(capsys, *args, "--revoke", "00112233aabbccdd=2026-01-02T00:00:00Z,compromised")
    assert (code, out["code"]) == (2, "trust_input_invalid") and "not the kid" in out["detail"]
    kid = ok(capsys, "issue", *_signer(pki), "--now", ISSUE_AT, str(EXAMPLE))["kid"]
    code, out = cli(capsys, *args, "--revoke", f"{kid}=2026-01-02T00:00:00Z")
    assert (code, out["code"]) == (2, "usage") and "REASON" in out["detail"]
    assert not (tmp_path / "t.cose").exists()
    ok(capsys, *args, "--revoke", f"{kid}=2026-01-02T00:00:00Z,superseded")


def test_issue_replaces_without_a_registry_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                            pki: dict[str, Path]) -> None:
    code, out = cli(capsys, "issue", *_signer(pki), "--replaces", "LY0000001", str(EXAMPLE))
    assert (code, out["code"]) == (2, "usage") and "--registry" in out["detail"]


def test_every_option_of_every_command_has_help_and_json_output() -> None:
    for command in _leaf_parsers(build_parser()):
        options = {tuple(a.option_strings) or a.dest: a.help for a in command._actions}
        assert ("--json",) in options, command.prog
        assert all(text for text in options.values()), (command.prog, options)


def test_readable_output_has_no_python_none(pki: dict[str, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    payload = ok(capsys, "issue", *_signer(pki), "--now", ISSUE_AT, str(EXAMPLE))["payload"]
    code = main(["verify", "--root", str(pki["root"]), "--trust-list", str(pki["trust"]),
                 "--state-dir", str(tmp_path), "--now", CHECK_AT, payload])
    text = capsys.readouterr().out
    assert code == 3 and "status: unknown" in text and "revocation_missing" in text
    assert "None" not in text and not text.startswith("{")


def test_a_sealed_audit_log_is_extended_only_with_its_key(capsys: pytest.CaptureFixture[str],
                                                          pki: dict[str, Path],
                                                          tmp_path: Path) -> None:
    """Checkpoints are signed by the registry key; a writer that does not check them would
    extend a log rewritten with recomputed hashes. So every writer needs the key."""
    registry = f"sqlite:///{tmp_path / 'r.db'}"
    ok(capsys, "registry", "init", registry)
    ok(capsys, "keygen", "--out", str(tmp_path / "rk"))
    log = str(tmp_path / "audit.jsonl")
    sealed = ok(capsys, "audit", "sync", "--registry", registry, "--key",
                str(tmp_path / "rk" / "private.pem"), log)
    assert sealed["anchor"]
    before = Path(log).read_bytes()
    code, out = cli(capsys, "audit", "sync", "--registry", registry, log)
    assert (code, out["code"]) == (2, "usage") and "--trust" in out["detail"]
    code, out = cli(capsys, "centre", "enrol", "--ca", str(pki["base"] / "ca"), "--centre",
                    "MIS-01", "--out", str(tmp_path / "mis"), "--audit", log)
    assert (code, out["code"]) == (2, "usage") and "--audit-trust" in out["detail"]
    assert Path(log).read_bytes() == before and not (tmp_path / "mis").exists()
    ok(capsys, "centre", "enrol", "--ca", str(pki["base"] / "ca"), "--centre", "MIS-01",
       "--out", str(tmp_path / "mis"), "--audit", log, "--audit-trust",
       str(tmp_path / "rk" / "public.pem"))
    assert len(Path(log).read_bytes()) > len(before)


def test_the_ca_remembers_its_last_revocation_list(capsys: pytest.CaptureFixture[str],
                                                   pki: dict[str, Path], tmp_path: Path) -> None:
    """--first after a list was published, or a --previous older than the last list, would
    drop every revocation since without a word: both are refused."""
    entries = _empty(tmp_path / "none.jsonl")
    args = ["revocation", "publish", "--ca", str(pki["base"] / "ca"), "--now", T0,
            "--next-update", "2026-03-01T00:00:00Z"]
    code, out = cli(capsys, *args, "--sequence", "2", "--first", "--out",
                    str(tmp_path / "a.cose"), str(entries))
    assert (code, out["code"]) == (2, "usage") and "already published" in out["detail"]
    ok(capsys, *args, "--sequence", "2", "--previous", str(pki["revocations"]), "--out",
       str(tmp_path / "two.cose"), str(entries))
    code, out = cli(capsys, *args, "--sequence", "3", "--previous", str(pki["revocations"]),
                    "--out", str(tmp_path / "b.cose"), str(entries))
    assert (code, out["code"]) == (2, "usage") and "newest" in out["detail"]
    assert not (tmp_path / "a.cose").exists() and not (tmp_path / "b.cose").exists()
    ok(capsys, *args, "--sequence", "3", "--previous", str(tmp_path / "two.cose"), "--out",
       str(tmp_path / "three.cose"), str(entries))


def test_registry_files_are_private_and_centre_codes_are_card_codes(
        capsys: pytest.CaptureFixture[str], pki: dict[str, Path], tmp_path: Path) -> None:
    ok(capsys, "registry", "init", f"sqlite:///{tmp_path / 'private.db'}")
    assert stat.S_IMODE((tmp_path / "private.db").stat().st_mode) == 0o600  # holders' numbers
    for code in ("trp-01", "TRP.01", "T"):  # a certificate no card could ever name
        out = cli(capsys, "centre", "enrol", "--ca", str(pki["base"] / "ca"), "--centre", code,
                  "--out", str(tmp_path / code))
        assert out[0] == 2 and out[1]["code"] == "trust_input_invalid", code
        assert not (tmp_path / code).exists()  # nothing written for a refused centre


def test_argument_errors_follow_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(capsys, "verify", "--bogus", "x")
    assert (code, out["code"], out["category"]) == (2, "usage", "input")
    assert "--bogus" in out["detail"]
    with pytest.raises(SystemExit) as stop:
        main(["verify", "--bogus", "x"])  # without --json: argparse's own text
    assert stop.value.code == 2 and "usage:" in capsys.readouterr().err
