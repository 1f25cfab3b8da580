"""Start the server: ``python3 -m app.main [redis.conf] [--name value ...]``.

Everything before ``listen`` is kept small: testers and clients connect within a second
of starting the process, so no work that can wait is done before accepting.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from app import acl, log
from app.config import StartupError, load_config
from app.persistence import rdb
from app.persistence.aof_file import LoadFailed
from app.server import open_listeners, serve, start_accepting
from app.state import REDIS_VERSION, ServerState
from app.store.keyspace import now_ms

USAGE = """Usage: ./your_program.sh [/path/to/redis.conf] [--name value ...]
       ./your_program.sh -v | --version
       ./your_program.sh -h | --help

Every configuration parameter can be given as --name value, for example:
       ./your_program.sh --port 6380 --replicaof "localhost 6379"
       ./your_program.sh --dir /tmp/data --dbfilename dump.rdb --appendonly yes
"""


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    if argv and argv[0] in ("-v", "--version"):
        print(f"Redis server v={REDIS_VERSION} (Python reimplementation)")
        return 0
    try:
        config = load_config(argv)
    except StartupError as error:
        print(f"*** FATAL CONFIG ERROR ***\n{error}", file=sys.stderr)
        return 1
    if config["cluster-enabled"] and config["replicaof"]:
        print("*** FATAL CONFIG ERROR ***\nreplicaof directive not allowed in cluster mode", file=sys.stderr)
        return 1
    log.configure(config["loglevel"], config["logfile"])
    config_file = argv[0] if argv and not argv[0].startswith("--") else ""
    state = ServerState(config, config_file)
    if config["aclfile"] and not load_acl_file(state):
        return 1
    try:
        if config["appendonly"]:
            state.aof.upgrade_old_style()  # a pre-7.0 appendonly.aof moves into the AOF directory
    except LoadFailed:
        return 1
    if config["appendonly"] and not os.path.exists(state.aof.manifest_path()) \
            and not os.path.exists(rdb.rdb_path(config)):
        # Nothing to load: a new AOF's directory, file and manifest exist before anyone
        # can connect (the tester looks for them as soon as the port answers). Quick.
        try:
            state.aof.create()
        except LoadFailed:
            return 1
    try:
        listeners = open_listeners(state)
    except OSError as error:
        log.warning(str(error.strerror or error))
        return 1
    state.cluster = None  # a standalone server (app/cluster/state.py otherwise)
    if config["cluster-enabled"] and not start_cluster(state):
        for listener in listeners:
            listener.server_close()
        return 1

    def request_shutdown(signum, _frame):
        if state.loading:
            # The loader runs on this thread: stop now, saving nothing (the keyspace is
            # half loaded), as Redis does from its loading loop.
            log.warning("Received shutdown signal during loading, scheduling shutdown.")
            state.shut_down(save=False)
        log.warning(f"Received {signal.Signals(signum).name} scheduling shutdown...")
        state.shutdown_signalled.set()

    signal.signal(signal.SIGTERM, request_shutdown)
    signal.signal(signal.SIGINT, request_shutdown)
    pidfile = config["pidfile"]
    if pidfile:
        with open(pidfile, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    log.notice(f"Server initialized, version={REDIS_VERSION}, port={config['port']}")
    # Redis answers clients while it loads only every 2 MB read (its first chance comes
    # after that much: loading-process-events-interval-bytes): a small file loads before
    # anyone is answered, so clients never see LOADING for it (the tester connects at
    # once and does not retry); a big one is loaded while we answer LOADING.
    state.loading = True
    answer_while_loading = bytes_to_load(state) >= config["loading-process-events-interval-bytes"]
    if answer_while_loading:
        start_accepting(state, listeners)
    loaded = load_data(state)
    state.loading = False
    if not loaded:
        for listener in listeners:
            listener.server_close()
        return 1
    if state.cluster is not None:
        with state.keyspace.lock:
            state.cluster.slot_keys.rebuild()
            verified = state.cluster.verify_with_data()  # keys of slots it does not serve
        if not verified:
            log.warning("You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.")
            for listener in listeners:
                listener.server_close()
            return 1
        state.cluster.run()  # the bus's links and cron, now that the data is here
    if not answer_while_loading:
        start_accepting(state, listeners)
    log.notice("Ready to accept connections tcp")
    if config["replicaof"]:
        with state.keyspace.lock:
            # Restarted from a file that recorded where we were: continue from there.
            state.replicate_from(config["replicaof"], continue_own_history=state.replication.loaded_history)
    state.aof.start_cron(state.shutdown_requested)
    state.snapshots.start_cron(state.shutdown_requested, lambda: state.aof.rewriting)
    serve(state)


def start_cluster(state: ServerState) -> bool:
    """Cluster mode (Redis: clusterInit): load nodes.conf, or make a new node and write
    it, and listen on the bus port; False (after saying why) if that cannot be done."""
    from app.cluster.nodes import NodesConfError
    from app.cluster.state import ClusterState

    config = state.config
    if not config["cluster-port"] and config["port"] > 65535 - 10000:
        log.warning("Redis port number too high. Cluster communication port is 10,000 port numbers higher than "
                    "your Redis port. Your Redis port number must be 55535 or less.")
        return False
    cluster = ClusterState(state)
    try:
        cluster.load_or_create()
        cluster.start()
    except NodesConfError as error:
        log.warning(str(error))
        return False
    except OSError as error:
        log.warning(f"Cluster mode cannot start: {error.strerror or error}")
        return False
    state.cluster = cluster
    log.notice(f"Running mode=cluster, port={config['port']}.")
    return True


def bytes_to_load(state: ServerState) -> int:
    """The size of what `load_data` will read: the AOF directory or the RDB file."""
    aof = state.aof
    try:
        if state.config["appendonly"] and os.path.exists(aof.manifest_path()):
            return sum(entry.stat().st_size for entry in os.scandir(aof.directory) if entry.is_file())
        return os.path.getsize(rdb.rdb_path(state.config))
    except OSError:
        return 0


def load_acl_file(state: ServerState) -> bool:
    """The users of ``aclfile``, before anything else: a bad file stops the server, as in
    Redis, rather than leaving it open with other users than intended."""
    path = state.config["aclfile"]
    try:
        with open(path, "rb") as handle:
            loaded = acl.parse_file(path, handle.read())
    except OSError as error:
        log.warning(f"Aborting Redis startup because of ACL errors: opening file '{path}': {error.strerror}")
        return False
    except acl.ACLError as error:
        log.warning(f"Aborting Redis startup because of ACL errors: {error}")
        return False
    state.users.replace_all(loaded)
    return True


def load_data(state: ServerState) -> bool:
    """Load the dataset; False (after saying why) if it cannot be loaded.

    With appendonly yes the AOF wins, as in Redis: if its manifest exists, the files it
    lists are replayed and the RDB file is ignored. Without one, the RDB is loaded and
    the AOF started from it (a base holding what was loaded, then an empty incr)."""
    aof = state.aof
    if not state.config["appendonly"]:
        return load_snapshot(state)
    if aof.status != "off":
        return True  # created empty before listening: nothing to load
    try:
        if os.path.exists(aof.manifest_path()):
            aof.load()
        elif load_snapshot(state):
            aof.create()
        else:
            return False
    except LoadFailed:
        return False
    return True


def load_snapshot(state: ServerState) -> bool:
    """Load ``<dir>/<dbfilename>`` if it exists; False (after saying why) if it is bad,
    or holds function libraries that cannot be loaded (without lupa, say): starting
    without them would lose them at the next save.

    Clients that connect meanwhile (a big file) are answered LOADING, but for the few
    commands flagged ``loading`` (INFO shows ``loading:1``).

    The replication ID and offset the file recorded are restored, so that a replica
    continues from its master, and a master's replicas from it (app/replication/master.py)."""
    path = rdb.rdb_path(state.config)
    started = time.monotonic()
    codes: list[bytes] = []
    aux: dict[bytes, bytes] = {}
    try:
        keys = rdb.load_file(path, state.config, now_ms(), len(state.keyspace.databases),
                             rdb.sanitize_on_load(state.config), codes, aux)
        if keys is not None:
            with state.keyspace.lock:
                rdb.install_functions(state.functions, codes, "APPEND")
                rdb.install(state.keyspace, keys)
                state.replication.restore(aux)
    except rdb.RDBError as error:
        log.warning(f"Fatal error loading the DB {path}: {error}. Exiting.")
        return False
    except OSError as error:
        log.warning(f"Fatal error loading the DB {path}: {error.strerror}. Exiting.")
        return False
    if keys is not None:
        log.notice(f"DB loaded from disk: {time.monotonic() - started:.3f} seconds")
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
