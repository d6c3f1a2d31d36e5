"""Scan a card image: decode the QR and Code128, read the MRZ, verify, cross-check the print.

The printed data must equal the signed data: the national number in the Code128 (front), and
the document number and holder number in the MRZ (back). A mismatch is a tampered print
(``print_mismatch``), distinct from a bad signature. An MRZ that cannot be read with certainty
(its check digits decide) is reported as not read, never guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image, ImageFilter, ImageMath

from .._errors import (
    BarcodeNotFoundError,
    CardError,
    MrzError,
    PrintMismatchError,
    SeveralCardsError,
)
from .._pipeline import VerifiedCard, verify
from ..barcodes import Decoded, read_barcodes, read_enlarged, reading_order
from ..codec._base45 import b45decode
from ..keys import PublicKey, TrustStore
from ..mrz import parse_td1, td1_lines
from ..render import HEIGHT, MARGIN, QR_AREA, WIDTH
from ._mrz_ocr import (
    ZONE_CELLS,
    Back,
    Zone,
    find_zone,
    grayscale,
    locate_back,
    read_zone,
)
from ._outline import IN_LINE, UNSEEN, laid_in_line

_BASE45 = re.compile(r"[0-9A-Z $%*+\-./:]+")
_NUMBER = re.compile(r"[A-Z0-9]{6,20}")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A verified card and what was found on the image."""

    card: VerifiedCard
    barcodes: tuple[Decoded, ...]
    mrz: tuple[str, str, str] | None  # the machine-readable zone, when its numbers were read
    # True: printed data (Code128, MRZ) was found and matches the signed data; None: the image
    # shows nothing printed to compare (a mismatch raises PrintMismatchError instead).
    agrees: bool | None
    # Each printed element, ("qr" | "code128" | "mrz_numbers" | "mrz_name", state): see PrintCheck.
    elements: tuple[tuple[str, str], ...] = ()
    # Card numbers printed (Code128) on other cards in the picture: never compared.
    other_cards: tuple[str, ...] = ()


def scan(
    image: Image.Image,
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    backend: str = "zxing",
    now: datetime | None = None,
    mrz: bool = True,
) -> ScanResult:
    """Decode and verify a card image; raise a :class:`CardError` on any failure.

    With ``mrz`` (the default) the machine-readable zone is read too (≈ 10 ms more) and its
    document and holder numbers are cross-checked with the signed ones.
    """
    found = read_card_barcodes(image, backend=backend)
    try:
        return check_decoded(found, trust, now=now, image=image if mrz else None)
    except BarcodeNotFoundError as err:
        if mrz:
            add_unsigned_zone(err, image)
        raise


def add_unsigned_zone(err: BarcodeNotFoundError, image: Image.Image) -> None:
    """Give ``err`` (no card QR code in ``image``; not several cards) the machine-readable
    zone when it is found by its own lines, as ``unsigned_mrz``, and say so in its detail."""
    if isinstance(err, SeveralCardsError) or err.unsigned_mrz is not None:
        return
    err.unsigned_mrz = unsigned_zone(image)
    if err.unsigned_mrz is not None:
        err.message += ("; the machine-readable zone was read without the QR code "
                        "(unsigned_mrz): printed, not signed, so nothing vouches for it")


def read_card_barcodes(image: Image.Image, *, backend: str = "zxing") -> tuple[Decoded, ...]:
    """:func:`~cardlib.barcodes.read_barcodes`, and when the QR codes it found hold no card's
    (a poster's beside a blurred card's), once more in a copy twice the size
    (:func:`~cardlib.barcodes.read_enlarged`), as read_barcodes does when it finds none."""
    found = read_barcodes(image, backend=backend)
    qr_codes = [d for d in found if d.format == "qr"]
    # none at all: read_barcodes looked in the enlarged copy itself
    if not qr_codes or any(_card_like(d.text) for d in qr_codes):
        return found
    seen = {(d.format, d.text) for d in found}
    more = [d for d in read_enlarged(image, backend=backend) if (d.format, d.text) not in seen]
    return tuple(sorted((*found, *more), key=reading_order))


