"""The offline bundle: one file, both parts checked against the pinned root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import cardlib
from cardlib._errors import BundleError, TrustListRollbackError, TrustListSignatureError
from cardlib.bundle._bundle import export_bundle, load_bundle
from cardlib.revocation._revocation import Reason, RevocationEntry, publish_revocation_list
from cardlib.trust._certs import certify_centre, create_root
from cardlib.trust._signer import CertifiedSigner
from cardlib.trust._trustlist import publish_trust_list

from .conftest import ISSUED

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _setup(sequence: int = 1) -> tuple[bytes, bytes, CertifiedSigner, cardlib.PrivateKey]:
    root_key = cardlib.PrivateKey.generate("EdDSA")
    root = create_root("Root", root_key, now=T0, days=3650)
    centre = cardlib.PrivateKey.generate("ES256")
    cert = certify_centre(root_key, root, centre.public_key, centre_code="TRP-01",
                          not_before=T0, not_after=T0 + timedelta(days=900))
    trust = publish_trust_list(root_key, root, [cert], sequence=sequence, issued=T0,
                               next_update=T0 + timedelta(days=60))
    revoked = publish_revocation_list(
        root_key, root, [RevocationEntry("LY0009999", Reason.LOST, T0 + timedelta(days=3))],
        sequence=sequence, issued=T0 + timedelta(days=5), next_update=T0 + timedelta(days=30))
    bundle = export_bundle(trust, revoked, root_der=root)
    return root, bundle, CertifiedSigner(centre, cert), root_key


def test_bundle_round_trip_and_status(record: cardlib.HolderRecord) -> None:
    root, data, signer, _ = _setup()
    now = T0 + timedelta(days=20)
    bundle = load_bundle(data, root, now=now)
    card = cardlib.verify(cardlib.issue(record, signer, now=ISSUED), bundle.trust_store, now=now)
    status = bundle.status(card, now=now)
    assert status is not None and status.state == "valid" and not status.stale
    later = T0 + timedelta(days=40)
    assert bundle.status(card, now=later).state == "unknown"  # type: ignore[union-attr]


def test_bundle_parts_are_checked_against_the_pinned_root() -> None:
    root, data, _, _ = _setup()
    other_root, _, _, _ = _setup()
    with pytest.raises(TrustListSignatureError):
        load_bundle(data, other_root, now=T0)
    tampered = bytearray(data)
    tampered[len(tampered) // 3] ^= 1
    with pytest.raises(cardlib.CardError):
        load_bundle(bytes(tampered), root, now=T0)
    for junk in (b"", b"\xa1\x01\x02", b"\x80" * 10, b"\xa4\x01ncardlib-bundle\x02\x02\x03@\x04@"):
        with pytest.raises(cardlib.CardError):
            load_bundle(junk, root, now=T0)
    with pytest.raises(BundleError):
        export_bundle("not bytes", b"", root_der=root)  # type: ignore[arg-type]


def test_an_older_bundle_is_refused() -> None:
    root_key = cardlib.PrivateKey.generate("EdDSA")
    root = create_root("Root", root_key, now=T0, days=3650)

    def make(sequence: int) -> bytes:
        trust = publish_trust_list(root_key, root, [], sequence=sequence, issued=T0,
                                   next_update=T0 + timedelta(days=60))
        revoked = publish_revocation_list(root_key, root, [], sequence=sequence, issued=T0,
                                          next_update=T0 + timedelta(days=30))
        return export_bundle(trust, revoked, root_der=root)

    newer = load_bundle(make(5), root, now=T0)
    with pytest.raises(TrustListRollbackError):
        load_bundle(make(4), root, now=T0, previous=newer)
