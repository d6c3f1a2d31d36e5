"""A seeded, reproducible corpus of simulated phone photos of cards (issue 13's measurement).

Three parts, pure Pillow and ``random.Random(seed)`` (same seed, byte-identical images):

* **Cards** — :func:`corpus_cards`: ``count`` genuine holders and as many altered ones, each
  issued with one fixed Ed25519 key (:func:`corpus_key`, :func:`trust_key`) and rendered front
  and back. An altered card keeps its genuine QR code while its print says something else:
  ``"code128"`` (the front's number and Code128 show another valid national number),
  ``"mrz_numbers"`` (the back shows another document number, MRZ check digits recomputed) or
  ``"mrz_name"`` (one letter of the family name changed in the MRZ, for a look-alike).
* **Photos** — :func:`corpus` yields :class:`Photo` values. Each photo is a :class:`Scene`
  (every random choice: :func:`draw_scene`) drawn by :func:`render_photo`; tests make clean
  ones with :func:`clean` and ``dataclasses.replace``. The simulation, in order:

  - *table*: a flat wood, laminate, cloth, paper or dark desk top; *clutter*: pens, coins,
    sticky notes with scribbles, a phone, a cable, a printed receipt, coloured shapes;
  - the card face(s) (``back``, ``front`` or a ``pair`` side by side or stacked) with rounded
    corners and a soft drop shadow; a *neighbour* beside them, never over them: another
    holder's front or back, a parcel label (text and a Code128 of 8-14 letters and digits,
    sometimes 12 digits) or a flyer with the QR code of an https URL (a quarter of them upper
    case, as alphanumeric-mode generators write them);
  - *glare*: a soft bright ellipse on one face, in the card's plane; ``glare_qr`` centres it
    on the QR code at a peak of at most 85 % white;
  - a *finger*: a thumb and the hand behind it over an edge of one face, soft and shadowed,
    never over a QR code, the MRZ, the Code128, the other face or the neighbour;
  - the *camera*: the table plane tilted up to 25 degrees about any in-plane axis, seen by a
    pinhole camera 1.2-2.5 times the scene's size away (true keystone), turned by any angle,
    at 150 to 300 dpi (the card 500-1000 px wide); the warp is one ``Image.transform`` with
    PERSPECTIVE coefficients solved from four point pairs (:func:`perspective_coefficients`);
  - *light*: exposure, black level and contrast, a colour cast, light falling off across the
    frame, slow mottling, and sometimes a *shadow* (a soft dark polygon from a frame edge);
  - *blur* (Gaussian, sigma 0-1.5 photo px), *motion blur* in a minority (a 6-20 px box along
    a frame axis), *noise* (Gaussian, sigma 2-8 grey levels, luminance), *JPEG* (quality
    40-92).
* **Rates** — :func:`evaluate` scores each photo against what ``Verifier.check_image`` said (a
  result, or the :class:`cardlib.CardError` it raised) and :meth:`Rates.table` prints the
  issue's figures per layout, neighbour, tilt, blur and condition as Markdown.
"""

from __future__ import annotations

import dataclasses
import io
import math
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Final, cast

import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFilter

import cardlib
from cardlib.barcodes import QR_QUIET_MODULES, code128_image, qr_matrix
from cardlib.render import (
    HEIGHT,
    MRZ_ZONE,
    QR_MODULE_PX,
    WIDTH,
    default_layout,
    font,
    render_back,
    render_front,
)

from ._cards import fixed_key
from .conftest import CHECKED, ISSUED

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "ALTERATIONS",
    "CHECKED",
    "CONDITIONS",
    "LAYOUTS",
    "MAX_PIXELS",
    "MAX_SIDE",
    "NEIGHBOURS",
    "CorpusCard",
    "GroupRates",
    "Photo",
    "Rates",
    "Ratio",
    "Scene",
    "Scored",
    "clean",
    "corpus",
    "corpus_cards",
    "corpus_key",
    "draw_scene",
    "evaluate",
    "perspective_coefficients",
    "render_photo",
    "score",
    "trust_key",
    "verifier",
]

ALTERATIONS: Final = ("code128", "mrz_numbers", "mrz_name")
LAYOUTS: Final = ("back", "front", "pair")
NEIGHBOURS: Final = ("card_front", "card_back", "label", "qr")
CONDITIONS: Final = ("clutter", "shadow", "glare", "glare_qr", "finger", "blur", "motion_blur",
                     "noise", "jpeg", "150dpi")
MAX_SIDE: Final = 2400  # px; the issue's bound is 2,500 x 2,500
MAX_PIXELS: Final = 3_000_000  # and a photo costs about 0.1 s per megapixel to make
CARD_RADIUS: Final = 37  # ID-1 corner radius 3.18 mm at 300 dpi

# --- cards ----------------------------------------------------------------------------------------

_MALE: Final = (
    ("محمد", "Mohamed"), ("أحمد", "Ahmed"), ("علي", "Ali"), ("عبد الرحمن", "Abd Al Rahman"),
    ("عبد الله", "Abdullah"), ("سالم", "Salem"), ("خالد", "Khaled"), ("يوسف", "Youssef"),
    ("عمر", "Omar"), ("إبراهيم", "Ibrahim"), ("مصطفى", "Mustafa"), ("حسين", "Hussein"),
    ("طارق", "Tarek"), ("منصور", "Mansour"), ("عبد السلام", "Abd El Salam"),
    ("نور الدين", "Nour Eddine"), ("الهادي", "El Hadi"), ("عبد الرحمن", "Abdulrahman"),
)
_FEMALE: Final = (
    ("فاطمة", "Fatima"), ("عائشة", "Aisha"), ("مريم", "Maryam"), ("خديجة", "Khadija"),
    ("زينب", "Zainab"), ("سارة", "Sara"), ("نور الهدى", "Nour Al Huda"), ("أسماء", "Asma"),
    ("هدى", "Huda"), ("آمنة", "Amna"), ("سعاد", "Souad"), ("أم كلثوم", "Om Kalthoum"),
)
_FAMILY: Final = (
    ("الورفلي", "Elwarfali"), ("بن علي", "Ben Ali"), ("المبروك", "El Mabrouk"),
    ("الترهوني", "Al Tarhouni"), ("المصراتي", "El Misrati"), ("الشريف", "El Sherif"),
    ("الفيتوري", "El Fitouri"), ("بوزيد", "Bouzaid"), ("الككلي", "El Kikli"),
    ("السنوسي", "Al Senussi"), ("بن حليم", "Ben Halim"), ("عبد الجليل", "Abd El Jalil"),
    ("القماطي", "El Gamati"), ("الزوي", "Al Zway"), ("أبو شعالة", "Abu Shaala"),
)
_CITIES: Final = ("طرابلس", "بنغازي", "مصراتة", "سبها", "الزاوية", "درنة", "غريان", "سرت")
_STREETS: Final = ("شارع عمر المختار", "شارع الجمهورية", "طريق الشط", "شارع الاستقلال",
                   "حي الأندلس", "شارع بن عاشور")
_CENTRES: Final = ("TRP-01", "TRP-02", "TRP-03", "BEN-01", "MIS-01", "SEB-01")
# Letters a forger (or a misprint) swaps for one that looks alike.
_LOOKALIKE: Final = {"n": "m", "m": "n", "i": "l", "l": "i", "o": "q", "r": "p", "a": "e",
                     "u": "v", "h": "n", "s": "z", "t": "f", "b": "r", "d": "o", "f": "e",
                     "k": "x", "z": "s", "g": "c", "y": "v", "c": "g", "e": "f"}


