"""COMMAND GETKEYS and GETKEYSANDFLAGS, from the key specs, compared with a real Redis."""

from __future__ import annotations

from tests.differential import compare

SCRIPT = """
    COMMAND GETKEYS get k
    COMMAND GETKEYS set k v get
    COMMAND GETKEYSANDFLAGS set k v get
    COMMAND GETKEYSANDFLAGS set k v
    COMMAND GETKEYS mset a 1 b 2
    COMMAND GETKEYSANDFLAGS mset a 1 b 2
    COMMAND GETKEYSANDFLAGS lmpop 2 a b left
    COMMAND GETKEYSANDFLAGS blpop a b 0
    COMMAND GETKEYSANDFLAGS xread count 2 streams s1 s2 0 0
    COMMAND GETKEYSANDFLAGS sort k by x store d
    COMMAND GETKEYSANDFLAGS sort k limit 0 1 get store store d2
    COMMAND GETKEYSANDFLAGS georadius k 1 2 3 m store d
    COMMAND GETKEYSANDFLAGS zunionstore d 2 a b weights 1 2
    COMMAND GETKEYSANDFLAGS object encoding k
    COMMAND GETKEYSANDFLAGS xinfo stream s
    COMMAND GETKEYSANDFLAGS bitfield k get u8 0
    COMMAND GETKEYSANDFLAGS bitfield k set u8 0 1
    COMMAND GETKEYSANDFLAGS rename a b
    COMMAND GETKEYSANDFLAGS migrate h 1 k 0 1000
    COMMAND GETKEYSANDFLAGS migrate h 1 "" 0 1000 keys a b
    COMMAND GETKEYSANDFLAGS migrate h 1 "" 0 1000 copy auth keys keys a
    COMMAND GETKEYSANDFLAGS migrate h 1 "" 0 1000 auth2 u keys keys a
    COMMAND GETKEYSANDFLAGS migrate h 1 "" 0 1000 replace keys
    COMMAND GETKEYS migrate h 1 k 0 1000 keys a
    COMMAND GETKEYS migrate h 1 "" 0 1000
    COMMAND GETKEYS ping x
    COMMAND GETKEYS client list
    COMMAND GETKEYS set k
    COMMAND GETKEYS nosuch x
    COMMAND GETKEYS get
"""


def test_getkeys_match_redis(server, reference):
    compare(server.port, reference.port, SCRIPT)
