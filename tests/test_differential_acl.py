"""ACL subcommands compared with a real Redis, in RESP2 and RESP3.

Both servers are shared by the whole session, so a script that changes users ends by
putting them back: its own users deleted, and the default user restored with
`RESTORE_DEFAULT` (not "reset", which would add the sanitize-payload flag: Redis has no
rule that removes it again). `test_restore_default_is_exact` checks that it restores.
"""

from __future__ import annotations

import pytest

from tests.differential import compare
from tests.helpers import RawConnection

RESTORE_DEFAULT = "ACL SETUSER default on nopass allkeys allchannels allcommands"
PW_HASH = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"  # sha256("x")

SCRIPTS = {
    "default_user": """
        ACL WHOAMI
        ACL GETUSER default
        ACL USERS
        ACL LIST
        ACL GETUSER nobody
    """,
    "arity_and_unknown": """
        ACL
        ACL FOO
        ACL WHOAMI extra
        ACL GETUSER
        ACL SETUSER
        ACL DELUSER
        ACL USERS x
        ACL HELP
    """,
    "new_users": """
        ACL SETUSER acl-a
        ACL GETUSER acl-a
        ACL SETUSER acl-b on >x >y >x <y
        ACL GETUSER acl-b
        ACL USERS
        ACL LIST
        ACL SETUSER "bad name"
        ACL DELUSER acl-a acl-b acl-missing
        ACL DELUSER acl-a
        ACL DELUSER default
        ACL USERS
    """,
    "password_rules": f"""
        ACL SETUSER acl-p >x #{PW_HASH} #abc !abc
        ACL SETUSER acl-p #abc
        ACL SETUSER acl-p !{PW_HASH.upper()}
        ACL SETUSER acl-p #{PW_HASH} >y
        ACL GETUSER acl-p
        ACL SETUSER acl-p !{PW_HASH}
        ACL SETUSER acl-p !{PW_HASH}
        ACL SETUSER acl-p <nope
        ACL GETUSER acl-p
        ACL SETUSER acl-p nopass
        ACL GETUSER acl-p
        ACL SETUSER acl-p >z
        ACL GETUSER acl-p
        ACL SETUSER acl-p resetpass
        ACL GETUSER acl-p
        ACL LIST
        ACL DELUSER acl-p
    """,
    "flags_and_atomicity": """
        ACL SETUSER acl-f ON nopass
        ACL SETUSER acl-f off >x bogus
        ACL GETUSER acl-f
        ACL SETUSER acl-f skip-sanitize-payload
        ACL GETUSER acl-f
        ACL SETUSER acl-f sanitize-payload off
        ACL LIST
        ACL SETUSER acl-f reset
        ACL GETUSER acl-f
        ACL LIST
        ACL DELUSER acl-f
    """,
    "key_and_channel_rules": """
        ACL SETUSER acl-k ~a ~a %RW~b %W~c %R~d %R~a &x &y &x
        ACL GETUSER acl-k
        ACL LIST
        ACL SETUSER acl-k %X~e
        ACL SETUSER acl-k %~e
        ACL SETUSER acl-k allkeys
        ACL SETUSER acl-k ~f
        ACL SETUSER acl-k allchannels
        ACL SETUSER acl-k &g
        ACL GETUSER acl-k
        ACL SETUSER acl-k resetkeys resetchannels ~h
        ACL GETUSER acl-k
        ACL LIST
        ACL DELUSER acl-k
    """,
    "command_rules": """
        ACL SETUSER acl-c +get
        ACL GETUSER acl-c
        ACL SETUSER acl-c +@all -get -get +get
        ACL LIST
        ACL SETUSER acl-c +@all -@string
        ACL LIST
        ACL SETUSER acl-c -@all +@string -get
        ACL LIST
        ACL SETUSER acl-c nocommands +get -set +@STRING
        ACL LIST
        ACL SETUSER acl-c -@all +config|get
        ACL LIST
        ACL SETUSER acl-c -@all +CONFIG
        ACL LIST
        ACL SETUSER acl-c allcommands -select|0
        ACL SETUSER acl-c nocommands +select|0
        ACL LIST
        ACL SETUSER acl-c +nosuch
        ACL SETUSER acl-c -@nosuch
        ACL SETUSER acl-c +config|nosuch
        ACL SETUSER acl-c + -
        ACL SETUSER acl-c reset +config +config|get
        ACL LIST
        ACL SETUSER acl-c reset -client|list +client
        ACL LIST
        ACL SETUSER acl-c reset +select +select|0
        ACL LIST
        ACL DELUSER acl-c
    """,
    # Commands we do not have yet (scripting, cluster) may be named all the same.
    "rules_on_scripting_and_cluster": """
        ACL SETUSER acl-s +cluster
        ACL SETUSER acl-s +cluster|info -cluster|nodes
        ACL GETUSER acl-s
        ACL SETUSER acl-s reset +eval -evalsha
        ACL LIST
        ACL SETUSER acl-s reset +function|load
        ACL LIST
        ACL SETUSER acl-s reset +script|load -readonly
        ACL LIST
        ACL SETUSER acl-s reset +asking
        ACL LIST
        ACL SETUSER acl-s reset +@scripting -eval_ro
        ACL LIST
        ACL SETUSER acl-s reset +cluster +cluster|info
        ACL LIST
        ACL SETUSER acl-s +cluster|nosuch
        ACL SETUSER acl-s +eval|x|y
        ACL SETUSER acl-s +evil
        = ACL CAT scripting
        ACL DELUSER acl-s
    """,
    "rule_edge_cases": r"""
        ACL SETUSER acl-e "" on
        ACL SETUSER acl-e "~a b"
        ACL SETUSER acl-e "&a b"
        ACL SETUSER acl-e "~a\tb"
        ACL SETUSER acl-e "~a\x00b"
        ACL SETUSER acl-e %~a
        ACL SETUSER acl-e %RR~a
        ACL SETUSER acl-e %Wa
        ACL SETUSER acl-e %
        ACL SETUSER acl-e %R
        ACL SETUSER acl-e %rw~b %wr~b
        ACL SETUSER acl-e +config|
        ACL SETUSER acl-e -config|
        ACL SETUSER acl-e +get|
        ACL SETUSER acl-e +get|x|y
        ACL SETUSER acl-e +config|get|x
        ACL SETUSER acl-e -config|get|x
        ACL SETUSER acl-e +config|nosuch|x
        ACL SETUSER acl-e +|x
        ACL SETUSER acl-e allkeys %X~a
        ACL GETUSER acl-e
        ACL LIST
        ACL DELUSER acl-e
    """,
    "acl_pubsub_default": """
        CONFIG SET acl-pubsub-default allchannels
        ACL SETUSER acl-p on nopass +@all ~*
        ACL GETUSER acl-p
        ACL SETUSER acl-p (+get ~k*)
        ACL SETUSER acl-q reset
        ACL LIST
        CONFIG SET acl-pubsub-default resetchannels
        ACL SETUSER acl-p reset
        ACL SETUSER acl-p (+get)
        ACL GETUSER acl-p
        ACL LIST
        ACL DELUSER acl-p acl-q
    """,
    "cat_and_genpass": """
        ACL CAT
        ACL CAT nosuch
        ACL CAT a b
        ~ ACL GENPASS
        ACL GENPASS 0
        ACL GENPASS 4097
        ACL GENPASS -1
        ACL GENPASS x
        ACL GENPASS 1 2
        ~ ACL GENPASS 5
        STRLEN k
    """,
    "auth_as_users": f"""
        AUTH x
        AUTH default anything
        AUTH nobody x
        ACL SETUSER acl-u on >x allkeys allchannels allcommands
        AUTH acl-u y
        AUTH acl-u x
        ACL WHOAMI
        HELLO 2 AUTH acl-u y
        ~ HELLO 2 AUTH default whatever
        ACL WHOAMI
        ACL SETUSER acl-u off
        AUTH acl-u x
        ACL SETUSER default >pw
        AUTH pw
        AUTH default pw
        ACL WHOAMI
        CLIENT KILL USER nobody
        {RESTORE_DEFAULT}
        ACL DELUSER acl-u
        ACL LIST
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


def test_restore_default_is_exact(server, reference):
    """What the scripts end with gives back the default user exactly as a new server has
    it, after a password, other rules and a reset."""
    for port in (server.port, reference.port):
        with RawConnection(port) as connection:
            fresh = connection.call("ACL", "LIST")
            # Redis enforces the rules: taking ACL SETUSER away from the default user
            # would leave no way back, so the commands stay +@all here.
            connection.call("ACL", "SETUSER", "default", ">pw", "resetkeys", "~k", "resetchannels", "&c", "-get")
            connection.call(*RESTORE_DEFAULT.split())
            assert connection.call("ACL", "LIST") == fresh == b"*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
