"""DEBUG, with the subcommands of Redis 7.0 (debug.c): a command for tests, not for
applications, allowed only as ``enable-debug-command`` says.

To Redis DEBUG is one command (arity -2, no subcommands in COMMAND INFO), protected: the
dispatcher refuses it unless ``enable-debug-command`` allows it. `debug` finds the
subcommand in `SUBCOMMANDS`, where each is one
small function with the number of arguments it takes. A name it does not know, or
the wrong number of arguments, gets Redis' "unknown subcommand" error, as do the names
of other Redis versions (JMAP, ZIPLIST, STRINGMATCH-LEN, LISTPACK-ENTRIES...).

What the subcommands do here:

* look at the data as Redis would hold it: DIGEST and DIGEST-VALUE (app/digest.py),
  OBJECT, SDSLEN, LISTPACK, QUICKLIST, HTSTATS, HTSTATS-KEY. The C structures these
  describe (sds strings, listpacks, quicklist nodes, hash tables, jemalloc size classes)
  are computed from our values by Redis' own rules, since Python holds them otherwise.
  Like Redis, most read keys as stored, logically expired ones included; LISTPACK,
  QUICKLIST and HTSTATS-KEY look them up as OBJECT does;
* report on the server: STRUCTSIZE (a 64-bit Redis' sizes), CLIENT-EVICTION (client
  memory by bucket), STRINGMATCH-TEST (a fuzz test of app/glob.py),
  CONFIG-REWRITE-FORCE-ALL; MALLCTL and MALLCTL-STR answer as jemalloc answers for a
  name it does not know, since Python's allocator has none of its controls;
* change the data: POPULATE, RELOAD, LOADAOF, CHANGE-REPL-ID, REPLICATE;
* help test clients: ERROR, PROTOCOL, SLEEP, LOG, LEAK;
* set a switch for tests: SET-ACTIVE-EXPIRE, PAUSE-CRON, AOF-FLUSH-SLEEP,
  SET-SKIP-CHECKSUM-VALIDATION, QUICKLIST-PACKED-THRESHOLD, CLUSTERLINK KILL and
  DROP-CLUSTER-PACKET-FILTER (cluster mode's bus), and a few accepted as Redis accepts
  them that act on nothing here (no reply buffers to resize; scripts here always refuse
  the commands flagged ``noscript``);
* end the process the way Redis does: SEGFAULT, PANIC, ASSERT and OOM write a bug
  report to the log and die by the signal Redis dies by; RESTART and
  CRASH-AND-RECOVER start the server again in the same process, with the same command
  line, gracefully or not.
"""

from __future__ import annotations

import faulthandler
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from typing import Callable, NoReturn

from app import log
from app.commands.arguments import c_string, integer, positive, text
from app.commands.generic import SHARED_REFCOUNT, shares_integers, string_encoding
from app.commands.registry import command
from app.config import memory_bytes as memtoull  # Redis' memtoull: "1gb", "512k"...
from app.config import rewrite_config_file
from app.digest import EMPTY, dataset_digest, hex_digest, value_digest
from app.glob import GlobPattern
from app.numeric import strtod
from app.persistence import rdb
from app.persistence.aof_file import OFF, LoadFailed
from app.protocol import (Attributed, BigNumber, Push, RawError, Replies, ReplyError, SetReply, Verbatim,
                          encode_command)
from app.replication.master import new_replication_id
from app.state import REDIS_VERSION
from app.store.hash import HashValue
from app.store.keyspace import now_ms
from app.store.list import ListValue
from app.store.memory import entry_size
from app.store.set import SetValue
from app.store.zset import SortedSet

NO_SUCH_KEY = "ERR no such key"

# name -> (handler, fewest arguments, most arguments or None for any number)
SUBCOMMANDS: dict[bytes, tuple[Callable, int, int | None]] = {}


def _subcommand(name: str, fewest: int, most: int | None):
    """Register a DEBUG subcommand taking ``fewest`` to ``most`` arguments after its
    name (None: any number), as debug.c checks ``c->argc`` for each."""

    def register(handler: Callable) -> Callable:
        SUBCOMMANDS[name.encode()] = (handler, fewest, most)
        return handler

    return register


@command("debug", arity=-2, flags="admin noscript loading stale", group="server", since="1.0.0",
         summary="A container for debugging commands", complexity="Depends on subcommand.",
         protected="enable-debug-command")
def debug(client, subcommand: bytes, *args: bytes):
    found = SUBCOMMANDS.get(c_string(subcommand).lower())  # strcasecmp on a C string
    if found is not None:
        handler, fewest, most = found
        if fewest <= len(args) and (most is None or len(args) <= most):
            return handler(client, *args)
    raise _unknown_subcommand(subcommand)


def _unknown_subcommand(name: bytes) -> ReplyError:
    """Redis' addReplySubcommandSyntaxError: a name it does not know, or one given the
    wrong arguments."""
    return ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{text(c_string(name)[:128])}'. "
                      "Try DEBUG HELP.")


