"""A bounded mixed load on two replicas while revocations arrive through one of them.

Two `python -m verifier_service serve` processes share one store (the data directory; on
several hosts it would be PostgreSQL). For ``LOAD_SECONDS`` (60 in CI, shorter with
``CARDLIB_LOAD_SECONDS``) 64 concurrent clients mix single verifications, batches and card
images across both replicas, while an admin revokes cards through the second. Then: no 5xx
ever; every revoked card is refused as revoked by both replicas; every access event a replica
answered for is stored exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import random
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest

import cardlib
from cardlib._demo import example_record, make_demo
from verifier_service._access import DEFAULT_ROLES, AccessStore

from ._service_fixtures import serve

LOAD_SECONDS = float(os.environ.get("CARDLIB_LOAD_SECONDS", "60"))
CLIENTS = 64
CARDS = 40  # distinct holders' cards; half of them are revoked during the run


def _replica(data_dir: Path, chain: Path, *, signing: bool) -> tuple[subprocess.Popen[str], int]:
    env = {"VERIFIER_DATA_DIR": str(data_dir), "VERIFIER_ROOT": str(chain / "root.pem"),
           "VERIFIER_BUNDLE": str(chain / "bundle.cbor"), "VERIFIER_RATE_PER_KEY": "0",
           "VERIFIER_RATE_PER_ADDRESS": "0", "VERIFIER_REFRESH_SECONDS": "0.5"}
    if signing:
        env["VERIFIER_ROOT_KEY"] = str(chain / "root-private.pem")
    return serve(env)


@dataclasses.dataclass
class Tally:
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    looks: int = 0  # verifications answered with a verdict (each records one access event)
    errors: list[str] = dataclasses.field(default_factory=list)


def test_mixed_load_on_two_replicas_with_revocations(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    chain = tmp_path / "chain"
    demo = make_demo(chain, now)
    signer = demo.signer
    numbers = [f"LR{n:07d}" for n in range(CARDS)]
    cards = [cardlib.issue(dataclasses.replace(example_record(), document_number=n), signer,
                           now=now) for n in numbers]
    image = _card_back_png(cards[0])
    data_dir = tmp_path / "shared"
    store = AccessStore(data_dir / "access.db", DEFAULT_ROLES)
    _, clerk = store.create_key("Load clerk", "verifier", now=now)
    _, admin = store.create_key("Load admin", "admin", now=now)
    store.close()
    started = [_replica(data_dir, chain, signing=False), _replica(data_dir, chain, signing=True)]
    replicas, ports = [process for process, _ in started], [port for _, port in started]
    try:
        tally, revoked = asyncio.run(_run(ports, cards, numbers, image, clerk, admin))
        time.sleep(1.5)  # three refresh periods: every replica holds the newest list
        for port in ports:
            for number, card in zip(numbers, cards, strict=True):
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/verify", data=card.encode(),
                    headers={"Content-Type": "text/plain", "X-API-Key": clerk})
                status = _status_of(request)
                tally.looks += 1
                assert status == ("revoked" if number in revoked else "valid"), (port, number)
    finally:
        for replica in replicas:
            replica.terminate()
        for replica in replicas:
            replica.wait(timeout=60)
    assert not tally.errors, tally.errors[:5]
    assert not [code for code in tally.statuses if code >= 500], tally.statuses
    assert len(revoked) >= CARDS // 2
    events = AccessStore(data_dir / "access.db", DEFAULT_ROLES).events()
    ids = [event.event_id for event in events]
    assert len(ids) == len(set(ids)) == tally.looks  # each look stored exactly once


def _status_of(request: urllib.request.Request) -> str:
    import json

    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return str(json.load(answer)["status"])
    except urllib.error.HTTPError as err:
        return str(json.load(err)["status"])


def _card_back_png(payload: str) -> bytes:
    from cardlib import cards

    images = cards.render_card(example_record(), payload, cards.default_layout())
    out = io.BytesIO()
    images.back.save(out, "PNG")
    return out.getvalue()


async def _run(ports: list[int], cards: list[str], numbers: list[str], image: bytes,
               clerk: str, admin: str) -> tuple[Tally, set[str]]:
    tally = Tally()
    revoked: set[str] = set()
    deadline = time.monotonic() + LOAD_SECONDS
    limits = httpx.Limits(max_connections=CLIENTS + 4, max_keepalive_connections=CLIENTS + 4)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def worker(seed: int) -> None:
            rnd = random.Random(seed)
            while time.monotonic() < deadline:
                base = f"http://127.0.0.1:{rnd.choice(ports)}"
                headers = {"X-API-Key": clerk, "X-Purpose": "load test"}
                kind = rnd.random()
                try:
                    if kind < 0.80:
                        answer = await client.post(f"{base}/v1/verify", headers=headers,
                                                   json={"payload": rnd.choice(cards)})
                        looks = 1 if answer.status_code in (200, 422) else 0
                    elif kind < 0.98:
                        batch = [rnd.choice(cards) for _ in range(rnd.randint(2, 20))]
                        answer = await client.post(f"{base}/v1/verify/batch", headers=headers,
                                                   json={"payloads": batch})
                        looks = len(batch) if answer.status_code == 200 else 0
                    else:
                        answer = await client.post(f"{base}/v1/verify/image", content=image,
                                                   headers={**headers,
                                                            "Content-Type": "image/png"})
                        looks = 1 if answer.status_code in (200, 422) else 0
                except httpx.HTTPError as err:
                    tally.errors.append(f"{type(err).__name__}: {err}")
                    continue
                tally.statuses[answer.status_code] += 1
                tally.looks += looks

        async def revoker() -> None:
            half = numbers[: len(numbers) // 2]
            pause = LOAD_SECONDS * 0.8 / len(half)
            for number in half:
                await asyncio.sleep(pause)
                answer = await client.post(
                    f"http://127.0.0.1:{ports[1]}/v1/admin/revocations",
                    headers={"X-API-Key": admin},
                    json={"document_number": number, "reason": "stolen"})
                tally.statuses[answer.status_code] += 1
                if answer.status_code == 201:
                    revoked.add(number)
                else:
                    tally.errors.append(f"revocation {number}: {answer.status_code}")

        await asyncio.gather(revoker(), *(worker(n) for n in range(CLIENTS)))
    return tally, revoked


@pytest.fixture(autouse=True)
def _bounded() -> None:
    assert 1 <= LOAD_SECONDS <= 120, "CARDLIB_LOAD_SECONDS is 1-120"
