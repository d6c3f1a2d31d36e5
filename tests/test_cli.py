"""The ``cardlib`` command, run as a user runs it (a real subprocess, real files)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLE

CLI = Path(sys.executable).with_name("cardlib")
NOW = "2027-06-01T12:00:00Z"


# Every command prints readable lines by default; the tests read its --json output (except
# `issue`, whose default output, the bare payload, is what they use).


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if args and args[0] != "issue" and "--help" not in args:
        end = args.index("--") if "--" in args else len(args)
        args = (*args[:end], "--json", *args[end:])
    return subprocess.run(
        [str(CLI), *args], input=stdin, capture_output=True, text=True, timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL, check=False,
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("keys")
    secret = base / "pass.txt"
    secret.write_text("a long passphrase\n")
    made = {}
    for alg in ("EdDSA", "ES256"):
        out = base / alg
        result = run("keygen", "--alg", alg, "--out", str(out), "--passphrase-file", str(secret))
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert info["encrypted"] is True and info["algorithm"] == alg
        assert b"ENCRYPTED" in (out / "private.pem").read_bytes()
        made[alg] = out
    made["pass"] = secret
    return made


def _issue(keys: dict[str, Path], alg: str = "EdDSA") -> str:
    result = run("issue", "--key", str(keys[alg] / "private.pem"), "--passphrase-file",
                 str(keys["pass"]), "--now", "2026-01-10T09:00:00Z", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _verify(*args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    result = run("verify", *args, stdin=stdin)
    assert result.returncode != 2, result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_issue_then_verify(keys: dict[str, Path], alg: str) -> None:
    payload = _issue(keys, alg)
    code, out = _verify("--key", str(keys[alg] / "public.pem"), "--now", NOW, "--no-revocation",
                        payload)
    assert code == 0
    assert out["status"] == "valid" and out["code"] is None
    assert out["card"]["record"] == json.loads(EXAMPLE.read_text("utf-8"))
    assert out["card"]["algorithm"] == alg and out["signer"]["algorithm"] == alg


def test_verify_reads_stdin_and_accepts_several_keys(keys: dict[str, Path]) -> None:
    payload = _issue(keys, "ES256")
    code, out = _verify("--key", str(keys["EdDSA"] / "public.pem"), "--key",
                        str(keys["ES256"] / "public.pem"), "--now", NOW, "--no-revocation",
                        "-", stdin=payload + "\n")
    assert code == 0 and out["status"] == "valid"


def test_invalid_cards_exit_1_with_a_code(keys: dict[str, Path]) -> None:
    payload = _issue(keys)
    public = str(keys["EdDSA"] / "public.pem")
    code, out = _verify("--key", str(keys["ES256"] / "public.pem"), "--now", NOW, payload)
    assert (code, out["status"], out["code"]) == (1, "invalid", "key_unknown")
    assert out["card"] is None and out["message"]["en"] and out["message"]["ar"]
    assert out["detail"] and "no trusted key" in out["detail"]
    code, out = _verify("--key", public, "--now", "2040-01-01T00:00:00Z", payload)
    assert (code, out["code"]) == (1, "expired")
    code, out = _verify("--key", public, "--now", NOW, payload.lower())
    assert (code, out["code"]) == (1, "base45_invalid")


def test_usage_errors_exit_2(keys: dict[str, Path], tmp_path: Path) -> None:
    payload = _issue(keys)
    public = str(keys["EdDSA"] / "public.pem")
    assert run("verify", payload).returncode == 2  # --key missing
    missing = run("verify", "--key", str(tmp_path / "nope.pem"), payload)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    bad_key = run("verify", "--key", str(garbage), payload)
    assert bad_key.returncode == 2 and "key_file_invalid" in bad_key.stderr
    bad_now = run("verify", "--key", public, "--now", "yesterday", payload)
    assert bad_now.returncode == 2 and "ISO-8601" in bad_now.stderr
    assert "Traceback" not in bad_now.stderr + bad_key.stderr + missing.stderr


def test_encrypted_key_without_passphrase_never_prompts(keys: dict[str, Path]) -> None:
    result = run("issue", "--key", str(keys["EdDSA"] / "private.pem"), str(EXAMPLE))
    assert result.returncode == 2
    assert "passphrase" in result.stderr and "Traceback" not in result.stderr
    wrong = keys["pass"].with_name("wrong.txt")
    wrong.write_text("nope")
    result = run("issue", "--key", str(keys["EdDSA"] / "private.pem"),
                 "--passphrase-file", str(wrong), str(EXAMPLE))
    assert result.returncode == 2 and "passphrase_invalid" in result.stderr


def test_keygen_without_passphrase_is_owner_only_and_warns(tmp_path: Path) -> None:
    result = run("keygen", "--alg", "ES256", "--out", str(tmp_path / "k"))
    assert result.returncode == 0
    assert "NOT encrypted" in result.stderr
    mode = stat.S_IMODE(os.stat(tmp_path / "k" / "private.pem").st_mode)
    assert mode == 0o600
    again = run("keygen", "--out", str(tmp_path / "k"))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


def test_invalid_record_reports_every_problem(keys: dict[str, Path], tmp_path: Path) -> None:
    data = json.loads(EXAMPLE.read_text("utf-8"))
    data.update(sex="female", nationality="libya")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    readable = run("issue", "--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file",
                   str(keys["pass"]), str(bad))
    assert readable.returncode == 1 and readable.stdout == ""
    assert "code: record_invalid" in readable.stderr and "sex_mismatch" in readable.stderr
    assert "None" not in readable.stderr and not readable.stderr.lstrip().startswith("{")
    result = run("issue", "--json", "--key", str(keys["EdDSA"] / "private.pem"),
                 "--passphrase-file", str(keys["pass"]), str(bad))
    assert result.returncode == 1
    report = json.loads(result.stderr)
    assert report["code"] == "record_invalid"
    assert {(p["path"], p["code"]) for p in report["problems"]} == {
        ("national_number", "sex_mismatch"), ("nationality", "format")}
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    result = run("issue", "--json", "--key", str(keys["EdDSA"] / "private.pem"),
                 "--passphrase-file", str(keys["pass"]), str(not_json))
    assert result.returncode == 1
    assert json.loads(result.stderr)["problems"][0]["code"] == "json"


def test_inspect_is_marked_unverified(keys: dict[str, Path]) -> None:
    payload = _issue(keys)
    result = run("inspect", "-", stdin=payload)
    assert result.returncode == 0
    out = json.loads(result.stdout)
    assert out["verified"] is False and "UNVERIFIED" in out["warning"]
    assert out["protected_header"]["1"] == -8
    assert out["claims"]["169"]["1"] == "119850012347"
    assert bytes.fromhex(out["sig_structure_hex"]).startswith(b"\x84\x6aSignature1")
    broken = run("inspect", "AAAA")
    assert broken.returncode == 1 and json.loads(broken.stdout)["code"] == "base45_invalid"


def test_demo_runs_the_main_job(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    result = run("demo", "--out", str(demo))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["verification"]["status"] == "valid"
    assert out["verification"]["signer"]["centre"] == "TRP-01"
    assert out["verification"]["card"]["record"]["national_number"] == "119850012347"
    saved = (demo / "payload.txt").read_text().strip()
    assert saved == out["payload"]
    assert "verify --root" in result.stderr  # the start-up lines say what to try
    offline = ["--root", str(demo / "root.pem"), "--bundle", str(demo / "bundle.cbor")]
    code, checked = _verify(*offline, saved)
    assert (code, checked["status"], checked["revocation"]["state"]) == (0, "valid",
                                                                        "not_revoked")
    # With the centre's certificate but no revocation data: authentic, not confirmed (exit 3).
    code, checked = _verify("--root", str(demo / "root.pem"), "--trust-list",
                            str(demo / "trust-list.cose"), saved)
    assert (code, checked["status"], checked["code"]) == (3, "unknown", "revocation_missing")
    assert [Path(p).name for p in out["card_files"]] == ["front.png", "back.png", "card.pdf"]
    scanned = run("scan", *offline, str(demo / "back.png"))
    assert scanned.returncode == 0 and json.loads(scanned.stdout)["status"] == "valid"
    root = (demo / "root.pem").read_bytes()
    again = run("demo", "--out", str(demo))  # a second run keeps the chain, publishes newer lists
    assert again.returncode == 0, again.stderr
    assert (demo / "root.pem").read_bytes() == root
    code, checked = _verify(*offline, json.loads(again.stdout)["payload"])
    assert code == 0, checked


def test_a_payload_starting_with_a_dash_after_double_dash(keys: dict[str, Path]) -> None:
    payload = "-" + _issue(keys)[1:]
    result = run("verify", "--key", str(keys["EdDSA"] / "public.pem"), "--now", NOW, "--", payload)
    assert result.returncode == 1  # parsed as a payload (and refused), not as an option
    assert json.loads(result.stdout)["status"] == "invalid"


def test_verify_json_shows_profile_fields_once(keys: dict[str, Path]) -> None:
    code, out = _verify("--key", str(keys["EdDSA"] / "public.pem"), "--now", NOW,
                        "--no-revocation", _issue(keys))
    assert code == 0
    assert "extras" not in out["card"]["claims"]  # keys 75-84 are shown as the record
    assert out["card"]["claims"]["secondary_full_name"] == "محمد علي سالم الورفلي"


def test_absurd_skew_is_a_usage_error(keys: dict[str, Path]) -> None:
    result = run("verify", "--key", str(keys["EdDSA"] / "public.pem"), "--skew",
                 "100000000000000000000", "AAAA")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_demo_into_an_unusable_place_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("demo", "--out", str(blocker))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_broken_pipe_is_quiet(keys: dict[str, Path]) -> None:
    payload = _issue(keys)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before cardlib writes a byte
    try:
        proc = subprocess.run([str(CLI), "inspect", payload], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


# --- cards: render, render-sheet, scan ----------------------------------------------------------

def _portrait(path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), (180, 200, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((180, 150, 420, 450), fill=(220, 180, 150))
    draw.rectangle((120, 450, 480, 800), fill=(40, 60, 90))
    image.save(path, quality=90)
    return path


def test_render_scan_and_sheet(keys: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "card"
    base = ["--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file", str(keys["pass"]),
            "--now", "2026-01-10T09:00:00Z"]
    result = run("render", *base, "--out", str(out), str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["qr_version"] <= 25
    for name in ("payload.txt", "front.png", "back.png", "card.pdf"):
        assert (out / name).stat().st_size > 0
    public = str(keys["EdDSA"] / "public.pem")
    scanned = run("scan", "--key", public, "--now", NOW, "--no-revocation", str(out / "back.png"))
    assert scanned.returncode == 0, scanned.stderr
    data = json.loads(scanned.stdout)
    assert data["status"] == "valid" and data["scan"]["print_agrees"] is True
    assert data["scan"]["mrz"][0].startswith("IDLBYLY0001234")
    assert data["scan"]["barcodes"] == [
        {"format": "qr", "text": (out / "payload.txt").read_text().strip()}]
    assert data["card"]["record"] == json.loads(EXAMPLE.read_text("utf-8"))
    front = run("scan", "--key", public, "--now", NOW, str(out / "front.png"))
    # The front shows no card QR code: not a verdict on a card (exit 2), the Code128 is named.
    assert front.returncode == 2 and front.stdout == ""
    error = json.loads(front.stderr)
    assert error["code"] == "barcode_not_found" and "code128" in error["detail"]
    sheet = run("render-sheet", "--out", str(tmp_path / "sheet.pdf"), str(out), str(out))
    assert sheet.returncode == 0 and json.loads(sheet.stdout)["cards"] == 2
    assert (tmp_path / "sheet.pdf").read_bytes().startswith(b"%PDF-1.4")


def test_render_with_a_photo_keeps_the_mrz(keys: dict[str, Path], tmp_path: Path) -> None:
    photo = _portrait(tmp_path / "portrait.jpg")
    base = ["--key", str(keys["ES256"] / "private.pem"), "--passphrase-file", str(keys["pass"]),
            "--now", "2026-01-10T09:00:00Z", "--photo", str(photo)]
    result = run("render", *base, "--out", str(tmp_path / "a"), str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["photo"]["bytes"] <= 600
    assert (report["qr_version"], report["qr_error_level"]) == (18, "L")
    scanned = run("scan", "--key", str(keys["ES256"] / "public.pem"), "--now", NOW,
                  "--no-revocation", str(tmp_path / "a" / "back.png"))
    out = json.loads(scanned.stdout)
    assert scanned.returncode == 0 and out["card"]["claims"]["photo_format"] in (3, 4)
    assert out["scan"]["print_agrees"] is True
    assert out["scan"]["elements"]["mrz_numbers"] == "agrees"
    wide = run("render", *base, "--no-mrz", "--out", str(tmp_path / "b"), str(EXAMPLE))
    assert wide.returncode == 0 and json.loads(wide.stdout)["qr_version"] <= 25
    bad = run("render", *base[:-1], str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "c"),
              str(EXAMPLE))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_scan_a_tampered_print_exits_1(keys: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    from ._cards import altered_back, example_card, fixed_key

    _, genuine = example_card()
    table = Image.new("RGB", (2100, 700), "white")
    table.paste(genuine.front, (10, 10))
    table.paste(altered_back(document_number="LY0009999"), (1060, 30))  # the MRZ reprinted
    table.save(tmp_path / "photo.jpg", quality=85)
    (tmp_path / "fixed.pem").write_bytes(fixed_key().public_key.to_pem())
    result = run("scan", "--key", str(tmp_path / "fixed.pem"), "--now", NOW, "--no-revocation",
                 str(tmp_path / "photo.jpg"))
    out = json.loads(result.stdout)
    assert result.returncode == 1
    assert (out["status"], out["code"], out["scan"]["print_agrees"]) == (
        "invalid", "print_mismatch", False)
    # The card stays in the result: the clerk sees what was signed next to the altered print.
    assert out["card"]["record"]["national_number"] == "119850012347"
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image")
    bad = run("scan", "--key", str(tmp_path / "fixed.pem"), str(garbage))
    assert bad.returncode == 2 and json.loads(bad.stderr)["code"] == "image_invalid"


def test_batch_reports_bad_rows_and_resumes(keys: dict[str, Path], tmp_path: Path) -> None:
    good = json.loads(EXAMPLE.read_text("utf-8"))
    second = dict(good, document_number="LY0001235", national_number="219900012345",
                  sex="female", date_of_birth="1990-05-02")
    bad = dict(good, document_number="LY0001236", sex="other")
    rows = [json.dumps(r, ensure_ascii=False) for r in (good, bad, second)]
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(rows) + "\n", "utf-8")
    args = ["batch", "--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file",
            str(keys["pass"]), "--format", "jsonl", "--now", "2026-01-10T09:00:00Z",
            "--out", str(tmp_path / "out"), str(source)]
    first = run(*args)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert (report["total"], report["issued"], report["skipped"]) == (3, 2, 0)
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(2, "record_invalid")]
    again = json.loads(run(*args).stdout)
    assert (again["issued"], again["skipped"]) == (0, 2)
    payload = (tmp_path / "out" / "cards" / "LY0001235" / "payload.txt").read_text().strip()
    code, out = _verify("--key", str(keys["EdDSA"] / "public.pem"), "--now", NOW,
                        "--no-revocation", payload)
    assert code == 0 and out["card"]["record"]["national_number"] == "219900012345"
    sheet = run("render-sheet", "--out", str(tmp_path / "sheet.pdf"), str(tmp_path / "out"))
    assert sheet.returncode == 0 and json.loads(sheet.stdout)["cards"] == 2


def test_oversized_stdin_is_refused() -> None:
    result = run("verify", "--key", "/dev/null", "-", stdin="A" * (2 << 20))
    assert result.returncode == 2
    assert "larger than" in result.stderr or "key_file_invalid" in result.stderr
    huge = run("inspect", "-", stdin="A" * (2 << 20))
    assert huge.returncode == 2 and "standard input is larger than" in huge.stderr


def test_card_commands_misuse_is_a_usage_error(keys: dict[str, Path], tmp_path: Path) -> None:
    key = ["--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file", str(keys["pass"])]
    afile = tmp_path / "afile"
    afile.write_text("x")
    rows = tmp_path / "one.jsonl"
    rows.write_text(EXAMPLE.read_text("utf-8").replace("\n", "") + "\n", "utf-8")
    batch = run("batch", *key, "--format", "jsonl", "--out", str(afile), str(rows))
    assert batch.returncode == 2 and "Traceback" not in batch.stderr
    missing = run("batch", *key, "--format", "jsonl", "--out", str(tmp_path / "b"),
                  str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    budget = run("render", *key, "--photo", str(afile), "--photo-budget", "0", "--out",
                 str(tmp_path / "r"), str(EXAMPLE))
    assert budget.returncode == 2 and "photo budget" in budget.stderr
    blocked = tmp_path / "blocked"
    (blocked / "card.pdf").mkdir(parents=True)
    partial = run("render", *key, "--out", str(blocked), str(EXAMPLE))
    assert partial.returncode == 2 and "Traceback" not in partial.stderr
    assert sorted(p.name for p in blocked.iterdir()) == ["card.pdf"]  # nothing half written
    odd = tmp_path / "odd"
    odd.mkdir()
    from PIL import Image

    Image.new("RGB", (600, 600), "white").save(odd / "front.png")
    Image.new("RGB", (600, 600), "white").save(odd / "back.png")
    sheet = run("render-sheet", "--out", str(tmp_path / "s.pdf"), str(odd))
    assert sheet.returncode == 2 and "not a card side" in sheet.stderr


def test_render_sheet_prints_only_finished_batch_cards(
    keys: dict[str, Path], tmp_path: Path
) -> None:
    good = json.loads(EXAMPLE.read_text("utf-8"))
    other = dict(good, document_number="LY0001299")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (good, other)) + "\n")
    out = tmp_path / "out"
    done = run("batch", "--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file",
               str(keys["pass"]), "--format", "jsonl", "--out", str(out), str(rows))
    assert done.returncode == 0, done.stderr
    manifest = out / "manifest.jsonl"
    first_line = manifest.read_text().splitlines()[0]
    manifest.write_text(first_line + "\n")  # as if the batch died before the second card
    sheet = run("render-sheet", "--out", str(tmp_path / "s.pdf"), str(out))
    assert sheet.returncode == 0 and json.loads(sheet.stdout)["cards"] == 1


def test_root_centre_trust_list_flow(tmp_path: Path) -> None:
    """ca init → centre enrol → trust publish → issue with the certificate → verify by list."""
    def ok(*args: str) -> dict[str, Any]:
        result = run(*args)
        assert result.returncode == 0, result.stderr
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    ca, trp = tmp_path / "ca", tmp_path / "trp"
    ok("ca", "init", "--out", str(ca), "--alg", "ES256", "--now", "2026-01-01T00:00:00Z")
    centre = ok("centre", "enrol", "--ca", str(ca), "--centre", "TRP-01", "--out", str(trp),
                "--now", "2026-01-01T00:00:00Z")
    cert = str(trp / "centre.pem")
    ok("trust", "publish", "--ca", str(ca), "--sequence", "1", "--now", "2026-01-01T00:00:00Z",
       "--next-update", "2026-02-01T00:00:00Z", "--out", str(tmp_path / "t1"), cert)
    issued = run("issue", "--key", str(trp / "private.pem"), "--certificate", cert,
                 "--now", "2026-01-10T09:00:00Z", str(EXAMPLE))
    payload = issued.stdout.strip()
    listed = ["--trust-list", str(tmp_path / "t1"), "--root", str(ca / "root.pem")]
    code, out = _verify(*listed, "--no-revocation", "--now", "2026-01-20T00:00:00Z", payload)
    assert code == 0 and out["signer"]["centre"] == "TRP-01"
    assert out["card"]["kid"] == out["signer"]["kid"] == centre["kid"]
    assert out["signer"]["certificate_valid_from"] == "2026-01-01T00:00:00Z"
    assert [(i["kind"], i["stale"]) for i in out["lists"]] == [("trust_list", False)]
    code, out = _verify(*listed, "--no-revocation", "--now", "2026-03-01T00:00:00Z", payload)
    assert (code, out["status"], out["code"]) == (3, "unknown", "trust_list_stale")
    assert out["lists"][0]["stale"] is True and out["card"] is not None
    ok("trust", "publish", "--ca", str(ca), "--sequence", "2", "--now", "2026-01-15T00:00:00Z",
       "--next-update", "2026-02-15T00:00:00Z",
       "--revoke", f"{centre['kid']}=2026-01-05T00:00:00Z,superseded",
       "--out", str(tmp_path / "t2"), cert)
    code, out = _verify("--trust-list", str(tmp_path / "t2"), "--root", str(ca / "root.pem"),
                        "--now", "2026-01-20T00:00:00Z", "--no-revocation", payload)
    assert (code, out["code"]) == (1, "key_revoked")
    other = tmp_path / "other"
    ok("ca", "init", "--out", str(other), "--alg", "ES256", "--now", "2026-01-01T00:00:00Z")
    wrong_root = run("verify", "--trust-list", str(tmp_path / "t1"), "--root",
                     str(other / "root.pem"), payload)
    assert wrong_root.returncode == 2  # the verifier's trust data is wrong, not the card
    assert "trust_list_signature_invalid" in wrong_root.stderr
    assert run("verify", payload).returncode == 2  # neither keys nor a trust list


def test_offline_bundle_gives_card_status(tmp_path: Path) -> None:
    """revocation publish + bundle export; verify/scan --bundle report status and freshness."""
    def ok(*args: str) -> dict[str, Any]:
        result = run(*args)
        assert result.returncode == 0, result.stderr
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    ca, trp = tmp_path / "ca", tmp_path / "trp"
    t0 = "2026-01-01T00:00:00Z"
    ok("ca", "init", "--out", str(ca), "--now", t0)
    ok("centre", "enrol", "--ca", str(ca), "--centre", "TRP-01", "--out", str(trp), "--now", t0)
    cert = str(trp / "centre.pem")
    ok("trust", "publish", "--ca", str(ca), "--sequence", "1", "--now", t0,
       "--next-update", "2026-02-01T00:00:00Z", "--out", str(tmp_path / "trust"), cert)
    good = json.loads(EXAMPLE.read_text("utf-8"))
    other = dict(good, document_number="LY0001299")
    records = tmp_path / "other.json"
    records.write_text(json.dumps(other, ensure_ascii=False), "utf-8")
    issue_args = ["--key", str(trp / "private.pem"), "--certificate", cert,
                  "--now", "2026-01-10T09:00:00Z"]
    kept = run("issue", *issue_args, str(EXAMPLE)).stdout.strip()
    lost = run("issue", *issue_args, str(records)).stdout.strip()
    entries = tmp_path / "revoked.jsonl"
    entries.write_text(json.dumps({"document_number": "LY0001299", "reason": "stolen",
                                   "revoked_at": "2026-01-12T00:00:00Z"}) + "\n")
    ok("revocation", "publish", "--ca", str(ca), "--sequence", "1", "--first",
       "--now", "2026-01-15T00:00:00Z", "--next-update", "2026-01-22T00:00:00Z",
       "--out", str(tmp_path / "revocations"), str(entries))
    ok("bundle", "export", "--root", str(ca / "root.pem"), "--trust-list", str(tmp_path / "trust"),
       "--revocation-list",
       str(tmp_path / "revocations"), "--out", str(tmp_path / "bundle"))
    offline = ["--bundle", str(tmp_path / "bundle"), "--root", str(ca / "root.pem")]
    code, out = _verify(*offline, "--now", "2026-01-20T00:00:00Z", kept)
    assert (code, out["status"], out["revocation"]["state"]) == (0, "valid", "not_revoked")
    assert [(i["kind"], i["stale"]) for i in out["lists"]] == [
        ("trust_list", False), ("revocation_list", False)]
    assert out["signer"]["centre"] == "TRP-01"
    code, out = _verify(*offline, "--now", "2026-01-20T00:00:00Z", lost)
    assert (code, out["status"], out["code"], out["revocation"]["reason"]) == (
        1, "revoked", "revoked", "stolen")
    code, out = _verify(*offline, "--now", "2026-01-25T00:00:00Z", kept)  # the list is stale
    assert (code, out["status"], out["code"]) == (3, "unknown", "revocation_stale")
    assert out["revocation"]["state"] == "unknown" and out["lists"][1]["stale"] is True
    code, out = _verify(*offline, "--grace", "259200", "--now", "2026-01-25T00:00:00Z", kept)
    assert (code, out["status"]) == (0, "valid")  # a grace period the policy allows
    code, out = _verify(*offline, "--now", "2026-01-25T00:00:00Z", lost)  # still revoked
    assert (code, out["status"], out["revocation"]["state"]) == (1, "revoked", "revoked")
    junk = tmp_path / "junk"
    junk.write_bytes(b"\xa1\x01\x02")
    bad = run("verify", "--bundle", str(junk), "--root", str(ca / "root.pem"), kept)
    assert bad.returncode == 2 and "bundle_invalid" in bad.stderr


def test_registry_issue_replace_revoke_history(keys: dict[str, Path], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    assert run("registry", "init", url).returncode == 0
    key = ["--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file", str(keys["pass"])]
    first = run("issue", *key, "--registry", url, "--now", "2026-01-10T09:00:00Z", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    again = run("issue", *key, "--registry", url, "--now", "2026-01-10T10:00:00Z", str(EXAMPLE))
    assert again.returncode == 2 and "document_number_reused" in again.stderr
    assert again.stdout == ""  # a card the registry refused is never printed
    new = json.loads(EXAMPLE.read_text("utf-8")) | {"document_number": "LY0001300",
                                                    "issue_date": "2026-02-01"}
    path = tmp_path / "new.json"
    path.write_text(json.dumps(new, ensure_ascii=False), "utf-8")
    second = run("issue", *key, "--registry", url, "--replaces", "LY0001234",
                 "--now", "2026-02-01T09:00:00Z", str(path))
    assert second.returncode == 0, second.stderr
    revoked = run("revoke", "--registry", url, "--reason", "stolen", "--now",
                  "2026-03-01T00:00:00Z", "LY0001300")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["reason"] == "stolen"
    history = run("history", "--registry", url, "--holder", "119850012347",
                  "--document", "LY0001234")
    events = [(e["event"], e["document_number"]) for e in json.loads(history.stdout)["events"]]
    assert events == [("issue", "LY0001234"), ("revocation", "LY0001234"),
                      ("replacement", "LY0001300"), ("revocation", "LY0001300")]
    stranger = run("history", "--registry", url, "--holder", "119850012347",
                   "--document", "LY9999999")
    assert stranger.returncode == 2 and stranger.stdout == ""
    assert json.loads(stranger.stderr)["code"] == "history_not_found"


def test_audit_verify_points_at_the_first_tampered_entry(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import cardlib
    from cardlib.audit._log import AuditLog

    key = cardlib.PrivateKey.generate("EdDSA")
    (tmp_path / "registry.pem").write_bytes(key.public_key.to_pem())
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(path) as log:
        for n in range(5):
            log.append("issue", now=datetime(2026, 1, 10, 9, n, tzinfo=UTC),
                       holder="119850012347", document_number=f"LY000{n:04d}")
        log.checkpoint(key, now=datetime(2026, 1, 10, 10, tzinfo=UTC))
    good = run("audit", "verify", "--key", str(tmp_path / "registry.pem"), str(path))
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["entries"] == 6
    lines = path.read_text("utf-8").splitlines()
    lines[2] = lines[2].replace("LY0000002", "LY0000009")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    bad = run("audit", "verify", "--key", str(tmp_path / "registry.pem"), str(path))
    report = json.loads(bad.stdout)
    assert bad.returncode == 1 and report["code"] == "audit_tampered"
    assert report["line"] == 3


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A national root (ca/), two enrolled centres (TRP-01, BEN-02) and a trust list of both."""
    base = tmp_path_factory.mktemp("pki")
    t0 = "2026-01-01T00:00:00Z"
    assert run("ca", "init", "--out", str(base / "ca"), "--now", t0).returncode == 0
    for code, folder in (("TRP-01", "trp"), ("BEN-02", "ben")):
        enrolled = run("centre", "enrol", "--ca", str(base / "ca"), "--centre", code, "--out",
                       str(base / folder), "--now", t0)
        assert enrolled.returncode == 0, enrolled.stderr
        (base / folder / "kid").write_text(json.loads(enrolled.stdout)["kid"])
    published = run("trust", "publish", "--ca", str(base / "ca"), "--sequence", "1", "--now", t0,
                    "--next-update", "2026-06-01T00:00:00Z", "--out", str(base / "trust"),
                    str(base / "trp" / "centre.pem"), str(base / "ben" / "centre.pem"))
    assert published.returncode == 0, published.stderr
    return {"ca": base / "ca", "trp": base / "trp", "ben": base / "ben",
            "trust": base / "trust", "root": base / "ca" / "root.pem"}


