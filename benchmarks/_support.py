"""Helpers shared by the benchmark modules: typed fixture view, the session record, the card.

A stage benchmark requests ``bench`` (a typed view of pytest-benchmark's ``benchmark`` fixture)
inside a class marked ``@pytest.mark.benchmark(group=...)``. Its median is recorded in this
session's :class:`Run` under its stage key ``"<group>/<test name>"``, for example
``"end-to-end/test_verify_cardlib[EdDSA]"``, where ``test_bench_targets.py`` reads it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

import pytest

import cardlib
from cardlib.codec import _base45, _cose, _zlib

P = ParamSpec("P")
T = TypeVar("T")

EXAMPLE = Path(__file__).resolve().parent.parent / "specs" / "examples" / "holder.json"
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ALGORITHMS = ("EdDSA", "ES256")
TARGETS_MARKER = "bench_targets"


class Bench(Protocol):
    """The part of pytest-benchmark's fixture the stages use, typed for mypy."""

    def __call__(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...


@dataclass
class Run:
    """What this pytest session collected and measured (kept in ``config.stash``)."""

    disabled: bool  # nothing is measured (--benchmark-disable or --benchmark-skip in effect)
    collected: set[str] = field(default_factory=set)  # stage keys collected, before -k / -m
    selected: set[str] = field(default_factory=set)  # stage keys left to run
    medians: dict[str, float] = field(default_factory=dict)  # stage key -> median, seconds
    summary: list[str] = field(default_factory=list)  # lines for the terminal summary


RUN = pytest.StashKey[Run]()


def run_of(config: pytest.Config) -> Run:
    return config.stash[RUN]


def stage_key(item: pytest.Item) -> str | None:
    """``"<group>/<test name>"`` for a stage benchmark, ``None`` for any other test."""
    if not isinstance(item, pytest.Function) or "bench" not in item.fixturenames:
        return None
    marker = item.get_closest_marker("benchmark")
    group = marker.kwargs.get("group") if marker is not None else None
    if not isinstance(group, str):
        raise pytest.UsageError(
            f"{item.nodeid} uses `bench` but has no @pytest.mark.benchmark(group=...)"
        )
    return f"{group}/{item.name}"


@dataclass(frozen=True, slots=True)
class Card:
    """The example payload issued with one key, and every layer the verifier sees in it."""

    key: cardlib.PrivateKey
    payload: str  # Base45 text (the QR content)
    compressed: bytes  # zlib stream
    cose: bytes  # COSE_Sign1 (tag 18)
    cwt: bytes  # the CWT claims map: the COSE payload
    sig_structure: bytes  # the bytes signed
    signature: bytes  # 64 raw bytes

    @property
    def public_key(self) -> cardlib.PublicKey:
        return self.key.public_key


def issue_card(record: cardlib.HolderRecord, key: cardlib.PrivateKey, now: datetime) -> Card:
    """Issue ``record`` with ``key`` and peel the payload into its layers."""
    limits = cardlib.DEFAULT_LIMITS
    payload = cardlib.issue(record, key, now=now)
    compressed = _base45.b45decode(payload)
    cose = _zlib.decompress(compressed, limits.max_decompressed_bytes)
    message = _cose.decode(cose, limits)
    return Card(
        key,
        payload,
        compressed,
        cose,
        message.payload,
        _cose.sig_structure(message.protected, message.payload),
        message.signature,
    )


def portrait_jpeg() -> bytes:
    """A textured 600 × 768 portrait-like JPEG (a face's worth of detail costs real bytes)."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    picture = Image.merge("RGB", [Image.effect_noise((600, 768), sigma).point(
        lambda v, shift=shift: min(255, v // 2 + shift)) for sigma, shift in
        ((30, 80), (40, 100), (50, 60))])
    draw = ImageDraw.Draw(picture)
    draw.ellipse((180, 150, 420, 560), fill=(210, 165, 135))  # face
    draw.ellipse((40, 600, 560, 1000), fill=(45, 55, 95))  # shoulders
    out = BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


Timed = dict[str, Callable[[], object]]


def interleaved(calls: Timed, *, runs: int = 3, rounds: int = 21, batch: int = 100
                ) -> dict[str, list[float]]:
    """Per call, its median time (seconds per call) in each of ``runs`` runs.

    In every round each call runs ``batch`` times back to back, the calls taking turns in a
    rotating order, so that a noisy neighbour on this shared machine slows them alike; one
    call at a time, on one thread. Only ratios of medians from the same run are compared.
    """
    import statistics
    from time import perf_counter

    names = list(calls)
    for name in names:  # warm caches and allocators outside the timing
        for _ in range(batch):
            calls[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):
        samples: dict[str, list[float]] = {name: [] for name in names}
        for turn in range(rounds):
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                call = calls[name]
                start = perf_counter()
                for _ in range(batch):
                    call()
                samples[name].append((perf_counter() - start) / batch)
        for name in names:
            out[name].append(statistics.median(samples[name]))
    return out


def rss_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm)."""
    import os

    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