def unsigned_zone(image: Image.Image) -> tuple[str, str, str] | None:
    """The machine-readable zone of a card back whose QR code cannot be read, found by its
    own lines (formats and check digits hold; the name as read): printed, not signed."""
    zone = find_zone(image)
    return None if zone is None else zone.lines


def check_decoded(
    found: tuple[Decoded, ...],
    trust: TrustStore | PublicKey | Iterable[PublicKey],
    *,
    now: datetime | None = None,
    image: Image.Image | None = None,
) -> ScanResult:
    """Verify the QR payload among ``found`` and cross-check the printed data with it: every
    Code128 shaped like a holder number, and (given ``image``) the MRZ next to the QR code.
    A disagreement raises :class:`PrintMismatchError`."""
    payload = card_payload(found)
    card = verify(payload.text, trust, now=now)
    check = compare_print(found, card, payload, image=image, now=now)
    if check.mismatch is not None:
        raise PrintMismatchError(check.mismatch)
    return ScanResult(card, found, check.mrz, check.agrees, check.elements, check.other_cards)


def card_payload(found: tuple[Decoded, ...]) -> Decoded:
    """The one card QR code among ``found``. Other QR codes in the picture (a poster's URL, a
    parcel label) are not cards: only text that decodes as Base45 into the start of a
    compressed or COSE payload is. :class:`BarcodeNotFoundError` for none,
    :class:`SeveralCardsError` for the codes of several cards."""
    payloads = [d for d in found if d.format == "qr" and _card_like(d.text)]
    if not payloads:
        kinds = ", ".join(sorted({d.format for d in found})) or "nothing"
        raise BarcodeNotFoundError(
            f"no card QR code was found (found: {kinds}); scan the back of the card, flat and "
            "sharp")
    count = len({d.text for d in payloads})
    if count > 1:
        raise SeveralCardsError(f"the image holds the QR codes of {count} cards; scan one card "
                                "at a time")
    return payloads[0]


def _card_like(text: str) -> bool:
    """Whether a QR code's text can be a card payload: Base45 whose bytes start as a zlib
    stream or a COSE message (tagged or not) does; a URL or a label's text does not."""
    if not _BASE45.fullmatch(text):
        return False
    try:
        head = b45decode(text[:6])
    except CardError:
        return False
    if len(head) < 2:
        return False
    zlib_header = head[0] & 0x0F == 8 and ((head[0] << 8) | head[1]) % 31 == 0
    return zlib_header or head[0] in _COSE_STARTS


# COSE_Sign1 (tag 18) and COSE_Encrypt0 (tag 16), tagged or as the bare 4- or 3-item array.
_COSE_STARTS = frozenset({0xD2, 0xD0, 0x84, 0x83})

#: The states of a printed element in :class:`PrintCheck`.
AGREES, DISAGREES, NOT_READ = "agrees", "disagrees", "not_read"


@dataclass(frozen=True, slots=True)
class PrintCheck:
    """The printed data compared with the signed data.

    ``elements`` names each printed element, in this order, with its state: ``qr`` (the signed
    code itself: ``agrees`` once verified), ``code128`` (the number on the front),
    ``mrz_numbers`` (lines 1 and 2 of the MRZ: document and holder numbers, dates, sex,
    nationality) and ``mrz_name`` (line 3, against the signed name's transliteration); each is
    ``agrees``, ``disagrees`` or ``not_read``. ``agrees`` sums them up: True when something
    printed was compared and nothing disagrees, False when something disagrees (``mismatch``
    says what), None when nothing printed was compared. ``mrz`` holds the zone when its
    numbers were read with certainty. ``other_cards``: numbers printed on other cards in the
    picture, which are never compared with this card.
    """

    agrees: bool | None
    mismatch: str | None
    mrz: tuple[str, str, str] | None
    elements: tuple[tuple[str, str], ...] = ()
    other_cards: tuple[str, ...] = ()