def _signing(pki: dict[str, Path], centre: str) -> list[str]:
    return ["--key", str(pki[centre] / "private.pem"), "--certificate",
            str(pki[centre] / "centre.pem")]


def test_sync_a_centre_to_the_central_registry(pki: dict[str, Path], tmp_path: Path) -> None:
    from cardlib.store import open_registry

    centre, central = f"sqlite:///{tmp_path / 'centre.db'}", f"sqlite:///{tmp_path / 'hq.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    for url in (centre, central, other):
        assert run("registry", "init", url).returncode == 0
    ben_record = json.loads(EXAMPLE.read_text("utf-8")) | {
        "document_number": "LY0005555", "national_number": "219900012345", "sex": "female",
        "date_of_birth": "1990-05-02", "centre_code": "BEN-02"}
    ben_path = tmp_path / "ben.json"
    ben_path.write_text(json.dumps(ben_record, ensure_ascii=False), "utf-8")
    # The centre's registry also holds a card of BEN-02 (a shared or copied database).
    for signing, record in ((_signing(pki, "trp"), EXAMPLE), (_signing(pki, "ben"), ben_path)):
        issued = run("issue", *signing, "--registry", centre, "--now", "2026-01-10T09:00:00Z",
                     str(record))
        assert issued.returncode == 0, issued.stderr
    central_side = ["--to", central, "--root", str(pki["root"]), "--trust-list",
                    str(pki["trust"]), "--now", "2026-01-11T00:00:00Z"]
    args = ["sync", "--centre", "TRP-01", "--from", centre, *_signing(pki, "trp"), *central_side]
    first = run(*args)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["applied"], report["signer_kid"]) == (1, (pki["trp"] / "kid").read_text())
    assert report["access_codes_applied"] == 1  # TRP-01's holder's code, not BEN-02's
    with open_registry(tmp_path / "hq.db") as hq:  # TRP-01 sent its own card, not BEN-02's
        assert hq.get("LY0001234").centre_code == "TRP-01"
        assert hq.active_for("219900012345") is None
    again = json.loads(run(*args, "--since", "0").stdout)
    assert (again["applied"], again["skipped"]) == (0, 1)  # re-sending is harmless
    assert (again["access_codes_applied"], again["access_codes_skipped"]) == (0, 1)

    # Signed with BEN-02's key, TRP-01's batch is refused whole.
    posing = run("sync", "--centre", "TRP-01", "--from", centre, *_signing(pki, "ben"),
                 *central_side, "--since", "0")
    assert posing.returncode == 1 and json.loads(posing.stderr)["code"] == "sync_signer_untrusted"

    # Split in two: the centre writes the signed batch, the central applies the file.
    twin = json.loads(EXAMPLE.read_text("utf-8")) | {"document_number": "LY0007777",
                                                     "centre_code": "BEN-02"}
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin, ensure_ascii=False), "utf-8")
    assert run("issue", *_signing(pki, "ben"), "--registry", other,
               "--now", "2026-01-12T09:00:00Z", str(path)).returncode == 0
    batch = tmp_path / "ben.batch"
    written = run("sync", "--centre", "BEN-02", "--from", other, *_signing(pki, "ben"),
                  "--since", "0", "--out", str(batch))
    assert written.returncode == 0, written.stderr
    assert json.loads(written.stdout)["events"] == 1 and batch.stat().st_size > 0
    tampered = tmp_path / "tampered.batch"
    tampered.write_bytes(batch.read_bytes().replace(b"LY0007777", b"LY0007778"))
    bad = run("sync", "--batch", str(tampered), *central_side)
    assert bad.returncode == 1 and json.loads(bad.stderr)["code"] == "sync_batch_signature_invalid"
    clash = run("sync", "--batch", str(batch), *central_side)
    report = json.loads(clash.stdout)
    assert clash.returncode == 1
    assert [c["kind"] for c in report["conflicts"]] == ["holder_has_active_card"]

    missing = run("sync", "--centre", "TRP-01", "--from", centre, "--to", central)
    assert missing.returncode == 2 and "--key" in missing.stderr and "--root" in missing.stderr
    mixed = run("sync", "--batch", str(batch), "--centre", "TRP-01", *central_side)
    assert mixed.returncode == 2


