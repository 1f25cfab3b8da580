"""EVAL, EVALSHA, SCRIPT, FUNCTION and FCALL against a real redis-server.

Every line runs on both servers, in RESP2 and RESP3, and the replies must be the same
bytes: the conversions of replies both ways, the ``redis`` API, the sandbox's errors
with their ``script: <sha>, on @user_script:1.`` suffix, shebang flags, and the
FUNCTION commands. Scripts are written as redis-cli would take them, with ``\\n`` for
a new line inside double quotes.
"""

from __future__ import annotations

import pytest

from tests.differential import compare
from tests.helpers import redis_server_path, start_ours, start_reference

EVAL_SCRIPT = r"""
    SCRIPT FLUSH
    EVAL "return 1" 0
    EVAL "return 'hello'" 0
    EVAL "return 3.99" 0
    EVAL "return -3.99" 0
    EVAL "return true" 0
    EVAL "return false" 0
    EVAL "return nil" 0
    EVAL "return {1,'a',{2,{3}},true,false,3}" 0
    EVAL "return {1,2,nil,3}" 0
    EVAL "return {err='x'}" 0
    EVAL "return {err='MYCODE with text'}" 0
    EVAL "return {ok='fine'}" 0
    EVAL "return {double=1.5}" 0
    EVAL "return {big_number='123456789012345678901234567890'}" 0
    EVAL "return {map={a=1}}" 0
    EVAL "return {set={a=true}}" 0
    EVAL "return {verbatim_string={format='txt', string='hello'}}" 0
    EVAL "redis.setresp(3) return true" 0
    EVAL "redis.setresp(3) return false" 0
    EVAL "redis.setresp(3) return {double=2.5}" 0
    EVAL "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}" 2 k1 k2 a1 a2
    EVAL "return redis.call('set', KEYS[1], ARGV[1])" 1 key value
    EVAL "return redis.call('get', KEYS[1])" 1 key
    EVAL "return redis.call('get', 'nosuchkey')" 0
    EVAL "return redis.call('get', 'nosuchkey') == false" 0
    EVAL "redis.setresp(3) return redis.call('get', 'nosuchkey') == nil" 0
    EVAL "redis.call('hset', 'h', 'a', '1', 'b', '2') return redis.call('hgetall', 'h')" 0
    EVAL "redis.setresp(3) return redis.call('hgetall', 'h')" 0
    EVAL "redis.setresp(3) return redis.call('hgetall', 'h').map.a" 0
    EVAL "redis.call('sadd', 's', 'x') redis.setresp(3) return redis.call('smembers', 's')" 0
    EVAL "redis.call('zadd', 'z', '1.5', 'm') return redis.call('zscore', 'z', 'm')" 0
    EVAL "redis.setresp(3) return redis.call('zscore', 'z', 'm')" 0
    EVAL "redis.setresp(3) return redis.call('zscore', 'z', 'm').double" 0
    EVAL "return redis.call('incr', 'counter')" 0
    EVAL "return redis.call('ping')" 0
    EVAL "return redis.call('ping').ok" 0
    EVAL "return redis.call('echo', 1.5)" 0
    EVAL "return redis.call('echo', 10000000000000001)" 0
    EVAL "return redis.call('echo', 100)" 0
    EVAL "return redis.call('type', 'h')" 0
    EVAL "return redis.call('exists', 'key', 'h', 'nope')" 0
    EVAL "return redis.call('select', 5)" 0
    EVAL "redis.call('select', 5) return redis.call('set', 'in5', '1')" 0
    EXISTS in5
    EVAL "return redis.call('set', 'x', 'y', 'ex')" 0
    EVAL "return redis.pcall('set', 'x', 'y', 'ex')" 0
    EVAL "return redis.call('incr', 'key')" 0
    EVAL "return redis.pcall('incr', 'key')" 0
    EVAL "return redis.call('lpush', 'key', 'x')" 0
    EVAL "return redis.pcall('lpush', 'key', 'x')" 0
    EVAL "return redis.call('nosuch')" 0
    EVAL "return redis.call('config', 'nosuch')" 0
    EVAL "return redis.call('get')" 0
    EVAL "return redis.call()" 0
    EVAL "return redis.call({})" 0
    EVAL "return redis.call('client', 'list')" 0
    EVAL "return redis.call('blpop', 'l', 0)" 0
    EVAL "return redis.call('subscribe', 'c')" 0
    EVAL "return redis.call('multi')" 0
    EVAL "return redis.call('eval', 'return 1', 0)" 0
    EVAL "return redis.call('wait', 0, 0)" 0
    EVAL "return pcall(redis.call, 'incr', 'a', 'b')" 0
    EVAL "local ok, e = pcall(redis.call, 'nosuch') return e" 0
    EVAL "local ok, e = pcall(error, {err='x'}) return type(e)" 0
    EVAL "local t = redis.pcall('nosuch') return t['err']" 0
    EVAL "return redis.error_reply('oops')" 0
    EVAL "return redis.error_reply('My Error')" 0
    EVAL "return redis.error_reply('-LEADING dash')" 0
    EVAL "return redis.error_reply(1)" 0
    EVAL "return redis.status_reply('QUEUED')" 0
    EVAL "return redis.status_reply(1)" 0
    EVAL "return redis.status_reply()" 0
    EVAL "return redis.sha1hex('')" 0
    EVAL "return redis.sha1hex('abc')" 0
    EVAL "return redis.sha1hex()" 0
    EVAL "return redis.setresp(4)" 0
    EVAL "return redis.setresp()" 0
    EVAL "return redis.set_repl(8)" 0
    EVAL "return redis.set_repl()" 0
    EVAL "return redis.log(99, 'x')" 0
    EVAL "return redis.log(redis.LOG_WARNING)" 0
    EVAL "return redis.log('x', 'y')" 0
    EVAL "return redis.log(redis.LOG_DEBUG, 'from a script')" 0
    EVAL "return redis.breakpoint()" 0
    EVAL "return redis.debug('x')" 0
    EVAL "return redis.replicate_commands()" 0
    EVAL "return redis.REDIS_VERSION_NUM" 0
    EVAL "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}" 0
    EVAL "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}" 0
    EVAL "return redis.acl_check_cmd('set', 'a', 'b')" 0
    EVAL "return redis.acl_check_cmd('nosuch')" 0
    EVAL "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t" 0
    EVAL "local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t" 0
    EVAL "x = 1" 0
    EVAL "return os" 0
    EVAL "return print" 0
    EVAL "return _G.nothing" 0
    EVAL "rawset(_G, 'x', 1)" 0
    EVAL "string.x = 1" 0
    EVAL "redis.call = nil" 0
    EVAL "setmetatable(_G, nil)" 0
    EVAL "return getmetatable('').__index == string" 0
    EVAL "getmetatable('').__index = {}" 0
    EVAL "return rawget(_G, 'redis') ~= nil" 0
    EVAL "return type(loadstring)" 0
    EVAL "return loadstring('return 1')()" 0
    EVAL "return loadstring('y = 1')" 0
    EVAL "local f = loadstring('y = 1') f()" 0
    EVAL "local t = setmetatable({}, {__index=function() return 1 end}) return t.x" 0
    EVAL "return setmetatable({}, {__index=function() error('no') end})" 0
    EVAL "error('boom')" 0
    EVAL "error({err='MYERR hi'})" 0
    EVAL "error()" 0
    EVAL "local function f() error('deep') end\nlocal x = 1\nf()" 0
    EVAL "local x = 1\nreturn redis.call('nosuch')" 0
    EVAL "local x = 1\nlocal y = redis.call('nosuch')\nreturn y" 0
    EVAL "return 1 +" 0
    EVAL "x =" 0
    EVAL "return 'a' .. 1.5" 0
    EVAL "return tostring(0.1)" 0
    EVAL "return string.format('%d %s %5.2f', 42, 'x', 3.14159)" 0
    EVAL "return table.concat({1, 2, 3}, '-')" 0
    EVAL "return string.rep('ab', 3)" 0
    EVAL "return math.floor(2.5)" 0
    EVAL "return #'hello'" 0
    EVAL "return coroutine.running()" 0
    EVAL "local co = coroutine.wrap(function() coroutine.yield(redis.call('ping').ok) end) return co()" 0
    EVAL "return 1" -1
    EVAL "return 1" 2 a
    EVAL "return 1" x
    EVAL "return 1"
    EVAL
"""

