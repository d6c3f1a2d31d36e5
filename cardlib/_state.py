"""A verifier's memory between runs: the highest list sequences it has accepted, per root.

Kept in a directory (``sequences.json``), so that a stateless command (``cardlib verify``) can
no longer be fooled by an older trust list, revocation list or bundle than one it has already
seen: an old list could make a replaced or revoked card look valid again. Writes are atomic
(temporary file, fsync, rename) and serialised with a lock file; sequences only ever grow.
This module does file I/O and is used at the edges (the CLI, the service).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from ._errors import StateError
from ._locking import flock_exclusive

FILE: Final = "sequences.json"
KINDS: Final = ("trust_list", "revocation_list")
_MAX_BYTES: Final = 1 << 20


class OlderThanHeld(Exception):
    """Raised by :meth:`VerifierState.advance` (nothing written): ``kind`` has sequence
    ``held`` on record, higher than the one offered."""

    def __init__(self, kind: str, offered: int, held: int) -> None:
        super().__init__(kind, offered, held)
        self.kind, self.offered, self.held = kind, offered, held


class VerifierState:
    """The highest accepted sequence of each list kind, for each pinned root (by root kid).

    Every read-check-write happens under an exclusive lock on ``.lock`` in the directory (at
    most ``lock_timeout`` seconds of waiting), so two processes sharing the directory (service
    workers, concurrent CLI runs) cannot both accept: the one offering an older list is refused.
    """

    def __init__(self, directory: str | os.PathLike[str], *, lock_timeout: float = 10.0) -> None:
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"VerifierState({str(self.directory)!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = open(self.directory / ".lock", "a+b")  # noqa: SIM115 (closed below)
        except OSError as err:
            raise StateError(f"cannot use the verifier state directory {self.directory}: "
                             f"{err.strerror or err}") from err
        with handle:
            try:
                flock_exclusive(handle.fileno(), self.lock_timeout)
            except BlockingIOError:
                raise StateError(f"another process has held {self.directory / '.lock'} for "
                                 f"more than {self.lock_timeout:g} s") from None
            yield

    def _read(self) -> dict[str, dict[str, int]]:
        path = self.directory / FILE
        try:
            if path.exists() and not path.is_file():
                raise StateError(f"{path} is not a regular file")
            with open(path, "rb") as handle:
                data = handle.read(_MAX_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise StateError(f"cannot read {path}: {err.strerror or err}") from err
        try:
            if len(data) > _MAX_BYTES:
                raise ValueError("too large")
            loaded = json.loads(data, object_pairs_hook=_unique)
            if not isinstance(loaded, dict):
                raise ValueError("not an object")
            for root, held in loaded.items():
                if not isinstance(root, str) or not isinstance(held, dict):
                    raise ValueError("not a map of roots")
                for kind, value in held.items():
                    if kind not in KINDS or type(value) is not int or not 0 <= value < 2**63:
                        raise ValueError(f"bad entry {kind!r}")
        except (ValueError, RecursionError) as err:
            raise StateError(
                f"{path} is damaged ({str(err)[:80] or type(err).__name__}); it records the "
                "newest trust data this verifier has seen: restore it from a backup, or delete "
                "it knowingly to start afresh"
            ) from None
        return loaded

    def sequences(self, root: str) -> dict[str, int]:
        """The highest sequences accepted under the root with kid ``root`` (hex)."""
        with self._locked():
            return dict(self._read().get(root, {}))

    def advance(self, root: str, offered: dict[str, int]) -> None:
        """Record the sequences ``offered`` ({kind: sequence}) under ``root``, atomically: if
        any is lower than the one on record, raise :class:`OlderThanHeld` and write nothing."""
        with self._locked():
            state = self._read()
            held = state.setdefault(root, {})
            for kind, sequence in offered.items():
                if kind not in KINDS:
                    raise ValueError(f"unknown list kind {kind!r}")
                if sequence < held.get(kind, -1):
                    raise OlderThanHeld(kind, sequence, held[kind])
            if all(held.get(kind) == sequence for kind, sequence in offered.items()):
                return
            held.update(offered)
            self._write(state)

    def _write(self, state: dict[str, dict[str, int]]) -> None:
        data = json.dumps(state, indent=1, sort_keys=True).encode()
        try:
            fd, temporary = tempfile.mkstemp(prefix=".sequences.", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.directory / FILE)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)  # the rename itself survives a power cut
            finally:
                os.close(directory)
        except OSError as err:
            raise StateError(f"cannot write {self.directory / FILE}: "
                             f"{err.strerror or err}") from err


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a member is repeated")
    return dict(pairs)


def default_state_directory() -> Path:
    """Where the CLI keeps its state by default: ``$CARDLIB_STATE_DIR``, else
    ``$XDG_STATE_HOME/cardlib``, else ``~/.local/state/cardlib`` (per user)."""
    explicit = os.environ.get("CARDLIB_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cardlib"