def compare_print(
    found: tuple[Decoded, ...],
    card: VerifiedCard,
    payload: Decoded,
    *,
    image: Image.Image | None = None,
    now: datetime | None = None,
) -> PrintCheck:
    """Compare the print of the card whose QR code is ``payload`` with the verified ``card``.

    Only what lies on the same card is compared. The MRZ is read where it lies on the card
    back the QR code belongs to (given ``image``). The Code128 is on the front, a separate
    face: a Code128 with the signed number is this card's front (it agrees); one with
    another number shaped like a holder number is another card in the picture (a neighbour
    card, or a front that does not belong to this back), reported in ``other_cards`` and never
    taken for an altered print; other Code128 symbols (a parcel label) are ignored.
    """
    record = card.record
    signed_number = record.identifier if record is not None else card.claims.id
    # (symbol, slant in the back's rectified frame, or None: read in the whole image)
    symbols: list[tuple[Decoded, float | None]] = [
        (d, None) for d in found if d.format == "code128" and _NUMBER.fullmatch(d.text)]
    # one grey copy (transparent areas are paper) for the QR map, the MRZ, the edges and bars
    gray = None if image is None else grayscale(image)
    back = locate_back(gray, payload) if gray is not None else None
    zone = None
    if gray is not None and record is not None:
        zone = read_zone(gray, back) if back is not None else None
        if zone is None:  # the zone by its own lines, if it is this back's
            zone, back = _zone_found(gray, back, payload)
    if gray is not None and back is not None and all(d.text != signed_number
                                                     for d, _ in symbols):
        symbols += [(d, slant) for d, slant in _paired_fronts(gray, back)
                    if _NUMBER.fullmatch(d.text)]
    mismatch: str | None = None
    texts = {symbol.text for symbol, _ in symbols}
    fronts = {symbol.text for symbol, slant in symbols
              if gray is not None and back is not None and slant is not None
              and abs(slant) <= _PAIR_SLANT and symbol.text != signed_number
              and _front_of(gray, back, symbol)}  # laid in line beside this back
    code128 = AGREES if signed_number in texts else DISAGREES if fronts else NOT_READ
    if code128 == DISAGREES:
        mismatch = ("the number printed on the front (Code128), laid beside this back as on a "
                    "copy of both sides, does not match the signed number in the QR code: the "
                    "card print has been altered")
    others = texts - fronts - {signed_number}
    mrz_numbers = mrz_name = NOT_READ
    lines: tuple[str, str, str] | None = None
    if zone is not None and record is not None:
        lines = zone.lines
        today = (now or datetime.now(UTC)).date()
        parsed = parse_td1(lines, today=today)
        try:
            expected = td1_lines(record, document_code=parsed.document_code,
                                 issuing_state=parsed.issuing_state)
        except MrzError:  # the signed record cannot be written as a zone: nothing to compare
            expected = None
        if expected is not None:
            mrz_numbers = _numbers_state(zone, expected)
            mrz_name = zone.name_agreement(expected[2])
            if mismatch is not None:
                pass
            elif mrz_numbers == DISAGREES:
                mismatch = ("the machine-readable zone does not match the signed document or "
                            "holder number, dates or sex in the QR code: the card print has "
                            "been altered")
            elif mrz_name == DISAGREES:
                mismatch = ("the name in the machine-readable zone does not match the signed "
                            "name's transliteration: the card print has been altered")
    elements = (("qr", AGREES), ("code128", code128), ("mrz_numbers", mrz_numbers),
                ("mrz_name", mrz_name))
    states = {state for _, state in elements[1:]}
    agrees = False if DISAGREES in states else True if AGREES in states else None
    return PrintCheck(agrees, mismatch, lines, elements, tuple(sorted(others)))


def _numbers_state(zone: Zone, expected: tuple[str, str, str]) -> str:
    """MRZ lines 1 and 2 against the lines the signed record gives. A difference disagrees
    only when the zone read cleanly (``Zone.numbers_clean``) and touches a data character:
    fillers read as letters ("<<<" as "KKK" off the end of a misplaced line, which the
    composite check digit let through once in the corpus) prove nothing."""
    read, wanted = zone.lines[0] + zone.lines[1], expected[0] + expected[1]
    if read == wanted:
        return AGREES
    if not zone.numbers_clean or all(w == "<" for r, w in zip(read, wanted, strict=True)
                                     if r != w):
        return NOT_READ
    return DISAGREES


_ZONE_SLACK = 40  # card px: how far a zone found by its own lines may lie from its place


