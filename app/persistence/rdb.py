"""The RDB file: Redis' snapshot of the whole keyspace, read (versions 1 to 12) and written.

Layout (rdb.c; every number little-endian unless said otherwise)::

    "REDIS" + 4 ASCII digits (the version)
    FA aux-name aux-value                  any number of AUX fields ("redis-ver"...)
    F5 library-code                        one per function library (FUNCTION LOAD's code)
    FE db-number                           SELECTDB: the keys that follow belong to it
    FB table-size expires-size             RESIZEDB: a hint, ignored here
    [FC ms:8 | FD seconds:4] [F8 idle] [F9 freq]  optional, before a key
    type key value                         one key (type is one byte, below)
    ...
    FF crc64:8                             end; the CRC of everything before it (v5+),
                                           0 when the writer had rdbchecksum off

A *length* packs into one to nine bytes: ``00LLLLLL`` (6 bits), ``01LLLLLL LLLLLLLL``
(14 bits, big-endian), ``10000000`` + 4 bytes and ``10000001`` + 8 bytes (big-endian).
``11EEEEEE`` marks a string in a special encoding instead: E = 0, 1, 2 an integer of 1,
2 or 4 bytes written as text when read, E = 3 an LZF-compressed string (compressed and
plain lengths, then the data). Redis keeps small collections as one packed blob
(ziplist, listpack, intset, zipmap) stored as a single string; the readers of packed
blobs below take those apart.

Like Redis, the readers always make the cheap checks (a blob's frame against its size,
ziplists and zipmaps in full, a member twice where Redis adds one by one) and leave the
entry-by-entry ones of integrity.py to ``deep``: sanitize-dump-payload decides
(`sanitize_on_load` for files; RESTORE decides for itself, app/commands/generic.py).

Loading is all or nothing: the whole file is parsed into plain Python values first and
only then put in the keyspace, so a corrupt or truncated file leaves nothing half-loaded.
"""

from __future__ import annotations

import gc
import math
import os
import struct
from contextlib import contextmanager
from itertools import chain, groupby, islice, repeat
from operator import add, attrgetter, itemgetter, sub
from typing import Iterable, Iterator, NamedTuple

from app.numeric import strtod
from app.persistence import integrity, lzf
from app.persistence.crc64 import Crc64Stream, crc64
from app.persistence.integrity import backlen_size
from app.protocol import ReplyError
from app.store.hash import HashValue
from app.store.keyspace import now_ms
from app.store.list import ListValue
from app.store.set import set_of
from app.store.stream import Consumer, ConsumerGroup, PendingEntry, Stream
from app.store.zset import Limits, SortedSet

MAX_VERSION = 12  # Redis 7.2 writes 11, 7.4 writes 12
WRITE_VERSION = 10  # what Redis 7.0 writes and loads

# Opcodes (rdb.h).
OP_FUNCTION2 = 0xF5
OP_FUNCTION_PRE_GA = 0xF6
OP_MODULE_AUX = 0xF7
OP_IDLE = 0xF8
OP_FREQ = 0xF9
OP_AUX = 0xFA
OP_RESIZEDB = 0xFB
OP_EXPIRETIME_MS = 0xFC
OP_EXPIRETIME = 0xFD
OP_SELECTDB = 0xFE
OP_EOF = 0xFF

# Value types (rdb.h).
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE_PRE_GA = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19
TYPE_SET_LISTPACK = 20
TYPE_STREAM_LISTPACKS_3 = 21

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3
QUICKLIST_NODE_PLAIN, QUICKLIST_NODE_PACKED = 1, 2
STREAM_ITEM_FLAG_DELETED, STREAM_ITEM_FLAG_SAMEFIELDS = 1, 2

# Switches DEBUG sets for tests (app/commands/debug.py), read where Redis reads them:
# SET-SKIP-CHECKSUM-VALIDATION stops the CRC64 checks of files and DUMP payloads;
# QUICKLIST-PACKED-THRESHOLD is the size from which a list element gets a quicklist node
# of its own (a "plain" node) instead of a place in a listpack.
skip_checksum_validation = False
quicklist_packed_threshold = 1 << 30


class RDBError(ValueError):
    """A file we cannot load; the message says what is wrong and at which offset."""


class LoadedKey(NamedTuple):
    db: int
    key: bytes
    value: object
    deadline: int | None  # Unix ms, or None


# --------------------------------------------------------------------------- reading


class _Cursor:
    """Bytes and a position in them; every read checks the end, so truncation is
    reported where it happens."""

    __slots__ = ("data", "position", "base", "what")

    def __init__(self, data: bytes, base: int = 0, what: str = "file"):
        self.data = data
        self.position = 0
        self.base = base  # where ``data`` starts in the file, for messages
        self.what = what

    def fail(self, message: str, at: int | None = None) -> RDBError:
        at = self.position if at is None else at
        return RDBError(f"{message} at offset {self.base + at}")

    def integrity_failed(self) -> RDBError:
        """Redis' words for a packed value that fails a check ("Hash listpack integrity
        check failed"), at the offset where the value starts."""
        return self.fail(f"{self.what[:1].upper()}{self.what[1:]} integrity check failed", 0)

    def take(self, count: int) -> bytes:
        start = self.position
        end = start + count
        if end > len(self.data):
            raise self.fail(f"unexpected end of {self.what} (wanted {count} bytes)", start)
        self.position = end
        return self.data[start:end]

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise self.fail(f"unexpected end of {self.what}")
        self.position += 1
        return self.data[self.position - 1]


