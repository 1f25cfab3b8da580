"""CONFIG compared with a real Redis: every parameter's name and default, CONFIG SET's
checks and errors byte for byte; CONFIG REWRITE against the rules of Redis' rewriteConfig."""

from __future__ import annotations

from pathlib import Path

from app.config import PARAMETERS, Config, rewrite_config_text
from tests.differential import compare
from tests.helpers import RawConnection, start_ours

# Values that depend on the machine or on how the test servers are started, not on
# Redis' defaults: compared by name only.
STARTED_DIFFERENTLY = {
    "port": "each server has its own free port",
    "dir": "each server runs in its own temporary directory",
    "bind": "Redis without a config file binds every interface; we bind the loopback ones unless told",
    "save": "the reference is started with --save '' (tests/helpers.py start_reference)",
}


def config_all(port: int) -> dict[bytes, bytes]:
    with RawConnection(port) as connection:
        connection.send_command("CONFIG", "GET", "*")
        reply = connection.read()
    return dict(zip(reply[::2], reply[1::2]))


def test_config_get_star_has_every_parameter_with_redis_defaults(server, reference):
    ours, theirs = config_all(server.port), config_all(reference.port)
    assert len(theirs) > 180
    missing = {name.decode() for name in theirs} - {name.decode() for name in ours}
    assert not missing, f"parameters Redis has and we lack: {sorted(missing)}"
    extra = {name.decode() for name in ours} - {name.decode() for name in theirs}
    assert not extra, f"parameters Redis does not have: {sorted(extra)}"
    different = {
        name.decode(): (ours[name], value)
        for name, value in theirs.items()
        if name in ours and name.decode() not in STARTED_DIFFERENTLY and ours[name] != value
    }
    assert not different, f"values differ (ours, redis): {different}"


def test_hidden_parameters_answer_only_when_named(server, reference):
    """Redis' hidden parameters: CONFIG GET answers them by exact name only, and CONFIG
    SET checks them as any other."""
    compare(server.port, reference.port, """
        CONFIG GET key-load-delay
        = CONFIG GET KEY-LOAD-DELAY rdb-key-save-delay
        CONFIG GET loading-process-events-interval-bytes
        CONFIG GET watchdog-period
        CONFIG GET use-exit-on-panic
        CONFIG GET lua-enable-deprecated-api
        CONFIG GET key-*
        = CONFIG GET *delay*
        CONFIG GET watchdog*
        CONFIG GET *panic*
        CONFIG SET key-load-delay x
        CONFIG SET key-load-delay -5
        CONFIG GET key-load-delay
        CONFIG SET key-load-delay 0
        CONFIG SET loading-process-events-interval-bytes 1
        CONFIG SET watchdog-period -1
        CONFIG SET use-exit-on-panic maybe
        CONFIG SET lua-enable-deprecated-api yes
    """)


def test_config_set_errors_match_redis(server, reference):
    compare(server.port, reference.port, """
        CONFIG SET nosuch 1
        CONFIG SET hz 5 nosuch 1
        CONFIG SET hz
        CONFIG SET hz 1 2
        CONFIG SET hz 5 hz 6
        CONFIG SET maxmemory abc hz 5
        CONFIG SET hz 1 databases 1
        CONFIG SET daemonize no
        CONFIG SET logfile x
        CONFIG SET cluster-enabled yes
        CONFIG SET dbfilename x.rdb
        CONFIG SET Hash-max-ziplist-entries x
        CONFIG SET maxmemory -1
        CONFIG SET maxmemory 1.5
        CONFIG SET maxmemory 12tb
        CONFIG SET proto-max-bulk-len 1000
        CONFIG SET proto-max-bulk-len 99999999999999999999
        CONFIG SET timeout -1
        CONFIG SET timeout 99999999999999999999
        CONFIG SET maxclients 0
        CONFIG SET slowlog-log-slower-than -2
        CONFIG SET active-expire-effort 11
        CONFIG SET activerehashing maybe
        CONFIG SET activedefrag yes
        CONFIG SET maxmemory-policy lru
        CONFIG SET appendfsync sometimes
        CONFIG SET tls-auth-clients perhaps
        CONFIG SET tls-port 6390
        CONFIG SET maxmemory-clients 150%
        CONFIG SET maxmemory-clients x
        CONFIG SET oom-score-adj-values "1 2"
        CONFIG SET oom-score-adj-values "1 2 3000"
        CONFIG SET shutdown-on-sigterm "save nosave"
        CONFIG SET shutdown-on-sigterm later
        CONFIG SET proc-title-template "{nope}"
        CONFIG SET cluster-announce-hostname a_b
        CONFIG SET latency-tracking-info-percentiles "50 x"
        CONFIG SET latency-tracking-info-percentiles "101"
        CONFIG SET client-output-buffer-limit "normal 1 2"
        CONFIG SET client-output-buffer-limit "nobody 1 2 3"
        CONFIG SET client-output-buffer-limit "normal x 2 3"
        CONFIG SET notify-keyspace-events Q
        CONFIG SET save "100"
        CONFIG SET list-max-listpack-size x
    """)


