"""DEBUG DIGEST's fingerprint of a dataset, computed exactly as Redis' debug.c does.

Tests (Redis' own, and ours in tests/test_differential_debug.py) compare two servers'
data by comparing digests, so ours must be Redis' to the bit. Everything is built from
two steps over SHA1, with a 20-byte digest as the running state:

* **xor** (Redis' ``xorDigest``): digest ^= SHA1(data). XOR does not care about order,
  so it "adds" the members of unordered things: the keys of a database, the members of a
  set, the fields of a hash, the members of a sorted set.
* **mix** (``mixDigest``): digest = SHA1(digest ^ SHA1(data)). Order matters, and
  mixing "fo" then "obar" differs from "foo" then "bar": used for what is ordered (the
  elements of a list, a stream's entries) and to chain the parts of one element.

A key's own digest starts from zero: mix(key), mix(its type as a 4-byte big-endian
number), then its value, then, if it has a deadline, an xor of ``!!expire!!`` (whether
it has one, not when: a replica and its master agree although their clocks do not). It
is xor-ed into the total, and so is each element of a hash or sorted set into its
value: xor hashes what it adds, so these 20 bytes are hashed once more. Each database
that has keys first mixes its number into the total, so the same keys in another
database give another digest. An empty keyspace is twenty zero bytes.

Digests are kept here as 160-bit integers: XOR is then one operation, not twenty.
"""

from __future__ import annotations

import hashlib
import struct

from app.protocol import format_double
from app.store.hash import HashValue
from app.store.list import ListValue
from app.store.set import SetValue
from app.store.stream import Stream
from app.store.zset import SortedSet

DIGEST_BYTES = 20
EMPTY = "0" * 2 * DIGEST_BYTES  # an empty keyspace, or DIGEST-VALUE of a missing key

# Redis' object type numbers (server.h OBJ_STRING...), mixed in before each value.
_TYPE_CODES = {ListValue: 1, SetValue: 2, SortedSet: 3, HashValue: 4, Stream: 6}
_STRING_CODE = 0


def _sha1(data: bytes) -> int:
    return int.from_bytes(hashlib.sha1(data).digest(), "big")


def xor(digest: int, data: bytes) -> int:
    """Redis' xorDigest: add ``data`` where order does not matter."""
    return digest ^ _sha1(data)


def mix(digest: int, data: bytes) -> int:
    """Redis' mixDigest: add ``data`` after what is already there."""
    return _sha1(_as_bytes(digest ^ _sha1(data)))


def _as_bytes(digest: int) -> bytes:
    return digest.to_bytes(DIGEST_BYTES, "big")


def _pair(first: bytes, second: bytes) -> bytes:
    """One element of a hash or sorted set: its two parts chained from zero, as the 20
    bytes that are then xor-ed in (hashed once more, as xorDigest hashes what it adds)."""
    return _as_bytes(mix(mix(0, first), second))


def value_digest(value, has_deadline: bool, digest: int = 0) -> int:
    """A value's part (Redis' xorObjectDigest), added to ``digest``: DEBUG DIGEST-VALUE
    starts from zero, DEBUG DIGEST from the key already mixed in."""
    if isinstance(value, (bytes, bytearray)):  # HyperLogLogs too: they are strings
        digest = mix(mix(digest, struct.pack(">I", _STRING_CODE)), bytes(value))
    else:
        digest = mix(digest, struct.pack(">I", _TYPE_CODES[type(value)]))
        if isinstance(value, ListValue):
            for element in value:
                digest = mix(digest, element)
        elif isinstance(value, SetValue):
            for member in value.members:
                digest = xor(digest, member)
        elif isinstance(value, SortedSet):
            # A score as Redis prints it (%.17g): 1.5, 0.10000000000000001, inf.
            for member, score in value.scores.items():
                digest = xor(digest, _pair(member, format_double(score)))
        elif isinstance(value, HashValue):
            for field, field_value in value.fields.items():
                digest = xor(digest, _pair(field, field_value))
        else:  # a stream: its live entries in order, written "ms.seq", then the fields
            for (ms, seq), fields in value.range():
                digest = mix(digest, b"%d.%d" % (ms, seq))
                for part in fields:
                    digest = mix(digest, part)
    if has_deadline:
        digest = xor(digest, b"!!expire!!")
    return digest


def dataset_digest(databases) -> int:
    """The whole keyspace (Redis' computeDatasetDigest): ``databases`` gives, for each
    database in order, (its number, key -> value, key -> deadline); empty ones count
    for nothing."""
    total = 0
    for index, data, expires in databases:
        if not data:
            continue
        total = mix(total, struct.pack(">I", index))
        for key, value in data.items():
            total = xor(total, _as_bytes(value_digest(value, key in expires, mix(0, key))))
    return total


def hex_digest(digest: int) -> str:
    """The 40 lower-case hex digits DEBUG DIGEST answers."""
    return f"{digest:040x}"
