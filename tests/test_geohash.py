"""The geohash arithmetic of app/geohash.py: known values from Redis' documentation and
from a real Redis 7.0, and properties that any geohash must have (a point lies inside
the cell its hash names, neighbours touch, interleaving is reversible)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from app import geohash

PALERMO = (13.361389, 38.115556)
CATANIA = (15.087269, 37.502669)

longitudes = st.floats(min_value=-180, max_value=180)
latitudes = st.floats(min_value=geohash.LAT_MIN, max_value=geohash.LAT_MAX)


def test_known_scores_positions_and_hashes():
    """The values Redis answers for GEOADD Sicily ... (ZSCORE, GEOPOS, GEOHASH, GEODIST)."""
    assert geohash.score_of(*PALERMO) == 3479099956230698
    assert geohash.score_of(*CATANIA) == 3479447370796909
    assert geohash.position_of(3479099956230698) == (13.361389338970184, 38.1155563954963)
    assert geohash.standard_geohash(*geohash.position_of(3479099956230698)) == b"sqc8b49rny0"
    assert geohash.standard_geohash(*geohash.position_of(3479447370796909)) == b"sqdtr74hyu0"
    distance = geohash.distance(*geohash.position_of(3479099956230698), *geohash.position_of(3479447370796909))
    assert b"%.4f" % distance == b"166274.1516"


def test_the_corners_of_the_map():
    """The limits are valid; the decoded centre of the last cell is clamped to them."""
    assert geohash.encode(180, 85.05112878) is not None
    assert geohash.encode(-180, -85.05112878) == geohash.HashBits(0, 26)
    assert geohash.encode(180.0000001, 0) is None
    assert geohash.encode(0, 85.051129) is None
    assert geohash.position_of(geohash.score_of(180, 85.05112878)) == (180.0, 85.05112878)


def test_scores_that_geoadd_never_makes_decode_like_c_casts():
    """GEOPOS of a score set with ZADD: C's (uint64_t) cast on x86-64, as Redis decodes
    them (values read from a real Redis 7.0)."""
    assert geohash.score_to_bits(-1.0) == 2**64 - 1
    assert geohash.score_to_bits(float("inf")) == 0
    assert geohash.score_to_bits(1e300) == 0
    assert geohash.score_to_bits(float("-inf")) == 2**63
    assert geohash.score_to_bits(2.0**63) == 2**63
    assert geohash.position_of(-1.0) == (180.0, 85.05112878)
    assert geohash.position_of(float("-inf")) == (180.0, -85.05112751263942)
    assert geohash.position_of(2.0**52) == (-179.99999731779099, 85.05112878)
    assert geohash.score_to_int64(1e300) == -(2**63)
    assert geohash.score_to_int64(12.9) == 12


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_interleaving_is_reversible(even, odd):
    bits = geohash.interleave(even, odd)
    assert geohash.deinterleave(bits) == (even, odd)
    assert all((bits >> (2 * i)) & 1 == (even >> i) & 1 for i in range(32))
    assert all((bits >> (2 * i + 1)) & 1 == (odd >> i) & 1 for i in range(32))


@settings(max_examples=500, deadline=None)
@given(longitudes, latitudes, st.integers(1, 26))
def test_a_point_lies_in_the_cell_of_its_hash(longitude, latitude, step):
    hash = geohash.encode(longitude, latitude, step)
    area = geohash.decode(hash)
    # (within rounding: the bounds are computed from the cell number, not from the point)
    assert area.longitude.min - 1e-9 <= longitude <= area.longitude.max + 1e-9
    assert area.latitude.min - 1e-9 <= latitude <= area.latitude.max + 1e-9
    # Every finer hash of the point starts with the bits of the coarser one.
    finer = geohash.encode(longitude, latitude, 26)
    assert geohash.align52(hash) <= geohash.align52(finer) < geohash.align52(geohash.HashBits(hash.bits + 1, step))


@settings(max_examples=300, deadline=None)
@given(longitudes, latitudes)
def test_decoding_moves_a_point_by_less_than_a_cell(longitude, latitude):
    decoded = geohash.position_of(geohash.score_of(longitude, latitude))
    assert abs(decoded[0] - longitude) <= 360 / 2**26
    assert abs(decoded[1] - latitude) <= 170.2 / 2**26


@settings(max_examples=300, deadline=None)
@given(st.floats(-170, 170), st.floats(-80, 80), st.integers(2, 26))
def test_neighbours_touch_the_cell(longitude, latitude, step):
    hash = geohash.encode(longitude, latitude, step)
    area = geohash.decode(hash)
    around = {name: geohash.decode(cell) for name, cell in geohash.neighbours(hash).items()}
    width = area.longitude.max - area.longitude.min
    height = area.latitude.max - area.latitude.min
    assert math.isclose(around["east"].longitude.min, area.longitude.max, abs_tol=1e-9) or \
        area.longitude.max >= 180 - 1e-9
    assert math.isclose(around["west"].longitude.max, area.longitude.min, abs_tol=1e-9) or \
        area.longitude.min <= -180 + 1e-9
    assert math.isclose(around["north"].latitude.min, area.latitude.max, abs_tol=1e-9) or \
        area.latitude.max >= geohash.LAT_MAX - 1e-9
    assert math.isclose(around["south"].latitude.max, area.latitude.min, abs_tol=1e-9) or \
        area.latitude.min <= geohash.LAT_MIN + 1e-9
    assert math.isclose(around["north_east"].longitude.min - area.longitude.min, width, abs_tol=1e-9) or \
        area.longitude.max >= 180 - 1e-9
    assert math.isclose(around["south_west"].latitude.max, area.latitude.min, abs_tol=1e-9) or \
        area.latitude.min <= geohash.LAT_MIN + 1e-9
    assert all(math.isclose(cell.latitude.max - cell.latitude.min, height, rel_tol=1e-6) for cell in around.values())


def test_the_east_neighbour_wraps_around_the_antimeridian():
    hash = geohash.encode(179.9, 10, 10)
    east = geohash.decode(geohash.neighbours(hash)["east"])
    assert east.longitude.min == -180.0


@settings(max_examples=300, deadline=None)
@given(longitudes, latitudes, longitudes, latitudes)
def test_distance_is_symmetric_and_bounded(lon1, lat1, lon2, lat2):
    d = geohash.distance(lon1, lat1, lon2, lat2)
    assert d == geohash.distance(lon2, lat2, lon1, lat1) or math.isclose(d, geohash.distance(lon2, lat2, lon1, lat1))
    assert 0 <= d <= math.pi * geohash.EARTH_RADIUS_IN_METERS + 1e-6
    assert geohash.distance(lon1, lat1, lon1, lat1) == 0


def test_the_search_step_follows_the_radius():
    """A larger radius means coarser cells; zero means the finest; poles coarsen it."""
    assert geohash.estimate_steps_by_radius(0, 0) == 26
    assert geohash.estimate_steps_by_radius(1, 0) == 24
    assert geohash.estimate_steps_by_radius(1000, 0) == 14
    assert geohash.estimate_steps_by_radius(1000, 70) == 13
    assert geohash.estimate_steps_by_radius(1000, -85) == 12
    assert geohash.estimate_steps_by_radius(5e6, 0) == 2
    assert geohash.estimate_steps_by_radius(math.inf, 0) == 1


def test_search_areas_cover_the_shape():
    """Every point within the radius lies in one of the nine cells scanned."""
    import random

    rng = random.Random(3)
    for _ in range(200):
        lon, lat = rng.uniform(-179, 179), rng.uniform(-80, 80)
        radius = rng.uniform(1, 500000)
        shape = geohash.Shape(lon, lat, 1.0, radius)
        cells = [cell for cell in geohash.areas_for_shape(shape) if cell != geohash.ZERO]
        for _ in range(20):
            # A point at most `radius` away, by moving along a random bearing.
            bearing, fraction = rng.uniform(0, 2 * math.pi), rng.random()
            delta = radius * fraction / geohash.EARTH_RADIUS_IN_METERS
            lat2 = math.asin(math.sin(math.radians(lat)) * math.cos(delta)
                             + math.cos(math.radians(lat)) * math.sin(delta) * math.cos(bearing))
            lon2 = math.radians(lon) + math.atan2(math.sin(bearing) * math.sin(delta) * math.cos(math.radians(lat)),
                                                  math.cos(delta) - math.sin(math.radians(lat)) * math.sin(lat2))
            lon2 = (math.degrees(lon2) + 540) % 360 - 180
            lat2 = math.degrees(lat2)
            if not geohash.LAT_MIN <= lat2 <= geohash.LAT_MAX:
                continue
            score = geohash.score_of(lon2, lat2)
            assert any(geohash.align52(cell) <= score < geohash.align52(geohash.HashBits(cell.bits + 1, cell.step))
                       for cell in cells)