@_subcommand("help", 0, 0)
def debug_help(client):
    # Redis' text, MALLCTL included: its build has jemalloc, and so answers MALLCTL.
    return [
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "AOF-FLUSH-SLEEP <microsec>",
        "    Server will sleep before flushing the AOF, this is used for testing.",
        "ASSERT",
        "    Crash by assertion failed.",
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "CRASH-AND-RECOVER [<milliseconds>]",
        "    Hard crash and restart after a <milliseconds> delay (default 0).",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LEAK <string>",
        "    Create a memory leak of the input string.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "HTSTATS <dbid>",
        "    Return hash table statistics of the specified Redis database.",
        "HTSTATS-KEY <key>",
        "    Like HTSTATS but for the hash table stored at <key>'s value.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "REPLICATE <string>",
        "    Replicates the provided string to replicas, allowing data divergence.",
        "MALLCTL <key> [<val>]",
        "    Get or set a malloc tuning integer.",
        "MALLCTL-STR <key> [<val>]",
        "    Get or set a malloc tuning string.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "DROP-CLUSTER-PACKET-FILTER <packet-type>",
        "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
        "OOM",
        "    Crash the server simulating an out-of-memory error.",
        "PANIC",
        "    Crash the server simulating a panic.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from RDB.",
        "    * NOFLUSH: the existing database will not be removed before load, but",
        "      conflicting keys will generate an exception and kill the server.",
        "    * NOSAVE: the database will be loaded from an existing RDB file.",
        "    Examples:",
        "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
        "      the database.",
        "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
        "      existing RDB file.",
        "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
        "      file to the database.",
        "RESTART [<milliseconds>]",
        "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
        "SDSLEN <key>",
        "    Show low level SDS string info representing `key` and value.",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
        "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "STRINGMATCH-TEST",
        "    Run a fuzz tester against the stringmatchlen() function.",
        "STRUCTSIZE",
        "    Return the size of different Redis core C structures.",
        "LISTPACK <key>",
        "    Show low level info about the listpack encoding of <key>.",
        "QUICKLIST <key> [<0|1>]",
        "    Show low level info about the quicklist encoding of <key>.",
        "    The optional argument (0 by default) sets the level of detail",
        "CLIENT-EVICTION",
        "    Show low level client eviction pools info (maxmemory-clients).",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "CLUSTERLINK KILL <to|from|all> <node-id>",
        "    Kills the link based on the direction to/from (both) with the provided node.",
        "HELP",
        "    Prints this help.",
    ]


def atoi(arg: bytes) -> int:
    """C's atoi, which Redis uses for DEBUG's switches: blanks, a sign, digits, and
    whatever follows ignored ("1x" is 1, "x" is 0); glibc reads a long (saturating)
    and keeps its low 32 bits, as the int it returns."""
    digits = c_string(arg).lstrip(b" \t\n\v\f\r")
    sign = -1 if digits[:1] == b"-" else 1
    digits = digits[1:] if digits[:1] in (b"-", b"+") else digits
    end = 0
    while end < len(digits) and digits[end:end + 1].isdigit():
        end += 1
    value = min(max(sign * int(digits[:end]) if end else 0, -(2**63)), 2**63 - 1)
    return (value + 2**31) % 2**32 - 2**31


# --------------------------------------------------------------------------- the data


@_subcommand("digest", 0, 0)
def debug_digest(client):
    databases = ((db.index, db.data, db.expires) for db in client.server.keyspace.databases)
    return hex_digest(dataset_digest(databases))


@_subcommand("digest-value", 0, None)
def debug_digest_value(client, *keys: bytes):
    db = client.db
    # Read as stored, not looked up: a debugging command sees logically expired keys.
    return [EMPTY if key not in db.data else hex_digest(value_digest(db.data[key], key in db.expires))
            for key in keys]


LRU_CLOCK_MAX = (1 << 24) - 1  # Redis keeps access times in 24 bits of seconds


@_subcommand("object", 1, 1)
def debug_object(client, key: bytes):
    db = client.db
    value = db.data.get(key)  # as stored: no expiry, no access recorded
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    server = client.server
    if isinstance(value, (bytes, bytearray)):
        encoding = string_encoding(value)
        shared = encoding == b"int" and 0 <= int(value) < 10000 and shares_integers(server.config)
    else:
        encoding, shared = value.encoding().encode(), False
    # The object's lru field: seconds of the last access (or, under an LFU policy, the
    # LFU counter, which the access map holds then), and Redis' idle estimate from it.
    lru = db.access.get(key, db.keyspace.clock) & LRU_CLOCK_MAX
    clock = db.keyspace.clock & LRU_CLOCK_MAX
    idle = clock - lru if clock >= lru else clock + LRU_CLOCK_MAX - lru
    line = (f"Value at:{hex(id(value))} refcount:{SHARED_REFCOUNT if shared else 1} "
            f"encoding:{encoding.decode()} serializedlength:{rdb.serialized_length(value, server.config)} "
            f"lru:{lru} lru_seconds_idle:{idle}")
    if isinstance(value, ListValue):
        nodes = rdb.quicklist_nodes(value, server.config["list-max-listpack-size"])
        line += (f" ql_nodes:{len(nodes)} ql_avg_node:{len(value) / len(nodes):.2f}"
                 f" ql_listpack_max:{server.config['list-max-listpack-size']}"
                 f" ql_compressed:{int(server.config['list-compress-depth'] != 0)}"
                 f" ql_uncompressed_size:{sum(len(node) for _container, node in nodes)}")
    return line


