"""Keyspace notifications: which events exist, and the ``notify-keyspace-events`` letters.

A command that changes a key announces it with ``db.notify(LIST, "lpush", key)``
(Redis: ``notifyKeyspaceEvent``), right where the change happens, because only the
command knows the event's name. When the class of the event is enabled, it is
published on two channels, as Redis does:

    __keyspace@<db>__:<key>    message: the event name ("lpush")    (letter K)
    __keyevent@<db>__:<event>  message: the key name                (letter E)

The classes are bits, so that "is this enabled?" is one ``&`` when notifications are
off, which they are by default: a write then pays one integer test.
"""

from __future__ import annotations

# The bits Redis uses (NOTIFY_* in server.h), one per letter of notify-keyspace-events.
KEYSPACE = 1 << 0  # K: publish on __keyspace@<db>__:<key>
KEYEVENT = 1 << 1  # E: publish on __keyevent@<db>__:<event>
GENERIC = 1 << 2  # g: DEL, EXPIRE, RENAME... (commands of any type)
STRING = 1 << 3  # $
LIST = 1 << 4  # l
SET = 1 << 5  # s
HASH = 1 << 6  # h
ZSET = 1 << 7  # z
EXPIRED = 1 << 8  # x: a key deleted because its deadline passed
EVICTED = 1 << 9  # e: a key evicted by maxmemory
STREAM = 1 << 10  # t
KEY_MISS = 1 << 11  # m: a read found no key (not part of A)
MODULE = 1 << 13  # d
NEW = 1 << 14  # n: a key was created (not part of A)
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE  # A

_LETTERS = {
    "A": ALL, "g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET,
    "x": EXPIRED, "e": EVICTED, "K": KEYSPACE, "E": KEYEVENT, "t": STREAM, "m": KEY_MISS,
    "d": MODULE, "n": NEW,
}  # fmt: skip

INVALID = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."


def parse_flags(text: str) -> int:
    """The bits for a ``notify-keyspace-events`` value; ValueError for an unknown letter."""
    flags = 0
    for letter in text:
        if letter not in _LETTERS:
            raise ValueError(INVALID)
        flags |= _LETTERS[letter]
    return flags


def format_flags(flags: int) -> str:
    """The value as CONFIG GET shows it: "A" stands for all of its classes (and then, as
    in Redis 7.0, an "n" is not shown), then K, E and m."""
    if flags & ALL == ALL:
        text = "A"
    else:
        text = "".join(letter for letter in "g$lshzxetdn" if flags & _LETTERS[letter])
    return text + "".join(letter for letter in "KEm" if flags & _LETTERS[letter])
