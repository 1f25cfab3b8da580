"""Transactions and pub/sub under concurrent clients, and through redis-py's own helpers
(pipelines, WATCH, transaction(), PubSub, redis.asyncio), in RESP2 and RESP3."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import redis
import redis.asyncio

from tests.differential_streams import wait_for_no_subscribers

PROTOCOLS = [2, 3]
TIMEOUT = 10  # seconds: a hang guard for every redis-py call


@pytest.fixture
def quiet(server):
    """PUBLISH counts every receiver: start where nobody is subscribed to anything."""
    wait_for_no_subscribers(server.port)


def run_threads(target, count: int, timeout: float = 60.0) -> list:
    """Run ``target(index)`` on ``count`` threads; return their results, re-raising the
    first failure. The timeout only guards against a hang."""
    results: list = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            results[index] = target(index)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        assert not thread.is_alive(), "a thread is still running: hang?"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_exec_is_atomic_under_twenty_writers(server, protocol):
    """20 writers each run MULTI; INCR a; INCR b; EXEC over and over while a reader's own
    transactions read both: no reader ever sees a != b, and no increment is lost."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    r.delete("atomic:a", "atomic:b")
    rounds = 40
    stop = threading.Event()
    mismatches = []
    reads = [0]

    def reader() -> None:
        client = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
        while not stop.is_set():
            pipe = client.pipeline(transaction=True)
            a, b = pipe.get("atomic:a").get("atomic:b").execute()
            reads[0] += 1
            if a != b:
                mismatches.append((a, b))
        client.close()

    def writer(_index: int) -> None:
        client = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
        for _ in range(rounds):
            pipe = client.pipeline(transaction=True)
            assert pipe.incr("atomic:a").incr("atomic:b").execute()[0] > 0
        client.close()

    watcher = threading.Thread(target=reader, daemon=True)
    watcher.start()
    try:
        run_threads(writer, 20)
    finally:
        stop.set()
        watcher.join(10)
    assert not mismatches
    assert reads[0] > 0
    assert int(r.get("atomic:a")) == int(r.get("atomic:b")) == 20 * rounds
    r.close()