# DEBUG SDSLEN describes the sds strings and allocations Redis would have made: sds
# headers by string length (sds.h), and jemalloc's size classes.
SDS_HEADERS = ((1 << 5, 1, 0), (1 << 8, 3, 255), (1 << 16, 5, 65535), (1 << 32, 9, 2**32 - 1))
ROBJ_BYTES = 16
EMBSTR_MAX = 44  # OBJ_ENCODING_EMBSTR_SIZE_LIMIT
SDS_MAX_PREALLOC = 1024 * 1024


def jemalloc_size(request: int) -> int:
    """The size class jemalloc serves ``request`` bytes from: 8, then steps of 16 up to
    128, then four classes between each two powers of two."""
    if request <= 8:
        return 8
    if request <= 128:
        return -(-request // 16) * 16
    spacing = 1 << ((request - 1).bit_length() - 3)
    return -(-request // spacing) * spacing


def sds_allocation(length: int, room: int | None = None) -> tuple[int, int]:
    """(free bytes, allocated bytes) of a new sds of ``length`` bytes, or of one grown to
    hold ``room`` bytes (sdsnewlen, sdsMakeRoomFor): the allocation is a whole size
    class, and the string may use what the class leaves, as far as its header can count.
    The smallest header (5 bits) counts no free bytes at all, so an empty string, or
    one made to grow, gets the next."""
    growing = room is not None
    room = length if room is None else room
    header, most = next(((header, most) for limit, header, most in SDS_HEADERS if room < limit), (17, 2**64 - 1))
    if most == 0 and (growing or length == 0):
        header, most = 3, 255
    usable = jemalloc_size(header + room + 1)
    return (min(usable - header - 1, most) - length if most else 0), usable


@_subcommand("sdslen", 1, 1)
def debug_sdslen(client, key: bytes):
    value = client.db.data.get(key)
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    if not isinstance(value, (bytes, bytearray)) or string_encoding(value) == b"int":
        raise ReplyError("ERR Not an sds encoded string.")
    key_free, key_bytes = sds_allocation(len(key))  # the keyspace's own copy of the name
    length = len(value)
    if isinstance(value, bytearray) and value.__alloc__() > length + 1:
        # Grown in place (APPEND, SETRANGE past the end): Python over-allocated it, and
        # sdsMakeRoomFor leaves room for as much again (below 1 MB; 1 MB more above).
        value_free, value_bytes = sds_allocation(length, 2 * length if length < SDS_MAX_PREALLOC
                                                 else length + SDS_MAX_PREALLOC)
    elif isinstance(value, bytearray):  # made at its size (SETRANGE of a new key)
        value_free, value_bytes = sds_allocation(length)
    elif length <= EMBSTR_MAX:  # one allocation with the object: no room to spare
        value_free, value_bytes = 0, jemalloc_size(ROBJ_BYTES + 3 + length + 1) - ROBJ_BYTES
    else:
        value_free, value_bytes = sds_allocation(length)
        if value_free > length // 10:
            value_free = 0  # trimStringObjectIfNeeded gives back the room, not the class
    return (f"key_sds_len:{len(key)}, key_sds_avail:{key_free}, key_zmalloc: {key_bytes}, "
            f"val_sds_len:{length}, val_sds_avail:{value_free}, val_zmalloc: {value_bytes}")


def _inspected(client, key: bytes):
    """A key looked up as OBJECT does (a miss is counted, not announced), or no such key."""
    value = client.db.lookup_read(key, touch=False, notify=False)
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    return value


def _listpack_lines(listpack: bytes) -> list[str]:
    """A listpack's entries, one line each, as lpRepr shows them: where each starts, its
    bytes (with the back-length after them) and its value (listpack.c encodings)."""
    lines = [f"{{total bytes {len(listpack)}}} {{num entries {int.from_bytes(listpack[4:6], 'little')}}}"]
    position, index = 6, 0
    while listpack[position] != 0xFF:
        first = listpack[position]
        number = None
        if first < 0x80:  # 7-bit unsigned integer
            header, payload, number = 1, 0, first
        elif first < 0xC0:  # string of up to 63 bytes
            header, payload = 1, first & 0x3F
        elif first < 0xE0:  # 13-bit signed integer
            header, payload = 2, 0
            number = ((first & 0x1F) << 8) | listpack[position + 1]
            number -= 8192 if number >= 4096 else 0
        elif first < 0xF0:  # string of up to 4095 bytes
            header, payload = 2, ((first & 0x0F) << 8) | listpack[position + 1]
        elif first == 0xF0:  # longer string
            header, payload = 5, int.from_bytes(listpack[position + 1:position + 5], "little")
        else:  # 16, 24, 32 or 64-bit signed integer
            width = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[first]
            header, payload = 1 + width, 0
            number = int.from_bytes(listpack[position + 1:position + 1 + width], "little", signed=True)
        size = header + payload
        backlen = 1 if size < 128 else 2 if size < 16384 else 3 if size < 2097152 else 4 if size < 268435456 else 5
        entry = listpack[position:position + size + backlen]
        shown = f"[int]{number}" if number is not None else \
            "[str]" + entry[header:size][:40].decode("utf-8", "replace")
        lines.append(f"{{index {index}, offset {position}, bytes {'|'.join(f'{byte:02x}' for byte in entry)}}} {shown}")
        position += size + backlen
        index += 1
    lines.append("{end}")
    return lines


@_subcommand("listpack", 1, 1)
def debug_listpack(client, key: bytes):
    listpack = rdb.listpack_of(_inspected(client, key))
    if listpack is None:
        raise ReplyError("ERR Not a listpack encoded object.")
    print("\n".join(_listpack_lines(listpack)), flush=True)
    return "Listpack structure printed on stdout"


@_subcommand("quicklist", 1, 2)
def debug_quicklist(client, key: bytes, *detail: bytes):
    value = _inspected(client, key)
    full = atoi(detail[0]) if detail else 0  # read first, as Redis does
    if not isinstance(value, ListValue):
        raise ReplyError("ERR Not a quicklist encoded object.")
    config = client.server.config
    nodes = rdb.quicklist_nodes(value, config["list-max-listpack-size"])
    lines = [f"{{count : {len(value)}}}", f"{{len : {len(nodes)}}}", f"{{fill : {config['list-max-listpack-size']}}}",
             f"{{compress : {config['list-compress-depth']}}}", "{bookmark_count : 0}"]
    for number, (container, node) in enumerate(nodes):
        plain = container == rdb.QUICKLIST_NODE_PLAIN
        count = 1 if plain else int.from_bytes(node[4:6], "little")
        lines += [f"{{quicklist node({number})",
                  f"{{container : {'PLAIN' if plain else 'PACKED'}, encoding: RAW, size: {len(node)}, "
                  f"count: {count}, recompress: 0, attempted_compress: 0}}"]
        if full:
            lines += [f"{{ entry : {node[:40].decode('utf-8', 'replace')} }}"] if plain else \
                ["{ listpack:", *_listpack_lines(node), "}"]
        lines.append("}")
    print("\n".join(lines), flush=True)
    return "Quicklist structure printed on stdout"


def _hash_table_stats(keys) -> str:
    """dictGetStats for the table Redis would hold ``keys`` in: as many buckets as the
    next power of two (4 at least: a table doubles when full), keys chained by their
    hash (Python's, seeded at random per process as Redis' SipHash is)."""
    keys = list(keys)
    report = "Hash table 0 stats (main hash table):\n"
    if not keys:
        return report + "No stats available for empty dictionaries\n"
    size = max(4, 1 << (len(keys) - 1).bit_length())
    chains = Counter(hash(key) & (size - 1) for key in keys)
    lengths = Counter(min(length, 49) for length in chains.values())
    lengths[0] = size - len(chains)
    average = len(keys) / len(chains)
    report += (f" table size: {size}\n number of elements: {len(keys)}\n different slots: {len(chains)}\n"
               f" max chain length: {max(chains.values())}\n avg chain length (counted): {average:.2f}\n"
               f" avg chain length (computed): {average:.2f}\n Chain length distribution:\n")
    for length in sorted(lengths):
        if lengths[length] and length < 49:
            report += f"   {length}: {lengths[length]} ({lengths[length] / size * 100:.2f}%)\n"
    return report


@_subcommand("htstats", 1, 1)
def debug_htstats(client, index: bytes):
    number = integer(index)
    databases = client.server.keyspace.databases
    if not 0 <= number < len(databases):
        raise ReplyError("ERR Out of range database")
    db = databases[number]
    return Verbatim("[Dictionary HT]\n" + _hash_table_stats(db.data) + "[Expires HT]\n" + _hash_table_stats(db.expires))


@_subcommand("htstats-key", 1, 1)
def debug_htstats_key(client, key: bytes):
    value = _inspected(client, key)
    if isinstance(value, SetValue) and not value.intset:
        keys = value.members
    elif isinstance(value, HashValue) and value.index is not None:
        keys = value.fields
    elif isinstance(value, SortedSet) and not value.packed:
        keys = value.scores
    else:
        raise ReplyError("ERR The value stored at the specified key is not represented using an hash table")
    return Verbatim(_hash_table_stats(keys))


# --------------------------------------------------------------------------- changing the data


@_subcommand("populate", 1, 3)
def debug_populate(client, count_arg: bytes, *options: bytes):
    """key:0 = value:0, key:1 = value:1... in the client's database, skipping names that
    exist. Not a change that counts (nothing reaches replicas or the AOF, save points do
    not see it), but WATCH does, as in Redis."""
    count = positive(count_arg)
    prefix = c_string(options[0]) if options else b"key"
    size = positive(options[1]) if len(options) == 2 else 0
    if count and not _fits_in_memory(count, prefix, size):
        # Redis 7.0 would start anyway and die of it; later Redis answers this.
        raise ReplyError("ERR OOM in dictTryExpand")
    db = client.db
    for number in range(count):
        key = (b"%s:%d" % (prefix, number))[:127]  # snprintf into a 128-byte buffer
        if db.lookup(key) is not None:
            continue
        value = b"value:%d" % number
        if size:
            value = value[:size].ljust(size, b"\0")
        db.set(key, value, changes=0)
    return "OK"


def _fits_in_memory(count: int, prefix: bytes, size: int) -> bool:
    """Whether ``count`` keys like the last one could fit in the machine's memory: a
    count that cannot is refused at once, instead of holding the lock until memory
    runs out."""
    key = (b"%s:%d" % (prefix, count - 1))[:127]
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return count * (entry_size(key, b"value:%d" % count) + size) <= total


@_subcommand("reload", 0, None)
def debug_reload(client, *options: bytes):
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the RDB file (unless NOSAVE),
    empty the keyspace and the function libraries (unless NOFLUSH), and load the file
    back, as a restart would. A loaded key replaces one still there (Redis does so with
    MERGE, and stops on a duplicate without it); a library still there is replaced with
    MERGE, and without it is an error, as in Redis, that here loads nothing at all."""
    words = [c_string(option).upper() for option in options]
    if any(word not in (b"MERGE", b"NOFLUSH", b"NOSAVE") for word in words):
        raise ReplyError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    server = client.server
    keyspace = server.keyspace
    if b"NOSAVE" not in words and not server.snapshots.save():
        raise ReplyError("ERR")
    dirty = keyspace.dirty
    codes: list[bytes] = []
    policy = "FLUSH" if b"NOFLUSH" not in words else "REPLACE" if b"MERGE" in words else "APPEND"
    try:
        keys = rdb.load_file(rdb.rdb_path(server.config), server.config, now_ms(), len(keyspace.databases),
                             rdb.sanitize_on_load(server.config), codes)
        if keys is not None:
            rdb.install_functions(server.functions, codes, policy)
    except (rdb.RDBError, OSError) as error:
        log.warning(f"Error loading the RDB file for DEBUG RELOAD: {error}")
        keys = None
    if keys is None:
        raise ReplyError("ERR Error trying to load the RDB dump, check server logs.")
    if b"NOFLUSH" not in words:
        keyspace.flush_all()
    rdb.install(keyspace, keys)
    keyspace.dirty = dirty
    log.warning("DB reloaded by DEBUG RELOAD")
    return "OK"


@_subcommand("loadaof", 0, None)
def debug_loadaof(client, *_ignored: bytes):
    """Write what the AOF holds in memory, empty the keyspace and the function
    libraries, and replay the files the manifest on disk lists, as at start-up.
    Meanwhile other clients are answered LOADING, as Redis answers them while it loads;
    a failure ends the process with 1, as in Redis 7.0 (which exits then)."""
    server = client.server
    aof, keyspace = server.aof, server.keyspace
    was_on = aof.status != OFF
    if was_on:
        aof.flush()
        aof.sync_now()
    keyspace.flush_all()
    server.functions.flush()  # the AOF loads them again, as Redis' emptyData clears them
    if not os.path.exists(aof.manifest_path()):
        log.debug(f"The AOF manifest file {os.path.basename(aof.manifest_path())} doesn't exist")
        _exit_now(1)
    # Nothing replayed goes to replicas or back into the AOF (Redis propagates nothing
    # while it loads): the sinks come back when the load is done.
    keyspace.propagation.set_sinks(None, None)
    server.loading = True
    keyspace.lock.release()  # the replay takes it for each command, as at start-up
    try:
        aof.load()
    except LoadFailed:
        _exit_now(1)
    finally:
        keyspace.lock.acquire()
        server.loading = False
    if not was_on:
        aof.disable()  # loaded, but appendonly is still no
    server.replication.update_sinks()
    keyspace.dirty = 0
    log.warning("Append Only File loaded by DEBUG LOADAOF")
    return "OK"


@_subcommand("change-repl-id", 0, 0)
def debug_change_repl_id(client):
    """A new replication ID, and no previous one: replicas can no longer continue
    (Redis: changeReplicationId and clearReplicationId2)."""
    log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    replication = client.server.replication
    replication.replid = new_replication_id()
    replication.replid2 = "0" * 40
    replication.second_offset = -1
    return "OK"


@_subcommand("replicate", 1, None)
def debug_replicate(client, *argv: bytes):
    """Send ``argv`` to the replicas (and the backlog) as it is, with no SELECT and
    nothing run here: a way for tests to make a replica differ from its master."""
    to_replicas = client.server.keyspace.propagation.to_replicas
    if to_replicas is not None:
        to_replicas(encode_command(list(argv)))
    return "OK"


# --------------------------------------------------------------------------- testing clients


@_subcommand("error", 1, 1)
def debug_error(client, message: bytes):
    return RawError(text(message))  # the text as it is, with no ERR in front


# The replies of DEBUG PROTOCOL, one of each RESP3 type, as Redis sends them.
_PROTOCOL_REPLIES = {
    b"string": b"Hello World",
    b"integer": 12345,
    b"double": 3.141,
    b"bignum": BigNumber(1234567999999999999999999999999999999),
    b"null": None,
    b"array": [0, 1, 2],
    b"set": SetReply([0, 1, 2]),
    b"map": {0: False, 1: True, 2: False},
    b"attrib": Attributed({b"key-popularity": [b"key:123", 90]}, b"Some real reply following the attribute"),
    # A push is not the reply to anything: a real reply follows, for clients that wait.
    b"push": Replies([Push([b"server-cpu-usage", 42]), b"Some real reply following the push reply"]),
    b"verbatim": Verbatim("This is a verbatim\nstring"),
    b"true": True,
    b"false": False,
}


@_subcommand("protocol", 1, 1)
def debug_protocol(client, kind: bytes):
    name = c_string(kind).lower()
    if name not in _PROTOCOL_REPLIES:
        raise ReplyError("ERR Wrong protocol type name. Please use one of the following: "
                         "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
    if name == b"push" and client.protocol < 3:
        raise ReplyError("ERR RESP2 is not supported by this command")
    return _PROTOCOL_REPLIES[name]


@_subcommand("sleep", 1, 1)
def debug_sleep(client, seconds_arg: bytes):
    # strtod, then whole microseconds; a negative or absurd time sleeps not at all.
    microseconds = strtod(c_string(seconds_arg))[0] * 1_000_000
    # Redis is single-threaded, so DEBUG SLEEP stalls every client; holding the
    # keyspace lock while sleeping does the same here.
    if 1 <= microseconds < 2**63:
        time.sleep(int(microseconds) / 1_000_000)
    return "OK"


@_subcommand("log", 1, 1)
def debug_log(client, message: bytes):
    log.warning(f"DEBUG LOG: {text(c_string(message))}")
    return "OK"


_LEAKED: list[bytes] = []  # DEBUG LEAK's strings: kept, never used, never freed


@_subcommand("leak", 1, 1)
def debug_leak(client, data: bytes):
    _LEAKED.append(bytes(data))
    return "OK"


# --------------------------------------------------------------------------- switches


class _Expiry:
    """Whether the active expiry cycle runs: not after SET-ACTIVE-EXPIRE 0, nor while
    PAUSE-CRON 1 holds Redis' serverCron. Of the work serverCron does, only this cycle
    pauses here: our save points, AOF and replication each have a thread of their own
    (app/persistence, app/server.py), which go on."""

    enabled = True
    paused = False

    @classmethod
    def apply(cls, client) -> str:
        client.server.keyspace.active_expiry = cls.enabled and not cls.paused
        return "OK"


@_subcommand("set-active-expire", 1, 1)
def debug_set_active_expire(client, flag: bytes):
    _Expiry.enabled = atoi(flag) != 0
    return _Expiry.apply(client)


@_subcommand("pause-cron", 1, 1)
def debug_pause_cron(client, flag: bytes):
    _Expiry.paused = atoi(flag) != 0
    return _Expiry.apply(client)


@_subcommand("aof-flush-sleep", 1, 1)
def debug_aof_flush_sleep(client, microseconds: bytes):
    client.server.aof.flush_sleep = max(atoi(microseconds), 0)
    return "OK"


@_subcommand("set-skip-checksum-validation", 1, 1)
def debug_set_skip_checksum_validation(client, flag: bytes):
    rdb.skip_checksum_validation = atoi(flag) != 0
    return "OK"


@_subcommand("quicklist-packed-threshold", 1, 1)
def debug_quicklist_packed_threshold(client, size_arg: bytes):
    size = memtoull(text(c_string(size_arg)))
    if size is None or size > (1 << 32) - (1 << 20):
        raise ReplyError("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
    rdb.quicklist_packed_threshold = size or 1 << 30  # 0: the default, 1 GB
    return "OK"


@_subcommand("set-disable-deny-scripts", 1, 1)
def debug_set_disable_deny_scripts(client, _flag: bytes):
    return "OK"  # accepted: scripts here refuse noscript commands whatever it says


@_subcommand("drop-cluster-packet-filter", 1, 1)
def debug_drop_cluster_packet_filter(client, packet_type: bytes):
    # Bus messages of that type are counted, then ignored (app/cluster/gossip.py); -1
    # drops none. A standalone server accepts it too, with no bus to apply it to.
    kind = integer(packet_type)
    if client.server.cluster is not None:
        client.server.cluster.drop_packet_filter = kind
    return "OK"


@_subcommand("replybuffer", 2, 2)
def debug_replybuffer(client, setting: bytes, value: bytes):
    # Our replies are written whole by each connection: no buffer to resize or peak to
    # reset, but the arguments are checked as Redis checks them.
    setting = c_string(setting).lower()
    if setting == b"peak-reset-time":
        if c_string(value).lower() not in (b"never", b"reset"):
            integer(value)
    elif setting != b"resizing":
        raise _unknown_subcommand(client.argv[1])  # as typed
    return "OK"


@_subcommand("clusterlink", 3, 3)
def debug_clusterlink(client, action: bytes, direction: bytes, name: bytes):
    """DEBUG CLUSTERLINK KILL TO|FROM|ALL <node>: close our bus link to that node, its
    link to us, or both; the cron connects again (tests of the bus use it)."""
    if c_string(action).lower() != b"kill":
        raise _unknown_subcommand(client.argv[1])  # as typed
    cluster = client.server.cluster
    if cluster is None:
        raise ReplyError("ERR Debug option only available for cluster mode enabled setup!")
    node = cluster.lookup(name)
    if node is None:
        raise ReplyError(f"ERR Unknown node {text(name)}")
    links = {b"to": (node.link,), b"from": (node.inbound_link,), b"all": (node.link, node.inbound_link)}
    chosen = links.get(c_string(direction).lower())
    if chosen is None:
        # Redis sends this error and then +OK as well, two replies to one command; one
        # is sent here, so that the client's replies stay in step.
        raise ReplyError(f"ERR Unknown direction {text(direction)}")
    for link in chosen:
        if link is not None:
            cluster.free_link(link)
    return "OK"


@_subcommand("mallctl", 1, None)
def debug_mallctl(client, _name: bytes, *value: bytes):
    if value:
        integer(value[0])
    # Python's allocator has none of jemalloc's controls: every name is unknown (ENOENT).
    raise ReplyError("ERR No such file or directory")


@_subcommand("mallctl-str", 1, None)
def debug_mallctl_str(client, _name: bytes, *_value: bytes):
    raise ReplyError("ERR No such file or directory")


@_subcommand("config-rewrite-force-all", 0, 0)
def debug_config_rewrite_force_all(client):
    path = client.server.config_file
    if not path:
        raise ReplyError("ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address")  # Redis' fopen(NULL)
    try:
        rewrite_config_file(client.server.config, path, force_all=True)
    except OSError as error:
        raise ReplyError(f"ERR CONFIG-REWRITE-FORCE-ALL failed: {error.strerror}") from None
    return "OK"


# --------------------------------------------------------------------------- introspection


@_subcommand("structsize", 0, 0)
def debug_structsize(client):
    # The sizes of a 64-bit Redis, which DEBUG SDSLEN's figures are made of.
    return b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 "


@_subcommand("stringmatch-test", 0, 0)
def debug_stringmatch_test(client):
    """Random patterns against random strings, as Redis' stringmatchlen_fuzz_test, but
    ten thousand of them instead of ten million (a Python loop)."""
    generator = random.Random()
    matches = 0
    for _ in range(10_000):
        subject = bytes(generator.randrange(128) for _ in range(generator.randrange(32)))
        pattern = bytes(generator.randrange(128) for _ in range(generator.randrange(32)))
        matches += GlobPattern(pattern).match(subject)
    print(f"Total matches: {matches}", flush=True)
    return "Apparently Redis did not crash: test passed"


CLIENT_MEMORY_BUCKETS = 19  # sizes up to 32 kB, then one bucket per power of two up to 4 GB
CLIENT_MEMORY_SMALLEST = 15


@_subcommand("client-eviction", 0, 0)
def debug_client_eviction(client):
    server = client.server
    if not server.config["maxmemory-clients"]:
        raise ReplyError("ERR maxmemory-clients is disabled.")
    totals = [0] * CLIENT_MEMORY_BUCKETS
    counts = [0] * CLIENT_MEMORY_BUCKETS
    for other in server.clients.values():
        # Only normal and pub/sub clients may be evicted, and not those that said NO-EVICT.
        if other.no_evict or other.replica is not None or other.monitoring or other.is_master:
            continue
        memory = other.memory()["tot-mem"]
        bucket = min(max(memory.bit_length(), CLIENT_MEMORY_SMALLEST), 33) - CLIENT_MEMORY_SMALLEST
        totals[bucket] += memory
        counts[bucket] += 1
    lines = []
    for bucket in range(CLIENT_MEMORY_BUCKETS):
        low = "bucket          0" if bucket == 0 else f"bucket {1 << (bucket - 1 + CLIENT_MEMORY_SMALLEST):10d}"
        high = "+            : " if bucket == CLIENT_MEMORY_BUCKETS - 1 else \
            f" - {(1 << (bucket + CLIENT_MEMORY_SMALLEST)) - 1:10d}: "
        lines.append(f"{low}{high}tot-mem: {totals[bucket]:10d}, clients: {counts[bucket]}\n")
    return Verbatim("".join(lines))


# --------------------------------------------------------------------------- ending the process


def _exit_now(status: int) -> NoReturn:
    """End the process at once, as Redis' exit() does from inside a command."""
    sys.stdout.flush()  # what was printed goes out first
    os._exit(status)


def _crash(lines: list[str], signum: int) -> NoReturn:
    """Redis' bug report, in the log, then death by ``signum`` (SIGSEGV, or the SIGABRT
    of abort()), as Redis ends: no Python traceback, no saving."""
    log.warning("=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    for line in lines:
        log.warning(line)
    log.warning("=== REDIS BUG REPORT END. Make sure to include from START to END. ===")
    faulthandler.disable()  # Python's own report on a fatal signal would be a traceback
    sys.stdout.flush()
    if signum == signal.SIGABRT:
        os.abort()
    signal.pthread_kill(threading.get_ident(), signum)  # to this thread: delivered before it returns
    os.abort()  # not reached


@_subcommand("segfault", 0, None)
def debug_segfault(client, *_ignored: bytes):
    _crash([f"Redis {REDIS_VERSION} crashed by signal: {signal.SIGSEGV.value}, si_code: 2"], signal.SIGSEGV)


def _panic(message: str) -> NoReturn:
    _crash(["------------------------------------------------",
            "!!! Software Failure. Press left mouse button to continue",
            f"Guru Meditation: {message} #debug.py"], signal.SIGABRT)


@_subcommand("panic", 0, None)
def debug_panic(client, *_ignored: bytes):
    _panic(f"DEBUG PANIC called at Unix time {int(time.time())}")


@_subcommand("oom", 0, None)
def debug_oom(client, *_ignored: bytes):
    # Redis asks its allocator for all of memory (zmalloc(ULONG_MAX)) and aborts.
    log.warning(f"Out Of Memory allocating {2**63 - 1} bytes!")
    _panic(f"Redis aborting for OUT OF MEMORY. Allocating {2**63 - 1} bytes!")


@_subcommand("assert", 0, None)
def debug_assert(client, *_ignored: bytes):
    argv = client.argv
    context = ["=== ASSERTION FAILED CLIENT CONTEXT ===", "client->flags = 0", f"client->conn = fd={client.fd}",
               f"client->argc = {len(argv)}"]
    context += [f'client->argv[{number}] = "{text(c_string(arg))}" (refcount: 1)' for number, arg in enumerate(argv)]
    context += ["=== ASSERTION FAILED OBJECT CONTEXT ===", "Object type: 0", "Object encoding: 8",
                "Object refcount: 1", "=== ASSERTION FAILED ===", "==> debug.py '1 == 2' is not true"]
    _crash(context, signal.SIGABRT)


def _restart(client, delay_args: tuple[bytes, ...], graceful: bool):
    """Start the server again in this process, with the command line it was started
    with (Redis: restartServer): after a proper shutdown (the configuration file
    rewritten, the RDB saved if save points are set, the AOF on disk) when
    ``graceful``, or at once, as after a crash. The connections close as the process
    image is replaced; the new one loads the data as any start does."""
    delay = max(integer(delay_args[0]), 0) if delay_args else 0
    server = client.server
    if graceful:
        if server.config_file:
            try:
                rewrite_config_file(server.config, server.config_file)
            except OSError as error:
                log.warning(f"Can't restart: configuration rewrite process failed: {error.strerror}")
                raise ReplyError("ERR failed to restart the server. Check server logs.") from None
        log.warning("User requested shutdown...")
        if not server.prepare_for_shutdown():
            log.warning("Can't restart: error preparing for shutdown")
            raise ReplyError("ERR failed to restart the server. Check server logs.")
    time.sleep((delay * 1000) % 2**32 / 1_000_000)  # usleep(delay*1000): 32 bits of microseconds
    sys.stdout.flush()
    try:
        # Every descriptor but the standard three is closed by exec (Python opens them
        # non-inheritable), the listening sockets with them, so the new server can bind.
        os.execv(sys.executable, sys.orig_argv)
    except OSError as error:
        log.warning(f"Can't restart: {error.strerror}")
        _exit_now(1)  # as Redis: nothing left to go back to


@_subcommand("restart", 0, None)
def debug_restart(client, *delay: bytes):
    _restart(client, delay[:1], graceful=True)


@_subcommand("crash-and-recover", 0, None)
def debug_crash_and_recover(client, *delay: bytes):
    _restart(client, delay[:1], graceful=False)