class _Reader(_Cursor):
    """The RDB-level reads: lengths, strings, numbers."""

    def length_or_encoding(self) -> tuple[int, bool]:
        """A length, or (with True) the number of a special string encoding."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise self.fail(f"unknown length encoding 0x{first:02x}", self.position - 1)

    def length(self) -> int:
        start = self.position
        value, encoded = self.length_or_encoding()
        if encoded:
            raise self.fail("a string encoding where a length was expected", start)
        return value

    def string(self) -> bytes:
        start = self.position
        value, encoded = self.length_or_encoding()
        if not encoded:
            return self.take(value)
        if value == ENC_INT8:
            return b"%d" % struct.unpack("<b", self.take(1))
        if value == ENC_INT16:
            return b"%d" % struct.unpack("<h", self.take(2))
        if value == ENC_INT32:
            return b"%d" % struct.unpack("<i", self.take(4))
        if value == ENC_LZF:
            packed_length = self.length()
            plain_length = self.length()
            packed_at = self.position
            try:
                return lzf.decompress(self.take(packed_length), plain_length)
            except lzf.LZFError as error:
                raise self.fail(f"bad LZF string ({error})", packed_at) from None
        raise self.fail(f"unknown string encoding {value}", start)

    def packed(self, what: str) -> _Cursor:
        """A string holding a ziplist, listpack, intset or zipmap, as a cursor of its own."""
        start = self.position
        blob = self.string()
        # Offsets inside a blob map onto the file unless it was compressed: then name
        # the compressed string's start.
        stored_plainly = self.data[start] >> 6 != 3
        base = self.base + (self.position - len(blob) if stored_plainly else start)
        return _Cursor(blob, base, what)

    def uint32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def uint64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def binary_double(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def text_double(self) -> float:
        """A score as the old ZSET type writes it: a length byte, 253 nan, 254 +inf, 255 -inf."""
        size = self.byte()
        if size == 253:
            raise self.fail("a sorted set score that is not a number", self.position - 1)
        if size == 254:
            return math.inf
        if size == 255:
            return -math.inf
        text = self.take(size)
        try:
            return float(text)
        except ValueError:
            raise self.fail(f"bad score {text!r}", self.position - size) from None

    def stream_id(self) -> tuple[int, int]:
        return self.length(), self.length()

    def strings(self, count: int) -> list[bytes]:
        """``count`` strings in a row (a set's members, a hash's fields and values). A
        string whose length fits one or two bytes is read in the loop, as `parse` reads
        a key; any other by `string`."""
        data = self.data
        size = len(data)
        position = self.position
        out = []
        append = out.append
        for _ in range(count):
            first = data[position] if position < size else 0xFF
            if first < 0x40:
                start = position + 1
                end = start + first
            elif first < 0x80 and position + 1 < size:
                start = position + 2
                end = start + ((first & 0x3F) << 8 | data[position + 1])
            else:
                end = size + 1
            if end <= size:
                append(data[start:end])
                position = end
            else:
                self.position = position
                append(self.string())
                position = self.position
        self.position = position
        return out

    def scored_strings(self, count: int) -> tuple[list[bytes], list[float]]:
        """``count`` members, each followed by its score as a binary double, as a sorted
        set of type 5 holds them: the members and the scores.

        Most members are under 64 bytes (a one-byte length): the loop only finds how
        long each of a run of those is, then one struct format made for the run reads
        them all, "x9sd" a length byte skipped, 9 bytes, a double (a batch at a time, as
        `_pascal_strings` writes them). Any other member is read by `string`."""
        data = self.data
        size = len(data)
        members: list[bytes] = []
        scores: list[float] = []
        while len(members) < count:
            start = position = self.position
            lengths: list[int] = []
            append = lengths.append
            for _ in range(min(count - len(members), _PACK_BATCH)):
                first = data[position] if position < size else 0xFF
                if first >= 0x40:
                    break
                append(first)
                position += first + 9
            if position > size:  # the last one runs past the end: `string` says so below
                position -= lengths.pop() + 9
            if lengths:
                values = struct.Struct("<" + "".join(map(_SKIPPED_LENGTH_SCORED.__getitem__, lengths)))\
                    .unpack_from(data, start)
                members += values[0::2]
                scores += values[1::2]
                self.position = position
            if len(members) < count and len(lengths) < _PACK_BATCH:
                members.append(self.string())
                scores.append(self.binary_double())
        return members, scores


# --------------------------------------------------------------------------- packed blobs


_UINT32 = struct.Struct("<I")
_UINT64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_UINT64_MASK = (1 << 64) - 1
_INTSET_CODES = {2: "h", 4: "i", 8: "q"}


def _ziplist(cursor: _Cursor) -> list[bytes]:
    """The entries of a ziplist (ziplist.c): zlbytes, zltail, zllen, entries, 0xFF.

    Ziplists come only from files of Redis before 7.0, which converts them as it loads
    them and checks everything whatever sanitize-dump-payload says
    (ziplistValidateIntegrity): the byte count against the size, the end byte, each
    entry's record of the previous entry's size, the tail offset (where the last entry
    starts) and the count, unless it is 65535 ("unknown")."""
    data = cursor.data
    if len(data) < 11:
        raise cursor.integrity_failed()
    total, tail, count = struct.unpack_from("<IIH", data)
    if total != len(data) or data[-1] != 0xFF or tail >= len(data):
        raise cursor.integrity_failed()
    cursor.position = 10
    entries = []
    previous_size = 0
    last_start = None
    while True:
        start = cursor.position
        previous_length = cursor.byte()  # the end marker is where a prevlen would start
        if previous_length == 0xFF:
            break
        if previous_length == 0xFE:  # a 5-byte previous-entry length
            previous_length = _UINT32.unpack(cursor.take(4))[0]
        if previous_length != previous_size:
            raise cursor.integrity_failed()
        header = cursor.byte()
        kind = header >> 6
        if kind == 0:
            entries.append(cursor.take(header & 0x3F))
        elif kind == 1:
            entries.append(cursor.take(((header & 0x3F) << 8) | cursor.byte()))
        elif kind == 2:
            entries.append(cursor.take(struct.unpack(">I", cursor.take(4))[0]))
        elif header == 0xC0:
            entries.append(b"%d" % struct.unpack("<h", cursor.take(2)))
        elif header == 0xD0:
            entries.append(b"%d" % struct.unpack("<i", cursor.take(4)))
        elif header == 0xE0:
            entries.append(b"%d" % struct.unpack("<q", cursor.take(8)))
        elif header == 0xF0:
            entries.append(b"%d" % (int.from_bytes(cursor.take(3), "little", signed=True)))
        elif header == 0xFE:
            entries.append(b"%d" % struct.unpack("<b", cursor.take(1)))
        elif 0xF1 <= header <= 0xFD:
            entries.append(b"%d" % ((header & 0x0F) - 1))
        else:
            raise cursor.fail(f"bad ziplist entry encoding 0x{header:02x}", cursor.position - 1)
        previous_size = cursor.position - start
        last_start = start
    if (cursor.position != len(data) or last_start is not None and last_start != tail
            or count not in (len(entries), 65535)):
        raise cursor.integrity_failed()
    return entries


def _listpack(cursor: _Cursor) -> list[bytes | int]:
    """The entries of a listpack (listpack.c): integers as ints, strings as bytes.

    Its frame is always checked, as Redis does (lpValidateIntegrity's shallow part):
    the header's byte count is the blob's size and the last byte is the end byte.
    Entries are read up to the first end byte; checking each of them is the caller's
    business when asked (integrity.listpack_valid).

    The three short encodings, nearly every entry there is, are read in the loop: a
    7-bit unsigned integer (0xxxxxxx), a string under 64 bytes (10LLLLLL) and a 13-bit
    integer (110xxxxx xxxxxxxx). None is longer than 64 bytes, so its back-length is
    one byte. Any other entry, the end byte, and an entry that would run past the end
    of the blob are read by `_read_listpack_entry`, which also words the errors."""
    data = cursor.data
    size = len(data)
    if size < 7 or data[-1] != 0xFF or _UINT32.unpack_from(data)[0] != size:
        raise cursor.integrity_failed()
    entries: list[bytes | int] = []
    append = entries.append
    position = 6  # past the byte count and the element count
    while True:
        header = data[position] if position < size else 0xFF
        if header < 0x80:
            if position + 2 <= size:  # the entry and its back-length
                append(header)
                position += 2
                continue
        elif header < 0xC0:
            end = position + 1 + (header & 0x3F)
            if end < size:
                append(data[position + 1:end])
                position = end + 1
                continue
        elif header < 0xE0:
            if position + 3 <= size:
                value = ((header & 0x1F) << 8) | data[position + 1]
                append(value - (1 << 13) if value >= 1 << 12 else value)
                position += 3
                continue
        cursor.position = position
        entry = _read_listpack_entry(cursor)
        if entry is None:
            return entries
        append(entry)
        position = cursor.position


def _read_listpack_entry(cursor: _Cursor) -> bytes | int | None:
    """The listpack entry at the cursor, any encoding, with its back-length; None for
    the end byte."""
    start = cursor.position
    header = cursor.byte()
    if header == 0xFF:
        return None
    if header < 0x80:
        entry = header
    elif header < 0xC0:
        entry = cursor.take(header & 0x3F)
    elif header < 0xE0:
        value = ((header & 0x1F) << 8) | cursor.byte()
        entry = value - (1 << 13) if value >= 1 << 12 else value
    elif header < 0xF0:
        entry = cursor.take(((header & 0x0F) << 8) | cursor.byte())
    elif header == 0xF0:
        entry = cursor.take(struct.unpack("<I", cursor.take(4))[0])
    elif header == 0xF1:
        entry = struct.unpack("<h", cursor.take(2))[0]
    elif header == 0xF2:
        entry = int.from_bytes(cursor.take(3), "little", signed=True)
    elif header == 0xF3:
        entry = struct.unpack("<i", cursor.take(4))[0]
    elif header == 0xF4:
        entry = struct.unpack("<q", cursor.take(8))[0]
    else:
        raise cursor.fail(f"bad listpack entry encoding 0x{header:02x}", start)
    cursor.take(backlen_size(cursor.position - start))
    return entry


def _listpack_length(cursor: _Cursor, entries: list) -> int:
    """lpLength: the header's element count, which Redis trusts (a listpack whose header
    says 0 is an empty one to it), unless the count is "unknown" (65535)."""
    count = cursor.data[4] | cursor.data[5] << 8
    return len(entries) if count == integrity.LISTPACK_UNKNOWN_COUNT else count


def _as_bytes(entries) -> list[bytes]:
    return [entry if entry.__class__ is bytes else b"%d" % entry for entry in entries]


def _intset(cursor: _Cursor, deep: bool) -> list[bytes]:
    """The members of an intset (intset.c): width, count, then the members. Always
    checked: a known width, a size of exactly 8 + width * count, at least one member;
    ``deep`` also wants them strictly ascending (intsetValidateIntegrity)."""
    data = cursor.data
    width, count = struct.unpack_from("<II", data) if len(data) >= 8 else (0, 0)
    code = _INTSET_CODES.get(width)
    if code is None or 8 + width * count != len(data) or not count:
        raise cursor.integrity_failed()
    numbers = struct.unpack_from(f"<{count}{code}", data, 8)
    if deep and not integrity.strictly_ascending(numbers):
        raise cursor.integrity_failed()
    return [b"%d" % number for number in numbers]


def _zipmap(cursor: _Cursor) -> list[bytes]:
    """Field, value, field, value... of a zipmap (Redis before 2.6), checked in full
    whatever sanitize-dump-payload says, as Redis does (zipmapValidateIntegrity, then a
    search for a field twice): the end byte, every entry inside the blob, at least one
    entry, and the count unless it is 254 ("unknown")."""
    data = cursor.data
    if len(data) < 2 or data[-1] != 0xFF:
        raise cursor.integrity_failed()
    cursor.position = 1  # past the count
    items = []
    while True:
        size = cursor.byte()
        if size == 0xFF:
            break
        if size >= 254:
            size = _UINT32.unpack(cursor.take(4))[0]
        field = cursor.take(size)
        size = cursor.byte()
        if size >= 254:
            size = _UINT32.unpack(cursor.take(4))[0]
        free = cursor.byte()
        items += [field, cursor.take(size)]
        cursor.take(free)
    count = len(items) // 2
    if not count or data[0] not in (count, 254) or not integrity.pairs_valid(items):
        raise cursor.integrity_failed()
    return items


# --------------------------------------------------------------------------- values


class _ValueBuilder:
    """Turns what a file holds into our value classes, encoded as our commands would
    encode them under the current thresholds (as Redis converts on load). ``deep``
    says whether packed values get the deep checks (integrity.py) on the way."""

    def __init__(self, config, deep: bool = False):
        self.hash_entries = config["hash-max-listpack-entries"]
        self.hash_value = config["hash-max-listpack-value"]
        self.intset_entries = config["set-max-intset-entries"]
        self.zset_limits = Limits(config["zset-max-listpack-entries"], config["zset-max-listpack-value"])
        self.node_bytes = config["stream-node-max-bytes"]
        self.node_entries = config["stream-node-max-entries"]
        self.deep = deep

    def hash(self, flat: list[bytes]) -> HashValue:
        return HashValue.built(flat, self.hash_entries, self.hash_value)

    def zset(self, members: list[bytes], scores: list[float]) -> SortedSet:
        return SortedSet.from_columns(members, scores, self.zset_limits)


def _read_value(reader: _Reader, kind: int, build: _ValueBuilder):
    """One value of type ``kind``; None for an empty collection (Redis skips those).

    The checks Redis makes whatever sanitize-dump-payload says are made on the way
    (a blob's frame, a member twice where Redis would notice it, a NaN score...), the
    deep ones only with ``build.deep``."""
    if kind == TYPE_STRING:
        return reader.string()
    if kind in (TYPE_LIST, TYPE_LIST_ZIPLIST, TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2):
        return _read_list(reader, kind, build) or None
    if kind in (TYPE_SET, TYPE_SET_INTSET, TYPE_SET_LISTPACK):
        return _read_set(reader, kind, build)
    if kind in (TYPE_ZSET, TYPE_ZSET_2, TYPE_ZSET_ZIPLIST, TYPE_ZSET_LISTPACK):
        return _read_zset(reader, kind, build)
    if kind in (TYPE_HASH, TYPE_HASH_ZIPMAP, TYPE_HASH_ZIPLIST, TYPE_HASH_LISTPACK):
        return _read_hash(reader, kind, build)
    if kind in (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3):
        return _read_stream(reader, kind, build)
    if kind in (TYPE_MODULE_PRE_GA, TYPE_MODULE_2):
        raise reader.fail("the file holds a module data type, which this server cannot load", reader.position - 1)
    raise reader.fail(f"unknown value type {kind}")


def _check_listpack(cursor: _Cursor, entries: list, pairs: bool = False) -> None:
    """The deep checks of a listpack already read into ``entries``: every entry well
    formed and counted right, and for a hash or a sorted set (``pairs``) an even
    number of entries with no field twice (lpPairsValidateIntegrityAndDups)."""
    if not integrity.listpack_valid(cursor.data) or pairs and not integrity.pairs_valid(_as_bytes(entries)):
        raise cursor.integrity_failed()


def _read_list(reader: _Reader, kind: int, build: _ValueBuilder) -> ListValue:
    if kind == TYPE_LIST:
        return ListValue(reader.strings(reader.length()))
    if kind == TYPE_LIST_ZIPLIST:
        return ListValue(_ziplist(reader.packed("list ziplist")))
    elements = ListValue()
    for _ in range(reader.length()):
        if kind == TYPE_LIST_QUICKLIST:  # Redis 3.2 to 6.2: every node a ziplist
            elements.extend(_ziplist(reader.packed("ziplist")))
            continue
        container = reader.length()
        if container == QUICKLIST_NODE_PLAIN:
            element = reader.string()
            if not element:  # Redis reads no node of zero bytes, plain or packed
                raise reader.fail("an empty quicklist node")
            elements.append(element)
        elif container == QUICKLIST_NODE_PACKED:
            cursor = reader.packed("listpack")
            entries = _listpack(cursor)
            if build.deep:
                _check_listpack(cursor, entries)
            if _listpack_length(cursor, entries):  # Redis drops a node whose header says 0
                elements.extend(_as_bytes(entries))
        else:
            raise reader.fail("Quicklist integrity check failed")
    return elements


def _read_set(reader: _Reader, kind: int, build: _ValueBuilder):
    if kind == TYPE_SET:
        members = reader.strings(reader.length())
    elif kind == TYPE_SET_INTSET:
        members = _intset(reader.packed("intset"), build.deep)
    else:  # Redis 7.2's small sets
        cursor = reader.packed("set listpack")
        entries = _listpack(cursor)
        if build.deep:
            _check_listpack(cursor, entries)
        members = _as_bytes(entries) if _listpack_length(cursor, entries) else []
    if not members:
        return None
    value = set_of(members, build.intset_entries)
    # Redis adds the members of a plain set one by one and notices one twice; a packed
    # set's duplicates only the deep checks find (an unsorted intset was refused above).
    if len(value) != len(members) and (kind == TYPE_SET or build.deep):
        raise reader.fail("Duplicate set members detected")
    return value


def _read_zset(reader: _Reader, kind: int, build: _ValueBuilder):
    if kind in (TYPE_ZSET, TYPE_ZSET_2):
        if kind == TYPE_ZSET:
            pairs = [(reader.string(), reader.text_double()) for _ in range(reader.length())]
            members, scores = list(map(_FIRST_ITEM, pairs)), list(map(_SECOND_ITEM, pairs))
        else:
            members, scores = reader.scored_strings(reader.length())
        if not members:
            return None
        # Redis inserts each member in its skip list and dictionary, whatever the
        # setting, and refuses a NaN score or a member twice.
        if any(map(math.isnan, scores)):
            raise reader.fail("Zset with NAN score detected")
        value = build.zset(members, scores)
        if len(value) != len(members):
            raise reader.fail("Duplicate zset fields detected")
        return value
    if kind == TYPE_ZSET_ZIPLIST:
        cursor = reader.packed("zset ziplist")
        flat = _ziplist(cursor)
        if not integrity.pairs_valid(flat):  # Redis checks converted ziplists in full
            raise cursor.integrity_failed()
        empty = not flat
    else:
        cursor = reader.packed("zset listpack")
        flat = _listpack(cursor)
        if build.deep:
            _check_listpack(cursor, flat, pairs=True)
        empty = _listpack_length(cursor, flat) < 2  # no pair, as zsetLength counts
    pairs = len(flat) // 2
    members = _as_bytes(flat[0:2 * pairs:2])
    scores = [float(score) if score.__class__ is int else _text_score(score)  # integer scores need no call
              for score in flat[1:2 * pairs:2]]
    return build.zset(members, scores) if pairs and not empty else None


def _read_hash(reader: _Reader, kind: int, build: _ValueBuilder):
    if kind == TYPE_HASH:
        count = reader.length()
        if not count:
            return None
        value = build.hash(reader.strings(2 * count))
        # Redis notices a field twice once the hash is a table (big from the start, or a
        # long value); a small one only the deep checks look through.
        if len(value) != count and (build.deep or count > build.hash_entries or value.hashtable):
            raise reader.fail("Duplicate hash fields detected")
        return value
    if kind == TYPE_HASH_ZIPMAP:
        flat = _zipmap(reader.packed("zipmap"))
    elif kind == TYPE_HASH_ZIPLIST:
        cursor = reader.packed("hash ziplist")
        flat = _ziplist(cursor)
        if not integrity.pairs_valid(flat):  # Redis checks converted ziplists in full
            raise cursor.integrity_failed()
    else:
        cursor = reader.packed("hash listpack")
        entries = _listpack(cursor)
        if build.deep:
            _check_listpack(cursor, entries, pairs=True)
        flat = _as_bytes(entries) if _listpack_length(cursor, entries) >= 2 else []
    return build.hash(flat) if flat else None


def _text_score(entry: bytes) -> float:
    """A packed sorted set's score stored as text, read as Redis reads it (zzlStrtod:
    strtod over at most 127 bytes), so "1.5abc" is 1.5 and "abc" is 0: Redis checks no
    score of a packed sorted set, even deeply."""
    if len(entry) < 128 and b"_" not in entry:  # what float() reads, strtod reads alike
        try:
            return float(entry)
        except ValueError:
            pass
    return strtod(entry[:127])[0]


def _read_stream(reader: _Reader, kind: int, build: _ValueBuilder) -> Stream:
    """A stream: its listpack nodes, counters, then consumer groups with their PELs."""
    stream = Stream()
    node_keys = set()
    for _ in range(reader.length()):
        master_key = reader.string()
        if len(master_key) != 16:
            raise reader.fail("Stream node key entry is not the size of a stream ID")
        if master_key in node_keys:
            raise reader.fail("Listpack re-added with existing key")
        node_keys.add(master_key)
        cursor = reader.packed("stream listpack")
        _read_stream_node(cursor, struct.unpack(">QQ", master_key), stream, build)
    length = reader.length()
    if length != stream.length:
        raise reader.fail(f"stream length {length} does not match its {stream.length} entries")
    stream.last_id = reader.stream_id()
    if kind >= TYPE_STREAM_LISTPACKS_2:
        stream.first_id = reader.stream_id()
        stream.max_deleted_id = reader.stream_id()
        stream.entries_added = reader.length()
    for _ in range(reader.length()):
        name = reader.string()
        if name in stream.groups:
            raise reader.fail("Duplicated consumer group name")
        stream.groups[name] = _read_group(reader, kind, build)
    return stream


def _read_stream_node(cursor: _Cursor, master: tuple[int, int], stream: Stream, build: _ValueBuilder) -> None:
    """Append one node's live entries to ``stream``. Its layout is the one
    integrity.stream_node_valid describes; only the deep checks verify all of it."""
    entries = _listpack(cursor)
    if not entries:
        raise cursor.fail("Empty listpack inside stream", 0)
    if build.deep and (integrity.listpack_entries(cursor.data) is None or not integrity.stream_node_valid(
            [entry if entry.__class__ is int else _as_integer(entry) for entry in entries])):
        raise cursor.integrity_failed()
    if not _read_single_field_node(entries, master, stream, build):
        _read_any_node(cursor, entries, master, stream, build)


def _read_single_field_node(entries: list, master: tuple[int, int], stream: Stream, build: _ValueBuilder) -> bool:
    """The commonest node (XADD s * field value), laid out as Redis lays it out: the
    master entry (live and deleted counts, one field name, a 0), then entries of five
    elements (flags SAMEFIELDS, two ID differences, the value, its element count 4).
    Such a node's entries are read a column at a time, at C speed, and added to
    ``stream`` together (`Stream.append_values`); False for any other node, which
    `_read_any_node` reads (one with a deleted entry, or other fields)."""
    head, body = entries[:5], entries[5:]
    count = len(body) // 5
    if not (len(head) == 5 and head[2] == 1 and _all_integers(head[:3] + head[4:]) and len(body) == 5 * count
            and body[0::5].count(STREAM_ITEM_FLAG_SAMEFIELDS) == count and body[4::5].count(4) == count):
        return False
    ms_differences, seq_differences = body[1::5], body[2::5]
    if not (_all_integers(ms_differences) and _all_integers(seq_differences)):
        return False
    stream.append_values(_as_bytes(head[3:4])[0], _wrapped_sums(master[0], ms_differences),
                         _wrapped_sums(master[1], seq_differences), _as_bytes(body[3::5]),
                         build.node_bytes, build.node_entries)
    return True


def _all_integers(entries: list) -> bool:
    return all(map(int.__instancecheck__, entries))


def _wrapped_sums(base: int, differences: list[int]) -> list[int]:
    """``base`` plus each difference, as unsigned 64-bit numbers: Redis adds the IDs'
    differences with wrap-around."""
    sums = list(map(add, differences, repeat(base)))
    if sums and (min(sums) < 0 or max(sums) > _UINT64_MASK):
        sums = [number & _UINT64_MASK for number in sums]
    return sums


def _read_any_node(cursor: _Cursor, entries: list, master: tuple[int, int], stream: Stream,
                   build: _ValueBuilder) -> None:
    """Append a node's live entries to ``stream``, whatever their fields and flags."""
    items = iter(entries)

    def number() -> int:
        entry = next(items)
        value = entry if entry.__class__ is int else _as_integer(entry)
        if value is None:
            raise cursor.fail("Stream listpack holds text where a number belongs", 0)
        return value

    number(), number()  # live and deleted counts
    master_fields = [next(items) for _ in range(number())]
    number()  # the master entry's terminator
    for flags in items:
        flags = flags if flags.__class__ is int else _as_integer(flags)
        if flags is None:
            raise cursor.fail("Stream listpack holds text where a number belongs", 0)
        # IDs are unsigned 64-bit: Redis adds the differences with wrap-around.
        entry_id = ((master[0] + number()) & _UINT64_MASK, (master[1] + number()) & _UINT64_MASK)
        fields = []
        if flags & STREAM_ITEM_FLAG_SAMEFIELDS:
            for name in master_fields:
                fields += [name, next(items)]
        else:
            for _ in range(number()):
                fields += [next(items), next(items)]
        next(items)  # the entry's element count, for walking backwards
        if not flags & STREAM_ITEM_FLAG_DELETED:
            stream.append(entry_id, tuple(_as_bytes(fields)), build.node_bytes, build.node_entries)


