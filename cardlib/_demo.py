"""The demo trust chain, for ``cardlib demo`` and the verification service's embedded defaults:
a national root and one centre (TRP-01), a trust list, a revocation list, the offline bundle and
the example record issued by the centre. An edge helper: it writes files (keys owner-only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from ._errors import CardNotFoundError
from ._files import write_all
from ._pipeline import issue
from .bundle import export_bundle
from .keys import PrivateKey
from .profile import HolderRecord, record_from_json
from .revocation import Reason, RevocationEntry, publish_revocation_list
from .trust import (
    CertifiedSigner,
    certificate_der,
    certificate_pem,
    certify_centre,
    create_root,
    publish_trust_list,
)

#: The demo's revoked document number (a card to try "revoked" with).
REVOKED_DOCUMENT = "LY0009999"
FILES = ("root.pem", "root-private.pem", "centre.pem", "centre-private.pem", "trust-list.cose",
         "revocation-list.cose", "bundle.cbor", "payload.txt")


@dataclass(frozen=True)
class Demo:
    """The demo chain as written in ``directory``."""

    directory: Path
    record: HolderRecord
    root: bytes  # DER
    signer: CertifiedSigner
    root_key: PrivateKey
    trust_list: bytes
    revocations: bytes
    bundle: bytes
    payload: str
    now: datetime

    @property
    def public_files(self) -> list[Path]:
        return [self.directory / name for name in FILES if "private" not in name]


def example_record() -> HolderRecord:
    text = resources.files("cardlib").joinpath("_data/holder.json").read_text("utf-8")
    return record_from_json(json.loads(text))


def open_demo(out: Path) -> Demo | None:
    """The demo chain already in ``out`` as it was written (no new lists), or None when there
    is none (or only part of one)."""
    files = {name: out / name for name in FILES}
    if not all(path.exists() for path in files.values()):
        return None
    root = certificate_der(files["root.pem"].read_bytes())
    signer = CertifiedSigner(PrivateKey.from_pem(files["centre-private.pem"].read_bytes()),
                             certificate_der(files["centre.pem"].read_bytes()))
    from .revocation import load_revocation_list

    revocations = files["revocation-list.cose"].read_bytes()
    issued = load_revocation_list(revocations, root, now=datetime.now(UTC)).issued
    return Demo(out, example_record(), root, signer,
                PrivateKey.from_pem(files["root-private.pem"].read_bytes()),
                files["trust-list.cose"].read_bytes(), revocations,
                files["bundle.cbor"].read_bytes(),
                files["payload.txt"].read_text("ascii").strip(), issued)


def make_demo(out: Path, now: datetime) -> Demo:
    """Create the chain in ``out`` (or reuse its root and centre keys), publish fresh lists at
    ``now`` and issue the example card. Raises OSError when ``out`` cannot be written."""
    record = example_record()
    files = {name: out / name for name in FILES}
    out.mkdir(parents=True, exist_ok=True)
    if files["root.pem"].exists() and files["centre.pem"].exists():
        root_key = PrivateKey.from_pem(files["root-private.pem"].read_bytes())
        root = certificate_der(files["root.pem"].read_bytes())
        centre_key = PrivateKey.from_pem(files["centre-private.pem"].read_bytes())
        cert = certificate_der(files["centre.pem"].read_bytes())
    else:  # a fresh demo chain (owner-only, unencrypted: demo keys only)
        root_key, centre_key = PrivateKey.generate("EdDSA"), PrivateKey.generate("EdDSA")
        root = create_root("cardlib demo root", root_key, now=now, days=3650)
        cert = certify_centre(root_key, root, centre_key.public_key, centre_code="TRP-01",
                              not_before=now, not_after=now + timedelta(days=1826))
        write_all({files["root-private.pem"]: root_key.to_pem(),
                   files["centre-private.pem"]: centre_key.to_pem()}, mode=0o600)
        write_all({files["root.pem"]: certificate_pem(root),
                   files["centre.pem"]: certificate_pem(cert)})
    # Each run publishes newer lists (the sequence is the time), so they are never rollbacks.
    sequence = int(now.timestamp())
    trust_list = publish_trust_list(root_key, root, [cert], sequence=sequence, issued=now,
                                    next_update=now + timedelta(days=90))
    revocations = publish_revocation_list(
        root_key, root, [RevocationEntry(REVOKED_DOCUMENT, Reason.LOST, now)],
        sequence=sequence, issued=now, next_update=now + timedelta(days=7))
    bundle = export_bundle(trust_list, revocations, root_der=root)
    signer = CertifiedSigner(centre_key, cert)
    payload = issue(record, signer, now=now)
    write_all({files["trust-list.cose"]: trust_list, files["revocation-list.cose"]: revocations,
               files["bundle.cbor"]: bundle,
               files["payload.txt"]: (payload + "\n").encode("ascii")})
    return Demo(out, record, root, signer, root_key, trust_list, revocations, bundle, payload,
                now)


def demo_registry(demo: Demo) -> tuple[Path, str]:
    """The demo's issuance registry (``registry.db`` beside the chain, created once, holding
    the example card) and its holder's personal access code, kept in ``access-code.txt``
    (owner-only: a demo convenience; a real code is shown once and only its hash is kept)."""
    from ._batch import registry_card
    from .store import generate_access_code, open_registry

    path, code_file = demo.directory / "registry.db", demo.directory / "access-code.txt"
    if path.exists() and code_file.exists():
        return path, code_file.read_text("ascii").strip()
    with open_registry(path, create=True) as registry:
        try:
            registry.get(demo.record.document_number)
        except CardNotFoundError:
            code = generate_access_code()
            registry.record_issue(registry_card(demo.record, demo.signer, demo.payload,
                                                demo.now), access_code=code)
        else:  # the card is there, its code file is not: a new code
            code = registry.new_access_code(demo.record.identifier,
                                            centre_code=demo.record.centre_code, now=demo.now)
    write_all({code_file: (code + "\n").encode("ascii")}, mode=0o600)
    return path, code