SHEBANG_SCRIPT = r"""
    EVAL "#!lua\nreturn 1" 0
    EVAL "#!lua flags=no-writes\nreturn redis.call('get', 'a')" 0
    EVAL "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')" 0
    EVAL "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 2" 0
    EVAL "#!lua flags=foo\nreturn 1" 0
    EVAL "#!lua flags=\nreturn 1" 0
    EVAL "#!lua name=x\nreturn 1" 0
    EVAL "#!py\nreturn 1" 0
    EVAL "#!lua" 0
    EVAL "#!lua\nerror('l2')" 0
    EVAL_RO "return redis.call('get', 'a')" 0
    EVAL_RO "return redis.call('set', 'a', 'b')" 0
    EVAL_RO "#!lua\nreturn 1" 0
    EVAL_RO "#!lua flags=no-writes\nreturn 1" 0
    SCRIPT EXISTS 7b6e1e4b7b1e2c6d5f8c2a9e0b4c1d3e5f6a7b8c
"""

SCRIPT_COMMANDS = r"""
    SCRIPT FLUSH
    SCRIPT LOAD "return 'loaded'"
    SCRIPT LOAD "return 'loaded'"
    EVALSHA 5d5c1fa1cb2e8c3e2a9d30e8a1b0c79a7b0d0f8e 0
    SCRIPT EXISTS 4a7ab4e21dd1e06e2ca1f0d38deb0a2ad06dc4ee
    EVALSHA 4a7ab4e21dd1e06e2ca1f0d38deb0a2ad06dc4ee 0
    EVALSHA 4A7AB4E21DD1E06E2CA1F0D38DEB0A2AD06DC4EE 0
    EVALSHA_RO 4a7ab4e21dd1e06e2ca1f0d38deb0a2ad06dc4ee 0
    EVALSHA abc 0
    EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
    EVAL "return 'cached by eval'" 0
    SCRIPT EXISTS 4a7ab4e21dd1e06e2ca1f0d38deb0a2ad06dc4ee ffffffffffffffffffffffffffffffffffffffff
    SCRIPT LOAD "return +"
    SCRIPT LOAD "#!lua flags=bogus\nreturn 1"
    SCRIPT FLUSH ASYNC
    SCRIPT FLUSH SYNC
    SCRIPT FLUSH bad
    SCRIPT FLUSH SYNC ASYNC
    SCRIPT EXISTS 4a7ab4e21dd1e06e2ca1f0d38deb0a2ad06dc4ee
    SCRIPT EXISTS
    SCRIPT KILL
    SCRIPT DEBUG NO
    SCRIPT DEBUG maybe
    SCRIPT HELP
    SCRIPT
    SCRIPT nosuch
    FUNCTION KILL
"""

