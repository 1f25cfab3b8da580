"""LOLWUT: some computer art, then the server's version.

Redis answers ``LOLWUT`` with a piece of generative art for its major version, and only
the version line for a version that has none (7.0 has none of its own, so a bare LOLWUT
answers ``Redis ver. 7.0.15``). ``VERSION 5`` and ``VERSION 6`` are the two pieces Redis
7.0 ships; ours are pieces of our own, made the same two ways Redis makes its: drawing on
a canvas of dots rendered as Unicode braille characters (2 x 4 dots a character), and
painting cells with ANSI colours. The reply ends as Redis' does: ``... Redis ver.
<version>\\n``, a verbatim string in RESP3.
"""

from __future__ import annotations

import math
import random

from app.commands.arguments import integer
from app.commands.registry import command
from app.protocol import Verbatim
from app.state import REDIS_VERSION


class BrailleCanvas:
    """A grid of dots, each on or off, rendered as braille: U+2800 plus one bit per dot.

    Braille numbers a cell's dots 1-2-3-7 down the left column and 4-5-6-8 down the
    right one; ``_BITS[y][x]`` is the bit of the dot at column x, row y of a cell."""

    _BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.dots = bytearray(width * height)

    def dot(self, x: float, y: float) -> None:
        x, y = round(x), round(y)
        if 0 <= x < self.width and 0 <= y < self.height:
            self.dots[y * self.width + x] = 1

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(int(steps) + 1):
            self.dot(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)

    def render(self) -> str:
        rows = []
        for top in range(0, self.height, 4):
            row = []
            for left in range(0, self.width, 2):
                bits = 0
                for dy in range(4):
                    for dx in range(2):
                        x, y = left + dx, top + dy
                        if x < self.width and y < self.height and self.dots[y * self.width + x]:
                            bits |= self._BITS[dy][dx]
                row.append(chr(0x2800 + bits))
            rows.append("".join(row))
        return "\n".join(rows) + "\n"


def loosening_circles(columns: int, per_row: int, per_column: int) -> str:
    """VERSION 5: a grid of circles, tidy in the first row and more and more out of
    place, shrunken and broken further down: order giving way to chance."""
    size = max(columns * 2 // per_row, 1)  # dots per circle's cell; 2 dots a character
    canvas = BrailleCanvas(size * per_row, size * per_column)
    for row in range(per_column):
        disorder = row / max(per_column - 1, 1)
        for column in range(per_row):
            cx = column * size + size / 2 + random.uniform(-1, 1) * disorder * size / 3
            cy = row * size + size / 2 + random.uniform(-1, 1) * disorder * size / 3
            radius = size / 2.4 * (1 - disorder * random.uniform(0, 0.6))
            gap = disorder * random.uniform(0, math.pi)  # an arc left undrawn
            start = random.uniform(0, 2 * math.pi)
            points = max(int(radius * 6), 8)
            for i in range(points + 1):
                angle = start + gap + (2 * math.pi - gap) * i / points
                canvas.dot(cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    return canvas.render() + "\nCircles coming loose, one dot at a time, by a Python server."


# Background colours from the deep sea to the surface: ANSI 40-47 and their bright 100-107.
_SEA = (40, 44, 104, 46, 106, 47, 107)


def tide(columns: int, rows: int) -> str:
    """VERSION 6: waves painted cell by cell with ANSI background colours, two sines
    of different lengths crossing, with a little noise for foam."""
    phase = random.uniform(0, 2 * math.pi)
    lines = []
    for y in range(rows):
        cells = []
        for x in range(columns):
            height = (math.sin(x / 6 + phase) + math.sin(x / 2.5 - y / 3 + phase)) / 4 + 0.5
            depth = y / max(rows - 1, 1)
            shade = (1 - depth) * 0.6 + height * 0.4 + random.uniform(-0.08, 0.08)
            colour = _SEA[min(max(int(shade * len(_SEA)), 0), len(_SEA) - 1)]
            cells.append(f"\033[0;{colour}m \033[0m")
        lines.append("".join(cells))
    return "\n".join(lines) + "\n\nThe tide coming in, in seven ANSI colours, for a terminal wide enough."


MAX_TEXT = 200


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


@command("lolwut", arity=-1, flags="readonly fast", group="server", since="5.0.0",
         summary="Display some computer art and the Redis version", complexity="")
def lolwut(client, *args: bytes):
    version = int(REDIS_VERSION.split(".")[0])
    if len(args) >= 2 and args[0].lower() == b"version":
        version = integer(args[1])
    ending = f"Redis ver. {REDIS_VERSION}\n"
    # A piece reads as many sizes as it has (later words are ignored, as in Redis) and
    # clamps them to at most MAX_TEXT columns and rows of text: the art is drawn under the
    # keyspace lock, so no argument may make it big.
    if version == 5:
        columns, per_row, per_column = _sizes(args[2:], (66, 8, 12))
        columns, per_row = _clamp(columns, 1, MAX_TEXT), _clamp(per_row, 1, MAX_TEXT)
        rows_of_dots_each = max(columns * 2 // per_row, 1)
        per_column = _clamp(per_column, 1, max(MAX_TEXT * 4 // rows_of_dots_each, 1))
        return Verbatim(f"{loosening_circles(columns, per_row, per_column)} {ending}")
    if version == 6:
        columns, rows = _sizes(args[2:], (80, 20))
        return Verbatim(f"{tide(_clamp(columns, 1, MAX_TEXT), _clamp(rows, 1, MAX_TEXT))} {ending}")
    return Verbatim(ending)


def _sizes(args: tuple[bytes, ...], defaults: tuple[int, ...]) -> list[int]:
    """The piece's sizes: given ones (integers, or Redis' integer error), then defaults."""
    given = [integer(arg) for arg in args[: len(defaults)]]
    return given + list(defaults[len(given):])
