"""Stream commands compared byte for byte with a real Redis, in RESP2 and RESP3.

Every command with its error paths, in the order Redis checks them. IDs are explicit so
that replies are the same on both servers; a line with ``*`` (the time now) or an idle
time compares only the reply's type (``~``). Approximate trimming (``~``) is compared
exactly: the store cuts its nodes where Redis cuts its listpacks, which small
``stream-node-max-entries`` and ``stream-node-max-bytes`` make visible (the scripts set
them back: both servers are shared). Blocking reads run here only where they do not
wait, or with timeouts of 10 ms; tests/test_streams_blocking.py has clients that wait.
Keyspace notifications, keyspace hits and misses and WATCH are compared too.
"""

from __future__ import annotations

import os
import random
import re

import pytest

from app.protocol import split_inline
from tests.differential import compare, compare_notifications
from tests.helpers import RawConnection

SCRIPTS = {
    "xadd_explicit_ids": """
        XADD s 1-1 field value
        XADD s 1-2 a 1 b 2
        XADD s 1-2 a 1
        XADD s 1-1 a 1
        XADD s 0-5 a 1
        XADD s 2 a 1
        XADD s 2 a 1
        XADD s 3-0 a 1
        XADD s 18446744073709551615-18446744073709551614 a 1
        XADD s 18446744073709551615-18446744073709551615 a 1
        XADD s 18446744073709551615-18446744073709551615 a 1
        ~ XADD s * a 1
        XADD s 5-* a 1
        XLEN s
        XRANGE s - +
        XADD t 0-0 a 1
        XADD t 0 a 1
        XADD t 0-* a 1
        XADD t 0-* a 1
        XADD t 1-* a 1
        XADD t 1-* a 1
        XADD t 1-5 a 1
        XADD t 1-* a 1
        XADD t 0-* a 1
        XADD t 1-18446744073709551615 a 1
        XADD t 1-* a 1
        XRANGE t - +
        EXISTS u
        XADD u 0-0 a 1
        EXISTS u
    """,
    "xadd_id_syntax": f"""
        XADD s 1-1-1 a 1
        XADD s abc a 1
        XADD s -1 a 1
        XADD s 1- a 1
        XADD s -1-1 a 1
        XADD s 1-a a 1
        XADD s 18446744073709551616-0 a 1
        XADD s 1-18446744073709551616 a 1
        XADD s - a 1
        XADD s + a 1
        XADD s "" a 1
        XADD s *-1 a 1
        XADD s 1-** a 1
        XADD s " 1-1" a 1
        XADD s "+2-1" a 1
        XADD s 03-01 a 1
        XADD s "4-+5" a 1
        XADD s "5-\\x001" a 1
        XADD s 7--01 a 1
        XADD s 7-* a 1
        XRANGE s - +
        XADD s {"0" * 124}8-1 a 1
        XADD s {"0" * 125}9-1 a 1
    """,
    "xadd_arguments": """
        XADD s 1-1 a
        XADD s 1-1 a 1 b
        XADD s 1-1
        XADD s
        XADD s NOMKSTREAM
        XADD s NOMKSTREAM 1-1
        XADD s NOMKSTREAM 1-1 a 1
        EXISTS s
        XADD s nomkstream * a 1
        XADD s 1-1 "" ""
        XADD s NOMKSTREAM 1-2 f v
        XADD s MAXLEN 1-3 f v
        XADD s MAXLEN
        XADD s MAXLEN 5
        XADD s MAXLEN 5 NOMKSTREAM
        XADD s MAXLEN -1 1-4 f v
        XADD s MAXLEN x 1-4 f v
        XADD s MAXLEN ~ 1-4 f v
        XADD s MAXLEN = x 1-4 f v
        XADD s MAXLEN 1 MINID 5 1-4 f v
        XADD s MINID 5 MAXLEN 1 1-4 f v
        XADD s MAXLEN 1 MAXLEN 2 1-4 f v
        XADD s MINID - 1-4 f v
        XADD s MINID x 1-4 f v
        XADD s LIMIT 5 1-4 f v
        XADD s LIMIT 0 1-4 f v
        XADD s MAXLEN 5 LIMIT 5 1-4 f v
        XADD s MAXLEN = 5 LIMIT 5 1-4 f v
        XADD s MAXLEN ~ 5 LIMIT -1 1-4 f v
        XADD s MAXLEN ~ 5 LIMIT x 1-4 f v
        XADD s FOO 1-4 f v
        XLEN s
        XRANGE s - +
        SET str x
        XADD str 1-1 a 1
        XADD str NOMKSTREAM 1-1 a 1
        XADD str 0-0 a 1
        XADD str MAXLEN -1 1-1 a 1
    """,
    "xadd_trimming": """
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XADD s 3-1 a 3
        XADD s MAXLEN 2 4-1 a 4
        XRANGE s - +
        XADD s MAXLEN = 1 5-1 a 5
        XRANGE s - +
        XADD s MAXLEN 0 6-1 a 6
        XLEN s
        EXISTS s
        XADD s maxlen ~ 0 7-1 a 7
        XADD s 8-1 a 8
        XADD s MINID 8 9-1 a 9
        XRANGE s - +
        XADD s MINID = 9-1 10-1 a 10
        XRANGE s - +
        XADD s MINID 100 11-1 a 11
        XINFO STREAM s
    """,
    "approximate_trimming": """
        CONFIG SET stream-node-max-entries 3
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XADD s 3-1 a 3
        XADD s 4-1 a 4
        XADD s 5-1 a 5
        XADD s 6-1 a 6
        XADD s 7-1 a 7
        XADD s MAXLEN ~ 5 8-1 a 8
        XRANGE s - +
        XTRIM s MAXLEN ~ 3
        XRANGE s - +
        XTRIM s MAXLEN ~ 2
        XRANGE s - +
        XTRIM s MAXLEN ~ 0 LIMIT 1
        XTRIM s MAXLEN ~ 0 LIMIT 3
        XLEN s
        XADD s 9-1 a 9
        XADD s 10-1 a 10
        XADD s 11-1 a 11
        XADD s 12-1 a 12
        XTRIM s MINID ~ 12
        XRANGE s - +
        XTRIM s MINID ~ 13 LIMIT 0
        XINFO STREAM s
        CONFIG SET stream-node-max-entries 100
    """,
    "node_boundaries": """
        CONFIG SET stream-node-max-bytes 60
        XADD s 1-1 field 0123456789
        XADD s 1-2 field 0123456789
        XADD s 1-3 field 0123456789
        XADD s 1-4 other 0123456789
        XADD s 2-1 field 12345678901234567890
        XADD s 3-1 a 1 b 2 c 3
        XADD s 4-1 a 1 b 2 c 3
        XADD s 4-2 a 1 b 2 c 3
        XINFO STREAM s
        XDEL s 1-2
        XTRIM s MAXLEN ~ 2
        XINFO STREAM s
        XTRIM s MAXLEN ~ 1
        XRANGE s - +
        CONFIG SET stream-node-max-bytes 4096
    """,
    "xtrim": """
        XTRIM nokey MAXLEN 0
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XADD s 3-1 a 3
        XADD s 4-1 a 4
        XTRIM s MAXLEN 3
        XTRIM s MAXLEN 3
        XTRIM s maxlen = 2
        XTRIM s MINID 4
        XRANGE s - +
        XTRIM s MINID 5
        XLEN s
        EXISTS s
        XTRIM s
        XTRIM s FOO
        XTRIM s MAXLEN
        XTRIM s MAXLEN x
        XTRIM s MAXLEN -1
        XTRIM s MAXLEN 1 MINID 1
        XTRIM s LIMIT 10
        XTRIM s LIMIT 0 MAXLEN 1
        XTRIM s MAXLEN 1 LIMIT 10
        XTRIM s MAXLEN ~ 1 LIMIT -1
        XTRIM s MAXLEN 1 NOMKSTREAM
        XTRIM s MINID +
        XTRIM s MINID ~ -
        XTRIM s MINID (1
        XTRIM nokey FOO
        SET str x
        XTRIM str MAXLEN 1
        XTRIM str FOO
    """,
    "xrange": """
        XADD s 1-1 a 1
        XADD s 1-2 b 2
        XADD s 2-0 c 3
        XADD s 2-5 d 4 e 5
        XADD s 3-0 f 6
        XRANGE s - +
        XRANGE s 1 1
        XRANGE s 1-2 2-0
        XRANGE s 2 +
        XRANGE s - 2
        XRANGE s (1-1 +
        XRANGE s - (3-0
        XRANGE s (1-2 (2-5
        XRANGE s (1 (3
        XRANGE s 3 1
        XRANGE s 4 +
        XRANGE s - + COUNT 2
        XRANGE s - + count 0
        XRANGE s - + COUNT -1
        XRANGE s - + COUNT 1 COUNT 3
        XRANGE s - + COUNT
        XRANGE s - + COUNT x
        XRANGE s - + FOO
        XRANGE s - + COUNT 2 FOO
        XRANGE s x +
        XRANGE s - x
        XRANGE s (- +
        XRANGE s - (+
        XRANGE s ( +
        XRANGE s - (
        XRANGE s (18446744073709551615-18446744073709551615 +
        XRANGE s - (0-0
        XRANGE s (18446744073709551615 +
        XRANGE s 0-0 18446744073709551615
        XRANGE nokey - +
        XRANGE nokey - + COUNT 0
        XRANGE nokey x +
        XREVRANGE s + -
        XREVRANGE s + - COUNT 2
        XREVRANGE s 2 1
        XREVRANGE s (2-5 (1-1
        XREVRANGE s - +
        XREVRANGE s + - COUNT 0
        XREVRANGE s (0-0 -
        XREVRANGE nokey + -
        SET str x
        XRANGE str - +
        XRANGE str x +
        XRANGE str - + COUNT 0
        XREVRANGE str + -
        XRANGE s
        XREVRANGE s +
    """,
    "ranges_across_nodes": """
        CONFIG SET stream-node-max-entries 2
        XADD s 1-1 a 1
        XADD s 1-2 a 2
        XADD s 1-3 a 3
        XADD s 2-1 a 4
        XADD s 2-2 a 5
        XADD s 3-1 a 6
        XADD s 3-2 a 7
        XDEL s 1-3 2-2
        XRANGE s - +
        XRANGE s 1-2 3-1
        XRANGE s 1-3 2-2
        XREVRANGE s + -
        XREVRANGE s 3-1 1-2
        XREVRANGE s 2-2 1-3
        XREVRANGE s + - COUNT 3
        XRANGE s 2 2
        XINFO STREAM s FULL
        CONFIG SET stream-node-max-entries 100
    """,
    "xdel_and_xlen": """
        XLEN nokey
        XDEL nokey 1-1
        XDEL nokey x
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XADD s 3-1 a 3
        XDEL s 2-1
        XDEL s 2-1 9-9
        XDEL s 1-1 x
        XDEL s -
        XDEL s 1
        XLEN s
        XRANGE s - +
        XDEL s 3-1
        XLEN s
        EXISTS s
        TYPE s
        XINFO STREAM s
        XADD s 3-1 a 3
        XADD s 4-1 a 4
        XRANGE s - +
        SET str x
        XDEL str 1-1
        XDEL str x
        XLEN str
        XLEN s s
        XDEL s
    """,
    "xsetid": """
        XSETID nokey 1-1
        XSETID nokey x
        XADD s 5-1 a 1
        XSETID s 4-1
        XSETID s 5-1
        XSETID s 10-1
        XADD s 9-1 a 1
        XADD s 15-1 a 1
        XSETID s 20-1 ENTRIESADDED 5 MAXDELETEDID 3-0
        XINFO STREAM s
        XSETID s 30-1 ENTRIESADDED 1
        XSETID s 30-1 ENTRIESADDED -1
        XSETID s 30-1 ENTRIESADDED x
        XSETID s 30-1 MAXDELETEDID 40-0
        XSETID s 30-1 MAXDELETEDID x
        XSETID s 30-1 MAXDELETEDID -
        XSETID s 2-0
        XSETID s 30-1 FOO
        XSETID s 30-1 ENTRIESADDED
        XSETID s -
        XSETID s +
        XSETID s 30
        XINFO STREAM s
        XDEL s 5-1
        XDEL s 20-1
        XSETID s 19-0
        XSETID s 25-0 MAXDELETEDID 22-0
        XSETID s 21-0
        XINFO STREAM s
        XADD s 21-0 a 1
        XADD s 25-1 a 1
        SET str x
        XSETID str 1-1
        XSETID str x
        XSETID str 1-1 FOO
        XSETID s
    """,
    "xread": """
        XADD a 1-1 f 1
        XADD a 1-2 f 2
        XADD b 2-1 g 1
        XREAD STREAMS a 0
        XREAD STREAMS a 1-1
        XREAD STREAMS a 1-2
        XREAD STREAMS a $
        XREAD COUNT 1 STREAMS a b 0 0
        XREAD count 5 streams a b nokey 1-1 0-0 0-0
        XREAD STREAMS nokey 0
        XREAD STREAMS nokey $
        XREAD STREAMS a b 1-2 2-1
        XREAD STREAMS a 1
        XREAD COUNT 0 STREAMS a 0
        XREAD COUNT -5 STREAMS a 0
        XREAD COUNT 1 COUNT 2 STREAMS a 0
        XREAD BLOCK 10 COUNT 1 STREAMS a 0
        XREAD STREAMS a 18446744073709551615-18446744073709551614
        XREAD STREAMS a b
        XREAD STREAMS a b c
        XREAD STREAMS a
        XREAD COUNT x STREAMS a 0
        XREAD COUNT STREAMS a 0
        XREAD BLOCK x STREAMS a 0
        XREAD BLOCK -1 STREAMS a 0
        XREAD FOO STREAMS a 0
        XREAD COUNT 1
        XREAD STREAMS a x
        XREAD STREAMS a -
        XREAD STREAMS a +
        XREAD STREAMS a >
        XREAD STREAMS a (1
        XREAD GROUP g c STREAMS a 0
        XREAD NOACK STREAMS a 0
        SET str x
        XREAD STREAMS str 0
        XREAD STREAMS a str 0 0
        XREAD STREAMS str a x 0
        XREAD STREAMS a str x 0
        XDEL a 1-2
        XREAD STREAMS a 1-1
        XREAD STREAMS a 0
        XREAD STREAMS
    """,
    "xread_blocking_returns_at_once_or_times_out": """
        CONFIG SET hz 500
        XADD a 1-1 f 1
        XREAD BLOCK 0 STREAMS a 0
        XREAD BLOCK 10 STREAMS a $
        XREAD BLOCK 10 STREAMS nokey 0
        XREAD BLOCK 10 STREAMS a nokey 1-1 $
        XREAD BLOCK 10 COUNT 5 STREAMS a 1-1
        XGROUP CREATE a g $
        XREADGROUP GROUP g c BLOCK 10 STREAMS a >
        XREADGROUP GROUP g c BLOCK 0 STREAMS a 0
        CONFIG SET hz 10
    """,
    "read_inside_multi": """
        XADD a 1-1 f 1
        XGROUP CREATE a g $
        MULTI
        XREAD BLOCK 0 STREAMS a $
        XREAD BLOCK 0 STREAMS a 0
        XREADGROUP GROUP g c BLOCK 0 STREAMS a >
        XADD a 2-1 f 2
        XREAD BLOCK 0 STREAMS a 1-1
        XREADGROUP GROUP g c BLOCK 0 STREAMS a >
        EXEC
    """,
    "xgroup_create_and_setid": """
        XGROUP CREATE nokey g $
        XGROUP CREATE nokey g $ MKSTREAM
        EXISTS nokey
        XLEN nokey
        XINFO GROUPS nokey
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XGROUP CREATE s g1 0
        XGROUP CREATE s g1 0
        XGROUP CREATE s g2 $
        XGROUP CREATE s g3 1-1 ENTRIESREAD 1
        XGROUP CREATE s g4 1 MKSTREAM ENTRIESREAD 5
        XGROUP CREATE s g5 -
        XGROUP CREATE s g5 +
        XGROUP CREATE s g5 x
        XGROUP CREATE s g5 0 ENTRIESREAD -2
        XGROUP CREATE s g5 0 ENTRIESREAD -1
        XGROUP CREATE s g6 0 ENTRIESREAD x
        XGROUP CREATE s g6 0 ENTRIESREAD
        XGROUP CREATE s g6 0 FOO
        XGROUP CREATE s g6 0 MKSTREAM MKSTREAM MKSTREAM MKSTREAM
        XGROUP CREATE s g6 0 MKSTREAM MKSTREAM MKSTREAM
        XGROUP create s g7 99-99
        XINFO GROUPS s
        XGROUP SETID s g1 1-1
        XGROUP SETID s g1 $ ENTRIESREAD 2
        XGROUP SETID s g2 -
        XGROUP SETID s g3 +
        XGROUP SETID s g4 5
        XGROUP SETID s g4 x
        XGROUP SETID s g4 0 ENTRIESREAD -3
        XGROUP SETID s g4 0 MKSTREAM
        XGROUP SETID s g4 0 ENTRIESREAD
        XGROUP SETID s g4 0 ENTRIESREAD 1 ENTRIESREAD 2
        XGROUP SETID s nogroup 0
        XGROUP SETID nokey2 g 0
        XINFO GROUPS s
        SET str x
        XGROUP CREATE str g $
        XGROUP CREATE str g $ MKSTREAM
        XGROUP CREATE str g $ FOO
        XGROUP SETID str g $
        XGROUP CREATE s
        XGROUP SETID s g
        XGROUP FOO s g
        XGROUP
    """,
    "xgroup_consumers_and_destroy": """
        XADD s 1-1 a 1
        XGROUP CREATE s g 0
        XGROUP CREATECONSUMER s g alice
        XGROUP CREATECONSUMER s g alice
        XGROUP CREATECONSUMER s g bob
        XGROUP CREATECONSUMER s nogroup carol
        XGROUP CREATECONSUMER nokey g carol
        XREADGROUP GROUP g carol STREAMS s >
        XGROUP DELCONSUMER s g carol
        XGROUP DELCONSUMER s g carol
        XGROUP DELCONSUMER s g alice
        XGROUP DELCONSUMER s nogroup alice
        XGROUP DELCONSUMER nokey g alice
        XPENDING s g
        XGROUP DESTROY s g
        XGROUP DESTROY s g
        XGROUP DESTROY nokey g
        XINFO GROUPS s
        SET str x
        XGROUP CREATECONSUMER str g c
        XGROUP DELCONSUMER str g c
        XGROUP DESTROY str g
        XGROUP DESTROY s
        XGROUP CREATECONSUMER s g
        XGROUP HELP
        XGROUP HELP x
        XGROUP help
    """,
    "xreadgroup": """
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XADD s 3-1 c 3
        XGROUP CREATE s g 0
        XREADGROUP GROUP g alice COUNT 1 STREAMS s >
        XREADGROUP GROUP g bob STREAMS s >
        XREADGROUP GROUP g bob STREAMS s >
        XREADGROUP GROUP g alice STREAMS s 0
        XREADGROUP GROUP g bob STREAMS s 0
        XREADGROUP GROUP g bob COUNT 1 STREAMS s 2-1
        XREADGROUP GROUP g carol STREAMS s 0
        XREADGROUP GROUP g bob STREAMS s 18446744073709551615-18446744073709551615
        XADD s 4-1 d 4
        XREADGROUP GROUP g bob STREAMS s 18446744073709551615-18446744073709551615
        XDEL s 2-1
        XREADGROUP GROUP g bob STREAMS s 0
        XINFO GROUPS s
        XADD s 5-1 e 5
        XREADGROUP GROUP g alice NOACK STREAMS s >
        XPENDING s g
        XGROUP SETID s g 0
        XREADGROUP GROUP g dave COUNT 2 STREAMS s >
        XPENDING s g
        XINFO GROUPS s
        XREADGROUP GROUP g bob STREAMS s $
        XREADGROUP GROUP g bob STREAMS s +
        XREADGROUP GROUP g bob STREAMS s -
        XREADGROUP GROUP g bob STREAMS s x
        XREADGROUP GROUP nogroup bob STREAMS s >
        XREADGROUP GROUP g bob STREAMS nokey >
        XREADGROUP GROUP g bob STREAMS s nokey > >
        XREADGROUP STREAMS s >
        XREADGROUP GROUP g STREAMS s >
        XREADGROUP GROUP g bob NOACK COUNT 1 BLOCK x STREAMS s >
        XREADGROUP GROUP g bob STREAMS s
        XREADGROUP GROUP g bob FOO STREAMS s >
        SET str x
        XREADGROUP GROUP g bob STREAMS str >
        XREADGROUP GROUP g bob STREAMS s str > >
    """,
    "xreadgroup_several_streams": """
        XADD a 1-1 f 1
        XADD b 1-1 g 1
        XGROUP CREATE a g 0
        XGROUP CREATE b g $
        XREADGROUP GROUP g c STREAMS a b > >
        XADD b 2-1 g 2
        XREADGROUP GROUP g c STREAMS a b > >
        XREADGROUP GROUP g c STREAMS a b 0 >
        XREADGROUP GROUP g c STREAMS a b 0 0
        ~ XINFO CONSUMERS a g
    """,
    "xack_and_xpending": """
        XACK nokey g 1-1
        XACK nokey g x
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XADD s 3-1 c 3
        XGROUP CREATE s g 0
        XACK s nogroup 1-1
        XREADGROUP GROUP g alice COUNT 2 STREAMS s >
        XREADGROUP GROUP g bob STREAMS s >
        XPENDING s g
        XPENDING nokey g
        XPENDING s nogroup
        XPENDING s nogroup - + 10
        ~ XPENDING s g - + 10
        ~ XPENDING s g - + 10 alice
        XPENDING s g - + 10 nobody
        XPENDING s g - + 0
        XPENDING s g - + -5
        ~ XPENDING s g (1-1 + 1
        ~ XPENDING s g - (3-1 10 bob
        ~ XPENDING s g IDLE 0 - + 10
        XPENDING s g IDLE 100000 - + 10
        XPENDING s g IDLE x - + 10
        XPENDING s g IDLE 10 - +
        XPENDING s g - +
        XPENDING s g -
        XPENDING s g - + x
        XPENDING s g x + 10
        XPENDING s g - x 10
        XPENDING s g ( + 10
        ~ XPENDING s g - + 10 alice extra
        ~ XPENDING s g IDLE 0 - + 10 alice extra
        XACK s g 1-1 x
        XACK s g 1-1 9-9 1-1
        XACK s g 2
        XPENDING s g
        XACK s g 3-1
        XPENDING s g
        ~ XINFO CONSUMERS s g
        SET str x
        XACK str g 1-1
        XPENDING str g
        XPENDING str g - + 10
        XPENDING str g - + x
        XACK s g
        XPENDING s
    """,
    "xclaim": """
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XADD s 3-1 c 3
        XGROUP CREATE s g 0
        XREADGROUP GROUP g alice STREAMS s >
        XCLAIM s g bob 0 1-1
        XCLAIM s g bob 0 2-1 3-1 JUSTID
        XCLAIM s g carol 3600000 1-1
        XCLAIM s g carol 0 9-9
        ~ XINFO CONSUMERS s g
        XCLAIM s g carol 0 1-1 RETRYCOUNT 7 IDLE 0
        XCLAIM s g carol 0 1-1 JUSTID
        ~ XPENDING s g - + 10
        XGROUP SETID s g 0
        XCLAIM s g bob 0 1-1 LASTID 2-1 JUSTID
        XINFO GROUPS s
        XCLAIM s g bob 0 1-1 LASTID 0-5 JUSTID
        XCLAIM s g dave 0 2-1 TIME 1 RETRYCOUNT 1 JUSTID
        XCLAIM s g dave 0 2-1 TIME 99999999999999 JUSTID
        XCLAIM s g dave 0 2-1 IDLE -5 JUSTID
        XADD s 4-1 d 4
        XCLAIM s g erin 0 4-1
        XCLAIM s g erin 0 4-1 FORCE
        XCLAIM s g erin 0 4-1 9-9 FORCE JUSTID
        XDEL s 1-1
        XCLAIM s g frank 0 1-1 3-1
        XPENDING s g
        XCLAIM s g frank x 1-1
        XCLAIM s g frank -5 3-1 JUSTID
        XCLAIM s g frank 0 3-1 FOO
        XCLAIM s g frank 0 3-1 IDLE
        XCLAIM s g frank 0 3-1 IDLE x
        XCLAIM s g frank 0 3-1 TIME x
        XCLAIM s g frank 0 3-1 RETRYCOUNT x
        XCLAIM s g frank 0 3-1 LASTID x
        XCLAIM s g frank 0 3-1 JUSTID 2-1
        XCLAIM s g frank 0 x
        XCLAIM s nogroup frank 0 3-1
        XCLAIM nokey g frank 0 3-1
        XCLAIM nokey g frank x 3-1
        SET str x
        XCLAIM str g frank 0 3-1
        XCLAIM str g frank x 3-1
        XCLAIM s g frank 0
        ~ XINFO CONSUMERS s g
    """,
    "xautoclaim": """
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XADD s 3-1 c 3
        XADD s 4-1 d 4
        XGROUP CREATE s g 0
        XREADGROUP GROUP g alice STREAMS s >
        XAUTOCLAIM s g bob 0 0 COUNT 1
        XAUTOCLAIM s g bob 0 2-1 COUNT 2 JUSTID
        XAUTOCLAIM s g bob 0 (3-1
        XAUTOCLAIM s g carol 3600000 0
        ~ XINFO CONSUMERS s g
        XDEL s 2-1 3-1
        XAUTOCLAIM s g carol 0 0 COUNT 1
        XAUTOCLAIM s g carol 0 0 COUNT 1
        XPENDING s g
        XAUTOCLAIM s g carol 0 - JUSTID
        XAUTOCLAIM s g carol 0 + JUSTID
        XAUTOCLAIM s g carol x 0
        XAUTOCLAIM s g carol 0 x
        XAUTOCLAIM s g carol 0 (18446744073709551615-18446744073709551615
        XAUTOCLAIM s g carol 0 0 COUNT 0
        XAUTOCLAIM s g carol 0 0 COUNT -1
        XAUTOCLAIM s g carol 0 0 COUNT x
        XAUTOCLAIM s g carol 0 0 COUNT 576460752303423487
        XAUTOCLAIM s g carol 0 0 COUNT 576460752303423488
        XAUTOCLAIM s nogroup carol 0 0 COUNT 576460752303423487
        XAUTOCLAIM s g carol 0 0 COUNT
        XAUTOCLAIM s g carol 0 0 FOO
        XAUTOCLAIM s nogroup carol 0 0
        XAUTOCLAIM nokey g carol 0 0
        XAUTOCLAIM nokey g carol 0 0 FOO
        SET str x
        XAUTOCLAIM str g carol 0 0
        XAUTOCLAIM str g carol x 0
        XAUTOCLAIM s g carol 0
    """,
    "xautoclaim_deleted_entries_count_against_count": """
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XADD s 3-1 c 3
        XADD s 4-1 d 4
        XADD s 5-1 e 5
        XGROUP CREATE s g 0
        XREADGROUP GROUP g alice STREAMS s >
        XDEL s 1-1 2-1 3-1
        XAUTOCLAIM s g bob 0 0 COUNT 2
        XAUTOCLAIM s g bob 0 0 COUNT 2
        XPENDING s g
    """,
    "xinfo": """
        XINFO STREAM nokey
        XINFO GROUPS nokey
        XINFO CONSUMERS nokey g
        XADD s 1-1 a 1 b 2
        XADD s 2-1 c 3
        XINFO STREAM s
        XINFO STREAM s FULL
        XINFO STREAM s full count 1
        XINFO STREAM s FULL COUNT 0
        XINFO STREAM s FULL COUNT -1
        XINFO STREAM s FULL COUNT x
        XINFO STREAM s FULL COUNT
        XINFO STREAM s FOO
        XINFO STREAM s FULL FOO 1
        XINFO STREAM nokey FOO
        XINFO GROUPS s
        XINFO CONSUMERS s nogroup
        XGROUP CREATE s g1 0
        XGROUP CREATE s a0 $
        XREADGROUP GROUP g1 zed COUNT 1 STREAMS s >
        XGROUP CREATECONSUMER s g1 amy
        XINFO GROUPS s
        ~ XINFO CONSUMERS s g1
        ~ XINFO STREAM s FULL
        XDEL s 1-1 2-1
        XINFO STREAM s
        XINFO GROUPS s
        SET str x
        XINFO STREAM str
        XINFO GROUPS str
        XINFO CONSUMERS str g
        XINFO HELP
        XINFO help
        XINFO HELP x
        XINFO FOO s
        XINFO
        XINFO STREAM
        XINFO GROUPS s x
    """,
    "xinfo_stream_full": """
        XADD s 1-1 a 1
        XADD s 2-1 b 2 c 3
        XADD s 3-1 d 4
        XGROUP CREATE s g 0
        XGROUP CREATE s a $ ENTRIESREAD 3
        XINFO STREAM s FULL
        XINFO STREAM s FULL COUNT 2
        XDEL s 2-1
        XINFO STREAM s FULL COUNT 0
        XTRIM s MAXLEN 0
        XINFO STREAM s FULL
        XINFO STREAM s
    """,
    "lag_and_entries_read": """
        XGROUP CREATE s g $ MKSTREAM
        XINFO GROUPS s
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XADD s 3-1 a 3
        XADD s 4-1 a 4
        XGROUP CREATE s g0 0
        XGROUP CREATE s g2 2-1
        XGROUP CREATE s gend $
        XGROUP CREATE s gfuture 9-1
        XINFO GROUPS s
        XREADGROUP GROUP g0 c COUNT 1 STREAMS s >
        XREADGROUP GROUP g2 c COUNT 1 STREAMS s >
        XINFO GROUPS s
        XDEL s 3-1
        XINFO GROUPS s
        XREADGROUP GROUP g0 c COUNT 1 STREAMS s >
        XINFO GROUPS s
        XREADGROUP GROUP g0 c STREAMS s >
        XINFO GROUPS s
        XADD s 5-1 a 5
        XINFO GROUPS s
        XDEL s 1-1
        XINFO GROUPS s
        XTRIM s MAXLEN 1
        XINFO GROUPS s
        XDEL s 5-1
        XINFO GROUPS s
        XGROUP SETID s g0 0 ENTRIESREAD 0
        XINFO GROUPS s
        XSETID s 9-1 ENTRIESADDED 10
        XINFO GROUPS s
    """,
    "type_encoding_and_generic_commands": """
        XADD s 1-1 a 1
        TYPE s
        OBJECT ENCODING s
        XGROUP CREATE s g 0
        XREADGROUP GROUP g c STREAMS s >
        COPY s t
        XADD t 2-1 b 2
        XRANGE s - +
        XRANGE t - +
        XINFO GROUPS t
        XPENDING t g
        XACK t g 1-1
        XPENDING s g
        COPY s t
        RENAME t u
        XRANGE u - +
        MOVE u 1
        SELECT 1
        TYPE u
        XLEN u
        SELECT 0
        GET s
        LPUSH s x
        INCR s
        = SCAN 0 TYPE stream
        = KEYS *
        DEL s
        EXISTS s
    """,
    "watch": """
        XADD s 1-1 a 1
        WATCH s
        XADD s 2-1 a 2
        MULTI
        PING
        EXEC
        WATCH s
        XGROUP CREATE s g 0
        XREADGROUP GROUP g c STREAMS s >
        XACK s g 1-1
        XGROUP CREATECONSUMER s g d
        XCLAIM s g d 0 2-1
        XGROUP SETID s g 0
        XGROUP DELCONSUMER s g d
        XGROUP DESTROY s g
        MULTI
        PING
        EXEC
        WATCH s
        XSETID s 9-9
        MULTI
        PING
        EXEC
        WATCH s
        XDEL s 99-1
        XTRIM s MAXLEN 10
        MULTI
        PING
        EXEC
        WATCH s
        XDEL s 1-1
        MULTI
        PING
        EXEC
        WATCH s
        XTRIM s MAXLEN 0
        MULTI
        PING
        EXEC
        WATCH new
        XGROUP CREATE new g $ MKSTREAM
        MULTI
        PING
        EXEC
    """,
    "config": """
        = CONFIG GET stream-node-max-*
        CONFIG SET stream-node-max-bytes 1kb
        CONFIG GET stream-node-max-bytes
        CONFIG SET stream-node-max-bytes -1
        CONFIG SET stream-node-max-entries x
        CONFIG SET stream-node-max-entries 0
        CONFIG GET stream-node-max-entries
        CONFIG SET stream-node-max-bytes 4096
        CONFIG SET stream-node-max-entries 100
    """,
    "command_info": """
        COMMAND INFO xadd xrange xrevrange xlen xdel xtrim xsetid xread xreadgroup xack xpending xclaim xautoclaim
        COMMAND INFO xgroup|create xgroup|setid xgroup|destroy xgroup|createconsumer xgroup|delconsumer xgroup|help
        COMMAND INFO xinfo|stream xinfo|groups xinfo|consumers xinfo|help
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


def random_script(seed: int, length: int = 150) -> str:
    """A random sequence of stream commands on two keys, three groups and three
    consumers, with IDs from a small range so that they collide: adds with trimming,
    deletes, group reads, acknowledgements, claims, and the counters XINFO and XPENDING
    report after them. Only commands whose replies do not depend on the clock."""
    rnd = random.Random(seed)
    clock = [1]  # the next XADD's milliseconds: mostly growing, so that most adds succeed
    added: list[str] = []

    def new_id() -> str:
        clock[0] += rnd.choice([0, 0, 1, 2])
        added.append(f"{clock[0]}-{rnd.randint(0, 3)}")
        return rnd.choice([added[-1], added[-1], f"{clock[0]}-*"])

    def entry_id() -> str:
        """Mostly an ID added before, so that deletes, acks and claims find something."""
        if added and rnd.random() < 0.8:
            return rnd.choice(added[-20:])
        return f"{rnd.randint(1, clock[0] + 1)}-{rnd.randint(0, 3)}"

    def key() -> str:
        return rnd.choice(["s", "s", "s", "t"])

    def group() -> str:
        return rnd.choice(["g1", "g1", "g2"])

    def consumer() -> str:
        return rnd.choice(["c1", "c2", "c3"])

    def trim() -> str:
        strategy = rnd.choice(["MAXLEN", "MINID"])
        marker = rnd.choice(["", "~ ", "= "])
        target = str(rnd.randint(0, 8)) if strategy == "MAXLEN" else entry_id()
        limit = f" LIMIT {rnd.randint(0, 5)}" if marker == "~ " and rnd.random() < 0.3 else ""
        return f"{strategy} {marker}{target}{limit}"

    def bound() -> str:
        return rnd.choice([entry_id(), str(rnd.randint(0, clock[0] + 1)), "-", "+", f"({entry_id()}"])

    commands = [
        (25, lambda: f"XADD {key()} {trim() if rnd.random() < 0.3 else ''} {new_id()} "
                     f"f{rnd.randint(0, 2)} {rnd.randint(0, 300)}"),
        (7, lambda: f"XDEL {key()} " + " ".join(entry_id() for _ in range(rnd.randint(1, 3)))),
        (5, lambda: f"XTRIM {key()} {trim()}"),
        (8, lambda: f"{rnd.choice(['XRANGE', 'XREVRANGE'])} {key()} {bound()} {bound()}"
                    + (f" COUNT {rnd.randint(0, 4)}" if rnd.random() < 0.4 else "")),
        (5, lambda: f"XREAD COUNT {rnd.randint(1, 4)} STREAMS s t {rnd.choice([entry_id(), '$', '0'])} "
                    f"{rnd.choice([entry_id(), '$', '0'])}"),
        (6, lambda: f"XGROUP CREATE {key()} {group()} {rnd.choice([entry_id(), '$', '0', '0'])}"
                    + rnd.choice(["", "", " MKSTREAM"]) + rnd.choice(["", "", f" ENTRIESREAD {rnd.randint(-1, 5)}"])),
        (2, lambda: f"XGROUP SETID {key()} {group()} {rnd.choice([entry_id(), '$', '0', '-', '+'])}"
                    + rnd.choice(["", "", f" ENTRIESREAD {rnd.randint(-1, 5)}"])),
        (1, lambda: f"XGROUP DESTROY {key()} {group()}"),
        (2, lambda: f"XGROUP {rnd.choice(['CREATECONSUMER', 'DELCONSUMER'])} {key()} {group()} {consumer()}"),
        (14, lambda: f"XREADGROUP GROUP {group()} {consumer()}"
                     + rnd.choice(["", f" COUNT {rnd.randint(1, 4)}"]) + rnd.choice(["", "", "", " NOACK"])
                     + f" STREAMS {key()} {rnd.choice(['>', '>', '>', '0', entry_id()])}"),
        (5, lambda: f"XACK {key()} {group()} " + " ".join(entry_id() for _ in range(rnd.randint(1, 3)))),
        (6, lambda: f"XCLAIM {key()} {group()} {consumer()} 0 " + " ".join(entry_id() for _ in range(3))
                    + rnd.choice(["", " JUSTID", " FORCE", " FORCE JUSTID", " RETRYCOUNT 5", f" LASTID {entry_id()}"])),
        (4, lambda: f"XAUTOCLAIM {key()} {group()} {consumer()} 0 {rnd.choice(['0', entry_id(), '(' + entry_id()])}"
                    f" COUNT {rnd.randint(1, 4)}" + rnd.choice(["", " JUSTID"])),
        (4, lambda: f"XPENDING {key()} {group()}"),
        (4, lambda: f"XINFO GROUPS {key()}"),
        (3, lambda: f"XINFO STREAM {key()}"),
        (2, lambda: f"XSETID {key()} {entry_id()}"
                    + rnd.choice(["", f" ENTRIESADDED {rnd.randint(0, 30)}", f" MAXDELETEDID {entry_id()}"])),
    ]
    weights = [weight for weight, _make in commands]
    lines = [f"CONFIG SET stream-node-max-entries {rnd.choice([2, 3, 5, 100])}"]
    for _ in range(length):
        (_weight, make), = rnd.choices(commands, weights)
        lines.append(make())
    return "\n".join(lines + ["XINFO STREAM s", "XINFO GROUPS s", "CONFIG SET stream-node-max-entries 100"])


@pytest.mark.parametrize("seed", range(int(os.environ.get("STREAM_FUZZ_SEEDS", "8"))))
def test_random_command_sequences_match_redis(server, reference, seed):
    """STREAM_FUZZ_SEEDS=1000 for a deep run."""
    compare(server.port, reference.port, random_script(seed))


NOTIFICATION_SCRIPTS = {
    "entries": """
        XADD s 1-1 a 1
        XADD s 2-1 a 2
        XADD s MAXLEN 1 3-1 a 3
        XADD s MAXLEN 5 4-1 a 4
        XADD s NOMKSTREAM 5-1 a 5
        XADD nokey NOMKSTREAM 5-1 a 5
        XADD s 1-1 a 1
        XDEL s 4-1
        XDEL s 99-1
        XTRIM s MAXLEN 0
        XTRIM s MAXLEN 0
        XSETID s 10-1
        XDEL s 3-1
        XLEN s
        XRANGE nokey - +
    """,
    "groups": """
        XGROUP CREATE s g $ MKSTREAM
        XGROUP CREATE s g $
        XADD s 1-1 a 1
        XREADGROUP GROUP g alice STREAMS s >
        XREADGROUP GROUP g alice STREAMS s >
        XGROUP CREATECONSUMER s g bob
        XGROUP CREATECONSUMER s g bob
        XCLAIM s g carol 0 1-1
        XCLAIM s g dave 0 9-9
        XAUTOCLAIM s g erin 0 0
        XACK s g 1-1
        XGROUP SETID s g 0
        XGROUP DELCONSUMER s g bob
        XGROUP DELCONSUMER s g nobody
        XGROUP DESTROY s g
        XGROUP DESTROY s g
        XREAD STREAMS s nokey 0 0
    """,
}


@pytest.mark.parametrize("flags", ["KEA", "KEAnm", "Kt", "Eg"])
@pytest.mark.parametrize("name", sorted(NOTIFICATION_SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, NOTIFICATION_SCRIPTS[name], flags=flags)


# Reading commands count keyspace hits and misses; XREAD and XREADGROUP look every key
# up twice, as Redis does.
COUNTED = """
    XADD s 1-1 a 1
    XGROUP CREATE s g 0
    XLEN s
    XLEN nokey1
    XRANGE s - +
    XRANGE nokey2 - +
    XREVRANGE nokey3 + -
    XREAD STREAMS s nokey4 0 0
    XREAD STREAMS s 1-1
    XREADGROUP GROUP g c STREAMS s >
    XINFO STREAM s
    XINFO STREAM nokey5
    XINFO GROUPS s
    XACK s g 1-1
    XACK nokey6 g 1-1
    XPENDING s g
    XPENDING nokey7 g
    XCLAIM s g c 0 1-1
    XAUTOCLAIM s g c 0 0
    XADD nokey8 NOMKSTREAM 1-1 a 1
    XDEL nokey9 1-1
    XTRIM nokey10 MAXLEN 0
    XSETID nokey11 1-1
    XGROUP CREATE nokey12 g $
"""


def _counters(port: int) -> dict[str, str]:
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        connection.call("CONFIG", "RESETSTAT")
        for line in COUNTED.strip().splitlines():
            connection.call(*split_inline(line.strip().encode()))
        connection.send_command("INFO", "stats")
        info = connection.read().decode()
    return {name: re.search(rf"\r\n{name}:(\d+)\r\n", info).group(1) for name in ("keyspace_hits", "keyspace_misses")}


def test_keyspace_hits_and_misses_match_redis(server, reference):
    ours, theirs = _counters(server.port), _counters(reference.port)
    assert ours == theirs
    assert int(ours["keyspace_hits"]) > 0 and int(ours["keyspace_misses"]) > 0
