"""The Geospatial stages of the CodeCrafters tester, one test each, in raw RESP as it
speaks it (see tests/test_stages_base.py). The expected scores, coordinates and
distances are what Redis 7.0 answers for the same commands."""

from __future__ import annotations

from tests.test_stages_lists import bulks, cmd, send

PARIS = ("2.2944692", "48.8584625", "Paris")
MUNICH = ("11.5030378", "48.164271", "Munich")
LONDON = ("-0.0884948", "51.506479", "London")


def test_zt4_respond_to_geoadd(raw):
    """GEOADD key longitude latitude member answers how many members were added."""
    raw.send(b"*5\r\n$6\r\nGEOADD\r\n$6\r\nplaces\r\n$9\r\n2.2944692\r\n$10\r\n48.8584625\r\n$5\r\nParis\r\n")
    assert raw.read_raw() == b":1\r\n"
    assert send(raw, "GEOADD", "places", *MUNICH, *LONDON) == b":2\r\n"
    assert send(raw, "GEOADD", "places", *PARIS) == b":0\r\n"  # already there


def test_ck3_validate_coordinates(raw):
    """A latitude beyond +-85.05112878 or a longitude beyond +-180 is refused with
    Redis' error, which names the pair; nothing is added."""
    assert send(raw, "GEOADD", "places", "2", "100", "North") == \
        b"-ERR invalid longitude,latitude pair 2.000000,100.000000\r\n"
    assert send(raw, "GEOADD", "places", "200", "48", "East") == \
        b"-ERR invalid longitude,latitude pair 200.000000,48.000000\r\n"
    assert send(raw, "GEOADD", "places", "0", "-85.06", "South").startswith(b"-ERR ")
    assert send(raw, "EXISTS", "places") == b":0\r\n"
    assert send(raw, "GEOADD", "places", "180", "85.05112878", "Corner") == b":1\r\n"  # the limits are valid


def test_tn5_store_a_location(raw):
    """A geo key is a sorted set: TYPE says zset, ZRANGE lists the places by geohash."""
    assert send(raw, "GEOADD", "places", *PARIS, *MUNICH, *LONDON) == b":3\r\n"
    assert send(raw, "TYPE", "places") == b"+zset\r\n"
    raw.send(cmd("ZRANGE", "places", "0", "-1"))
    assert raw.read_raw() == bulks("London", "Paris", "Munich")


def test_cr3_calculate_location_score(raw):
    """The score is the 52-bit interleaved geohash of the position, exactly."""
    assert send(raw, "GEOADD", "places", *PARIS, *MUNICH) == b":2\r\n"
    assert send(raw, "ZSCORE", "places", "Paris") == b"$16\r\n3663832614298053\r\n"
    assert send(raw, "ZSCORE", "places", "Munich") == b"$16\r\n3672376881541190\r\n"


def test_xg4_respond_to_geopos(raw):
    """GEOPOS answers [longitude, latitude] per member (the centre of its geohash cell,
    so close to what was added), and a nil entry for a missing member."""
    assert send(raw, "GEOADD", "places", *PARIS) == b":1\r\n"
    reply = send(raw, "GEOPOS", "places", "Paris", "Atlantis")
    assert reply == (b"*2\r\n*2\r\n$19\r\n2.29447156190872192\r\n$20\r\n48.85846255040141273\r\n*-1\r\n")
    longitude, latitude = float(reply.split(b"\r\n")[3]), float(reply.split(b"\r\n")[5])
    assert abs(longitude - 2.2944692) < 1e-5 and abs(latitude - 48.8584625) < 1e-5
    assert send(raw, "GEOPOS", "nowhere", "Paris") == b"*1\r\n*-1\r\n"


def test_hb5_decode_coordinates(raw):
    """GEOPOS decodes a score that ZADD stored, as if GEOADD had stored it."""
    assert send(raw, "ZADD", "location_key", "3663832614298053", "Foo") == b":1\r\n"
    assert send(raw, "GEOPOS", "location_key", "Foo") == \
        b"*1\r\n*2\r\n$19\r\n2.29447156190872192\r\n$20\r\n48.85846255040141273\r\n"


def test_ek6_calculate_distance(raw):
    """GEODIST in metres by default, by the haversine formula with Redis' Earth radius;
    0 from a member to itself; nil when a member is missing."""
    assert send(raw, "GEOADD", "places", *PARIS, *MUNICH, *LONDON) == b":3\r\n"
    assert send(raw, "GEODIST", "places", "Paris", "Munich") == b"$11\r\n682477.7582\r\n"
    assert send(raw, "GEODIST", "places", "Paris", "London") == b"$11\r\n339887.1768\r\n"
    assert send(raw, "GEODIST", "places", "Paris", "Paris") == b"$6\r\n0.0000\r\n"
    assert send(raw, "GEODIST", "places", "Paris", "Atlantis") == b"$-1\r\n"


def test_rm9_search_within_radius(raw):
    """GEOSEARCH FROMLONLAT BYRADIUS answers the members within the radius: a small
    radius finds one place, a mid one two, a large one all three."""
    assert send(raw, "GEOADD", "places", *PARIS, *MUNICH, *LONDON) == b":3\r\n"

    def search(radius: str, *extra: str) -> set[bytes]:
        reply = send(raw, "GEOSEARCH", "places", "FROMLONLAT", "2", "48", "BYRADIUS", radius, "m", *extra)
        return set(reply.split(b"\r\n")[2::2])

    assert search("100000") == {b"Paris"}
    assert search("500000") == {b"Paris", b"London"}
    assert search("1000000") == {b"Paris", b"London", b"Munich"}
    assert search("1000") == set()
    reply = send(raw, "GEOSEARCH", "places", "FROMLONLAT", "2", "48", "BYRADIUS", "1000000", "m", "ASC")
    assert reply == bulks("Paris", "London", "Munich")  # nearest first
