"""MODULE and LOLWUT against a real redis-server.

MODULE: no module is ever loaded here (app/commands/module.py), so every reply must be the
one Redis gives with no modules: an empty LIST, LOAD refused unless enable-module-command
allows it, and then failing as a library that cannot be opened fails. LOLWUT: the art of
VERSION 5 and 6 is our own, so those replies are compared by their shape and their last
line, which ends as Redis ends it; every other reply byte for byte.
"""

from __future__ import annotations

import pytest

from tests.differential import compare
from tests.helpers import redis_server_path, start_ours, start_reference

MODULE_SCRIPT = """
    MODULE LIST
    MODULE HELP
    MODULE LOAD /no/such/module.so
    MODULE LOADEX /no/such/module.so CONFIG a b ARGS c
    MODULE UNLOAD nosuchmodule
    MODULE
    MODULE LIST x
    MODULE HELP x
    MODULE UNLOAD
    MODULE UNLOAD a b
    MODULE LOAD
    MODULE nosuchsubcommand
"""

LOLWUT_SCRIPT = """
    LOLWUT
    LOLWUT VERSION 7
    LOLWUT VERSION 1
    LOLWUT VERSION -5
    LOLWUT VERSION
    LOLWUT foo
    LOLWUT foo bar baz
    LOLWUT VERSION x
    LOLWUT VERSION 9223372036854775808
    LOLWUT VERSION 5 x 1
    LOLWUT VERSION 6 1 x
    LOLWUT VERSION 7 x
"""


def test_module_matches_redis(server, reference):
    compare(server.port, reference.port, MODULE_SCRIPT)


def test_lolwut_matches_redis(server, reference):
    compare(server.port, reference.port, LOLWUT_SCRIPT)


@pytest.mark.parametrize("setting", ["yes", "local"])
def test_module_load_fails_as_redis_when_allowed(tmp_path, setting):
    """With the command allowed, LOAD and LOADEX fail as for a library that cannot be
    opened, and say why in the log; UNLOAD finds no such module."""
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_ours("--enable-module-command", setting, "--save", "") as ours, \
            start_reference("--enable-module-command", setting, cwd=str(tmp_path)) as redis:
        compare(ours.port, redis.port, MODULE_SCRIPT)
        log = ours.stop()
    assert "Module /no/such/module.so failed to load: this server cannot load modules" in log


@pytest.mark.parametrize("args", [
    ("VERSION", "5"), ("VERSION", "6"), ("version", "5", "1", "1", "1"), ("VERSION", "6", "10", "3"),
    ("VERSION", "5", "-1", "0", "-9223372036854775808"), ("VERSION", "5", "1", "1", "1", "not-a-number"),
])
def test_lolwut_art_ends_as_redis_does(server, reference, args):
    """Our own art, a verbatim string in RESP3 as Redis', whose last line ends with Redis'
    version line."""
    for protocol in (2, 3):
        with server.raw(protocol) as ours, reference.raw(protocol) as redis:
            mine, theirs = ours.call("LOLWUT", *args), redis.call("LOLWUT", *args)
            assert mine[:1] == theirs[:1] == (b"=" if protocol == 3 else b"$")
            text = mine.split(b"\r\n", 1)[1][:-2].decode()
            if protocol == 3:
                assert text.startswith("txt:")
            assert text.endswith(". Redis ver. 7.0.15\n")
            assert theirs.endswith(b". Redis ver. 7.0.15\n\r\n")
            assert len(text.splitlines()) > 2  # some art above the caption


@pytest.mark.parametrize("args", [("VERSION", "5", "9223372036854775807", "1", "9223372036854775807"),
                                  ("VERSION", "6", "9223372036854775807", "9223372036854775807")])
def test_lolwut_sizes_are_clamped(server, args):
    """No size makes a huge reply: at most 200 lines of 200 characters of art."""
    with server.raw() as connection:
        connection.send_command("LOLWUT", *args)
        art = connection.read().decode()
    lines = art.splitlines()
    assert len(lines) <= 203
    assert lines[-1].endswith("Redis ver. 7.0.15")


def test_protected_commands_are_refused_before_authentication(tmp_path):
    """DEBUG and MODULE LOAD are protected: the refusal comes before NOAUTH and NOPERM,
    from the dispatcher, as Redis' processCommand orders them."""
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    script = """
        MODULE LOAD /no/such/module.so
        DEBUG HELP
        DEBUG
        MODULE LIST
        AUTH pw
        ACL SETUSER limited on nopass -@all
        AUTH limited x
        MODULE UNLOAD x
        DEBUG SLEEP 0
        MODULE LIST
    """
    with start_ours("--requirepass", "pw", "--save", "") as ours, \
            start_reference("--requirepass", "pw", cwd=str(tmp_path)) as redis:
        compare(ours.port, redis.port, script)
