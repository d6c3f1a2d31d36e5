"""The card's outline (cardlib/scan/_outline.py): edges found where a map puts them."""

from __future__ import annotations

import math

import pytest
from PIL import Image, ImageFilter

from cardlib.render import HEIGHT, WIDTH
from cardlib.scan._mrz_ocr import Back, _inverse
from cardlib.scan._outline import (
    IN_LINE,
    OFF_LINE,
    UNSEEN,
    find_edge,
    find_outline,
    laid_in_line,
)

from ._cards import example_card
from ._photos import Matrix, _mul, _scaling, _translate, _turn

CARD = (0.0, 0.0, float(WIDTH), float(HEIGHT))


def _map(turn: float, scale: float, centre: tuple[float, float],
         card_centre: tuple[float, float] = (WIDTH / 2, HEIGHT / 2)) -> Matrix:
    """Card px to image px: turned ``turn`` degrees (clockwise on screen), scaled, with the
    card point ``card_centre`` at image point ``centre``."""
    return _mul(_translate(*centre), _mul(_turn(turn), _mul(
        _scaling(scale), _translate(-card_centre[0], -card_centre[1]))))


def _place(table: Image.Image, card: Image.Image, to_image: Matrix, *,
           shadow: int = 0) -> None:
    """Draw ``card`` on ``table`` where ``to_image`` puts it (an affine map), with a dark
    rim ``shadow`` px wide around it (a drop shadow's)."""
    inverse = _inverse(to_image)[:6]  # an affine map's inverse is affine
    if shadow:
        rim = Image.new("L", (card.width + 2 * shadow, card.height + 2 * shadow), 255)
        moved = (inverse[0], inverse[1], inverse[2] + shadow,
                 inverse[3], inverse[4], inverse[5] + shadow)
        mask = rim.transform(table.size, Image.Transform.AFFINE, moved,
                             Image.Resampling.BICUBIC)
        table.paste((30, 30, 30), (0, 0), mask)
    mask = Image.new("L", card.size, 255).transform(table.size, Image.Transform.AFFINE,
                                                    inverse, Image.Resampling.BICUBIC)
    picture = card.convert("RGB").transform(table.size, Image.Transform.AFFINE, inverse,
                                            Image.Resampling.BICUBIC)
    table.paste(picture, (0, 0), mask)


def _moved(to_image: Matrix, dx: float, dy: float, turn: float) -> Matrix:
    """``to_image`` off by a shift and a turn about the card's centre: a map's own error."""
    cx, cy = WIDTH / 2, HEIGHT / 2
    return _mul(to_image, _mul(_translate(cx + dx, cy + dy),
                               _mul(_turn(turn), _translate(-cx, -cy))))


@pytest.mark.parametrize(("table_colour", "shadow", "scale"), [
    ((60, 50, 45), 0, 1.0),  # a dark desk
    ((225, 222, 215), 6, 1.0),  # a light desk: the card's shadow shows its edge
    ((110, 120, 130), 4, 0.5),  # 150 dpi, a grey desk, a shadow rim outside the card
])
def test_the_edges_are_found_where_the_card_lies(table_colour: tuple[int, int, int],
                                                 shadow: int, scale: float) -> None:
    """Looked for with a map 5 px and 0.3 degrees off, the four edges land on the card's
    true outline (within a pixel at every corner), not on the rim of its shadow."""
    card = example_card()[1].back
    table = Image.new("RGB", (round(1500 * scale), round(1100 * scale)), table_colour)
    truth = _map(7.0, scale, (table.width / 2, table.height / 2))
    _place(table, card, truth, shadow=shadow)
    photo = table.filter(ImageFilter.GaussianBlur(0.8)).convert("L")
    guess = Back(_moved(truth, 5.0, -4.0, 0.3), 0)
    outline = find_outline(photo, guess, CARD, reach=12)
    corners = outline.corners()
    assert corners is not None, outline
    expected = [Back(truth, 0).image_point(x, y) for x, y in
                ((0, 0), (WIDTH, 0), (WIDTH, HEIGHT), (0, HEIGHT))]
    found = [guess.image_point(x, y) for x, y in corners]
    errors = [math.dist(a, b) for a, b in zip(found, expected, strict=True)]
    assert max(errors) <= 1.0, errors


def test_no_edge_is_made_up() -> None:
    """A flat picture has no edge; an edge looked for where it is not (beyond the reach) is
    not found; a band running out of the image is not read (its border is not an edge)."""
    flat = Image.new("L", (1400, 1000), 128)
    frame = Back(_map(0.0, 1.0, (700, 500)), 0)
    assert not any(getattr(find_outline(flat, frame, CARD, reach=12), side)
                   for side in ("top", "right", "bottom", "left"))
    table = Image.new("RGB", (1400, 1000), (60, 50, 45))
    truth = _map(0.0, 1.0, (700, 500))
    _place(table, example_card()[1].back, truth)
    photo = table.convert("L")
    assert find_edge(photo, Back(truth, 0), (50, 0), (961, 0), 12, 1) is not None
    assert find_edge(photo, Back(_moved(truth, 0, 30, 0), 0), (50, 0), (961, 0), 12, 1) is None
    # a band across the image's top border: the white the warp fills in beyond it would make
    # a strong step there
    assert find_edge(photo, Back(_map(0.0, 1.0, (700, 320)), 0), (50, -1), (961, -1), 12,
                     1) is None
    with pytest.raises(ValueError, match="card axis"):
        find_edge(photo, Back(truth, 0), (0, 0), (100, 100), 12, 1)


def _two_cards(turn: float, drop: float, table_colour: tuple[int, int, int]
               ) -> tuple[Image.Image, Back, tuple[float, float, float, float]]:
    """A back and, 60 px to its right, a front turned ``turn`` degrees about its centre and
    lowered ``drop`` px, on a table; the back's map and where the front would lie in line."""
    _, card = example_card()
    table = Image.new("RGB", (2400, 900), table_colour)
    back = _map(4.0, 1.0, (620, 450))
    _place(table, card.back, back)
    gap = 60.0
    front = _map(4.0 + turn, 1.0, Back(back, 0).image_point(WIDTH + gap + WIDTH / 2,
                                                          HEIGHT / 2 + drop))
    _place(table, card.front, front)
    photo = table.filter(ImageFilter.GaussianBlur(0.7)).convert("L")
    return photo, Back(back, 0), (WIDTH + gap, 0.0, 2 * WIDTH + gap, float(HEIGHT))


def test_cards_laid_in_line() -> None:
    """Faces laid edge in line (a copy of both sides) are in line; a card turned half a
    degree, or lowered or raised by 5 to 14 px (beyond where its edge is looked for), is
    not, though its bars would pass for square and level; with no edge to see (cards on
    white paper) the outlines cannot say."""
    photo, back, front = _two_cards(0.0, 0.0, (60, 50, 45))
    assert laid_in_line(photo, back, CARD, front, reach=12, tolerance=2) == IN_LINE
    for turn, drop in ((0.5, 0.0), (-0.5, 0.0), (0.0, 5.0), (0.0, 10.0), (0.0, -14.0)):
        photo, back, front = _two_cards(turn, drop, (60, 50, 45))
        assert laid_in_line(photo, back, CARD, front, reach=12, tolerance=2) == OFF_LINE
    photo, back, front = _two_cards(0.0, 0.0, (255, 255, 255))
    assert laid_in_line(photo, back, CARD, front, reach=12, tolerance=2) == UNSEEN
