"""Regenerate the committed sample card (specs/examples/card-front.png, card-back.png).

Run: .venv/bin/python specs/make_samples.py. The images are golden files: tests compare a fresh
rendering (fixed key, fixed time, pinned fonts and layout engine) with them pixel for pixel.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._cards import example_card  # noqa: E402


def main() -> None:
    _, card = example_card()
    out = ROOT / "specs" / "examples"
    card.front.save(out / "card-front.png", optimize=True)
    card.back.save(out / "card-back.png", optimize=True)
    print(f"wrote {out / 'card-front.png'} and {out / 'card-back.png'}")


if __name__ == "__main__":
    main()
