"""Which arguments of a command are keys, read from its key specs.

Every command declares where its keys are (`KeySpec` in app/commands/registry.py), as
Redis 7 does: a start (an index, or a keyword to search for) and a way to find the rest
(a range, or a count given in the arguments). `keys_of` walks those specs over an actual
command, as Redis' getKeysUsingKeySpecs does, and returns each key with the spec's
flags, which say what the command does to it: ACL checks read access against ``access``
and write access against ``insert``, ``delete`` and ``update``.
"""

from __future__ import annotations

from app.cluster.migrate import CREDENTIAL_OPTIONS
from app.commands.registry import Command, KeySpec


def _begin(spec: KeySpec, argv: list[bytes]) -> int | None:
    """Where the spec's keys start in ``argv``, or None when there are none here."""
    if not spec.keyword:
        return spec.index if spec.index < len(argv) else None
    word = spec.keyword.encode().lower()
    for position in range(spec.index, len(argv)):
        if argv[position].lower() == word:
            return position + 1
    return None


def _positions(spec: KeySpec, argv: list[bytes]) -> range:
    """The argument positions of the spec's keys."""
    start = _begin(spec, argv)
    if start is None or spec.unknown:
        return range(0)
    if spec.keynum:
        try:
            count = int(argv[start])
        except ValueError:
            return range(0)
        first = start + 1
        return range(first, min(first + count * spec.step, len(argv)), spec.step)
    if spec.keyword and spec.limit:
        # The keys are the first 1/limit of what follows (XREAD ... STREAMS k1 k2 id1 id2).
        count = (len(argv) - start) // spec.limit
        return range(start, start + count)
    last = spec.last
    if last >= 0:
        end = start + last
    else:
        end = len(argv) + last  # -1: the last argument, -2: the one before...
    return range(start, min(end, len(argv) - 1) + 1, spec.step)


def _actual_flags(entry: Command, spec: KeySpec, argv: list[bytes]) -> str:
    """A spec flagged ``variable_flags`` does less than it says unless some option is
    given: SET reads its key only with GET, BITFIELD writes only with SET or INCRBY (as
    Redis' setGetKeys and bitfieldGetKeys say)."""
    words = {arg.upper() for arg in argv[2:]}
    if entry.name == "set":
        return "RW access update" if b"GET" in words else "OW update"
    if entry.name == "bitfield":
        return "RW access update" if words & {b"SET", b"INCRBY"} else "RO access"
    return spec.flags


def _sort_store(argv: list[bytes]) -> list[tuple[bytes, str]]:
    """SORT's STORE destination, which no spec can locate (Redis: sortGetKeys): the
    options are walked, LIMIT taking two arguments, BY and GET one, the last STORE
    winning."""
    store = None
    position = 2
    while position < len(argv):
        word = argv[position].upper()
        if word == b"LIMIT":
            position += 2
        elif word in (b"BY", b"GET"):
            position += 1
        elif word == b"STORE" and position + 1 < len(argv):
            position += 1
            store = argv[position]
        position += 1
    return [] if store is None else [(store, "OW update")]


def _migrate_keys(argv: list[bytes]) -> list[tuple[bytes, str]]:
    """MIGRATE's keys. Its second spec looks for KEYS backwards from the next-to-last
    argument; not found, the first spec gives the key argument. Found, that spec is
    incomplete, and Redis asks migrateGetKeys instead: everything after the KEYS option,
    the options' own arguments skipped (AUTH's password, AUTH2's user and password);
    none when KEYS follows a key that is not the empty string."""
    if not any(arg.lower() == b"keys" for arg in argv[1:-1]):
        return [(argv[3], "RW access delete")]
    position = 6
    while position < len(argv):
        word = argv[position].lower()
        if word == b"keys":
            return [] if argv[3] else [(key, "RW access delete") for key in argv[position + 1:]]
        position += 1 + CREDENTIAL_OPTIONS.get(word, 0)
    return [(argv[3], "RW access delete")]


def keys_of(entry: Command, argv: list[bytes]) -> list[tuple[bytes, str]]:
    """(key, spec flags) for every key ``argv`` names, in spec order."""
    if entry.name == "migrate":
        return _migrate_keys(argv)
    found = []
    for spec in entry.key_specs:
        flags = _actual_flags(entry, spec, argv) if "variable_flags" in spec.flags else spec.flags
        for position in _positions(spec, argv):
            found.append((argv[position], flags))
    if entry.name == "sort":
        found += _sort_store(argv)
    return found
