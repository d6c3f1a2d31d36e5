"""Barcodes: QR matrix and image, Code128 image, reading back with real decoders (no mocks).

The QR checks do not trust the encoder: a small independent reader below (format information,
unmasking, codeword placement, de-interleaving, segment headers; no error correction) recovers
the error level, the mask and the encoding segments of every matrix it is given.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image

import cardlib
from cardlib.barcodes import _zbar
from cardlib.barcodes._code128 import code128_image
from cardlib.barcodes._qr import (
    ALNUM_CAPACITY,
    ALNUM_CHARS,
    EC_LEVELS,
    QrMatrix,
    minimal_version,
    qr_image,
    qr_matrix,
)
from cardlib.barcodes._read import (
    MAX_PIXELS,
    Decoded,
    available_backends,
    load_image,
    read_barcodes,
)

from .conftest import EXAMPLE, require

NUMBER = "119850012347"
GOLDEN_TEXT = "CARDLIB GOLDEN 0001 $%*+-./:"
# SHA-256 of b"".join(rows) for qr_matrix(GOLDEN_TEXT) (version 2, level M), zxing-cpp 3.1.1.
GOLDEN_SHA256 = "a0732ba966cd173f60b021e250265f30051c760927a33bfea295526192d91f26"
CARD_SIZE = (1011, 638)  # 85.6 x 54 mm at 300 dpi

ZBAR_OK, ZBAR_REASON = _zbar.available()


def _require_zbar() -> None:
    require("libzbar", ZBAR_OK, ZBAR_REASON)


BACKENDS = [
    pytest.param("zxing", id="zxing"),
    pytest.param("zbar", id="zbar"),
]


def _use(backend: str) -> None:
    if backend == "zbar":
        _require_zbar()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def payload() -> str:
    key = cardlib.PrivateKey.generate()
    record = cardlib.record_from_json(json.loads(EXAMPLE.read_text("utf-8")))
    return cardlib.issue(record, key, now=datetime(2026, 1, 10, 9, tzinfo=UTC))


@pytest.fixture(scope="module")
def payload_matrix(payload: str) -> QrMatrix:
    return qr_matrix(payload)


@pytest.fixture(scope="module")
def card(payload_matrix: QrMatrix) -> Image.Image:
    """A card-sized 300 dpi grayscale image: Code128 of the number left, payload QR right."""
    return _card(payload_matrix)


def _card(matrix: QrMatrix) -> Image.Image:
    image = Image.new("L", CARD_SIZE, 255)
    symbol = qr_image(matrix)
    image.paste(symbol, (CARD_SIZE[0] - symbol.width - 20, (CARD_SIZE[1] - symbol.height) // 2))
    bars = code128_image(NUMBER, height_px=100)
    image.paste(bars, (20, CARD_SIZE[1] - bars.height - 30))
    return image


# --- an independent QR reader (ISO/IEC 18004), for checking the encoder -------------------------

# Error-correction codewords per block and number of blocks, versions 1..40 (ISO/IEC 18004
# Table 9), from which data capacities follow.
_ECC_PER_BLOCK = {
    "L": (7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28,
          30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),
    "M": (10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28,
          28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28),
    "Q": (13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30,
          30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),
    "H": (17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24,
          30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30),
}
_BLOCKS = {
    "L": (1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13,
          14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25),
    "M": (1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21,
          23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49),
    "Q": (1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27,
          29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68),
    "H": (1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32,
          35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81),
}
_FORMAT_EC = {1: "L", 0: "M", 3: "Q", 2: "H"}
_MODES = {1: "numeric", 2: "alphanumeric", 4: "byte", 8: "kanji"}
_COUNT_BITS = {
    "numeric": (10, 12, 14),
    "alphanumeric": (9, 11, 13),
    "byte": (8, 16, 16),
    "kanji": (8, 10, 12),
}


def _function_modules(version: int) -> list[list[bool]]:
    size = 17 + 4 * version
    marked = [[False] * size for _ in range(size)]

    def mark(top: int, left: int, height: int, width: int) -> None:
        for y in range(max(top, 0), min(top + height, size)):
            for x in range(max(left, 0), min(left + width, size)):
                marked[y][x] = True

    mark(0, 0, 9, 9)  # finder, separator, format information (top left)
    mark(0, size - 8, 9, 8)  # top right
    mark(size - 8, 0, 8, 9)  # bottom left, with the dark module
    mark(6, 0, 1, size)  # timing patterns
    mark(0, 6, size, 1)
    if version >= 2:
        count = version // 7 + 2
        step = (version * 8 + count * 3 + 5) // (count * 4 - 4) * 2
        centres = [6, *sorted(size - 7 - i * step for i in range(count - 1))]
        for i, cy in enumerate(centres):
            for j, cx in enumerate(centres):
                last = len(centres) - 1
                if (i, j) in {(0, 0), (0, last), (last, 0)}:
                    continue
                mark(cy - 2, cx - 2, 5, 5)
    if version >= 7:
        mark(0, size - 11, 6, 3)  # version information
        mark(size - 11, 0, 3, 6)
    return marked


def _format_information(rows: tuple[bytes, ...]) -> tuple[str, int]:
    """(error level, mask) from the first copy of the format information, BCH-checked."""
    places = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)]
    places += [(8, 14 - i) for i in range(9, 15)]
    bits = sum(rows[y][x] << i for i, (y, x) in enumerate(places)) ^ 0x5412
    data = bits >> 10
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    assert (data << 10 | remainder) == bits, "format information fails its BCH check"
    return _FORMAT_EC[data >> 3], data & 7


def _masked(mask: int, x: int, y: int) -> bool:
    return [
        (x + y) % 2 == 0,
        y % 2 == 0,
        x % 3 == 0,
        (x + y) % 3 == 0,
        (x // 3 + y // 2) % 2 == 0,
        x * y % 2 + x * y % 3 == 0,
        (x * y % 2 + x * y % 3) % 2 == 0,
        ((x + y) % 2 + x * y % 3) % 2 == 0,
    ][mask]


def _data_bits(matrix: QrMatrix, ec_level: str, mask: int) -> str:
    size, version = matrix.size, (matrix.size - 17) // 4
    function = _function_modules(version)
    bits: list[str] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = ((right + 1) & 2) == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            for x in (right, right - 1):
                if not function[y][x]:
                    bits.append(str(matrix.rows[y][x] ^ _masked(mask, x, y)))
        right -= 2
    raw = len(bits) // 8
    codewords = [int("".join(bits[i * 8 : i * 8 + 8]), 2) for i in range(raw)]
    blocks = _BLOCKS[ec_level][version - 1]
    ecc = _ECC_PER_BLOCK[ec_level][version - 1]
    short_blocks = blocks - raw % blocks
    short_data = raw // blocks - ecc
    lengths = [short_data + (0 if b < short_blocks else 1) for b in range(blocks)]
    data: list[list[int]] = [[] for _ in range(blocks)]
    position = 0
    for i in range(short_data + 1):
        for b in range(blocks):
            if i < lengths[b]:
                data[b].append(codewords[position])
                position += 1
    return "".join(f"{cw:08b}" for block in data for cw in block)


def _segments(matrix: QrMatrix) -> tuple[str, int, list[tuple[str, int]], str]:
    """(error level, mask, [(mode, character count)], decoded text) read from the modules."""
    ec_level, mask = _format_information(matrix.rows)
    version = (matrix.size - 17) // 4
    bits = _data_bits(matrix, ec_level, mask)
    band = 0 if version <= 9 else 1 if version <= 26 else 2
    at, segments, text = 0, [], []

    def take(n: int) -> int:
        nonlocal at
        value = int(bits[at : at + n], 2)
        at += n
        return value

    while at + 4 <= len(bits):
        indicator = take(4)
        if indicator == 0:
            break
        mode = _MODES[indicator]
        count = take(_COUNT_BITS[mode][band])
        segments.append((mode, count))
        if mode == "alphanumeric":
            for _ in range(count // 2):
                pair = take(11)
                text.append(ALNUM_CHARS[pair // 45] + ALNUM_CHARS[pair % 45])
            if count % 2:
                text.append(ALNUM_CHARS[take(6)])
        elif mode == "numeric":
            left = count
            while left:
                n = min(left, 3)
                text.append(str(take({3: 10, 2: 7, 1: 4}[n])).zfill(n))
                left -= n
        else:
            text.append(bytes(take(8) for _ in range(count)).decode("latin-1"))
    return ec_level, mask, segments, "".join(text)


def _alnum_capacity(version: int, ec_level: str) -> int:
    """Characters that fit: data codewords from the block structure, minus the segment header."""
    raw = sum(not f for row in _function_modules(version) for f in row) // 8
    data = raw - _ECC_PER_BLOCK[ec_level][version - 1] * _BLOCKS[ec_level][version - 1]
    band = 0 if version <= 9 else 1 if version <= 26 else 2
    bits = 8 * data - 4 - _COUNT_BITS["alphanumeric"][band]
    return 2 * (bits // 11) + (1 if bits % 11 >= 6 else 0)


# --- QR matrix ---------------------------------------------------------------------------------


def test_payload_uses_the_minimal_alphanumeric_version_at_level_m(
    payload: str, payload_matrix: QrMatrix
) -> None:
    capacity = ALNUM_CAPACITY["M"]
    expected = next(v for v in range(1, 41) if len(payload) <= capacity[v - 1])
    assert expected > 1 and len(payload) > capacity[expected - 2]
    assert payload_matrix.version == expected == minimal_version(len(payload), "M")
    assert payload_matrix.ec_level == "M"
    assert payload_matrix.size == 17 + 4 * expected == len(payload_matrix.rows)
    assert all(len(row) == payload_matrix.size for row in payload_matrix.rows)
    assert set(b"".join(payload_matrix.rows)) == {0, 1}


def test_payload_is_one_alphanumeric_segment_at_level_m(
    payload: str, payload_matrix: QrMatrix
) -> None:
    ec_level, _, segments, text = _segments(payload_matrix)
    assert ec_level == "M"
    assert segments == [("alphanumeric", len(payload))]
    assert text == payload


@pytest.mark.parametrize("ec_level", EC_LEVELS)
def test_error_level_is_kept_not_boosted(ec_level: str) -> None:
    # 10 characters fit version 1 even at H: an encoder that boosts would raise L, M, Q to H.
    matrix = qr_matrix("ABCDEFGHIJ", ec_level=ec_level)
    assert (matrix.version, matrix.ec_level) == (1, ec_level)
    read_level, _, segments, text = _segments(matrix)
    assert read_level == ec_level
    assert segments == [("alphanumeric", 10)]
    assert text == "ABCDEFGHIJ"


def test_capacity_table_follows_from_the_block_structure() -> None:
    for ec_level in EC_LEVELS:
        computed = tuple(_alnum_capacity(v, ec_level) for v in range(1, 41))
        assert ALNUM_CAPACITY[ec_level] == computed, ec_level
    # Published values of ISO/IEC 18004 Table 7.
    assert ALNUM_CAPACITY["M"][:3] == (20, 38, 61)
    assert [ALNUM_CAPACITY[level][39] for level in EC_LEVELS] == [4296, 3391, 2420, 1852]


def test_capacity_table_agrees_with_the_encoder_at_every_boundary() -> None:
    for ec_level in EC_LEVELS:
        for version, capacity in enumerate(ALNUM_CAPACITY[ec_level], start=1):
            full = qr_matrix("A" * capacity, ec_level=ec_level)
            assert full.version == version
            # One character more does not fit this version (asked of zint directly).
            with pytest.raises(ValueError, match="too long"):
                zxingcpp.create_barcode(
                    "A" * (capacity + 1),
                    zxingcpp.BarcodeFormat.QRCode,
                    ec_level=ec_level,
                    version=version,
                )


def test_matrix_is_reproducible_and_matches_the_golden_hash() -> None:
    first, second = qr_matrix(GOLDEN_TEXT), qr_matrix(GOLDEN_TEXT)
    assert first == second
    assert (first.version, first.size, first.ec_level) == (2, 25, "M")
    assert hashlib.sha256(b"".join(first.rows)).hexdigest() == GOLDEN_SHA256
    with pytest.raises(AttributeError):
        first.version = 3  # type: ignore[misc]


def test_payload_too_long_raises_capacity_error() -> None:
    with pytest.raises(cardlib.QrCapacityError, match="3392 characters") as info:
        qr_matrix("A" * 3392)
    assert info.value.code == "qr_too_large"
    limit = ALNUM_CAPACITY["M"][9]
    assert qr_matrix("A" * limit, max_version=10).version == 10
    with pytest.raises(cardlib.QrCapacityError, match="up to version 10"):
        qr_matrix("A" * (limit + 1), max_version=10)
    assert qr_matrix("A" * (limit + 1), ec_level="L", max_version=10).version == 9  # L holds 335


@pytest.mark.parametrize("text", ["abc", "HC1:ÉTÉ", "LINE\nBREAK", "TAB\t", "A_B", ""])
def test_text_outside_the_alphanumeric_set_is_refused(text: str) -> None:
    with pytest.raises(cardlib.BarcodeError) as info:
        qr_matrix(text)
    assert info.value.code == "barcode_error"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(cardlib.BarcodeError, match="error level"):
        qr_matrix("ABC", ec_level="X")
    with pytest.raises(cardlib.BarcodeError, match="max_version"):
        qr_matrix("ABC", max_version=41)


# --- QR image ----------------------------------------------------------------------------------


def test_qr_image_draws_each_module_as_an_exact_square() -> None:
    matrix = qr_matrix(GOLDEN_TEXT)
    image = qr_image(matrix)
    side = (matrix.size + 8) * 5
    assert (image.mode, image.size) == ("L", (side, side))
    pixels = image.tobytes()
    assert set(pixels) == {0, 255}
    for y in range(matrix.size + 8):
        for x in range(matrix.size + 8):
            inside = 4 <= x < matrix.size + 4 and 4 <= y < matrix.size + 4
            dark = inside and matrix.rows[y - 4][x - 4] == 1
            block = {pixels[(y * 5 + dy) * side + x * 5 + dx] for dy in range(5) for dx in range(5)}
            assert block == {0 if dark else 255}


def test_qr_modules_under_042_mm_need_allow_small() -> None:
    matrix = qr_matrix(GOLDEN_TEXT)
    with pytest.raises(cardlib.BarcodeError, match=r"0\.42 mm"):
        qr_image(matrix, module_px=4)
    with pytest.raises(cardlib.BarcodeError, match="quiet zone"):
        qr_image(matrix, quiet_modules=2)
    small = qr_image(matrix, module_px=2, quiet_modules=2, allow_small=True)
    assert small.size == ((matrix.size + 4) * 2,) * 2
    with pytest.raises(cardlib.BarcodeError):
        qr_image(matrix, module_px=0, allow_small=True)


# --- Code128 -----------------------------------------------------------------------------------


def _runs(row: bytes) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in row:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs


@pytest.mark.parametrize("module_px", [4, 5, 6])
def test_code128_bars_are_exact_multiples_of_the_module(module_px: int) -> None:
    image = code128_image(NUMBER, module_px=module_px, height_px=90)
    assert image.mode == "L" and image.height == 90
    rows = [image.tobytes()[y * image.width : (y + 1) * image.width] for y in range(90)]
    assert all(row == rows[0] for row in rows), "not plain bars: text or uneven edges"
    runs = _runs(rows[0])
    assert {value for value, _ in runs} == {0, 255}
    assert all(length % module_px == 0 for _, length in runs), runs
    # Quiet zones of at least 10 modules; 12 digits in charset C: start + 6 + check + stop.
    assert runs[0] == (255, 10 * module_px) and runs[-1] == (255, 10 * module_px)
    modules = sum(length for _, length in runs[1:-1]) // module_px
    assert modules == 11 + 6 * 11 + 11 + 13
    assert image.width == (modules + 20) * module_px


def test_code128_human_readable_line_only_when_asked() -> None:
    plain = code128_image(NUMBER)
    with_text = code128_image(NUMBER, human_readable=True)
    assert plain.size == (484, 120)
    assert with_text.width == plain.width and with_text.height > plain.height


def test_code128_refuses_small_modules_short_quiet_zones_and_bad_text() -> None:
    with pytest.raises(cardlib.BarcodeError, match=r"0\.34 mm"):
        code128_image(NUMBER, module_px=3)
    with pytest.raises(cardlib.BarcodeError, match="quiet zone"):
        code128_image(NUMBER, quiet_modules=5)
    assert code128_image(NUMBER, module_px=3, allow_small=True).width == (101 + 20) * 3
    for text in ["", "١٢٣", "A\nB", "9" * 81]:
        with pytest.raises(cardlib.BarcodeError):
            code128_image(text)


# --- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_payload_qr_round_trip(backend: str, payload: str, payload_matrix: QrMatrix) -> None:
    _use(backend)
    found = read_barcodes(qr_image(payload_matrix), backend=backend)
    assert [(d.format, d.text) for d in found] == [("qr", payload)]
    assert len(found[0].corners) >= 4
    assert cardlib.inspect(found[0].text) is not None


@pytest.mark.parametrize("backend", BACKENDS)
def test_code128_round_trip(backend: str) -> None:
    _use(backend)
    found = read_barcodes(code128_image(NUMBER), backend=backend)
    assert [(d.format, d.text) for d in found] == [("code128", NUMBER)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_card_image_gives_both_symbols_in_reading_order(
    backend: str, payload: str, card: Image.Image
) -> None:
    _use(backend)
    found = read_barcodes(card, backend=backend)
    assert sorted((d.format, d.text) for d in found) == [("code128", NUMBER), ("qr", payload)]
    only_qr = read_barcodes(card, backend=backend, formats=frozenset({"qr"}))
    assert [(d.format, d.text) for d in only_qr] == [("qr", payload)]
    qr = only_qr[0]
    xs = [x for x, _ in qr.corners]
    assert min(xs) > CARD_SIZE[0] // 3  # the QR was pasted on the right


def test_zxing_reads_a_rotated_colour_card(payload: str, card: Image.Image) -> None:
    rotated = card.rotate(90, expand=True).convert("RGB")
    found = read_barcodes(rotated)
    assert sorted((d.format, d.text) for d in found) == [("code128", NUMBER), ("qr", payload)]


def test_transparent_background_counts_as_paper() -> None:
    matrix = qr_matrix(GOLDEN_TEXT)
    gray = qr_image(matrix)
    clear = Image.new("RGBA", gray.size, (0, 0, 0, 0))
    ink = Image.new("RGBA", gray.size, (0, 0, 0, 255))
    clear.paste(ink, mask=Image.eval(gray, lambda v: 255 - v))
    found = read_barcodes(clear)
    assert [(d.format, d.text) for d in found] == [("qr", GOLDEN_TEXT)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nothing_found_is_an_empty_tuple(backend: str) -> None:
    _use(backend)
    assert read_barcodes(Image.new("L", CARD_SIZE, 255), backend=backend) == ()
    assert read_barcodes(code128_image(NUMBER), backend=backend, formats=frozenset({"qr"})) == ()


def test_backends_and_formats_are_checked() -> None:
    backends = available_backends()
    assert backends[0] == "zxing"
    assert ("zbar" in backends) == ZBAR_OK
    blank = Image.new("L", (50, 50), 255)
    with pytest.raises(cardlib.DecoderUnavailableError, match="unknown barcode decoder") as info:
        read_barcodes(blank, backend="opencv")
    assert info.value.code == "decoder_unavailable"
    for formats in [frozenset({"datamatrix"}), frozenset(), "qr"]:
        with pytest.raises(cardlib.BarcodeError):
            read_barcodes(blank, formats=formats)  # type: ignore[arg-type]


def test_decoded_is_a_frozen_value() -> None:
    decoded = Decoded("qr", "ABC", ((0, 0), (1, 0), (1, 1), (0, 1)))
    with pytest.raises(AttributeError):
        decoded.text = "XYZ"  # type: ignore[misc]
    assert decoded == Decoded("qr", "ABC", ((0, 0), (1, 0), (1, 1), (0, 1)))


# --- images that cannot be used --------------------------------------------------------------


def _png(width: int, height: int, pixels: bytes | None = None) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    raw = pixels if pixels is not None else b"".join(b"\0" + b"\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def test_load_image_reads_a_png_and_refuses_garbage() -> None:
    image = load_image(_png(40, 30))
    assert (image.size, image.mode) == ((40, 30), "L")
    for data in [b"", b"not an image at all", _png(40, 30)[:60]]:
        with pytest.raises(cardlib.ImageError) as info:
            load_image(data)
        assert info.value.code == "image_invalid"


def test_load_image_refuses_a_huge_image_before_decoding_it() -> None:
    # The header claims 10,000 x 5,000 px; the pixel data is a few bytes and never decoded.
    with pytest.raises(cardlib.ImageError, match=r"50\.0 MP"):
        load_image(_png(10_000, 5_000, pixels=b"\0"))


def test_read_refuses_unreadable_huge_and_non_images() -> None:
    truncated = Image.open(io.BytesIO(_png(400, 300)[:-40]))  # lazily opened, damaged
    with pytest.raises(cardlib.ImageError):
        read_barcodes(truncated)
    huge = Image.new("1", (8_000, MAX_PIXELS // 8_000 + 1))
    with pytest.raises(cardlib.ImageError, match="MP limit"):
        read_barcodes(huge)
    with pytest.raises(cardlib.ImageError):
        read_barcodes(b"\x89PNG")  # type: ignore[arg-type]
    with pytest.raises(cardlib.ImageError):
        read_barcodes(Image.new("L", (0, 0)))
