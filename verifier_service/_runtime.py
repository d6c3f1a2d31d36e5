"""What the service holds while it runs: the verifier and the signed documents it serves.

Built once from the settings at start-up (the only file reads of the service). On the embedded
defaults (no root configured) the demo chain of ``cardlib demo`` is created in the data
directory, with a card to try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cardlib import Verifier
from cardlib._demo import Demo, make_demo
from cardlib.bundle import read_bundle

from ._settings import Settings


@dataclass(frozen=True)
class Runtime:
    verifier: Verifier
    trust_list: bytes | None
    revocations: bytes | None
    bundle: bytes | None
    demo: Demo | None


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


def load_runtime(settings: Settings) -> Runtime:
    """The verifier on the configured trust data, or on a fresh demo chain."""
    state = settings.data_dir / "state"
    state.mkdir(parents=True, exist_ok=True)
    if settings.demo:
        now = datetime.now(UTC).replace(microsecond=0)
        demo = make_demo(settings.data_dir / "demo", now)
        verifier = Verifier(root=demo.root, bundle=demo.bundle, state=state, now=now)
        return Runtime(verifier, demo.trust_list, demo.revocations, demo.bundle, demo)
    trust_list, revocations = _read(settings.trust_list), _read(settings.revocation_list)
    bundle = _read(settings.bundle)
    verifier = Verifier(root=_read(settings.root), trust_list=trust_list,
                        revocation_list=revocations, bundle=bundle, state=state)
    if bundle is not None:
        in_bundle = read_bundle(bundle)
        trust_list = trust_list or in_bundle[0]
        revocations = revocations or in_bundle[1]
    return Runtime(verifier, trust_list, revocations, bundle, None)