def test_registry_init_is_the_only_way_to_make_a_registry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    made = run("registry", "init", url)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"registry": url, "created": True, "schema_version": 5}
    again = json.loads(run("registry", "init", url).stdout)
    assert again["created"] is False
    human = subprocess.run([str(CLI), "registry", "init", url], capture_output=True, text=True,
                           timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert human.returncode == 0 and "created: no" in human.stdout
    foreign = tmp_path / "notes.db"
    import sqlite3

    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    before = foreign.read_bytes()
    refused = run("registry", "init", f"sqlite:///{foreign}")
    assert refused.returncode == 2 and json.loads(refused.stderr)["code"] == "registry_not_ours"
    assert foreign.read_bytes() == before


def test_a_mistyped_registry_url_creates_nothing(keys: dict[str, Path], pki: dict[str, Path],
                                                  tmp_path: Path) -> None:
    """Every command that takes a registry refuses a missing one (exit 2, registry_not_found)
    and creates no file; before, each made a new empty registry, and `revocation publish`
    signed an empty list from it."""
    typo = tmp_path / "regsitry.db"
    url = f"sqlite:///{typo}"
    real = f"sqlite:///{tmp_path / 'registry.db'}"
    assert run("registry", "init", real).returncode == 0
    key = ["--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file", str(keys["pass"])]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(json.loads(EXAMPLE.read_text("utf-8"))) + "\n", "utf-8")
    out = tmp_path / "out"
    commands = {
        "revoke": ["revoke", "--registry", url, "--reason", "lost", "LY0001234"],
        "history": ["history", "--registry", url, "--holder", "119850012347", "--document",
                    "LY0001234"],
        "issue": ["issue", "--json", *key, "--registry", url, str(EXAMPLE)],
        "batch": ["batch", *key, "--format", "jsonl", "--no-render", "--registry", url,
                  "--out", str(out), str(rows)],
        "revocation publish": ["revocation", "publish", "--ca", str(pki["ca"]), "--first",
                               "--registry", url, "--sequence", "9", "--next-update",
                               "2030-01-01T00:00:00Z", "--out", str(tmp_path / "rl")],
        "sync --from": ["sync", "--centre", "TRP-01", "--from", url, *_signing(pki, "trp"),
                        "--to", real, "--root", str(pki["root"]), "--trust-list",
                        str(pki["trust"])],
        "sync --to": ["sync", "--centre", "TRP-01", "--from", real, *_signing(pki, "trp"),
                      "--to", url, "--root", str(pki["root"]), "--trust-list",
                      str(pki["trust"])],
        "audit sync": ["audit", "sync", "--registry", url, str(tmp_path / "audit.jsonl")],
        "registry reset-code": ["registry", "reset-code", "--registry", url, "--holder",
                                "119850012347", "--centre", "TRP-01"],
    }
    for name, args in commands.items():
        result = run(*args)
        assert result.returncode == 2, (name, result.stderr)
        error = json.loads(result.stderr)
        assert (error["code"], error["category"]) == ("registry_not_found", "input"), name
        assert str(typo) in error["detail"] and "registry init" in error["detail"], name
        assert result.stdout == "", name  # no card printed, no report
        assert not typo.exists(), name
    assert not (tmp_path / "rl").exists()  # no revocation list signed
    assert not (out / "manifest.jsonl").exists()


