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


# Commands whose default output is for people; the tests read their --json output.
HUMAN_BY_DEFAULT = {"ca", "centre", "trust", "revocation", "bundle", "revoke", "history", "sync",
                    "audit"}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if args and args[0] in HUMAN_BY_DEFAULT:
        args = (*args, "--json")
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
    result = run("issue", "--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file",
                 str(keys["pass"]), str(bad))
    assert result.returncode == 1
    report = json.loads(result.stderr)
    assert report["code"] == "record_invalid"
    assert {(p["path"], p["code"]) for p in report["problems"]} == {
        ("national_number", "sex_mismatch"), ("nationality", "format")}
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    result = run("issue", "--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file",
                 str(keys["pass"]), str(not_json))
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


def test_render_with_a_photo_needs_room_on_the_back(keys: dict[str, Path], tmp_path: Path) -> None:
    photo = _portrait(tmp_path / "portrait.jpg")
    base = ["--key", str(keys["ES256"] / "private.pem"), "--passphrase-file", str(keys["pass"]),
            "--now", "2026-01-10T09:00:00Z", "--photo", str(photo)]
    crowded = run("render", *base, "--out", str(tmp_path / "a"), str(EXAMPLE))
    assert crowded.returncode == 2 and "qr_too_large" in crowded.stderr
    result = run("render", *base, "--no-mrz", "--out", str(tmp_path / "b"), str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["photo"]["bytes"] <= 600 and report["qr_version"] <= 25
    scanned = run("scan", "--key", str(keys["ES256"] / "public.pem"), "--now", NOW,
                  "--no-revocation", str(tmp_path / "b" / "back.png"))
    out = json.loads(scanned.stdout)
    assert scanned.returncode == 0 and out["card"]["claims"]["photo_format"] in (3, 4)
    bad = run("render", *base[:-1], str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "c"),
              str(EXAMPLE))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_scan_a_tampered_print_exits_1(keys: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    from ._cards import example_card, fixed_key

    _, genuine = example_card()
    _, forged = example_card("119850099999")
    table = Image.new("RGB", (2100, 700), "white")
    table.paste(forged.front, (10, 10))
    table.paste(genuine.back, (1060, 30))
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
       "--next-update", "2026-02-15T00:00:00Z", "--revoke", f"{centre['kid']}=2026-01-05T00:00:00Z",
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
    ok("revocation", "publish", "--ca", str(ca), "--sequence", "1",
       "--now", "2026-01-15T00:00:00Z", "--next-update", "2026-01-22T00:00:00Z",
       "--out", str(tmp_path / "revocations"), str(entries))
    ok("bundle", "export", "--trust-list", str(tmp_path / "trust"), "--revocation-list",
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


def test_sync_a_centre_to_the_central_registry(keys: dict[str, Path], tmp_path: Path) -> None:
    centre, central = f"sqlite:///{tmp_path / 'centre.db'}", f"sqlite:///{tmp_path / 'hq.db'}"
    key = ["--key", str(keys["EdDSA"] / "private.pem"), "--passphrase-file", str(keys["pass"])]
    assert run("issue", *key, "--registry", centre, "--now", "2026-01-10T09:00:00Z",
               str(EXAMPLE)).returncode == 0
    args = ["sync", "--centre", "TRP-01", "--from", centre, "--to", central,
            "--now", "2026-01-11T00:00:00Z"]
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["applied"] == 1
    again = json.loads(run(*args, "--since", "0").stdout)
    assert (again["applied"], again["skipped"]) == (0, 1)  # re-sending is harmless
    other = f"sqlite:///{tmp_path / 'other.db'}"
    twin = json.loads(EXAMPLE.read_text("utf-8")) | {"document_number": "LY0007777"}
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin, ensure_ascii=False), "utf-8")
    assert run("issue", *key, "--registry", other, "--now", "2026-01-12T09:00:00Z",
               str(path)).returncode == 0
    clash = run("sync", "--centre", "BEN-02", "--from", other, "--to", central,
                "--now", "2026-01-13T00:00:00Z")
    report = json.loads(clash.stdout)
    assert clash.returncode == 1
    assert [c["kind"] for c in report["conflicts"]] == ["holder_has_active_card"]


def test_revocation_list_from_the_registry(tmp_path: Path) -> None:
    """revoke in the registry → revocation publish --registry → bundle → verify says revoked."""
    def ok(*args: str) -> dict[str, Any]:
        result = run(*args)
        assert result.returncode == 0, result.stderr
        out: dict[str, Any] = json.loads(result.stdout) if result.stdout.startswith("{") else {}
        return out

    ca, trp, t0 = tmp_path / "ca", tmp_path / "trp", "2026-01-01T00:00:00Z"
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    ok("ca", "init", "--out", str(ca), "--now", t0)
    ok("centre", "enrol", "--ca", str(ca), "--centre", "TRP-01", "--out", str(trp), "--now", t0)
    cert = str(trp / "centre.pem")
    payload = run("issue", "--key", str(trp / "private.pem"), "--certificate", cert,
                  "--registry", url, "--now", "2026-01-10T09:00:00Z", str(EXAMPLE)).stdout.strip()
    ok("revoke", "--registry", url, "--reason", "fraud", "--now", "2026-01-12T00:00:00Z",
       "LY0001234")
    listed = ok("revocation", "publish", "--ca", str(ca), "--registry", url, "--sequence", "3",
                "--now", "2026-01-15T00:00:00Z", "--next-update", "2026-01-22T00:00:00Z",
                "--out", str(tmp_path / "rl"))
    assert listed["entries"] == 1
    ok("trust", "publish", "--ca", str(ca), "--sequence", "1", "--now", t0,
       "--next-update", "2026-02-01T00:00:00Z", "--out", str(tmp_path / "tl"), cert)
    ok("bundle", "export", "--trust-list", str(tmp_path / "tl"), "--revocation-list",
       str(tmp_path / "rl"), "--out", str(tmp_path / "b"))
    code, out = _verify("--bundle", str(tmp_path / "b"), "--root", str(ca / "root.pem"),
                        "--now", "2026-01-20T00:00:00Z", payload)
    assert (code, out["code"], out["revocation"]["reason"]) == (1, "revoked", "fraud")


def test_audit_log_mirrors_the_registry_and_key_events(keys: dict[str, Path],
                                                       tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
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
    again = json.loads(run("audit", "sync", "--registry", url, log).stdout)
    assert again["appended"] == 0  # idempotent: the registry is the source of truth
    ca = tmp_path / "ca"
    assert run("ca", "init", "--out", str(ca)).returncode == 0
    assert run("centre", "enrol", "--ca", str(ca), "--centre", "TRP-01", "--out",
               str(tmp_path / "trp"), "--audit", log).returncode == 0
    verified = run("audit", "verify", "--key", str(registry_key / "public.pem"), log)
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["entries"] == 4 and report["unsealed"] == 1
    kinds = [json.loads(line)["kind"] for line in Path(log).read_text().splitlines()]
    assert kinds == ["issue", "revocation", "checkpoint", "key"]


def test_trust_commands_print_for_people_unless_json(tmp_path: Path) -> None:
    human = subprocess.run([str(CLI), "ca", "init", "--out", str(tmp_path / "ca")],
                           capture_output=True, text=True, timeout=60, check=False,
                           stdin=subprocess.DEVNULL)
    assert human.returncode == 0
    assert human.stdout.startswith("root_certificate: ") and "{" not in human.stdout
    machine = run("ca", "init", "--out", str(tmp_path / "ca2"))
    assert json.loads(machine.stdout)["algorithm"] == "EdDSA"
