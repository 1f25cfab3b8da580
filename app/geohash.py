"""Geohashes: a position on Earth as one 52-bit integer, the score of a geo sorted set.

Redis' geo commands (geohash.c, geohash_helper.c) store each place in a sorted set whose
score encodes its longitude and latitude. This module follows those files step by step,
so that scores, decoded coordinates and distances match Redis to the last printed digit.

Encoding
    Halve the longitude range [-180, 180] 26 times, noting each time whether the point is
    in the upper half (1) or the lower one (0): 26 bits that say, from coarse to fine,
    where the point lies. Do the same for the latitude in [-85.05112878, 85.05112878]
    (the limits of the Web Mercator projection). Interleave the two, longitude bits at
    the odd positions and latitude bits at the even ones::

        longitude bits   l25 l24 ... l0
        latitude bits    a25 a24 ... a0
        hash             l25 a25 l24 a24 ... l0 a0        (52 bits)

    Each pair of bits picks one quarter of the current cell, so the first 2k bits of a
    hash name a cell of a grid of 2**k by 2**k cells, and every hash inside that cell
    starts with those bits: the cell is one contiguous range of scores. That is what
    makes a radius search a handful of ZRANGEBYSCORE-like scans.

Decoding
    The bits give the cell, not the point; GEOPOS answers the centre of the 52-bit cell,
    which is why the coordinates it prints differ from those given to GEOADD in the
    sixth decimal or so.

Searching
    `areas_for_shape` picks the cell size (``step``: the number of bits per coordinate)
    at which the search area fits within the cell of the centre and its eight
    neighbours, then the caller scans the score range of each of those nine cells and
    keeps the points really inside the circle or box (`distance`).

Distances are the haversine formula on a sphere of radius 6372797.560856 m, as in Redis.
The arithmetic here is the C code's, operation for operation (Python floats are C
doubles and ``math`` is the C library's), with C's behaviour where Python would raise:
``sin(inf)`` is NaN, not an error.
"""

from __future__ import annotations

import math
from typing import NamedTuple

STEP_MAX = 26  # bits per coordinate in a stored score: 52 in all
LONG_MIN, LONG_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37  # half the Earth's circumference at the equator, in metres
D_R = math.pi / 180.0  # degrees to radians, as Redis computes it

BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"  # the standard geohash alphabet (GEOHASH)

_UINT64 = 2**64 - 1


class HashBits(NamedTuple):
    """A geohash: ``bits`` with ``step`` bits per coordinate (the cell size). Step 0 is
    the "nothing" hash, which Redis uses for a neighbour not worth searching."""

    bits: int
    step: int


ZERO = HashBits(0, 0)


class Range(NamedTuple):
    min: float
    max: float


WGS84_LONGITUDE = Range(LONG_MIN, LONG_MAX)
WGS84_LATITUDE = Range(LAT_MIN, LAT_MAX)


class Area(NamedTuple):
    """The cell a hash names: its longitude and latitude bounds."""

    longitude: Range
    latitude: Range


# --------------------------------------------------------------------------- C arithmetic


def _c_math(function):
    """A math function that answers NaN, as C does, where Python raises (sin(inf))."""

    def call(x: float) -> float:
        try:
            return function(x)
        except ValueError:
            return math.nan

    return call


_sin, _cos, _asin, _sqrt = (_c_math(f) for f in (math.sin, math.cos, math.asin, math.sqrt))


def _divide(a: float, b: float) -> float:
    """a / b with IEEE results where Python raises ZeroDivisionError."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def deg_rad(angle: float) -> float:
    return angle * D_R


def rad_deg(angle: float) -> float:
    return angle / D_R


def score_to_bits(score: float) -> int:
    """A score as C's ``(uint64_t)score`` turns it into hash bits on x86-64, out-of-range
    values included: GEOPOS of a member added with ZADD -1 decodes bits 0xfff...f."""
    if score < 2.0**63:
        if score <= -(2.0**63) or score != score:
            return 2**63  # the "integer indefinite" of cvttsd2si
        return int(score) & _UINT64
    if score < 2.0**64:
        return int(score)
    return 0  # (score - 2**63) is out of range too: indefinite, xor the top bit


def score_to_int64(score: float) -> int:
    """C's ``(long long)score`` on x86-64 (WITHHASH prints the score this way)."""
    if -(2.0**63) <= score < 2.0**63:
        return int(score)
    return -(2**63)


