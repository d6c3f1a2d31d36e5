"""One way to take an exclusive file lock with a bounded wait (the audit log, verifier state)."""

from __future__ import annotations

import fcntl
import time


def flock_exclusive(fd: int, timeout: float | None) -> None:
    """Take the exclusive ``flock`` on ``fd``: wait for it (``timeout`` None), or poll it for
    ``timeout`` seconds and raise :class:`BlockingIOError` if another holder keeps it."""
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.002)
