"""Prototype — geometry first."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from .._errors import ImageError
from ..barcodes._qr import EC_LEVELS, minimal_version
from ..barcodes._read import Decoded
from ..render._card import HEIGHT, MRZ_ZONE, QR_MODULE_PX

Matrix = tuple[float, float, float, float, float, float, float, float, float]
Point = tuple[float, float]

_QUIET = 4


def _solve(rows: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Solve ``rows · x = rhs`` by Gaussian elimination with partial pivoting."""
    n = len(rhs)
    m = [row[:] + [value] for row, value in zip(rows, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
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
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        rhs += [u, v]
    h = _solve(rows, rhs)
    if h is None:
        return None
    return (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0)


def _affine_fit(src: Sequence[Point], dst: Sequence[Point]) -> Matrix | None:
    """Least-squares affine map src → dst."""
    ata = [[0.0] * 3 for _ in range(3)]
    atu = [0.0] * 3
    atv = [0.0] * 3
    for (x, y), (u, v) in zip(src, dst, strict=True):
        row = (x, y, 1.0)
        for i in range(3):
            for j in range(3):
                ata[i][j] += row[i] * row[j]
            atu[i] += row[i] * u
            atv[i] += row[i] * v
    a = _solve([r[:] for r in ata], atu)
    b = _solve([r[:] for r in ata], atv)
    if a is None or b is None:
        return None
    return (a[0], a[1], a[2], b[0], b[1], b[2], 0.0, 0.0, 1.0)


def _mul(a: Matrix, b: Matrix) -> Matrix:
    """The matrix product a · b (apply b first)."""
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
    return (h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w


def _normalised(h: Matrix) -> Matrix:
    s = h[8]
    return (h[0] / s, h[1] / s, h[2] / s, h[3] / s, h[4] / s, h[5] / s, h[6] / s, h[7] / s, 1.0)


_UNIT = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
# Symbol coordinates (s, t) → unit-square coordinates when the symbol's top-left corner is the
# r-th corner of the quadrilateral.
_ROTATIONS: tuple[Matrix, ...] = (
    (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    (0.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    (-1.0, 0.0, 1.0, 0.0, -1.0, 1.0, 0.0, 0.0, 1.0),
    (0.0, 1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 1.0),
)


def _finder(i: int, j: int) -> int:
    ring = max(abs(i - 3), abs(j - 3))
    return 1 if ring != 2 else 0


def _correlation(samples: list[float], expected: list[int]) -> float:
    n = len(samples)
    if n < 2:
        return 0.0
    ms = sum(samples) / n
    me = sum(expected) / n
    sse = sum((s - ms) ** 2 for s in samples)
    see = sum((e - me) ** 2 for e in expected)
    if sse <= 0 or see <= 0:
        return 0.0
    cov = sum((s - ms) * (e - me) for s, e in zip(samples, expected, strict=True))
    return -cov / (sse * see) ** 0.5  # dark = low grey = expected 1


def symbol_frame(gray: Image.Image, qr: Decoded, version: int | None = None
                 ) -> tuple[Matrix, int] | None:
    """(symbol unit square → image homography, modules per side), or None."""
    corners = [(float(x), float(y)) for x, y in qr.corners]
    if len(corners) != 4:
        return None
    area = sum(corners[i][0] * corners[(i + 1) % 4][1] - corners[(i + 1) % 4][0] * corners[i][1]
               for i in range(4))
    if area < 0:
        corners = [corners[0], corners[3], corners[2], corners[1]]
    base = _homography(_UNIT, corners)
    if base is None:
        return None
    if version is not None:
        sizes = [17 + 4 * version]
    else:
        sizes = sorted({17 + 4 * v for level in EC_LEVELS
                        if (v := minimal_version(len(qr.text), level)) is not None})
    px = gray.load()
    assert px is not None
    width, height = gray.size

    def sample(h: Matrix, u: float, v: float) -> float:
        x, y = _apply(h, u, v)
        ix, iy = int(x), int(y)
        if 0 <= ix < width and 0 <= iy < height:
            value = px[ix, iy]
            assert isinstance(value, int)
            return float(value)
        return 255.0

    # Finder score of each corner of the quadrilateral, best over the candidate sizes.
    finder = [(i, j, _finder(i, j)) for i in range(7) for j in range(7)]
    scores = []
    for corner in range(4):
        h = _mul(base, _ROTATIONS[corner])  # this corner as the symbol's top-left
        best = -1.0
        for n in sizes:
            values = [sample(h, (i + 0.5) / n, (j + 0.5) / n) for i, j, _ in finder]
            best = max(best, _correlation(values, [e for _, _, e in finder]))
        scores.append(best)
    missing = min(range(4), key=lambda c: scores[c])
    if sorted(scores)[1] < 0.6:
        return None
    top_left = (missing + 2) % 4
    h = _mul(base, _ROTATIONS[top_left])
    best_n, best_score = 0, 0.6
    for n in sizes:
        values, expected = [], []
        for k in range(8, n - 8):
            values.append(sample(h, (k + 0.5) / n, 6.5 / n))
            values.append(sample(h, 6.5 / n, (k + 0.5) / n))
            expected += [1 - k % 2, 1 - k % 2]
        score = _correlation(values, expected)
        if score > best_n and score > best_score:
            best_n, best_score = n, score
    if not best_n:
        return None
    return h, best_n


def card_to_image(frame: Matrix, size: int) -> Matrix:
    side = (size + 2 * _QUIET) * QR_MODULE_PX
    top = (HEIGHT - MRZ_ZONE - side) // 2
    scale = 1.0 / (size * QR_MODULE_PX)
    x0 = _QUIET * QR_MODULE_PX
    y0 = top + _QUIET * QR_MODULE_PX
    to_symbol: Matrix = (scale, 0.0, -x0 * scale, 0.0, scale, -y0 * scale, 0.0, 0.0, 1.0)
    return _mul(frame, to_symbol)


def read_mrz(gray: Image.Image, qr: Decoded) -> tuple[str, str, str] | None:
    if not isinstance(gray, Image.Image):
        raise ImageError("x")
    return None
