"""Read the TD1 machine-readable zone of a cardlib card back, with Pillow and pure Python.

This is not a general OCR engine. The zone is drawn by :mod:`cardlib.render._card` (``_mrz``):
three lines of 30 characters in OCR-B at 39 px (IBM Plex Mono Medium at 44 px when OCR-B is
not installed: :func:`cardlib.render.mrz_face`), each centred in a 30 px cell, at a
50 px line pitch in the bottom 170 px of the 1011 x 638 px (300 dpi) back, below the QR code.
The reader knows the face, the size and the place, and uses the QR code as a registration mark:

1. **Registration** (:func:`_symbol_frame`). The corners from the barcode reader outline the
   symbol; a projective map of that quadrilateral (four points, Gaussian elimination) places
   run-length scans across the three finder patterns, whose centres then fix an affine map
   from module coordinates to the image. Which corner is the symbol's top left comes from the
   finders, not from the corner order. The number of modules (the version depends on the
   payload length *and* on the error level the card was rendered with, which a scanner does
   not know) is measured from the finders' size and confirmed on the timing patterns.
2. **Warp.** The MRZ band is resampled to an upright 300 dpi strip (``Image.transform``) and
   thresholded halfway between the ink and paper grey levels (2nd and 60th percentiles of the
   zone's histogram). Otsu's threshold was tried first: on blurred 150 dpi scans it lands near
   the paper level (177 of 255 on the "150 dpi + JPEG 60 + 5 degrees + blur 1" scan), which
   fattens the strokes until 0, 8, B and D are one blob.
3. **Lines and cells.** Each line's height and tilt come from the row profiles of its two
   halves; its cell pitch from its ink extent, its cell grid from the valleys between glyphs
   in its column profile, fitted per third of the line (a tilted photo stretches one end).
4. **Matching.** A cell is compared with the 37 glyphs rendered with the same face and size,
   as bit masks packed in Python ints (``(cell ^ glyph).bit_count()``); the score is
   ``1 - Dice`` (0 identical, 1 disjoint). The glyphs are rendered sharp and blurred (sigma 1,
   1.5 and 2 px) and the set that fits the image best is used. The line's residual shift is
   measured on every other cell over a +-3 px window and fitted as a straight line; each cell
   is then scored at the fitted shift +-1 px. When two glyphs stay close (0/O, 8/B, D/O), they
   are compared again on grey levels, over the pixels where they differ.
5. **Decision.** The TD1 field formats restrict each position's alphabet (digits in the dates,
   letters in the name, ...). Glyphs still in doubt are tried in every combination against
   the format and check digits (:func:`~cardlib.mrz.parse_td1`). The zone is returned
   only when exactly one combination passes: a zone whose check digits fail is reported as
   unreadable (None), as is one where two readings pass (a doubt in the name, which no check
   digit covers, or two doubts whose check-digit changes cancel).

Corners, probed on rendered cards (300 and 150 dpi, 0/90/180/270 and +-5 degrees):

* **zxing-cpp** reports the outer boundary of the symbol's modules (quiet zone excluded) in
  continuous pixel coordinates, as integers: a symbol drawn over pixels 20..404 gives x = 20
  and 405. The order is the symbol's own: top left, top right, bottom right, bottom left,
  whatever the image rotation.
* **zbar** reports the same outer boundary, points up to 4 px off (L1), in an order that
  follows the image, not the symbol: counter-clockwise on screen in every probe, starting at a
  corner that depends on the rotation. Either direction is accepted.

A map fitted on the corners themselves carries those errors to the zone, which lies up to 2.3
symbol widths away: one pixel of corner error tilts a four-point homography enough to move the
far end of the zone 6-8 px. Through the finder centres, which do not depend on the reader, the
zone lands within 3 px of its place on every probe above (7-8 px under a 6 % keystone, which
affine maps cannot follow); step 3 measures and removes the rest, line by line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import product
from statistics import median

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageMath, ImageStat

from .._errors import ImageError, MrzError
from ..barcodes import EC_LEVELS, MAX_VERSION, QR_QUIET_MODULES, Decoded, minimal_version
from ..barcodes import grayscale as barcodes_grayscale
from ..mrz import LINE_LENGTH, parse_td1
from ..render import (
    MRZ_BASELINE,
    MRZ_LEFT,
    MRZ_LINE_PITCH,
    MRZ_PITCH,
    QR_AREA,
    QR_MODULE_PX,
    WIDTH,
    mrz_face,
)
from ._locate import black_hat, find_zones, spread

__all__ = [
    "ZONE_CELLS",
    "Back",
    "Zone",
    "find_zone",
    "locate_back",
    "read_mrz",
    "read_zone",
]

Matrix = tuple[float, float, float, float, float, float, float, float, float]
Point = tuple[float, float]

# --- what the renderer draws (render/_card.py) ---------------------------------------------------

# _mrz: each character centred (anchor "ms") in its MRZ_PITCH cell from MRZ_LEFT, on the line's
# baseline, in mrz_face(): OCR-B or, when it is not installed, the fallback (Plex Mono, 44 px).
_ASCENT = 40  # px from a line's reference row (its "top" below) down to its baseline
_FIRST_LINE_TOP = MRZ_BASELINE - _ASCENT
_QR_AREA = QR_AREA  # render_back: the QR code with its quiet zone, centred in rows 0..QR_AREA
_QUIET = QR_QUIET_MODULES  # render_back: qr_image's default quiet zone, in modules
_LINES = 3
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

# --- the strip and the cells ---------------------------------------------------------------------

# The strip spans the card's width: the zone (x 55..955) runs up to 30 px further on a tilted
# photo before the line measurements below correct it.
_STRIP_X0, _STRIP_Y0 = 0, _FIRST_LINE_TOP - 8  # card position of the strip
_STRIP_SIZE = (WIDTH, 180)
_STRIP_BOX = (_STRIP_X0, _STRIP_Y0, _STRIP_X0 + _STRIP_SIZE[0], _STRIP_Y0 + _STRIP_SIZE[1])
_CAP_TOP, _CAP_BOTTOM = 11, 41  # ink rows of capitals and digits, below the reference row
_CELL_TOP, _CELL_ROWS = 8, 42  # rows compared, below the reference row (Plex's Q tail ends at 48)
_SEARCH = 3  # +-px around a cell's estimated position that the match may move
_MARGIN = 10  # +-px of residual misplacement that the line search accepts
_GRID_REACH = 8  # +-px that the cell grid of a third of a line may move
_BLURS = (0.0, 1.0, 1.5, 2.0)  # Gaussian blurs of the glyph sets, px at 300 dpi
_CANDIDATES = 3  # glyphs per cell scored over the shifts

# --- thresholds, set on 400 randomly degraded scans of random records, checked on 600 more ----

_MIN_CONTRAST = 60  # grey levels between ink and paper, in the zone and across a finder
_MAX_CELL = 0.35  # a cell scoring above this matches no glyph: the zone is not read
_GREY_CHECK = 0.25  # a doubt above this is settled again on grey levels
_DOUBT = 0.4  # an alternative glyph this close (0.5: as likely) is tried against the checks
_MAX_READINGS = 256  # combinations of doubtful cells tried against the check digits
# A name cell read as another letter than expected disagrees only when it matched its glyph
# this well and the expected letter's doubt is below _NAME_DISAGREE; otherwise it is not read.
# Set on the issue 13 photo corpus: a misread name cell (F read as P at the line's end) scored
# 0.2, cells read right score 0.01-0.1 in the photos where the numbers read without doubt.
_NAME_CLEAR = 0.12
_NAME_DISAGREE = 0.15
# A name line whose cells match their glyphs this badly on average, or one cell worse than
# _MAX_CELL, is misplaced (a cell grid off by one: "KHADIJA" read as "KNAOJUA"): not compared.
_NAME_MEAN = 0.1
_FLATTEN = 8  # px: the flattening closing is 17 px square, three OCR-B strokes wide
_STRETCH = 12  # px: the contrast stretch looks 25 px square around each pixel (a glyph's width)
_MIN_RANGE = 48  # grey levels: a place with less range than this is paper
_REFERENCE_DAY = date(2099, 12, 31)  # for parse_td1; formats and check digits ignore it

# --- QR code registration ------------------------------------------------------------------------

_FINDER_RUNS = (1, 1, 3, 1, 1)  # dark, light, dark, light, dark modules across a finder
_FINDER_SLACK = (0.6, 0.6, 1.0, 0.6, 0.6)  # tolerated error of each run, in modules
_SCAN_FROM, _SCAN_TO, _SCAN_STEP = -2.0, 10.0, 0.25  # finder scan lines, in modules
# The 7 x 7 finder pattern, (column, row, dark): the light ring is 2 modules from the centre.
_FINDER = tuple((i, j, int(max(abs(i - 3), abs(j - 3)) != 2)) for j in range(7) for i in range(7))
_MIN_FINDER = 0.6  # correlation of each of the three finders with the pattern
_NOT_FINDER = 0.3  # the fourth corner must correlate this much less than the weakest finder
_MIN_TIMING = 0.5  # correlation of the timing patterns with their alternation
_SIZE_SLACK = 0.08  # measured modules per side may differ this much from a candidate size


def read_mrz(
    image: Image.Image, qr: Decoded, *, version: int | None = None
) -> tuple[str, str, str] | None:
    """The three TD1 lines printed on a cardlib card back, or None when they cannot be read.

    ``image`` is the photo or scan in which ``qr``, the card's QR code, was found by
    :func:`cardlib.cards.read_barcodes` (either backend); grayscale saves a conversion.
    ``version`` pins the QR version when the caller knows it; otherwise it is measured among
    the versions the payload's length allows at the four error levels.

    The lines returned passed :func:`~cardlib.mrz.parse_td1` (formats and every check
    digit); the caller compares their content with the signed payload. None, never an
    exception, when the zone is missing (a layout without MRZ, a blanked or cropped band), too
    degraded, or read with a doubt that the check digits do not settle. Raises
    :class:`ImageError` for an ``image`` that is not a readable PIL image, a ``qr`` that is not
    a QR code :class:`Decoded`, or a ``version`` outside 1-40.
    """
    gray = grayscale(image)
    if not isinstance(qr, Decoded) or qr.format != "qr":
        raise ImageError("read_mrz needs the QR code Decoded from the card back")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int)
        or not 1 <= version <= MAX_VERSION
    ):
        raise ImageError(f"a QR version is 1 to {MAX_VERSION}, not {version!r}")
    back = locate_back(gray, qr, version=version)
    zone = None if back is None else _zone(gray, back)
    return None if zone is None or zone.name_doubtful else zone.lines


@dataclass(frozen=True, slots=True)
class Zone:
    """A TD1 zone read from a card image. Lines 1 and 2 passed the formats and every check
    digit, with exactly one reading; line 3, the name, which no check digit covers, holds each
    cell's best glyph, and ``name_cells`` each cell's ranked glyphs, so that a name can be
    compared with an expected one without trusting a doubtful cell either way."""

    lines: tuple[str, str, str]
    name_cells: tuple[Ranked, ...]
    # Every cell of lines 1 and 2 was read as its best glyph (the check digits corrected
    # none) and they match their glyphs well on average: only then may a difference from the
    # signed data count as a disagreement (check digits let one misread in ten through).
    numbers_clean: bool = False
    # The back as the zone's own lines placed it (its ZONE_CELLS on the four corner cells'
    # centres), when it was found by them (find_zone), not through a QR code's map.
    frame: Back | None = None

    @property
    def name_doubtful(self) -> bool:
        """Whether a cell of the name matched no glyph, or another glyph was as likely."""
        return any(cell[0][0] > _MAX_CELL or any(doubt >= _DOUBT for _, _, doubt in cell[1:])
                   for cell in self.name_cells)

    def name_agreement(self, expected: str) -> str:
        """``agrees`` when every cell of the name reads as ``expected`` (the name line the
        signed record gives), ``disagrees`` when a cell that matched its glyph well reads
        clearly as another letter, ``not_read`` when a cell is in doubt or unreadable."""
        if len(expected) != LINE_LENGTH or any(c not in _ALPHABET for c in expected):
            return "disagrees"
        if all(cell[0][1] == _ALPHABET.index(want)
               for cell, want in zip(self.name_cells, expected, strict=True)):
            return "agrees"
        scores = [cell[0][0] for cell in self.name_cells]
        if (not self.numbers_clean or max(scores) > _MAX_CELL
                or sum(scores) / len(scores) > _NAME_MEAN):
            return "not_read"  # misreads are likely here: a difference proves nothing
        verdict = "agrees"
        for cell, want in zip(self.name_cells, expected, strict=True):
            glyph = _ALPHABET.index(want)
            score, top, _ = cell[0]
            if top == glyph:
                continue
            doubt = next((d for _, g, d in cell[1:] if g == glyph), 0.0)
            if score > _NAME_CLEAR or doubt >= _NAME_DISAGREE:
                verdict = "not_read"  # not clearly another letter: neither agrees nor disagrees
            else:
                return "disagrees"
        return verdict


@dataclass(frozen=True, slots=True)
class Back:
    """Where a card back lies in an image, found from its QR code: ``to_image`` maps card
    pixels (300 dpi, the back as rendered) to image pixels, ``size`` is the symbol's side in
    modules."""

    to_image: Matrix
    size: int

    def image_point(self, x: float, y: float) -> Point:
        """The image position of card position (x, y)."""
        return _apply(self.to_image, x, y)

    def card_point(self, x: float, y: float) -> Point:
        """The card position (of this back's plane) of image position (x, y)."""
        return _apply(_inverse(self.to_image), x, y)

    def warp(self, gray: Image.Image, box: tuple[float, float, float, float],
             scale: float = 1.0) -> tuple[Image.Image, Back]:
        """The card region ``box`` (left, top, right, bottom in card pixels, of this back's
        plane) rectified into an upright image of ``scale`` pixels per card pixel (white
        outside ``gray``), and the map from that image's pixels to ``gray``'s."""
        left, top, right, bottom = box
        to_box: Matrix = (1.0 / scale, 0.0, left, 0.0, 1.0 / scale, top, 0.0, 0.0, 1.0)
        to_image = _mul(self.to_image, to_box)
        size = (round((right - left) * scale), round((bottom - top) * scale))
        warped = gray.transform(size, Image.Transform.PERSPECTIVE,
                                [value / to_image[8] for value in to_image[:8]],
                                Image.Resampling.BILINEAR, fillcolor=255)
        return warped, Back(to_image, self.size)


def locate_back(image: Image.Image, qr: Decoded, *, version: int | None = None) -> Back | None:
    """The card back whose QR code is ``qr`` (found in ``image``), or None when the QR code's
    finder patterns cannot be measured. The finder patterns and the alignment pattern fix a
    projective map, so a tilted photo is followed."""
    gray = grayscale(image)
    if not isinstance(qr, Decoded) or qr.format != "qr":
        raise ImageError("locate_back needs the QR code Decoded from the card back")
    frame = _symbol_frame(gray, qr, version)
    if frame is None:
        return None
    return Back(_card_to_image(*frame), frame[1])


def _inverse(m: Matrix) -> Matrix:
    a, b, c, d, e, f, g, h, i = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if det == 0:
        inf = math.inf
        return (inf, inf, inf, inf, inf, inf, inf, inf, inf)
    return ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det,
            (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det,
            (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det)


def read_zone(image: Image.Image, qr: Decoded | Back, *, version: int | None = None
              ) -> Zone | None:
    """The TD1 zone of a cardlib card back: as :func:`read_mrz`, but a doubt in the name does
    not hide the numbers (see :class:`Zone`). ``qr`` may be the back already located."""
    gray = grayscale(image)
    back = qr if isinstance(qr, Back) else locate_back(gray, qr, version=version)
    return None if back is None else _zone(gray, back)


def find_zone(image: Image.Image) -> Zone | None:
    """A TD1 zone of a cardlib card back found without its QR code (covered, damaged, out of
    the picture): the zone's own three lines of characters are the registration mark
    (:mod:`._locate`). The candidates are tried best first, each both ways round; the first
    whose numbers pass the formats and check digits is returned. What it holds is printed,
    not signed: nothing vouches for it."""
    gray = grayscale(image)
    for quad in find_zones(gray):
        to_image = _homography(ZONE_CELLS, (quad.first_start, quad.first_end,
                                             quad.last_start, quad.last_end))
        if to_image is None or not all(math.isfinite(v) for v in to_image):
            continue
        frame = Back(to_image, 0)
        zone = _zone(gray, frame)
        if zone is not None:
            return dataclasses.replace(zone, frame=frame)
    return None


# The card positions of the centres of the first and last cells of lines 1 and 3 (each glyph is
# centred in its cell; a capital's ink centre lies half its height above the baseline).
_CELL_MIDDLE = 15  # px above the baseline
ZONE_CELLS: tuple[Point, ...] = tuple(
    (MRZ_LEFT + (cell + 0.5) * MRZ_PITCH, MRZ_BASELINE + line * MRZ_LINE_PITCH - _CELL_MIDDLE)
    for line in (0, 2) for cell in (0, LINE_LENGTH - 1))


def _zone(gray: Image.Image, back: Back) -> Zone | None:
    strip, _ = back.warp(gray, _STRIP_BOX)
    cells = _read_cells(strip)
    lines = None if cells is None else _decide(cells)
    if lines is None:
        # A shadow or glare across the zone throws the strip's single threshold: read again
        # with the paper flattened (the ink's darkness against the paper around it). On the
        # corpus this read 7 of the 25 zones the first read missed (seed 2).
        flat = ImageChops.invert(black_hat(strip, _FLATTEN))
        cells = _read_cells(flat)
        lines = None if cells is None else _decide(cells)
    if lines is None:
        # Glare (and a shadow's edge) also thins the ink's contrast, for part of the zone: read
        # once more with the contrast stretched to each place's own (corpus seed 4: 3 zones
        # as readable as any, half washed out, all missed before).
        cells = _read_cells(_stretched(strip))
        lines = None if cells is None else _decide(cells)
    if cells is None or lines is None:
        return None
    numbers = 2 * LINE_LENGTH
    reading = _ALPHABET.index
    clean = all(ranked[0][1] == reading(char)
                for ranked, char in zip(cells[:numbers], lines[0] + lines[1], strict=True)) \
        and sum(ranked[0][0] for ranked in cells[:numbers]) / numbers <= _NAME_MEAN
    return Zone(lines, tuple(cells[numbers:]), clean)


def _stretched(strip: Image.Image) -> Image.Image:
    """``strip`` with each place's ink stretched to black against its own paper: how much
    darker than the lightest level around it (``_STRETCH`` px), over the local range between
    the darkest and lightest levels there (at least ``_MIN_RANGE``: paper alone stays
    paper)."""
    paper = spread(strip, ImageChops.lighter, _STRETCH)
    ink = spread(strip, ImageChops.darker, _STRETCH)
    stretched: Image.Image = ImageMath.lambda_eval(
        lambda v: v["convert"](
            255 - (v["paper"] - v["grey"]) * 255 / v["max"](v["paper"] - v["ink"], _MIN_RANGE),
            "L"),
        grey=strip, paper=paper, ink=ink)
    return stretched


def grayscale(image: Image.Image) -> Image.Image:
    """:func:`cardlib.barcodes.grayscale`, of any size (the MRZ reader has no pixel limit)."""
    return barcodes_grayscale(image, max_pixels=None)


# --- small linear algebra ------------------------------------------------------------------------


def _solve(rows: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Solve the square system ``rows · x = rhs`` (Gaussian elimination, partial pivoting);
    None when it is singular."""
    n = len(rhs)
    m = [[*row, value] for row, value in zip(rows, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-9:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        head = m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / head[col]
            if factor:
                row = m[r]
                for c in range(col, n + 1):
                    row[c] -= factor * head[c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def _homography(src: Sequence[Point], dst: Sequence[Point]) -> Matrix | None:
    """The projective map taking the four points ``src`` to ``dst``."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        rhs += [u, v]
    h = _solve(rows, rhs)
    return None if h is None else (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0)


def _affine(src: Sequence[Point], dst: Sequence[Point]) -> Matrix | None:
    """The affine map taking the three points ``src`` to ``dst``."""
    rows = [[x, y, 1.0] for x, y in src]
    a = _solve([row[:] for row in rows], [u for u, _ in dst])
    b = _solve(rows, [v for _, v in dst])
    if a is None or b is None:
        return None
    return (a[0], a[1], a[2], b[0], b[1], b[2], 0.0, 0.0, 1.0)


def _mul(a: Matrix, b: Matrix) -> Matrix:
    """The product ``a · b``: apply ``b``, then ``a``."""
    return (
        a[0] * b[0] + a[1] * b[3] + a[2] * b[6],
        a[0] * b[1] + a[1] * b[4] + a[2] * b[7],
        a[0] * b[2] + a[1] * b[5] + a[2] * b[8],
        a[3] * b[0] + a[4] * b[3] + a[5] * b[6],
        a[3] * b[1] + a[4] * b[4] + a[5] * b[7],
        a[3] * b[2] + a[4] * b[5] + a[5] * b[8],
        a[6] * b[0] + a[7] * b[3] + a[8] * b[6],
        a[6] * b[1] + a[7] * b[4] + a[8] * b[7],
        a[6] * b[2] + a[7] * b[5] + a[8] * b[8],
    )


def _apply(h: Matrix, x: float, y: float) -> Point:
    w = h[6] * x + h[7] * y + h[8]
    if w <= 0:  # behind the camera: only a degenerate quadrilateral gets here
        return math.inf, math.inf
    return (h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w


def _correlation(values: Sequence[float], expected: Sequence[int]) -> float:
    """Pearson correlation of grey ``values`` with darkness ``expected`` (1 dark, 0 light)."""
    n = len(values)
    mean_v = sum(values) / n
    mean_e = sum(expected) / n
    var_v = sum((v - mean_v) ** 2 for v in values)
    var_e = sum((e - mean_e) ** 2 for e in expected)
    if var_v <= 0 or var_e <= 0:
        return 0.0
    cov = sum((v - mean_v) * (e - mean_e) for v, e in zip(values, expected, strict=True))
    return float(-cov / math.sqrt(var_v * var_e))


# --- registration: QR code → card transform ------------------------------------------------------

_UNIT: tuple[Point, ...] = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
# Unit-square coordinates with corner r of the quadrilateral (clockwise) at the origin → the
# quadrilateral's own unit-square coordinates.
_ROTATIONS: tuple[Matrix, ...] = (
    (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    (0.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    (-1.0, 0.0, 1.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0),
    (0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 1.0),
)

Sampler = Callable[[Matrix, float, float], float]


def _sampler(gray: Image.Image) -> Sampler:
    """``sample(h, u, v)``: the grey level at ``h(u, v)``, white outside the image."""
    pixels = gray.load()
    assert pixels is not None
    width, height = gray.size

    def sample(h: Matrix, u: float, v: float) -> float:
        x, y = _apply(h, u, v)
        if 0 <= x < width and 0 <= y < height:
            value = pixels[int(x), int(y)]
            assert isinstance(value, int)
            return float(value)
        return 255.0

    return sample


def _symbol_frame(gray: Image.Image, qr: Decoded, version: int | None) -> tuple[Matrix, int] | None:
    """(the affine map from module coordinates to the image, modules per side), or None when
    the corners do not outline a QR symbol of a candidate size."""
    corners = [(float(x), float(y)) for x, y in qr.corners]
    if len(corners) != 4:
        return None
    turns = [(b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
             for a, b, c in zip(corners, corners[1:] + corners[:1], corners[2:] + corners[:2],
                                strict=True)]
    if not (all(turn > 0 for turn in turns) or all(turn < 0 for turn in turns)):
        return None  # not a convex quadrilateral
    if turns[0] < 0:  # counter-clockwise on screen (zbar): make it clockwise
        corners = [corners[0], corners[3], corners[2], corners[1]]
    quad = _homography(_UNIT, corners)
    if quad is None or min(abs(turn) for turn in turns) < 400:
        return None
    if version is not None:
        sizes = [17 + 4 * version]
    else:
        sizes = sorted({17 + 4 * v for level in EC_LEVELS
                        if (v := minimal_version(len(qr.text), level)) is not None})
    sample = _sampler(gray)
    finders = [_find_finder(sample, _mul(quad, rotation), sizes) for rotation in _ROTATIONS]
    fits = [-1.0 if found is None else found[2] for found in finders]
    bottom_right = min(range(4), key=fits.__getitem__)
    weakest = min(fit for corner, fit in enumerate(fits) if corner != bottom_right)
    if weakest < _MIN_FINDER or fits[bottom_right] > weakest - _NOT_FINDER:
        return None
    top_left = (bottom_right + 2) % 4
    centres: list[Point] = []
    module = 0.0
    for corner in (top_left, top_left + 1, top_left + 3):  # top left, top right, bottom left
        found = finders[corner % 4]
        assert found is not None
        centres.append(found[0])
        module += found[1] / 3
    measured = 1.0 / module
    size = min(sizes, key=lambda n: abs(n - measured))
    if abs(size - measured) > _SIZE_SLACK * size:
        return None
    far = size - 3.5
    frame = _affine(((3.5, 3.5), (far, 3.5), (3.5, far)), centres)
    if frame is None or not all(math.isfinite(value) for value in frame):
        return None
    # The runs place a finder's centre to within about 0.7 px; a fit of the whole pattern on
    # interpolated grey levels, to within about 0.1 px (measured on a back turned 5 degrees).
    centres = [_refine(sample, frame, centre, _FINDER_RING)[0] for centre in centres]
    refined = _affine(((3.5, 3.5), (far, 3.5), (3.5, far)), centres)
    if refined is not None and all(math.isfinite(value) for value in refined):
        frame = refined
    frames = [frame]
    if size > 21:  # version 2 and up: the alignment pattern fixes the perspective
        aligned = _alignment(sample, frame, _mul(quad, _ROTATIONS[top_left]), size)
        expected = _apply(frame, size - 6.5, size - 6.5)
        module_px = math.hypot(frame[0], frame[3])
        # Within a third of a module of where the affine map puts it, the pattern shows no
        # perspective worth a projective map, whose extrapolation to the zone (three symbol
        # widths away) would only magnify the pattern's own measurement error.
        if aligned is not None and math.dist(aligned, expected) > _FLAT * module_px:
            perspective = _homography(((3.5, 3.5), (far, 3.5), (3.5, far),
                                       (size - 6.5, size - 6.5)), [*centres, aligned])
            if perspective is not None and all(math.isfinite(v) for v in perspective):
                frames.insert(0, perspective)
    # The timing patterns (row 6 and column 6 alternate, dark on even modules) confirm the
    # frame; the projective one is kept when it fits them at least as well as the affine one.
    timing = [1 - k % 2 for k in range(8, size - 8) for _ in (0, 1)]
    fits = [_correlation([sample(f, k + 0.5, 6.5) if axis == 0 else sample(f, 6.5, k + 0.5)
                          for k in range(8, size - 8) for axis in (0, 1)], timing)
            for f in frames]
    best = max(range(len(frames)), key=lambda i: (fits[i], -i))
    if fits[best] < _MIN_TIMING:
        return None
    return frames[best], size


# The finder pattern with its light separator, 9 x 9 around its centre: (column, row, dark).
_FINDER_RING = tuple((i, j, int(max(abs(i), abs(j)) in (0, 1, 3)))
                     for j in range(-4, 5) for i in range(-4, 5))


def _refine(sample: Sampler, frame: Matrix, centre: Point, pattern: Pattern,
            reach: int = 6) -> tuple[Point, float]:
    """``centre`` moved to where ``pattern`` (module offsets from the centre, dark or not)
    correlates best, sampled along ``frame``'s module axes; and that correlation.

    Point samples leave a plateau of equal fits about one module wide around the true centre
    (every sample stays in its module while the shift is under half a module): along each
    axis in turn, over +-``reach`` eighths of a module (the runs are within a sixth), the middle
    of the plateau that holds the best fit is taken, scoring the three rows (or columns) of the
    pattern through its centre; the correlation returned is the whole pattern's."""
    def fit(du: float, dv: float, cells: Pattern) -> float:
        return _pattern_fit(sample, frame, _moved(frame, centre, du, dv), cells)

    rows = tuple(cell for cell in pattern if abs(cell[1]) <= 1)
    columns = tuple(cell for cell in pattern if abs(cell[0]) <= 1)
    steps = range(-reach, reach + 1)
    shift = [0.0, 0.0]
    for axis in (0, 1):
        fits = [fit(k / 8, shift[1], rows) if axis == 0 else fit(shift[0], k / 8, columns)
                for k in steps]
        top = max(fits)
        best = fits.index(top)
        low = high = best
        while low > 0 and fits[low - 1] >= top - _PLATEAU:
            low -= 1
        while high < len(fits) - 1 and fits[high + 1] >= top - _PLATEAU:
            high += 1
        shift[axis] = ((low + high) / 2 - reach) / 8
    du, dv = shift
    return _moved(frame, centre, du, dv), fit(du, dv, pattern)


Pattern = tuple[tuple[int, int, int], ...]  # (column, row, dark) module offsets from a centre
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def _moved(frame: Matrix, centre: Point, du: float, dv: float) -> Point:
    """``centre`` moved by (du, dv) modules along ``frame``'s module axes."""
    return (centre[0] + du * frame[0] + dv * frame[1], centre[1] + du * frame[3] + dv * frame[4])


def _pattern_fit(sample: Sampler, frame: Matrix, centre: Point, pattern: Pattern) -> float:
    """The correlation of ``pattern`` with the grey levels sampled around ``centre``, a module
    apart along ``frame``'s module axes."""
    return _correlation([sample(_IDENTITY, *_moved(frame, centre, i, j)) for i, j, _ in pattern],
                        [dark for _, _, dark in pattern])


# The 5 x 5 alignment pattern around its centre, (column, row, dark): a light ring at 1.
_ALIGNMENT = tuple((i, j, int(max(abs(i), abs(j)) != 1))
                   for j in range(-2, 3) for i in range(-2, 3))
_MIN_ALIGNMENT = 0.6  # correlation of the found alignment pattern with the pattern
_PLATEAU = 0.02  # fits this close to the best one are as good
_FLAT = 0.35  # modules: an alignment pattern this close to the affine estimate keeps it


def _alignment(sample: Sampler, frame: Matrix, quad: Matrix, size: int) -> Point | None:
    """The image position of the centre of the bottom-right alignment pattern (module
    ``size - 6.5`` on both axes), or None when no pattern correlates well enough.

    The three finder centres fix only an affine map, which misses the perspective of a tilted
    photo by up to about four modules at this corner. The search starts where the barcode
    reader's corners (``quad``, the unit square onto the symbol, top left first: the spot
    lies on the diagonal, so the corners' order does not matter) put the pattern, moves over
    +-2 modules in half modules, then over +-0.5 in eighths (:func:`_refine`), scoring the 25
    modules sampled along the affine map's module axes."""
    spot = (size - 6.5) / size
    start = _apply(quad, spot, spot)
    if not all(math.isfinite(c) for c in start):
        return None
    coarse = max((_moved(frame, start, a / 2, b / 2) for a in range(-4, 5) for b in range(-4, 5)),
                 key=lambda point: _pattern_fit(sample, frame, point, _ALIGNMENT))
    centre, top = _refine(sample, frame, coarse, _ALIGNMENT)
    return centre if top >= _MIN_ALIGNMENT else None


def _find_finder(sample: Sampler, h: Matrix, sizes: Sequence[int]
                 ) -> tuple[Point, float, float] | None:
    """(image position of the centre, module size in unit-square units, correlation of the
    7 x 7 modules around the centre with a finder pattern) of the finder pattern
    at the corner that ``h`` maps (0, 0) to, or None. ``h`` maps the unit square onto the
    symbol, that corner first; ``sizes`` are the candidate modules per side."""
    for size in sizes:
        centre = [3.5 / size, 3.5 / size]
        widths = 0.0
        for axis in (0, 1, 0):
            hit = _scan(sample, h, axis, centre[1 - axis], 1.0 / size)
            if hit is None:
                break
            centre[axis], width = hit
            widths += width
        else:
            module = widths / 3 / sum(_FINDER_RUNS)
            fit = _correlation([sample(h, centre[0] + (i - 3) * module,
                                       centre[1] + (j - 3) * module) for i, j, _ in _FINDER],
                               [dark for _, _, dark in _FINDER])
            return _apply(h, centre[0], centre[1]), module, fit
    return None


def _scan(sample: Sampler, h: Matrix, axis: int, across: float, module: float
          ) -> tuple[float, float] | None:
    """Scan along ``axis`` (0: u, 1: v) at ``across`` on the other axis for a finder's runs:
    (centre of the 3-module run, width of the 5 runs), in unit-square units, or None."""
    step = _SCAN_STEP * module
    start = _SCAN_FROM * module
    count = round((_SCAN_TO - _SCAN_FROM) / _SCAN_STEP)
    if axis == 0:
        values = [sample(h, start + i * step, across) for i in range(count)]
    else:
        values = [sample(h, across, start + i * step) for i in range(count)]
    low, high = min(values), max(values)
    if high - low < _MIN_CONTRAST:
        return None
    middle = (low + high) / 2
    runs: list[tuple[bool, int, int]] = []  # (dark, first sample, end sample)
    for i, value in enumerate(values):
        dark = value < middle
        if runs and runs[-1][0] == dark:
            runs[-1] = (dark, runs[-1][1], i + 1)
        else:
            runs.append((dark, i, i + 1))
    # The finder is the first dark run after the light quiet zone, and the four runs after it.
    first = 1 if not runs[0][0] else 0
    if first == 0 or len(runs) < first + 5:
        return None
    lengths = [end - begin for _, begin, end in runs[first:first + 5]]
    unit = sum(lengths) / sum(_FINDER_RUNS)
    if any(abs(length - modules * unit) > slack * unit for length, modules, slack
           in zip(lengths, _FINDER_RUNS, _FINDER_SLACK, strict=True)):
        return None
    core = runs[first + 2]
    return start + (core[1] + core[2] - 1) / 2 * step, sum(lengths) * step


def _card_to_image(frame: Matrix, size: int) -> Matrix:
    """The map from card pixels to image pixels, for a symbol of ``size`` modules placed as
    :func:`cardlib.render.render_back` places it and ``frame`` maps its modules."""
    side = (size + 2 * _QUIET) * QR_MODULE_PX
    top = (_QR_AREA - side) // 2
    scale = 1.0 / QR_MODULE_PX
    left = _QUIET * QR_MODULE_PX
    upper = top + _QUIET * QR_MODULE_PX
    to_modules: Matrix = (scale, 0.0, -left * scale, 0.0, scale, -upper * scale, 0.0, 0.0, 1.0)
    return _mul(frame, to_modules)


# --- glyphs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Glyphs:
    """The 37 glyphs at one blur, as bit masks of a window of (cell + 2·search) x
    (44 + 2·search) px, one per shift of the glyph in the window (``shifts[i]``, the centre one
    in the middle); ``windows[i]`` masks the glyph's own cell at that shift."""

    blur: float
    advance: float
    left: float  # card x of the first cell's left edge
    inset: float  # px from a cell's left edge to a glyph's first ink column (median glyph)
    span: float  # a line's first ink column to its last, in advances (median glyphs)
    width: int  # window size
    height: int
    shifts: tuple[tuple[int, int], ...]
    index: dict[tuple[int, int], int]  # shift → index
    windows: tuple[int, ...]
    bits: tuple[tuple[int, ...], ...]  # [shift][glyph]
    ink: tuple[int, ...]  # [glyph] ink pixels
    apart: tuple[tuple[int, ...], ...]  # [glyph][glyph] pixels in which two glyphs differ
    grey: tuple[Image.Image, ...]  # [glyph] the glyph's ink (255 = black) in its cell, blurred


_INVERT = tuple(255 - value for value in range(256))


@cache
def _ink_below(threshold: int) -> tuple[int, ...]:
    """A lookup table for ``point(table, "1")``: grey levels up to ``threshold`` are ink (1)."""
    return tuple(255 if value <= threshold else 0 for value in range(256))


@cache
def _glyphs(blur: float) -> _Glyphs:
    """The glyphs drawn as :func:`cardlib.render._card._mrz` draws them, at ``blur``."""
    face = mrz_face().font
    advance = float(MRZ_PITCH)
    cell = MRZ_PITCH
    width, height = cell + 2 * _SEARCH, _CELL_ROWS + 2 * _SEARCH
    stride = (width + 7) // 8 * 8  # mode "1" rows are padded to whole bytes
    shifts = tuple((dx, dy) for dy in range(-_SEARCH, _SEARCH + 1)
                   for dx in range(-_SEARCH, _SEARCH + 1))

    def placed(mask: Image.Image) -> tuple[int, ...]:
        # Packed rows, most significant bit first: moving the content right by dx and down by
        # dy divides by 2 ** (dx + stride · dy); the window's margins keep rows apart.
        canvas = Image.new("1", (width, height), 0)
        canvas.paste(mask, (0, 0))
        corner = _pack(canvas)
        return tuple(corner >> (_SEARCH + dx + stride * (_SEARCH + dy)) for dx, dy in shifts)

    sharp: list[Image.Image] = []
    for char in _ALPHABET:
        glyph = Image.new("L", (cell, _CELL_ROWS), 255)
        ImageDraw.Draw(glyph).text((cell // 2, _ASCENT - _CELL_TOP), char, font=face, fill=0,
                                   anchor="ms")
        sharp.append(glyph)
    boxes = [box for glyph in sharp if (box := glyph.point(_ink_below(127), "1").getbbox())]
    firsts, lasts = [box[0] for box in boxes], [box[2] - 1 for box in boxes]
    blurred = [glyph.filter(ImageFilter.GaussianBlur(blur)) if blur else glyph
               for glyph in sharp]
    # A scan's ink level is its darkest 2 % (_read_cells): blur lightens the thin strokes of
    # OCR-B, so the blurred glyphs are levelled the same way (their darkest 2 % made black)
    # before they are thresholded halfway.
    histogram = [sum(counts) for counts in zip(*(g.histogram() for g in blurred), strict=True)]
    darkest = min(_percentile(histogram, 0.02), 254)
    levelled = tuple(max(0, 255 - round((255 - value) * 255 / (255 - darkest)))
                     for value in range(256))
    masks: list[tuple[int, ...]] = []
    greys: list[Image.Image] = []
    for glyph in blurred:
        glyph = glyph.point(levelled)
        greys.append(glyph.point(_INVERT))
        masks.append(placed(glyph.point(_ink_below(127), "1")))
    windows = placed(Image.new("1", (cell, _CELL_ROWS), 1))
    bits = tuple(tuple(mask[i] for mask in masks) for i in range(len(shifts)))
    centre = bits[len(shifts) // 2]
    return _Glyphs(
        blur=blur,
        advance=advance,
        left=float(MRZ_LEFT),
        inset=float(median(firsts)),
        span=LINE_LENGTH - 1 + (median(lasts) - median(firsts)) / advance,
        width=width,
        height=height,
        shifts=shifts,
        index={shift: i for i, shift in enumerate(shifts)},
        windows=windows,
        bits=bits,
        ink=tuple(b.bit_count() for b in centre),
        apart=tuple(tuple(max(1, (a ^ b).bit_count()) for b in centre) for a in centre),
        grey=tuple(greys),
    )


def _pack(mask: Image.Image) -> int:
    """A mode "1" image as an int, row by row, most significant bit first."""
    return int.from_bytes(mask.tobytes(), "big")


@cache
def _disagreement(blur: float, options: tuple[int, ...]) -> Image.Image:
    """A mask of the pixels of a cell where the glyphs ``options`` disagree (ink or not)."""
    glyphs = _glyphs(blur)
    greys = [glyphs.grey[g].tobytes() for g in options]
    mask = bytes(255 if len({grey[i] >= 128 for grey in greys}) > 1 else 0
                 for i in range(len(greys[0])))
    return Image.frombytes("L", glyphs.grey[0].size, mask)


@cache
def _ink_scale(levels: tuple[int, int]) -> tuple[int, ...]:
    """A grey level → ink lookup table: ``levels`` (ink, paper) → 255, 0."""
    ink, paper = levels
    return tuple(min(255, max(0, round(255 * (paper - value) / (paper - ink))))
                 for value in range(256))


# --- the strip: levels, lines, cells -------------------------------------------------------------

# (score, glyph, doubt): the score of the glyph at its best shift, and for the alternatives how
# close they come to the best one (0 clearly worse, 0.5 as good); best first.
Ranked = list[tuple[float, int, float]]
_INK_COLUMN = 255 * 2 // (_CAP_BOTTOM - _CAP_TOP + 4)  # two ink pixels in a column of a band


def _percentile(histogram: Sequence[int], fraction: float) -> int:
    goal = sum(histogram) * fraction
    seen = 0
    for value, count in enumerate(histogram):
        seen += count
        if seen >= goal:
            return value
    return len(histogram) - 1


def _profile(image: Image.Image, box: tuple[int, int, int, int], *, rows: bool) -> list[int]:
    """The mean of each row (or column) of ``box``: 0 no ink .. 255 all ink."""
    region = image.crop(box)
    size = (1, region.height) if rows else (region.width, 1)
    return list(region.resize(size, Image.Resampling.BOX).tobytes())


def _line_offset(profile: Sequence[int], top: int) -> int:
    """The vertical shift of a text line whose cap band should start at row ``top``: the most
    ink inside the band less twice the ink in the 4 rows on either side."""
    prefix = [0]
    for value in profile:
        prefix.append(prefix[-1] + value)
    last = len(profile)

    def ink(a: int, b: int) -> int:
        return prefix[max(0, min(b, last))] - prefix[max(0, min(a, last))]

    band = _CAP_BOTTOM - _CAP_TOP
    return max(range(-_MARGIN, _MARGIN + 1),
               key=lambda d: ink(top + d, top + d + band)
               - 2 * (ink(top + d - 4, top + d) + ink(top + d + band, top + d + band + 4)))


def _extent(profile: Sequence[int]) -> tuple[int, int] | None:
    """The first and last column of a line's ink (3 columns in a row with ink)."""
    ink = [value >= _INK_COLUMN for value in profile]
    runs = [x for x in range(len(ink) - 2) if ink[x] and ink[x + 1] and ink[x + 2]]
    return (runs[0], runs[-1] + 2) if runs else None


def _smooth(profile: Sequence[int]) -> list[int]:
    """``profile`` filtered with the kernel 1 2 1, ends set to 0."""
    last = len(profile) - 1
    return [0] + [profile[i - 1] + 2 * profile[i] + profile[i + 1] for i in range(1, last)] + [0]


def _grid_offset(smooth: Sequence[int], bounds: Sequence[float]) -> float:
    """The horizontal shift putting the cell boundaries ``bounds`` in the valleys of a line's
    smoothed column profile: the middle of the best plateau."""
    last = len(smooth) - 1

    def ink(d: int) -> int:
        return sum(smooth[min(last, max(0, round(b) + d))] for b in bounds)

    scores = {d: ink(d) for d in range(-_GRID_REACH, _GRID_REACH + 1)}
    low = min(scores.values())
    best = [d for d, score in scores.items() if score <= low + 64]
    return sum(best) / len(best)


def _read_cells(strip: Image.Image) -> list[Ranked] | None:
    """The ranked glyphs of the 90 cells of the strip, or None when it holds no zone."""
    glyphs = _glyphs(0.0)
    width, height = strip.size
    histogram = strip.crop((40, 20, width - 40, height - 20)).histogram()
    levels = _percentile(histogram, 0.02), _percentile(histogram, 0.6)  # ink, paper
    if levels[1] - levels[0] < _MIN_CONTRAST:
        return None
    mask = strip.point(_ink_below(sum(levels) // 2), "1")
    ink = mask.convert("L")
    half = width // 2
    cells: list[int] = []
    boxes: list[tuple[int, int, int, int]] = []
    for line in range(_LINES):
        ascender = _FIRST_LINE_TOP + MRZ_LINE_PITCH * line - _STRIP_Y0
        top = ascender + _CAP_TOP
        left_dy = _line_offset(_profile(ink, (0, 0, half, height), rows=True), top)
        right_dy = _line_offset(_profile(ink, (half, 0, width, height), rows=True), top)
        slope = (right_dy - left_dy) / half
        dy = (left_dy + right_dy) / 2
        band_top = round(top + dy) - 2
        band = _profile(ink, (0, band_top, width, band_top + _CAP_BOTTOM - _CAP_TOP + 4),
                        rows=False)
        extent = _extent(band)
        if extent is None:
            return None
        if extent[0] > 0 and extent[1] < width - 1:
            advance = (extent[1] - extent[0]) / glyphs.span
            origin = extent[0] - glyphs.inset * advance / glyphs.advance
        else:  # the line runs off the strip: start from the QR code's estimate
            advance, origin = glyphs.advance, glyphs.left - _STRIP_X0
        if abs(advance / glyphs.advance - 1) > 0.1:
            return None
        bounds = [origin + advance * k for k in range(LINE_LENGTH + 1)]
        # The grid's offset in each third of the line, interpolated between their middles.
        smooth = _smooth(band)
        thirds = [_grid_offset(smooth, bounds[i:i + 11]) for i in (0, 10, 20)]
        for k in range(LINE_LENGTH):
            first = min(1.0, max(0.0, (k - 5) / 10))
            second = min(1.0, max(0.0, (k - 15) / 10))
            x = bounds[k] + thirds[0] + (thirds[1] - thirds[0]) * first \
                + (thirds[2] - thirds[1]) * second
            y = ascender + dy + slope * (x + advance / 2 - half)
            cx, cy = round(x) - _SEARCH, round(y) + _CELL_TOP - _SEARCH
            box = (cx, cy, cx + glyphs.width, cy + glyphs.height)
            boxes.append(box)
            cells.append(_pack(mask.crop(box)))
    chosen = min((_glyphs(blur) for blur in _BLURS), key=lambda g: _blur_misfit(cells, g))
    ranked: list[Ranked] = []
    for start in range(0, _LINES * LINE_LENGTH, LINE_LENGTH):
        line_cells = range(start, start + LINE_LENGTH)
        ranked += _rank_line([cells[i] for i in line_cells], [boxes[i] for i in line_cells],
                             _ALLOWED[start:start + LINE_LENGTH], chosen, strip, levels)
    return ranked


def _scores(cell: int, shift: int, options: Sequence[int], glyphs: _Glyphs) -> list[float]:
    """The score (``1 - Dice``) of each glyph of ``options`` against ``cell`` at ``shift``."""
    window = cell & glyphs.windows[shift]
    own = window.bit_count()
    bits, ink = glyphs.bits[shift], glyphs.ink
    return [(window ^ bits[g]).bit_count() / (own + ink[g]) for g in options]


def _blur_misfit(cells: Sequence[int], glyphs: _Glyphs) -> float:
    """How badly a glyph set fits a sample of the cells: the sum of their best scores at the
    estimated position."""
    centre = len(glyphs.shifts) // 2
    return sum(min(_scores(cells[i], centre, _ALLOWED[i], glyphs))
               for i in range(0, len(cells), 5))


def _rank_line(cells: Sequence[int], boxes: Sequence[tuple[int, int, int, int]],
               allowed: Sequence[Sequence[int]], glyphs: _Glyphs, strip: Image.Image,
               levels: tuple[int, int]) -> list[Ranked]:
    """Rank the glyphs of each cell of one line.

    The line's residual misplacement is measured on every other cell (the glyph best at the
    estimated position, then its best shift in the window) and fitted as a straight line along
    the row. Each cell's candidates are the glyphs best at its fitted shift, scored again at
    that shift and its 8 neighbours; close calls are settled again on grey levels.
    """
    centre = len(glyphs.shifts) // 2
    points: list[tuple[int, int, int]] = []
    for k in range(0, len(cells), 2):
        scores = _scores(cells[k], centre, allowed[k], glyphs)
        glyph = allowed[k][min(range(len(scores)), key=scores.__getitem__)]
        points.append((k, *_best_shift(cells[k], glyph, glyphs)))
    fit_x = _robust_line([(k, dx) for k, dx, _ in points])
    fit_y = _robust_line([(k, dy) for k, _, dy in points])
    ranked: list[Ranked] = []
    for k, cell in enumerate(cells):
        px = max(1 - _SEARCH, min(_SEARCH - 1, round(fit_x[0] + fit_x[1] * k)))
        py = max(1 - _SEARCH, min(_SEARCH - 1, round(fit_y[0] + fit_y[1] * k)))
        scores = _scores(cell, glyphs.index[px, py], allowed[k], glyphs)
        options = [allowed[k][i] for i in sorted(range(len(scores)),
                                                 key=scores.__getitem__)[:_CANDIDATES]]
        best = [(2.0, 0, 0)] * len(options)  # (score, differing pixels, shift) at best shift
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                shift = glyphs.index[px + dx, py + dy]
                window = cell & glyphs.windows[shift]
                own = window.bit_count()
                bits = glyphs.bits[shift]
                for i, g in enumerate(options):
                    differ = (window ^ bits[g]).bit_count()
                    score = differ / (own + glyphs.ink[g])
                    if score < best[i][0]:
                        best[i] = (score, differ, shift)
        order = sorted(range(len(options)), key=best.__getitem__)
        top = order[0]
        out: Ranked = [(best[top][0], options[top], 0.0)]
        for i in order[1:]:
            # 0.5 when the cell is as far from both glyphs, 0 when it is the best one and as
            # far from this one as the two glyphs are from each other.
            gap = (best[i][1] - best[top][1]) / (2 * glyphs.apart[options[top]][options[i]])
            out.append((best[i][0], options[i], min(0.5, max(0.0, 0.5 - gap))))
        if max(doubt for _, _, doubt in out) >= _GREY_CHECK:
            ssd = _grey_distances(strip, boxes[k], glyphs.shifts[best[top][2]], options,
                                  glyphs, levels)
            order = sorted(range(len(options)), key=ssd.__getitem__)
            low = ssd[order[0]]
            out = [(best[order[0]][0], options[order[0]], 0.0)] + [
                (best[i][0], options[i], low / (low + ssd[i]) if low + ssd[i] else 0.5)
                for i in order[1:]]
        ranked.append(out)
    return ranked


def _best_shift(cell: int, glyph: int, glyphs: _Glyphs) -> tuple[int, int]:
    """The shift of ``glyph`` that best matches ``cell``, by coordinate descent: the best row
    shift, then column shift, then row shift again."""
    reach = range(-_SEARCH, _SEARCH + 1)

    def score(dx: int, dy: int) -> float:
        return _scores(cell, glyphs.index[dx, dy], (glyph,), glyphs)[0]

    dx = 0
    dy = min(reach, key=lambda y: score(dx, y))
    dx = min(reach, key=lambda x: score(x, dy))
    dy = min(reach, key=lambda y: score(dx, y))
    return dx, dy


def _robust_line(points: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """(intercept, slope) of a least-squares line through ``points``, fitted again without the
    points more than 1 px off the first fit."""
    fit = _line_fit(points)
    kept = [(k, v) for k, v in points if abs(fit[0] + fit[1] * k - v) <= 1.0]
    return _line_fit(kept) if len(kept) >= 2 else fit


def _line_fit(points: Sequence[tuple[int, int]]) -> tuple[float, float]:
    n = len(points)
    mean_k = sum(k for k, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((k - mean_k) ** 2 for k, _ in points)
    if var == 0:
        return mean_v, 0.0
    slope = sum((k - mean_k) * (v - mean_v) for k, v in points) / var
    return mean_v - slope * mean_k, slope


def _grey_distances(strip: Image.Image, box: tuple[int, int, int, int], shift: tuple[int, int],
                    options: Sequence[int], glyphs: _Glyphs, levels: tuple[int, int]
                    ) -> list[float]:
    """Sum of squared differences between the cell's grey levels (as ink) and each blurred
    glyph of ``options``, over the pixels where their masks disagree."""
    width, height = glyphs.grey[0].size
    x, y = box[0] + _SEARCH + shift[0], box[1] + _SEARCH + shift[1]
    cell = strip.crop((x, y, x + width, y + height)).point(_ink_scale(levels))
    region = _disagreement(glyphs.blur, tuple(sorted(options)))
    return [float(ImageStat.Stat(ImageChops.difference(cell, glyphs.grey[g]), region).sum2[0])
            for g in options]


# --- TD1 formats and the decision ----------------------------------------------------------------


def _allowed() -> tuple[tuple[int, ...], ...]:
    """The glyphs each of the 90 positions may hold (Doc 9303 Part 5, TD1)."""
    letters, digits, filler = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "<"
    code, anything = letters + filler, letters + digits + filler
    line1 = ["ACI", code, code, code, code] + [anything] * 25
    line2 = ([digits + filler] * 6 + [digits, "MF" + filler] + [digits] * 7 + [code] * 3
             + [anything] * 11 + [digits])
    line3 = [code] * LINE_LENGTH
    return tuple(tuple(_ALPHABET.index(c) for c in chars) for chars in line1 + line2 + line3)


_ALLOWED = _allowed()


def _text(reading: Sequence[int]) -> tuple[str, str, str]:
    chars = "".join(_ALPHABET[g] for g in reading)
    return chars[0:30], chars[30:60], chars[60:90]


def _valid(lines: tuple[str, str, str]) -> bool:
    try:
        parse_td1(lines, today=_REFERENCE_DAY)
    except MrzError:
        return False
    return True


def _decide(cells: Sequence[Ranked]) -> tuple[str, str, str] | None:
    """The zone, when every cell of lines 1 and 2 matched a glyph and exactly one combination
    of their doubtful cells' glyphs passes the formats and check digits. The name line is
    taken as read, each cell's best glyph (:class:`Zone` keeps its doubts)."""
    numbers = 2 * LINE_LENGTH
    if max(ranked[0][0] for ranked in cells[:numbers]) > _MAX_CELL:
        return None
    choices = [[ranked[0][1]] + [g for _, g, doubt in ranked[1:] if doubt >= _DOUBT]
               if position < numbers else [ranked[0][1]]
               for position, ranked in enumerate(cells)]
    doubtful = [position for position, options in enumerate(choices) if len(options) > 1]
    count = 1
    for position in doubtful:
        count *= len(choices[position])
    if count > _MAX_READINGS:
        return None
    reading = [options[0] for options in choices]
    found: tuple[str, str, str] | None = None
    for combination in product(*(choices[position] for position in doubtful)):
        for position, glyph in zip(doubtful, combination, strict=True):
            reading[position] = glyph
        lines = _text(reading)
        if _valid(lines):
            if found is not None:
                return None  # two readings pass: the check digits cannot tell
            found = lines
    return found