def _read_group(reader: _Reader, kind: int, build: _ValueBuilder) -> ConsumerGroup:
    """A consumer group: last delivered ID, entries read, its PEL, then its consumers
    each with the IDs of its own pending entries, which must be in the group's PEL and
    belong to no one else (Redis refuses those, and a PEL entry twice, always)."""
    group = ConsumerGroup(reader.stream_id(), -1)
    if kind >= TYPE_STREAM_LISTPACKS_2:
        entries_read = reader.length()
        group.entries_read = -1 if entries_read == 2**64 - 1 else entries_read
    for _ in range(reader.length()):
        entry_id = struct.unpack(">QQ", reader.take(16))
        if entry_id in group.pending:
            raise reader.fail("Duplicated global PEL entry loading stream consumer group")
        group.pending.add(entry_id, PendingEntry(None, reader.uint64(), reader.length()))
    for _ in range(reader.length()):
        consumer = Consumer(reader.string(), reader.uint64())
        if consumer.name in group.consumers:
            raise reader.fail("Duplicate stream consumer detected")
        if kind >= TYPE_STREAM_LISTPACKS_3:
            reader.uint64()  # active time (7.2); we keep the seen time only
        for _ in range(reader.length()):
            entry_id = struct.unpack(">QQ", reader.take(16))
            pending = group.pending.get(entry_id)
            if pending is None:
                raise reader.fail("Consumer entry not found in group global PEL")
            if pending.consumer is not None:
                raise reader.fail("Duplicated consumer PEL entry loading a stream consumer group")
            pending.consumer = consumer
            consumer.pending.add(entry_id, pending)
        group.consumers[consumer.name] = consumer
    if build.deep and any(pending.consumer is None for pending in group.pending.entries.values()):
        raise reader.fail("Stream CG PEL entry without consumer")
    return group


