"""Scripts and functions as clients live with them: atomic, stoppable, replicated.

The replies themselves are compared with a real redis-server in
tests/test_differential_scripting.py; here are the behaviours around a script: other
clients never see it halfway, a slow one makes them hear BUSY until SCRIPT KILL (or
SHUTDOWN NOSAVE when it wrote), its writes reach the AOF and replicas as Redis sends
them, WATCH and keyspace notifications see them, ACL rules hold inside it, and
redis-py's own users of scripts (register_script, pipelines, Lock) work.
"""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
import redis
import redis.asyncio

from tests.helpers import redis_server_path, start_ours, start_reference, wait_until

SPIN = "local deadline = tonumber(redis.call('time')[1]) * 1000000 + tonumber(redis.call('time')[2]) + {micros}\n" \
       "while tonumber(redis.call('time')[1]) * 1000000 + tonumber(redis.call('time')[2]) < deadline do end\n"


def test_a_script_is_atomic(r, server):
    """Another client polling the key sees it before the script or after, never between
    the script's two writes."""
    seen = []
    stop = threading.Event()

    def poll():
        other = redis.Redis(port=server.port)
        while not stop.is_set():
            seen.append(other.get("atomic"))

    thread = threading.Thread(target=poll)
    thread.start()
    wait_until(lambda: len(seen) > 10, what="the poller running")
    r.eval("redis.call('set', 'atomic', 'half')\n" + SPIN.format(micros=200_000) +
           "redis.call('set', 'atomic', 'whole')", 0)
    wait_until(lambda: seen[-1] == b"whole", what="the poller seeing the end")
    stop.set()
    thread.join()
    assert b"half" not in seen


@pytest.fixture
def impatient(tmp_path):
    """A server that calls a script busy after 100 ms."""
    with start_ours("--busy-reply-threshold", "100", cwd=str(tmp_path)) as process:
        yield process


def _busy(client) -> bool:
    try:
        client.ping()
    except redis.ResponseError as error:
        return str(error).startswith("BUSY")
    return False


def _run_in_thread(port: int, *command):
    """Send a command from a thread; its reply (or error) lands in the returned list."""
    result = []

    def run():
        try:
            result.append(redis.Redis(port=port).execute_command(*command))
        except redis.RedisError as error:
            result.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return result, thread


def test_busy_script_is_killed(impatient):
    client = redis.Redis(port=impatient.port)
    result, thread = _run_in_thread(impatient.port, "EVAL", "while true do end", 0)
    wait_until(lambda: _busy(client), what="BUSY")
    with pytest.raises(redis.ResponseError, match="^BUSY Redis is busy running a script. You can only call SCRIPT KILL"):
        client.set("k", "v")
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        client.execute_command("FUNCTION", "KILL")  # an EVAL script is not a function
    assert client.script_kill() is True
    thread.join(10)
    assert str(result[0]).startswith("Script killed by user with SCRIPT KILL... script: ")
    assert client.ping() is True
    assert client.set("k", "v") is True


def test_a_script_that_wrote_cannot_be_killed(impatient):
    client = redis.Redis(port=impatient.port)
    result, _thread = _run_in_thread(impatient.port, "EVAL",
                                     "redis.call('set', 'written', '1') while true do end", 0)
    wait_until(lambda: _busy(client), what="BUSY")
    with pytest.raises(redis.ResponseError, match="^UNKILLABLE Sorry the script already executed write commands"):
        client.script_kill()
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        client.shutdown()  # only NOSAVE may end the server now
    try:
        client.shutdown(nosave=True)  # redis-py swallows the closed connection itself
    except redis.ConnectionError:
        pass
    impatient.process.wait(10)
    assert impatient.process.returncode == 0
    assert result == [] or isinstance(result[0], redis.ConnectionError)


def test_busy_function_is_killed_by_function_kill(impatient):
    client = redis.Redis(port=impatient.port)
    client.function_load("#!lua name=spin\nredis.register_function('spin', function() while true do end end)")
    result, thread = _run_in_thread(impatient.port, "FCALL", "spin", 0)
    wait_until(lambda: _busy(client), what="BUSY")
    with pytest.raises(redis.ResponseError, match="You can only call FUNCTION KILL"):
        client.get("k")
    stats = redis.Redis(port=impatient.port, protocol=3).function_stats()
    assert stats[b"running_script"][b"name"] == b"spin"
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        client.script_kill()
    assert client.execute_command("FUNCTION", "KILL") in (True, b"OK")
    thread.join(10)
    assert "killed" in str(result[0])


def test_new_connections_are_served_while_a_script_is_busy(impatient):
    client = redis.Redis(port=impatient.port)
    _result, thread = _run_in_thread(impatient.port, "EVAL", "while true do end", 0)
    wait_until(lambda: _busy(client), what="BUSY")
    fresh = redis.Redis(port=impatient.port)  # connects, and is registered, while busy
    assert _busy(fresh)
    client.script_kill()
    thread.join(10)
    assert fresh.ping() is True


