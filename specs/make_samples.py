"""Regenerate the committed sample cards in specs/examples/: card-front.png and card-back.png (the
example record), card-back-photo.png (the same record with a photo signed in its payload, the
QR code that carries it above the MRZ).

Run: .venv/bin/python specs/make_samples.py (needs OCR-B: apt-get install fonts-ocr-b). The
images are golden files: tests compare a fresh rendering (fixed key, fixed time, pinned fonts and
layout engine, a synthetic portrait from a fixed seed) with them pixel for pixel.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cardlib.render import mrz_face  # noqa: E402
from tests._cards import example_card  # noqa: E402
from tests._photo_card import example_photo_card  # noqa: E402


def main() -> None:
    if not mrz_face().ocr_b:
        sys.exit("make_samples: OCR-B is not installed (apt-get install fonts-ocr-b); the "
                 "samples print the MRZ in it")
    _, card = example_card()
    photo_back = example_photo_card()[2].back
    out = ROOT / "specs" / "examples"
    written = {"card-front.png": card.front, "card-back.png": card.back,
               "card-back-photo.png": photo_back}
    for name, image in written.items():
        image.save(out / name, optimize=True)
    print("wrote " + ", ".join(str(out / name) for name in written))


if __name__ == "__main__":
    main()
