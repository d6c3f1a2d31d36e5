"""Base45 text → QR code module matrix → black-on-white image.

The QR code carries the Base45 payload in **alphanumeric mode** (the Base45 alphabet is exactly the
QR alphanumeric set), at a **fixed error level** (M unless asked otherwise, never boosted), in the
**smallest version** that holds the text at that level according to the alphanumeric capacity
table of ISO/IEC 18004 (:data:`ALNUM_CAPACITY`). The version is computed here, not left to the
encoder, and the encoder's answer is checked, so the same text always gives the same matrix.

Printing: a module must be at least 0.42 mm, i.e. 5 px at 300 dpi (:data:`MIN_MODULE_PX`); smaller
modules did not survive a simulated 150 dpi office scan. The quiet zone is 4 modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from .._errors import BarcodeError, QrCapacityError
from . import _zxing

EC_LEVELS = ("L", "M", "Q", "H")
ALNUM_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ALNUM = frozenset(ALNUM_CHARS)

# ISO/IEC 18004:2015 Table 7, alphanumeric mode: the most characters a symbol of version 1..40
# holds at each error level (index = version - 1). Checked against zint at every boundary
# (``tests/test_barcodes.py``): the maximum fits, one more character needs the next version.
ALNUM_CAPACITY: dict[str, tuple[int, ...]] = {
    "L": (25, 47, 77, 114, 154, 195, 224, 279, 335, 395, 468, 535, 619, 667, 758, 854, 938,
          1046, 1153, 1249, 1352, 1460, 1588, 1704, 1853, 1990, 2132, 2223, 2369, 2520, 2677,
          2840, 3009, 3183, 3351, 3537, 3729, 3927, 4087, 4296),
    "M": (20, 38, 61, 90, 122, 154, 178, 221, 262, 311, 366, 419, 483, 528, 600, 656, 734, 816,
          909, 970, 1035, 1134, 1248, 1326, 1451, 1542, 1637, 1732, 1839, 1994, 2113, 2238,
          2369, 2506, 2632, 2780, 2894, 3054, 3220, 3391),
    "Q": (16, 29, 47, 67, 87, 108, 125, 157, 189, 221, 259, 296, 352, 376, 426, 470, 531, 574,
          644, 702, 742, 823, 890, 963, 1041, 1094, 1172, 1263, 1322, 1429, 1499, 1618, 1700,
          1787, 1867, 1966, 2071, 2181, 2298, 2420),
    "H": (10, 20, 35, 50, 64, 84, 93, 122, 143, 174, 200, 227, 259, 283, 321, 365, 408, 452,
          493, 557, 587, 640, 672, 744, 779, 864, 910, 958, 1016, 1080, 1150, 1226, 1307, 1394,
          1431, 1530, 1591, 1658, 1774, 1852),
}

MAX_VERSION = 40
MIN_MODULE_PX = 5  # 5 px at 300 dpi = 0.42 mm, the smallest module that survived a 150 dpi scan
MIN_QUIET_MODULES = 4  # ISO/IEC 18004 quiet zone
MAX_MODULE_PX = 64


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """The modules of one QR symbol: ``rows[y][x]`` is 1 for dark, 0 for light; no quiet zone."""

    version: int
    size: int
    ec_level: str
    rows: tuple[bytes, ...]


def minimal_version(length: int, ec_level: str = "M") -> int | None:
    """The smallest QR version whose alphanumeric capacity at ``ec_level`` holds ``length``
    characters, or None when not even version 40 does."""
    for version, capacity in enumerate(_capacities(ec_level), start=1):
        if length <= capacity:
            return version
    return None


def qr_matrix(text: str, *, ec_level: str = "M", max_version: int = MAX_VERSION) -> QrMatrix:
    """Encode Base45 ``text`` as a QR code in alphanumeric mode at a fixed ``ec_level``.

    The version is the smallest that holds ``text`` at ``ec_level`` (never a boosted level, never
    a larger version). Raises :class:`QrCapacityError` when that version would exceed
    ``max_version`` and :class:`BarcodeError` for text outside the QR alphanumeric set (Base45 is
    upper case: lower-case text is refused, not silently encoded in byte mode).
    """
    capacities = _capacities(ec_level)
    if not 1 <= max_version <= MAX_VERSION:
        raise BarcodeError(f"max_version must be between 1 and {MAX_VERSION}, not {max_version}")
    if not text:
        raise BarcodeError("cannot make a QR code of empty text: pass the Base45 payload")
    if len(text) > capacities[max_version - 1]:
        raise QrCapacityError(
            f"the payload has {len(text)} characters but a QR code at error level {ec_level} up "
            f"to version {max_version} holds at most {capacities[max_version - 1]}: shorten the "
            "payload (a smaller or no photo, fewer optional fields), allow a larger version or "
            "choose a lower error level"
        )
    for index, char in enumerate(text):
        if char not in _ALNUM:
            raise BarcodeError(
                f"character {char!r} at position {index} is outside the QR alphanumeric set "
                "(0-9, A-Z, space and $%*+-./:); Base45 text is upper case, was it altered?"
            )
    version = minimal_version(len(text), ec_level)
    assert version is not None  # the capacity check above guarantees it
    size, modules, used_level = _zxing.create_qr(text, ec_level=ec_level, version=version)
    if size != 17 + 4 * version or used_level != ec_level:
        raise BarcodeError(
            f"the QR encoder returned a {size}x{size} symbol at level {used_level!r}, expected "
            f"version {version} ({17 + 4 * version} modules) at level {ec_level}"
        )
    rows = tuple(modules[y * size : (y + 1) * size] for y in range(size))
    return QrMatrix(version=version, size=size, ec_level=ec_level, rows=rows)


def qr_image(
    matrix: QrMatrix,
    *,
    module_px: int = MIN_MODULE_PX,
    quiet_modules: int = MIN_QUIET_MODULES,
    allow_small: bool = False,
) -> Image.Image:
    """Draw ``matrix`` as a grayscale ("L") image, black modules on white, each module exactly
    ``module_px`` pixels square, with ``quiet_modules`` light modules on every side.

    At 300 dpi, 5 px = 0.42 mm, the smallest module size allowed for printing; smaller modules or a
    quiet zone under 4 modules are refused unless ``allow_small=True`` (screens, previews).
    """
    if not 1 <= module_px <= MAX_MODULE_PX:
        raise BarcodeError(f"module_px must be between 1 and {MAX_MODULE_PX}, not {module_px}")
    if not 0 <= quiet_modules <= 4 * MIN_QUIET_MODULES:
        raise BarcodeError(f"quiet_modules must be between 0 and 16, not {quiet_modules}")
    if not allow_small and module_px < MIN_MODULE_PX:
        raise BarcodeError(
            f"a {module_px} px module is {module_px * 25.4 / 300:.2f} mm at 300 dpi, under the "
            f"0.42 mm ({MIN_MODULE_PX} px) that printed cards need to scan; pass allow_small=True "
            "only for screen previews"
        )
    if not allow_small and quiet_modules < MIN_QUIET_MODULES:
        raise BarcodeError(
            f"a QR code needs a quiet zone of {MIN_QUIET_MODULES} modules, not {quiet_modules}"
        )
    if matrix.size != len(matrix.rows) or any(len(row) != matrix.size for row in matrix.rows):
        raise BarcodeError("the QR matrix is not square: build it with qr_matrix()")
    side = matrix.size + 2 * quiet_modules
    margin = b"\xff" * quiet_modules
    blank = b"\xff" * side
    # 1 (dark) → 0 (black), 0 (light) → 255 (white); anything else is refused below.
    to_gray = bytes([255, 0] + [7] * 254)
    body = b"".join(margin + row.translate(to_gray) + margin for row in matrix.rows)
    if 7 in body:
        raise BarcodeError("the QR matrix holds values other than 0 and 1")
    pixels = blank * quiet_modules + body + blank * quiet_modules
    image = Image.frombytes("L", (side, side), pixels)
    if module_px == 1:
        return image
    return image.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)


def _capacities(ec_level: str) -> tuple[int, ...]:
    try:
        return ALNUM_CAPACITY[ec_level]
    except (KeyError, TypeError):
        raise BarcodeError(
            f"unknown QR error level {ec_level!r}: choose one of {', '.join(EC_LEVELS)}"
        ) from None