@dataclass(frozen=True)
class CorpusCard:
    """One corpus card: the signed record and payload, the rendered faces (RGB, 1011 x 638 px),
    which printed elements were altered, and the records each face was printed from."""

    record: cardlib.HolderRecord  # what the QR code signs
    payload: str
    front: Image.Image
    back: Image.Image
    altered: frozenset[str]
    front_record: cardlib.HolderRecord  # what the front prints (differs for "code128")
    back_record: cardlib.HolderRecord  # what the back prints (differs for "mrz_*")
    qr_box: tuple[int, int, int, int]  # the QR symbol on the back, quiet zone included


def corpus_key() -> cardlib.PrivateKey:
    """The one Ed25519 key every corpus card is issued with (tests/_cards.py's fixed key)."""
    return fixed_key()


def trust_key() -> cardlib.PublicKey:
    return fixed_key().public_key


def verifier() -> cardlib.Verifier:
    """A verifier trusting the corpus key that needs no revocation data: ``valid`` means the
    signature held and the print agreed."""
    return cardlib.Verifier(keys=[trust_key()],
                            policy=cardlib.Policy(require_revocation=False))


def corpus_cards(count: int = 20, seed: int = 0, *, altered: int | None = None
                 ) -> list[CorpusCard]:
    """``count`` genuine cards, then ``altered`` (default ``count``) altered ones, all of distinct
    holders; the alterations cycle through :data:`ALTERATIONS`. Cached: rendering costs about
    0.1 s a card."""
    return list(_cards(count, seed, count if altered is None else altered))


@lru_cache(maxsize=4)
def _cards(count: int, seed: int, altered: int) -> tuple[CorpusCard, ...]:
    rng = random.Random(seed)
    layout = default_layout()
    out: list[CorpusCard] = []
    seen: set[tuple[str, ...]] = set()
    while len(out) < count + altered:
        record = _holder(rng, len(out))
        key = (record.name_latin.full, record.national_number or "", record.document_number)
        if any(part in {p for s in seen for p in s} for part in key):
            continue  # distinct names, numbers and document numbers
        kinds = frozenset() if len(out) < count else \
            frozenset({ALTERATIONS[(len(out) - count) % len(ALTERATIONS)]})
        front_record, back_record = _altered(record, kinds, rng)
        portrait = _portrait(rng, record.sex)
        try:
            front = render_front(front_record, layout, portrait)
        except cardlib.UnprintableError:
            continue  # a name too long for the card: draw another holder
        payload = cardlib.issue(record, corpus_key(), now=ISSUED)
        back = render_back(back_record, payload, layout)
        seen.add(key)
        out.append(CorpusCard(record, payload, front, back, kinds, front_record, back_record,
                              _qr_box(payload)))
    return tuple(out)


def _qr_box(payload: str) -> tuple[int, int, int, int]:
    """Where render_back puts the QR symbol: at the left edge, centred above the MRZ band."""
    side = (qr_matrix(payload).size + 2 * QR_QUIET_MODULES) * QR_MODULE_PX
    top = (HEIGHT - MRZ_ZONE - side) // 2
    return 0, top, side, top + side