# --------------------------------------------------------------------------- bits


def interleave(even: int, odd: int) -> int:
    """Spread the 32 bits of ``even`` over the even positions of a 64-bit word and those
    of ``odd`` over the odd positions (Redis: interleave64, bit tricks from "Bit
    Twiddling Hacks")."""
    masks = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF)
    shifts = (1, 2, 4, 8, 16)
    x, y = even & 0xFFFFFFFF, odd & 0xFFFFFFFF
    for mask, shift in zip(reversed(masks), reversed(shifts)):
        x = (x | (x << shift)) & mask
        y = (y | (y << shift)) & mask
    return x | (y << 1)


def deinterleave(bits: int) -> tuple[int, int]:
    """The inverse of `interleave`: (the even-position bits, the odd-position bits)."""
    masks = (0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF,
             0x0000FFFF0000FFFF, 0x00000000FFFFFFFF)
    shifts = (0, 1, 2, 4, 8, 16)
    x, y = bits & _UINT64, (bits & _UINT64) >> 1
    for mask, shift in zip(masks, shifts):
        x = (x | (x >> shift)) & mask
        y = (y | (y >> shift)) & mask
    return x, y


# --------------------------------------------------------------------------- encode, decode


def encode(longitude: float, latitude: float, step: int = STEP_MAX,
           long_range: Range = WGS84_LONGITUDE, lat_range: Range = WGS84_LATITUDE) -> HashBits | None:
    """The hash of a point at ``step`` bits per coordinate, or None outside the ranges.

    The offset of the point within each range, times 2**step and truncated, is the
    number of the cell along that axis; interleaving the two numbers gives the hash.
    """
    if not (LONG_MIN <= longitude <= LONG_MAX and LAT_MIN <= latitude <= LAT_MAX):
        return None  # even with GEOHASH's -90..90 range, Redis refuses the poles
    if not (lat_range.min <= latitude <= lat_range.max and long_range.min <= longitude <= long_range.max):
        return None
    lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min)
    long_offset = (longitude - long_range.min) / (long_range.max - long_range.min)
    lat_offset *= 1 << step
    long_offset *= 1 << step
    return HashBits(interleave(int(lat_offset), int(long_offset)), step)


def decode(hash: HashBits, long_range: Range = WGS84_LONGITUDE, lat_range: Range = WGS84_LATITUDE) -> Area:
    """The cell named by ``hash``."""
    step = hash.step
    lat_cell, long_cell = deinterleave(hash.bits)
    lat_cell &= 0xFFFFFFFF  # C reads each half into a uint32_t, and adds 1 in it
    long_cell &= 0xFFFFFFFF
    lat_scale = lat_range.max - lat_range.min
    long_scale = long_range.max - long_range.min
    cells = float(1 << step)
    return Area(
        Range(long_range.min + (long_cell * 1.0 / cells) * long_scale,
              long_range.min + (((long_cell + 1) & 0xFFFFFFFF) * 1.0 / cells) * long_scale),
        Range(lat_range.min + (lat_cell * 1.0 / cells) * lat_scale,
              lat_range.min + (((lat_cell + 1) & 0xFFFFFFFF) * 1.0 / cells) * lat_scale),
    )