def test_a_new_revocation_list_keeps_the_previous_entries(pki: dict[str, Path],
                                                          tmp_path: Path) -> None:
    """`revocation publish` checks the new list against the previous one (--previous): an
    entry left out is refused, unless --allow-drop, and then each one is reported."""
    def entries(*numbers: str) -> str:
        path = tmp_path / f"{len(numbers)}-{'-'.join(numbers)}.jsonl"
        path.write_text("".join(json.dumps({"document_number": n, "reason": "lost",
                                            "revoked_at": "2026-01-12T00:00:00Z"}) + "\n"
                                for n in numbers), "utf-8")
        return str(path)

    publish = ["revocation", "publish", "--ca", str(pki["ca"]), "--now", "2026-01-15T00:00:00Z",
               "--next-update", "2026-01-22T00:00:00Z"]
    first = run(*publish, "--sequence", "3", "--first", "--out", str(tmp_path / "rl3"),
                entries("LY0000001", "LY0000002", "LY0000003"))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["previous_sequence"] is None
    unsure = run(*publish, "--sequence", "4", "--out", str(tmp_path / "rl4"),
                 entries("LY0000001"))
    assert unsure.returncode == 2 and "--previous" in json.loads(unsure.stderr)["detail"]
    dropped = run(*publish, "--sequence", "4", "--previous", str(tmp_path / "rl3"),
                  "--out", str(tmp_path / "rl4"), entries("LY0000001", "LY0000004"))
    assert dropped.returncode == 2 and dropped.stdout == ""
    error = json.loads(dropped.stderr)
    assert (error["code"], error["category"]) == ("revocation_entries_dropped", "input")
    assert "leaves out 2 entries" in error["detail"] and "LY0000003" in error["detail"]
    assert not (tmp_path / "rl4").exists()
    kept = run(*publish, "--sequence", "4", "--previous", str(tmp_path / "rl3"),
               "--out", str(tmp_path / "rl4"),
               entries("LY0000001", "LY0000002", "LY0000003", "LY0000004"))
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["dropped"] == []
    pruned = run(*publish, "--sequence", "5", "--previous", str(tmp_path / "rl4"),
                 "--allow-drop", "--out", str(tmp_path / "rl5"), entries("LY0000004"))
    assert pruned.returncode == 0, pruned.stderr
    report = json.loads(pruned.stdout)
    assert (report["previous_sequence"], report["entries"]) == (4, 1)
    assert [d["document_number"] for d in report["dropped"]] == [
        "LY0000001", "LY0000002", "LY0000003"]
    assert all(f"dropped LY000000{n}" in pruned.stderr for n in (1, 2, 3))
    older = run(*publish, "--sequence", "5", "--previous", str(tmp_path / "rl5"),
                "--out", str(tmp_path / "rl6"), entries("LY0000004"))
    assert older.returncode == 2 and "must be above" in json.loads(older.stderr)["detail"]
    junk = tmp_path / "junk"
    junk.write_bytes(b"\xa1\x01\x02")
    damaged = run(*publish, "--sequence", "6", "--previous", str(junk),
                  "--out", str(tmp_path / "rl6"), entries("LY0000004"))
    assert damaged.returncode == 2 and str(junk) in json.loads(damaged.stderr)["detail"]