def test_raw_multi_exec_from_concurrent_connections_interleave_only_whole(server):
    """Raw MULTI/EXEC, each writer appending its own letter three times per transaction:
    the string only ever grows by three identical letters at a time."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port)
    r.delete("atomic:s")

    def writer(index: int) -> None:
        client = redis.Redis(socket_timeout=TIMEOUT, port=server.port)
        letter = chr(ord("a") + index)
        for _ in range(20):
            client.execute_command("MULTI")
            for _ in range(3):
                assert client.execute_command("APPEND", "atomic:s", letter) == b"QUEUED"
            assert len(client.execute_command("EXEC")) == 3
        client.close()

    run_threads(writer, 20)
    value = r.get("atomic:s").decode()
    assert len(value) == 20 * 20 * 3
    assert all(value[i] == value[i + 1] == value[i + 2] for i in range(0, len(value), 3))
    r.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_watch_races_are_decided_correctly(server, protocol):
    """N clients increment one counter with WATCH/GET/MULTI/SET/EXEC, retrying when EXEC
    aborts: the final value is exactly the number of successful EXECs."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    r.set("race:counter", 0)
    per_thread = 25

    def incrementer(index: int) -> int:
        client = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
        done = 0
        with client.pipeline(transaction=True) as pipe:
            while done < per_thread:
                try:
                    pipe.watch("race:counter")
                    value = int(pipe.get("race:counter"))
                    pipe.multi()
                    pipe.set("race:counter", value + 1)
                    pipe.execute()
                    done += 1
                except redis.WatchError:
                    continue  # another client got there first: read again
        client.close()
        return done

    successes = sum(run_threads(incrementer, 10))
    assert successes == 10 * per_thread
    assert int(r.get("race:counter")) == successes
    r.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_redis_py_pipeline_transaction(server, protocol):
    """pipeline(transaction=True) sends MULTI ... EXEC and returns each reply, errors in
    their slot when raise_on_error=False."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    r.delete("py:a", "py:s")
    r.set("py:s", "text")
    pipe = r.pipeline(transaction=True)
    pipe.set("py:a", 1).incr("py:a").get("py:a").incr("py:s")
    results = pipe.execute(raise_on_error=False)
    assert results[:3] == [True, 2, b"2"]
    assert isinstance(results[3], redis.ResponseError)
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.pipeline(transaction=True).incr("py:s").execute()
    r.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_redis_py_watch_raises_watch_error(server, protocol):
    """A watched key changed by another client: redis-py raises WatchError at execute."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    other = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    r.set("py:w", 1)
    with r.pipeline() as pipe:
        pipe.watch("py:w")
        other.set("py:w", 2)
        pipe.multi()
        pipe.set("py:w", 3)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("py:w") == b"2"
    r.close()
    other.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_redis_py_transaction_helper_retries(server, protocol):
    """Redis.transaction() retries its function until EXEC succeeds: a change made by
    another client during the first attempt costs one retry, not an update."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    other = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    r.set("py:t", 10)
    attempts = []

    def double(pipe) -> None:
        value = int(pipe.get("py:t"))
        if not attempts:
            other.incr("py:t")  # a concurrent change: this attempt must fail
        attempts.append(value)
        pipe.multi()
        pipe.set("py:t", value * 2)

    result = r.transaction(double, "py:t")
    assert result == [True]
    assert attempts == [10, 11]
    assert r.get("py:t") == b"22"
    r.close()
    other.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_redis_py_pubsub(server, quiet, protocol):
    """redis-py's PubSub: subscribe, psubscribe, messages, unsubscribe, PUBSUB counts."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    pubsub = r.pubsub()
    pubsub.subscribe(f"cc-news-{protocol}")
    pubsub.psubscribe(f"cc-*-{protocol}")
    got = [pubsub.get_message(timeout=5) for _ in range(2)]
    assert [m["type"] for m in got] == ["subscribe", "psubscribe"]
    assert r.pubsub_numsub(f"cc-news-{protocol}") == [(f"cc-news-{protocol}".encode(), 1)]
    assert r.publish(f"cc-news-{protocol}", "hello") == 2
    messages = [pubsub.get_message(timeout=5) for _ in range(2)]
    assert [(m["type"], m["data"]) for m in messages] == [("message", b"hello"), ("pmessage", b"hello")]
    pubsub.unsubscribe()
    pubsub.punsubscribe()
    assert [pubsub.get_message(timeout=5)["type"] for _ in range(2)] == ["unsubscribe", "punsubscribe"]
    assert r.publish(f"cc-news-{protocol}", "lost") == 0
    pubsub.close()
    r.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_redis_py_pubsub_listener_thread(server, quiet, protocol):
    """A PubSub run in its own thread (run_in_thread) gets every message, in order."""
    r = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
    received = []
    done = threading.Event()

    def handler(message) -> None:
        received.append(message["data"])
        if len(received) == 200:
            done.set()

    pubsub = r.pubsub()
    pubsub.subscribe(**{f"cc-thread-{protocol}": handler})
    worker = pubsub.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        deadline = time.monotonic() + 10
        while r.pubsub_numsub(f"cc-thread-{protocol}")[0][1] != 1:
            assert time.monotonic() < deadline, "never subscribed"
            time.sleep(0.005)
        for i in range(200):
            r.publish(f"cc-thread-{protocol}", str(i))
        assert done.wait(10)
        assert received == [str(i).encode() for i in range(200)]
    finally:
        worker.stop()
        worker.join(5)
        pubsub.close()
        r.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_redis_asyncio_pubsub_and_transaction(server, quiet, protocol):
    """redis.asyncio: a subscriber task receives what another coroutine publishes, and a
    transaction pipeline runs atomically."""

    async def scenario() -> None:
        client = redis.asyncio.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
        publisher = redis.asyncio.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
        channel = f"cc-async-{protocol}"
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe(channel)
            first = await pubsub.get_message(timeout=5)
            assert first["type"] == "subscribe"

            async def listen() -> list[bytes]:
                got = []
                while len(got) < 50:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is not None:
                        got.append(message["data"])
                return got

            listener = asyncio.create_task(listen())
            for i in range(50):
                assert await publisher.publish(channel, f"m{i}") == 1
            got = await asyncio.wait_for(listener, 20)
            assert got == [f"m{i}".encode() for i in range(50)]
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()

            await publisher.delete("cc-async-n")
            async with publisher.pipeline(transaction=True) as pipe:
                results = await pipe.incr("cc-async-n").incrby("cc-async-n", 5).get("cc-async-n").execute()
            assert results == [1, 6, b"6"]
        finally:
            await client.aclose()
            await publisher.aclose()

    asyncio.run(scenario())
