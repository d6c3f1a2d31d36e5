"""Writing a set of files all or nothing: shared by the edges (the CLI, the demo data, the
verification service). The core never writes files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_all(files: dict[Path, bytes], *, mode: int = 0o644) -> None:
    """Write every file to a unique temporary name first, then rename them all into place; on
    any failure remove the temporaries, so no half-written or mixed set is left behind. Files
    get ``mode`` (default world-readable: trust lists, revocation lists, bundles and cards are
    public documents; private keys are written with 0o600)."""
    import tempfile

    for path in files:
        if path.is_dir():  # renaming onto a directory would fail half-way through the set
            raise IsADirectoryError(21, "Is a directory", str(path))
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)
            staged.append((temporary, path))
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        for temporary, path in staged:
            os.replace(temporary, path)
    except OSError:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
