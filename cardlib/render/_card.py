"""Front and back of an ID-1 card (85.60 × 53.98 mm) at 300 dpi.

Front: header band (country, title, optional logo), portrait, Arabic and Latin fields, the
national number and its Code128. Back: the QR code of the signed payload (modules ≥ 0.42 mm),
issuer and address, and the TD1 machine-readable zone in OCR-B.

The back's geometry (the constants below) is shared with the MRZ reader in :mod:`cardlib.scan`,
which finds the zone from the QR code's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .._errors import LayoutError, QrCapacityError, UnprintableError
from ..barcodes import (
    QR_QUIET_MODULES,
    QrMatrix,
    code128_image,
    minimal_version,
    qr_image,
    qr_matrix,
)
from ..mrz import LINE_LENGTH, td1_lines
from ..profile import HolderCategory, HolderRecord, Sex
from ._images import logo_image, thumbnail
from ._layout import Layout
from ._text import MrzFace, font, mrz_face, visual

DPI = 300
WIDTH = round(85.60 / 25.4 * DPI)   # 1011 px
HEIGHT = round(53.98 / 25.4 * DPI)  # 638 px
MARGIN = 36
PORTRAIT = (250, 320)
QR_MODULE_PX = 5  # 0.42 mm at 300 dpi: the smallest module that survived a 150 dpi scan
CODE128_MODULE_PX = 4
MIN_FONT = 18

# The TD1 machine-readable zone (ICAO 9303 Parts 3 and 5) at the bottom of the back: 3 lines of
# 30 characters in OCR-B size I (``MRZ_FONT_PX`` in _text.py), each character centred in its
# cell at the 2.54 mm pitch (10 per inch), the lines 4.23 mm apart (6 per inch), the zone centred
# across the card: its first cell starts 4.66 mm from the left edge (ICAO: 5.0 ± 1.0 mm).
MRZ_PITCH = 30
MRZ_LINE_PITCH = 50
MRZ_LEFT = (WIDTH - LINE_LENGTH * MRZ_PITCH) // 2  # 55 px; the last cell ends 56 px from the edge
# Line 1's baseline; line 3's lies 17 px (1.44 mm) above the bottom edge.
MRZ_BASELINE = HEIGHT - 17 - 2 * MRZ_LINE_PITCH  # 521
MRZ_INK_TOP = MRZ_BASELINE - 32  # 489: above the tallest glyph of line 1 (OCR-B digits, 31 px)
MRZ_ZONE = 170  # the white band holding the zone, 14.4 mm
# The QR code, with its white quiet zone (which may lie on the band), is drawn on the left edge,
# centred in the rows above the zone's ink (on a back without MRZ: in the whole height).
QR_AREA = MRZ_INK_TOP
# Error levels tried in order when render_back is not given one: M, and L for a payload whose
# M symbol does not fit (a photo). Both read alike under the degraded-scan tests (README).
QR_LEVELS = ("M", "L")


@dataclass(frozen=True, slots=True)
class CardImages:
    """The two sides of one card, RGB, 1011 × 638 px, 300 dpi."""

    front: Image.Image
    back: Image.Image


def _fit(text: str, kind: str, size: int, weight: int, width: int,
         field: str | None = None) -> ImageFont.FreeTypeFont:
    """The largest font ≤ ``size`` that draws ``text`` within ``width`` pixels.

    Too long: the record's ``field`` is unprintable, or (no field) the layout's text is.
    """
    shown = visual(text)
    for candidate in range(size, MIN_FONT - 1, -2):
        face = font(kind, candidate, weight)
        if face.getlength(shown) <= width:
            return face
    if field is not None:
        raise UnprintableError(f"the record's {field} is too long to print on the card "
                               f"({width} px available at the smallest type, {MIN_FONT} px)")
    raise LayoutError(f"the layout text {text[:40]!r} is too long for its place on the card")


class _Canvas:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.colours = layout.colours
        self.image = Image.new("RGB", (WIDTH, HEIGHT), self.colours["background"])
        self.draw = ImageDraw.Draw(self.image)

    def text(self, xy: tuple[int, int], text: str, *, kind: str = "latin", size: int = 26,
             weight: int = 400, colour: str = "text", anchor: str = "la",
             width: int = WIDTH, field: str | None = None) -> None:
        face = _fit(text, kind, size, weight, width, field)
        self.draw.text(xy, visual(text), font=face, fill=self.colours.get(colour, colour),
                       anchor=anchor)

    def arabic(self, xy: tuple[int, int], text: str, **kwargs: object) -> None:
        self.text(xy, text, kind="arabic", anchor="ra", **kwargs)  # type: ignore[arg-type]

    def rtl_latin(self, xy: tuple[int, int], text: str, **kwargs: object) -> None:
        """Left-to-right text right-aligned in the Arabic column."""
        self.text(xy, text, anchor="ra", **kwargs)  # type: ignore[arg-type]

    def header(self) -> None:
        band = 112
        self.draw.rectangle((0, 0, WIDTH, band), fill=self.colours["primary"])
        self.draw.rectangle((0, band, WIDTH, band + 6), fill=self.colours["accent"])
        lay = self.layout
        half = WIDTH // 2 - MARGIN - 60
        self.text((MARGIN, 16), lay.country.en, size=30, weight=700, colour="on_primary",
                  width=half)
        self.text((MARGIN, 62), lay.title.en, size=26, colour="on_primary", width=half)
        self.arabic((WIDTH - MARGIN, 8), lay.country.ar, size=34, weight=700,
                    colour="on_primary", width=half)
        self.arabic((WIDTH - MARGIN, 56), lay.title.ar, size=30, colour="on_primary", width=half)
        if lay.logo_png is not None:
            logo = logo_image(lay.logo_png)
            self.image.paste(logo, ((WIDTH - logo.width) // 2, (band - logo.height) // 2), logo)


def _portrait_box(canvas: _Canvas, portrait: Image.Image | None,
                  signed_photo: bytes | None) -> None:
    x, y = MARGIN, 140
    w, h = PORTRAIT
    if portrait is None and signed_photo is not None:
        # No print-quality portrait given: print the photo signed in the payload, enlarged.
        portrait = thumbnail(signed_photo, "the record's photo", (1024, 1024),
                              max_pixels=1_000_000)
    if portrait is None:
        canvas.draw.rectangle((x, y, x + w, y + h), fill="#dfe5df")
        canvas.draw.ellipse((x + 70, y + 50, x + w - 70, y + 170), fill="#b9c4ba")
        canvas.draw.ellipse((x + 30, y + 180, x + w - 30, y + h + 80), fill="#b9c4ba")
        canvas.draw.rectangle((x, y + h, x + w, y + h + 80), fill=canvas.colours["background"])
    else:
        fitted = portrait.convert("RGB")
        scale = max(w / fitted.width, h / fitted.height)
        fitted = fitted.resize((max(w, round(fitted.width * scale)),
                                max(h, round(fitted.height * scale))), Image.Resampling.LANCZOS)
        left, top = (fitted.width - w) // 2, (fitted.height - h) // 2
        canvas.image.paste(fitted.crop((left, top, left + w, top + h)), (x, y))
    canvas.draw.rectangle((x - 2, y - 2, x + w + 1, y + h + 1), outline=canvas.colours["primary"],
                          width=3)


def _row(canvas: _Canvas, y: int, label: str, en: str, ar: str) -> None:
    """A bilingual row: Latin label and value on the left half, Arabic on the right half.

    Arabic and left-to-right text (dates, codes) are never mixed in one string: the bidi
    algorithm would reorder the groups of a date. A value without Arabic letters on the right
    half is drawn left-to-right, right-aligned.
    """
    left, right = 312, WIDTH - MARGIN
    half = (right - left) // 2 - 12
    names = canvas.layout.labels[label]
    canvas.text((left, y), names.en, size=19, colour="label", width=half)
    canvas.text((left, y + 22), en, size=26, weight=500, width=half, field=label)
    canvas.arabic((right, y - 4), names.ar, size=20, colour="label", width=half)
    if visual(ar) == ar:  # no Arabic letters: keep left-to-right order
        canvas.text((right, y + 24), ar, size=26, weight=500, anchor="ra", width=half,
                    field=label)
    else:
        canvas.arabic((right, y + 20), ar, size=27, weight=500, width=half, field=label)


def _birth_row(canvas: _Canvas, y: int, record: HolderRecord) -> None:
    """Date and place of birth under one label, both on each half, on one line: the date, then
    the place after it, each half read its own way. The date and the place are drawn apart,
    never as one string of mixed direction; the place takes the width the date leaves."""
    left, right = 312, WIDTH - MARGIN
    half = (right - left) // 2 - 12
    names = canvas.layout.labels["birth"]
    date, place = record.date_of_birth.isoformat(), record.place_of_birth
    kind = "arabic" if visual(place) != place else "latin"
    date_face = _fit(date, "latin", 26, 500, half, "birth")
    step = round(date_face.getlength(date)) + 18  # the date and a gap
    place_face = _fit(place, kind, 27 if kind == "arabic" else 26, 500, half - step, "birth")
    canvas.text((left, y), names.en, size=19, colour="label", width=half)
    canvas.arabic((right, y - 4), names.ar, size=20, colour="label", width=half)
    colour, shown = canvas.colours["text"], visual(place)
    # Latin half, left to right: date, place. Arabic half, right to left: date, place. On one
    # baseline: the Arabic face's ascent is taller than the Latin one's.
    base = y + 22 + round(date_face.getmetrics()[0])
    for date_x, place_x, anchor in ((left, left + step, "ls"), (right, right - step, "rs")):
        canvas.draw.text((date_x, base), date, font=date_face, fill=colour, anchor=anchor)
        canvas.draw.text((place_x, base), shown, font=place_face, fill=colour, anchor=anchor)


def render_front(record: HolderRecord, layout: Layout,
                 portrait: Image.Image | None = None) -> Image.Image:
    canvas = _Canvas(layout)
    canvas.header()
    _portrait_box(canvas, portrait, record.photo)
    right, left = WIDTH - MARGIN, 312
    canvas.arabic((right, 124), record.name_ar.full, size=38, weight=700, width=right - left,
                  field="name_ar")
    canvas.text((left, 190), record.name_latin.full, size=30, weight=700, width=right - left,
                field="name_latin")
    sexes = layout.sex_names["male" if record.sex is Sex.MALE else "female"]
    _row(canvas, 240, "mother", record.mother_name_latin or "—", record.mother_name_ar)
    _birth_row(canvas, 300, record)
    _row(canvas, 360, "sex", f"{sexes.en} · {record.nationality}", sexes.ar)
    _row(canvas, 420, "document_number", record.document_number, record.document_number)
    canvas.text((left, 480), f"{layout.labels['issue_date'].en} {record.issue_date.isoformat()}"
                f"   {layout.labels['expiry_date'].en} {record.expiry_date.isoformat()}",
                size=20, colour="label", width=right - left)
    number_label = "national_number" if record.category is HolderCategory.CITIZEN \
        else "admin_number"
    names = layout.labels[number_label]
    x0, w = MARGIN, PORTRAIT[0]
    canvas.text((x0, 472), names.en, size=18, colour="label", width=w)
    canvas.text((x0, 496), record.identifier, size=34, weight=700, width=w + 20,
                field=number_label)
    canvas.arabic((x0 + w, 540), names.ar, size=20, colour="label", width=w)
    bars = code128_image(record.identifier, module_px=CODE128_MODULE_PX, height_px=84)
    if bars.width > right - 300:
        raise UnprintableError(f"the Code128 of the record's {number_label} does not fit the "
                               "card front")
    canvas.image.paste(bars.convert("RGB"), (right - bars.width, HEIGHT - bars.height - 18))
    return canvas.image


def back_capacity(layout: Layout) -> int:
    """The most Base45 characters whose QR code fits the back of a card in ``layout`` (at level
    L, the lowest that :func:`render_back` chooses): with the MRZ, a version 18 symbol, 1046
    characters; without it, version 25, 1853 characters."""
    area = QR_AREA if layout.mrz else HEIGHT
    version = (area // QR_MODULE_PX - 2 * QR_QUIET_MODULES - 17) // 4
    low, high = 0, 8000  # minimal_version(n) <= version for n = low, never for n = high
    while high - low > 1:
        middle = (low + high) // 2
        found = minimal_version(middle, QR_LEVELS[-1])
        if found is not None and found <= version:
            low = middle
        else:
            high = middle
    return low


def back_qr(payload: str, layout: Layout, *, ec_level: str | None = None) -> QrMatrix:
    """The QR code that :func:`render_back` draws for ``payload``: at ``ec_level``, or (None)
    at the first of :data:`QR_LEVELS` whose symbol, with its quiet zone at 0.42 mm modules,
    fits the back of ``layout`` (see :func:`back_capacity`). Raises :class:`QrCapacityError`
    when it does not fit."""
    area = QR_AREA if layout.mrz else HEIGHT
    levels = QR_LEVELS if ec_level is None else (ec_level,)
    side = 0
    for level in levels:
        version = minimal_version(len(payload), level)
        if version is None:  # beyond version 40: qr_matrix says so
            return qr_matrix(payload, ec_level=level)
        side = (17 + 4 * version + 2 * QR_QUIET_MODULES) * QR_MODULE_PX
        if side <= area:
            return qr_matrix(payload, ec_level=level)
    raise QrCapacityError(
        f"the QR code ({side} px at 0.42 mm modules, error level {levels[-1]}) does not fit "
        f"the card back ({area} px free{' above the MRZ' if layout.mrz else ''}); shrink the "
        "payload (a smaller photo: cardlib render fits it to the room by default, "
        "--photo-budget caps it) or leave the MRZ off (\"mrz\": false in the layout, or "
        "cardlib render --no-mrz)"
    )


def render_back(record: HolderRecord, payload: str, layout: Layout, *,
                ec_level: str | None = None) -> Image.Image:
    """The back: the QR code of ``payload``, issuer, address and the TD1 zone.

    ``ec_level`` None (the default) takes error level M, or L when the level-M symbol does not
    fit (a payload with a photo); the MRZ reader accepts every level. Raises
    :class:`QrCapacityError` when the symbol does not fit (see :func:`back_capacity`).
    """
    canvas = _Canvas(layout)
    area = QR_AREA if layout.mrz else HEIGHT
    symbol = qr_image(back_qr(payload, layout, ec_level=ec_level), module_px=QR_MODULE_PX)
    if layout.mrz:  # first: the QR code's white quiet zone may lie on the zone's white band
        _mrz(canvas.draw, td1_lines(record, issuing_state="LBY"))
    canvas.image.paste(symbol.convert("RGB"), (0, (area - symbol.height) // 2))
    x = symbol.width + 16
    width = WIDTH - MARGIN - x
    canvas.arabic((WIDTH - MARGIN, 24), layout.issuer.ar, size=30, weight=700, colour="primary",
                  width=width)
    canvas.text((x, 72), layout.issuer.en, size=24, weight=700, colour="primary", width=width)
    canvas.arabic((WIDTH - MARGIN, 118), layout.labels["address"].ar, size=20, colour="label",
                  width=width)
    lines = record.address.split("\n")
    if len(lines) > 3:  # at most three lines fit: the rest joins the third, nothing is dropped
        lines = [*lines[:2], "، ".join(lines[2:])]
    for line_no, line in enumerate(lines):
        draw = canvas.arabic if visual(line) != line else canvas.rtl_latin
        draw((WIDTH - MARGIN, 144 + 36 * line_no), line, size=26, width=width, field="address")
    canvas.text((x, 270), f"{layout.labels['document_number'].en}: {record.document_number}",
                size=22, width=width, field="document_number")
    canvas.text((x, 300), f"{record.centre_code}", size=22, colour="label", width=width)
    canvas.arabic((WIDTH - MARGIN, 340), layout.labels["scan"].ar, size=22, colour="label",
                  width=width)
    canvas.text((x, 344), layout.labels["scan"].en, size=20, colour="label", width=width)
    return canvas.image


_GLYPH_ASCENT, _GLYPH_ROWS = 40, 56  # a glyph's cell: 40 rows above its baseline, 16 below


@lru_cache(maxsize=2)
def _glyph_masks(face: MrzFace) -> dict[str, Image.Image]:
    """Each character of ``face`` centred in its cell on the baseline, as a mask: drawn once,
    pasted 90 times a card, pixel for pixel as draw.text would draw each one."""
    masks: dict[str, Image.Image] = {}
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<":
        mask = Image.new("L", (MRZ_PITCH, _GLYPH_ROWS), 0)
        ImageDraw.Draw(mask).text((MRZ_PITCH // 2, _GLYPH_ASCENT), char, font=face.font,
                                  fill=255, anchor="ms")
        masks[char] = mask
    return masks


def _mrz(draw: ImageDraw.ImageDraw, lines: Sequence[str]) -> None:
    """The white band and the zone: each character centred in its cell, on its line's
    baseline, in :func:`~cardlib.render.mrz_face` (OCR-B, or the fallback face)."""
    draw.rectangle((0, HEIGHT - MRZ_ZONE, WIDTH, HEIGHT), fill="#ffffff")
    masks = _glyph_masks(mrz_face())
    for row, line in enumerate(lines):
        top = MRZ_BASELINE + MRZ_LINE_PITCH * row - _GLYPH_ASCENT
        for column, char in enumerate(line):
            draw.bitmap((MRZ_LEFT + MRZ_PITCH * column, top), masks[char], fill="#000000")


def render_card(record: HolderRecord, payload: str, layout: Layout,
                portrait: Image.Image | None = None, *, ec_level: str | None = None
                ) -> CardImages:
    """Both sides of the card for ``record`` and its signed ``payload``."""
    return CardImages(render_front(record, layout, portrait),
                      render_back(record, payload, layout, ec_level=ec_level))
