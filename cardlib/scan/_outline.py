"""A card's outline: its straight edges, found where a map of the card puts them.

A card is a rectangle with rounded corners; on a photo its edges are four straight lines (the
map from the card's plane to the image is projective, and a projective map keeps lines
straight). Given a map that is already close (the QR code's, :class:`Back`), each edge is
looked for in a narrow band across its expected line: the band is rectified (one Pillow
transform), cut into short pieces along the edge, each piece's mean profile across the edge
gives the position of its strongest step, and a line is fitted through the pieces that agree
(the best pair of pieces by their number of followers, then least squares). Text or a barcode
near an edge steps in some pieces only; the card's edge steps in all of them, light card on a
dark table or dark band on a light one, and where the table is as light as the card its shadow
does.

Pure Pillow and Python: four edges of a card cost about 3 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from ._mrz_ocr import Back

Point = tuple[float, float]

_CORNER = 50.0  # card px left out at each end of an edge: the corner radius is 37 px (ID-1)
_PIECE = 28.0  # card px: the length of edge one piece averages
_MAX_PIECES = 32
_MIN_PIECES = 6
_AGREE = 1.5  # card px: a piece whose step lies this close to the line follows it
_FOLLOW = 0.6  # the fraction of the pieces that must follow the line
_MIN_STEP = 12.0  # grey levels across two card px: the weakest mean step counted as an edge
_SLACK = 6.0  # card px searched beyond laid_in_line's tolerance (a blurred edge is that wide)


@dataclass(frozen=True, slots=True)
class Edge:
    """A straight edge found in a map's card coordinates, across a searched span: ``start``
    and ``end`` are the span's ends moved onto the fitted line. ``step`` is the mean change of
    grey level across it (per two card pixels), ``follow`` the fraction of pieces on it."""

    start: Point
    end: Point
    step: float
    follow: float

    def offset(self, point: Point) -> float:
        """How far ``point`` lies from this edge's line (card px, signed: positive to the
        left of the way from ``start`` to ``end``)."""
        (x0, y0), (x1, y1) = self.start, self.end
        dx, dy = x1 - x0, y1 - y0
        return ((point[0] - x0) * -dy + (point[1] - y0) * dx) / math.hypot(dx, dy)


def find_edge(gray: Image.Image, frame: Back, start: Point, end: Point, reach: float,
              inside: int) -> Edge | None:
    """The straight edge within ``reach`` card px of the segment ``start``-``end``, which
    runs along a card axis (card coordinates of ``frame``), or None when no edge is straight,
    long and contrasted enough there, or the segment leaves the image. ``inside`` is the
    side the card lies on: +1 towards larger coordinates across the segment, -1 towards
    smaller."""
    (x0, y0), (x1, y1) = start, end
    horizontal = abs(y1 - y0) < 1e-9
    if not horizontal and abs(x1 - x0) > 1e-9:
        raise ValueError("find_edge searches along a card axis only")
    low, high = (min(x0, x1), max(x0, x1)) if horizontal else (min(y0, y1), max(y0, y1))
    across = y0 if horizontal else x0
    length = high - low
    if length < _MIN_PIECES * _PIECE / 2 or not _inside(gray, frame, start, end, reach):
        return None
    box = ((low, across - reach, high, across + reach) if horizontal
           else (across - reach, low, across + reach, high))
    strip, _ = frame.warp(gray, box)
    if not horizontal:
        strip = strip.transpose(Image.Transpose.TRANSPOSE)
    pieces = max(_MIN_PIECES, min(_MAX_PIECES, round(length / _PIECE)))
    depth = strip.height
    profiles = strip.resize((pieces, depth), Image.Resampling.BOX).tobytes()
    rising: list[tuple[float, float, float]] = []  # (along, across, step): darker to lighter
    falling: list[tuple[float, float, float]] = []
    for k in range(pieces):
        along = low + (k + 0.5) * length / pieces
        for found, steps in zip(_strongest_steps(profiles[k::pieces]), (rising, falling),
                                strict=True):
            if found is not None:
                steps.append((along, across - reach + found[0], found[1]))
    # An edge keeps its sense along its length. A card is lighter than what lies around it
    # (the table, or its own shadow), so the step out of it darkens, and that edge is taken
    # when there is one; stepping the other way are the outer rim of its shadow, ink near
    # the edge (the MRZ, the bars), and a card on a lighter table (white paper), taken only
    # when nothing darkens.
    darkening, lightening = (rising, falling) if inside > 0 else (falling, rising)
    line = _fit(darkening, pieces) or _fit(lightening, pieces)
    if line is None:
        return None
    slope, intercept, step, follow = line
    if horizontal:
        return Edge((x0, intercept + slope * x0), (x1, intercept + slope * x1), step, follow)
    return Edge((intercept + slope * y0, y0), (intercept + slope * y1, y1), step, follow)


def _inside(gray: Image.Image, frame: Back, start: Point, end: Point, reach: float) -> bool:
    """Whether the band around the segment lies in the image (the warp fills the rest
    white, which would make an edge of the image's border)."""
    (x0, y0), (x1, y1) = start, end
    horizontal = abs(y1 - y0) < 1e-9
    corners = ([(x0, y0 - reach), (x1, y0 - reach), (x1, y1 + reach), (x0, y1 + reach)]
               if horizontal else
               [(x0 - reach, y0), (x0 + reach, y0), (x1 + reach, y1), (x1 - reach, y1)])
    for x, y in corners:
        u, v = frame.image_point(x, y)
        if not (0 <= u < gray.width and 0 <= v < gray.height):
            return False
    return True


def _strongest_steps(column: bytes
                     ) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The strongest rise and the strongest fall in a profile, measured over two pixels:
    each its position (px from the profile's start, sub-pixel) and size, or None."""
    diffs = [column[i + 1] - column[i - 1] for i in range(1, len(column) - 1)]
    return _peak(diffs), _peak([-d for d in diffs])


def _peak(diffs: list[int]) -> tuple[float, float] | None:
    if not diffs:
        return None
    best = max(range(len(diffs)), key=diffs.__getitem__)
    peak = diffs[best]
    if peak <= 0:
        return None
    last = best
    while last + 1 < len(diffs) and diffs[last + 1] == peak:
        last += 1
    offset = 0.0
    if last > best:  # a flat top: its middle
        offset = (last - best) / 2
    elif 0 < best < len(diffs) - 1:  # the vertex of the parabola through the peak's neighbours
        left, right = diffs[best - 1], diffs[best + 1]
        curve = left - 2 * peak + right
        if curve < 0:
            offset = 0.5 * (left - right) / curve
    # diffs[i] is centred on pixel i + 1, whose centre lies at i + 1.5 px
    return best + 1.5 + offset, float(peak)


# The slopes tried (card px across per card px along): the map's own error leans an edge by
# well under a degree; a card lying askew beyond two degrees is not where it was looked for.
_SLOPES = tuple(k * 0.0025 for k in range(-14, 15))


def _fit(steps: list[tuple[float, float, float]], pieces: int
         ) -> tuple[float, float, float, float] | None:
    """The line ``across = intercept + slope * along`` that most pieces' steps follow (for
    each slope in ``_SLOPES``, the densest run of intercepts; then least squares through its
    followers), with the mean step and the fraction of pieces that follow; None when too few
    follow or the steps are weak."""
    best: list[tuple[float, float, float]] = []
    for slope in _SLOPES:
        ranked = sorted(steps, key=lambda s: s[1] - slope * s[0])
        intercepts = [c - slope * a for a, c, _ in ranked]
        first = 0
        for last in range(len(ranked)):
            while intercepts[last] - intercepts[first] > 2 * _AGREE:
                first += 1
            if last + 1 - first > len(best):
                best = ranked[first:last + 1]
    if len(best) < max(3, _FOLLOW * pieces):
        return None
    n = len(best)
    mean_a = sum(a for a, _, _ in best) / n
    mean_c = sum(c for _, c, _ in best) / n
    spread = sum((a - mean_a) ** 2 for a, _, _ in best)
    if spread == 0:
        return None
    slope = sum((a - mean_a) * (c - mean_c) for a, c, _ in best) / spread
    step = sum(s for _, _, s in best) / n
    if step < _MIN_STEP:
        return None
    return slope, mean_c - slope * mean_a, step, n / pieces


@dataclass(frozen=True, slots=True)
class Outline:
    """The edges of one card found around a map's rectangle ``box`` (left, top, right, bottom
    in the map's card px): each edge, or None where it was not found."""

    box: tuple[float, float, float, float]
    top: Edge | None
    right: Edge | None
    bottom: Edge | None
    left: Edge | None

    @property
    def complete(self) -> bool:
        return None not in (self.top, self.right, self.bottom, self.left)

    def corners(self) -> tuple[Point, Point, Point, Point] | None:
        """The four corners (top left, top right, bottom right, bottom left, card px of the
        map) where the edges' lines meet, or None unless all four were found."""
        if self.top is None or self.right is None or self.bottom is None or self.left is None:
            return None
        points = (_meet(self.top, self.left), _meet(self.top, self.right),
                  _meet(self.bottom, self.right), _meet(self.bottom, self.left))
        if any(p is None for p in points):
            return None
        tl, tr, br, bl = points
        assert tl is not None and tr is not None and br is not None and bl is not None
        return tl, tr, br, bl


def find_outline(gray: Image.Image, frame: Back, box: tuple[float, float, float, float],
                 reach: float) -> Outline:
    """The edges of the card that ``frame`` puts at ``box`` (card px), each looked for
    within ``reach`` card px of its place, its rounded corners left out."""
    left, top, right, bottom = box
    return Outline(
        box,
        top=find_edge(gray, frame, (left + _CORNER, top), (right - _CORNER, top), reach, 1),
        right=find_edge(gray, frame, (right, top + _CORNER), (right, bottom - _CORNER), reach,
                        -1),
        bottom=find_edge(gray, frame, (left + _CORNER, bottom), (right - _CORNER, bottom),
                         reach, -1),
        left=find_edge(gray, frame, (left, top + _CORNER), (left, bottom - _CORNER), reach, 1),
    )


def _meet(a: Edge, b: Edge) -> Point | None:
    """Where the lines of two edges cross; None for parallel ones."""
    (x1, y1), (x2, y2) = a.start, a.end
    (x3, y3), (x4, y4) = b.start, b.end
    det = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(det) < 1e-9:
        return None
    p = x1 * y2 - y1 * x2
    q = x3 * y4 - y3 * x4
    return ((p * (x3 - x4) - (x1 - x2) * q) / det, (p * (y3 - y4) - (y1 - y2) * q) / det)


#: What :func:`laid_in_line` saw.
IN_LINE, OFF_LINE, UNSEEN = "in_line", "off_line", "unseen"


def laid_in_line(gray: Image.Image, frame: Back, box: tuple[float, float, float, float],
                 other: tuple[float, float, float, float], *, reach: float, tolerance: float
                 ) -> str:
    """Whether two cards that ``frame`` puts at ``box`` and ``other`` (card px), side by
    side in the same rows or one above the other in the same columns, really lie so.
    :data:`IN_LINE`: an edge of ``box`` found within ``reach`` of its place, and the matching
    edge of ``other`` (top and top, or bottom and bottom; left and left, or right and right)
    found on that edge's line, within ``tolerance`` card px of it at both of its ends. One
    such edge fixes the other card's angle and its place across the line: a card merely lying
    near is off by its own angle. :data:`OFF_LINE`: an edge of ``box`` was found, and the
    other card's matching edge (in the picture) does not lie on its line. :data:`UNSEEN`: no
    edge of ``box`` was found (the cards are as light as what they lie on: a copy on white
    paper), or the other card's matching edges are out of the picture."""
    left, top, right, bottom = box
    o_left, o_top, o_right, o_bottom = other
    if abs(o_top - top) < 1e-9 and abs(o_bottom - bottom) < 1e-9:  # side by side
        rows = True
        lines = [((left + _CORNER, y), (right - _CORNER, y), (o_left + _CORNER, o_right - _CORNER),
                  inside) for y, inside in ((top, 1), (bottom, -1))]
    elif abs(o_left - left) < 1e-9 and abs(o_right - right) < 1e-9:  # one above the other
        rows = False
        lines = [((x, top + _CORNER), (x, bottom - _CORNER), (o_top + _CORNER, o_bottom - _CORNER),
                  inside) for x, inside in ((left, 1), (right, -1))]
    else:
        raise ValueError("laid_in_line compares cards in the same rows or the same columns")
    seen = False
    for start, end, (low, high), inside in lines:
        edge = find_edge(gray, frame, start, end, reach, inside)
        if edge is None:
            continue
        # the other card's edge is looked for around this edge's line, where it crosses the
        # middle of the other card's span: only a card lying in line is found
        middle = (low + high) / 2
        (sx, sy), (ex, ey) = edge.start, edge.end
        t = (middle - (sx if rows else sy)) / ((ex - sx) if rows else (ey - sy))
        across = (sy + t * (ey - sy)) if rows else (sx + t * (ex - sx))
        o_start, o_end = (((low, across), (high, across)) if rows
                          else ((across, low), (across, high)))
        reach_across = tolerance + _SLACK
        if not _inside(gray, frame, o_start, o_end, reach_across):
            continue  # the other card's edge is out of the picture: nothing seen
        # this edge shows: the other card's is on its line, or it lies elsewhere
        seen = True
        o_edge = find_edge(gray, frame, o_start, o_end, reach_across, inside)
        if o_edge is not None and all(abs(edge.offset(point)) <= tolerance
                                      for point in (o_edge.start, o_edge.end)):
            return IN_LINE
    return OFF_LINE if seen else UNSEEN