def _check_digit(digits: str) -> str:
    """A Luhn digit: the real algorithm is not public and cardlib checks structure only."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def _national_number(sex: cardlib.Sex, year: int, serial: int) -> str:
    body = f"{int(sex)}{year:04d}{serial:06d}"
    return body + _check_digit(body)


def _holder(rng: random.Random, index: int) -> cardlib.HolderRecord:
    sex = cardlib.Sex.FEMALE if rng.random() < 0.45 else cardlib.Sex.MALE
    first = rng.choice(_FEMALE if sex is cardlib.Sex.FEMALE else _MALE)
    father, grandfather = rng.choice(_MALE), rng.choice(_MALE)
    family = rng.choice(_FAMILY)
    mother = (rng.choice(_FEMALE), rng.choice(_MALE), rng.choice(_FAMILY))
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(56 * 365))
    issued = ISSUED.date() - timedelta(days=rng.randrange(300))
    return cardlib.HolderRecord(
        category=cardlib.HolderCategory.CITIZEN,
        name_ar=cardlib.FourPartName(first[0], father[0], grandfather[0], family[0]),
        name_latin=cardlib.FourPartName(first[1], father[1], grandfather[1], family[1]),
        mother_name_ar=" ".join(part[0] for part in mother),
        mother_name_latin=" ".join(part[1] for part in mother),
        date_of_birth=birth,
        place_of_birth=rng.choice(_CITIES),
        sex=sex,
        nationality="LBY",
        address=f"{rng.choice(_STREETS)}، {rng.choice(_CITIES)}",
        document_number=f"LY{rng.randrange(10**7):07d}",
        centre_code=rng.choice(_CENTRES),
        issue_date=issued,
        expiry_date=issued.replace(year=issued.year + 10) - timedelta(days=1),
        national_number=_national_number(sex, birth.year, rng.randrange(1, 10**6)),
        phone=f"+218 9{rng.randrange(1, 5)} {rng.randrange(10**6, 10**7)}"
        if rng.random() < 0.7 else None,
    )


def _altered(record: cardlib.HolderRecord, kinds: frozenset[str], rng: random.Random
             ) -> tuple[cardlib.HolderRecord, cardlib.HolderRecord]:
    """The records the front and the back are printed from."""
    front = back = record
    if "code128" in kinds:
        number = record.national_number or ""
        serial = int(number[5:11])
        other = (serial + rng.randrange(1, 10**5)) % 10**6 or 1
        front = dataclasses.replace(
            record, national_number=_national_number(record.sex, int(number[1:5]), other))
    if "mrz_numbers" in kinds:
        digits = list(record.document_number)
        where = rng.randrange(2, len(digits))
        digits[where] = str((int(digits[where]) + rng.randrange(1, 10)) % 10)
        back = dataclasses.replace(back, document_number="".join(digits))
    if "mrz_name" in kinds:
        family = record.name_latin.family
        where = rng.choice([i for i, ch in enumerate(family) if ch.lower() in _LOOKALIKE])
        swapped = _LOOKALIKE[family[where].lower()]
        swapped = swapped.upper() if family[where].isupper() else swapped
        back = dataclasses.replace(back, name_latin=dataclasses.replace(
            record.name_latin, family=family[:where] + swapped + family[where + 1:]))
    return front, back


def _portrait(rng: random.Random, sex: cardlib.Sex) -> Image.Image:
    """A plain synthetic head and shoulders, 250 x 320 px."""
    image = Image.new("RGB", (250, 320), rng.choice(((222, 230, 238), (238, 238, 232),
                                                     (205, 220, 235), (245, 245, 245))))
    draw = ImageDraw.Draw(image)
    skin = rng.choice(((224, 184, 150), (198, 152, 118), (160, 112, 80), (236, 200, 170)))
    shade = tuple(max(0, c - 30) for c in skin)
    draw.ellipse((8, 228, 242, 430), fill=rng.choice(((40, 44, 60), (90, 30, 30), (30, 70, 60),
                                                      (200, 200, 205))))
    draw.rectangle((102, 185, 148, 250), fill=shade)
    if sex is cardlib.Sex.FEMALE and rng.random() < 0.6:
        draw.ellipse((52, 30, 198, 250), fill=rng.choice(((30, 30, 40), (120, 40, 60),
                                                          (60, 80, 120), (150, 130, 110))))
        draw.ellipse((80, 70, 170, 205), fill=skin)
    else:
        draw.ellipse((68, 38, 182, 150), fill=rng.choice(((25, 20, 18), (60, 40, 25),
                                                          (110, 110, 110))))
        draw.ellipse((76, 62, 174, 208), fill=skin)
    for x in (101, 137):
        draw.ellipse((x, 118, x + 12, 126), fill=(35, 30, 30))
    draw.line((108, 170, 142, 170), fill=(150, 80, 80), width=3)
    return image.filter(ImageFilter.GaussianBlur(1.2))


# --- scenes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """Every choice one photo is made from; :func:`render_photo` draws it (``seed`` drives the
    details: table, clutter, noise). Lengths are in 300 dpi card pixels unless said otherwise."""

    seed: int
    card: int
    layout: str  # LAYOUTS
    vertical: bool  # pair: the faces one above the other (else side by side)
    back_first: bool  # pair: the back left of (or above) the front
    neighbour: str | None  # NEIGHBOURS
    neighbour_card: int | None  # the card whose face is the neighbour
    neighbour_text: str | None  # the label's Code128 or the QR code's URL
    tilt: float  # degrees out of plane, 0-25
    tilt_axis: float  # direction of the tilt axis in the table plane, degrees
    rotation: float  # in-plane, degrees 0-360
    distance: float  # camera distance / size of what is on the table (smaller: more keystone)
    scale: float  # photo px per card px (0.5: 150 dpi, 1.0: 300 dpi), before the MAX_SIDE cap
    clutter: bool
    shadow: float  # 0, or how much the shadow darkens (0.25-0.55)
    glare: float  # 0, or the glare's peak (0-1 of white)
    glare_qr: bool  # the glare is centred on the QR code
    finger: bool
    blur: float  # Gaussian sigma, photo px
    motion: int  # motion blur length, photo px (0: none)
    noise: float  # sigma of the sensor noise, grey levels
    jpeg: int | None  # JPEG quality


def _weighted(rng: random.Random, options: Mapping[str | None, float]) -> str | None:
    return rng.choices(list(options), weights=list(options.values()))[0]


def draw_scene(seed: int, cards: Sequence[CorpusCard]) -> Scene:
    """The random choices of photo ``seed``."""
    rng = random.Random(seed << 1)
    card = rng.randrange(len(cards))
    layout = str(_weighted(rng, {"back": 0.4, "front": 0.25, "pair": 0.35}))
    neighbour = _weighted(rng, {None: 0.4, "card_front": 0.15, "card_back": 0.15,
                                "label": 0.15, "qr": 0.15})
    others = [i for i, other in enumerate(cards)
              if not other.altered and other.record != cards[card].record]
    neighbour_card = rng.choice(others) if neighbour in ("card_front", "card_back") else None
    text = None
    if neighbour == "label":
        alphabet = "0123456789" if rng.random() < 0.35 else "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
        text = "".join(rng.choice(alphabet) for _ in range(12 if alphabet[-1] == "9"
                                                            else rng.randint(8, 14)))
    elif neighbour == "qr":
        path = "".join(rng.choice("abcdefghijkmnopqrstuvwxyz0123456789")
                       for _ in range(rng.randint(4, 12)))
        host = rng.choice(("www.example.ly", "events.example.org", "shop.example.com"))
        text = f"https://{host}/{rng.choice(('e', 'p', 'promo', 'menu'))}/{path}"
        if rng.random() < 0.25:  # an alphanumeric-mode URL, as some generators write them
            text = text.upper()
    back_in_view = layout != "front"
    glare = rng.uniform(0.5, 0.95) if rng.random() < 0.35 else 0.0
    glare_qr = bool(glare) and back_in_view and rng.random() < 0.35
    blur = rng.uniform(0.0, 1.5) if rng.random() < 0.7 else 0.0
    return Scene(
        seed=seed, card=card, layout=layout, vertical=rng.random() < 0.3,
        back_first=rng.random() < 0.5, neighbour=neighbour, neighbour_card=neighbour_card,
        neighbour_text=text,
        tilt=0.0 if rng.random() < 0.1 else rng.uniform(0.0, 25.0),
        tilt_axis=rng.uniform(0.0, 180.0), rotation=rng.uniform(0.0, 360.0),
        distance=rng.uniform(1.2, 2.5),
        scale=rng.uniform(0.48, 0.55) if rng.random() < 0.3 else rng.uniform(0.55, 1.0),
        clutter=rng.random() < 0.6,
        shadow=rng.uniform(0.25, 0.55) if rng.random() < 0.35 else 0.0,
        glare=min(glare, 0.85) if glare_qr else glare, glare_qr=glare_qr,
        finger=rng.random() < 0.2, blur=blur,
        motion=rng.randint(6, 20) if rng.random() < 0.1 else 0,
        noise=rng.uniform(2.0, 8.0) if rng.random() < 0.8 else 0.0,
        jpeg=rng.randint(40, 92) if rng.random() < 0.9 else None,
    )


def clean(scene: Scene) -> Scene:
    """``scene`` with no tilt, no neighbour and no effect (a flat, sharp, lossless photo)."""
    return dataclasses.replace(scene, neighbour=None, neighbour_card=None, neighbour_text=None,
                               tilt=0.0, clutter=False, shadow=0.0, glare=0.0, glare_qr=False,
                               finger=False, blur=0.0, motion=0, noise=0.0, jpeg=None)


# --- photos ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    """One simulated phone photo and its truth."""

    image: Image.Image  # RGB
    seed: int
    card: int  # index into the cards
    layout: str  # "back", "front" or "pair" (both faces of the card in one photo)
    altered: frozenset[str]  # copied from the card
    neighbour: str | None  # None, "card_front", "card_back", "label" or "qr"
    tilt: float  # degrees of out-of-plane tilt (0-25)
    rotation: float  # in-plane rotation, degrees (0-360)
    motion_blur: bool
    conditions: tuple[str, ...]  # the effects applied, in CONDITIONS order
    payload: str  # the photographed card's QR text
    code128: str | None  # the Code128 printed on its front, when the front is in view
    scene: Scene


def corpus(seed: int, count: int, *, cards: Sequence[CorpusCard]) -> Iterator[Photo]:
    """``count`` photos of ``cards``; photo ``i`` depends only on ``seed`` and ``i``
    (its own seed is ``Photo.seed``: ``render_photo(draw_scene(photo.seed, cards), cards)``)."""
    seeds = random.Random(seed)
    for _ in range(count):
        yield render_photo(draw_scene(seeds.getrandbits(48), cards), cards)


Matrix = tuple[float, float, float, float, float, float, float, float, float]
Point = tuple[float, float]


def _mul(a: Matrix, b: Matrix) -> Matrix:
    return tuple(sum(a[3 * r + k] * b[3 * k + c] for k in range(3))  # type: ignore[return-value]
                 for r in range(3) for c in range(3))


def _apply(h: Matrix, x: float, y: float) -> Point:
    w = h[6] * x + h[7] * y + h[8]
    return (h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w


def _translate(dx: float, dy: float) -> Matrix:
    return (1.0, 0.0, dx, 0.0, 1.0, dy, 0.0, 0.0, 1.0)


def _scaling(s: float) -> Matrix:
    return (s, 0.0, 0.0, 0.0, s, 0.0, 0.0, 0.0, 1.0)


def _turn(degrees: float) -> Matrix:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)


def _camera(tilt: float, axis: float, distance: float) -> Matrix:
    """The table plane (z = 0, centred) tilted by ``tilt`` degrees about the in-plane axis at
    ``axis`` degrees (Rodrigues), ``distance`` in front of a pinhole camera, projected with a
    focal length equal to the distance (scale 1 at the centre)."""
    ux, uy = math.cos(math.radians(axis)), math.sin(math.radians(axis))
    c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
    r00, r01 = c + ux * ux * (1 - c), ux * uy * (1 - c)
    r10, r11 = ux * uy * (1 - c), c + uy * uy * (1 - c)
    r20, r21 = -uy * s, ux * s
    # (x, y, w) = (D r00 X + D r01 Y, D r10 X + D r11 Y, r20 X + r21 Y + D), divided by D
    return (r00, r01, 0.0, r10, r11, 0.0, r20 / distance, r21 / distance, 1.0)


def _solve(rows: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (raises ValueError when singular)."""
    n = len(rhs)
    m = [[*row, value] for row, value in zip(rows, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            raise ValueError("the points do not define a perspective map")
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= factor * m[col][c]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        out[r] = (m[r][n] - sum(m[r][c] * out[c] for c in range(r + 1, n))) / m[r][r]
    return out


def perspective_coefficients(dst: Sequence[Point], src: Sequence[Point]
                             ) -> tuple[float, ...]:
    """The 8 coefficients of ``Image.transform(..., Image.Transform.PERSPECTIVE, ...)`` that
    map output points ``dst`` to input points ``src`` (four of each):
    ``x_in = (a x + b y + c) / (g x + h y + 1)``, ``y_in = (d x + e y + f) / (g x + h y + 1)``."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -x * u, -y * u])
        rows.append([0, 0, 0, x, y, 1, -x * v, -y * v])
        rhs += [u, v]
    return tuple(_solve(rows, rhs))


def _map(coefficients: Sequence[float], x: float, y: float) -> Point:
    a, b, c, d, e, f, g, h = coefficients
    w = g * x + h * y + 1
    return (a * x + b * y + c) / w, (d * x + e * y + f) / w


@dataclass
class _Piece:
    """Something lying on the table: its box in card px (x, y, w, h) and, once the scale is
    known, its RGB image and mask in photo px, drawn centred on the box."""

    name: str
    art: Image.Image  # at 300 dpi, unturned
    angle: float  # degrees, counter-clockwise
    x: float
    y: float
    w: float
    h: float
    image: Image.Image | None = None
    mask: Image.Image | None = None


def _rounded(size: tuple[int, int], radius: float) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1),
                                           radius=max(1, round(radius)), fill=255)
    return mask


def _turned_box(w: float, h: float, angle: float) -> tuple[float, float]:
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return w * c + h * s, w * s + h * c


def _draw(piece: _Piece, s: float, radius: float) -> None:
    """The piece's image and mask at scale ``s``."""
    size = (max(1, round(piece.art.width * s)), max(1, round(piece.art.height * s)))
    image = piece.art.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    mask = _rounded(size, radius * s)
    if piece.angle:
        image = image.rotate(piece.angle, Image.Resampling.BILINEAR, expand=True)
        mask = mask.rotate(piece.angle, Image.Resampling.BILINEAR, expand=True)
    piece.image, piece.mask = image, mask


def _label(text: str, rng: random.Random) -> Image.Image:
    """A parcel label at 300 dpi: sender and address lines, a Code128 with its text."""
    bars = code128_image(text, module_px=4, height_px=150)
    width = max(900, bars.width + 80)
    label = Image.new("RGB", (width, 700), (250, 250, 246))
    draw = ImageDraw.Draw(label)
    draw.rectangle((0, 0, width - 1, 699), outline=(20, 20, 20), width=4)
    draw.rectangle((0, 0, width, 70), fill=(20, 20, 20))
    draw.text((24, 14), rng.choice(("PRIORITY", "EXPRESS", "PARCEL", "COURIER")),
              font=font("latin", 38, 700), fill=(255, 255, 255))
    words = ("Tripoli", "Benghazi", "Street", "Road", "Office", "Box", "Misrata", "Zone",
             "Building", "Floor", "Market", "Centre", "Ali", "Salem", "Trading", "Co.")
    for row in range(4):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(2, 5)))
        draw.text((30, 90 + 50 * row), line, font=font("latin", 34, 400), fill=(25, 25, 25))
    label.paste(bars.convert("RGB"), ((width - bars.width) // 2, 310))
    draw.text((width // 2, 470), text, font=font("mono", 40, 500), fill=(0, 0, 0), anchor="ma")
    draw.text((30, 560), f"Weight {rng.randint(1, 30)}.{rng.randint(0, 9)} kg",
              font=font("latin", 30, 400), fill=(60, 60, 60))
    return label


def _poster(url: str, rng: random.Random) -> Image.Image:
    """A flyer at 300 dpi: a coloured band, a caption and a QR code of ``url``."""
    symbol = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(cast("ReadableBuffer", symbol.to_image(scale=1, add_quiet_zones=True)))
    side = pixels.shape[0] if pixels.shape else 0
    qr = Image.frombytes("L", (side, side), pixels.tobytes())
    module = max(5, 520 // side)
    qr = qr.resize((side * module, side * module), Image.Resampling.NEAREST)
    width = qr.width + 120
    poster = Image.new("RGB", (width, qr.height + 300), (252, 252, 250))
    draw = ImageDraw.Draw(poster)
    colour = rng.choice(((200, 40, 40), (30, 90, 170), (20, 120, 70), (230, 140, 20)))
    draw.rectangle((0, 0, width, 150), fill=colour)
    draw.text((width // 2, 40), rng.choice(("SCAN ME", "Visit us", "Menu", "Win!")),
              font=font("latin", 60, 700), fill=(255, 255, 255), anchor="ma")
    poster.paste(qr.convert("RGB"), (60, 180))
    draw.text((width // 2, qr.height + 210), url.split("//")[-1][:34],
              font=font("latin", 30, 400), fill=(40, 40, 40), anchor="ma")
    return poster


def _neighbour(scene: Scene, cards: Sequence[CorpusCard], rng: random.Random,
               block: tuple[float, float]) -> _Piece | None:
    """The neighbour beside the faces' block (``block``: its size, card px), never over it."""
    if scene.neighbour is None:
        return None
    if scene.neighbour in ("card_front", "card_back"):
        other = cards[scene.neighbour_card or 0]
        art = other.front if scene.neighbour == "card_front" else other.back
    elif scene.neighbour == "label":
        art = _label(scene.neighbour_text or "0", rng)
    else:
        art = _poster(scene.neighbour_text or "https://example.org", rng)
    angle = rng.uniform(-20, 20)
    w, h = _turned_box(art.width, art.height, angle)
    bw, bh = block
    gap = rng.uniform(40, 200)
    side = rng.choice(("left", "right", "top", "bottom"))
    if side in ("left", "right"):
        x = bw + gap if side == "right" else -gap - w
        y = rng.uniform(-0.3 * h, bh - 0.7 * h)
    else:
        y = bh + gap if side == "bottom" else -gap - h
        x = rng.uniform(-0.3 * w, bw - 0.7 * w)
    return _Piece(scene.neighbour, art, angle, x, y, w, h)


def _faces(scene: Scene, card: CorpusCard, rng: random.Random) -> list[_Piece]:
    """The card's faces in view, from (0, 0), side by side or one above the other; the glare
    is drawn on the art (it lies on the laminate, in the card's plane)."""
    names = {"back": ["back"], "front": ["front"],
             "pair": ["back", "front"] if scene.back_first else ["front", "back"]}[scene.layout]
    gap = rng.uniform(20, 90)
    out: list[_Piece] = []
    for index, name in enumerate(names):
        offset = index * ((HEIGHT if scene.vertical else WIDTH) + gap)
        x, y = (0.0, offset) if scene.vertical else (offset, 0.0)
        art = card.back if name == "back" else card.front
        out.append(_Piece(name, art, 0.0, x, y, WIDTH, HEIGHT))
    if scene.glare:
        piece = rng.choice([p for p in out if p.name == "back"] if scene.glare_qr else out)
        if scene.glare_qr:
            left, top, right, bottom = card.qr_box
            cx, cy = rng.uniform(left + 60, right - 60), rng.uniform(top + 60, bottom - 60)
            radius = rng.uniform(0.15, 0.3) * (right - left)
        else:
            cx, cy = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT)
            radius = rng.uniform(0.12, 0.35) * HEIGHT
        piece.art = _glare(piece.art, cx, cy, radius, rng.uniform(1.0, 2.2), scene.glare)
    return out


def _glare(image: Image.Image, cx: float, cy: float, radius: float, stretch: float,
           peak: float) -> Image.Image:
    """A soft bright ellipse (a reflection on the laminate) centred at (cx, cy)."""
    small = (max(1, image.width // 4), max(1, image.height // 4))
    mask = Image.new("L", small, 0)
    rx, ry = radius * stretch / 4, radius / 4
    ImageDraw.Draw(mask).ellipse((cx / 4 - rx, cy / 4 - ry, cx / 4 + rx, cy / 4 + ry),
                                 fill=round(255 * peak))
    mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, ry * 0.6)))
    mask = mask.resize(image.size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", image.size, (255, 253, 245)), image, mask)


def _rect_distance(x: float, y: float, rect: tuple[float, float, float, float]) -> float:
    dx = max(rect[0] - x, 0.0, x - rect[2])
    dy = max(rect[1] - y, 0.0, y - rect[3])
    return math.hypot(dx, dy)


def _finger(canvas: Image.Image, faces: Sequence[_Piece], neighbour: _Piece | None,
            qr_box: tuple[int, int, int, int], to_px: tuple[float, float, float],
            rng: random.Random) -> bool:
    """A finger holding one face by an edge, and the hand behind it: skin-coloured, soft (it
    is nearer the lens), casting a shadow; the tip 40-150 card px in. On the back it comes
    from the top right of the QR code or from the right above the MRZ; on the front from the
    left (over the portrait) or from the top (over the header). Neither finger nor hand may
    cover a QR code, an MRZ, a Code128, the other face or the neighbour: a draw that would is
    redrawn, and after 12 tries there is no finger (False)."""
    for _ in range(12):
        piece = rng.choice(list(faces))
        zones = {"back": (("top", qr_box[2] + 220, WIDTH - 60),
                          ("right", 40, HEIGHT - MRZ_ZONE - 130)),
                 "front": (("left", 150, 440), ("top", 80, 900))}[piece.name]
        edge, start, stop = rng.choice(zones)
        along, depth = rng.uniform(start, stop), rng.uniform(40, 150)
        normal = {"top": (0.0, -1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}[edge]
        tip = {"top": (along, depth), "left": (depth, along),
               "right": (WIDTH - depth, along)}[edge]
        angle = math.atan2(normal[1], normal[0]) + math.radians(rng.uniform(-30, 30))
        length, width = rng.uniform(280, 450), rng.uniform(170, 230)
        ca, sa = math.cos(angle), math.sin(angle)
        # The hand as circles (card px, on the table): tip, knuckle, palm (its longer radius).
        hand = [(piece.x + tip[0] + ca * d, piece.y + tip[1] + sa * d, r)
                for d, r in ((0.0, width / 2), (length, width / 2),
                             (length + 260, 2.1 * width + 20))]
        keep_off = [] if neighbour is None else [
            (neighbour.x, neighbour.y, neighbour.x + neighbour.w, neighbour.y + neighbour.h)]
        for face in faces:
            if face is not piece:
                keep_off.append((face.x, face.y, face.x + face.w, face.y + face.h))
            elif face.name == "back":
                keep_off += [(face.x + qr_box[0] - 20, face.y + qr_box[1] - 20,
                              face.x + qr_box[2] + 20, face.y + qr_box[3] + 20),
                             (face.x, face.y + HEIGHT - MRZ_ZONE, face.x + WIDTH,
                              face.y + HEIGHT)]
            else:
                keep_off.append((face.x + 470, face.y + 520, face.x + WIDTH, face.y + HEIGHT))
        if all(_rect_distance(x, y, rect) > r for x, y, r in hand for rect in keep_off):
            break
    else:
        return False
    ox, oy, s = to_px
    q = s / 2  # the hand is drawn at half the canvas resolution: it is soft anyway
    ca, sa = math.cos(angle), math.sin(angle)
    tip_x, tip_y = (piece.x + tip[0] - ox) * q, (piece.y + tip[1] - oy) * q
    palm = (tip_x + ca * (length + 260) * q, tip_y + sa * (length + 260) * q)
    reach = (length + 800) * q
    box = (int(min(tip_x, tip_x + ca * reach) - 500 * q), int(min(tip_y, tip_y + sa * reach)
           - 500 * q), int(max(tip_x, tip_x + ca * reach) + 500 * q) + 1,
           int(max(tip_y, tip_y + sa * reach) + 500 * q) + 1)
    size = (box[2] - box[0], box[3] - box[1])
    a = (tip_x - box[0], tip_y - box[1])
    b = (a[0] + ca * length * q, a[1] + sa * length * q)
    c = (palm[0] - box[0], palm[1] - box[1])
    half = width * q / 2
    skin = rng.choice(((214, 168, 134), (190, 140, 104), (150, 100, 70), (232, 190, 160)))
    layer, alpha = Image.new("RGB", size, skin), Image.new("L", size, 0)
    shadow = Image.new("L", size, 0)
    lift = (12 * q, 18 * q)
    _hand(ImageDraw.Draw(shadow), (a[0] + lift[0], a[1] + lift[1]),
          (b[0] + lift[0], b[1] + lift[1]), (c[0] + lift[0], c[1] + lift[1]), angle, half, 1.0,
          110)
    _hand(ImageDraw.Draw(alpha), a, b, c, angle, half, 1.0, 255)
    draw = ImageDraw.Draw(layer)
    for step in range(5):  # darker at the sides, lighter along the middle
        tone = tuple(min(255, v - 40 + 12 * step) for v in skin)
        _hand(draw, a, b, c, angle, half, 1 - step * 0.17, tone)
    full = (round(size[0] * s / q), round(size[1] * s / q))
    origin = (round(box[0] * s / q), round(box[1] * s / q))
    soft = ImageFilter.GaussianBlur(1.5)

    def up(image: Image.Image, blur: ImageFilter.Filter = soft) -> Image.Image:
        return image.filter(blur).resize(full, Image.Resampling.BILINEAR)

    canvas.paste((0, 0, 0), origin, up(shadow, ImageFilter.GaussianBlur(max(1.0, 8 * q))))
    canvas.paste(up(layer), origin, up(alpha))
    return True


def _hand(draw: ImageDraw.ImageDraw, tip: Point, knuckle: Point, palm: Point, angle: float,
          half: float, thin: float, fill: int | tuple[int, ...]) -> None:
    """A finger (a capsule from ``tip`` to ``knuckle``) and the hand behind it (an ellipse)."""
    width = half * thin
    draw.line((tip, knuckle), fill=fill, width=max(1, round(2 * width)))
    for x, y in (tip, knuckle):
        draw.ellipse((x - width, y - width, x + width, y + width), fill=fill)
    ca, sa = math.cos(angle), math.sin(angle)
    along, across = 4.2 * half * (0.6 + 0.4 * thin), 3.4 * half * (0.5 + 0.5 * thin)
    outline = [(palm[0] + ca * along * math.cos(t) - sa * across * math.sin(t),
                palm[1] + sa * along * math.cos(t) + ca * across * math.sin(t))
               for t in (k * math.pi / 16 for k in range(32))]
    draw.polygon(outline, fill=fill)


def _table(size: tuple[int, int], s: float, rng: random.Random) -> Image.Image:
    """A table top: wood, laminate, cloth, paper or a dark desk (its slow mottling is in the
    light, see _lighting)."""
    kind = rng.choice(("wood", "laminate", "cloth", "paper", "dark"))
    base = {"wood": rng.choice(((150, 105, 65), (120, 80, 50), (185, 145, 100))),
            "laminate": rng.choice(((200, 200, 195), (170, 175, 180), (225, 220, 210))),
            "cloth": rng.choice(((40, 70, 120), (120, 40, 40), (60, 110, 70), (90, 90, 95))),
            "paper": rng.choice(((240, 238, 230), (250, 250, 250))),
            "dark": rng.choice(((35, 35, 38), (55, 50, 45)))}[kind]
    table = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(table)
    if kind == "wood":
        angle = rng.uniform(0, math.pi)
        dx, dy = math.cos(angle), math.sin(angle)
        reach = size[0] + size[1]
        for _ in range(int(reach / max(4.0, 14 * s))):
            offset = rng.uniform(-reach / 2, reach / 2)
            cx, cy = size[0] / 2 - dy * offset, size[1] / 2 + dx * offset
            delta = rng.randint(-30, 10)
            draw.line(((cx - dx * reach, cy - dy * reach), (cx + dx * reach, cy + dy * reach)),
                      fill=tuple(max(0, min(255, c + delta)) for c in base),
                      width=rng.randint(1, 3))
    elif kind == "cloth":
        step = max(2, round(6 * s))
        shade = tuple(max(0, c - 12) for c in base)
        for x in range(0, size[0], step):
            draw.line(((x, 0), (x, size[1])), fill=shade)
        for y in range(0, size[1], step * 2):
            draw.line(((0, y), (size[0], y)), fill=shade)
    return table


_WORDS: Final = ("total", "invoice", "date", "amount", "paid", "receipt", "thank", "you",
                 "customer", "Tripoli", "LYD", "12.50", "0.750", "tax", "ref", "No.", "cash",
                 "card", "change", "items", "qty", "price", "2026-03-14", "17:42")


def _clutter(table: Image.Image, s: float, keep_out: tuple[float, float, float, float],
             rng: random.Random) -> None:
    """Objects on the table: pens, coins, sticky notes, a phone, a cable, a printed receipt.
    ``keep_out`` (canvas px) is where the cards lie: objects go around it (cards are pasted on
    top anyway)."""
    draw = ImageDraw.Draw(table)
    w, h = table.size

    def spot() -> Point:
        for _ in range(20):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            if not (keep_out[0] < x < keep_out[2] and keep_out[1] < y < keep_out[3]):
                return x, y
        return x, y

    for _ in range(rng.randint(5, 14)):
        kind = rng.choice(("pen", "coin", "note", "phone", "cable", "shape", "receipt"))
        x, y = spot()
        angle = rng.uniform(0, math.pi)
        ca, sa = math.cos(angle), math.sin(angle)
        if kind in ("pen", "phone", "note", "shape"):
            length, width = {"pen": (rng.uniform(1100, 1600), rng.uniform(80, 120)),
                             "phone": (1700.0, 820.0), "note": (850.0, 850.0),
                             "shape": (rng.uniform(200, 900), rng.uniform(200, 900))}[kind]
            hl, hw = length * s / 2, width * s / 2
            corners = [(x + ca * u - sa * v, y + sa * u + ca * v)
                       for u, v in ((-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw))]
            colour = {"pen": rng.choice(((20, 40, 140), (15, 15, 15), (170, 20, 20))),
                      "phone": (18, 18, 22),
                      "note": rng.choice(((250, 235, 110), (250, 170, 190), (170, 235, 160))),
                      "shape": tuple(rng.randrange(256) for _ in range(3))}[kind]
            draw.polygon(corners, fill=colour)
            if kind == "phone":
                inner = [(x + ca * u * 0.9 - sa * v * 0.85, y + sa * u * 0.9 + ca * v * 0.85)
                         for u, v in ((-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw))]
                draw.polygon(inner, fill=(40, 45, 60))
            elif kind == "note":
                for row in range(5):  # handwriting: a wobbly line per row
                    v = -hw * 0.6 + row * hw * 0.3
                    points = [(x + ca * u - sa * (v + rng.uniform(-6, 6) * s),
                               y + sa * u + ca * (v + rng.uniform(-6, 6) * s))
                              for u in [(-0.8 + 0.1 * k) * hl for k in range(17)]]
                    draw.line(points, fill=(30, 50, 160), width=max(1, round(5 * s)))
            elif kind == "pen":
                draw.line(((corners[0][0] + corners[3][0]) / 2, (corners[0][1] + corners[3][1])
                           / 2, (corners[1][0] + corners[2][0]) / 2,
                           (corners[1][1] + corners[2][1]) / 2), fill=(230, 230, 230),
                          width=max(1, round(12 * s)))
        elif kind == "coin":
            r = rng.uniform(90, 140) * s
            metal = rng.choice(((200, 170, 90), (190, 190, 195), (170, 110, 60)))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(c - 40 for c in metal))
            draw.ellipse((x - r * 0.85, y - r * 0.85, x + r * 0.85, y + r * 0.85), fill=metal)
        elif kind == "cable":
            phase, amp = rng.uniform(0, 6.3), rng.uniform(50, 250) * s
            points = [(x + ca * t * s - sa * amp * math.sin(phase + t / 300),
                       y + sa * t * s + ca * amp * math.sin(phase + t / 300))
                      for t in range(-2000, 2001, 100)]
            draw.line(points, fill=rng.choice(((240, 240, 240), (25, 25, 25))),
                      width=max(2, round(35 * s)), joint="curve")
        else:
            receipt = Image.new("RGB", (round(620 * s), round(1100 * s)), (248, 248, 244))
            text = ImageDraw.Draw(receipt)
            face = font("latin", max(10, 2 * round(14 * s)), 400)
            for row in range(int(1000 * s / face.size / 1.4)):
                line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 4)))
                text.text((20 * s, 30 * s + row * face.size * 1.4), line, font=face,
                          fill=(45, 45, 50))
            turned = math.degrees(angle)
            mask = Image.new("L", receipt.size, 255).rotate(turned, expand=True)
            receipt = receipt.rotate(turned, Image.Resampling.BILINEAR, expand=True)
            table.paste(receipt, (round(x - receipt.width / 2), round(y - receipt.height / 2)),
                        mask)


def _paste(canvas: Image.Image, piece: _Piece, to_px: tuple[float, float, float]) -> None:
    """The piece on the table canvas, centred on its box, over its own soft shadow."""
    assert piece.image is not None and piece.mask is not None
    ox, oy, s = to_px
    x = round((piece.x + piece.w / 2 - ox) * s - piece.image.width / 2)
    y = round((piece.y + piece.h / 2 - oy) * s - piece.image.height / 2)
    shadow = piece.mask.point(lambda v: v * 0.35).filter(
        ImageFilter.GaussianBlur(max(1.0, 5 * s)))
    canvas.paste((10, 10, 10), (x + round(4 * s), y + round(7 * s)), shadow)
    canvas.paste(piece.image, (x, y), piece.mask)


def _lighting(image: Image.Image, scene: Scene, rng: random.Random) -> Image.Image:
    """Exposure and contrast, a colour cast, light falling off across the frame, and the soft
    shadow of the phone or a hand."""
    black, white = rng.uniform(0, 35), rng.uniform(225, 255)
    cast = (1.0, rng.uniform(0.94, 1.0), rng.uniform(0.86, 1.0))
    gain = rng.uniform(1.0, 1.12)
    lut = [min(255, max(0, round((black + v * (white - black) / 255) * gain * k)))
           for k in cast for v in range(256)]
    image = image.point(lut)
    small = (max(2, image.width // 8), max(2, image.height // 8))
    light = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize(
        small, Image.Resampling.BILINEAR)
    fall = rng.uniform(0.0, 0.3)
    light = light.point(lambda v: round(255 - v * fall))
    mottle = Image.new("L", small, 255)  # slow unevenness: of the light, of the table
    draw = ImageDraw.Draw(mottle)
    for _ in range(30):
        x, y = rng.uniform(0, small[0]), rng.uniform(0, small[1])
        r = rng.uniform(2, max(3, small[0] / 5))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(228, 255))
    light = ImageChops.multiply(light, mottle.filter(ImageFilter.GaussianBlur(3)))
    if scene.shadow:
        shade = Image.new("L", small, 255)
        edge = rng.randrange(4)
        w, h = small
        start = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
        a, b = start[edge], start[(edge + 1) % 4]
        reach = rng.uniform(0.3, 0.7)
        cx, cy = w / 2, h / 2
        inner = [(p[0] + (cx - p[0]) * reach * rng.uniform(0.8, 1.6),
                  p[1] + (cy - p[1]) * reach * rng.uniform(0.8, 1.6)) for p in (b, a)]
        ImageDraw.Draw(shade).polygon([a, b, *inner], fill=round(255 * (1 - scene.shadow)))
        light = ImageChops.multiply(light, shade.filter(
            ImageFilter.GaussianBlur(rng.uniform(0.8, 3.0))))
    light = light.resize(image.size, Image.Resampling.BILINEAR)
    return ImageChops.multiply(image, Image.merge("RGB", (light, light, light)))


_NORMAL: Final = statistics.NormalDist()


def _noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Gaussian sensor noise from seeded bytes, in luminance (phones smooth the colour
    noise away)."""
    lut = [max(0, min(255, round(128 + sigma * _NORMAL.inv_cdf((v + 0.5) / 256))))
           for v in range(256)]
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    noise = noise.point(lut)
    return ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), scale=1.0,
                          offset=-128)


def render_photo(scene: Scene, cards: Sequence[CorpusCard]) -> Photo:
    """Draw ``scene`` as a phone photo (RGB, at most MAX_SIDE px a side)."""
    rng = random.Random((scene.seed << 1) | 1)
    card = cards[scene.card]
    # 1. What lies where on the table, in card px.
    faces = _faces(scene, card, rng)
    block = (max(p.x + p.w for p in faces), max(p.y + p.h for p in faces))
    neighbour = _neighbour(scene, cards, rng, block)
    pieces = [*faces, *([] if neighbour is None else [neighbour])]
    left, top = min(p.x for p in pieces), min(p.y for p in pieces)
    right, bottom = max(p.x + p.w for p in pieces), max(p.y + p.h for p in pieces)
    diagonal = math.hypot(right - left, bottom - top)
    # 2. The camera (table card px → photo card px, scale 1 at the centre, then turned) and
    # the frame: what lies on the table plus a margin; then the scale, capped at MAX_SIDE.
    seen = _mul(_turn(scene.rotation), _mul(
        _camera(scene.tilt, scene.tilt_axis, scene.distance * diagonal),
        _translate(-(left + right) / 2, -(top + bottom) / 2)))
    corners = [(left, top), (right, top), (right, bottom), (left, bottom)]
    projected = [_apply(seen, x, y) for x, y in corners]
    x0, x1 = min(p[0] for p in projected), max(p[0] for p in projected)
    y0, y1 = min(p[1] for p in projected), max(p[1] for p in projected)
    span = max(x1 - x0, y1 - y0)
    margin = [rng.uniform(0.03, 0.2) * span for _ in range(4)]
    frame = (x1 - x0 + margin[0] + margin[2], y1 - y0 + margin[1] + margin[3])
    # a pair at 300 dpi may not fit: zoom out
    s = min(scene.scale, MAX_SIDE / max(frame), math.sqrt(MAX_PIXELS / (frame[0] * frame[1])))
    to_photo = _mul(_scaling(s), _mul(_translate(margin[0] - x0, margin[1] - y0), seen))
    size = (math.ceil(frame[0] * s), math.ceil(frame[1] * s))
    # 3. The table under the frame: the frame's corners carried back onto the table.
    out_corners = [_apply(to_photo, x, y) for x, y in corners]
    back_map = perspective_coefficients(out_corners, corners)
    reach = [_map(back_map, x, y) for x, y in
             ((0.0, 0.0), (size[0], 0.0), (size[0], size[1]), (0.0, size[1]))]
    ox = max(min(p[0] for p in reach), left - diagonal) - 20
    oy = max(min(p[1] for p in reach), top - diagonal) - 20
    ex = min(max(p[0] for p in reach), right + diagonal) + 20
    ey = min(max(p[1] for p in reach), bottom + diagonal) + 20
    to_px = (ox, oy, s)
    canvas = _table((math.ceil((ex - ox) * s), math.ceil((ey - oy) * s)), s, rng)
    if scene.clutter:
        _clutter(canvas, s, ((left - ox) * s, (top - oy) * s, (right - ox) * s,
                             (bottom - oy) * s), rng)
    for piece in pieces:
        _draw(piece, s, CARD_RADIUS if piece.name in ("front", "back", "card_front",
                                                      "card_back") else 6)
        _paste(canvas, piece, to_px)
    finger = scene.finger and _finger(canvas, faces, neighbour, card.qr_box, to_px, rng)
    # 4. Through the lens: the perspective warp, then light, blur, noise and JPEG.
    on_canvas = [((x - ox) * s, (y - oy) * s) for x, y in corners]
    coefficients = perspective_coefficients(out_corners, on_canvas)
    fill = canvas.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    image = canvas.transform(size, Image.Transform.PERSPECTIVE, coefficients,
                             Image.Resampling.BILINEAR, fillcolor=fill)
    image = _lighting(image, scene, rng)
    if scene.blur >= 0.2:
        image = image.filter(ImageFilter.GaussianBlur(scene.blur))
    if scene.motion:
        half = scene.motion / 2
        image = image.filter(ImageFilter.BoxBlur((half, 0) if rng.random() < 0.5 else (0, half)))
    if scene.noise:
        image = _noise(image, scene.noise, rng)
    if scene.jpeg is not None:
        data = io.BytesIO()
        image.save(data, "JPEG", quality=scene.jpeg)
        image = Image.open(io.BytesIO(data.getvalue())).convert("RGB")
    applied = {"clutter": scene.clutter, "shadow": bool(scene.shadow), "glare": bool(scene.glare),
               "glare_qr": scene.glare_qr, "finger": finger, "blur": scene.blur >= 0.5,
               "motion_blur": bool(scene.motion), "noise": bool(scene.noise),
               "jpeg": scene.jpeg is not None, "150dpi": s <= 0.56}
    return Photo(image=image, seed=scene.seed, card=scene.card, layout=scene.layout,
                 altered=card.altered, neighbour=scene.neighbour, tilt=scene.tilt,
                 rotation=scene.rotation, motion_blur=bool(scene.motion),
                 conditions=tuple(c for c in CONDITIONS if applied[c]), payload=card.payload,
                 code128=None if scene.layout == "back" else card.front_record.identifier,
                 scene=scene)


# --- rates ----------------------------------------------------------------------------------------

Outcome = cardlib.VerificationResult | cardlib.CardError
_IN_VIEW: Final = {"code128": "front", "mrz_numbers": "back", "mrz_name": "back"}
_READ: Final = frozenset({"agrees", "disagrees"})


@dataclass(frozen=True)
class Scored:
    """One photo reduced to the events the rates count."""

    photo: Photo
    outcome: str  # "valid", the result's code, or the code of the error raised
    qr_read: bool  # this card's QR code was read
    wrong_card: bool  # the verdict is on another card (a neighbour's QR code)
    verified: bool  # valid, on this card
    mrz_compared: bool  # the MRZ was read and compared
    code128_compared: bool  # this card's Code128 was read and compared
    false_alarm: bool  # a genuine card reported print_mismatch
    caught: frozenset[str]  # altered elements read and reported
    missed: frozenset[str]  # altered elements read and passed
    unread: frozenset[str]  # altered elements in view but not read


def _elements(result: cardlib.VerificationResult) -> Mapping[str, str] | None:
    """The per-element print check (``result.scan.elements``: a mapping or (element, state)
    pairs), where this cardlib has it; None for an older cardlib."""
    if result.scan is None:
        return {}
    elements = getattr(result.scan, "elements", None)
    return None if elements is None else dict(elements)


def score(photo: Photo, outcome: Outcome) -> Scored:
    empty: frozenset[str] = frozenset()
    in_view = {e for e in photo.altered
               if photo.layout == "pair" or photo.layout == _IN_VIEW[e]}
    if isinstance(outcome, cardlib.CardError):
        return Scored(photo, outcome.code, False, False, False, False, False, False,
                      empty, empty, frozenset(in_view))
    result = outcome
    barcodes = () if result.scan is None else result.scan.barcodes
    qr_read = ("qr", photo.payload) in barcodes
    if result.card is not None and not qr_read:
        # the verdict is on another card (a neighbour's QR code was read, this card's was not):
        # its elements are that card's, none of this card's was read; a mismatch still counts
        # as a false alarm on a genuine photo (the neighbour may be genuine too)
        return Scored(photo, result.code or result.status, False, True, False, False, False,
                      not photo.altered and result.code == "print_mismatch", empty, empty,
                      frozenset(in_view))
    mismatch = result.code == "print_mismatch"
    elements = _elements(result)
    verified_card = result.card is not None and qr_read
    if elements is not None:
        mrz = elements.get("mrz_numbers") in _READ
        code128 = elements.get("code128") in _READ
        states = {e: elements.get(e, "not_read") for e in in_view}
        decoded = {text for kind, text in barcodes if kind == "code128"}
        decoded |= set(getattr(result.scan, "other_cards", ()))
        if ("code128" in states and states["code128"] not in _READ and verified_card
                and photo.code128 in decoded):
            states["code128"] = "agrees"  # read, but not taken for this card's: it passed
        caught = {e for e, state in states.items() if state == "disagrees"}
        missed = {e for e, state in states.items() if state == "agrees"}
    else:  # today: the MRZ lines when read, the Code128 texts, one print_agrees verdict
        mrz = result.scan is not None and result.scan.mrz is not None
        code128 = result.card is not None and ("code128", photo.code128) in barcodes
        read = {e for e in in_view if (code128 if e == "code128" else mrz) and verified_card}
        caught = read if mismatch else set()
        missed = set() if mismatch else read
    return Scored(
        photo, result.code or result.status, qr_read,
        wrong_card=result.card is not None and not qr_read,
        verified=result.status == "valid" and qr_read,
        mrz_compared=mrz and qr_read, code128_compared=code128,
        false_alarm=not photo.altered and mismatch,
        caught=frozenset(caught), missed=frozenset(missed),
        unread=frozenset(in_view - caught - missed))


@dataclass(frozen=True)
class Ratio:
    hit: int
    total: int

    def __str__(self) -> str:
        if not self.total:
            return "–"
        return f"{self.hit}/{self.total} ({100 * self.hit / self.total:.0f}%)"


@dataclass(frozen=True)
class GroupRates:
    photos: int
    verified: Ratio  # genuine, back in view, no motion blur: valid
    verified_motion: Ratio  # the same with motion blur
    qr_read: Ratio  # back in view: this card's QR read
    mrz: Ratio  # back in view and QR read: MRZ read and compared
    code128: Ratio  # front in view and its card's QR read: Code128 read and compared
    false_alarms: Ratio  # genuine photos reported print_mismatch
    caught: Ratio  # altered elements read: caught
    altered_read: Ratio  # altered elements in view: read


def _group(items: Sequence[Scored]) -> GroupRates:
    def ratio(hit: Iterable[bool]) -> Ratio:
        flags = list(hit)
        return Ratio(sum(flags), len(flags))

    back = [i for i in items if i.photo.layout != "front"]
    genuine_back = [i for i in back if not i.photo.altered]
    caught = sum(len(i.caught) for i in items)
    missed = sum(len(i.missed) for i in items)
    unread = sum(len(i.unread) for i in items)
    return GroupRates(
        photos=len(items),
        verified=ratio(i.verified for i in genuine_back if not i.photo.motion_blur),
        verified_motion=ratio(i.verified for i in genuine_back if i.photo.motion_blur),
        qr_read=ratio(i.qr_read for i in back),
        mrz=ratio(i.mrz_compared for i in back if i.qr_read),
        # A front alone carries nothing signed to compare its number with: like the MRZ, the
        # Code128 counts where the QR code of its card was read.
        code128=ratio(i.code128_compared for i in items if i.photo.layout != "back" and i.qr_read),
        false_alarms=ratio(i.false_alarm for i in items if not i.photo.altered),
        caught=Ratio(caught, caught + missed),
        altered_read=Ratio(caught + missed, caught + missed + unread),
    )


def _groups_of(item: Scored) -> list[str]:
    photo = item.photo
    tilt = "0-10" if photo.tilt < 10 else "10-20" if photo.tilt < 20 else "20-25"
    out = ["all", f"layout {photo.layout}", f"neighbour {photo.neighbour or 'none'}",
           f"tilt {tilt}°", "altered" if photo.altered else "genuine"]
    out += [f"+ {c}" for c in photo.conditions]
    if not set(photo.conditions) - {"jpeg", "noise"}:
        out.append("only jpeg/noise")
    if photo.neighbour != "card_back":
        out.append("one card in view")
    sigma = photo.scene.blur
    out.append("blur σ < 0.5" if sigma < 0.5 else "blur σ 0.5-1" if sigma < 1 else "blur σ ≥ 1")
    if sigma >= 1 and "150dpi" in photo.conditions:
        out.append("150dpi and blur σ ≥ 1")
    return out


@dataclass(frozen=True)
class Rates:
    """The issue's figures, overall and per group (layout, neighbour, tilt, condition)."""

    scored: tuple[Scored, ...]
    groups: tuple[tuple[str, GroupRates], ...]
    elements: tuple[tuple[str, Ratio, Ratio, int], ...]  # kind, caught/read, read/in view, unread
    outcomes: tuple[tuple[str, int], ...]

    def group(self, name: str) -> GroupRates:
        return dict(self.groups)[name]

    def table(self) -> str:
        head = ("| group | photos | verified (genuine, back in view, no motion blur) "
                "| verified with motion blur | QR read (back in view) | MRZ compared (QR read) "
                "| Code128 compared (front in view, QR read) | false alarms (genuine) "
                "| altered caught (read) | altered read (in view) |")
        lines = [head, "|" + "---|" * 10]
        for name, g in self.groups:
            lines.append(f"| {name} | {g.photos} | {g.verified} | {g.verified_motion} "
                         f"| {g.qr_read} | {g.mrz} | {g.code128} | {g.false_alarms} "
                         f"| {g.caught} | {g.altered_read} |")
        lines += ["", "| altered element | caught (of read) | read (of in view) | not read |",
                  "|---|---|---|---|"]
        lines += [f"| {kind} | {caught} | {read} | {unread} |"
                  for kind, caught, read, unread in self.elements]
        lines += ["", "| outcome | photos |", "|---|---|"]
        lines += [f"| {code} | {n} |" for code, n in self.outcomes]
        return "\n".join(lines)


def evaluate(photos_with_results: Iterable[tuple[Photo, Outcome]]) -> Rates:
    """Score each photo against what ``Verifier.check_image`` returned or raised."""
    scored = tuple(score(photo, outcome) for photo, outcome in photos_with_results)
    buckets: dict[str, list[Scored]] = {}
    for item in scored:
        for name in _groups_of(item):
            buckets.setdefault(name, []).append(item)
    order = ["all", "one card in view", "genuine", "altered", *(f"layout {x}" for x in LAYOUTS),
             "neighbour none", *(f"neighbour {x}" for x in NEIGHBOURS),
             "tilt 0-10°", "tilt 10-20°", "tilt 20-25°", "blur σ < 0.5", "blur σ 0.5-1",
             "blur σ ≥ 1", "150dpi and blur σ ≥ 1", "only jpeg/noise",
             *(f"+ {c}" for c in CONDITIONS)]
    groups = tuple((name, _group(buckets[name])) for name in order if name in buckets)
    elements = []
    for kind in ALTERATIONS:
        caught = sum(kind in i.caught for i in scored)
        missed = sum(kind in i.missed for i in scored)
        unread = sum(kind in i.unread for i in scored)
        elements.append((kind, Ratio(caught, caught + missed),
                         Ratio(caught + missed, caught + missed + unread), unread))
    outcomes = Counter(item.outcome for item in scored)
    return Rates(scored, groups, tuple(elements), tuple(outcomes.most_common()))