FUNCTION_SCRIPT = r"""
    FUNCTION FLUSH
    FUNCTION LOAD "return 1"
    FUNCTION LOAD "#!lua\nredis.register_function('f', function() return 1 end)"
    FUNCTION LOAD "#!lua name=\nx"
    FUNCTION LOAD "#!py name=x\nx"
    FUNCTION LOAD "#!lua name=a-b\nx"
    FUNCTION LOAD "#!lua name=lib foo=bar\nx"
    FUNCTION LOAD "#!lua name=lib\nredis.register_function('f', function() return 1 end)"
    FUNCTION LOAD "#!lua name=lib\nredis.register_function('f', function() return 1 end)"
    FUNCTION LOAD "#!lua name=lib2\nredis.register_function('f', function() return 1 end)"
    FUNCTION LOAD "#!lua name=lib3\nreturn 1"
    FUNCTION LOAD "#!lua name=lib3\nx = 1"
    FUNCTION LOAD "#!lua name=lib3\nredis.call('ping')"
    FUNCTION LOAD "#!lua name=lib3\nlocal x = pairs"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function()"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function('g')"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function('g', 1)"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function('a b', function() end)"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function{function_name='g', callback=function() end, flags={'bad'}}"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function{function_name='g', callback=function() end, foo=1}"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function{function_name='g'}"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function{callback=function() end}"
    FUNCTION LOAD "#!lua name=lib3\nredis.register_function{function_name='g', callback=function() end, flags='no-writes'}"
    FUNCTION LOAD "#!lua name=lib4\nredis.register_function('x', function() end)\nredis.register_function('x', function() end)"
    FUNCTION LOAD "#!lua name=lib5\nreturn +"
    FUNCTION LOAD "#!lua name=l1\nredis.register_function{function_name='g', callback=function() return redis.call('set','fk','1') end, flags={'no-writes', 'allow-oom'}, description='desc'}\nredis.register_function('h', function(keys, args) return {keys[1], args[1], #keys} end)\nredis.register_function('w', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function('e', function(keys, args) error('oops') end)\nredis.register_function('e2', function(keys, args) return redis.call('nosuch') end)\nredis.register_function('k', function(keys, args) return KEYS end)\nredis.log(redis.LOG_DEBUG, 'loading l1')"
    FCALL h 1 key arg
    FCALL H 1 key arg
    FCALL g 0
    FCALL_RO w 1 k v
    FCALL_RO g 0
    FCALL w 1 k v
    GET k
    FCALL e 0
    FCALL e2 0
    FCALL k 0
    FCALL nosuch 0
    FCALL h x
    FCALL h 5
    FCALL h -1
    FCALL nosuch x
    = FUNCTION LIST
    = FUNCTION LIST WITHCODE
    = FUNCTION LIST LIBRARYNAME l*
    = FUNCTION LIST LIBRARYNAME nomatch*
    FUNCTION LIST WITHCODE WITHCODE
    FUNCTION LIST LIBRARYNAME
    FUNCTION LIST LIBRARYNAME a LIBRARYNAME b
    FUNCTION LIST foo
    FUNCTION STATS
    FUNCTION LOAD REPLACE "#!lua name=l2\nredis.register_function('h', function() end)"
    FUNCTION LOAD REPLACE "#!lua name=lib\nredis.register_function('z', function() return 'z' end)"
    FCALL z 0
    FCALL f 0
    FUNCTION LOAD REPLACE
    FUNCTION LOAD foo "x"
    FUNCTION DELETE lib
    FUNCTION DELETE lib
    FUNCTION DELETE
    FCALL z 0
    FUNCTION RESTORE garbage
    FUNCTION RESTORE garbage bad
    FUNCTION FLUSH bad
    FUNCTION FLUSH ASYNC
    FUNCTION LIST
    FUNCTION KILL
    FUNCTION HELP
    FUNCTION
"""


