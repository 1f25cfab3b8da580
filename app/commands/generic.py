"""Generic key commands: they work on keys of any type (DEL, EXPIRE, SCAN, RENAME...)."""

from __future__ import annotations

import re
from fractions import Fraction

from app.cluster.migrate import CREDENTIAL_OPTIONS, TargetIOError
from app.commands.arguments import SYNTAX_ERROR, c_string, integer, int32, keyword, scan_cursor, text, wrong_type
from app.commands.registry import KeySpec, command, container
from app.glob import compile_glob
from app.numeric import INT64_MAX, parse_int, strtod
from app.persistence import rdb
from app.propagation import propagate_as
from app.protocol import ReplyError, encode_command
from app.store import events
from app.store.hash import HashValue
from app.store.keyspace import UnencodedString, copy_value, now_ms, type_name
from app.store.memory import lfu_counter, lfu_minutes
from app.store.list import ListValue
from app.store.set import SetValue
from app.store.zset import SortedSet

SAME_OBJECT = "ERR source and destination objects are the same"


def _generic(name: str, **kwargs):
    kwargs["acl"] = "keyspace " + kwargs.get("acl", "")
    return command(name, group="generic", **kwargs)


ALL_KEYS_RM = [KeySpec(1, "RM delete", last=-1)]


def _delete(client, keys: tuple[bytes, ...]) -> int:
    db = client.db
    deleted = 0
    for key in keys:
        if db.delete(key):
            db.notify(events.GENERIC, "del", key)  # UNLINK's event is "del" too
            deleted += 1
    return deleted


@_generic("del", arity=-2, flags="write", keys=ALL_KEYS_RM, since="1.0.0",
          tips="request_policy:multi_shard response_policy:agg_sum", summary="Delete a key",
          complexity="O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).")
def del_(client, *keys: bytes):
    return _delete(client, keys)


@_generic("unlink", arity=-2, flags="write fast", keys=ALL_KEYS_RM, since="4.0.0",
          tips="request_policy:multi_shard response_policy:agg_sum",
          summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
          complexity="O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.")
def unlink(client, *keys: bytes):
    # Redis frees big values on another thread; Python frees them when the last
    # reference goes, so UNLINK is DEL here.
    return _delete(client, keys)


@_generic("exists", arity=-2, flags="readonly fast", keys=[KeySpec(1, "RO", last=-1)], since="1.0.0",
          tips="request_policy:multi_shard response_policy:agg_sum",
          summary="Determine if a key exists", complexity="O(N) where N is the number of keys to check.")
def exists(client, *keys: bytes):
    lookup = client.db.lookup_read
    return sum(lookup(key, touch=False) is not None for key in keys)  # a key named twice counts twice


@_generic("touch", arity=-2, flags="readonly fast", keys=[KeySpec(1, "RO", last=-1)], since="3.2.1",
          tips="request_policy:multi_shard response_policy:agg_sum",
          summary="Alters the last access time of a key(s). Returns the number of existing keys specified.",
          complexity="O(N) where N is the number of keys that will be touched.")
def touch(client, *keys: bytes):
    lookup = client.db.lookup_read
    return sum(lookup(key) is not None for key in keys)


@_generic("type", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="1.0.0",
          summary="Determine the type stored at key")
def type_(client, key: bytes):
    value = client.db.lookup_read(key, touch=False)
    return "none" if value is None else type_name(value)


@_generic("keys", arity=2, flags="readonly", acl="keyspace dangerous", since="1.0.0",
          tips="request_policy:all_shards nondeterministic_output_order",
          summary="Find all keys matching the given pattern",
          complexity="O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.")
def keys(client, pattern: bytes):
    db = client.db
    glob = compile_glob(pattern)
    now = now_ms()
    expires = db.expires
    # KEYS skips expired keys without deleting them, as Redis does.
    return [
        key
        for key in (db.data if glob.match_all else filter(glob.match, db.data))
        if key not in expires or expires[key] > now
    ]