def test_a_table_error_without_err_does_not_take_the_server_down(r):
    """Redis 7.0.15 crashes on ``error({})``; here it is an error reply."""
    with pytest.raises(redis.ResponseError):
        r.eval("error({})", 0)
    assert r.ping() is True


def test_watch_sees_a_script_write(r, server):
    r.set("watched", "0")
    pipe = r.pipeline()
    pipe.watch("watched")
    redis.Redis(port=server.port).eval("redis.call('incr', 'watched')", 0)
    pipe.multi()
    pipe.set("watched", "100")
    with pytest.raises(redis.WatchError):
        pipe.execute()
    assert r.get("watched") == b"1"


def test_eval_inside_multi(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("m", "1")
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "m")
    pipe.get("m")
    assert pipe.execute() == [True, 2, b"2"]


def test_keyspace_notifications_from_a_script(r, server):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        pubsub = redis.Redis(port=server.port).pubsub()
        pubsub.psubscribe("__keyspace@0__:*")
        wait_until(lambda: pubsub.get_message(timeout=0.1) is not None, what="the subscription")
        r.eval("redis.call('set', 'notified', '1') redis.call('lpush', 'notified_list', 'x')", 0)
        events = []
        wait_until(lambda: (events.append(pubsub.get_message(timeout=0.1)) or len([e for e in events if e]) >= 2),
                   what="two events")
        assert [(e["channel"], e["data"]) for e in events if e] == [
            (b"__keyspace@0__:notified", b"set"), (b"__keyspace@0__:notified_list", b"lpush")]
        pubsub.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_acl_rules_hold_inside_a_script(r, server):
    r.acl_setuser("scripter", enabled=True, nopass=True, commands=["+@all", "-set"], keys=["*"])
    try:
        limited = redis.Redis(port=server.port, username="scripter", password="x")
        with pytest.raises(redis.ResponseError,
                           match="The user executing the script can't run this command or subcommand script: "):
            limited.eval("return redis.call('set', 'a', 'b')", 0)
        assert limited.eval("return redis.acl_check_cmd('set', 'a', 'b')", 0) is None
        assert limited.eval("return redis.acl_check_cmd('get', 'a')", 0) == 1
        entry = r.acl_log(count=1)[0]
        assert (entry["reason"], entry["context"], entry["object"], entry["username"]) == \
               ("command", "lua", "set", "scripter")
    finally:
        r.acl_deluser("scripter")
        r.acl_log_reset()


def test_redis_py_register_script_and_pipelines(r):
    r.script_flush()
    increment = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert increment(keys=["counter"], args=[5]) == 5  # EVALSHA, NOSCRIPT, then EVAL
    assert increment(keys=["counter"], args=[5]) == 10
    pipe = r.pipeline()
    increment(keys=["counter"], args=[1], client=pipe)
    increment(keys=["counter"], args=[1], client=pipe)
    assert pipe.execute() == [11, 12]
    r.script_flush()
    pipe = r.pipeline()  # redis-py loads missing scripts before a pipeline runs
    increment(keys=["counter"], args=[1], client=pipe)
    assert pipe.execute() == [13]


def test_redis_py_lock(r, server):
    """redis-py's Lock is three Lua scripts: acquire with a token, extend, release."""
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert r.pttl("resource") > 0
    assert lock.extend(10)
    assert r.pttl("resource") > 5000
    other = redis.Redis(port=server.port).lock("resource", timeout=5)
    assert not other.acquire(blocking=False)
    with pytest.raises(redis.exceptions.LockError):
        other.release()
    lock.release()
    assert r.get("resource") is None

    counter = {"value": 0, "inside": 0, "overlaps": 0}

    def worker():
        client = redis.Redis(port=server.port)
        for _ in range(20):
            with client.lock("shared", timeout=5, blocking_timeout=10, sleep=0.001):
                counter["inside"] += 1
                if counter["inside"] > 1:
                    counter["overlaps"] += 1
                counter["value"] += 1
                counter["inside"] -= 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter == {"value": 80, "inside": 0, "overlaps": 0}


def test_redis_py_asyncio_lock(server):
    async def main():
        client = redis.asyncio.Redis(port=server.port)
        lock = client.lock("async_resource", timeout=5)
        assert await lock.acquire(blocking=False)
        assert await lock.extend(5)
        assert not await client.lock("async_resource", timeout=5).acquire(blocking=False)
        await lock.release()
        assert await client.get("async_resource") is None
        await client.aclose()

    asyncio.run(main())


def _aof_commands(directory) -> bytes:
    folder = os.path.join(directory, "appendonlydir")
    names = sorted(name for name in os.listdir(folder) if name.endswith(".incr.aof"))
    with open(os.path.join(folder, names[-1]), "rb") as handle:
        return handle.read()


