"""HyperLogLog accuracy over a million distinct elements, in process (app/store/hll.py),
with a few checkpoints compared with a real redis-server; and PFSELFTEST's checks, which
must fail with Redis' messages when the code under them is wrong.

Redis' bound is PFSELFTEST's: at n elements the estimate is within
ceil(6 * 1.04 / sqrt(16384) * n) of n (about 4.9%), and within 1 at 10 elements.
"""

from __future__ import annotations

import math

import pytest

from app.commands import hyperloglog
from app.store import hll
from tests.helpers import RawConnection

CHECKPOINTS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
RELATIVE_ERROR = 1.04 / math.sqrt(hll.REGISTERS)
SPARSE_MAX_BYTES = 3000  # the default hll-sparse-max-bytes
CHUNK = 1000  # elements per PFADD sent to Redis


def element(i: int) -> bytes:
    return b"element:%d" % i


def max_error(cardinality: int) -> int:
    return 1 if cardinality == 10 else math.ceil(RELATIVE_ERROR * 6 * cardinality)


@pytest.fixture(scope="module")
def walk() -> dict[int, tuple[int, int, bool]]:
    """The same 1,000,000 elements added to a HyperLogLog that starts sparse (and turns
    dense on the way) and to one dense from the start: at each checkpoint, (the estimate,
    the encoding of the first, whether both hold the same registers). About 4 seconds."""
    started_sparse = hll.new_sparse()
    dense = hll.new_sparse()
    hll.to_dense(dense)
    seen = {}
    added = 0
    for checkpoint in CHECKPOINTS:
        for i in range(added, checkpoint):
            hll.add(started_sparse, element(i), SPARSE_MAX_BYTES)
            hll.add(dense, element(i), SPARSE_MAX_BYTES)
        added = checkpoint
        registers = hll.registers(started_sparse)
        seen[checkpoint] = (hll.count(registers), started_sparse[4], registers == hll.registers(dense))
    return seen


def test_the_estimate_stays_within_redis_bounds_up_to_a_million(walk):
    for checkpoint, (estimate, _, _) in walk.items():
        assert abs(estimate - checkpoint) <= max_error(checkpoint), (checkpoint, estimate)


def test_sparse_turns_dense_on_the_way_and_counts_as_dense_does(walk):
    encodings = {checkpoint: encoding for checkpoint, (_, encoding, _) in walk.items()}
    assert encodings[1_000] == hll.SPARSE and encodings[10_000] == hll.DENSE
    assert all(same for _, _, same in walk.values())


def test_counts_equal_redis_at_checkpoints(reference, walk):
    """The same elements added to a real redis-server give the same PFCOUNT at every
    checkpoint (our bytes are Redis' bytes, so the counts must be equal, not close)."""
    with RawConnection(reference.port, timeout=60) as connection:
        connection.call("DEL", "hll:million")
        added = 0
        for checkpoint in CHECKPOINTS:
            for start in range(added, checkpoint, CHUNK):
                connection.send_command("PFADD", "hll:million", *map(element, range(start, min(start + CHUNK, checkpoint))))
            for _ in range(added, checkpoint, CHUNK):
                connection.read()
            added = checkpoint
            assert connection.call("PFCOUNT", "hll:million") == b":%d\r\n" % walk[checkpoint][0], checkpoint
        connection.call("DEL", "hll:million")


# --------------------------------------------------------------------------- PFSELFTEST


def test_selftest_checks_pass():
    assert hyperloglog._check_dense_registers(hyperloglog.random.Random(1), 2) is None
    assert hyperloglog._check_estimates(hyperloglog.random.Random(1), 10_000, SPARSE_MAX_BYTES) is None


def test_selftest_names_a_register_that_does_not_read_back(monkeypatch):
    monkeypatch.setattr(hll, "dense_store", lambda value, index, count: None)  # a setter that loses writes
    generator = hyperloglog.random.Random(1)
    expected = [generator.getrandbits(6) for _ in range(hll.REGISTERS)]
    first_wrong = next(index for index, register in enumerate(expected) if register)
    message = hyperloglog._check_dense_registers(hyperloglog.random.Random(1), 1)
    assert message == f"Register {first_wrong} should be {expected[first_wrong]} but is 0"


def test_selftest_reports_too_big_an_error(monkeypatch):
    monkeypatch.setattr(hll, "count", lambda registers: 0)  # off by 1 at 1 (allowed), by 10 at 10
    message = hyperloglog._check_estimates(hyperloglog.random.Random(1), 100, SPARSE_MAX_BYTES)
    assert message == "Too big error. card:10 abserr:10"


def test_selftest_reports_sparse_and_dense_disagreeing(monkeypatch):
    real_registers = hll.registers

    def registers(value):
        found = real_registers(value)
        if value[4] == hll.SPARSE:
            found[0] = max(found[0], 1) + 1  # a sparse reader one off
        return found

    monkeypatch.setattr(hll, "registers", registers)
    message = hyperloglog._check_estimates(hyperloglog.random.Random(1), 100, SPARSE_MAX_BYTES)
    assert message == "dense/sparse disagree"


def test_selftest_wants_small_counts_sparse():
    """With hll-sparse-max-bytes 10 the first element already makes the value dense, and
    Redis' check fails (its reply is compared in tests/test_differential_hyperloglog.py);
    with 0 no count is below half of it, and the check is skipped."""
    assert hyperloglog._check_estimates(hyperloglog.random.Random(1), 100, 10) == "sparse encoding not used"
    assert hyperloglog._check_estimates(hyperloglog.random.Random(1), 1_000, 0) is None