def decode_to_long_lat(hash: HashBits) -> tuple[float, float]:
    """The centre of the cell, kept within the valid ranges (Redis: geohashDecodeAreaToLongLat)."""
    area = decode(hash)
    longitude = (area.longitude.min + area.longitude.max) / 2
    longitude = min(max(longitude, LONG_MIN), LONG_MAX)
    latitude = (area.latitude.min + area.latitude.max) / 2
    latitude = min(max(latitude, LAT_MIN), LAT_MAX)
    return longitude, latitude


def score_of(longitude: float, latitude: float) -> int:
    """The sorted set score of a valid point: its 52-bit hash (GEOADD)."""
    return align52(encode(longitude, latitude, STEP_MAX))


def position_of(score: float) -> tuple[float, float]:
    """The (longitude, latitude) a score stands for (GEOPOS)."""
    return decode_to_long_lat(HashBits(score_to_bits(score), STEP_MAX))


def align52(hash: HashBits) -> int:
    """A hash of fewer bits shifted up to 52 bits: the lowest score inside its cell."""
    return (hash.bits << (52 - hash.step * 2)) & _UINT64


def standard_geohash(longitude: float, latitude: float) -> bytes:
    """The 11-character geohash of the usual definition (latitude in -90..90), which
    GEOHASH prints: 52 bits in ten base-32 digits, then a "0" for the missing bits."""
    hash = encode(longitude, latitude, STEP_MAX, Range(-180.0, 180.0), Range(-90.0, 90.0))
    bits = hash.bits if hash is not None else 0
    digits = bytes(BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10))
    return digits + b"0"


# --------------------------------------------------------------------------- neighbours


def _move_x(hash: HashBits, direction: int) -> HashBits:
    """The cell east (+1) or west (-1) of ``hash``: add or subtract one in the
    longitude bits alone, which wraps around the antimeridian."""
    if direction == 0:
        return hash
    x = hash.bits & 0xAAAAAAAAAAAAAAAA
    y = hash.bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - hash.step * 2)
    if direction > 0:
        x = x + (zz + 1)
    else:
        x = (x | zz) - (zz + 1)
    x &= 0xAAAAAAAAAAAAAAAA >> (64 - hash.step * 2)
    return HashBits((x | y) & _UINT64, hash.step)


def _move_y(hash: HashBits, direction: int) -> HashBits:
    """The cell north (+1) or south (-1) of ``hash``, in the latitude bits."""
    if direction == 0:
        return hash
    x = hash.bits & 0xAAAAAAAAAAAAAAAA
    y = hash.bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - hash.step * 2)
    if direction > 0:
        y = y + (zz + 1)
    else:
        y = (y | zz) - (zz + 1)
    y &= 0x5555555555555555 >> (64 - hash.step * 2)
    return HashBits((x | y) & _UINT64, hash.step)


# The eight neighbours in the order Redis stores them (GeoHashNeighbors): (x, y) moves.
NEIGHBOURS = {
    "north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0),
    "north_east": (1, 1), "north_west": (-1, 1), "south_east": (1, -1), "south_west": (-1, -1),
}  # fmt: skip


def neighbours(hash: HashBits) -> dict[str, HashBits]:
    """The eight cells around ``hash``, by compass direction."""
    return {name: _move_y(_move_x(hash, dx), dy) for name, (dx, dy) in NEIGHBOURS.items()}