def test_eval_matches_redis(server, reference):
    compare(server.port, reference.port, EVAL_SCRIPT)


def test_shebang_flags_match_redis(server, reference):
    compare(server.port, reference.port, SHEBANG_SCRIPT)


def test_script_commands_match_redis(server, reference):
    compare(server.port, reference.port, SCRIPT_COMMANDS)


def test_functions_match_redis(server, reference):
    compare(server.port, reference.port, FUNCTION_SCRIPT)


def test_function_dump_and_restore_match_redis(server, reference):
    """FUNCTION DUMP's payload holds what Redis' holds (the libraries' code, in RDB
    strings: the compressed bytes and the order of libraries may differ, as two LZF
    compressors and two hash tables may), and each server restores the other's."""
    import redis

    from app.persistence.rdb import restore_functions

    ours = redis.Redis(port=server.port)
    theirs = redis.Redis(port=reference.port)
    library = "#!lua name=dumped\nredis.register_function('dumped_f', function(keys, args) return args[1] end)"
    long_library = "#!lua name=dumped_long\n" + "-- a comment long enough to be compressed\n" * 20 + \
                   "redis.register_function('dumped_g', function() return 1 end)"
    payloads = []
    for client in (ours, theirs):
        client.function_flush()
        client.function_load(library)
        client.function_load(long_library)
        payloads.append(client.function_dump())
    assert sorted(restore_functions(payloads[0])) == sorted(restore_functions(payloads[1]))
    for client, payload in ((ours, payloads[1]), (theirs, payloads[0])):
        client.function_flush()
        assert client.function_restore(payload) is True
        assert client.fcall("dumped_f", 0, "back") == b"back"
        with pytest.raises(redis.ResponseError, match="Library dumped(_long)? already exists"):
            client.function_restore(payload)
        assert client.function_restore(payload, "REPLACE") is True
        assert client.function_restore(payload, "FLUSH") is True
        corrupted = payload[:-1] + bytes([payload[-1] ^ 1])
        with pytest.raises(redis.ResponseError, match="payload version or checksum are wrong"):
            client.function_restore(corrupted)
        client.function_flush()


@pytest.fixture
def fresh_pair(tmp_path):
    """Both servers newly started: math.random's generator at its first draw."""
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_ours(cwd=str(tmp_path)) as ours, start_reference("--save", "", cwd=str(tmp_path)) as reference:
        yield ours, reference


