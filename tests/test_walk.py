"""The README's walk through the whole chain, run as it stands (issue 9's "done when")."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- chain walk: tests/test_walk.py runs this block -->"


def _walk() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    found = re.search(re.escape(MARKER) + r"\n```sh\n(.*?)```", text, re.S)
    assert found, "the README's chain walk is missing"
    return found.group(1)


def test_the_readme_walks_the_whole_chain(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    cli = Path(sys.executable).parent / "cardlib"
    assert cli.exists(), cli
    env = {**os.environ, "REPO": str(ROOT),
           "PATH": f"{cli.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([bash, "-c", _walk()], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    # What the walk left behind is what it says it did.
    assert (tmp_path / "bundle.cbor").stat().st_size > 0
    history = done.stdout
    assert "replacement" in history and "LY0001300" in history
    assert "None" not in history and "True" not in history  # readable, not Python reprs
    assert "status: valid" in history  # the anchored audit verify
    anchor = re.search(r"^anchor: (\S+)$", history, re.M)
    assert anchor is not None
    cut = subprocess.run([str(cli), "audit", "verify", "--json", "--key",
                          "registry-key/public.pem", "--anchor", anchor.group(1), "cut.jsonl"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert cut.returncode == 1 and '"audit_truncated"' in cut.stdout + cut.stderr
