"""Geospatial commands: places stored in a sorted set whose scores are geohashes.

GEOADD turns each longitude/latitude into its 52-bit geohash (app/geohash.py) and adds
it with ZADD's own code, so a geo key is an ordinary sorted set: ZRANGE lists its
places, ZREM removes one, and GEOPOS decodes a score that ZADD put there. GEOSEARCH (and
the older GEORADIUS and GEORADIUSBYMEMBER) scan the score ranges of the nine cells
around the centre and keep the members really inside the circle or box, as Redis'
geo.c does, in the same order, so that results without ASC or DESC come out alike.

Numbers are printed as Redis prints them: distances with four decimals ("%.4f"),
coordinates with up to 17 (``%.17Lf`` with the trailing zeros cut, a double in RESP3),
WITHHASH's score as an integer.
"""

from __future__ import annotations

from fractions import Fraction

from app import geohash
from app.commands.arguments import SYNTAX_ERROR, c_string, integer, keyword, text
from app.commands.registry import KeySpec, command
from app.commands.sorted_set import get_zset, listpack_limits, score_argument, store_result, zadd_pairs
from app.numeric import format_long_double
from app.protocol import NULL_ARRAY, DoubleText, ReplyError
from app.store.zset import ScoreRange, SortedSet

UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}  # metres per unit
UNIT_ERROR = "ERR unsupported unit provided. please use M, KM, FT, MI"
MEMBER_ERROR = "ERR could not decode requested zset member"


def _geo(name: str, **kwargs):
    kwargs["acl"] = "geo " + kwargs.get("acl", "")
    return command(name, group="geo", **kwargs)


def _coordinates(longitude: bytes, latitude: bytes) -> tuple[float, float]:
    """A valid longitude, latitude pair, with Redis' error for one out of range."""
    x, y = score_argument(longitude), score_argument(latitude)
    if not (geohash.LONG_MIN <= x <= geohash.LONG_MAX and geohash.LAT_MIN <= y <= geohash.LAT_MAX):
        raise ReplyError(f"ERR invalid longitude,latitude pair {x:f},{y:f}")
    return x, y


def _unit(arg: bytes) -> float:
    conversion = UNITS.get(c_string(arg).lower())
    if conversion is None:
        raise ReplyError(UNIT_ERROR)
    return conversion


def _distance_text(value: float) -> bytes:
    """A distance as Redis prints it: four decimals, a bulk string in both protocols."""
    return b"%.4f" % value


def _coordinate_text(value: float) -> DoubleText:
    """A coordinate as Redis' addReplyHumanLongDouble prints it (%.17Lf, trimmed)."""
    return DoubleText(format_long_double(Fraction(value)))


# --------------------------------------------------------------------------- GEOADD