def test_math_random_draws_as_redis(fresh_pair):
    """Redis' own generator, one per process, from the same state at each start."""
    ours, reference = fresh_pair
    compare(ours.port, reference.port, r"""
        EVAL "return {tostring(math.random()), math.random(10), math.random(5, 10)}" 0
        EVAL "return tostring(math.random())" 0
        EVAL "math.randomseed(42) return {math.random(1000000), tostring(math.random())}" 0
        EVAL "return math.random(0)" 0
        EVAL "return math.random(3, 1)" 0
        EVAL "return math.random(1, 2, 3)" 0
    """)


REFUSALS_SCRIPT = r"""
    SET a b
    FUNCTION FLUSH
    FUNCTION LOAD "#!lua name=refusals\nredis.register_function('w', function(k, a) return redis.call('set', 'a', 'c') end)\nredis.register_function{function_name='r', callback=function() return redis.call('get', 'a') end, flags={'no-writes'}}\nredis.register_function{function_name='oom', callback=function() return redis.call('set', 'a', 'd') end, flags={'allow-oom'}}"
    CONFIG SET maxmemory-policy noeviction
    CONFIG SET maxmemory 1
    EVAL "return redis.call('get', 'a')" 0
    EVAL "return redis.call('set', 'a', 'x')" 0
    EVAL "return redis.pcall('set', 'a', 'x')" 0
    EVAL "redis.call('del', 'nothing') return redis.call('set', 'a', 'x')" 0
    EVAL "#!lua\nreturn 1" 0
    EVAL "#!lua flags=no-writes\nreturn redis.call('get', 'a')" 0
    EVAL "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'y')" 0
    FCALL w 0
    FCALL r 0
    FCALL oom 0
    CONFIG SET maxmemory 0
    CONFIG SET min-replicas-to-write 1
    EVAL "return redis.call('get', 'a')" 0
    EVAL "return redis.call('set', 'a', 'x')" 0
    EVAL "#!lua\nreturn 1" 0
    EVAL "#!lua flags=no-writes\nreturn redis.call('get', 'a')" 0
    FCALL w 0
    FCALL r 0
    CONFIG SET min-replicas-to-write 0
    EVAL "return redis.call('xread', 'block', '1000', 'streams', 'nostream', '$')" 0
    EVAL "return redis.call('xread', 'block', '0', 'streams', 'nostream', '0')" 0
    FUNCTION FLUSH
"""


def test_write_refusals_inside_scripts_match_redis(server, reference):
    """maxmemory 1 puts both servers over the limit; min-replicas-to-write 1 without a
    replica refuses writes: scripts hear both as Redis words them, before they start
    (shebang flags) or at their first write (legacy scripts). Blocking commands do not
    block inside a script."""
    compare(server.port, reference.port, REFUSALS_SCRIPT)


# The examples of redis.io's "Scripting with Lua" and "Redis functions" pages.
REDIS_IO_EXAMPLES = r"""
    EVAL "return 'Hello, scripting!'" 0
    EVAL "return ARGV[1]" 0 Hello
    EVAL "return ARGV[1]" 0 Parameterization!
    EVAL "return { KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3] }" 2 key1 key2 arg1 arg2 arg3
    EVAL "return redis.call('SET', KEYS[1], ARGV[1])" 1 foo bar
    EVAL "return redis.call('ECHO', 'Echo,', 'echo... ', 'eco... ', 'o...')" 0
    EVAL "return redis.pcall('ECHO', 'Echo,', 'echo... ', 'eco... ', 'o...')" 0
    EVAL "return { 1, 2, 3, 'ciao', { 1, 2 } }" 0
    EVAL "return { 1, 2, 3.3333, 'somestring', nil, 'foo' }" 0
    EVAL "return redis.error_reply('My Error')" 0
    EVAL "return redis.status_reply('TOCKET')" 0
    EVAL "return redis.call('ping')" 0
    EVAL "redis.setresp(3); return redis.call('HELLO', '3')" 0
    EVAL "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])" 1 foo
    EVAL "local logtable = {}\nlocal function logit(msg)\n  logtable[#logtable+1] = msg\nend\nlogit('foo')\nlogit('bar')\nreturn logtable" 0
    FUNCTION FLUSH
    FUNCTION LOAD "#!lua name=mylib\nredis.register_function('knockknock', function() return 'Who\\'s there?' end)"
    FCALL knockknock 0
    FUNCTION LOAD REPLACE "#!lua name=mylib\nlocal function my_hset(keys, args)\n  local hash = keys[1]\n  local time = redis.call('TIME')[1]\n  return redis.call('HSET', hash, '_last_modified_', time, unpack(args))\nend\n\nlocal function my_hgetall(keys, args)\n  redis.setresp(3)\n  local hash = keys[1]\n  local res = redis.call('HGETALL', hash)\n  res['map']['_last_modified_'] = nil\n  return res\nend\n\nlocal function my_hlastmodified(keys, args)\n  local hash = keys[1]\n  return redis.call('HGET', hash, '_last_modified_')\nend\n\nredis.register_function('my_hset', my_hset)\nredis.register_function{function_name='my_hgetall', callback=my_hgetall, flags={ 'no-writes' }}\nredis.register_function{function_name='my_hlastmodified', callback=my_hlastmodified, flags={ 'no-writes' }}"
    FCALL my_hset 1 myhash myfield "some value" another_field "another value"
    = FCALL my_hgetall 1 myhash
    ~ FCALL my_hlastmodified 1 myhash
    = FCALL_RO my_hgetall 1 myhash
    FCALL_RO my_hset 1 myhash myfield "some value"
    FUNCTION FLUSH
"""