SCRIPTS_FOR_AOF = [
    ("EVAL", "redis.call('set', 'a', '1')", 0),
    ("EVAL", "redis.call('set', 'b', '1') redis.call('incr', 'b')", 0),
    ("EVAL", "redis.call('select', '3') redis.call('set', 'c', '1') redis.call('del', 'c')", 0),
    ("EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'e', '1')", 0),
    ("EVAL", "redis.set_repl(redis.REPL_REPLICA) redis.call('set', 'f', '1')", 0),
    ("EVAL", "redis.set_repl(redis.REPL_AOF) redis.call('set', 'g', '1')", 0),
    ("EVAL", "return redis.call('get', 'a')", 0),
    ("EVAL", "redis.call('spop', 'nokey')", 0),
    ("FUNCTION", "LOAD", "#!lua name=aoflib\nredis.register_function('w', function(k, a) "
                         "redis.call('set', k[1], a[1]) return redis.call('incr', 'calls') end)"),
    ("FCALL", "w", 1, "fk", "fv"),
    ("FUNCTION", "DELETE", "aoflib"),
]


def test_script_effects_reach_the_aof_as_redis_writes_them(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    ours_dir.mkdir()
    theirs_dir.mkdir()
    with start_ours("--appendonly", "yes", "--dir", str(ours_dir)) as ours, \
            start_reference("--appendonly", "yes", cwd=str(theirs_dir)) as theirs:
        for process in (ours, theirs):
            client = redis.Redis(port=process.port)
            for command in SCRIPTS_FOR_AOF:
                client.execute_command(*command)
        wait_until(lambda: _aof_commands(ours_dir) == _aof_commands(theirs_dir), timeout=5,
                   what="the same AOF")


def test_script_effects_reach_replicas_wrapped_in_multi(tmp_path):
    with start_ours(cwd=str(tmp_path)) as master, start_ours() as replica:
        replica_client = redis.Redis(port=replica.port)
        replica_client.replicaof("127.0.0.1", master.port)
        client = redis.Redis(port=master.port)
        wait_until(lambda: replica_client.info("replication")["master_link_status"] == "up", what="the link")
        monitor_lines = []
        with replica_client.monitor() as feed:
            client.eval("redis.call('set', 'x', '1') redis.call('incr', 'x')", 0)
            client.function_load("#!lua name=replib\nredis.register_function{function_name='f', "
                                 "callback=function() return 1 end, flags={'no-writes'}}")
            while len(monitor_lines) < 5:
                line = feed.next_command()["command"]
                if line != "SELECT 0":  # Redis' first words after a diskless full sync
                    monitor_lines.append(line)
                if line.startswith("FUNCTION"):
                    break
        assert monitor_lines == ["MULTI", "set x 1", "incr x", "EXEC",
                                 r"FUNCTION LOAD #!lua name=replib\nredis.register_function{function_name='f', "
                                 r"callback=function() return 1 end, flags={'no-writes'}}"]
        wait_until(lambda: replica_client.get("x") == b"2", what="the replica applying it")
        assert replica_client.fcall("f", 0) == 1  # a function that may write would be refused here
        # redis-py turns READONLY errors into ReadOnlyError, without the code. A script
        # with a shebang but no no-writes flag is a write for the dispatcher, as in Redis.
        with pytest.raises(redis.exceptions.ReadOnlyError, match="^You can't write against a read only replica"):
            replica_client.eval("#!lua\nreturn 1", 0)
        assert replica_client.eval("#!lua flags=no-writes\nreturn redis.call('get', 'x')", 0) == b"2"
        with pytest.raises(redis.exceptions.ReadOnlyError, match="^You can't write against a read only replica"):
            replica_client.eval("return redis.call('set', 'x', '3')", 0)


def test_scripting_without_lupa_says_how_to_install_it(tmp_path):
    """The server starts and serves without lupa; only the scripting commands answer an
    error that says what to install."""
    fake = tmp_path / "lupa"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('lupa is hidden by this test')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    with start_ours(cwd=str(tmp_path), env=env) as process:
        client = redis.Redis(port=process.port)
        assert client.ping() is True
        for command in (("EVAL", "return 1", 0), ("SCRIPT", "LOAD", "return 1"),
                        ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('x', function() end)")):
            with pytest.raises(redis.ResponseError, match=r"pip install -e '\.\[scripting\]'"):
                client.execute_command(*command)
        assert client.set("still", "works") is True


def test_startup_does_not_import_lupa(tmp_path):
    """A server that runs no script never loads Lua: it starts as fast as before."""
    marker = tmp_path / "imported"
    fake = tmp_path / "lupa"
    fake.mkdir()
    (fake / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('hidden')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    with start_ours(cwd=str(tmp_path), env=env) as process:
        client = redis.Redis(port=process.port)
        client.set("a", "b")
        client.function_list()
        assert not marker.exists()
        with pytest.raises(redis.ResponseError):
            client.eval("return 1", 0)
        assert marker.exists()


def test_a_script_sees_time_stand_still(r):
    """Keys do not expire halfway through a script (Redis freezes its clock for it)."""
    r.set("brief", "1", px=50)
    value = r.eval(SPIN.format(micros=100_000) + "return redis.call('get', 'brief')", 0)
    assert value == b"1"
    assert r.get("brief") is None