@_geo("geoadd", arity=-5, flags="write denyoom", keys=[KeySpec(1, "RW update")], since="3.2.0",
      summary="Add one or more geospatial items in the geospatial index represented using a sorted set",
      complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.")
def geoadd(client, key: bytes, *args: bytes):
    options = set()
    i = 0
    while i < len(args) and keyword(args[i]) in (b"NX", b"XX", b"CH"):
        options.add(keyword(args[i]))
        i += 1
    rest = args[i:]
    if not rest or len(rest) % 3 or {b"NX", b"XX"} <= options:
        raise ReplyError(SYNTAX_ERROR)
    pairs = []
    for j in range(0, len(rest), 3):
        longitude, latitude = _coordinates(rest[j], rest[j + 1])
        pairs.append((float(geohash.score_of(longitude, latitude)), rest[j + 2]))
    return zadd_pairs(client, key, options, pairs)  # Redis rewrites the command as a ZADD


# --------------------------------------------------------------------------- GEOPOS, GEODIST, GEOHASH


@_geo("geopos", arity=-2, flags="readonly", keys=[KeySpec(1, "RO access")], since="3.2.0",
      summary="Returns longitude and latitude of members of a geospatial index",
      complexity="O(N) where N is the number of members requested.")
def geopos(client, key: bytes, *members: bytes):
    zset = get_zset(client.db, key, read=True)
    reply = []
    for member in members:
        score = None if zset is None else zset.score(member)
        if score is None:
            reply.append(NULL_ARRAY)
        else:
            longitude, latitude = geohash.position_of(score)
            reply.append([_coordinate_text(longitude), _coordinate_text(latitude)])
    return reply


@_geo("geodist", arity=-4, flags="readonly", keys=[KeySpec(1, "RO access")], since="3.2.0",
      summary="Returns the distance between two members of a geospatial index", complexity="O(log(N))")
def geodist(client, key: bytes, first: bytes, second: bytes, *unit: bytes):
    if len(unit) > 1:
        raise ReplyError(SYNTAX_ERROR)
    conversion = _unit(unit[0]) if unit else 1.0  # before the lookup, as in Redis
    zset = get_zset(client.db, key, read=True)
    if zset is None:
        return None
    a, b = zset.score(first), zset.score(second)
    if a is None or b is None:
        return None
    (x1, y1), (x2, y2) = geohash.position_of(a), geohash.position_of(b)
    return _distance_text(geohash.distance(x1, y1, x2, y2) / conversion)


@_geo("geohash", arity=-2, flags="readonly", keys=[KeySpec(1, "RO access")], since="3.2.0",
      summary="Returns members of a geospatial index as standard geohash strings",
      complexity="O(log(N)) for each member requested, where N is the number of elements in the sorted set.")
def geohash_(client, key: bytes, *members: bytes):
    zset = get_zset(client.db, key, read=True)
    reply = []
    for member in members:
        score = None if zset is None else zset.score(member)
        # Decoded from our -85..85 grid, re-encoded on the standard -90..90 one.
        reply.append(None if score is None else geohash.standard_geohash(*geohash.position_of(score)))
    return reply


# --------------------------------------------------------------------------- searches


class Found:
    """One member inside the search area (Redis' geoPoint)."""

    __slots__ = ("member", "score", "longitude", "latitude", "distance")

    def __init__(self, member: bytes, score: float, longitude: float, latitude: float, distance: float):
        self.member, self.score = member, score
        self.longitude, self.latitude, self.distance = longitude, latitude, distance


def _inside(shape: geohash.Shape, member: bytes, score: float) -> Found | None:
    """The member as a `Found` if its position is inside ``shape`` (geoAppendIfWithinShape)."""
    longitude, latitude = geohash.position_of(score)
    if shape.radius is not None:
        distance = geohash.distance(shape.longitude, shape.latitude, longitude, latitude)
        if distance > shape.radius * shape.conversion:
            return None
    else:
        distance = geohash.within_box(shape.width * shape.conversion, shape.height * shape.conversion,
                                      shape.longitude, shape.latitude, longitude, latitude)
        if distance is None:
            return None
    return Found(member, score, longitude, latitude, distance)


def _members_in_areas(zset: SortedSet, shape: geohash.Shape, limit: int) -> list[Found]:
    """Scan the score range of each of the nine cells (membersOfAllNeighbors); stop
    once ``limit`` members are found (COUNT ... ANY; 0 for no limit)."""
    found: list[Found] = []
    cells = geohash.areas_for_shape(shape)
    last_processed = 0
    for i, cell in enumerate(cells):
        if cell == geohash.ZERO:
            continue
        # With a huge radius neighbours can be the same cell: skip a repeat of the last
        # one scanned (Redis compares with the last one processed, never with cell 0).
        if last_processed and cell == cells[last_processed]:
            continue
        if found and limit and len(found) >= limit:
            break
        low = geohash.align52(cell)
        high = geohash.align52(geohash.HashBits(cell.bits + 1, cell.step))
        spec = ScoreRange(float(low), float(high), max_exclusive=True)
        node = zset.skiplist.first_in_range(spec)
        while node is not None and spec.lte_max(node):
            point = _inside(shape, node.member, node.score)
            if point is not None:
                found.append(point)
            if found and limit and len(found) >= limit:
                break
            node = node.forward[0]
        last_processed = i
    return found


def _partial_sort(points: list[Found], descending: bool, count: int) -> None:
    """Put the ``count`` nearest (or farthest) points first, in order, as Redis' pqsort
    does (pqsort.c: NetBSD's quicksort, skipping the parts outside the first ``count``).

    A port rather than a call to sorted(): it is not stable, so members at the same
    distance come out in pqsort's own order, and only the same algorithm gives it.
    """
    sign = -1 if descending else 1

    def cmp(i: int, j: int) -> int:
        a, b = points[i].distance, points[j].distance
        return sign * (1 if a > b else 0 if a == b else -1)

    def swap(i: int, j: int) -> None:
        points[i], points[j] = points[j], points[i]

    def med3(i: int, j: int, k: int) -> int:
        if cmp(i, j) < 0:
            return j if cmp(j, k) < 0 else (k if cmp(i, k) < 0 else i)
        return j if cmp(j, k) > 0 else (i if cmp(i, k) < 0 else k)

    low_wanted, high_wanted = 0, count - 1

    def outside(first: int, size: int) -> bool:
        last = first + size - 1
        return (low_wanted < first and high_wanted < first) or (low_wanted > last and high_wanted > last)

    def sort(lo: int, n: int) -> None:
        while True:
            if n < 7:  # insertion sort for small runs
                for pm in range(lo + 1, lo + n):
                    pl = pm
                    while pl > lo and cmp(pl - 1, pl) > 0:
                        swap(pl, pl - 1)
                        pl -= 1
                return
            pm = lo + n // 2
            if n > 7:
                pl, pn = lo, lo + n - 1
                if n > 40:  # the pivot is the median of three medians of three
                    d = n // 8
                    pl, pm, pn = med3(pl, pl + d, pl + 2 * d), med3(pm - d, pm, pm + d), med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(lo, pm)
            # Partition into [equal | less | ... | greater | equal], then move the equal
            # parts to the middle (Bentley and McIlroy's three-way partition).
            pa = pb = lo + 1
            pc = pd = lo + n - 1
            while True:
                while pb <= pc and (order := cmp(pb, lo)) <= 0:
                    if order == 0:
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc and (order := cmp(pc, lo)) >= 0:
                    if order == 0:
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                pb += 1
                pc -= 1
            pn = lo + n
            r = min(pa - lo, pb - pa)
            for t in range(r):
                swap(lo + t, pb - r + t)
            r = min(pd - pc, pn - pd - 1)
            for t in range(r):
                swap(pb + t, pn - r + t)
            r = pb - pa
            if r > 1 and not outside(lo, r):
                sort(lo, r)
            r = pd - pc
            if r > 1:
                lo, n = pn - r, r
                if not outside(lo, n):
                    continue
            return

    sort(0, len(points))


def _distance_argument(value: bytes, unit: bytes) -> tuple[float, float]:
    """``radius unit`` -> (radius, metres per unit)."""
    radius = score_argument(value, "ERR need numeric radius")
    if radius < 0:
        raise ReplyError("ERR radius cannot be negative")
    return radius, _unit(unit)


RADIUS, RADIUS_MEMBER, SEARCH, SEARCH_STORE = "georadius", "georadiusbymember", "geosearch", "geosearchstore"


def _search(client, variant: str, key: bytes, args: tuple[bytes, ...], no_store: bool = False,
            destination: bytes | None = None):
    """GEORADIUS, GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH and GEOSEARCHSTORE
    (Redis: georadiusGeneric): read the shape and options, find the members inside,
    then answer them or store them. ``args`` follows the key (and the store key)."""
    db = client.db
    zset = get_zset(db, key, read=True)
    longitude = latitude = None
    radius = width = height = None
    conversion = 1.0
    if variant == RADIUS:
        longitude, latitude = _coordinates(args[0], args[1])
        radius, conversion = _distance_argument(args[2], args[3])
        options = args[4:]
    elif variant == RADIUS_MEMBER:
        if zset is not None:  # a missing key still reads the options, for the reply's kind
            score = zset.score(args[0])
            if score is None:
                raise ReplyError(MEMBER_ERROR)
            longitude, latitude = geohash.position_of(score)
            radius, conversion = _distance_argument(args[1], args[2])
        options = args[3:]
    else:
        options = args

    scores_store = False  # STOREDIST: store distances instead of geohashes
    with_dist = with_hash = with_coord = any_ = False
    sort = None
    count = 0
    from_member = from_lonlat = by_radius = by_box = False
    search = variant in (SEARCH, SEARCH_STORE)
    i = 0
    while i < len(options):
        word = keyword(options[i])
        left = len(options) - i - 1
        if word == b"WITHDIST":
            with_dist = True
        elif word == b"WITHHASH":
            with_hash = True
        elif word == b"WITHCOORD":
            with_coord = True
        elif word == b"ANY":
            any_ = True
        elif word in (b"ASC", b"DESC"):
            sort = word
        elif word == b"COUNT" and left >= 1:
            count = integer(options[i + 1])
            if count <= 0:
                raise ReplyError("ERR COUNT must be > 0")
            i += 1
        elif word in (b"STORE", b"STOREDIST") and left >= 1 and not no_store and not search:
            destination, scores_store = options[i + 1], word == b"STOREDIST"
            i += 1
        elif word == b"STOREDIST" and variant == SEARCH_STORE:
            scores_store = True
        elif word == b"FROMMEMBER" and left >= 1 and search and not from_lonlat:
            if zset is not None:
                score = zset.score(options[i + 1])
                if score is None:
                    raise ReplyError(MEMBER_ERROR)
                longitude, latitude = geohash.position_of(score)
            from_member = True
            i += 1
        elif word == b"FROMLONLAT" and left >= 2 and search and not from_member:
            longitude, latitude = _coordinates(options[i + 1], options[i + 2])
            from_lonlat = True
            i += 2
        elif word == b"BYRADIUS" and left >= 2 and search and not by_box:
            radius, conversion = _distance_argument(options[i + 1], options[i + 2])
            by_radius = True
            i += 2
        elif word == b"BYBOX" and left >= 3 and search and not by_radius:
            width = score_argument(options[i + 1], "ERR need numeric width")
            height = score_argument(options[i + 2], "ERR need numeric height")
            if width < 0 or height < 0:
                raise ReplyError("ERR height or width cannot be negative")
            conversion = _unit(options[i + 3])
            by_box = True
            i += 3
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1

    if destination is not None and (with_dist or with_hash or with_coord):
        name = "GEOSEARCHSTORE" if variant == SEARCH_STORE else "STORE option in GEORADIUS"
        raise ReplyError(f"ERR {name} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    if search:
        typed = text(client.argv[0]) if client.argv and client.argv[0].lower() == variant.encode() else variant
        if not (from_member or from_lonlat):
            raise ReplyError(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {typed}")
        if not (by_radius or by_box):
            raise ReplyError(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {typed}")
    if any_ and not count:
        raise ReplyError("ERR the ANY argument requires COUNT argument")

    if zset is None:
        if destination is not None:
            return store_result(db, destination, None, "")
        return []
    if count and sort is None and not any_:
        sort = b"ASC"  # the nearest COUNT members need sorting anyway

    shape = geohash.Shape(longitude, latitude, conversion, radius, width or 0.0, height or 0.0)
    found = _members_in_areas(zset, shape, count if any_ else 0)
    if sort is not None:
        if count and count < len(found):
            _partial_sort(found, sort == b"DESC", count)
        else:
            found.sort(key=lambda point: point.distance, reverse=sort == b"DESC")  # glibc: a stable merge sort
    if count:
        found = found[:count]

    if destination is None:
        reply = []
        for point in found:
            if not (with_dist or with_hash or with_coord):
                reply.append(point.member)
                continue
            item = [point.member]
            if with_dist:
                item.append(_distance_text(point.distance / conversion))
            if with_hash:
                item.append(geohash.score_to_int64(point.score))
            if with_coord:
                item.append([_coordinate_text(point.longitude), _coordinate_text(point.latitude)])
            reply.append(item)
        return reply
    pairs = [(point.member, point.distance / conversion if scores_store else point.score) for point in found]
    stored = SortedSet.built(pairs, listpack_limits(client)) if pairs else None
    event = "geosearchstore" if search else "georadiusstore"
    return store_result(db, destination, stored, event, changes=len(pairs))  # one per member, as in Redis


_SEARCH_COMPLEXITY = ("O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around "
                      "the shape provided as the filter and M is the number of items inside the shape")
_RADIUS_COMPLEXITY = ("O(N+log(M)) where N is the number of elements inside the bounding box of the circular area "
                      "delimited by center and radius and M is the number of items inside the index.")


def _store_keys(start: int) -> list[KeySpec]:
    """GEORADIUS's keys: the source, and whatever follows STORE or STOREDIST (searched
    for from argument ``start``, as Redis' keyword key specs say)."""
    return [KeySpec(1, "RO access"), KeySpec(start, "OW update", keyword="STORE"),
            KeySpec(start, "OW update", keyword="STOREDIST")]


@_geo("georadius", arity=-6, flags="write denyoom movablekeys", keys=_store_keys(6), since="3.2.0",
      summary="Query a sorted set representing a geospatial index to fetch members matching a given maximum "
              "distance from a point", complexity=_RADIUS_COMPLEXITY)
def georadius(client, key: bytes, *args: bytes):
    return _search(client, RADIUS, key, args)


@_geo("georadius_ro", arity=-6, flags="readonly", keys=[KeySpec(1, "RO access")], since="3.2.10",
      summary="A read-only variant for GEORADIUS", complexity=_RADIUS_COMPLEXITY)
def georadius_ro(client, key: bytes, *args: bytes):
    return _search(client, RADIUS, key, args, no_store=True)


@_geo("georadiusbymember", arity=-5, flags="write denyoom movablekeys", keys=_store_keys(5), since="3.2.0",
      summary="Query a sorted set representing a geospatial index to fetch members matching a given maximum "
              "distance from a member", complexity=_RADIUS_COMPLEXITY)
def georadiusbymember(client, key: bytes, *args: bytes):
    return _search(client, RADIUS_MEMBER, key, args)


@_geo("georadiusbymember_ro", arity=-5, flags="readonly", keys=[KeySpec(1, "RO access")], since="3.2.10",
      summary="A read-only variant for GEORADIUSBYMEMBER", complexity=_RADIUS_COMPLEXITY)
def georadiusbymember_ro(client, key: bytes, *args: bytes):
    return _search(client, RADIUS_MEMBER, key, args, no_store=True)


@_geo("geosearch", arity=-7, flags="readonly", keys=[KeySpec(1, "RO access")], since="6.2.0",
      summary="Query a sorted set representing a geospatial index to fetch members inside an area of a box or a "
              "circle.", complexity=_SEARCH_COMPLEXITY)
def geosearch(client, key: bytes, *args: bytes):
    return _search(client, SEARCH, key, args)


@_geo("geosearchstore", arity=-8, flags="write denyoom", keys=[KeySpec(1, "OW update"), KeySpec(2, "RO access")],
      since="6.2.0", summary="Query a sorted set representing a geospatial index to fetch members inside an area of "
                             "a box or a circle, and store the result in another key.",
      complexity=_SEARCH_COMPLEXITY)
def geosearchstore(client, destination: bytes, key: bytes, *args: bytes):
    return _search(client, SEARCH_STORE, key, args, destination=destination)