def test_redis_io_examples_match_redis(server, reference):
    compare(server.port, reference.port, REDIS_IO_EXAMPLES)


ERROR_ACCOUNTING = [
    "return redis.call('incr', 'str')",
    "return redis.pcall('incr', 'str')",
    "return redis.call('nosuch')",
    "return redis.pcall('nosuch')",
    "return redis.call('set', 'a')",
    "return redis.call('client', 'list')",
    "error('x')",
    "return {err='CUSTOM x'}",
    "return redis.error_reply('MY e')",
    "local ok = redis.pcall('incr', 'str') return 1",
]


def _stats(client) -> tuple[dict, dict]:
    errors = client.info("errorstats")
    commands = {name: {k: v for k, v in fields.items() if k in ("calls", "failed_calls", "rejected_calls")}
                for name, fields in client.info("commandstats").items()}
    return errors, commands


@pytest.mark.parametrize("script", ERROR_ACCOUNTING)
def test_errors_inside_scripts_are_counted_as_redis_counts_them(server, reference, script):
    """A command's error inside a script counts once in INFO errorstats, however the
    script passes it on; the script's own errors count once; EVAL fails either way."""
    import redis

    results = []
    for port in (server.port, reference.port):
        client = redis.Redis(port=port)
        client.set("str", "abc")
        client.config_resetstat()
        try:
            client.eval(script, 0)
        except redis.ResponseError:
            pass
        results.append(_stats(client))
    assert results[0] == results[1]


def test_a_library_that_never_ends_loading_is_stopped_as_redis_stops_it(server, reference):
    """Library code runs holding the lock: after half a second it is stopped."""
    compare(server.port, reference.port, r"""
        FUNCTION LOAD "#!lua name=spin\nwhile true do end"
        FUNCTION LOAD "#!lua name=counted\nlocal i = 0 while i < 1000 do i = i + 1 end redis.register_function('counted', function() return i end)"
        FCALL counted 0
        FUNCTION DELETE counted
    """)


TRACKED_SCRIPTS = [
    ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "tk"),
    ("EVAL", "return redis.call('get', KEYS[1])", "1", "tk"),
    ("EVAL_RO", "return redis.call('get', 'tk')", "0"),
    ("EVAL", "return 1", "1", "tk"),
    ("EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "tk"),
    ("EVAL", "return redis.call('get', 'tk')", "1", "other"),
]


@pytest.mark.parametrize("command", TRACKED_SCRIPTS, ids=lambda command: " ".join(command))
def test_client_tracking_of_scripts_matches_redis(server, reference, command):
    """Redis tracks, for a script's read commands, the keys its EVAL named (not the
    keys the script read), and nothing for EVAL_RO itself."""
    import redis

    from tests.helpers import RawConnection

    pushes = []
    for port in (server.port, reference.port):
        with RawConnection(port, 3) as tracking:
            tracking.call("CLIENT", "TRACKING", "on")
            tracking.call(*command)
            writer = redis.Redis(port=port)
            writer.set("tk", "1")
            writer.set("other", "1")
            tracking.send_command("PING")  # the invalidations, if any, come before its reply
            received = []
            while (reply := tracking.read_raw()) != b"+PONG\r\n":
                received.append(reply)
            pushes.append(received)
    assert pushes[0] == pushes[1]