def _zone_found(image: Image.Image, back: Back | None, qr: Decoded
                ) -> tuple[Zone | None, Back | None]:
    """The zone found by its own lines, when it is this card's, and the back: where the QR
    code's map does not reach the zone well enough to read it, the zone must lie within
    ``_ZONE_SLACK`` of its place on that map; where the QR code's patterns could not be
    measured at all, the zone's own map becomes the back's, if it puts the QR code where the
    renderer does (another card's zone puts it elsewhere)."""
    zone = find_zone(image)
    if zone is None or zone.frame is None:
        return None, back
    if back is not None:
        for ex, ey in ZONE_CELLS:  # where the zone's lines put its corner cells
            cx, cy = back.card_point(*zone.frame.image_point(ex, ey))
            if not math.hypot(cx - ex, cy - ey) <= _ZONE_SLACK:
                return None, back
        return zone, back
    zone_back = zone.frame
    if len(qr.corners) != 4:
        return None, None
    points = [zone_back.card_point(x, y) for x, y in qr.corners]
    cx = sum(x for x, _ in points) / 4
    cy = sum(y for _, y in points) / 4
    # the symbol, its quiet zone on the left edge, is centred in the rows above the zone
    if abs(cy - QR_AREA / 2) <= _ZONE_SLACK and _QR_MIDDLE_X[0] <= cx <= _QR_MIDDLE_X[1]:
        return zone, zone_back
    return None, None


# Card x of the QR code's middle: half the symbol with its quiet zone, from the smallest card
# payload's (version 10, 57 modules + 8) to the largest the back holds with the MRZ (version 18).
_QR_MIDDLE_X = (140.0, 260.0)


# Where the front's Code128 lies on the front (render_front: the bars end 40 px, their quiet
# zone, before the right margin, 18 px above the bottom edge, 84 px tall), in card pixels.
_BARS_END_X, _BARS_MIDDLE_Y = WIDTH - MARGIN - 40, HEIGHT - 18 - 42
# Set on the issue 13 photo corpus (seeds 1 and 2, 600 photos, tilt to 25 degrees). The
# decoder's corners place a front's bars only roughly: their angle was up to 11 degrees off,
# their middle up to 38 px off across the reading direction (zxing reports a thin line across
# the bars). They choose only which way the front lies and where its edges are looked for. The
# bars' slant in the back's rectified frame was 0.6 degrees at most for a front laid beside its
# back; of the 22 neighbouring cards read, 17 leaned 1.3 degrees or more, and one lay square
# (0.5 degrees) and level with the back by chance. What decides is the outlines: of the 149
# fronts of pairs read, the 147 whose bars' slant could be measured all had an edge found on
# the line of the back's matching edge, within 2 card px at both ends (most within 0.3), and
# none of the 23 neighbouring cards had (the one square by chance: 0.9 degrees off by its edges).
_PAIR_ANGLE = 12.0  # degrees: the decoder's corners of a front square with the back
_PAIR_MIDDLE = 40  # card px: how far the bars' middle (y) may lie off its place
_PAIR_END = 15  # card px: how far the bars' end (x) may lie off its place
_PAIR_GAP = 0.4  # of the card's width: the widest gap between the two faces
_EDGE_REACH = 12.0  # card px: how far from the QR code's map the back's edge is looked for
# (extrapolated across the card in a steep photo, the map was up to 11 px off at a far edge)
_IN_LINE = 2.0  # card px: how far the front's edge may lie off the back's edge line
_PAIR_LEVEL = 15  # card px: where no edge shows, how far the bars may lie off their place


# Where _paired_fronts looks for the front's Code128 (front card px): the bars run from at
# least x 250 (the longest holder number) to x _BARS_END_X, y 536-620, with some slack.
_BARS_REGION = (250.0, _BARS_MIDDLE_Y - 80.0, WIDTH - MARGIN + 10.0, _BARS_MIDDLE_Y + 80.0)
_FRONT_SCALE = 1.5  # output px per card px of the rectified strip (450 dpi)
_CODE128 = frozenset({"code128"})
_SHOWN = 0.3  # a region less than this much inside the image is not read
_SLANT_REACH = 12.0  # degrees: the widest lean _slant measures
_PAIR_SLANT = 0.8  # degrees: the front of a copy of both sides leans no more than this


