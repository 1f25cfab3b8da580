"""Reading command arguments, and the error replies Redis gives for bad ones."""

from __future__ import annotations

from app.glob import compile_glob
from app.numeric import INT64_MAX, parse_int
from app.protocol import ReplyError
from app.store.keyspace import WRONGTYPE

SYNTAX_ERROR = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OUT_OF_RANGE = "ERR value is out of range"
NOT_POSITIVE = "ERR value is out of range, must be positive"


def integer(arg: bytes, error: str = NOT_INTEGER) -> int:
    """A 64-bit integer argument, read strictly like Redis; otherwise ``error``."""
    value = parse_int(arg)
    if value is None:
        raise ReplyError(error)
    return value


def wrong_type() -> ReplyError:
    return ReplyError(WRONGTYPE)


def lookup_typed(db, key: bytes, value_type: type, read: bool = False):
    """The value at ``key`` if it is a ``value_type`` (a list, a hash...), None if there
    is none; WRONGTYPE for another type. ``read`` is for commands that only read: their
    lookups count as keyspace hits and misses, as Redis' lookupKeyRead does."""
    value = db.lookup_read(key) if read else db.lookup(key)
    if value is None or isinstance(value, value_type):
        return value
    raise wrong_type()


def text(arg: bytes) -> str:
    """An argument as text for an error message, any bytes kept as they are."""
    return arg.decode("utf-8", "surrogateescape")


def positive(arg: bytes, error: str = NOT_POSITIVE) -> int:
    """A count that must be 0 or more (Redis' getPositiveLongFromObjectOrReply);
    ``error`` for anything else, words included."""
    value = integer(arg, error)
    if value < 0:
        raise ReplyError(error)
    return value


def int32(arg: bytes, error: str | None = None) -> int:
    """An integer argument that Redis reads into a C int (database numbers); ``error``, if
    given, is the one message for a bad number and one out of range (SWAPDB's)."""
    value = integer(arg, error or NOT_INTEGER)
    if not -(2**31) <= value < 2**31:
        raise ReplyError(error or "ERR value is out of range, value must between -2147483648 and 2147483647")
    return value


def c_string(arg: bytes) -> bytes:
    """An argument as C code sees it through ``argv[i]->ptr``: cut at the first NUL."""
    return arg.split(b"\0", 1)[0]


def keyword(arg: bytes) -> bytes:
    """An option word, upper-cased and compared as Redis does (strcasecmp on a C
    string, so "nx\\0junk" is NX)."""
    return c_string(arg).upper()


def scan_cursor(arg: bytes) -> int:
    """A SCAN-family cursor, read like C's strtoul: an unsigned 64-bit number ('-1' wraps)."""
    arg = c_string(arg)
    body = arg[1:] if arg[:1] in (b"-", b"+") else arg
    if arg and not body.isdigit() or (body and int(body) > 2**64 - 1):
        raise ReplyError("ERR invalid cursor")
    value = int(body) if body else 0
    return (-value if arg[:1] == b"-" else value) % 2**64


def scan_options(options: tuple[bytes, ...]):
    """``[MATCH pattern] [COUNT count]`` of HSCAN, SSCAN and ZSCAN, in any order, the last
    one winning: (count, pattern), the pattern None when there is none to apply (exactly
    "*" matches everything, even the empty name, as Redis skips matching for it). Redis
    reads these after it has found the key."""
    count, pattern = 10, None
    for i in range(0, len(options), 2):
        option = keyword(options[i])
        if i + 1 >= len(options):
            raise ReplyError(SYNTAX_ERROR)
        if option == b"COUNT":
            count = integer(options[i + 1])
            if count < 1:
                raise ReplyError(SYNTAX_ERROR)
        elif option == b"MATCH":
            pattern = compile_glob(options[i + 1])
        else:
            raise ReplyError(SYNTAX_ERROR)
    return count, (None if pattern is None or pattern.match_all else pattern)


def random_count(arg: bytes) -> int:
    """The count of HRANDFIELD, SRANDMEMBER and ZRANDMEMBER: a C long that Redis may
    negate, so anything but the most negative one."""
    count = integer(arg)
    if count == -(2**63):
        raise ReplyError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    return count


def paired_random_count(count: int) -> int:
    """A random count WITHSCORES or WITHVALUES: Redis doubles it for the reply's length,
    so it must stay within half of a C long. Checked after the syntax, as in Redis."""
    if not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:
        raise ReplyError(OUT_OF_RANGE)
    return count


# A negative count asks for that many independent picks, repeats allowed, so even a
# one-member key can be asked for 2**63 - 1 of them. Redis starts writing such a reply
# and never finishes: it spins (and grows) until it is killed, or dies of memory first.
# We answer instead, with Redis' own range error, when the reply could not be built:
# 2**27 (134 million) picks is past what a client could take in one reply (several GB
# on the wire and in our memory), and far above any count used in practice; tens of
# millions are still served as Redis serves them.
RANDOM_PICKS_LIMIT = 2**27


def random_picks(count: int) -> int:
    """How many independent picks a negative random count asks for (``-count``), or
    the range error when it is past `RANDOM_PICKS_LIMIT`. Checked once the key is
    found: on a missing key Redis answers an empty array whatever the count."""
    if -count > RANDOM_PICKS_LIMIT:
        raise ReplyError(OUT_OF_RANGE)
    return -count


NUMKEYS_ERROR = "ERR numkeys should be greater than 0"
COUNT_ERROR = "ERR count should be greater than 0"


def mpop_arguments(args: tuple[bytes, ...], ends: tuple[bytes, bytes]) -> tuple[tuple[bytes, ...], bytes, int]:
    """LMPOP's and ZMPOP's ``numkeys key [key ...] <end> [COUNT count]``, where ``<end>``
    is one of ``ends`` (LEFT/RIGHT, MIN/MAX) -> (keys, end upper-cased, count); Redis'
    errors in Redis' order."""
    numkeys = integer(args[0], NUMKEYS_ERROR)
    if numkeys < 1:
        raise ReplyError(NUMKEYS_ERROR)
    if numkeys + 1 >= len(args):
        raise ReplyError(SYNTAX_ERROR)  # nothing after the keys
    keys, end = args[1 : numkeys + 1], keyword(args[numkeys + 1])
    if end not in ends:
        raise ReplyError(SYNTAX_ERROR)
    options = args[numkeys + 2 :]
    count = None
    i = 0
    while i < len(options):
        if count is None and keyword(options[i]) == b"COUNT" and i + 1 < len(options):
            count = integer(options[i + 1], COUNT_ERROR)
            if count < 1:
                raise ReplyError(COUNT_ERROR)
            i += 2
        else:
            raise ReplyError(SYNTAX_ERROR)  # unknown, incomplete, or a second COUNT
    return keys, end, count or 1