@_generic("scan", arity=-2, flags="readonly", since="2.8.0", tips="nondeterministic_output request_policy:special",
          summary="Incrementally iterate the keys space",
          complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.")
def scan(client, cursor: bytes, *options: bytes):
    position = scan_cursor(cursor)
    count, glob, wanted_type = 10, None, None
    i = 0
    while i < len(options):
        option = keyword(options[i])
        if i + 1 >= len(options):
            raise ReplyError(SYNTAX_ERROR)
        value = options[i + 1]
        if option == b"COUNT":
            count = integer(value)
            if count < 1:
                raise ReplyError(SYNTAX_ERROR)
        elif option == b"MATCH":
            glob = compile_glob(value)
        elif option == b"TYPE":
            wanted_type = keyword(value)
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 2
    db = client.db
    next_cursor, found = db.scan(position, count)
    # Filter as Redis does: by pattern, then by type, then expired keys out; so an
    # expired key the pattern filtered out is not deleted.
    if glob is not None and not glob.match_all:
        found = [key for key in found if glob.match(key)]
    if wanted_type is None:
        found = [key for key in found if db.lookup(key, touch=False) is not None]
    else:
        found = [key for key in found if _scan_type(db, key) == wanted_type]
    return [b"%d" % next_cursor, found]


def _scan_type(db, key: bytes) -> bytes:
    """The type name SCAN TYPE compares, upper-cased, found with a counted lookup as in
    Redis. That lookup deletes an expired key, which then reads as "none": SCAN 0 TYPE
    none lists expired keys, as Redis does."""
    value = db.lookup_read(key, touch=False)
    return b"NONE" if value is None else type_name(value).upper().encode()


@_generic("randomkey", arity=1, flags="readonly", since="1.0.0",
          tips="request_policy:all_shards nondeterministic_output",
          summary="Return a random key from the keyspace")
def randomkey(client):
    return client.db.random_key()


# --------------------------------------------------------------------------- rename, copy, move


def _rename(client, source: bytes, destination: bytes, only_if_new: bool):
    db = client.db
    value = db.lookup(source)
    if value is None:
        raise ReplyError("ERR no such key")
    if source == destination:
        return 0 if only_if_new else "OK"
    if db.exists(destination):
        if only_if_new:
            return 0
        # Deleted first, as in Redis, so the destination is announced as "new" even
        # when it replaces a key.
        db.delete(destination)
    deadline = db.deadline(source)
    db.delete(source)
    db.set(destination, value, deadline=deadline)
    db.notify(events.GENERIC, "rename_from", source)
    db.notify(events.GENERIC, "rename_to", destination)
    return 1 if only_if_new else "OK"


@_generic("rename", arity=3, flags="write", keys=[KeySpec(1, "RW access delete"), KeySpec(2, "OW update")],
          since="1.0.0", summary="Rename a key")
def rename(client, source: bytes, destination: bytes):
    return _rename(client, source, destination, only_if_new=False)


@_generic("renamenx", arity=3, flags="write fast", keys=[KeySpec(1, "RW access delete"), KeySpec(2, "OW insert")],
          since="1.0.0", summary="Rename a key, only if the new key does not exist")
def renamenx(client, source: bytes, destination: bytes):
    return _rename(client, source, destination, only_if_new=True)


def _database(client, arg: bytes):
    number = int32(arg)
    databases = client.server.keyspace.databases
    if not 0 <= number < len(databases):
        raise ReplyError("ERR DB index is out of range")
    return databases[number]


@_generic("copy", arity=-3, flags="write denyoom", keys=[KeySpec(1, "RO access"), KeySpec(2, "OW update")],
          since="6.2.0", summary="Copy a key",
          complexity="O(N) worst case for collections, where N is the number of nested items. O(1) for string values.")
def copy(client, source: bytes, destination: bytes, *options: bytes):
    target = client.db
    replace = False
    i = 0
    while i < len(options):
        option = keyword(options[i])
        if option == b"REPLACE":
            replace = True
        elif option == b"DB" and i + 1 < len(options):
            target = _database(client, options[i + 1])
            i += 1
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    db = client.db
    if client.server.cluster is not None and target.index != 0:
        raise ReplyError("ERR Copying to another database is not allowed in cluster mode")
    if target is db and source == destination:
        raise ReplyError(SAME_OBJECT)
    value = db.lookup_read(source)
    if value is None:
        return 0
    if target.exists(destination):
        if not replace:
            return 0
        target.delete(destination)
    target.set(destination, copy_value(value), deadline=db.deadline(source))
    target.notify(events.GENERIC, "copy_to", destination)
    return 1


@_generic("move", arity=3, flags="write fast", keys=[KeySpec(1, "RW access update")], since="1.0.0",
          summary="Move a key to another database")
def move(client, key: bytes, index: bytes):
    if client.server.cluster is not None:
        raise ReplyError("ERR MOVE is not allowed in cluster mode")  # there is only database 0
    target = _database(client, index)
    db = client.db
    if target is db:
        raise ReplyError(SAME_OBJECT)
    value = db.lookup(key)
    if value is None or target.exists(key):
        return 0
    deadline = db.deadline(key)
    db.delete(key)
    target.set(key, value, deadline=deadline)
    db.notify(events.GENERIC, "move_from", key)
    target.notify(events.GENERIC, "move_to", key)
    return 1


# --------------------------------------------------------------------------- DUMP, RESTORE


@_generic("dump", arity=2, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.6.0",
          tips="nondeterministic_output",
          summary="Return a serialized version of the value stored at the specified key.",
          complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is the number of "
                     "Redis objects composing the value and M their average size. For small string values the "
                     "time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).")
def dump(client, key: bytes):
    """The value in RDB form, the RDB version and a CRC64 (app/persistence/rdb.py
    `dump_payload`): what RESTORE here or on a real Redis takes back."""
    value = client.db.lookup_read(key)
    return None if value is None else rdb.dump_payload(value, client.server.config)


@_generic("restore", arity=-4, flags="write denyoom", acl="dangerous", keys=[KeySpec(1, "OW update")],
          since="2.6.0", summary="Create a key using the provided serialized value, previously obtained using DUMP.",
          complexity="O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where "
                     "N is the number of Redis objects composing the value and M their average size. For small "
                     "string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). "
                     "However for sorted set values the complexity is O(N*M*log(N)) because inserting values into "
                     "sorted sets is O(log(N)).")
def restore(client, key: bytes, ttl_arg: bytes, payload: bytes, *options: bytes):
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checked in
    restoreCommand's order: options, the key, the TTL, then the payload."""
    return _restore(client, b"RESTORE", key, ttl_arg, payload, options)


# MIGRATE's RESTORE in a cluster: the same, and taken for a slot being imported as if
# ASKING came first (the `asking` flag). Redis lists it among the server commands.
@command("restore-asking", arity=-4, flags="write denyoom asking", acl="keyspace dangerous",
         keys=[KeySpec(1, "OW update")], group="server", since="3.0.0",
         summary="An internal command for migrating keys in a cluster",
         complexity="O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where "
                    "N is the number of Redis objects composing the value and M their average size. For small "
                    "string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). "
                    "However for sorted set values the complexity is O(N*M*log(N)) because inserting values into "
                    "sorted sets is O(log(N)).")
def restore_asking(client, key: bytes, ttl_arg: bytes, payload: bytes, *options: bytes):
    return _restore(client, b"RESTORE-ASKING", key, ttl_arg, payload, options)


def _restore(client, name: bytes, key: bytes, ttl_arg: bytes, payload: bytes, options: tuple[bytes, ...]):
    replace = absolute = False
    idle = frequency = None
    i = 0
    while i < len(options):
        option = keyword(options[i])
        more = i + 1 < len(options)
        if option == b"REPLACE":
            replace = True
        elif option == b"ABSTTL":
            absolute = True
        elif option == b"IDLETIME" and more and frequency is None:
            i += 1
            idle = integer(options[i])
            if idle < 0:
                raise ReplyError("ERR Invalid IDLETIME value, must be >= 0")
        elif option == b"FREQ" and more and idle is None:
            i += 1
            frequency = integer(options[i])
            if not 0 <= frequency <= 255:
                raise ReplyError("ERR Invalid FREQ value, must be >= 0 and <= 255")
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    db = client.db
    existed = db.lookup(key, touch=False) is not None
    if existed and not replace:
        raise ReplyError("BUSYKEY Target key name already exists.")
    ttl = integer(ttl_arg)
    if ttl < 0:
        raise ReplyError("ERR Invalid TTL value, must be >= 0")
    try:
        value = rdb.restore_payload(payload, client.server.config, _sanitizes_payload(client))
    except rdb.RDBError as error:
        raise ReplyError(f"ERR {error}") from None
    if ttl and not absolute:
        ttl += now_ms()
    # Already expired: nothing is created (but a key it replaces goes), except on a
    # replica or while loading, which take what they are given (checkAlreadyExpired).
    if ttl and ttl <= now_ms() and db.keyspace.deletes_expired and not client.server.loading:
        if existed:
            db.delete(key)
            db.notify(events.GENERIC, "del", key)
            propagate_as(client, [b"DEL", key])
        return "OK"
    db.set(key, value, deadline=ttl or None)
    if idle is not None and not db.keyspace.lfu:
        db.access[key] = db.keyspace.clock - idle  # OBJECT IDLETIME starts from it
    elif frequency is not None and db.keyspace.lfu:
        db.access[key] = lfu_minutes() << 8 | frequency  # OBJECT FREQ starts from it
    if ttl and not absolute:  # replicas and the AOF get the deadline itself
        propagate_as(client, [name, key, b"%d" % ttl, payload, *options, b"ABSTTL"])
    db.notify(events.GENERIC, "restore", key)
    return "OK"


@_generic("migrate", arity=-6, flags="write movablekeys", acl="dangerous",
          keys=[KeySpec(3, "RW access delete"), KeySpec(-2, "RW access delete incomplete", last=-1, keyword="KEYS")],
          since="2.6.0", tips="nondeterministic_output",
          summary="Atomically transfer a key from a Redis instance to another one.",
          complexity="This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the "
                     "target instance. See the pages of these commands for time complexity. Also an O(N) data "
                     "transfer between the two instances is performed.")
def migrate(client, host: bytes, port: bytes, key: bytes, db_arg: bytes, timeout_arg: bytes, *options: bytes):
    """MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pass | AUTH2 user pass] [KEYS k...]:
    each key sent as a RESTORE of its DUMP, then deleted here unless COPY (the
    connection and its cache: app/cluster/migrate.py). Replicas and the AOF get a DEL
    of the keys the target took."""
    copy = replace = False
    credentials: list[bytes] = []
    keys = [key]
    i = 0
    while i < len(options):
        option = keyword(options[i])
        more = len(options) - 1 - i
        if option in (b"COPY", b"REPLACE"):
            copy, replace = copy or option == b"COPY", replace or option == b"REPLACE"
        elif option in (b"AUTH", b"AUTH2"):
            wanted = CREDENTIAL_OPTIONS[option.lower()]
            if more < wanted:
                raise ReplyError(SYNTAX_ERROR)
            credentials = list(options[i + 1:i + 1 + wanted])
            i += wanted
        elif option == b"KEYS":
            if key:
                raise ReplyError("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
            keys = list(options[i + 1:])
            break
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    timeout_ms = integer(timeout_arg)
    target_db = integer(db_arg)
    if timeout_ms <= 0:
        timeout_ms = 1000
    db = client.db
    present = [(name, value) for name in keys if (value := db.lookup_read(name)) is not None]
    if not present:
        return "NOKEY"  # gone meanwhile (expired), most likely: not an error
    return _migrate(client, text(host), _c_atoi(text(port)), target_db, timeout_ms / 1000, present, copy, replace,
                    credentials)


def _migrate(client, host: str, port: int, target_db: int, timeout: float, present: list, copy: bool,
             replace: bool, credentials: list[bytes]):
    """The transfer itself, retried once on a fresh connection when a cached one turned
    out to be closed (unless it timed out), as Redis' migrateCommand does."""
    connections = client.server.migrate_connections
    db = client.db
    config = client.server.config
    restore = b"RESTORE-ASKING" if config["cluster-enabled"] else b"RESTORE"
    may_retry = True
    while True:
        try:
            connection = connections.get(host, port, timeout)
        except TargetIOError:
            if may_retry:
                may_retry = False
                continue
            raise ReplyError("IOERR error or timeout writing to target instance") from None
        if connection is None:
            raise ReplyError("IOERR error or timeout connecting to the client")
        select = connection.last_db != target_db
        requests = []
        if credentials:
            requests.append(encode_command([b"AUTH", *credentials]))
        if select:
            requests.append(encode_command([b"SELECT", b"%d" % target_db]))
        sent = []  # the keys still alive now: serializing may take long enough for one to expire
        now = now_ms()
        for name, value in present:
            deadline = db.expires.get(name)
            ttl = 0
            if deadline is not None:
                ttl = deadline - now
                if ttl < 0:
                    continue
                ttl = max(ttl, 1)
            sent.append(name)
            requests.append(encode_command([restore, name, b"%d" % ttl, rdb.dump_payload(value, config),
                                            *([b"REPLACE"] if replace else [])]))
        acknowledged: list[bytes] = []  # the keys the target took
        replies = 0
        error = None
        try:
            connection.send(b"".join(requests), timeout)
            # AUTH's and SELECT's replies first: an error there fails every key.
            early_error = None
            for _ in range(bool(credentials) + select):
                line = connection.read_line(timeout)
                if line.startswith(b"-") and early_error is None:
                    early_error = line
            for name in sent:
                line = connection.read_line(timeout)
                replies += 1
                failed = early_error or (line if line.startswith(b"-") else None)
                if failed is not None:
                    if error is None:
                        connection.last_db = -1  # after an error, what is selected there is not known
                        error = ReplyError("ERR Target instance replied with error: " + text(failed[1:]))
                else:
                    acknowledged.append(name)
        except TargetIOError as failure:
            connections.close(host, port)
            # A cached connection the target closed meanwhile is the usual case: try
            # once more on a new one, if nothing was read yet and it was no timeout.
            if may_retry and not failure.timed_out and not replies:
                may_retry = False
                continue
            if not copy:
                _migrated_here(client, acknowledged)
            if error is not None:
                raise error from None
            raise ReplyError(f"IOERR error or timeout {failure} to target instance") from None
        if not copy:
            _migrated_here(client, acknowledged)
        if error is not None:
            raise error
        connection.last_db = target_db
        return "OK"


def _migrated_here(client, names: list[bytes]) -> None:
    """The keys the target acknowledged leave this server, as a DEL of them for the
    replicas and the AOF."""
    db = client.db
    for name in names:
        db.delete(name)
        db.notify(events.GENERIC, "del", name)
    if names:
        propagate_as(client, [b"DEL", *names])


def _c_atoi(word: str) -> int:
    """C's atoi, as Redis reads MIGRATE's port: leading blanks, a sign, then digits up to
    the first other character; 0 if there are none."""
    match = re.match(r"\s*([+-]?\d+)", word)
    return int(match.group(1)) if match else 0


def _sanitizes_payload(client) -> bool:
    """Whether RESTORE runs the deep checks of its payload (rdbLoadObject): always with
    sanitize-dump-payload yes; with "clients" only for a normal client, not for the
    master's stream nor the AOF being replayed (is_master clients both, and the server
    is loading during the AOF), nor for a user with skip-sanitize-payload."""
    mode = client.server.config["sanitize-dump-payload"]
    if mode != "clients":
        return mode == "yes"
    trusted = client.is_master or client.server.loading or client.user.sanitize_payload == b"skip-sanitize-payload"
    return not trusted


# --------------------------------------------------------------------------- expiry

EXPIRE_OPTIONS = (b"NX", b"XX", b"GT", b"LT")


def _expire_options(options: tuple[bytes, ...]) -> set[bytes]:
    flags = set()
    for option in options:
        upper = keyword(option)
        if upper not in EXPIRE_OPTIONS:
            raise ReplyError(f"ERR Unsupported option {text(c_string(option))}")
        flags.add(upper)
    if b"NX" in flags and flags & {b"XX", b"GT", b"LT"}:
        raise ReplyError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if b"GT" in flags and b"LT" in flags:
        raise ReplyError("ERR GT and LT options at the same time are not compatible")
    return flags


def expire_generic(client, name: str, key: bytes, amount: bytes, options, unit_ms: int, relative: bool):
    """EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: one algorithm, two units, two bases."""
    flags = _expire_options(options)
    when = integer(amount)
    invalid = ReplyError(f"ERR invalid expire time in '{name}' command")
    if unit_ms == 1000:
        if when > INT64_MAX // 1000 or when < -(INT64_MAX // 1000):
            raise invalid
        when *= 1000
    base = now_ms() if relative else 0
    if when > INT64_MAX - base:
        raise invalid
    when += base
    db = client.db
    if db.lookup(key) is None:
        return 0
    if flags:
        current = db.deadline(key)
        if b"NX" in flags and current is not None:
            return 0
        if b"XX" in flags and current is None:
            return 0
        # No deadline counts as an infinite one: never smaller, always greater.
        if b"GT" in flags and (current is None or when <= current):
            return 0
        if b"LT" in flags and current is not None and when >= current:
            return 0
    kept = db.set_deadline(key, when)  # a deadline in the past deletes the key
    db.notify(events.GENERIC, "expire" if kept else "del", key)
    # Replicas get the absolute time in ms (the options as given), or the deletion; a
    # PEXPIREAT already says that, and goes as the client typed it, as in Redis.
    if not kept:
        propagate_as(client, [b"DEL", key])
    elif relative or unit_ms != 1:
        propagate_as(client, [b"PEXPIREAT", key, b"%d" % when, *options])
    return 1


_EXPIRE_KEYS = [KeySpec(1, "RW update")]


@_generic("expire", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, since="1.0.0",
          summary="Set a key's time to live in seconds")
def expire(client, key: bytes, seconds: bytes, *options: bytes):
    return expire_generic(client, "expire", key, seconds, options, 1000, relative=True)


@_generic("pexpire", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, since="2.6.0",
          summary="Set a key's time to live in milliseconds")
def pexpire(client, key: bytes, milliseconds: bytes, *options: bytes):
    return expire_generic(client, "pexpire", key, milliseconds, options, 1, relative=True)


@_generic("expireat", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, since="1.2.0",
          summary="Set the expiration for a key as a UNIX timestamp")
def expireat(client, key: bytes, timestamp: bytes, *options: bytes):
    return expire_generic(client, "expireat", key, timestamp, options, 1000, relative=False)


@_generic("pexpireat", arity=-3, flags="write fast", keys=_EXPIRE_KEYS, since="2.6.0",
          summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds")
def pexpireat(client, key: bytes, timestamp: bytes, *options: bytes):
    return expire_generic(client, "pexpireat", key, timestamp, options, 1, relative=False)


def _time_to_live(client, key: bytes, milliseconds: bool, absolute: bool) -> int:
    db = client.db
    if db.lookup_read(key, touch=False) is None:
        return -2
    deadline = db.deadline(key)
    if deadline is None:
        return -1
    ms = deadline if absolute else max(deadline - now_ms(), 0)
    return ms if milliseconds else (ms + 500) // 1000  # seconds are rounded, EXPIRETIME too


_TTL_KEYS = [KeySpec(1, "RO access")]


@_generic("ttl", arity=2, flags="readonly fast", keys=_TTL_KEYS, since="1.0.0", tips="nondeterministic_output",
          summary="Get the time to live for a key in seconds")
def ttl(client, key: bytes):
    return _time_to_live(client, key, milliseconds=False, absolute=False)


@_generic("pttl", arity=2, flags="readonly fast", keys=_TTL_KEYS, since="2.6.0", tips="nondeterministic_output",
          summary="Get the time to live for a key in milliseconds")
def pttl(client, key: bytes):
    return _time_to_live(client, key, milliseconds=True, absolute=False)


@_generic("expiretime", arity=2, flags="readonly fast", keys=_TTL_KEYS, since="7.0.0",
          summary="Get the expiration Unix timestamp for a key")
def expiretime(client, key: bytes):
    return _time_to_live(client, key, milliseconds=False, absolute=True)


@_generic("pexpiretime", arity=2, flags="readonly fast", keys=_TTL_KEYS, since="7.0.0",
          summary="Get the expiration Unix timestamp for a key in milliseconds")
def pexpiretime(client, key: bytes):
    return _time_to_live(client, key, milliseconds=True, absolute=True)


@_generic("persist", arity=2, flags="write fast", keys=_EXPIRE_KEYS, since="2.2.0",
          summary="Remove the expiration from a key")
def persist(client, key: bytes):
    db = client.db
    if db.lookup(key) is None or not db.persist(key):
        return 0
    db.notify(events.GENERIC, "persist", key)
    return 1


# --------------------------------------------------------------------------- OBJECT

container("object", group="generic", since="2.2.3", summary="A container for object introspection commands")

SHARED_REFCOUNT = 2**31 - 1  # what Redis reports for its shared small integers
LFU_POLICIES = ("allkeys-lfu", "volatile-lfu")


def _object(name: str, **kwargs):
    return command(name, parent="object", group="generic", acl="keyspace", **kwargs)


def _inspect(client, key: bytes):
    # A miss is counted but not announced as "keymiss", as in Redis.
    return client.db.lookup_read(key, touch=False, notify=False)


def string_encoding(value) -> bytes:
    """OBJECT ENCODING of a string: int, embstr (44 bytes or less) or raw."""
    if isinstance(value, bytearray):
        return b"raw"  # changed in place by APPEND or SETRANGE
    if value.__class__ is not UnencodedString and len(value) <= 20 and parse_int(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"


_OBJECT_KEYS = [KeySpec(2, "RO")]


@_object("encoding", arity=3, flags="readonly", keys=_OBJECT_KEYS, since="2.2.3", tips="nondeterministic_output",
         summary="Inspect the internal encoding of a Redis object")
def object_encoding(client, key: bytes):
    value = _inspect(client, key)
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return string_encoding(value)
    return value.encoding().encode()


@_object("refcount", arity=3, flags="readonly", keys=_OBJECT_KEYS, since="2.2.3", tips="nondeterministic_output",
         summary="Get the number of references to the value of the key")
def object_refcount(client, key: bytes):
    value = _inspect(client, key)
    if value is None:
        return None
    small_int = isinstance(value, bytes) and string_encoding(value) == b"int" and 0 <= int(value) < 10000
    return SHARED_REFCOUNT if small_int and shares_integers(client.server.config) else 1


def shares_integers(config) -> bool:
    """Whether Redis stores 0..9999 as shared objects: not with a memory limit and an LRU
    or LFU policy, where every value needs an access time of its own. Redis decides when
    it stores the value; this asks the configuration now, which differs only if it has
    changed since."""
    return not config["maxmemory"] or not config["maxmemory-policy"].endswith(("lru", "lfu"))


@_object("idletime", arity=3, flags="readonly", keys=_OBJECT_KEYS, since="2.2.3", tips="nondeterministic_output",
         summary="Get the time since a Redis object was last accessed")
def object_idletime(client, key: bytes):
    value = _inspect(client, key)
    if value is None:
        return None
    if client.server.config["maxmemory-policy"] in LFU_POLICIES:
        raise ReplyError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
            "switching between policies at runtime LRU and LFU data will take some time to adjust."
        )
    db = client.db
    return max(db.keyspace.clock - db.access.get(key, db.keyspace.clock), 0)


@_object("freq", arity=3, flags="readonly", keys=_OBJECT_KEYS, since="4.0.0", tips="nondeterministic_output",
         summary="Get the logarithmic access frequency counter of a Redis object")
def object_freq(client, key: bytes):
    value = _inspect(client, key)
    if value is None:
        return None
    if client.server.config["maxmemory-policy"] not in LFU_POLICIES:
        raise ReplyError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
            "when switching between policies at runtime LRU and LFU data will take some time to adjust."
        )
    db = client.db
    return lfu_counter(db.access[key], db.keyspace.lfu_decay_time)


@_object("help", arity=2, flags="loading stale", since="6.2.0",
         summary="Show helpful text about the different subcommands")
def object_help(client):
    return [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ]


# --------------------------------------------------------------------------- SORT, SORT_RO
#
# As Redis 7.0's sort.c. Elements are sorted by their own value or by the value of other
# keys (BY pattern, "*" replaced by the element, "->field" for a hash field); BY without
# a "*" keeps the container's order ("nosort"), where a list or sorted set honours DESC
# and LIMIT in that order. GET patterns fetch other keys' values for each element.

_SORT_COMPLEXITY = (
    "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned "
    "elements. When the elements are not sorted, complexity is O(N)."
)
_SORT_BY_GET_NOTES = (
    "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of "
    "the key we sort"
)
_SORT_STORE_NOTES = (
    "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the "
    "argument array"
)
_SORT_RO_KEYS = [KeySpec(1, "RO access"), KeySpec(0, "RO access", notes=_SORT_BY_GET_NOTES, unknown=True)]
_SORT_KEYS = _SORT_RO_KEYS + [KeySpec(0, "OW update", notes=_SORT_STORE_NOTES, unknown=True)]
_PLAIN_SCORE = re.compile(rb"-?[0-9]{1,300}(?:\.[0-9]{1,300})?")  # read by float() as by strtod
_DBL_MIN = 2.2250738585072014e-308
_SCORE_ERROR = "ERR One or more scores can't be converted into double"


def _by_pattern(db, pattern: bytes, element: bytes) -> bytes | None:
    """Redis' lookupKeyByPattern: "#" is the element itself; otherwise the first "*" (of
    the pattern as a C string) becomes the element, and a "->field" after it names a hash
    field. None when there is no "*", no such key, or a key of the wrong type."""
    c_pattern = c_string(pattern)
    if c_pattern == b"#":
        return element
    star = c_pattern.find(b"*")
    if star < 0:
        return None
    arrow = c_pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(c_pattern):
        field = pattern[arrow + 2 :]  # the field runs to the end of the whole argument
        name = pattern[:star] + element + pattern[star + 1 : arrow]
    else:
        name = pattern[:star] + element + pattern[star + 1 :]
    value = db.lookup_read(name)
    if value is None:
        return None
    if field is not None:
        if not isinstance(value, HashValue):
            return None
        return value.fields.get(field)
    if not isinstance(value, (bytes, bytearray)):
        return None
    return bytes(value)


def _sort_score(value: bytes) -> float | None:
    """The weight of a numeric sort as sort.c reads it: strtod, up to the end of the
    string (or a NUL); None for anything else, NaN, or a value out of range."""
    if _PLAIN_SCORE.fullmatch(value):
        return float(value)
    score, consumed, erange = strtod(value)
    if (consumed < len(value) and value[consumed] != 0) or erange or score != score:
        return None
    if 0.0 < abs(score) < _DBL_MIN and _inexact(value[:consumed], score):
        return None  # glibc's strtod sets ERANGE for a rounded subnormal result too
    return score


def _inexact(text: bytes, score: float) -> bool:
    """Whether the number ``text`` (as strtod read it) is not exactly ``score``."""
    text = text.strip(b" \t\n\v\f\r").lstrip(b"+-").lower()
    try:
        if text.startswith(b"0x"):
            mantissa, _, exponent = text[2:].partition(b"p")
            whole, _, fraction = mantissa.partition(b".")
            exact = Fraction(int((whole + fraction) or b"0", 16), 16 ** len(fraction)) * Fraction(2) ** int(exponent or b"0")
        else:
            exact = Fraction(text.decode())
    except (ValueError, ZeroDivisionError):
        return False
    return exact != Fraction(abs(score))


def _sort(client, key: bytes, args: tuple[bytes, ...], readonly: bool):
    db = client.db
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby = store = None
    gets: list[bytes] = []
    j = 0
    while j < len(args):
        word = keyword(args[j])
        left = len(args) - j - 1
        if word == b"ASC":
            desc = False
        elif word == b"DESC":
            desc = True
        elif word == b"ALPHA":
            alpha = True
        elif word == b"LIMIT" and left >= 2:
            limit_start, limit_count = integer(args[j + 1]), integer(args[j + 2])
            j += 2
        elif not readonly and word == b"STORE" and left >= 1:
            store = args[j + 1]
            j += 1
        elif word == b"BY" and left >= 1:
            sortby = args[j + 1]
            if b"*" not in c_string(sortby):
                dontsort = True  # and it stays so, whatever BY follows
            j += 1
        elif word == b"GET" and left >= 1:
            gets.append(args[j + 1])
            j += 1
        else:
            raise ReplyError(SYNTAX_ERROR)
        j += 1

    value = db.lookup_read(key)
    if value is None:
        value = ListValue()
    elif not isinstance(value, (ListValue, SetValue, SortedSet)):
        raise wrong_type()

    if dontsort and isinstance(value, SetValue) and store is not None:
        # A set's own order is its hash table's: a stored result is sorted instead.
        dontsort, alpha, sortby = False, True, None
    if isinstance(value, SortedSet):
        value.packed = False  # Redis converts a sorted set to a skip list to sort it

    length = len(value)
    start = max(limit_start, 0)
    end = length - 1 if limit_count < 0 else start + limit_count - 1
    if start >= length:
        start, end = length - 1, length - 2
    if end >= length:
        end = length - 1

    if dontsort and isinstance(value, ListValue):
        if end >= start:
            if desc:
                chosen = value.range(length - 1 - end, length - start)[::-1]
            else:
                chosen = value.range(start, end + 1)
        else:
            chosen = []
    elif dontsort and isinstance(value, SortedSet):
        chosen = [node.member for node in value.by_rank(start, end, desc)] if end >= start else []
    else:
        if isinstance(value, ListValue):
            elements = list(value)
        elif isinstance(value, SetValue):
            elements = value.ordered()
        else:
            elements = list(value.scores)
        if not dontsort:
            elements = _sorted_elements(db, elements, sortby, alpha, desc, store is not None)
        chosen = elements[start : end + 1] if end >= start else []

    if store is None:
        if not gets:
            return chosen
        return [_by_pattern(db, pattern, element) for element in chosen for pattern in gets]
    if gets:
        stored = [_by_pattern(db, pattern, element) or b"" for element in chosen for pattern in gets]
    else:
        stored = chosen
    if stored:
        db.set(store, ListValue(stored))
        db.notify(events.LIST, "sortstore", store)
    elif db.delete(store):
        db.notify(events.GENERIC, "del", store)
    return len(stored)


def _sorted_elements(db, elements: list[bytes], sortby: bytes | None, alpha: bool, desc: bool,
                     binary: bool) -> list[bytes]:
    """sortCompare's order. Numeric: by weight, equal weights by the elements' bytes (a
    missing BY key weighs 0). ALPHA: by the elements, or by the BY values (missing ones
    first, equal ones in no defined order); compared byte-wise as strcoll does in the C
    locale (up to a NUL), or by all the bytes when storing."""
    if alpha:
        if sortby is None:
            key = (lambda element: element) if binary else c_string
            return sorted(elements, key=key, reverse=desc)
        weights = []
        for element in elements:
            weight = _by_pattern(db, sortby, element)
            weights.append((0, b"") if weight is None else (1, weight if binary else c_string(weight)))
        order = sorted(range(len(elements)), key=weights.__getitem__, reverse=desc)
        return [elements[i] for i in order]
    keyed = []
    failed = False
    for element in elements:
        weight = element if sortby is None else _by_pattern(db, sortby, element)
        score = 0.0
        if weight is not None:
            score = _sort_score(weight)
            if score is None:
                failed, score = True, 0.0
        keyed.append((score, element))
    if failed:
        raise ReplyError(_SCORE_ERROR)
    keyed.sort(reverse=desc)
    return [element for _score, element in keyed]


@command("sort", arity=-2, flags="write denyoom movablekeys", acl="set sortedset list dangerous", group="generic",
         keys=_SORT_KEYS, since="1.0.0", summary="Sort the elements in a list, set or sorted set",
         complexity=_SORT_COMPLEXITY)
def sort(client, key: bytes, *args: bytes):
    return _sort(client, key, args, readonly=False)


@command("sort_ro", arity=-2, flags="readonly movablekeys", acl="set sortedset list dangerous", group="generic",
         keys=_SORT_RO_KEYS, since="7.0.0",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
         complexity=_SORT_COMPLEXITY)
def sort_ro(client, key: bytes, *args: bytes):
    return _sort(client, key, args, readonly=True)
