"""HyperLogLog commands compared byte for byte with a real Redis: replies, and the values
themselves through GET (the header, the cached count, sparse and dense registers), so a
HyperLogLog made by one server reads the same on the other.

Scripts that change the configuration restore it on their last lines: both servers are
shared by the whole session.
"""

from __future__ import annotations

import random

import pytest

from app.store import hll
from tests.differential import compare, compare_notifications
from tests.helpers import RawConnection
from tests.test_differential_change_counts import changes_per_command


def elements(count: int, seed: int, prefix: str = "e") -> str:
    """``count`` distinct random-looking elements as one line of arguments."""
    generator = random.Random(seed)
    return " ".join(f"{prefix}{generator.getrandbits(48):x}" for _ in range(count))


def add_in_chunks(key: str, count: int, seed: int, chunk: int = 500) -> str:
    """PFADD lines adding ``count`` elements to ``key``, each followed by a GET of the value."""
    lines = []
    for start in range(0, count, chunk):
        lines.append(f"PFADD {key} {elements(min(chunk, count - start), seed * 1000 + start)}")
        lines.append(f"GET {key}")
    return "\n".join(lines)


SCRIPTS = {
    "pfadd_pfcount": """
        PFADD h a b c
        GET h
        PFCOUNT h
        GET h
        PFADD h a
        PFADD h a b c d
        GET h
        PFCOUNT h
        PFCOUNT h
        PFADD new
        GET new
        PFADD new
        PFCOUNT new
        PFCOUNT nokey
        PFADD h ""
        PFADD h "\\x00\\xff" abcdefgh abcdefghi 123456789012345
        PFCOUNT h
        GET h
        SET t v PXAT 32503680000000
        DEL t
        PFADD t x
        PEXPIRE t 100000000000
        PFADD t y
        TTL t
        PFADD
        PFCOUNT
        TYPE h
        OBJECT ENCODING h
        STRLEN h
    """,
    "many_elements_sparse_then_dense": "\n".join([
        add_in_chunks("h", 3000, 1),
        "PFCOUNT h",
        "PFDEBUG ENCODING h",
        "GET h",
        add_in_chunks("g", 400, 2, chunk=100),
        "PFCOUNT g",
        "PFDEBUG ENCODING g",
        "PFDEBUG DECODE g",
        "PFCOUNT h g",
        "PFCOUNT g h nokey",
    ]),
    "large_counts": "\n".join([
        add_in_chunks("big", 30000, 3, chunk=5000),
        "PFCOUNT big",
        "GET big",
        "PFDEBUG GETREG big",
    ]),
    "sparse_max_bytes": "\n".join([
        "CONFIG SET hll-sparse-max-bytes 60",
        "CONFIG GET hll-sparse-max-bytes",
        add_in_chunks("h", 40, 4, chunk=4),
        "PFDEBUG ENCODING h",
        "CONFIG SET hll-sparse-max-bytes 0",
        "PFADD z a",
        "PFDEBUG ENCODING z",
        "GET z",
        "CONFIG SET hll-sparse-max-bytes -1",
        "CONFIG SET hll-sparse-max-bytes 1kb",
        "CONFIG GET hll-sparse-max-bytes",
        "CONFIG SET hll-sparse-max-bytes 3000",
    ]),
    "pfmerge": "\n".join([
        "PFADD a x y z",
        add_in_chunks("b", 100, 5, chunk=50),
        add_in_chunks("dense", 2000, 6, chunk=1000),
        "PFMERGE m a b",
        "GET m",
        "PFCOUNT m",
        "PFDEBUG ENCODING m",
        "PFMERGE m",
        "GET m",
        "PFMERGE m2 a dense",
        "GET m2",
        "PFDEBUG ENCODING m2",
        "PFCOUNT m2",
        "PFMERGE a a",
        "GET a",
        "PFMERGE b dense",
        "GET b",
        "PFMERGE empty",
        "GET empty",
        "PFMERGE empty2 nokey nokey2",
        "GET empty2",
        "PFCOUNT a b dense m",
        "SET s notanhll",
        "PFMERGE s a",
        "PFMERGE m s",
        "LPUSH l x",
        "PFMERGE l a",
        "PFMERGE m l",
        "PFMERGE",
    ]),
    "wrong_values": """
        SET s hello
        PFADD s a
        PFCOUNT s
        PFCOUNT s nokey
        PFCOUNT nokey s
        SET s 123
        PFADD s a
        SET s "HYLL\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
        PFADD s a
        PFCOUNT s
        SET s "HYLL\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFADD s a
        SET s "HYLX\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFCOUNT s
        SET s "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFADD s a
        PFCOUNT s
        SET c "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x00\\x00\\x00\\x00\\x7f\\xfe"
        PFCOUNT c
        PFADD c a
        PFCOUNT c s
        PFMERGE d c
        EXISTS d
        PFDEBUG GETREG c
        PFDEBUG TODENSE c
        PFDEBUG DECODE c
        PFDEBUG ENCODING c
        SET c "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff\\x80"
        PFCOUNT c
        PFADD c b
        SET cached "HYLL\\x01\\x00\\x00\\x00\\x2a\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        PFCOUNT cached
        PFCOUNT cached nokey
        LPUSH l a
        PFADD l a
        PFCOUNT l
        PFCOUNT nokey l
        PFDEBUG ENCODING l
        SET s "HYLL"
        PFCOUNT s
    """,
    "pfdebug": "\n".join([
        "PFADD h a b c d e",
        "PFDEBUG ENCODING h",
        "PFDEBUG DECODE h",
        "PFDEBUG decode h",
        "PFDEBUG GETREG h",
        "PFDEBUG ENCODING h",
        "GET h",
        "PFDEBUG DECODE h",
        "PFDEBUG TODENSE h",
        "PFADD g a",
        "PFDEBUG TODENSE g",
        "GET g",
        "PFCOUNT g",
        "PFDEBUG ENCODING nokey",
        "PFDEBUG GETREG nokey",
        "PFDEBUG FOO h",
        "PFDEBUG FOO nokey",
        "SET s x",
        "PFDEBUG FOO s",
        "PFDEBUG ENCODING s",
        "PFDEBUG ENCODING",
        "PFDEBUG ENCODING h extra",
        "PFSELFTEST x",
    ]),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


def test_pfselftest_matches_redis(server, reference):
    """PFSELFTEST passes on both servers (about half a second each); with too small an
    hll-sparse-max-bytes the first element makes the value dense, and both fail the
    sparse check at once, with the same error."""
    compare(server.port, reference.port, """
        PFSELFTEST
        CONFIG SET hll-sparse-max-bytes 10
        PFSELFTEST
        CONFIG SET hll-sparse-max-bytes 3000
    """)


@pytest.mark.parametrize("count", [1, 50, 1000, 5000])
def test_values_cross_over_between_servers(server, reference, count):
    """A HyperLogLog written by Redis (GET, then SET of its bytes) counts the same here and
    takes new elements to the same bytes, and the other way round."""
    line = elements(count, count, "x").split()
    more = elements(200, count + 1, "y").split()
    with RawConnection(server.port) as ours, RawConnection(reference.port) as theirs:
        for writer, reader in ((theirs, ours), (ours, theirs)):
            for connection in (writer, reader):
                connection.call("FLUSHALL")
            writer.call("PFADD", "h", *line)
            writer.send_command("GET", "h")
            made = writer.read()  # the value itself, not the reply's bytes
            assert made[:4] == b"HYLL"
            reader.call("SET", "h", made)
            assert reader.call("PFCOUNT", "h") == writer.call("PFCOUNT", "h")
            assert reader.call("GET", "h") == writer.call("GET", "h")  # the same cached count
            writer.call("PFADD", "h", *more)
            reader.call("PFADD", "h", *more)
            assert reader.call("GET", "h") == writer.call("GET", "h")


def test_notifications_match_redis(server, reference):
    compare_notifications(server.port, reference.port, """
        PFADD h a b
        PFADD h a
        PFADD h
        PFADD new
        PFCOUNT h
        PFCOUNT h new
        PFMERGE m h new
        PFMERGE m
        PFDEBUG TODENSE h
        PFDEBUG GETREG new
    """)


def test_change_counts_match_redis(server, reference):
    script = """
        PFADD h a b c
        PFADD h a
        PFADD h
        PFADD new
        PFCOUNT h
        PFCOUNT h
        PFCOUNT h new
        PFADD h d
        PFMERGE m h
        PFMERGE m
        PFDEBUG TODENSE h
        PFDEBUG TODENSE h
        PFDEBUG GETREG new
        PFDEBUG ENCODING new
    """
    assert changes_per_command(server.port, script) == changes_per_command(reference.port, script)


def test_pfcount_counts_as_a_change_for_watch(server, reference):
    """Caching the count changes the value: a WATCH on it fails, as in Redis; adding an
    element already counted changes nothing."""
    compare(server.port, reference.port, """
        PFADD h a
        PFCOUNT h
        ? GET h
        WATCH h
        PFADD h a
        MULTI
        PING
        EXEC
        SET e "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
        WATCH e
        PFADD e
        PFCOUNT e
        MULTI
        PING
        EXEC
        DEL h
        PFADD h a
        WATCH h
        PFCOUNT h
        MULTI
        PING
        EXEC
        WATCH h
        PFCOUNT h
        MULTI
        PING
        EXEC
    """)


# --------------------------------------------------------------------------- in process


def test_each_element_lands_in_the_register_redis_picks(reference):
    """MurmurHash64A and the register pattern, over every tail length (0 to 7 bytes after
    the 8-byte words): the one register Redis sets for an element is the one we compute."""
    with RawConnection(reference.port) as connection:
        for length in range(20):
            element = bytes(range(200, 200 + length))
            connection.call("DEL", "h")
            connection.call("PFADD", "h", element)
            connection.send_command("PFDEBUG", "GETREG", "h")
            registers = connection.read()
            (index,) = [i for i, register in enumerate(registers) if register]
            assert hll.pattern(element) == (index, registers[index])


def test_error_stays_within_bounds_over_many_elements():
    """The estimate of 200,000 distinct elements is within 3 standard errors
    (1.04/sqrt(16384), 0.81%) of the truth, and an empty HyperLogLog counts 0."""
    value = hll.new_sparse()
    assert hll.count(hll.registers(value)) == 0
    for i in range(200_000):
        hll.add(value, b"%d" % i, 3000)
    estimate = hll.count(hll.registers(value))
    assert abs(estimate - 200_000) / 200_000 < 3 * 0.0081


def test_sparse_and_dense_give_the_same_registers():
    sparse = hll.new_sparse()
    dense = hll.new_sparse()
    assert hll.to_dense(dense)
    generator = random.Random(7)
    for _ in range(2000):
        element = generator.randbytes(generator.randrange(0, 20))
        assert hll.add(sparse, element, 1 << 20) == hll.add(dense, element, 1 << 20)
    assert sparse[4] == hll.SPARSE and dense[4] == hll.DENSE
    assert hll.registers(sparse) == hll.registers(dense)