# --------------------------------------------------------------------------- the file


def sanitize_on_load(config) -> bool:
    """Whether loading a file (at start-up, DEBUG RELOAD, a replica's full sync, an
    AOF's RDB preamble) runs the deep checks: only with sanitize-dump-payload yes, as
    Redis trusts what it loads under "clients" (it checks the payloads of clients)."""
    return config["sanitize-dump-payload"] == "yes"


def parse(data: bytes, config, now: int, databases: int = 16, deep: bool = False,
          functions: list[bytes] | None = None, aux: dict[bytes, bytes] | None = None) -> list[LoadedKey]:
    """Every key of an RDB file, minus those whose deadline is at or before ``now``;
    ``deep`` runs the deep checks of packed values (`sanitize_on_load` says when).

    The code of each function library in the file is appended to ``functions``, for
    the caller to load (`install_functions`). A caller that passes none has nowhere to
    put them: a file that holds any is refused rather than loaded without them.

    Every AUX field read goes to ``aux``, if given (name -> value): "repl-id" and the
    like say where replication stood (app/replication/master.py).

    Raises `RDBError` for anything wrong with the file, before anything is loaded.
    """
    with collector_paused():
        return parse_prefix(data, config, now, databases, deep, functions, aux)[0]


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused, while millions of objects that all
    live on are made (loading a file, replaying an AOF): each of the collector's
    passes over them would find nothing to free, and the passes add half to the time
    of a load of small strings.

    When it resumes, the objects made meanwhile are moved to the oldest generation
    (frozen, then unfrozen: no pass over them). Left young, they would all be walked by
    the very next young pass, then again on their way up the generations: 1.3 seconds
    after loading a sorted set of a million members, whose nodes are containers."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def parse_prefix(data: bytes, config, now: int, databases: int = 16, deep: bool = False,
                 functions: list[bytes] | None = None,
                 aux: dict[bytes, bytes] | None = None) -> tuple[list[LoadedKey], int]:
    """`parse` for data that may go on after the RDB file, as an AOF that starts with
    an RDB preamble does (commands follow it): the keys, and the offset just past the
    file's end (its EOF opcode and checksum), where whatever follows starts."""
    reader = _Reader(data)
    if data[:5] != b"REDIS" or len(data) < 9 or not data[5:9].isdigit():
        raise RDBError("Wrong signature trying to load DB from file at offset 0")
    version = int(data[5:9])
    if not 1 <= version <= MAX_VERSION:
        raise RDBError(f"Can't handle RDB format version {version} at offset 5")
    build = _ValueBuilder(config, deep)
    keys: list[LoadedKey] = []
    append = keys.append
    new_key = tuple.__new__  # LoadedKey(...) without the Python-level __new__ a NamedTuple has
    size = len(data)
    db = 0
    deadline: int | None = None
    # The loop keeps the position in a local and reads the common records (a string key
    # holding a string, a deadline) right here, a file being mostly those; everything
    # else, and every error, goes through the reader, which is then moved to the
    # position (and the position back from it after). Its messages are the same either way.
    position = 9
    try:
        while True:
            if position >= size:
                raise reader.fail("unexpected end of file", position)
            opcode_at = position
            opcode = data[position]
            position += 1
            if opcode < OP_FUNCTION2:  # a key: its type is the opcode (_read_value refuses unknown ones)
                # The key, then (for a string) the value: a length in one byte (00LLLLLL)
                # or two (01LLLLLL LLLLLLLL) then the bytes, read here; any other
                # encoding, or a length running past the end, by the reader.
                first = data[position] if position < size else 0xFF
                if first < 0x40:
                    start = position + 1
                    end = start + first
                elif first < 0x80 and position + 1 < size:
                    start = position + 2
                    end = start + ((first & 0x3F) << 8 | data[position + 1])
                else:
                    end = size + 1
                if end <= size:
                    key = data[start:end]
                    position = end
                else:
                    reader.position = position
                    key = reader.string()
                    position = reader.position
                if opcode == TYPE_STRING:
                    first = data[position] if position < size else 0xFF
                    if first < 0x40:
                        start = position + 1
                        end = start + first
                    elif first < 0x80 and position + 1 < size:
                        start = position + 2
                        end = start + ((first & 0x3F) << 8 | data[position + 1])
                    else:
                        end = size + 1
                    if end <= size:
                        value = data[start:end]
                        position = end
                    else:
                        reader.position = position
                        value = reader.string()
                        position = reader.position
                else:
                    reader.position = position
                    value = _read_value(reader, opcode, build)
                    position = reader.position
                if value is not None and (deadline is None or deadline > now):
                    append(new_key(LoadedKey, (db, key, value, deadline)))
                deadline = None
                continue
            if opcode == OP_EXPIRETIME_MS and position + 8 <= size:
                deadline = _UINT64.unpack_from(data, position)[0]
                position += 8
                continue
            if opcode == OP_EOF:
                break
            reader.position = position
            if opcode == OP_SELECTDB:
                db = reader.length()
                if db >= databases:
                    raise reader.fail(f"FATAL: Data file was created with a Redis server configured to handle "
                                      f"more than {databases} databases", opcode_at)
            elif opcode == OP_RESIZEDB:
                reader.length(), reader.length()
            elif opcode == OP_AUX:
                name, value = reader.string(), reader.string()
                if aux is not None:
                    aux[name] = value
            elif opcode == OP_EXPIRETIME_MS:  # cut short: the reader says so
                deadline = reader.uint64()
            elif opcode == OP_EXPIRETIME:
                # Seconds in a signed 32-bit integer (Redis: rdbLoadTime): 2^31 and up
                # are negative, long past, and the key is dropped.
                seconds = reader.uint32()
                deadline = (seconds - (1 << 32) if seconds >= 1 << 31 else seconds) * 1000
            elif opcode == OP_IDLE:
                reader.length()
            elif opcode == OP_FREQ:
                reader.byte()
            elif opcode == OP_FUNCTION2:
                if functions is None:
                    raise reader.fail("the file holds Redis functions, which cannot be loaded here", opcode_at)
                functions.append(reader.string())
            elif opcode == OP_FUNCTION_PRE_GA:  # Redis 7.0 release candidates only; 7.0 refuses it too
                raise reader.fail("Pre-release function format not supported", opcode_at)
            elif opcode == OP_MODULE_AUX:
                raise reader.fail("the file holds module data, which this server cannot load", opcode_at)
            position = reader.position
        reader.position = position
        if version >= 5:
            checksum_at = position
            expected = reader.uint64()
            if expected and config["rdbchecksum"] and not skip_checksum_validation \
                    and expected != crc64(memoryview(data)[:checksum_at]):
                raise RDBError(f"Wrong RDB checksum at offset {checksum_at}")
    except (StopIteration, IndexError):
        raise RDBError(f"corrupt packed value before offset {reader.position}") from None
    return keys, reader.position


