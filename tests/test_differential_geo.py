"""Geospatial commands compared byte for byte with a real Redis, in RESP2 and RESP3.

The scripts cover every command and option with its error paths; then random places
and random searches (circles and boxes of every size, every unit, near the poles and
the antimeridian) must give the same members, in the same order, with the same
distances, hashes and coordinates to the last printed digit. Results are compared
exactly even without ASC or DESC: the order of the nine cells scanned is Redis' too.
"""

from __future__ import annotations

import random
import re

import pytest

from app.protocol import split_inline
from tests.differential import compare, compare_notifications
from tests.helpers import RawConnection

SICILY = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 " \
         "17.241510 38.788135 edge2"

SCRIPTS = {
    "geoadd": """
        GEOADD g 13.361389 38.115556 Palermo
        GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD g 1 2 Palermo
        GEOADD g CH 3 4 Palermo 5 6 new
        GEOADD g NX 7 8 Palermo 9 10 other
        GEOADD g XX 7 8 Palermo 9 10 nope
        GEOADD g XX CH 7 8 Palermo
        GEOADD g nx ch 0 0 third
        ZRANGE g 0 -1 WITHSCORES
        GEOADD g NX XX 1 1 a
        GEOADD g 1 1
        GEOADD g 1 1 a 2
        GEOADD g CH 1 1
        GEOADD g GT 1 1 a
        GEOADD g INCR 1 1 a
        GEOADD g x 1 a
        GEOADD g 1 x a
        GEOADD g 1 100 a
        GEOADD g 200 1 a
        GEOADD g -180.0000001 0 a
        GEOADD g 0 85.05112879 a
        GEOADD g 0 -85.05112879 a
        GEOADD g 180 85.05112878 corner
        GEOADD g -180 -85.05112878 other_corner
        GEOADD g inf 0 a
        GEOADD g 0 -inf a
        GEOADD g nan 0 a
        GEOADD g 1e400 0 a
        GEOADD g 1 1 ok 1 100 bad
        EXISTS bad
        ZSCORE g ok
        GEOADD g 1e300 1 a
        GEOADD g 1 -1e300 a
        ZRANGE g 0 -1 WITHSCORES
        GEOADD g
        GEOADD g 1 2
    """,
    "geopos_geodist_geohash": f"""
        {SICILY}
        GEOPOS Sicily Palermo Catania nope
        GEOPOS Sicily
        GEOPOS nokey a b
        GEODIST Sicily Palermo Catania
        GEODIST Sicily Palermo Catania m
        GEODIST Sicily Palermo Catania KM
        GEODIST Sicily Palermo Catania ft
        GEODIST Sicily Palermo Catania mi
        GEODIST Sicily Palermo Palermo
        GEODIST Sicily Palermo nope
        GEODIST Sicily nope Palermo
        GEODIST nokey a b
        GEODIST nokey a b km
        GEODIST nokey a b parsec
        GEODIST Sicily Palermo Catania parsec
        GEODIST Sicily Palermo Catania "km\\x00x"
        GEODIST Sicily Palermo Catania km extra
        GEODIST Sicily Palermo
        GEOHASH Sicily Palermo Catania edge1 nope
        GEOHASH Sicily
        GEOHASH nokey a
        ZADD k -1 m1 1e300 m2 inf m3 9007199254740993 m4 4503599627370496 m5 -inf m6 0 m7 1 m8
        ZADD k 4503599627370495 m9 -9223372036854775808 m10 1.5 m11
        GEOPOS k m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11
        GEOHASH k m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11
        GEODIST k m1 m2
        GEODIST k m7 m9 km
        GEOADD poles 0 85.05112878 north 0 -85.05112878 south 179.9999 0 east -179.9999 0 west
        GEOPOS poles north south east west
        GEOHASH poles north south east west
        GEODIST poles north south
        GEODIST poles east west
    """,
    "geosearch": f"""
        {SICILY}
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km DESC WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD WITHDIST WITHHASH
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 100 km WITHDIST
        GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 200 200 km WITHDIST ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 DESC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 400 km COUNT 2 ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 400 km COUNT 2 ANY ASC
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 400 km COUNT 100 ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 m
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 0 m
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 0 m WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1e10 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS inf m
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX inf 1 m
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 m
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 mi WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200000 ft WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200000 M WITHDIST
        GEOSEARCH Sicily frommember Palermo frommember Catania byradius 10 km
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH nokey FROMMEMBER nope BYRADIUS 200 km
        GEOSEARCH nokey FROMMEMBER nope BYRADIUS -1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST WITHDIST COUNT 1 COUNT 2
    """,
    "geosearch_errors": f"""
        {SICILY}
        SET s string
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200
        GEOSEARCH Sicily BYRADIUS 200 km ASC WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 WITHDIST ASC
        geosearch Sicily BYRADIUS 200 km WITHDIST ASC
        GeoSearch Sicily FROMLONLAT 15 37 WITHDIST ASC
        GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 200 km
        GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 1 1 BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 FROMMEMBER Palermo BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km BYBOX 1 1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1 km BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 1 100 BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT x 1 BYRADIUS 1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS x km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS -1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 parsec
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX x 1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 x km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX -1 1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 -1 km
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1 parsec
        GEOSEARCH Sicily FROMLONLAT 1 1 BYBOX 1 1
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km COUNT 0
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km COUNT -1
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km COUNT x
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km COUNT
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km ANY
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km STORE d
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km STOREDIST
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS 1 km FOO
        GEOSEARCH s FROMLONLAT 1 1 BYRADIUS 1 km
        GEOSEARCH s FOO
        GEOSEARCH Sicily FROMLONLAT 1 1 BYRADIUS
    """,
    "geosearchstore": f"""
        {SICILY}
        SET s string
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km storedist COUNT 1 DESC
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3 ANY
        ZRANGE dst 0 -1 WITHSCORES
        OBJECT ENCODING dst
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 1 m
        EXISTS dst
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 200 km
        EXISTS dst
        GEOSEARCHSTORE dst nokey FROMMEMBER nope BYRADIUS 200 km
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD
        GeoSearchStore dst Sicily BYRADIUS 200 km ASC
        geosearchstore dst Sicily FROMLONLAT 15 37 ASC
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
        GEOSEARCHSTORE dst s FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCHSTORE s Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        TYPE s
        GEOSEARCHSTORE Sicily Sicily FROMLONLAT 15 37 BYRADIUS 100 km
        ZRANGE Sicily 0 -1
    """,
    "georadius": f"""
        {SICILY}
        SET s string
        GEORADIUS Sicily 15 37 200 km
        GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
        GEORADIUS Sicily 15 37 200 km COUNT 1 DESC WITHDIST
        GEORADIUS Sicily 15 37 400 km COUNT 2 ANY
        GEORADIUS Sicily 15 37 200 km STORE dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STOREDIST dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STORE dst STOREDIST dst2
        EXISTS dst2
        GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
        GEORADIUS Sicily 15 37 1 m STORE dst
        EXISTS dst
        GEORADIUS nokey 15 37 200 km STORE dst
        GEORADIUS nokey 15 37 200 km
        GEORADIUS Sicily 15 37 200 km STORE
        GEORADIUS Sicily 15 37 200 km FROMLONLAT 1 1
        GEORADIUS Sicily 15 37 200 km BYRADIUS 1 km
        GEORADIUS Sicily 15 100 200 km
        GEORADIUS Sicily x 37 200 km
        GEORADIUS Sicily 15 37 x km
        GEORADIUS Sicily 15 37 -1 km
        GEORADIUS Sicily 15 37 200 parsec
        GEORADIUS Sicily 15 37 200 km COUNT 0
        GEORADIUS Sicily 15 37 200 km ANY
        GEORADIUS s 15 37 200 km
        GEORADIUS s x 37 200 km
        GEORADIUS Sicily 15 37 200
        GEORADIUS_RO Sicily 15 37 200 km WITHDIST
        GEORADIUS_RO Sicily 15 37 200 km STORE dst
        GEORADIUS_RO Sicily 15 37 200 km STOREDIST dst
        GEORADIUS_RO nokey 15 37 200 km
        GEORADIUSBYMEMBER Sicily Palermo 100 km WITHDIST
        GEORADIUSBYMEMBER Sicily Palermo 300 km COUNT 2 DESC WITHDIST WITHHASH WITHCOORD
        GEORADIUSBYMEMBER Sicily Palermo 300 km STORE dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUSBYMEMBER Sicily Palermo 300 km STOREDIST dst
        ZRANGE dst 0 -1 WITHSCORES
        GEORADIUSBYMEMBER Sicily nope 100 km
        GEORADIUSBYMEMBER Sicily Palermo x km
        GEORADIUSBYMEMBER Sicily Palermo 1 parsec
        GEORADIUSBYMEMBER nokey nope x parsec
        GEORADIUSBYMEMBER nokey nope x parsec STORE dst
        GEORADIUSBYMEMBER nokey nope x parsec FOO
        GEORADIUSBYMEMBER nokey nope x parsec COUNT 0
        EXISTS dst
        GEORADIUSBYMEMBER s Palermo 100 km
        GEORADIUSBYMEMBER_RO Sicily Palermo 100 km WITHDIST
        GEORADIUSBYMEMBER_RO Sicily Palermo 100 km STORE dst
        GEORADIUSBYMEMBER Sicily Palermo 100
    """,
    "wrongtype": """
        SET s string
        GEOADD s 1 1 a
        GEOADD s 1 100 a
        GEOADD s NX XX 1 1 a
        GEOPOS s a
        GEODIST s a b
        GEODIST s a b parsec
        GEOHASH s a
        GEOSEARCH s FROMLONLAT 1 1 BYRADIUS 1 km
        GEOSEARCHSTORE d s FROMLONLAT 1 1 BYRADIUS 1 km
        GEORADIUS s 1 1 1 km
        GEORADIUSBYMEMBER s a 1 km
        GET s
    """,
    "geo_keys_are_sorted_sets": f"""
        {SICILY}
        TYPE Sicily
        OBJECT ENCODING Sicily
        ZRANGE Sicily 0 -1 WITHSCORES
        ZCARD Sicily
        ZREM Sicily edge1
        ZADD Sicily 3479099956230698 copy_of_palermo
        GEOPOS Sicily copy_of_palermo
        GEODIST Sicily Palermo copy_of_palermo
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 m
    """,
    "command_info": """
        COMMAND INFO geoadd geopos geodist geohash geosearch geosearchstore
        COMMAND INFO georadius georadius_ro georadiusbymember georadiusbymember_ro
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


NOTIFICATION_SCRIPTS = {
    "geo": f"""
        {SICILY}
        GEOADD Sicily 13.361389 38.115556 Palermo
        GEOADD Sicily XX 1 1 nope
        GEOADD Sicily CH 1 1 Palermo
        GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 1 m
        GEOSEARCHSTORE d nokey FROMLONLAT 15 37 BYRADIUS 1 m
        GEORADIUS Sicily 15 37 200 km STORE d
        GEORADIUSBYMEMBER Sicily Catania 200 km STOREDIST d
        GEORADIUS nokey 15 37 200 km STORE d
    """,
}


@pytest.mark.parametrize("flags", ["KEA", "Kz", "Eg"])
@pytest.mark.parametrize("name", sorted(NOTIFICATION_SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, NOTIFICATION_SCRIPTS[name], flags=flags)


# --------------------------------------------------------------------------- random places and searches

UNITS = ("m", "km", "ft", "mi")
METRES = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.34}


def _point(rng: random.Random, region: str) -> tuple[float, float]:
    if region == "world":
        return rng.uniform(-180, 180), rng.uniform(-85.05112878, 85.05112878)
    if region == "pole":
        return rng.uniform(-180, 180), rng.choice((1, -1)) * rng.uniform(70, 85.05112878)
    if region == "antimeridian":
        return rng.choice((1, -1)) * rng.uniform(170, 180), rng.uniform(-60, 60)
    # "city": a few kilometres around a point, where the finest cells matter.
    return 2.3522 + rng.uniform(-0.05, 0.05), 48.8566 + rng.uniform(-0.05, 0.05)


def random_geo_script(seed: int, region: str) -> str:
    """Places added with GEOADD, then searches of every kind around random centres and
    members, with every option that changes what is printed."""
    rng = random.Random(seed)
    lines = []
    places = []
    for batch in range(4):
        words = []
        for i in range(40):
            lon, lat = _point(rng, region)
            name = f"p{batch}_{i}"
            places.append(name)
            words.append(f"{lon:.6f} {lat:.6f} {name}")
        lines.append("GEOADD g " + " ".join(words))
    scale = {"world": 5e6, "pole": 2e6, "antimeridian": 2e6, "city": 5e3}[region]
    for _ in range(25):
        unit = rng.choice(UNITS)
        lon, lat = _point(rng, region)
        center = rng.choice([f"FROMLONLAT {lon:.6f} {lat:.6f}", f"FROMMEMBER {rng.choice(places)}"])
        radius = rng.uniform(0, scale) / METRES[unit]
        width, height = rng.uniform(0, 2 * scale) / METRES[unit], rng.uniform(0, 2 * scale) / METRES[unit]
        shape = rng.choice([f"BYRADIUS {radius:.3f} {unit}", f"BYBOX {width:.3f} {height:.3f} {unit}"])
        order = rng.choice(["", "ASC", "DESC"])
        count = rng.choice(["", "", f"COUNT {rng.randint(1, 30)}", f"COUNT {rng.randint(1, 30)} ANY"])
        lines.append(f"GEOSEARCH g {center} {shape} {order} {count} WITHDIST WITHHASH WITHCOORD")
        lines.append(f"GEOSEARCH g {center} {shape} {order} {count}")
        lines.append(f"GEOSEARCHSTORE d g {center} {shape} {order} {count} STOREDIST")
        lines.append("ZRANGE d 0 -1 WITHSCORES")
        lines.append(f"GEORADIUS g {lon:.6f} {lat:.6f} {radius:.3f} {unit} WITHDIST {order} {count}")
        a, b = rng.choice(places), rng.choice(places)
        lines.append(f"GEODIST g {a} {b} {unit}")
        lines.append(f"GEOPOS g {a} {b}")
        lines.append(f"GEOHASH g {a} {b}")
    return "\n".join(lines)


def test_members_at_equal_distances_come_out_in_redis_order(server, reference):
    """COUNT smaller than the result makes Redis sort partially with its own quicksort
    (pqsort), which is not stable: members at the same distance keep no input order,
    only the same algorithm gives the same one. Without COUNT, a stable sort."""
    rng = random.Random(5)
    spots = ["1 1", "1.01 1", "1 1.02", "0.9 1", "1.05 1.05"]
    lines = ["GEOADD g " + " ".join(f"{rng.choice(spots)} m{i}" for i in range(80))]
    for count in (1, 2, 3, 5, 8, 13, 21, 40, 60, 79, 80, 81):
        for order in ("", "ASC", "DESC"):
            lines.append(f"GEOSEARCH g FROMLONLAT 1 1 BYRADIUS 50 km COUNT {count} {order}")
    lines.append("GEOSEARCH g FROMLONLAT 1 1 BYRADIUS 50 km DESC")
    compare(server.port, reference.port, "\n".join(lines))


@pytest.mark.parametrize("region", ["world", "pole", "antimeridian", "city"])
@pytest.mark.parametrize("seed", range(3))
def test_random_places_and_searches_match_redis(server, reference, seed, region):
    compare(server.port, reference.port, random_geo_script(seed, region))


# Reading commands (the searches too, even when they store) count keyspace hits and
# misses; GEOADD, a write, counts nothing.
COUNTED = f"""
    {SICILY}
    GEOPOS Sicily Palermo
    GEOPOS nokey a
    GEODIST nokey a b
    GEODIST Sicily Palermo Catania
    GEOHASH nokey a
    GEOSEARCH nokey FROMLONLAT 1 1 BYRADIUS 1 km
    GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
    GEOSEARCHSTORE d nokey FROMLONLAT 1 1 BYRADIUS 1 km
    GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km
    GEORADIUS nokey 1 1 1 km STORE d
    GEORADIUSBYMEMBER_RO nokey a 1 km
    GEOADD nokey2 XX 1 1 a
"""


def _counters(port: int) -> tuple[str, str]:
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        connection.call("CONFIG", "RESETSTAT")
        for line in COUNTED.strip().splitlines():
            connection.call(*split_inline(line.strip().encode()))
        info = connection.call("INFO", "stats").decode()
    return tuple(re.search(rf"\r\n{name}:(\d+)\r\n", info).group(1) for name in ("keyspace_hits", "keyspace_misses"))


def test_keyspace_hits_and_misses_match_redis(server, reference):
    ours, theirs = _counters(server.port), _counters(reference.port)
    assert ours == theirs
    assert int(ours[0]) > 0 and int(ours[1]) > 0
