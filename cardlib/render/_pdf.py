"""Print-ready PDF: one card at its exact size, and A4 sheets of cards with crop marks.

A small, deterministic PDF 1.4 writer (no timestamps, no external tools): each card side is an
image XObject (lossless, Flate) placed at exactly 85.60 × 53.98 mm; crop marks are vector lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from PIL import Image

from ..codec._zlib import compress
from ._card import CardImages

MM = 72 / 25.4  # PDF points per millimetre
CARD_W, CARD_H = 85.60 * MM, 53.98 * MM
A4_W, A4_H = 210 * MM, 297 * MM
COLUMNS, ROWS, GAP = 2, 4, 8 * MM
MARK, MARK_GAP = 4 * MM, 1.5 * MM
SHEET = COLUMNS * ROWS


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


class _Writer:
    def __init__(self) -> None:
        self.objects: list[bytes] = []

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def reserve(self) -> int:
        return self.add(b"")

    def set(self, ref: int, body: bytes) -> None:
        self.objects[ref - 1] = body

    def stream(self, head: str, data: bytes) -> int:
        packed = compress(data)
        return self.add(f"<< {head} /Filter /FlateDecode /Length {len(packed)} >>\nstream\n"
                        .encode() + packed + b"\nendstream")

    def image(self, image: Image.Image) -> int:
        rgb = image.convert("RGB")
        return self.stream(f"/Type /XObject /Subtype /Image /Width {rgb.width} "
                           f"/Height {rgb.height} /ColorSpace /DeviceRGB /BitsPerComponent 8",
                           rgb.tobytes())

    def finish(self, pages: list[int], pages_ref: int) -> bytes:
        kids = " ".join(f"{p} 0 R" for p in pages)
        self.set(pages_ref, f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
        catalog = self.add(f"<< /Type /Catalog /Pages {pages_ref} 0 R >>".encode())
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(self.objects) + 1}\n0000000000 65535 f \n".encode()
        out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
        out += (f"trailer\n<< /Size {len(self.objects) + 1} /Root {catalog} 0 R >>\n"
                f"startxref\n{xref}\n%%EOF\n").encode()
        return bytes(out)

    def page(self, pages_ref: int, size: tuple[float, float], images: dict[str, int],
             content: str) -> int:
        stream = self.stream("", content.encode())
        xobjects = " ".join(f"/{name} {ref} 0 R" for name, ref in images.items())
        return self.add(
            f"<< /Type /Page /Parent {pages_ref} 0 R /MediaBox [0 0 {_num(size[0])} "
            f"{_num(size[1])}] /Resources << /XObject << {xobjects} >> >> "
            f"/Contents {stream} 0 R >>".encode())


def _place(name: str, x: float, y: float) -> str:
    return f"q {_num(CARD_W)} 0 0 {_num(CARD_H)} {_num(x)} {_num(y)} cm /{name} Do Q\n"


def card_pdf(card: CardImages) -> bytes:
    """Two pages (front, back), each exactly 85.60 × 53.98 mm."""
    writer = _Writer()
    pages_ref = writer.reserve()
    pages = []
    for name, side in (("Front", card.front), ("Back", card.back)):
        ref = writer.image(side)
        pages.append(writer.page(pages_ref, (CARD_W, CARD_H), {name: ref}, _place(name, 0, 0)))
    return writer.finish(pages, pages_ref)


def _slots() -> list[tuple[float, float]]:
    grid_w = COLUMNS * CARD_W + (COLUMNS - 1) * GAP
    grid_h = ROWS * CARD_H + (ROWS - 1) * GAP
    left, bottom = (A4_W - grid_w) / 2, (A4_H - grid_h) / 2
    return [(left + c * (CARD_W + GAP), bottom + (ROWS - 1 - r) * (CARD_H + GAP))
            for r in range(ROWS) for c in range(COLUMNS)]


def _crop_marks(x: float, y: float) -> str:
    lines = []
    for cx in (x, x + CARD_W):
        for cy, direction in ((y, -1), (y + CARD_H, 1)):
            y0 = cy + direction * MARK_GAP
            lines.append(f"{_num(cx)} {_num(y0)} m {_num(cx)} {_num(y0 + direction * MARK)} l")
    for cy in (y, y + CARD_H):
        for cx, direction in ((x, -1), (x + CARD_W, 1)):
            x0 = cx + direction * MARK_GAP
            lines.append(f"{_num(x0)} {_num(cy)} m {_num(x0 + direction * MARK)} {_num(cy)} l")
    return "0.25 w 0 G\n" + "\n".join(lines) + " S\n"


def sheet_pdf(cards: Iterable[CardImages], *, max_cards: int = 2000) -> bytes:
    """A4 pages of up to 8 cards (2 × 4) with crop marks: for each sheet a page of fronts, then a
    page of backs mirrored left-right so that duplex printing lines them up.

    ``cards`` may be a lazy iterable: each card's images are compressed as soon as they are read
    and not kept, so memory grows with the compressed size only.
    """
    writer = _Writer()
    pages_ref = writer.reserve()
    pages: list[int] = []
    slots = _slots()
    source = iter(cards)
    count = 0
    while batch := list(islice(source, SHEET)):
        count += len(batch)
        if count > max_cards:
            raise ValueError(f"at most {max_cards} cards per sheet file")
        refs = [(writer.image(card.front), writer.image(card.back)) for card in batch]
        del batch
        for side in (0, 1):
            images, content = {}, []
            for index, pair in enumerate(refs):
                column, row = index % COLUMNS, index // COLUMNS
                if side == 1:
                    column = COLUMNS - 1 - column
                x, y = slots[row * COLUMNS + column]
                name = f"C{index}"
                images[name] = pair[side]
                content.append(_place(name, x, y) + _crop_marks(x, y))
            pages.append(writer.page(pages_ref, (A4_W, A4_H), images, "".join(content)))
    if not pages:
        raise ValueError("a sheet needs at least one card")
    return writer.finish(pages, pages_ref)
