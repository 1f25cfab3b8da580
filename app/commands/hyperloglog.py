"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, and PFDEBUG / PFSELFTEST for tests.

A HyperLogLog is a string in Redis' exact format (app/store/hll.py), so GET shows its
bytes and SET of bytes made by Redis gives a HyperLogLog here. Writes change the value
in place, as a bytearray, like SETRANGE.
"""

from __future__ import annotations

import math
import random

from app.commands.arguments import c_string, keyword, text
from app.commands.registry import KeySpec, command
from app.commands.string import get_string
from app.protocol import ReplyError
from app.store import events, hll

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPTED = "INVALIDOBJ Corrupted HLL object detected"


def _hyperloglog(name: str, **kwargs):
    kwargs["acl"] = "hyperloglog " + kwargs.get("acl", "")
    return command(name, group="hyperloglog", **kwargs)


def _get_hll(db, key: bytes, read: bool = True):
    """The HyperLogLog at ``key`` or None; an error for any other value."""
    value = get_string(db, key, read=read)
    if value is not None and not hll.is_valid(value):
        raise ReplyError(NOT_HLL)
    return value


def _writable(db, key: bytes, value) -> bytearray:
    """The value as a bytearray stored at ``key`` (same TTL), to be changed in place."""
    if not isinstance(value, bytearray):
        value = bytearray(value)
        db.set(key, value, keep_ttl=True, changes=0)
    return value


def _registers(value) -> list[int]:
    registers = hll.registers(value)
    if registers is None:
        raise ReplyError(CORRUPTED)
    return registers


@_hyperloglog("pfadd", arity=-2, flags="write denyoom fast", keys=[KeySpec(1, "RW insert")], since="2.8.9",
              summary="Adds the specified elements to the specified HyperLogLog.",
              complexity="O(1) to add every element.")
def pfadd(client, key: bytes, *elements: bytes):
    db = client.db
    value = _get_hll(db, key, read=False)
    updated = 0
    if value is None:
        value = hll.new_sparse()
        db.set(key, value, changes=0)
        updated = 1  # creating the key is a change, even with no element
    elif not isinstance(value, bytearray):
        value = bytearray(value)  # a copy, stored below only if an element changes it
    max_bytes = client.server.config["hll-sparse-max-bytes"]
    for element in elements:
        result = hll.add(value, element, max_bytes)
        if result < 0:
            raise ReplyError(CORRUPTED)
        updated += result
    if updated:
        hll.invalidate(value)
        if db.lookup(key, touch=False) is not value:
            db.set(key, value, keep_ttl=True, changes=0)
        db.changed(key, updated)
        db.notify(events.STRING, "pfadd", key)
    return 1 if updated else 0


@_hyperloglog("pfcount", arity=-2, flags="readonly",
              keys=[KeySpec(1, "RW access", last=-1,
                            notes="RW because it may change the internal representation of the key, and propagate to replicas")],
              since="2.8.9",
              summary="Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
              complexity="O(1) with a very small average constant time when called with a single key. O(N) with N "
                         "being the number of keys, and much bigger constant times, when called with multiple keys.")
def pfcount(client, *keys: bytes):
    db = client.db
    if len(keys) > 1:
        # The count of the union: the highest of each register over every key.
        union = [0] * hll.REGISTERS
        for key in keys:
            value = _get_hll(db, key)
            if value is not None:
                union = list(map(max, union, _registers(value)))
        return hll.count(union)
    key = keys[0]
    value = _get_hll(db, key)
    if value is None:
        return 0
    cached = hll.cached_count(value)
    if cached is not None:
        return cached
    # The count is cached in the header: a change to the value, as Redis counts it.
    cardinality = hll.count(_registers(value))
    value = _writable(db, key, value)
    hll.store_count(value, cardinality)
    db.changed(key)
    return cardinality


@_hyperloglog("pfmerge", arity=-2, flags="write denyoom",
              keys=[KeySpec(1, "RW access insert"), KeySpec(2, "RO access", last=-1)], since="2.8.9",
              summary="Merge N different HyperLogLogs into a single one.",
              complexity="O(N) to merge N HyperLogLogs, but with high constant times.")
def pfmerge(client, destination: bytes, *sources: bytes):
    db = client.db
    union = [0] * hll.REGISTERS
    any_dense = False
    for key in (destination, *sources):  # the destination is merged in too
        value = _get_hll(db, key)
        if value is not None:
            any_dense = any_dense or value[4] == hll.DENSE
            union = list(map(max, union, _registers(value)))
    value = db.lookup(destination)
    if value is None:
        value = hll.new_sparse()
        db.set(destination, value, changes=0)
    else:
        value = _writable(db, destination, value)
    # A dense source makes the destination dense at once; otherwise it stays sparse
    # while the registers are raised one by one, as long as it fits.
    if any_dense and not hll.to_dense(value):
        raise ReplyError(CORRUPTED)
    max_bytes = client.server.config["hll-sparse-max-bytes"]
    for index, register in enumerate(union):
        if register:
            if value[4] == hll.DENSE:
                hll.dense_set(value, index, register)
            else:
                hll.sparse_set(value, index, register, max_bytes)
    hll.invalidate(value)
    db.changed(destination)
    db.notify(events.STRING, "pfadd", destination)  # Redis announces a merge as a PFADD
    return "OK"


@_hyperloglog("pfdebug", arity=3, flags="write denyoom admin", keys=[KeySpec(2, "RW access")], since="2.8.9",
              summary="Internal commands for debugging HyperLogLog values", complexity="N/A")
def pfdebug(client, subcommand: bytes, key: bytes):
    db = client.db
    value = db.lookup(key)
    if value is None:
        raise ReplyError("ERR The specified key does not exist")
    value = _get_hll(db, key, read=False)
    name = keyword(subcommand)
    if name in (b"GETREG", b"TODENSE"):
        converted = value[4] == hll.SPARSE
        if converted:
            value = _writable(db, key, value)
            if not hll.to_dense(value):
                raise ReplyError(CORRUPTED)
            # Counted for saving but not signalled to WATCH, as in Redis.
            db.keyspace.dirty += 1
        if name == b"TODENSE":
            return 1 if converted else 0
        return hll.dense_registers(value)
    if name == b"DECODE":
        if value[4] != hll.SPARSE:
            raise ReplyError("ERR HLL encoding is not sparse")
        return hll.decode_sparse(value).encode()
    if name == b"ENCODING":
        return "sparse" if value[4] == hll.SPARSE else "dense"
    raise ReplyError(f"ERR Unknown PFDEBUG subcommand '{text(c_string(subcommand))}'")


SELFTEST_ROUNDS = 10  # Redis: 1000 (HLL_TEST_CYCLES)
SELFTEST_ELEMENTS = 100_000  # Redis: 10,000,000


@_hyperloglog("pfselftest", arity=1, flags="admin", since="2.8.9",
              summary="An internal command for testing HyperLogLog values", complexity="N/A")
def pfselftest(client):
    """Redis' pfselftestCommand: its two checks, messages and bounds, with smaller counts.

    Redis writes every register 1000 times and adds 10,000,000 elements, half a second
    in C. Here that measured 40 seconds (10 s and 30 s), all of it holding the keyspace
    lock as every handler does, so no other client would be served meanwhile. 10 rounds
    of registers and 100,000 elements take about half a second (0.1 s and 0.4 s) and
    pass the same checkpoints up to 100,000; tests/test_hyperloglog.py checks the error
    bounds up to 1,000,000."""
    generator = random.Random()
    failure = (_check_dense_registers(generator, SELFTEST_ROUNDS)
               or _check_estimates(generator, SELFTEST_ELEMENTS, client.server.config["hll-sparse-max-bytes"]))
    if failure:
        raise ReplyError("ERR TESTFAILED " + failure)
    return "OK"


def _check_dense_registers(generator: random.Random, rounds: int) -> str | None:
    """Every register set to a random value (lower or higher than before) then read back:
    a register written must keep its value and leave its neighbours alone."""
    dense = bytearray(hll.DENSE_SIZE)
    for _ in range(rounds):
        expected = [generator.getrandbits(6) for _ in range(hll.REGISTERS)]
        for index, register in enumerate(expected):
            hll.dense_store(dense, index, register)
        for index, register in enumerate(expected):
            found = hll.dense_get(dense, index)
            if found != register:
                return f"Register {index} should be {register} but is {found}"
    return None


def _check_estimates(generator: random.Random, elements: int, max_bytes: int) -> str | None:
    """Distinct 8-byte elements (a counter XOR a random seed, as Redis makes them) added
    to a dense HyperLogLog and to one that starts sparse; at 1, 10, 100... elements the
    small one must still be sparse, both must count the same, and the count must be
    within 6 standard errors (1.04/sqrt(16384) each) of the truth, or 1 at 10."""
    dense = hll.new_sparse()
    hll.to_dense(dense)
    sparse = hll.new_sparse()
    relative_error = 1.04 / math.sqrt(hll.REGISTERS)
    seed = generator.getrandbits(64)
    checkpoint = 1
    for j in range(1, elements + 1):
        element = (j ^ seed).to_bytes(8, "little")
        hll.add(dense, element, max_bytes)
        hll.add(sparse, element, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes // 2 and sparse[4] != hll.SPARSE:
            return "sparse encoding not used"
        estimate = hll.count(hll.registers(dense))
        if estimate != hll.count(hll.registers(sparse)):
            return "dense/sparse disagree"
        error = abs(checkpoint - estimate)
        # Redis allows 1 at 10: collisions make a bigger error there likely enough.
        max_error = 1 if j == 10 else math.ceil(relative_error * 6 * checkpoint)
        if error > max_error:
            return f"Too big error. card:{checkpoint} abserr:{error}"
        checkpoint *= 10
    return None