def load_file(path: str, config, now: int, databases: int = 16, deep: bool = False,
              functions: list[bytes] | None = None, aux: dict[bytes, bytes] | None = None) -> list[LoadedKey] | None:
    """The keys of the RDB file at ``path``, or None if there is no such file; its
    libraries' code goes to ``functions`` and its AUX fields to ``aux``, as `parse` says."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return parse(data, config, now, databases, deep, functions, aux)


def install(keyspace, keys: list[LoadedKey]) -> None:
    """Put loaded keys in the keyspace (the caller holds its lock); loading is not a
    change to save again.

    A file lists each database's keys together: a database that is empty takes them
    in bulk (`Database.set_loaded`: a tenth of the second a million `set` calls take);
    any other, or one that something watches, one `set` at a time."""
    for index, group in groupby(keys, attrgetter("db")):
        loaded = list(group)
        db = keyspace.databases[index]
        if db.set_loaded([key for _db, key, _value, _deadline in loaded],
                         [value for _db, _key, value, _deadline in loaded],
                         [(key, deadline) for _db, key, _value, deadline in loaded if deadline is not None]):
            continue
        for _db, key, value, deadline in loaded:
            db.set(key, value, deadline=deadline)
    keyspace.dirty = 0


def install_functions(functions, codes: list[bytes], policy: str) -> None:
    """Load the libraries a file held into ``functions`` (the server's `Functions`),
    all or nothing, with FUNCTION RESTORE's ``policy``: FLUSH where Redis empties the
    libraries before loading (a full sync, DEBUG RELOAD), APPEND where a name already
    taken is an error. Call it before touching the keys, so that a library that cannot
    be loaded (bad code, a name taken, no Lua because the optional lupa package is
    missing) leaves everything as it was: it raises `RDBError`, saying why."""
    try:
        functions.restore(codes, policy)
    except ReplyError as error:
        reason = error.message.removeprefix("ERR ")
        raise RDBError(f"Failed loading library, {reason}") from None


def rdb_path(config) -> str:
    return os.path.join(config["dir"], config["dbfilename"])


# --------------------------------------------------------------------------- writing


def _length(value: int) -> bytes:
    if value < 1 << 6:
        return bytes([value])
    if value < 1 << 14:
        return bytes([0x40 | value >> 8, value & 0xFF])
    if value < 1 << 32:
        return b"\x80" + struct.pack(">I", value)
    return b"\x81" + struct.pack(">Q", value)


_BYTE = [bytes([value]) for value in range(256)]  # a type, or a length below 64, is one byte
_INTEGER_LEAD = frozenset(_BYTE[byte] for byte in b"-0123456789")  # what an integer string starts with
_FIRST_BYTE = itemgetter(slice(0, 1))  # as bytes, empty for an empty string
_FIRST_ITEM = itemgetter(0)
_SECOND_ITEM = itemgetter(1)
# Collections of short strings are written by struct, with a format made for a batch of
# them (see `_pascal_strings`): a format of a million codes would take 32 MB.
_PACK_BATCH = 4096


def _short_and_no_integers(strings: list, longest: int) -> bool:
    """Whether each of ``strings`` is at most ``longest`` bytes and none starts as an
    integer could (a digit or "-"): then each is written as a string, not an integer,
    its length in one byte (a listpack's too, under 64), and whole collections of them
    can be written by struct. Checked at C speed."""
    if max(map(len, strings), default=0) > longest:
        return False
    try:
        return _INTEGER_LEAD.isdisjoint(map(_FIRST_BYTE, strings))
    except TypeError:  # a bytearray among them (unhashable): written one by one
        return False


def _string(data: bytes, compress: bool = True) -> bytes:
    """A string as Redis writes it: as an integer when it is one that fits 32 bits and
    reads back the same, LZF-compressed when longer than 20 bytes and that saves space."""
    if len(data) <= 11 and data[:1] != b"0" or data == b"0":
        try:
            number = int(data)
        except ValueError:
            number = None
        if number is not None and b"%d" % number == data:
            if -(1 << 7) <= number < 1 << 7:
                return bytes([0xC0 | ENC_INT8]) + struct.pack("<b", number)
            if -(1 << 15) <= number < 1 << 15:
                return bytes([0xC0 | ENC_INT16]) + struct.pack("<h", number)
            if -(1 << 31) <= number < 1 << 31:
                return bytes([0xC0 | ENC_INT32]) + struct.pack("<i", number)
    if compress and len(data) > 20:
        packed = lzf.compress(data, len(data) - 4)  # as Redis: stored plainly if it saves less
        if packed is not None:
            return bytes([0xC0 | ENC_LZF]) + _length(len(packed)) + _length(len(data)) + packed
    return _length(len(data)) + data


_INTEGER_START = frozenset(b"-0123456789")


def _as_integer(data: bytes) -> int | None:
    """``data`` as a 64-bit integer if it is one written canonically (Redis'
    lpStringToInt64 and string2ll: no sign but "-", no leading zero, no spaces)."""
    if not data or len(data) > 20 or data[0] not in _INTEGER_START:
        return None
    try:
        number = int(data)
    except ValueError:
        return None
    if -(1 << 63) <= number < 1 << 63 and b"%d" % number == data:
        return number
    return None


def _listpack_entry(entry: bytes | int) -> bytes:
    """One listpack entry without its back-length, in the smallest encoding, as
    lpAppend writes it: a string that reads as an integer is stored as that integer."""
    number = entry if isinstance(entry, int) else _as_integer(entry)
    if number is not None:
        if 0 <= number <= 127:
            return bytes([number])
        if -4096 <= number <= 4095:
            unsigned = number & 0x1FFF
            return bytes([0xC0 | unsigned >> 8, unsigned & 0xFF])
        if -(1 << 15) <= number < 1 << 15:
            return b"\xf1" + struct.pack("<h", number)
        if -(1 << 23) <= number < 1 << 23:
            return b"\xf2" + (number & 0xFFFFFF).to_bytes(3, "little")
        if -(1 << 31) <= number < 1 << 31:
            return b"\xf3" + struct.pack("<i", number)
        return b"\xf4" + struct.pack("<q", number)
    size = len(entry)
    if size < 64:
        return bytes([0x80 | size]) + entry
    if size < 4096:
        return bytes([0xE0 | size >> 8, size & 0xFF]) + entry
    return b"\xf0" + struct.pack("<I", size) + entry


def _backlen(size: int) -> bytes:
    """An entry's size, 7 bits a byte, most significant first; every byte but the first
    has its high bit set, so a reader walking backwards knows where to stop."""
    groups = [size & 0x7F]
    while size > 0x7F:
        size >>= 7
        groups.insert(0, size & 0x7F)
    return bytes([groups[0], *(0x80 | group for group in groups[1:])])


def _listpack_body(entries) -> bytes:
    """The entries of a listpack, each with its back-length. The short encodings, most
    entries, are written here without a call: a string under 64 bytes that is no
    integer (a header byte, the bytes, then a back-length of one byte, the entry's size
    being below 128) and an int from 0 to 127 (one byte, and a back-length of 1)."""
    out = []
    append = out.append
    header = _LISTPACK_SHORT_STRING
    one_byte = _BYTE
    small_int = _LISTPACK_SMALL_INT
    integer_lead = _INTEGER_LEAD
    for entry in entries:
        if entry.__class__ is int and 0 <= entry < 128:
            append(small_int[entry])
        elif entry.__class__ is bytes and len(entry) < 64 and (len(entry) > 20 or entry[:1] not in integer_lead):
            append(header[len(entry)])
            append(entry)
            append(one_byte[len(entry) + 1])
        else:
            encoded = _listpack_entry(entry)
            append(encoded)
            append(_backlen(len(encoded)))
    return b"".join(out)


_LISTPACK_SHORT_STRING = [bytes([0x80 | size]) for size in range(64)]  # 10LLLLLL
_LISTPACK_SMALL_INT = [bytes([value, 1]) for value in range(128)]  # 0xxxxxxx and its back-length


def _listpack_bytes(entries: list[bytes | int]) -> bytes:
    """A listpack of ``entries`` (bytes or ints), byte for byte as Redis builds it."""
    return _listpack_frame(_listpack_body(entries), len(entries))


def _listpack_frame(body: bytes, count: int) -> bytes:
    return struct.pack("<IH", 6 + len(body) + 1, min(count, 65535)) + body + b"\xff"


def _stream_id(entry_id: tuple[int, int]) -> bytes:
    return _length(entry_id[0]) + _length(entry_id[1])


def _write_stream(stream: Stream, compress: bool) -> bytes:
    """Type 19 (Redis 7.0): each node a listpack keyed by its first entry's ID."""
    out = [_length(sum(1 for node in stream.nodes if len(node)))]
    for node in stream.nodes:
        if len(node):
            out += [_string(struct.pack(">QQ", *node.id_at(0)), False), _string(_stream_node(node), compress)]
    out += [_length(stream.length), _stream_id(stream.last_id), _stream_id(stream.first_id),
            _stream_id(stream.max_deleted_id), _length(stream.entries_added), _length(len(stream.groups))]
    for name, group in stream.groups.items():
        out += [_string(name), _stream_id(group.last_id), _length(group.entries_read % 2**64)]
        ids = [entry_id for entry_id in group.pending.ids_from() if group.pending.get(entry_id).consumer is not None]
        out.append(_length(len(ids)))
        for entry_id in ids:
            pending = group.pending.get(entry_id)
            out += [struct.pack(">QQ", *entry_id), struct.pack("<Q", pending.delivery_time),
                    _length(pending.delivery_count)]
        out.append(_length(len(group.consumers)))
        for consumer in group.consumers.values():
            mine = list(consumer.pending.ids_from())
            out += [_string(consumer.name), struct.pack("<Q", consumer.seen_time), _length(len(mine))]
            out += [struct.pack(">QQ", *entry_id) for entry_id in mine]
    return b"".join(out)


def _stream_node(node) -> bytes:
    """A stream node's listpack, laid out as Redis lays it out (t_stream.c,
    streamAppendItem), with the live entries only (a deleted entry is not kept here):

    - the master entry: live and deleted counts, the first entry's field names (the
      master fields), and a 0;
    - each entry: flags, its ID as differences from the first entry's (the node's
      key), then only its values when its field names are the master fields (flag
      SAMEFIELDS), else the field count and the fields with their values; then how many
      elements it took (for walking backwards).

    Until its first entry is deleted, that is the node Redis holds, byte for byte. After,
    Redis keeps the deleted entry and its key and master fields; here the first live
    entry gives them, as loading the file here makes the node again from it (so that a
    payload restored dumps the same bytes again).

    IDs are unsigned 64-bit, their differences stored as signed ones: Redis subtracts
    with wrap-around, and so does this."""
    master_ms, master_seq = node.id_at(0)
    if len(node.master_fields) == 1 and all(map(bytes.__instancecheck__, node.entries)):
        return _single_field_node(node, [len(node), 0, 1, node.master_fields[0], 0])
    names = node.fields_between(0, 1)[0][0::2]
    head = [len(node), 0, len(names), *names, 0]
    elements: list[bytes | int] = head
    for ms, seq, fields in zip(node.ms, node.seq, node.fields_between(0, len(node))):
        ms, seq = _signed_64(ms - master_ms), _signed_64(seq - master_seq)
        if fields[0::2] == names:
            values = fields[1::2]
            elements += [STREAM_ITEM_FLAG_SAMEFIELDS, ms, seq, *values, len(values) + 3]
        else:
            elements += [0, ms, seq, len(fields) // 2, *fields, len(fields) + 4]
    return _listpack_bytes(elements)


def _signed_64(number: int) -> int:
    return number - (1 << 64) if number >= 1 << 63 else number


_SAME_FIELDS_ENTRY_FLAGS = _listpack_entry(STREAM_ITEM_FLAG_SAMEFIELDS) + b"\x01"
_ONE_VALUE_ENTRY_SIZE = _listpack_entry(4) + b"\x01"  # elements of an entry: flags, two ID differences, a value


def _single_field_node(node, head: list) -> bytes:
    """`_stream_node` for the commonest node (XADD s * field value): every entry one
    field, the master's, so each entry is flags, two ID differences, its value and 4.
    The entries are written a column at a time (each column's entries at C speed when
    they are small integers and short strings, as most are), then interleaved."""
    master_ms, master_seq = node.id_at(0)
    count = len(node)
    values = node.entries
    if _short_and_no_integers(values, 63):
        sizes = list(map(len, values))
        value_columns = [list(map(_LISTPACK_SHORT_STRING.__getitem__, sizes)), values,
                         list(map(_BYTE.__getitem__, map(add, sizes, repeat(1))))]
    else:
        value_columns = [_listpack_entries(values)]
    columns = [[_SAME_FIELDS_ENTRY_FLAGS] * count,
               _integer_entries(map(sub, node.ms, repeat(master_ms))),
               _integer_entries(map(sub, node.seq, repeat(master_seq))),
               *value_columns,
               [_ONE_VALUE_ENTRY_SIZE] * count]
    pieces: list = [None] * (len(columns) * count)
    for offset, column in enumerate(columns):
        pieces[offset::len(columns)] = column
    return _listpack_frame(_listpack_body(head) + b"".join(pieces), len(head) + 5 * count)


def _integer_entries(numbers) -> list[bytes]:
    """Each of ``numbers`` (differences of IDs) as a listpack entry with its back-length:
    by a table at C speed when all are from 0 to 127, as in a node of consecutive IDs."""
    numbers = list(numbers)
    if min(numbers) >= 0 and max(numbers) < 128:
        return list(map(_LISTPACK_SMALL_INT.__getitem__, numbers))
    return _listpack_entries(map(_signed_64, numbers))


def _listpack_entries(items) -> list[bytes]:
    """Each of ``items`` as a listpack entry with its back-length, one by one."""
    return [encoded + _backlen(len(encoded)) for encoded in map(_listpack_entry, items)]


def _quicklist(elements, fill: int, compress: bool) -> bytes:
    """A list as Redis 7.0 writes it (type 18): its quicklist's nodes, each a listpack,
    or a single element (a plain node)."""
    nodes = quicklist_nodes(elements, fill)
    return _length(len(nodes)) + b"".join(bytes([container]) + _string(node, compress) for container, node in nodes)


def quicklist_nodes(elements, fill: int) -> list[tuple[int, bytes]]:
    """The nodes of the quicklist Redis 7.0 would hold ``elements`` in: (container, its
    bytes), a listpack (QUICKLIST_NODE_PACKED) or one element as it is (PLAIN).

    The nodes are cut where RPUSH would have cut them (quicklist.c
    _quicklistNodeAllowInsert: a node takes an element while its estimated size stays
    within the ``list-max-listpack-size`` limit, and an element as big as
    `quicklist_packed_threshold` gets a plain node of its own), so a list built by
    pushing at the tail is written byte for byte as Redis writes it."""
    limit = (4096, 8192, 16384, 32768, 65536)[min(-fill, 5) - 1] if fill < 0 else None
    nodes = []
    body: list[bytes] = []
    node_bytes = count = 0
    short_header = _LISTPACK_SHORT_STRING
    one_byte = _BYTE
    integer_lead = _INTEGER_LEAD
    for element in elements:
        size = len(element)
        if size >= quicklist_packed_threshold:
            if count:
                nodes.append((QUICKLIST_NODE_PACKED, _listpack_frame(b"".join(body), count)))
                body, node_bytes, count = [], 0, 0
            nodes.append((QUICKLIST_NODE_PLAIN, bytes(element)))
            continue
        overhead = (1 if size < 254 else 5) + (1 if size < 64 else 2 if size < 16384 else 5)
        estimate = node_bytes + size + overhead
        if count and not (estimate <= limit if limit is not None else estimate <= 8192 and count < fill):
            nodes.append((QUICKLIST_NODE_PACKED, _listpack_frame(b"".join(body), count)))
            body, node_bytes, count = [], 0, 0
        if not count:
            node_bytes = 7  # an empty listpack: header and end byte
        # A short string that is no integer, written as in `_listpack_body`.
        if element.__class__ is bytes and size < 64 and (size > 20 or element[:1] not in integer_lead):
            body += (short_header[size], element, one_byte[size + 1])
            node_bytes += size + 2
        else:
            encoded = _listpack_entry(element)
            entry = encoded + _backlen(len(encoded))
            body.append(entry)
            node_bytes += len(entry)
        count += 1
    if count:
        nodes.append((QUICKLIST_NODE_PACKED, _listpack_frame(b"".join(body), count)))
    return nodes


def _score_text(score: float) -> bytes:
    """A score as Redis 7.0 stores it in a listpack (util.c d2string): an integer when
    it is one below 2^52, else %.17g."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if math.copysign(1, score) < 0 else b"0"
    if -4503599627370495 < score < 4503599627370496 and score == int(score):
        return b"%d" % int(score)
    return b"%.17g" % score


def _write_value(value, compress: bool, list_fill: int) -> tuple[int, bytes]:
    """The type byte and serialized value, in the encoding Redis 7.0 would write for
    the value's OBJECT ENCODING: listpacks for small hashes and sorted sets, an intset
    for a set of integers, a quicklist of listpacks for every list."""
    if isinstance(value, (bytes, bytearray)):
        return TYPE_STRING, _string(bytes(value), compress)
    if isinstance(value, ListValue):
        return TYPE_LIST_QUICKLIST_2, _quicklist(value, list_fill, compress)
    if isinstance(value, HashValue):
        items = value.fields.items()
        if not value.hashtable:
            flat = [part for pair in items for part in pair]
            return TYPE_HASH_LISTPACK, _string(_listpack_bytes(flat), compress)
        return TYPE_HASH, b"".join([_length(len(items)), *_string_parts(chain.from_iterable(items), compress)])
    if isinstance(value, (SortedSet, FrozenSortedSet)):
        if value.packed:
            pairs = value.pairs if isinstance(value, FrozenSortedSet) else _ordered_pairs(value)
            flat = [part for member, score in pairs for part in (member, _score_text(score))]
            return TYPE_ZSET_LISTPACK, _string(_listpack_bytes(flat), compress)
        # Highest first, as zsetSave walks the skip list from its tail (loading is then
        # an append at the head each time).
        members, scores = _highest_first(value)
        return TYPE_ZSET_2, b"".join([_length(len(members)), *_scored_parts(members, scores, compress)])
    if isinstance(value, Stream):
        return TYPE_STREAM_LISTPACKS_2, _write_stream(value, compress)
    if value.intset:
        return TYPE_SET_INTSET, _string(_intset_bytes(value.ordered()), compress)
    return TYPE_SET, b"".join([_length(len(value)), *_string_parts(value, compress)])


def _string_parts(strings, compress: bool) -> list[bytes]:
    """The pieces of ``strings`` written one after the other as `_string` writes each,
    to be joined.

    Short strings that are no integers, most elements of most collections, are written
    as a length byte then the bytes. When all are (none longer than `_string` leaves
    plain, none starting as an integer could), struct writes them all (`_pascal_strings`);
    otherwise they are written here one by one, the others by `_string`."""
    strings = list(strings)
    plain_up_to = 20 if compress else 63  # longer strings may be compressed: `_string` decides
    if _short_and_no_integers(strings, plain_up_to):
        return _pascal_strings(strings)
    parts: list[bytes] = []
    append = parts.append
    one_byte = _BYTE
    integer_lead = _INTEGER_LEAD
    for item in strings:
        size = len(item)
        if item.__class__ is bytes and size <= plain_up_to and (size > 11 or item[:1] not in integer_lead):
            append(one_byte[size])
            append(item)
        else:
            append(_string(item, compress))
    return parts


def _scored_parts(members: list[bytes], scores: list[float], compress: bool) -> list[bytes]:
    """`_string_parts` of a sorted set of type 5: each member followed by its score as
    a binary double."""
    if _short_and_no_integers(members, 20 if compress else 63):
        return _pascal_strings(members, scores)
    pack_double = _DOUBLE.pack
    return [_string(member, compress) + pack_double(score) for member, score in zip(members, scores)]


_PASCAL = [f"{size + 1}p" for size in range(64)]  # a string's length in a byte, then the string
_PASCAL_SCORED = [f"{size + 1}pd" for size in range(64)]  # and a double after it
_SKIPPED_LENGTH_SCORED = [f"x{size}sd" for size in range(64)]  # the same read, its length skipped


def _pascal_strings(strings: list[bytes], scores: list[float] | None = None) -> list[bytes]:
    """``strings`` (under 64 bytes) each written as its length in a byte then its bytes,
    and with ``scores`` each followed by its score as a binary double, by struct with a
    format made for them: "9p" is a Pascal string, a length byte and 8 bytes, "9pd" the
    same then a double. The loop over the strings runs in C."""
    parts = []
    for start in range(0, len(strings), _PACK_BATCH):
        batch = strings[start:start + _PACK_BATCH]
        if scores is None:
            layout, values = "".join(map(_PASCAL.__getitem__, map(len, batch))), batch
        else:
            layout = "".join(map(_PASCAL_SCORED.__getitem__, map(len, batch)))
            values = [None] * (2 * len(batch))
            values[0::2] = batch
            values[1::2] = scores[start:start + _PACK_BATCH]
        parts.append(struct.Struct("<" + layout).pack(*values))
    return parts


def serialized_length(value, config) -> int:
    """The bytes of ``value`` in an RDB file, without its type and key: DEBUG OBJECT's
    serializedlength (Redis: rdbSavedObjectLen)."""
    return len(_write_value(value, config["rdbcompression"], config["list-max-listpack-size"])[1])


def listpack_of(value) -> bytes | None:
    """The listpack Redis keeps ``value`` in when OBJECT ENCODING says listpack (a small
    hash or sorted set), as the file holds it; None for other encodings (DEBUG LISTPACK)."""
    kind, payload = _write_value(value, False, -2)
    if kind not in (TYPE_HASH_LISTPACK, TYPE_ZSET_LISTPACK):
        return None
    return _Reader(payload, what="payload").string()


def _intset_bytes(members: list[bytes]) -> bytes:
    """An intset (intset.c): the width every member fits, the count, then the sorted
    members in that width."""
    numbers = [int(member) for member in members]
    low, high = min(numbers), max(numbers)
    width, code = (2, "h") if -(1 << 15) <= low and high < 1 << 15 else \
        (4, "i") if -(1 << 31) <= low and high < 1 << 31 else (8, "q")
    return struct.pack(f"<II{len(numbers)}{code}", width, len(numbers), *numbers)


_DUMP_BATCH = 4096  # keys serialized between two joins


def dump(databases: list[tuple[int, dict, dict]], compress: bool = True, checksum: bool = True,
         list_fill: int = -2, functions: list[bytes] = (), aux: dict[bytes, bytes] | None = None) -> bytes:
    """The whole file `dump_pieces` makes, as one bytes object."""
    return b"".join(dump_pieces(databases, compress, checksum, list_fill, functions, aux))


def dump_pieces(databases: list[tuple[int, dict, dict]], compress: bool = True, checksum: bool = True,
                list_fill: int = -2, functions: list[bytes] = (),
                aux: dict[bytes, bytes] | None = None) -> Iterator[bytes]:
    """A version 10 file of ``databases``, in the pieces it is made in: (db index, key ->
    value, key -> deadline) for each database that has keys, and the function
    libraries' code ``functions`` (a `Snapshot` holds both). ``compress`` and
    ``checksum`` are rdbcompression and rdbchecksum; ``list_fill`` is
    list-max-listpack-size, which cuts lists into nodes. ``aux`` (name -> value) adds
    AUX fields after the standard ones, in its order: the replication state a master
    or a replica records (Redis: rdbSaveInfoAuxFields).

    The libraries go after the AUX fields and before the databases, where Redis 7.0
    writes them (rdbSaveRio), so that a replica has them before any key arrives.

    A piece is a batch of keys (`_DUMP_BATCH`): the caller writes or sends each one
    and lets it go, so the file is never whole in memory (a BGSAVE's memory is the
    point-in-time view's, not the file's), and no single join of millions of small
    pieces holds the GIL for long (170 ms for a million keys), while clients wait."""
    summed = Crc64Stream() if checksum else None
    out = [b"REDIS%04d" % WRITE_VERSION]
    for name, value in ((b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"), (b"ctime", b"%d" % (now_ms() // 1000))):
        out.append(b"\xfa" + _string(name) + _string(value))
    for name, value in (aux or {}).items():
        out.append(b"\xfa" + _string(name) + _string(value))
    out.append(_function_records(functions, compress))
    extend = out.extend
    one_byte = _BYTE
    integer_lead = _INTEGER_LEAD
    plain_up_to = 20 if compress else 63  # longer strings may be compressed: `_string` decides
    for index, data, expires in databases:
        out.append(b"\xfe" + _length(index) + b"\xfb" + _length(len(data)) + _length(len(expires)))
        deadline_of = expires.get
        items = iter(data.items())
        while batch := list(islice(items, _DUMP_BATCH)):
            for key, value in batch:
                deadline = deadline_of(key)
                if deadline is not None:
                    extend((b"\xfc", _UINT64.pack(deadline)))
                # A string key holding a string, both short and not integers: most keys
                # of most files, written here without a call per field (see `_string`).
                if (value.__class__ is bytes and len(key) <= plain_up_to and len(value) <= plain_up_to
                        and (len(key) > 11 or key[:1] not in integer_lead)
                        and (len(value) > 11 or value[:1] not in integer_lead)):
                    extend((b"\x00", one_byte[len(key)], key, one_byte[len(value)], value))
                    continue
                kind, payload = _write_value(value, compress, list_fill)
                extend((one_byte[kind], _string(key, compress), payload))
            piece = b"".join(out)
            out.clear()
            if summed is not None:
                summed.update(piece)
            yield piece
    out.append(b"\xff")
    piece = b"".join(out)
    if summed is not None:
        summed.update(piece)
    yield piece + _UINT64.pack(summed.digest() if summed is not None else 0)


# --------------------------------------------------------------------------- DUMP and RESTORE


def dump_payload(value, config) -> bytes:
    """DUMP's serialization (cluster.c createDumpPayload): the value as the file holds
    it (type byte and value), the RDB version in 2 bytes, then the CRC64 of all that."""
    kind, payload = _write_value(value, config["rdbcompression"], config["list-max-listpack-size"])
    body = bytes([kind]) + payload + struct.pack("<H", WRITE_VERSION)
    return body + struct.pack("<Q", crc64(body))


def restore_payload(payload: bytes, config, deep: bool = False):
    """The value a DUMP payload holds, or RDBError with RESTORE's message. The checksum
    is verified (unless `skip_checksum_validation`), and a version newer than ours
    refused (verifyDumpPayload); ``deep`` runs the deep checks of packed values
    (RESTORE decides, from sanitize-dump-payload and who sent it)."""
    if (len(payload) < 10 or struct.unpack_from("<H", payload, len(payload) - 10)[0] > WRITE_VERSION
            or not skip_checksum_validation
            and struct.unpack_from("<Q", payload, len(payload) - 8)[0] != crc64(payload[:-8])):
        raise RDBError("DUMP payload version or checksum are wrong")
    reader = _Reader(payload, what="payload")  # as Redis, a value may run into the footer
    try:
        value = _read_value(reader, reader.byte(), _ValueBuilder(config, deep))
    except (RDBError, StopIteration, IndexError):
        value = None
    if value is None:  # also an empty collection, which Redis refuses too
        raise RDBError("Bad data format")
    return value


def dump_functions(codes: list[bytes], config) -> bytes:
    """FUNCTION DUMP's payload: each library's code after the function opcode, as an RDB
    file holds it, then the RDB version and the CRC64, as a key's DUMP."""
    body = _function_records(codes, config["rdbcompression"]) + struct.pack("<H", WRITE_VERSION)
    return body + struct.pack("<Q", crc64(body))


def _function_records(codes: list[bytes], compress: bool) -> bytes:
    """Each library's code after the function opcode, as RDB files and FUNCTION DUMP
    hold them (Redis: rdbSaveFunctions); compressed like any other string."""
    return b"".join(bytes([OP_FUNCTION2]) + _string(code, compress) for code in codes)


def restore_functions(payload: bytes) -> list[bytes]:
    """The libraries' code in a FUNCTION DUMP payload, or RDBError with Redis' message."""
    if (len(payload) < 10 or struct.unpack_from("<H", payload, len(payload) - 10)[0] > WRITE_VERSION
            or not skip_checksum_validation
            and struct.unpack_from("<Q", payload, len(payload) - 8)[0] != crc64(payload[:-8])):
        raise RDBError("DUMP payload version or checksum are wrong")
    reader = _Reader(payload[:-10], what="payload")
    codes = []
    try:
        while reader.position < len(payload) - 10:
            if reader.byte() != OP_FUNCTION2:
                raise RDBError("given type is not a function")
            codes.append(reader.string())
    except (StopIteration, IndexError):
        raise RDBError("payload is corrupted") from None
    return codes


def _highest_first(zset) -> tuple[list[bytes], list[float]]:
    """The members and scores of a sorted set (or of a snapshot's `FrozenSortedSet`),
    from the highest score down, gathered at C speed."""
    if isinstance(zset, FrozenSortedSet):
        pairs = zset.pairs[::-1]
        return list(map(_FIRST_ITEM, pairs)), list(map(_SECOND_ITEM, pairs))
    nodes = zset.by_rank(0, len(zset) - 1, reverse=True)
    return list(map(_NODE_MEMBER, nodes)), list(map(_NODE_SCORE, nodes))


_NODE_MEMBER, _NODE_SCORE = attrgetter("member"), attrgetter("score")


class FrozenSortedSet:
    """What a snapshot keeps of a sorted set: its pairs in order and its encoding. Walking
    the skip list once is much cheaper than building a second one (SortedSet.copy), and
    the copy is made with the keyspace lock held."""

    __slots__ = ("packed", "pairs")

    def __init__(self, zset: SortedSet):
        self.packed = zset.packed
        self.pairs = _ordered_pairs(zset)


def _ordered_pairs(zset: SortedSet) -> list[tuple[bytes, float]]:
    with collector_paused():  # a pair per node: the collector would walk the nodes again and again
        return list(map(_MEMBER_AND_SCORE, zset.by_rank(0, len(zset) - 1)))


_MEMBER_AND_SCORE = attrgetter("member", "score")  # a node's (member, score), at C speed


class Snapshot(NamedTuple):
    """The dataset at one instant, what an RDB file, an AOF base or a full sync is
    written from: each non-empty database (index, key -> value, key -> deadline) and
    each function library's code (libraries are data too, and FLUSHALL keeps them)."""

    databases: list[tuple[int, dict, dict]]
    functions: list[bytes]


def live_snapshot(keyspace, functions) -> Snapshot:
    """The databases themselves, and the libraries of ``functions`` (the server's
    `Functions`), for a writer that holds the keyspace lock until it is done (SAVE):
    nothing can change under it, so nothing is copied. A writer that lets the lock go
    meanwhile takes a `PointInTime` (app/persistence/cow.py) instead."""
    databases = [(db.index, db.data, db.expires) for db in keyspace.databases if db.data]
    return Snapshot(databases, functions.codes())


INCREMENTAL_FSYNC_BYTES = 4 * 1024 * 1024  # Redis' REDIS_AUTOSYNC_BYTES


def write_synced(path: str, pieces: bytes | Iterable[bytes], incremental: bool) -> None:
    """Write ``pieces`` (the file's bytes, or its pieces as they are made) to ``path``
    and fsync it. ``incremental`` (rdb-save-incremental-fsync,
    aof-rewrite-incremental-fsync) fsyncs every 4 MB on the way, as Redis does, so that
    the kernel never has a whole snapshot of dirty pages to flush at once."""
    if isinstance(pieces, (bytes, bytearray, memoryview)):
        pieces = (pieces,)
    unsynced = 0
    with open(path, "wb") as handle:
        for piece in pieces:
            handle.write(piece)
            unsynced += len(piece)
            if incremental and unsynced >= INCREMENTAL_FSYNC_BYTES:
                handle.flush()
                os.fsync(handle.fileno())
                unsynced = 0
        handle.flush()
        os.fsync(handle.fileno())


def write_file(path: str, pieces: bytes | Iterable[bytes], temporary: str, incremental_fsync: bool = True) -> None:
    """Write through ``temporary``, fsync, then rename, so a crash mid-save leaves the
    old file whole; a failed write removes the temporary file, as Redis does."""
    try:
        write_synced(temporary, pieces, incremental_fsync)
        os.replace(temporary, path)
    except OSError:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