def test_revocation_list_from_the_registry(tmp_path: Path) -> None:
    """revoke in the registry → revocation publish --registry → bundle → verify says revoked."""
    def ok(*args: str) -> dict[str, Any]:
        result = run(*args)
        assert result.returncode == 0, result.stderr
        out: dict[str, Any] = json.loads(result.stdout) if result.stdout.startswith("{") else {}
        return out

    ca, trp, t0 = tmp_path / "ca", tmp_path / "trp", "2026-01-01T00:00:00Z"
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    ok("registry", "init", url)
    ok("ca", "init", "--out", str(ca), "--now", t0)
    ok("centre", "enrol", "--ca", str(ca), "--centre", "TRP-01", "--out", str(trp), "--now", t0)
    cert = str(trp / "centre.pem")
    payload = run("issue", "--key", str(trp / "private.pem"), "--certificate", cert,
                  "--registry", url, "--now", "2026-01-10T09:00:00Z", str(EXAMPLE)).stdout.strip()
    ok("revoke", "--registry", url, "--reason", "fraud", "--now", "2026-01-12T00:00:00Z",
       "LY0001234")
    listed = ok("revocation", "publish", "--ca", str(ca), "--registry", url, "--first",
                "--sequence", "3",
                "--now", "2026-01-15T00:00:00Z", "--next-update", "2026-01-22T00:00:00Z",
                "--out", str(tmp_path / "rl"))
    assert listed["entries"] == 1
    ok("trust", "publish", "--ca", str(ca), "--sequence", "1", "--now", t0,
       "--next-update", "2026-02-01T00:00:00Z", "--out", str(tmp_path / "tl"), cert)
    ok("bundle", "export", "--root", str(ca / "root.pem"), "--trust-list", str(tmp_path / "tl"),
       "--revocation-list",
       str(tmp_path / "rl"), "--out", str(tmp_path / "b"))
    code, out = _verify("--bundle", str(tmp_path / "b"), "--root", str(ca / "root.pem"),
                        "--now", "2026-01-20T00:00:00Z", payload)
    assert (code, out["code"], out["revocation"]["reason"]) == (1, "revoked", "fraud")