def test_config_set_accepts_several_at_once_and_aliases_answer_under_both_names(server, reference):
    compare(server.port, reference.port, """
        CONFIG SET hash-max-ziplist-entries 5 hash-max-listpack-entries 6 maxmemory-clients 5% lua-time-limit 100
        = CONFIG GET hash-max-*-entries
        CONFIG GET hash-max-ziplist-entries
        CONFIG GET maxmemory-clients
        CONFIG GET busy-reply-threshold
        CONFIG GET lua-time-limit
        CONFIG SET shutdown-on-sigint "default now" list-max-ziplist-size -3 oom-score-adj-values "1 2 3"
        CONFIG GET shutdown-on-sigint
        CONFIG GET list-max-listpack-size
        CONFIG GET oom-score-adj-values
        CONFIG SET maxmemory 2gb latency-tracking-info-percentiles "99.99 50"
        CONFIG GET maxmemory
        CONFIG GET latency-tracking-info-percentiles
        # all or nothing: the error comes last, nothing changes
        CONFIG SET hz 20 maxmemory nonsense
        CONFIG GET hz
        CONFIG SET hash-max-listpack-entries 512 maxmemory-clients 0 busy-reply-threshold 5000
        CONFIG SET shutdown-on-sigint default list-max-listpack-size -2 oom-score-adj-values "0 200 800"
        CONFIG SET maxmemory 0 latency-tracking-info-percentiles "50 99 99.9"
    """)


# --------------------------------------------------------------------------- CONFIG REWRITE


def test_config_rewrite_without_a_config_file_is_an_error(server, reference):
    compare(server.port, reference.port, "CONFIG REWRITE")


def test_config_rewrite_keeps_comments_and_order_and_updates_values(tmp_path: Path):
    path = tmp_path / "redis.conf"
    path.write_text(
        "# my server\n"
        "hz 20\n"
        "\n\n\n"
        "# memory\n"
        "maxmemory 1mb\n"
        "hash-max-ziplist-entries 64\n"
        "save 100 1\n"
        "save 200 2\n"
        "slowlog-max-len 256\n"
    )
    with start_ours(config_file=str(path), cwd=str(tmp_path)) as ours:
        with ours.raw() as connection:
            assert connection.call("CONFIG", "SET", "maxmemory", "3gb", "slowlog-max-len", "128") == b"+OK\r\n"
            assert connection.call("CONFIG", "SET", "save", "60 5", "latency-monitor-threshold", "7") == b"+OK\r\n"
            assert connection.call("CONFIG", "REWRITE") == b"+OK\r\n"
    text = path.read_text()
    lines = text.splitlines()
    assert lines[:2] == ["# my server", "hz 20"]
    assert lines[2:4] == ["", "# memory"]  # three blank lines become one
    assert lines[4] == "maxmemory 3gb"  # in place, in units as Redis writes sizes
    assert lines[5] == "hash-max-listpack-entries 64"  # an alias becomes the parameter's name
    assert lines[6] == "save 60 5"  # the first save line reused, the second dropped
    assert "save 200 2" not in lines
    assert "slowlog-max-len 128" in lines  # back at its default, but the file named it: kept
    signature = lines.index("# Generated by CONFIG REWRITE")
    appended = lines[signature + 1:]
    assert "latency-monitor-threshold 7" in appended
    assert any(line.startswith('dir "') for line in appended)  # dir is always written
    assert not any(line.startswith("timeout") for line in appended)  # defaults are not added
    # The rewritten file starts a server with the same values.
    with start_ours(config_file=str(path), cwd=str(tmp_path)) as again:
        with again.raw() as connection:
            assert connection.call("CONFIG", "GET", "maxmemory") == b"*2\r\n$9\r\nmaxmemory\r\n$10\r\n3221225472\r\n"
            assert connection.call("CONFIG", "GET", "latency-monitor-threshold").endswith(b"$1\r\n7\r\n")


def test_config_rewrite_text_rules():
    config = Config()
    config.set("requirepass", 'se"cret')
    config.set("client-output-buffer-limit", "pubsub 64mb 16mb 90")
    text = rewrite_config_text(config, "# Generated by CONFIG REWRITE\nport 7000\nunknown-directive 1\n")
    lines = text.splitlines()
    assert lines[0] == "# Generated by CONFIG REWRITE"  # already there: not added twice
    assert lines[1] == "port 6379"  # the current value (the file's port is not ours here)
    assert lines[2] == "unknown-directive 1"  # what we do not know stays as it is
    assert 'requirepass "se\\"cret"' in lines  # strings quoted with C escapes, as sdscatrepr
    assert "client-output-buffer-limit pubsub 64mb 16mb 90" in lines  # only the class that changed
    assert lines.count("# Generated by CONFIG REWRITE") == 1
    assert len(PARAMETERS) > 150


def test_a_cluster_nodes_rewrite_keeps_no_replicaof_line():
    """A cluster replica's master is in nodes.conf: CONFIG REWRITE drops the replicaof
    line, as Redis' rewriteConfigReplicaOfOption does, since a cluster node refuses to
    start with one."""
    config = Config()
    config.set("replicaof", "127.0.0.1 7000")
    assert "replicaof 127.0.0.1 7000" in rewrite_config_text(config, "").splitlines()
    config.set("cluster-enabled", "yes")
    text = rewrite_config_text(config, "replicaof 127.0.0.1 7000\n")
    assert "replicaof" not in text and "cluster-enabled yes" in text.splitlines()