def _paired_fronts(gray: Image.Image, back: Back) -> tuple[tuple[Decoded, float], ...]:
    """Code128 symbols read where this back's front lies on a copy of both sides: beside it
    (right or left) or below (or above) it, gap up to ``_PAIR_GAP`` card widths. Each region
    is rectified with the back's own perspective (the two faces share the page's plane) and
    enlarged, and levelled and sharpened when a first read finds nothing, so a tilted,
    turned, shadowed or 150 dpi
    photo reads like a flat scan; corners are given back in image pixels. Regions that lie
    mostly outside the image are skipped. Each symbol comes with its bars' slant in the
    rectified region (:func:`_slant`)."""
    gap = WIDTH * _PAIR_GAP
    x0, y0, x1, y1 = _BARS_REGION
    regions = (  # (left, top, right, bottom) in the back's card px
        (WIDTH + x0, y0, WIDTH + gap + x1, y1),
        (-WIDTH - gap + x0, y0, -WIDTH + x1, y1),
        (x0, HEIGHT + y0, x1, HEIGHT + gap + y1),
        (x0, -HEIGHT - gap + y0, x1, -HEIGHT + y1),
    )
    width, height = gray.size
    found: list[tuple[Decoded, float]] = []
    for left, top, right, bottom in regions:
        corners = [back.image_point(x, y) for x, y in
                   ((left, top), (right, top), (right, bottom), (left, bottom))]
        if not all(math.isfinite(c) for point in corners for c in point):
            continue
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        box = (max(xs) - min(xs)) * (max(ys) - min(ys))
        shown = max(0.0, min(max(xs), width) - max(min(xs), 0)) \
            * max(0.0, min(max(ys), height) - max(min(ys), 0))
        if box <= 0 or shown < _SHOWN * box:
            continue
        strip, region = back.warp(gray, (left, top, right, bottom), _FRONT_SCALE)
        symbols = read_barcodes(strip, formats=_CODE128, retry=False)
        if not symbols:  # blurred, or half in shadow: level the paper, sharpen, once more
            symbols = read_barcodes(_levelled(strip).filter(ImageFilter.UnsharpMask(3, 200, 2)),
                                    formats=_CODE128, retry=False)
        for symbol in symbols:
            mapped = tuple((round(x), round(y)) for x, y in
                           (region.image_point(cx, cy) for cx, cy in symbol.corners))
            found.append((Decoded(symbol.format, symbol.text, mapped), _slant(strip, symbol)))
    return tuple(found)


