"""How much memory a value takes, and how often a key is used: what maxmemory needs.

Redis knows its memory use exactly, from its allocator. Python does not tell what its
objects hold without slowing every allocation (tracemalloc costs several times over),
so this estimates instead, the way MEMORY USAGE does: the Python objects holding a value,
sampling the elements of a big container as Redis samples aggregates. While maxmemory is
set, the keyspace keeps each key's estimate and their total (`Database.account`), so
eviction can compare used memory with maxmemory in O(1).

The LFU counters are Redis' (evict.c): an 8-bit logarithmic counter of accesses and the
minute it was last decremented, packed in one int as in the object's ``lru`` field. With
an LFU policy they replace the last-access times the keyspace keeps for OBJECT IDLETIME.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from itertools import islice

from app.store.skiplist import SkipList

DEFAULT_SAMPLES = 5  # as Redis' OBJ_COMPUTE_SIZE_DEF_SAMPLES
DICT_ENTRY = 3 * 8 + 8  # a dict slot: hash, key and value pointers, plus its index entry
_SCALARS = (bytes, str, int, float, bool, type(None))


def estimate_size(value, samples: int) -> int:
    """The bytes of the Python objects holding ``value``: each container itself
    (sys.getsizeof), plus its elements; a container with more than ``samples``
    elements is counted from the average of its first ``samples``, as Redis samples
    aggregates. Objects shared with others (small ints) are counted as if they were not."""
    return _size(value, samples, depth=0)


def _average(sizes: list[int], count: int) -> int:
    return sum(sizes) * count // len(sizes) if sizes else 0


def _size(obj, samples: int, depth: int) -> int:
    size = sys.getsizeof(obj)
    if isinstance(obj, _SCALARS) or depth > 6:
        return size
    if isinstance(obj, SkipList):  # nodes linked to each other: sample along level 0
        node, sizes = obj.header.forward[0] if obj.header.forward else None, []
        while node is not None and len(sizes) < samples:
            # The member is the sorted set's dict key too: counted there.
            sizes.append(sys.getsizeof(node) + _size(node.forward, samples, depth + 1) +
                         _size(node.span, samples, depth + 1) + sys.getsizeof(node.score))
            node = node.forward[0] if node.forward else None
        return size + _average(sizes, obj.length)
    if isinstance(obj, dict):
        sizes = [_size(k, samples, depth + 1) + _size(v, samples, depth + 1) + DICT_ENTRY
                 for k, v in islice(obj.items(), samples)]
        return size + _average(sizes, len(obj))
    if isinstance(obj, (list, tuple, deque, set, frozenset)):
        sizes = [_size(item, samples, depth + 1) for item in islice(obj, samples)]
        return size + _average(sizes, len(obj))
    slots = [name for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())]
    attributes = [getattr(obj, name, None) for name in slots] + list(getattr(obj, "__dict__", {}).values())
    return size + sum(_size(attribute, samples, depth + 1) for attribute in attributes)


# A key in the keyspace: its name, and an entry in the dicts of values, access times and
# these estimates.
_KEY_ENTRIES = 3 * DICT_ENTRY


def entry_size(key: bytes, value) -> int:
    """What one key takes: its name, its value (sampled) and its dict entries."""
    return sys.getsizeof(key) + estimate_size(value, DEFAULT_SAMPLES) + _KEY_ENTRIES


# --------------------------------------------------------------------------- LFU

LFU_INIT_VAL = 5  # a new key's counter, so that it is not evicted before it can be used


def lfu_minutes() -> int:
    """The LFU clock: Unix minutes, 16 bits (Redis: LFUGetTimeInMinutes)."""
    return int(time.time() // 60) & 0xFFFF


def lfu_new() -> int:
    """The LFU field of a new key."""
    return lfu_minutes() << 8 | LFU_INIT_VAL


def lfu_counter(field: int, decay_time: int) -> int:
    """The counter, decremented by one per ``decay_time`` minutes since it last was
    (Redis: LFUDecrAndReturn). OBJECT FREQ shows this."""
    counter = field & 0xFF
    if decay_time:
        now, last = lfu_minutes(), field >> 8 & 0xFFFF
        elapsed = now - last if now >= last else 0xFFFF - last + now  # the clock wraps
        counter = max(counter - elapsed // decay_time, 0)
    return counter


def lfu_touched(field: int, log_factor: int, decay_time: int) -> int:
    """The LFU field after an access: decayed, then incremented with probability
    1 / ((counter - LFU_INIT_VAL) * log_factor + 1), so that it grows with the log of the
    accesses (Redis: updateLFU and LFULogIncr)."""
    counter = lfu_counter(field, decay_time)
    if counter < 255:
        base = max(counter - LFU_INIT_VAL, 0)
        if random.random() < 1.0 / (base * log_factor + 1):
            counter += 1
    return lfu_minutes() << 8 | counter

