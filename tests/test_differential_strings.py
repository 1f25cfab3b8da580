"""String commands compared byte for byte with a real Redis.

Deadlines are absolute and far away (PXAT 32503680000000 is the year 3000) wherever a
reply shows them, so that replies are exact; a relative TTL in milliseconds is compared
by type only. Scripts that change the configuration or turn active expiry off restore
it on their last lines: both servers are shared by the whole session.
"""

from __future__ import annotations

import pytest

from tests.differential import compare

SCRIPTS = {
    "set_plain": """
        SET k v
        GET k
        SET k ""
        GET k
        SET "" empty-key
        GET ""
        SET k "a\\x00b\\r\\nc"
        GET k
        STRLEN k
        SET
        SET k
        GET nokey
        GET
        GET a b
    """,
    "set_nx_xx_get": """
        SET k v NX
        SET k w NX
        GET k
        SET k w XX
        GET k
        SET nokey v XX
        EXISTS nokey
        SET k v2 NX GET
        SET k v3 XX GET
        SET k v4 GET
        SET nokey v XX GET
        SET new v NX GET
        GET new
        SET k v nx
        SET k v xx
        SET k v get
        SET k v NX NX
        SET k v GET GET
        SET k v XX XX GET
        SET k v NX XX
        SET k v XX NX
        SET k v NX GET XX
    """,
    "set_expiry_options": """
        SET k v PXAT 32503680000000
        PEXPIRETIME k
        SET k v EXAT 32503680001
        PEXPIRETIME k
        SET k v EX 100
        TTL k
        ~ PTTL k
        SET k v PX 100000
        TTL k
        SET k v ex 100
        SET k v px 100000
        SET k v exat 32503680000
        SET k v pxat 32503680000000
        SET k v EX 10 EX 20
        TTL k
        SET k v PXAT 32503680000000 PXAT 32503680000001
        PEXPIRETIME k
        SET k v
        PEXPIRETIME k
        SET k v EX 10 NX
        SET k v EX 10 XX GET
        SET k v GET PXAT 32503680000000
        PEXPIRETIME k
    """,
    "set_expiry_conflicts": """
        SET k v EX 10 PX 20
        SET k v PX 20 EX 10
        SET k v EX 10 EXAT 32503680000
        SET k v PXAT 32503680000000 EXAT 32503680000
        SET k v PX 10 PXAT 32503680000000
        SET k v EX 10 KEEPTTL
        SET k v KEEPTTL EX 10
        SET k v KEEPTTL PXAT 32503680000000
        SET k v KEEPTTL KEEPTTL
        SET k v PX 1000 GET EX 10
        SET k v EX
        SET k v PX
        SET k v EXAT
        SET k v PXAT
        SET k v EX 10 EX
        SET k v EX NX
        SET k v EX 10 abc
        SET k v foo
        SET k v PERSIST
        SET k v KEEPTTL PERSIST
        SET k v EX 10 PERSIST
        SET k v ""
    """,
    "set_bad_expiry_values": """
        SET k v EX 0
        SET k v EX -1
        SET k v PX 0
        SET k v PX -5
        SET k v EXAT 0
        SET k v EXAT -1
        SET k v PXAT 0
        SET k v PXAT -1
        SET k v EX abc
        SET k v EX 1.5
        SET k v EX " 1"
        SET k v EX +1
        SET k v EX 01
        SET k v EX ""
        SET k v PX 9223372036854775807
        SET k v PX 9223372036854775806
        SET k v EX 9223372036854775807
        SET k v EX 9223372036854775
        SET k v EX 9223372036854776
        SET k v EX 99999999999999999999
        SET k v EXAT 9223372036854776
        SET k v EXAT 9223372036854775
        PEXPIRETIME k
        SET k v PXAT 9223372036854775807
        PEXPIRETIME k
        EXPIRETIME k
        SET k v PXAT 9223372036854775808
        EXISTS k
        SET k v EX 0 GET
        SET k v EX abc NX
    """,
    "set_keepttl": """
        SET k v PXAT 32503680000000
        SET k w KEEPTTL
        PEXPIRETIME k
        GET k
        SET k x keepttl GET
        PEXPIRETIME k
        SET k y
        PEXPIRETIME k
        SET nokey v KEEPTTL
        PEXPIRETIME nokey
    """,
    "set_past_deadline": """
        DEBUG SET-ACTIVE-EXPIRE 0
        SET k v EXAT 1
        DBSIZE
        GET k
        DBSIZE
        SET k v PXAT 1 GET
        SET k v EXAT 1 GET
        DBSIZE
        EXISTS k
        SET k v
        SET k w PXAT 1 XX GET
        TTL k
        SET k v PXAT 1 NX
        DBSIZE
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "set_on_expired_key": """
        DEBUG SET-ACTIVE-EXPIRE 0
        PSETEX a 1 v
        PSETEX b 1 v
        PSETEX c 1 v
        PSETEX d 1 v
        PSETEX e 1 v
        PSETEX f 1 v
        PSETEX g 1 v
        PSETEX h 1 v
        DEBUG SLEEP 0.01
        SET a new NX
        SET b new XX
        SET c new GET
        SETNX d new
        MSETNX e new
        GETSET f new
        SET h new KEEPTTL
        TTL h
        DBSIZE
        MGET a b c d e f g h
        DBSIZE
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "getex": """
        GETEX nokey
        GETEX nokey EX 10
        GETEX nokey PERSIST
        GETEX nokey EX 0
        GETEX nokey EX abc
        GETEX nokey PXAT -1
        GETEX nokey FOO
        GETEX nokey EX
        GETEX nokey EX 1 PX 1
        SET k v
        GETEX k
        PEXPIRETIME k
        GETEX k EX 100
        TTL k
        GETEX k PERSIST
        TTL k
        GETEX k PXAT 32503680000000
        PEXPIRETIME k
        GETEX k EXAT 32503680001
        PEXPIRETIME k
        GETEX k PX 100000
        TTL k
        GETEX k
        TTL k
        GETEX k ex 100 ex 200
        TTL k
        GETEX k persist persist
        TTL k
        GETEX k EX 10 PX 100
        GETEX k PERSIST EX 10
        GETEX k EX 10 PERSIST
        GETEX k KEEPTTL
        GETEX k NX
        GETEX k XX
        GETEX k GET
        GETEX k EX
        GETEX k PXAT
        GETEX k EX 10 foo
        GETEX
    """,
    "getex_bad_expiry": """
        SET k v
        GETEX k EX 0
        GETEX k EX -1
        GETEX k PX 0
        GETEX k EXAT 0
        GETEX k PXAT -5
        GETEX k EX abc
        GETEX k EX 1.5
        GETEX k EX 9223372036854775807
        GETEX k EX 9223372036854775
        GETEX k PX 9223372036854775807
        GETEX k EXAT 9223372036854776
        GETEX k PXAT 9223372036854775807
        PEXPIRETIME k
        GETEX k EXAT 1
        EXISTS k
        SET k v
        GETEX k PXAT 1
        EXISTS k
        DBSIZE
    """,
    "getdel_getset": """
        GETDEL nokey
        SET k v PXAT 32503680000000
        GETDEL k
        GETDEL k
        EXISTS k
        GETDEL
        GETDEL a b
        GETSET k new
        GETSET k newer
        GET k
        SET t v PXAT 32503680000000
        GETSET t x
        PEXPIRETIME t
        GETSET
        GETSET k
        GETSET k a b
    """,
    "mget_mset_msetnx": """
        MGET
        MGET a
        MSET
        MSET a
        MSET a 1 b
        MSET a 1 b 2
        MGET a b nokey a
        MSET a 1 a 2
        GET a
        SET t v PXAT 32503680000000
        MSET t w
        PEXPIRETIME t
        MSETNX
        MSETNX x
        MSETNX x 1 y
        MSETNX x 1 y 2
        MGET x y
        MSETNX x 3 z 4
        MGET x z
        MSETNX z 1 z 2
        GET z
        MSETNX q 1 q 2
        GET q
    """,
    "setnx_setex_psetex": """
        SETNX
        SETNX n
        SETNX n 1
        SETNX n 2
        GET n
        SETNX n 1 2
        SETEX
        SETEX s 10
        SETEX s 100 v
        TTL s
        GET s
        SETEX s 0 v
        SETEX s -1 v
        SETEX s abc v
        SETEX s 1.5 v
        SETEX s 9223372036854775807 v
        SETEX s 9223372036854775 v
        SETEX s 9223372036854774 v
        SETEX s 10 v extra
        PSETEX p 0 v
        PSETEX p -1 v
        PSETEX p x v
        PSETEX p 9223372036854775807 v
        PSETEX p 100000 v
        TTL p
        GET p
        PSETEX p 10
    """,
    "append_strlen": """
        APPEND a ""
        EXISTS a
        STRLEN a
        APPEND a hello
        APPEND a " world"
        GET a
        STRLEN a
        APPEND a ""
        STRLEN nokey
        SET e ""
        STRLEN e
        SET n 12345
        STRLEN n
        APPEND n 6
        GET n
        SET t v PXAT 32503680000000
        APPEND t x
        PEXPIRETIME t
        GET t
        APPEND b "\\x00\\xff"
        APPEND b "\\x00"
        GET b
        STRLEN b
        STRLEN
        STRLEN a b
        APPEND
        APPEND a
        APPEND a b c
    """,
    "getrange": """
        GETRANGE nokey 0 -1
        GETRANGE nokey 5 1
        GETRANGE nokey 0 x
        SET a "hello world"
        GETRANGE a x 0
        GETRANGE a 0 x
        GETRANGE a 0 -1
        GETRANGE a 0 0
        GETRANGE a 0 4
        GETRANGE a 6 100
        GETRANGE a -1 -1
        GETRANGE a -5 -1
        GETRANGE a -100 -1
        GETRANGE a -100 -100
        GETRANGE a -100 100
        GETRANGE a -100 0
        GETRANGE a -11 0
        GETRANGE a -12 -12
        GETRANGE a 5 3
        GETRANGE a -3 -5
        GETRANGE a -1 -5
        GETRANGE a 3 -5
        GETRANGE a 4 -8
        GETRANGE a 0 -11
        GETRANGE a 0 -12
        GETRANGE a 100 200
        GETRANGE a 10 10
        GETRANGE a 11 11
        GETRANGE a 11 -1
        GETRANGE a 0 9223372036854775807
        GETRANGE a -9223372036854775808 9223372036854775807
        GETRANGE a 9223372036854775807 9223372036854775807
        GETRANGE a -9223372036854775808 -9223372036854775808
        GETRANGE a -9223372036854775808 -1
        GETRANGE a 0 9223372036854775808
        GETRANGE a -9223372036854775809 0
        GETRANGE a 1.0 2
        GETRANGE a " 1" 2
        GETRANGE a +1 2
        GETRANGE a 01 2
        GETRANGE a -0 2
        GETRANGE a "" 2
        SET e ""
        GETRANGE e 0 -1
        GETRANGE e 0 0
        GETRANGE e -1 0
        GETRANGE e -1 -1
        SET n 12345
        GETRANGE n 1 2
        GETRANGE n -2 -1
        GETRANGE
        GETRANGE a 0
        GETRANGE a 0 1 2
    """,
    # GETRANGE's name before Redis 2.0: the same answers, its own entry in the table.
    "substr": """
        SUBSTR nokey 0 -1
        SUBSTR nokey 0 x
        SET a "hello world"
        SUBSTR a 0 4
        SUBSTR a -5 -1
        SUBSTR a -100 100
        SUBSTR a 5 3
        SUBSTR a 0 9223372036854775807
        SUBSTR a x 0
        SUBSTR a 0
        SUBSTR a 0 1 2
        RPUSH l x
        SUBSTR l 0 1
        CONFIG RESETSTAT
        SUBSTR a 0 1
        ~ INFO commandstats
    """,
    "setrange": """
        SETRANGE k 0 ""
        EXISTS k
        SETRANGE k 5 ""
        EXISTS k
        SETRANGE k -1 ""
        SETRANGE k -1 a
        SETRANGE k x a
        SETRANGE k 1.5 a
        SETRANGE k 9223372036854775808 a
        SETRANGE k 3 abc
        GET k
        STRLEN k
        SETRANGE k 0 X
        GET k
        SETRANGE k 10 Z
        GET k
        SETRANGE k 1 ""
        SETRANGE k 100 ""
        STRLEN k
        SETRANGE k 2 "\\xff\\x00"
        GET k
        SET t hello PXAT 32503680000000
        SETRANGE t 1 ipp
        GET t
        PEXPIRETIME t
        SETRANGE t 7 x
        GET t
        SETRANGE new 0 abc
        GET new
        SETRANGE
        SETRANGE k 0
        SETRANGE k 0 a b
    """,
    "max_bulk_len": """
        CONFIG SET proto-max-bulk-len 1048576
        SETRANGE k 1048575 a
        STRLEN k
        SETRANGE k 1048576 a
        SETRANGE k 1048575 ab
        SETRANGE k 1048576 ""
        SETRANGE k 9223372036854775807 a
        APPEND k b
        STRLEN k
        SETRANGE new 1048576 a
        SETRANGE new 1048576 ""
        SETRANGE new 1048575 a
        DEL k new
        SETRANGE x 1048570 abc
        APPEND x abc
        APPEND x abcd
        SETRANGE y 500 a
        SETRANGE z 500 b
        LCS y z LEN
        SETRANGE y 600 a
        SETRANGE z 600 b
        LCS y z LEN
        LCS y z
        LCS y nokey
        LCS y z FOO
        CONFIG SET proto-max-bulk-len 536870912
        LCS y z LEN
    """,
    "incr_decr": """
        INCR c
        INCR c
        DECR c
        DECR c
        DECR c
        INCRBY c 10
        INCRBY c -20
        DECRBY c 5
        DECRBY c -5
        INCRBY c 0
        INCRBY c x
        INCRBY c 1.0
        INCRBY c ""
        INCRBY c " 1"
        INCRBY c +1
        INCRBY c 01
        INCRBY c -0
        INCRBY c 9223372036854775808
        INCRBY c -9223372036854775809
        DECRBY c -9223372036854775808
        DECRBY c 9223372036854775807
        INCRBY c -9223372036854775808
        GET c
        SET t 5 PXAT 32503680000000
        INCR t
        DECRBY t 10
        PEXPIRETIME t
        INCR
        INCR a b
        DECR
        INCRBY a
        DECRBY a
        DECRBY a 1 2
    """,
    "incr_overflow": """
        SET x 9223372036854775807
        INCR x
        INCRBY x 1
        DECRBY x -1
        INCRBY x 0
        INCRBY x -1
        GET x
        SET x -9223372036854775808
        DECR x
        DECRBY x 1
        INCRBY x -1
        INCR x
        SET x -9223372036854775808
        DECRBY x -9223372036854775807
        SET x -9223372036854775808
        DECRBY x -9223372036854775808
        INCRBY x 9223372036854775807
        SET x 1
        INCRBY x 9223372036854775807
        DECRBY x 9223372036854775807
        DECRBY x 9223372036854775807
        DECRBY x 1
        DECRBY x 1
    """,
    "incr_non_integer_values": """
        SET x 9223372036854775808
        INCR x
        SET x 12345678901234567890
        INCR x
        SET x " 1"
        INCR x
        SET x "1 "
        INCR x
        SET x 01
        INCR x
        SET x +1
        INCR x
        SET x 1.0
        INCR x
        SET x ""
        INCR x
        SET x -0
        INCR x
        SET x 00
        DECR x
        SET x "1\\x00"
        INCR x
        SET x 0x10
        INCR x
        SET x 1e3
        INCR x
        SET x abc
        INCR x
        DECR x
        INCRBY x 1
        DECRBY x 1
        GET x
        SET x 0
        INCR x
        SET x -1
        INCR x
        SET x 1234567890123456789
        INCR x
        APPEND y 1
        APPEND y 2
        INCR y
    """,
    "incrbyfloat_tenths": """
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f -1
        INCRBYFLOAT f -0.1
        INCRBYFLOAT f 0.3
        INCRBYFLOAT g 10.5
        INCRBYFLOAT g -5.0e3
        INCRBYFLOAT g 5.0e3
        INCRBYFLOAT g 3.0e-3
        INCRBYFLOAT g 1.5E+2
        GET g
        SET t 1 PXAT 32503680000000
        INCRBYFLOAT t 1.5
        PEXPIRETIME t
    """,
    "incrbyfloat_large_and_small": """
        INCRBYFLOAT a 1e300
        INCRBYFLOAT a 1e300
        INCRBYFLOAT b 1.7976931348623157e308
        INCRBYFLOAT b 1.7976931348623157e308
        INCRBYFLOAT c 1e17
        INCRBYFLOAT c 1e18
        INCRBYFLOAT c 1e19
        INCRBYFLOAT c 1e20
        INCRBYFLOAT c 1e30
        INCRBYFLOAT d 1e-400
        INCRBYFLOAT d 1e-4950
        INCRBYFLOAT d 1e-4951
        INCRBYFLOAT d 1e-4960
        INCRBYFLOAT d 1e4933
        INCRBYFLOAT d 1.18973149535723176508e+4932
        INCRBYFLOAT e 1e-17
        INCRBYFLOAT e 4.9e-18
        INCRBYFLOAT m 5e-18
        INCRBYFLOAT m2 -5e-18
        INCRBYFLOAT m3 -1e-20
        INCRBYFLOAT m4 0.5e-17
        INCRBYFLOAT m5 1.5e-17
        INCRBYFLOAT m6 2.5e-17
        INCRBYFLOAT m7 -1.5e-17
    """,
    "incrbyfloat_huge_results": """
        INCRBYFLOAT a 1e4000
        INCRBYFLOAT a 1e4000
        INCRBYFLOAT b 1e4932
        INCRBYFLOAT b 1e4932
        INCRBYFLOAT c 1.18973149535723176502e+4932
        INCRBYFLOAT c -1e4932
        INCRBYFLOAT d -1e4500
        SET e 1e4900
        INCRBYFLOAT e 1
    """,
    "incrbyfloat_precision": """
        INCRBYFLOAT h 1.23456789012345678901234567890
        INCRBYFLOAT h 0.00000000000000001
        INCRBYFLOAT h 0.000000000000000001
        INCRBYFLOAT h 0.000000000000000005
        INCRBYFLOAT h 0.000000000000000015
        INCRBYFLOAT i 3.0000000000000000000000000001
        INCRBYFLOAT j 0.1234567890123456789012345678901234567890123456789
        INCRBYFLOAT k 123456789012345678901234567890.123456789
        INCRBYFLOAT l 1.00000000000000000001
        INCRBYFLOAT l -1
        INCRBYFLOAT n 9007199254740993
        INCRBYFLOAT o 18446744073709551615
        INCRBYFLOAT o 1
        INCRBYFLOAT p 0.30000000000000004
        INCRBYFLOAT q 2.5
        INCRBYFLOAT q 0.000000000000000005
        INCRBYFLOAT r 0.000000000000000025
        INCRBYFLOAT r2 0.000000000000000035
    """,
    "incrbyfloat_special_inputs": """
        INCRBYFLOAT g 0x10
        INCRBYFLOAT g 0x1p3
        INCRBYFLOAT g 0x.8
        INCRBYFLOAT g -0x10
        INCRBYFLOAT g 0X1P-1
        INCRBYFLOAT g "0x1.8p1"
        INCRBYFLOAT g inf
        INCRBYFLOAT g -inf
        INCRBYFLOAT g +inf
        INCRBYFLOAT g infinity
        INCRBYFLOAT g INF
        INCRBYFLOAT g -Infinity
        INCRBYFLOAT g nan
        INCRBYFLOAT g NaN
        INCRBYFLOAT g -nan
        INCRBYFLOAT g "nan(123)"
        INCRBYFLOAT g -0
        INCRBYFLOAT g -0.0
        INCRBYFLOAT g 0
        GET g
        INCRBYFLOAT z -0.0
        GET z
        INCRBYFLOAT z2 -0
        INCRBYFLOAT j "1."
        INCRBYFLOAT j ".5"
        INCRBYFLOAT j "+.5"
        INCRBYFLOAT j "+1"
        INCRBYFLOAT j "01.50"
        INCRBYFLOAT j "1e+2"
        INCRBYFLOAT j "1E-2"
    """,
    "incrbyfloat_invalid": """
        INCRBYFLOAT j " 1"
        INCRBYFLOAT j "1 "
        INCRBYFLOAT j ""
        INCRBYFLOAT j "."
        INCRBYFLOAT j "-"
        INCRBYFLOAT j "1e"
        INCRBYFLOAT j "e5"
        INCRBYFLOAT j "1e+"
        INCRBYFLOAT j "1_0"
        INCRBYFLOAT j "1,5"
        INCRBYFLOAT j "0x"
        INCRBYFLOAT j "0x1p"
        INCRBYFLOAT j "0xg"
        INCRBYFLOAT j "1\\x00"
        INCRBYFLOAT j "--1"
        INCRBYFLOAT j abc
        EXISTS j
        SET j abc
        INCRBYFLOAT j 1
        SET j " 1"
        INCRBYFLOAT j 1
        SET j 1e3
        INCRBYFLOAT j 1
        SET j 0x10
        INCRBYFLOAT j 1
        SET j inf
        INCRBYFLOAT j 1
        SET j -inf
        INCRBYFLOAT j 0
        SET j nan
        INCRBYFLOAT j 1
        SET j 1e5000
        INCRBYFLOAT j 1
        GET j
        INCRBYFLOAT
        INCRBYFLOAT j
        INCRBYFLOAT j 1 2
    """,
    "lcs": """
        MSET a ohmytext b mynewtext
        LCS a b
        LCS b a
        LCS a b LEN
        LCS a b IDX
        LCS a b IDX MINMATCHLEN 4
        LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN
        LCS a b IDX WITHMATCHLEN
        LCS a b idx withmatchlen minmatchlen 1
        LCS a b IDX MINMATCHLEN 2 MINMATCHLEN 5
        LCS a b IDX MINMATCHLEN -5
        LCS a b IDX MINMATCHLEN 0
        LCS a b IDX IDX
        LCS a b WITHMATCHLEN
        LCS a b MINMATCHLEN 4
        LCS a b LEN WITHMATCHLEN
        LCS a b LEN MINMATCHLEN 2
        LCS a b LEN LEN
        LCS a a
        LCS a a IDX WITHMATCHLEN
        SET p 12345
        SET q 2345
        LCS p q
        LCS p q IDX
        LCS p q IDX MINMATCHLEN 1
        MSET x abcabcabc y cbacbacba
        LCS x y
        LCS x y IDX WITHMATCHLEN
    """,
    "lcs_errors_and_edges": """
        SET a ohmytext
        LCS a b LEN IDX
        LCS a b IDX LEN
        LCS a b IDX MINMATCHLEN
        LCS a b IDX MINMATCHLEN x
        LCS a b IDX MINMATCHLEN 9223372036854775808
        LCS a b FOO
        LCS a b IDX FOO
        LCS a b MINMATCHLEN
        LCS a nokey
        LCS nokey a
        LCS nokey nokey
        LCS nokey nokey IDX
        LCS nokey nokey LEN
        LCS a nokey IDX WITHMATCHLEN
        SET e ""
        LCS e a
        LCS a e IDX
        LCS
        LCS a
    """,
    "lcs_binary": """
        SET x "\\x00\\x01\\x02abc\\xff"
        SET y "\\x01\\xffab\\x00c"
        LCS x y
        LCS x y LEN
        LCS x y IDX WITHMATCHLEN
        LCS y x IDX
        SET z "\\x00\\x00\\x00"
        LCS x z
        LCS z z IDX
    """,
    "object_encoding_strings": """
        SET k 123
        OBJECT ENCODING k
        SET k -9223372036854775808
        OBJECT ENCODING k
        SET k 9223372036854775807
        OBJECT ENCODING k
        SET k 9223372036854775808
        OBJECT ENCODING k
        SET k 12345678901234567890
        OBJECT ENCODING k
        SET k 012
        OBJECT ENCODING k
        SET k -0
        OBJECT ENCODING k
        SET k " 1"
        OBJECT ENCODING k
        SET k ""
        OBJECT ENCODING k
        SET k abc
        OBJECT ENCODING k
        SET k 12345678901234567890123456789012345678901234
        OBJECT ENCODING k
        SET k 123456789012345678901234567890123456789012345
        OBJECT ENCODING k
        MSET m 1 n abc
        OBJECT ENCODING m
        OBJECT ENCODING n
        SETNX o 5
        OBJECT ENCODING o
        SETEX p 100 5
        OBJECT ENCODING p
        GETSET p 6
        OBJECT ENCODING p
        SET q 7 GET
        OBJECT ENCODING q
        GETEX q PXAT 32503680000000
        OBJECT ENCODING q
    """,
    "object_encoding_after_edits": """
        SET n 123
        APPEND n 4
        OBJECT ENCODING n
        GET n
        INCR n
        OBJECT ENCODING n
        SET c 1
        APPEND c ""
        OBJECT ENCODING c
        SET d abc
        APPEND d ""
        OBJECT ENCODING d
        APPEND a 123
        OBJECT ENCODING a
        APPEND b abc
        OBJECT ENCODING b
        SETRANGE e 0 12
        OBJECT ENCODING e
        SET s 12
        SETRANGE s 0 3
        OBJECT ENCODING s
        SETRANGE s 0 ""
        OBJECT ENCODING s
        SET s2 abc
        SETRANGE s2 5 ""
        OBJECT ENCODING s2
        INCR i
        OBJECT ENCODING i
        DECRBY i 100000
        OBJECT ENCODING i
    """,
    "object_encoding_incrbyfloat": """
        INCRBYFLOAT f 1
        OBJECT ENCODING f
        OBJECT REFCOUNT f
        INCRBYFLOAT f 10.5
        OBJECT ENCODING f
        INCRBYFLOAT f 0.5
        OBJECT ENCODING f
        GET f
        COPY f f2
        OBJECT ENCODING f2
        RENAME f2 f3
        OBJECT ENCODING f3
        APPEND f3 0
        OBJECT ENCODING f3
        GET f3
        SETRANGE f 0 1
        OBJECT ENCODING f
        INCRBYFLOAT g 5
        INCR g
        OBJECT ENCODING g
        OBJECT REFCOUNT g
        INCRBYFLOAT h 123456789012345678901234567890123456789012345
        OBJECT ENCODING h
        INCRBYFLOAT h2 12345678901234567890123456789012345678901234
        OBJECT ENCODING h2
        MGET f f3 h
        SET f 1 GET
        INCRBYFLOAT f 1
        GETEX f
        GETDEL f
        INCRBYFLOAT f 3
        GETSET f 12
        OBJECT ENCODING f
    """,
    "object_refcount_strings": """
        SET n 0
        OBJECT REFCOUNT n
        SET n 9999
        OBJECT REFCOUNT n
        SET n 10000
        OBJECT REFCOUNT n
        SET n -1
        OBJECT REFCOUNT n
        SET n abc
        OBJECT REFCOUNT n
        INCR i
        OBJECT REFCOUNT i
        INCRBY i 20000
        OBJECT REFCOUNT i
        APPEND p 5
        OBJECT REFCOUNT p
        SET q 5
        APPEND q 5
        OBJECT REFCOUNT q
        OBJECT REFCOUNT nokey
    """,
    "object_refcount_without_shared_integers": """
        CONFIG SET maxmemory-policy allkeys-lru
        SET a 5
        OBJECT REFCOUNT a
        CONFIG SET maxmemory 1gb
        SET b 5
        OBJECT REFCOUNT b
        OBJECT ENCODING b
        INCR b
        OBJECT REFCOUNT b
        CONFIG SET maxmemory-policy volatile-lfu
        SET c 9999
        OBJECT REFCOUNT c
        CONFIG SET maxmemory-policy volatile-ttl
        SET d 5
        OBJECT REFCOUNT d
        CONFIG SET maxmemory-policy allkeys-random
        SET e 5
        OBJECT REFCOUNT e
        CONFIG SET maxmemory 0
        CONFIG SET maxmemory-policy noeviction
    """,
    "c_string_options": """
        SET k v "NX\\x00abc"
        SET k v "XX\\x00"
        SET k v "KEEPTTL\\x00abc"
        SET k v "get\\x00x"
        SET k v "EX\\x00z" 100
        TTL k
        SET k v "EXAT\\x00" 32503680000
        EXPIRETIME k
        SET k v "N\\x00X"
        GETEX k "PERSIST\\x00a"
        TTL k
        GETEX k "PXAT\\x00" 32503680000000
        PEXPIRETIME k
        SET k2 v2
        LCS k k2 "LEN\\x00"
        LCS k k2 "IDX\\x00" "MINMATCHLEN\\x00" 1
        SET k v EX "10\\x00"
        GETEX k PX "10\\x00"
        LCS k k2 IDX MINMATCHLEN "1\\x00"
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])