def _levelled(strip: Image.Image) -> Image.Image:
    """``strip`` with its paper made even: each pixel divided by the lightest level around
    it (over about 24 px: the spaces between bars are paper). A shadow's edge across the bars
    otherwise makes one threshold wrong for one side or the other (on the issue 13 corpus,
    seed 2: 3 of the 6 fronts of pairs whose Code128 was not read)."""
    small = strip.resize((max(1, strip.width // 8), max(1, strip.height // 8)),
                         Image.Resampling.BOX)
    paper = small.filter(ImageFilter.MaxFilter(3)).resize(strip.size, Image.Resampling.BILINEAR)
    levelled: Image.Image = ImageMath.lambda_eval(
        lambda v: v["convert"](v["ink"] * 255 / (v["paper"] + 1), "L"), ink=strip, paper=paper)
    return levelled


def _slant(strip: Image.Image, symbol: Decoded) -> float:
    """How far (degrees) the bars of ``symbol`` lean in ``strip``: the shift that best
    matches a row of the bars a quarter from their top with a row a quarter from their
    bottom. Bars square with the back lean by less than a degree or two; a card lying askew
    beside it by its own angle (the decoder's corners are too coarse to tell: up to 11
    degrees off)."""
    xs = [x for x, _ in symbol.corners]
    ys = [y for _, y in symbol.corners]
    left, right = max(0, min(xs)), min(strip.width, max(xs))
    top, bottom = min(ys), max(ys)
    rise = (bottom - top) / 2
    if right - left < 20 or rise < 4:
        return math.inf
    reach = math.ceil(rise * math.tan(math.radians(_SLANT_REACH)))
    upper = _row(strip, left, right, round(top + (bottom - top) / 4))
    lower = _row(strip, left, right, round(top + 3 * (bottom - top) / 4))
    if not upper or len(upper) <= 2 * reach:
        return math.inf
    n = len(upper)
    mean_u, mean_l = sum(upper) / n, sum(lower) / n
    a = [v - mean_u for v in upper]
    b = [v - mean_l for v in lower]
    score = {k: sum(a[i] * b[i + k] for i in range(max(0, -k), min(n, n - k)))
             for k in range(-reach - 1, reach + 2)}
    best = max(range(-reach, reach + 1), key=score.__getitem__)
    # the peak between whole pixels: the vertex of the parabola through it and its neighbours
    left_score, peak, right_score = score[best - 1], score[best], score[best + 1]
    curve = left_score - 2 * peak + right_score
    offset = 0.5 * (left_score - right_score) / curve if curve < 0 else 0.0
    return math.degrees(math.atan2(best + offset, 2 * rise))


def _row(strip: Image.Image, left: int, right: int, y: int) -> list[int]:
    """The mean of three rows around ``y``, from ``left`` to ``right``."""
    rows = [strip.crop((left, y + d, right, y + d + 1)).tobytes() for d in (-1, 0, 1)
            if 0 <= y + d < strip.height]
    return [sum(column) // len(rows) for column in zip(*rows, strict=True)] if rows else []


def _front_of(gray: Image.Image, back: Back, symbol: Decoded) -> bool:
    """Whether the Code128 ``symbol`` lies where the front of this back lies on a copy of
    both sides of one card: beside or below (or left of, or above) the back, square with it,
    edge to edge, a small gap between, and the front's outline in line with the back's (an
    edge of each on one line, :func:`laid_in_line`). A neighbouring card lies anywhere else;
    one that lies square and level with the back by chance is still off by a fraction of a
    degree, which the edges show and the bars (:func:`_slant`) do not."""
    corners = [back.card_point(x, y) for x, y in symbol.corners]
    if len(corners) != 4 or not all(math.isfinite(c) for point in corners for c in point):
        return False
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
    # reading direction: along the longer pair of sides, either way round (zbar's order)
    ax, ay = ((x1 - x0) + (x2 - x3)) / 2, ((y1 - y0) + (y2 - y3)) / 2
    bx, by = ((x3 - x0) + (x2 - x1)) / 2, ((y3 - y0) + (y2 - y1)) / 2
    if math.hypot(bx, by) > math.hypot(ax, ay):
        ax, ay = bx, by
    angle = math.degrees(math.atan2(ay, ax))
    if min(abs(angle), 180 - abs(angle)) > _PAIR_ANGLE:
        return False
    if ax < 0:  # upside down relative to the back: not a copy of its front
        return False
    middle_y = (y0 + y1 + y2 + y3) / 4
    end_x = max(x0, x1, x2, x3)
    dx, dy = end_x - _BARS_END_X, middle_y - _BARS_MIDDLE_Y  # where the front's corner lies
    beside = abs(dy) <= _PAIR_MIDDLE and WIDTH - _PAIR_END <= abs(dx) <= WIDTH * (1 + _PAIR_GAP)
    stacked = abs(dx) <= _PAIR_END and HEIGHT - _PAIR_MIDDLE <= abs(dy) \
        <= HEIGHT + WIDTH * _PAIR_GAP
    if not beside and not stacked:
        return False
    front = ((dx, 0.0, dx + WIDTH, float(HEIGHT)) if beside  # in the back's rows
             else (0.0, dy, float(WIDTH), dy + HEIGHT))  # in the back's columns
    seen = laid_in_line(gray, back, (0.0, 0.0, float(WIDTH), float(HEIGHT)), front,
                        reach=_EDGE_REACH, tolerance=_IN_LINE)
    if seen == UNSEEN:  # no edge of the back shows (a copy on white paper): the bars decide
        return abs(dy if beside else dx) <= _PAIR_LEVEL
    return seen == IN_LINE
