"""The README's library tour runs as written."""

from __future__ import annotations

import contextlib
import io
import os
import re

from .conftest import ROOT


def test_readme_python_example_runs() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has no Python example"
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(blocks[0], "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["unknown revocation_missing", "valid"]
    assert lines[2].startswith("invalid expired the card expired on 2036-01-10")
