"""Issue 13's measurement: scan a seeded corpus of simulated phone photos, print the rates.

    .venv/bin/python -m benchmarks.photo_rates --count 300 --seed 1

Builds the corpus cards (``tests/_photos.py``: genuine and altered cards, one fixed key),
generates ``--count`` photos, scans each with ``Verifier.check_image`` (trusting the corpus key,
no revocation data required, so ``valid`` means signature and print), and prints the rates as
Markdown tables, then the time per photo (generation and scan, median and p95). ``--save DIR``
writes every photo the scanner did not get right as a JPEG named after its seed and outcome.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cardlib
from cardlib.barcodes import read_barcodes
from tests._photos import CHECKED, Photo, corpus, corpus_cards, evaluate, score, verifier


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.photo_rates",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="photos (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--cards", type=int, default=20,
                        help="genuine cards, and as many altered ones (default 20)")
    parser.add_argument("--save", type=Path, default=None,
                        help="write the photos the scanner got wrong here")
    args = parser.parse_args(argv)
    if args.count < 1 or args.cards < 2:
        parser.error("--count must be at least 1 and --cards at least 2")

    started = time.perf_counter()
    cards = corpus_cards(args.cards)
    print(f"{len(cards)} cards rendered in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    check = verifier()
    results: list[tuple[Photo, cardlib.VerificationResult | cardlib.CardError]] = []
    made: list[float] = []
    scans: list[float] = []
    front_only = front_decoded = 0
    photos = corpus(args.seed, args.count, cards=cards)
    for index in range(args.count):
        started = time.perf_counter()
        photo = next(photos)
        made.append(time.perf_counter() - started)
        started = time.perf_counter()
        outcome: cardlib.VerificationResult | cardlib.CardError
        try:
            outcome = check.check_image(photo.image, now=CHECKED)
        except cardlib.CardError as err:
            outcome = err
        scans.append(time.perf_counter() - started)
        results.append((photo, outcome))
        if photo.layout == "front":  # nothing to compare without the QR: is it decodable?
            front_only += 1
            found = read_barcodes(photo.image, formats=frozenset({"code128"}))
            front_decoded += any(d.text == photo.code128 for d in found)
        if args.save is not None:
            scored = score(photo, outcome)
            wrong = (scored.false_alarm or scored.missed or scored.unread
                     or (not photo.altered and photo.layout != "front" and not scored.verified))
            if wrong:
                args.save.mkdir(parents=True, exist_ok=True)
                photo.image.save(args.save / f"{index:04d}-{photo.seed}-{scored.outcome}.jpg",
                                 quality=92)
        if (index + 1) % 50 == 0:
            print(f"{index + 1} photos", file=sys.stderr)

    rates = evaluate(results)
    print(f"## Photo corpus: seed {args.seed}, {args.count} photos, "
          f"{args.cards} genuine + {args.cards} altered cards\n")
    print(rates.table())
    print(f"\nFront-only photos whose Code128 zxing decodes (not compared: no QR in view): "
          f"{front_decoded}/{front_only}")
    sizes = [photo.image.width * photo.image.height / 1e6 for photo, _ in results]
    print(f"\nPhoto size: median {statistics.median(sizes):.1f} MP, max {max(sizes):.1f} MP")
    for name, values in (("generate", made), ("check_image", scans)):
        print(f"{name}: median {1000 * statistics.median(values):.0f} ms, "
              f"p95 {1000 * _percentile(values, 0.95):.0f} ms per photo")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