def test_audit_log_mirrors_the_registry_and_key_events(keys: dict[str, Path],
                                                       tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    assert run("registry", "init", url).returncode == 0
    log = str(tmp_path / "audit.jsonl")
    registry_key = tmp_path / "registry-key"
    assert run("keygen", "--out", str(registry_key)).returncode == 0
    key = ["--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file", str(keys["pass"])]
    assert run("issue", *key, "--registry", url, "--now", "2026-01-10T09:00:00Z",
               str(EXAMPLE)).returncode == 0
    assert run("revoke", "--registry", url, "--reason", "lost", "--now",
               "2026-01-11T00:00:00Z", "LY0001234").returncode == 0
    synced = run("audit", "sync", "--registry", url, "--key",
                 str(registry_key / "private.pem"), "--now", "2026-01-12T00:00:00Z", log)
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["appended"] == 2
    public = str(registry_key / "public.pem")
    again = json.loads(run("audit", "sync", "--registry", url, "--trust", public, log).stdout)
    assert again["appended"] == 0  # idempotent: the registry is the source of truth
    ca = tmp_path / "ca"
    assert run("ca", "init", "--out", str(ca)).returncode == 0
    assert run("centre", "enrol", "--ca", str(ca), "--centre", "TRP-01", "--out",
               str(tmp_path / "trp"), "--audit", log, "--audit-trust", public).returncode == 0
    verified = run("audit", "verify", "--key", str(registry_key / "public.pem"), log)
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["entries"] == 4 and report["unsealed"] == 1
    kinds = [json.loads(line)["kind"] for line in Path(log).read_text().splitlines()]
    assert kinds == ["issue", "revocation", "checkpoint", "key"]


def _audit_log(tmp_path: Path, *, unsealed_tail: bool = False) -> Path:
    """A log as `audit sync --key` leaves it: registry events 1-3, a checkpoint at 4, events 5-6,
    a checkpoint at 7 (the last line); ``unsealed_tail`` adds a key event at 8 after it. The
    registry key is ``registry.pem`` / ``registry-private.pem``; ``registry.db`` is empty."""
    from datetime import UTC, datetime

    import cardlib
    from cardlib.audit import AuditLog
    from cardlib.store import open_registry

    with open_registry(f"sqlite:///{tmp_path / 'registry.db'}", create=True):
        pass

    key = cardlib.PrivateKey.generate("EdDSA")
    (tmp_path / "registry.pem").write_bytes(key.public_key.to_pem())
    (tmp_path / "registry-private.pem").write_bytes(key.to_pem())
    path = tmp_path / "audit.jsonl"
    with AuditLog.open(path) as log:
        for n in range(5):
            if n == 3:
                log.checkpoint(key, now=datetime(2026, 1, 10, 9, n, tzinfo=UTC))
            log.append("issue", now=datetime(2026, 1, 10, 9, n, tzinfo=UTC),
                       holder="119850012347", document_number=f"LY000{n:04d}",
                       data={"registry_seq": n + 1})
        log.checkpoint(key, now=datetime(2026, 1, 10, 10, tzinfo=UTC))
        if unsealed_tail:
            log.append("key", now=datetime(2026, 1, 10, 11, tzinfo=UTC),
                       data={"action": "centre_enrolled"})
    return path


def _audit_sync(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("audit", "sync", "--registry", f"sqlite:///{tmp_path / 'registry.db'}", "--key",
               str(tmp_path / "registry-private.pem"), "--now", NOW, *extra,
               str(tmp_path / "audit.jsonl"))


# (the 1-based lines removed, the anchor that catches it, the first line reported)
_AUDIT_CUTS: dict[str, tuple[set[int], str | None, int]] = {
    "deleted middle line": ({3}, None, 3),
    "deleted last checkpoint": ({7}, "anchor", 7),  # the last line: seals 1-6
    "cut at a checkpoint": ({5, 6, 7}, "anchor", 5),  # ends sealed and signed at 4
    "deleted last line": ({8}, "head", 8),  # an unsealed key event after the checkpoint
}


@pytest.mark.parametrize("case", list(_AUDIT_CUTS))
def test_audit_sync_refuses_a_log_that_lost_lines(tmp_path: Path, case: str) -> None:
    """Today's bug: sync appended after a deleted line. Now sync and verify refuse, and sync
    writes nothing; a clean cut at the end is caught by the anchor printed before it."""
    removed, anchor_kind, line = _AUDIT_CUTS[case]
    path = _audit_log(tmp_path, unsealed_tail=case == "deleted last line")
    key = str(tmp_path / "registry.pem")
    sound = run("audit", "verify", "--key", key, str(path))
    assert sound.returncode == 0, sound.stderr
    report = json.loads(sound.stdout)
    anchor = None if anchor_kind is None else (
        report["anchor"] if anchor_kind == "anchor" else f"{report['entries']}:{report['head']}")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(text for n, text in enumerate(lines, 1) if n not in removed))
    before = path.read_bytes()
    with_anchor = [] if anchor is None else ["--anchor", anchor]
    code = "audit_tampered" if anchor is None else "audit_truncated"
    verified = run("audit", "verify", "--key", key, *with_anchor, str(path))
    out = json.loads(verified.stdout)
    assert verified.returncode == 1 and (out["code"], out["line"]) == (code, line), out
    synced = _audit_sync(tmp_path, *with_anchor)
    assert synced.returncode == 1 and synced.stdout == "", synced.stdout
    refused = json.loads(synced.stderr)
    assert (refused["code"], refused["line"], refused["category"]) == (code, line, "invalid")
    assert path.read_bytes() == before  # nothing written, byte for byte
    if anchor is not None:  # the chain alone cannot show a cut at the end
        assert report["anchor"].startswith("7:")
        blind = run("audit", "verify", "--key", key, str(path))
        assert blind.returncode == 0 and json.loads(blind.stdout)["anchored"] is False
        wrong = _audit_sync(tmp_path, "--anchor", f"{line - 1}:{'0' * 64}")
        assert wrong.returncode == 1 and json.loads(wrong.stderr)["problem"] == "anchor_mismatch"
        assert path.read_bytes() == before


def test_audit_verify_and_sync_print_the_anchor_to_keep(tmp_path: Path) -> None:
    path = _audit_log(tmp_path)
    key = str(tmp_path / "registry.pem")
    human = subprocess.run([str(CLI), "audit", "verify", "--key", key, str(path)],
                           capture_output=True, text=True, timeout=60, check=False,
                           stdin=subprocess.DEVNULL)
    assert human.returncode == 0, human.stderr
    assert "cannot be detected" in human.stdout and "anchor: 7:" in human.stdout
    first = json.loads(run("audit", "verify", "--key", key, str(path)).stdout)
    synced = _audit_sync(tmp_path, "--anchor", first["anchor"])
    assert synced.returncode == 0, synced.stderr
    out = json.loads(synced.stdout)
    assert (out["appended"], out["checkpoint_seq"], out["anchored"]) == (0, 8, True)
    assert out["anchor"].startswith("8:")
    kept = tmp_path / "anchor.jsonl"  # the signed checkpoint line itself, kept elsewhere
    kept.write_bytes(path.read_bytes().splitlines(keepends=True)[-1])
    anchored = run("audit", "verify", "--key", key, "--anchor-file", str(kept), str(path))
    report = json.loads(anchored.stdout)
    assert anchored.returncode == 0 and report["anchored"] is True
    assert report["anchor"] == out["anchor"] and report["warnings"] == []
    bad = run("audit", "verify", "--key", key, "--anchor", "8:not-a-hash", str(path))
    assert bad.returncode == 2 and json.loads(bad.stderr)["code"] == "audit_input_invalid"


def test_audit_sync_checks_checkpoints_against_the_registry_keys(tmp_path: Path) -> None:
    """With --key, sync checks every checkpoint's signature first; an earlier registry key (a
    rotation) is accepted with --trust."""
    import cardlib

    path = _audit_log(tmp_path)
    before = path.read_bytes()
    new_key = cardlib.PrivateKey.generate("EdDSA")
    (tmp_path / "new-private.pem").write_bytes(new_key.to_pem())
    sync = ["audit", "sync", "--registry", f"sqlite:///{tmp_path / 'registry.db'}", "--key",
            str(tmp_path / "new-private.pem"), "--now", NOW]
    refused = run(*sync, str(path))
    assert refused.returncode == 1 and json.loads(refused.stderr)["problem"] == "key_unknown"
    assert path.read_bytes() == before
    rotated = run(*sync, "--trust", str(tmp_path / "registry.pem"), str(path))
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["checkpoint_seq"] == 8


def test_trust_commands_print_for_people_unless_json(tmp_path: Path) -> None:
    human = subprocess.run([str(CLI), "ca", "init", "--out", str(tmp_path / "ca")],
                           capture_output=True, text=True, timeout=60, check=False,
                           stdin=subprocess.DEVNULL)
    assert human.returncode == 0
    assert human.stdout.startswith("root_certificate: ") and "{" not in human.stdout
    machine = run("ca", "init", "--out", str(tmp_path / "ca2"))
    assert json.loads(machine.stdout)["algorithm"] == "EdDSA"