# --------------------------------------------------------------------------- distances


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres, by the haversine formula (geohashGetDistance)."""
    lat1r, lon1r = deg_rad(lat1), deg_rad(lon1)
    lat2r, lon2r = deg_rad(lat2), deg_rad(lon2)
    u = _sin((lat2r - lat1r) / 2)
    v = _sin((lon2r - lon1r) / 2)
    return 2.0 * EARTH_RADIUS_IN_METERS * _asin(_sqrt(u * u + _cos(lat1r) * _cos(lat2r) * v * v))


def within_box(width_m: float, height_m: float, x1: float, y1: float, x2: float, y2: float) -> float | None:
    """The distance from the centre (x1, y1) of a width by height box to (x2, y2), or
    None if the point is outside (geohashGetDistanceIfInRectangle): the point's distance
    from the centre along its own parallel, and along its meridian, must fit."""
    lon_distance = distance(x2, y2, x1, y2)
    lat_distance = distance(x2, y2, x2, y1)
    if lon_distance > width_m / 2 or lat_distance > height_m / 2:
        return None
    return distance(x1, y1, x2, y2)


# --------------------------------------------------------------------------- search areas


class Shape(NamedTuple):
    """What GEOSEARCH looks in: a circle (``radius``) or a box (``width`` and ``height``)
    around (``longitude``, ``latitude``), in a unit that is ``conversion`` metres."""

    longitude: float
    latitude: float
    conversion: float
    radius: float | None = None
    width: float = 0.0
    height: float = 0.0


def estimate_steps_by_radius(range_meters: float, latitude: float) -> int:
    """Bits per coordinate for cells a little larger than the search radius: the
    largest step whose cells still span it, one or two less near the poles, where
    meridians converge (geohashEstimateStepsByRadius)."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2  # make sure the range is included in most of the base cases
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), 26)


def bounding_box(shape: Shape) -> tuple[float, float, float, float]:
    """(min longitude, min latitude, max longitude, max latitude) around the shape
    (geohashBoundingBox): a box's longitudes are widest on the side nearer a pole."""
    longitude, latitude = shape.longitude, shape.latitude
    circle = shape.radius is not None
    height = shape.conversion * (shape.radius if circle else shape.height / 2)
    width = shape.conversion * (shape.radius if circle else shape.width / 2)
    lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = rad_deg(_divide(width / EARTH_RADIUS_IN_METERS, _cos(deg_rad(latitude + lat_delta))))
    long_delta_bottom = rad_deg(_divide(width / EARTH_RADIUS_IN_METERS, _cos(deg_rad(latitude - lat_delta))))
    southern = latitude < 0
    min_lon = longitude - long_delta_bottom if southern else longitude - long_delta_top
    max_lon = longitude + long_delta_bottom if southern else longitude + long_delta_top
    return min_lon, latitude - lat_delta, max_lon, latitude + lat_delta


def areas_for_shape(shape: Shape) -> list[HashBits]:
    """The cells to scan for ``shape``: the centre's cell and its eight neighbours, in
    Redis' order (centre, N, S, E, W, NE, NW, SE, SW), ``ZERO`` for the neighbours the
    shape cannot reach (geohashCalculateAreasByShapeWGS84)."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(shape)
    longitude, latitude = shape.longitude, shape.latitude
    if shape.radius is not None:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion

    steps = estimate_steps_by_radius(radius_meters, latitude)
    hash = encode(longitude, latitude, steps)
    around = neighbours(hash)
    area = decode(hash)

    # Near a cell's edge the estimate can be one step too fine: if a neighbour does not
    # reach the edge of the bounding box, use cells twice as large.
    north, south = decode(around["north"]), decode(around["south"])
    east, west = decode(around["east"]), decode(around["west"])
    if (north.latitude.max < max_lat or south.latitude.min > min_lat
            or east.longitude.max < max_lon or west.longitude.min > min_lon):
        if steps > 1:
            steps -= 1
            hash = encode(longitude, latitude, steps)
            around = neighbours(hash)
            area = decode(hash)

    # Leave out the neighbours on a side the bounding box does not cross.
    if steps >= 2:
        if area.latitude.min < min_lat:
            for name in ("south", "south_west", "south_east"):
                around[name] = ZERO
        if area.latitude.max > max_lat:
            for name in ("north", "north_east", "north_west"):
                around[name] = ZERO
        if area.longitude.min < min_lon:
            for name in ("west", "south_west", "north_west"):
                around[name] = ZERO
        if area.longitude.max > max_lon:
            for name in ("east", "south_east", "north_east"):
                around[name] = ZERO
    return [hash] + [around[name] for name in
                     ("north", "south", "east", "west", "north_east", "north_west", "south_east", "south_west")]
