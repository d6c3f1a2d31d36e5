"""Find a TD1 machine-readable zone in a photo without the QR code: three lines of 30 characters.

When the QR code of a card back is covered or damaged it cannot serve as the registration mark
of :mod:`._mrz_ocr`. The zone itself can: 90 characters of one size on three parallel, evenly
spaced lines is a shape little else on a card or a table has. This module finds it with Pillow
and plain Python, at any rotation and under the perspective of a hand-held photo:

1. **Ink.** A grayscale copy at most :data:`_WORK` px on its long side; a black-hat filter
   (the image's 5 x 5 closing minus the image: dark strokes thinner than 5 px) keeps ink on
   paper and drops shading, then a threshold at a fraction of its strongest values.
2. **Blobs.** Connected components, from the runs of each row joined to the runs they touch on
   the row above (union-find over runs, not pixels). A character is a blob of a plausible size.
3. **Lines.** Characters of one size whose centres follow each other at about one character
   pitch, in a straight line, form a text line (greedy chains along each blob's nearest
   neighbours). A zone is three lines of 20 to 30 characters, parallel, of one length, one and
   a half to two heights apart.
4. **Corners.** The centres of the first and last character of the first and last line are
   the four corners handed to the reader, in both reading directions (a line read backwards
   is a card upside down): the check digits decide which one holds.

The result is a list of candidate quadrilaterals, best first; the reader tries them in turn.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from PIL import Image, ImageChops

Point = tuple[float, float]

_WORK = 800  # px: the long side of the working copy
_HAT = 2  # px: the black-hat's closing is (2 * _HAT + 1) square: thinner strokes are ink
_INK = 0.35  # of the 99.5th percentile of the black-hat: the ink threshold
_MIN_INK = 24  # grey levels: the black-hat's ink threshold never goes below this
_MIN_HEIGHT, _MAX_HEIGHT = 6, 90  # px at working size: a character's height
_MAX_BLOBS = 6000  # more blobs than this: clutter, the zone is not looked for
_MIN_CHARS, _MAX_CHARS = 18, 34  # characters per line found (30 printed; some merge or break)
_MAX_RUNS = 400_000  # more ink runs than this: noise, not a card


@dataclass(frozen=True, slots=True)
class _Blob:
    x: float  # centre of the bounding box
    y: float
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ZoneQuad:
    """Four image points of a candidate zone: the centres of the first and last character
    cells of its first line, and of its last line (``first_start``, ``first_end``,
    ``last_start``, ``last_end``), in reading order."""

    first_start: Point
    first_end: Point
    last_start: Point
    last_end: Point


def find_zones(gray: Image.Image, *, limit: int = 3) -> list[ZoneQuad]:
    """Candidate TD1 zones in a grayscale image, best first: at most ``limit`` zones, each
    given in both reading directions (so up to ``2 * limit`` quadrilaterals)."""
    scale = min(1.0, _WORK / max(gray.size))
    small = gray if scale == 1.0 else gray.resize(
        (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))),
        Image.Resampling.BOX)
    hat = black_hat(small, _HAT)
    histogram = hat.histogram()
    total = sum(histogram)
    seen, strong = 0, 255
    for level in range(255, -1, -1):
        seen += histogram[level]
        if seen >= total * 0.005:
            strong = level
            break
    threshold = max(_MIN_INK, round(strong * _INK))
    mask = hat.point([0] * threshold + [255] * (256 - threshold))
    blobs = _blobs(mask)
    if not blobs or len(blobs) > _MAX_BLOBS:
        return []
    back = 1.0 / scale
    out: list[ZoneQuad] = []
    for lines in _zones(_lines(blobs))[:limit]:
        for reading in (lines, _turned(lines)):
            quad = _quad(reading)
            out.append(ZoneQuad(*((x * back, y * back) for x, y in (
                quad.first_start, quad.first_end, quad.last_start, quad.last_end))))
    return out


def _turned(lines: tuple[_Line, _Line, _Line]) -> tuple[_Line, _Line, _Line]:
    """The zone read upside down: the last line first, each line backwards."""
    return lines[2].backwards(), lines[1].backwards(), lines[0].backwards()


def _quad(lines: tuple[_Line, _Line, _Line]) -> ZoneQuad:
    """The centres of cells 1 and 30 of the first and last lines. A line starts with a letter
    or digit, which is found; its end may be fillers (``<``) that blur into one blob and are
    missed: an end that is not 29 pitches from the start is placed 29 pitches along."""

    def ends(line: _Line) -> tuple[Point, Point]:
        start, end = line.start, line.end
        span = math.dist(start, end)
        cells = round(span / line.pitch) if line.pitch > 0 else 0
        if len(line.members) > LAST_CELL or cells >= LAST_CELL or cells == 0:
            return start, end  # the whole line was found
        step = span / cells
        dx, dy = line.direction
        return start, (start[0] + dx * step * LAST_CELL, start[1] + dy * step * LAST_CELL)

    first, last = ends(lines[0]), ends(lines[2])
    return ZoneQuad(first[0], first[1], last[0], last[1])


LAST_CELL = 29  # the index of a TD1 line's last cell


def black_hat(image: Image.Image, radius: int) -> Image.Image:
    """How much darker each pixel is than the paper around it: the image's closing over a
    (2 * radius + 1) square minus the image. Strokes thinner than the square stand out; shading
    and shadows, wider than it, fall away."""
    closed = spread(spread(image, ImageChops.lighter, radius), ImageChops.darker, radius)
    return ImageChops.subtract(closed, image)


def spread(image: Image.Image, pick: Callable[[Image.Image, Image.Image], Image.Image],
           radius: int) -> Image.Image:
    """The lightest (``ImageChops.lighter``: a dilation) or darkest (``darker``: an erosion)
    pixel over a (2 * radius + 1) square around each pixel, as shifted copies, rows then
    columns (Pillow's rank filter is about ten times slower). Copies wrap around at the edges,
    which touches only the outermost ``radius`` pixels."""
    out = image
    for dx, dy in ((1, 0), (0, 1)):
        row = out
        for k in range(1, radius + 1):
            row = pick(row, pick(ImageChops.offset(out, k * dx, k * dy),
                                 ImageChops.offset(out, -k * dx, -k * dy)))
        out = row
    return out


_RUN = re.compile(rb"\xff+")


def _blobs(mask: Image.Image) -> list[_Blob]:
    """Connected components (8-connected) of the white pixels of ``mask``, of a character's
    size."""
    width, height = mask.size
    data = mask.tobytes()
    parent: list[int] = []
    boxes: list[list[int]] = []  # per run: x0, x1 (exclusive), y

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    previous: list[tuple[int, int, int]] = []  # (x0, x1, run index) on the row above
    for y in range(height):
        row = data[y * width:(y + 1) * width]
        current: list[tuple[int, int, int]] = []
        j = 0
        for match in _RUN.finditer(row):
            x0, x1 = match.start(), match.end()
            index = len(parent)
            if index >= _MAX_RUNS:
                return []
            parent.append(index)
            boxes.append([x0, x1, y])
            # runs above that touch this one, diagonals included
            while j < len(previous) and previous[j][1] < x0:
                j += 1
            k = j
            while k < len(previous) and previous[k][0] <= x1:
                a, b = find(previous[k][2]), find(index)
                if a != b:
                    parent[b] = a
                k += 1
            current.append((x0, x1, index))
        previous = current
    extents: dict[int, list[int]] = {}
    for index, (x0, x1, y) in enumerate(boxes):
        root = find(index)
        box = extents.get(root)
        if box is None:
            extents[root] = [x0, x1, y, y + 1]
        else:
            box[0] = min(box[0], x0)
            box[1] = max(box[1], x1)
            box[3] = y + 1
    blobs = []
    for x0, x1, y0, y1 in extents.values():
        w, h = x1 - x0, y1 - y0
        size = max(w, h)
        if _MIN_HEIGHT <= size <= _MAX_HEIGHT and min(w, h) >= 2:
            blobs.append(_Blob((x0 + x1) / 2, (y0 + y1) / 2, w, h))
    return blobs


@dataclass(frozen=True, slots=True)
class _Line:
    members: tuple[_Blob, ...]  # in order along the line
    size: float  # median character size (the larger side of a blob's box)
    pitch: float  # median distance between neighbours

    def backwards(self) -> _Line:
        """The same line read from its other end."""
        return _Line(tuple(reversed(self.members)), self.size, self.pitch)

    @property
    def start(self) -> Point:
        return self.members[0].x, self.members[0].y

    @property
    def end(self) -> Point:
        return self.members[-1].x, self.members[-1].y

    @property
    def direction(self) -> Point:
        (x0, y0), (x1, y1) = self.start, self.end
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        return (x1 - x0) / length, (y1 - y0) / length

    @property
    def middle(self) -> Point:
        (x0, y0), (x1, y1) = self.start, self.end
        return (x0 + x1) / 2, (y0 + y1) / 2


def _size(blob: _Blob) -> int:
    return max(blob.width, blob.height)


def _lines(blobs: list[_Blob]) -> list[_Line]:
    """Chains of blobs of one size, one pitch apart, in a straight line."""
    cell = 16
    grid: dict[tuple[int, int], list[int]] = {}
    for i, blob in enumerate(blobs):
        grid.setdefault((int(blob.x // cell), int(blob.y // cell)), []).append(i)

    def near(i: int) -> list[int]:
        blob = blobs[i]
        gx, gy = int(blob.x // cell), int(blob.y // cell)
        reach = 1.6 * _size(blob)
        cells = math.ceil(reach / cell)
        out = []
        for dx in range(-cells, cells + 1):
            for dy in range(-cells, cells + 1):
                for j in grid.get((gx + dx, gy + dy), ()):
                    if j == i:
                        continue
                    other = blobs[j]
                    if not 0.45 <= _size(other) / _size(blob) <= 2.2:  # "<" is small
                        continue
                    if 0 < math.hypot(other.x - blob.x, other.y - blob.y) <= reach:
                        out.append(j)
        return out

    neighbours = [near(i) for i in range(len(blobs))]
    used: set[int] = set()
    lines: list[_Line] = []
    order = sorted(range(len(blobs)), key=lambda i: blobs[i].x)
    for seed in order:
        if seed in used or len(neighbours[seed]) == 0:
            continue
        best: list[int] | None = None
        for first in neighbours[seed]:
            chain = _chain(blobs, neighbours, seed, first)
            if best is None or len(chain) > len(best):
                best = chain
        if best is None or len(best) < _MIN_CHARS:
            continue
        members = tuple(blobs[i] for i in best)
        sizes = sorted(_size(b) for b in members)
        gaps = sorted(math.hypot(b.x - a.x, b.y - a.y) for a, b in pairwise(members))
        lines.append(_Line(members, sizes[len(sizes) // 2], gaps[len(gaps) // 2]))
        used.update(best)
    return lines


def _chain(blobs: list[_Blob], neighbours: list[list[int]], seed: int, first: int) -> list[int]:
    """The blobs met walking from ``seed`` through ``first`` and on in both directions, each
    step the neighbour that best continues the line's direction and pitch."""

    def walk(a: int, b: int) -> list[int]:
        path = [a, b]
        seen = {a, b}
        while len(path) < _MAX_CHARS:
            # the direction from the chain's first blob to its last (robust to the box
            # centres of narrow glyphs), the pitch as the median step so far
            start, last = blobs[path[0]], blobs[path[-1]]
            dx, dy = last.x - start.x, last.y - start.y
            length = math.hypot(dx, dy) or 1.0
            dx, dy = dx / length, dy / length
            steps = sorted(math.hypot(q.x - p.x, q.y - p.y)
                           for p, q in pairwise(blobs[i] for i in path))
            pitch = steps[len(steps) // 2]
            if pitch <= 0:
                break
            best, score = None, math.inf
            for c in neighbours[path[-1]]:
                if c in seen:
                    continue
                pc = blobs[c]
                ex, ey = pc.x - last.x, pc.y - last.y
                along = (ex * dx + ey * dy) / pitch
                across = abs(ex * dy - ey * dx) / pitch
                if 0.5 <= along <= 1.6 and across <= 0.35:
                    miss = abs(along - 1) + across
                    if miss < score:
                        best, score = c, miss
            if best is None:
                break
            path.append(best)
            seen.add(best)
        return path[1:]

    forward = walk(seed, first)
    backward = walk(first, seed)  # from first back through seed and beyond
    # backward = [seed, ...beyond]; the chain is the reverse of beyond, seed, forward
    return [*reversed(backward[1:]), seed, *forward]


def _zones(lines: list[_Line]) -> list[tuple[_Line, _Line, _Line]]:
    """Triples of lines that look like a TD1 zone, in reading order across (top line first
    for a zone upright on the screen's "down"), best (most regular) first."""
    found: list[tuple[float, tuple[_Line, _Line, _Line]]] = []
    for i, a in enumerate(lines):
        for j in range(i + 1, len(lines)):
            b = lines[j]
            if not 0.75 <= a.size / b.size <= 1.33:
                continue
            ax, ay = a.direction
            bx, by = b.direction
            if abs(ax * bx + ay * by) < 0.97:  # not parallel (within 14 degrees)
                continue
            for c in lines[j + 1:]:
                if not 0.75 <= c.size / a.size <= 1.33:
                    continue
                zone = _zone((a, b, c))
                if zone is not None:
                    found.append(zone)
    found.sort(key=lambda item: item[0])
    return [zone for _, zone in found]


def _zone(lines: tuple[_Line, _Line, _Line]
          ) -> tuple[float, tuple[_Line, _Line, _Line]] | None:
    """The three lines as a zone (sorted across the reading direction), with a misfit score;
    None when they are not evenly spaced, or the first and last do not start (or, read the
    other way, end) together."""
    ref = lines[0].direction
    oriented = []
    for line in lines:  # every line running the same way as the first
        d = line.direction
        if d[0] * ref[0] + d[1] * ref[1] < 0:
            line = line.backwards()
        oriented.append(line)
    normal = (-ref[1], ref[0])  # "down" on the screen when ref reads left to right
    oriented.sort(key=lambda line: line.middle[0] * normal[0] + line.middle[1] * normal[1])
    first, second, third = oriented
    size = (first.size + second.size + third.size) / 3

    def offset(a: _Line, b: _Line) -> float:
        return (b.middle[0] - a.middle[0]) * normal[0] + (b.middle[1] - a.middle[1]) * normal[1]

    gap1, gap2 = offset(first, second), offset(second, third)
    if not (1.1 * size <= gap1 <= 2.6 * size and 1.1 * size <= gap2 <= 2.6 * size):
        return None
    if abs(gap1 - gap2) > 0.25 * max(gap1, gap2):
        return None
    # The lines start together (a line never starts with a filler); read the other way, they
    # end together.
    # (The middle line may be found in pieces: its run of fillers can be missed.)
    starts = [line.start[0] * ref[0] + line.start[1] * ref[1] for line in (first, third)]
    ends = [line.end[0] * ref[0] + line.end[1] * ref[1] for line in (first, third)]
    ragged = min(max(starts) - min(starts), max(ends) - min(ends))
    if ragged > 1.5 * size:
        return None
    misfit = abs(gap1 - gap2) / size + ragged / size
    return misfit, (first, second, third)
