"""What the service holds while it runs: the verifier and the signed documents it serves.

Built once from the settings at start-up. On the embedded defaults (no root configured) the demo
chain of ``cardlib demo`` is created in the data directory, with a card to try; its root key
lets the demo service sign revocation lists itself (admin revoke).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cardlib import KeyFileError, PrivateKey, SymmetricKey, Verifier
from cardlib._demo import Demo, demo_registry, make_demo, open_demo
from cardlib.bundle import read_bundle
from cardlib.trust import certificate_der

from ._documents import Documents
from ._settings import Settings


@dataclass(frozen=True)
class Runtime:
    verifier: Verifier
    documents: Documents
    demo: Demo | None
    registry: str | None = None  # the embedded demo's issuance registry (for /me)
    access_code: str | None = None  # the demo card holder's access code

    def close(self) -> None:
        self.documents.close()


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


def _symmetric_key(path: Path) -> SymmetricKey:
    """A decryption key file (VERIFIER_DECRYPTION_KEYS); a bad one names its file."""
    try:
        return SymmetricKey.load(path.read_bytes())
    except KeyFileError as err:
        raise KeyFileError(f"{path}: {err.message}") from err


def load_runtime(settings: Settings) -> Runtime:
    """The verifier on the configured trust data (or a fresh demo chain), with the documents
    stored by earlier runs and other processes loaded on top."""
    state = settings.data_dir / "state"
    state.mkdir(parents=True, exist_ok=True)
    demo: Demo | None = None
    root_key: PrivateKey | None
    trust_list: bytes | None
    revocations: bytes | None
    if settings.demo:
        # The chain of an earlier start is kept as it is (lists published since live in the
        # store and would be lost to fresh ones); stale lists are renewed below.
        demo = open_demo(settings.data_dir / "demo") or make_demo(
            settings.data_dir / "demo", datetime.now(UTC).replace(microsecond=0))
        root, root_key = demo.root, demo.root_key
        trust_list, revocations = demo.trust_list, demo.revocations
    else:
        root = certificate_der(_read(settings.root) or b"")
        key_file = _read(settings.root_key)
        root_key = None if key_file is None else PrivateKey.from_pem(key_file)
        trust_list, revocations = _read(settings.trust_list), _read(settings.revocation_list)
        bundle = _read(settings.bundle)
        if bundle is not None:
            in_bundle = read_bundle(bundle)
            trust_list = trust_list or in_bundle[0]
            revocations = revocations or in_bundle[1]
    secrets = [_symmetric_key(path) for path in settings.decryption_keys]
    # the lists come from the store, newest first
    verifier = Verifier(root=root, state=state, decryption_keys=secrets)
    documents = Documents(settings.data_dir / "documents.db", verifier, root, root_key,
                          url=settings.database_url)
    documents.start(trust_list, revocations)
    documents.renew(datetime.now(UTC))
    if demo is None:
        return Runtime(verifier, documents, demo)
    registry, code = demo_registry(demo)
    return Runtime(verifier, documents, demo, str(registry), code)
