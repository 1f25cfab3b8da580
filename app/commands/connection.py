"""Connection commands: PING, ECHO, SELECT, AUTH, HELLO, RESET, QUIT and CLIENT."""

from __future__ import annotations

from app.acl import log_refusal
from app.commands.arguments import SYNTAX_ERROR, int32, integer, keyword, text
from app.commands.registry import command, container
from app.protocol import NO_REPLY, ReplyError, SetReply, Verbatim
from app.tracking import ClientTracking
from app.state import REDIS_VERSION

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def _connection(name: str, **kwargs):
    return command(name, group="connection", acl=kwargs.pop("acl", "connection"), **kwargs)


@_connection("ping", arity=-1, flags="fast", since="1.0.0", summary="Ping the server",
             tips="request_policy:all_shards response_policy:all_succeeded")
def ping(client, message: bytes | None = None, *extra: bytes):
    if extra:
        raise ReplyError("ERR wrong number of arguments for 'ping' command")
    if client.subscriptions and client.protocol == 2:  # subscribed mode answers in its own shape
        return [b"pong", b"" if message is None else message]
    return "PONG" if message is None else message


@_connection("echo", arity=2, flags="loading stale fast", since="1.0.0", summary="Echo the given string")
def echo(client, message: bytes):
    return message


@_connection("select", arity=2, flags="loading stale fast", since="1.0.0",
             summary="Change the selected database for the current connection")
def select(client, index: bytes):
    number = int32(index)
    if client.server.cluster is not None and number != 0:
        raise ReplyError("ERR SELECT is not allowed in cluster mode")
    databases = client.server.keyspace.databases
    if not 0 <= number < len(databases):
        raise ReplyError("ERR DB index is out of range")
    client.db = databases[number]
    return "OK"


def authenticate(client, username: bytes, password: bytes) -> None:
    """Log ``client`` in as ``username`` (app/acl.py checks the password); raises
    WRONGPASS, which does not say whether the user, its state or the password was wrong."""
    user = client.server.users.authenticate(username, password)
    if user is None:
        log_refusal(client, "auth", client.argv[0], username)  # ACL LOG: the command as typed
        raise ReplyError(WRONGPASS)
    client.user = user
    client.authenticated = True


@_connection("auth", arity=-2, flags="noscript loading stale fast no_auth allow_busy", since="1.0.0",
             summary="Authenticate to the server",
             complexity="O(N) where N is the number of passwords defined for the user")
def auth(client, *args: bytes):
    if len(args) > 2:
        raise ReplyError(SYNTAX_ERROR)
    if len(args) == 1:
        # The pre-ACL form names no user: it is the default one, and a password for a
        # user that needs none is most likely a configuration mistake, so say so.
        if client.server.users.default.nopass:
            raise ReplyError(
                "ERR AUTH <password> called without any password configured for the default user. "
                "Are you sure your configuration is correct?"
            )
        authenticate(client, b"default", args[0])
    else:
        authenticate(client, args[0], args[1])
    return "OK"


def _valid_name(name: bytes) -> bool:
    # Names show up in CLIENT LIST, one client per line and fields split by spaces.
    return all(33 <= byte <= 126 for byte in name)


def _set_name(client, name: bytes) -> None:
    if not _valid_name(name):
        raise ReplyError("ERR Client names cannot contain spaces, newlines or special characters.")
    client.name = name


@_connection("hello", arity=-1, flags="noscript loading stale fast no_auth allow_busy", since="6.0.0",
             summary="Handshake with Redis")
def hello(client, *args: bytes):
    protocol = client.protocol
    if args:
        version = integer(args[0], "ERR Protocol version is not an integer or out of range")
        if version not in (2, 3):
            raise ReplyError("NOPROTO unsupported protocol version")
        protocol = version
    credentials = name = None
    i = 1
    while i < len(args):
        option = keyword(args[i])
        if option == b"AUTH" and i + 2 < len(args):
            credentials = args[i + 1], args[i + 2]
            i += 3
        elif option == b"SETNAME" and i + 1 < len(args):
            name = args[i + 1]
            i += 2
        else:
            raise ReplyError(f"ERR Syntax error in HELLO option '{text(args[i])}'")
    if credentials is not None:
        authenticate(client, *credentials)
    if not client.authenticated:
        raise ReplyError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time"
        )
    if name is not None:
        _set_name(client, name)
    client.protocol = protocol  # the reply below is already encoded in the new version
    return {
        b"server": b"redis",
        b"version": REDIS_VERSION.encode(),
        b"proto": protocol,
        b"id": client.id,
        b"mode": b"standalone",
        b"role": b"replica" if client.server.role == "slave" else b"master",
        b"modules": [],
    }


@_connection("reset", arity=1, flags="noscript loading stale fast no_auth allow_busy", since="6.2.0",
             summary="Reset the connection")
def reset(client):
    client.reset()
    return "RESET"


@_connection("quit", arity=-1, flags="noscript loading stale fast no_auth allow_busy", since="1.0.0",
             summary="Close the connection")
def quit_(client, *_args: bytes):
    client.close_after_reply = True
    return "OK"


# --------------------------------------------------------------------------- CLIENT

container("client", group="connection", since="2.4.0", summary="A container for client connection commands")


def _client(name: str, **kwargs):
    return command(name, parent="client", group="connection", acl="connection", **kwargs)


@_client("id", arity=2, flags="noscript loading stale", since="5.0.0",
         summary="Returns the client ID for the current connection")
def client_id(client):
    return client.id


@_client("setname", arity=3, flags="noscript loading stale", since="2.6.9",
         summary="Set the current connection name")
def client_setname(client, name: bytes):
    _set_name(client, name)
    return "OK"


@_client("getname", arity=2, flags="noscript loading stale", since="2.6.9",
         summary="Get the current connection name")
def client_getname(client):
    return client.name or None


@_client("setinfo", arity=4, flags="noscript loading stale", since="7.2.0",
         summary="Sets information specific to the client or connection.")
def client_setinfo(client, attribute: bytes, value: bytes):
    field = attribute.lower()
    if field not in (b"lib-name", b"lib-ver"):
        raise ReplyError(f"ERR Unrecognized option '{text(attribute)}'")
    if not _valid_name(value):
        raise ReplyError(f"ERR {text(attribute)} cannot contain spaces, newlines or special characters.")
    if field == b"lib-name":
        client.lib_name = value
    else:
        client.lib_ver = value
    return "OK"


@_client("info", arity=2, flags="noscript loading stale", since="6.2.0", tips="nondeterministic_output",
         summary="Returns information about the current client connection.")
def client_info(client):
    return Verbatim(client.info_line() + "\n")


_CLIENT_TYPES = (b"normal", b"master", b"replica", b"slave", b"pubsub")


def _client_type(name: bytes) -> bytes:
    lowered = name.lower()
    if lowered not in _CLIENT_TYPES:
        raise ReplyError(f"ERR Unknown client type '{text(name)}'")
    return b"replica" if lowered == b"slave" else lowered


def _is_type(other, kind: bytes) -> bool:
    """A replica's connection, our master's, a subscriber, or a normal client."""
    if other.replica is not None:
        actual = b"replica"
    elif other.is_master:
        actual = b"master"
    else:
        actual = b"pubsub" if other.subscriptions else b"normal"
    return kind == actual


@_client("list", arity=-2, flags="admin noscript loading stale", since="2.4.0", tips="nondeterministic_output",
         summary="Get the list of client connections", complexity="O(N) where N is the number of client connections")
def client_list(client, *args: bytes):
    clients = list(client.server.clients.values())
    if len(args) == 2 and keyword(args[0]) == b"TYPE":
        kind = _client_type(args[1])
        clients = [c for c in clients if _is_type(c, kind)]
    elif len(args) >= 2 and keyword(args[0]) == b"ID":
        ids = set()
        for arg in args[1:]:
            # Any 64-bit number: one below 1 names no client, as in Redis, not an error.
            ids.add(integer(arg, "ERR Invalid client ID"))
        clients = [c for c in clients if c.id in ids]
    elif args:
        raise ReplyError(SYNTAX_ERROR)
    return Verbatim("".join(c.info_line() + "\n" for c in clients))


@_client("kill", arity=-3, flags="admin noscript loading stale", since="2.4.0",
         summary="Kill the connection of a client", complexity="O(N) where N is the number of client connections")
def client_kill(client, *args: bytes):
    clients = client.server.clients.values()
    if len(args) == 1:  # the old form: CLIENT KILL ip:port
        victims = [c for c in clients if c.addr.encode() == args[0]]
        if not victims:
            raise ReplyError("ERR No such client")
        _kill(client, victims)
        return "OK"
    if len(args) % 2:
        raise ReplyError(SYNTAX_ERROR)
    skip_me = True
    tests = []
    for option, value in zip(args[::2], args[1::2]):
        option = keyword(option)
        if option == b"ID":
            number = integer(value, "ERR client-id should be greater than 0")
            if number <= 0:
                raise ReplyError("ERR client-id should be greater than 0")
            tests.append(lambda c, n=number: c.id == n)
        elif option == b"TYPE":
            kind = _client_type(value)
            tests.append(lambda c, k=kind: _is_type(c, k))
        elif option == b"ADDR":
            tests.append(lambda c, a=value: c.addr.encode() == a)
        elif option == b"LADDR":
            tests.append(lambda c, a=value: c.laddr.encode() == a)
        elif option == b"USER":
            user = client.server.users.get(value)
            if user is None:
                raise ReplyError(f"ERR No such user '{text(value)}'")
            tests.append(lambda c, u=user: c.user is u)
        elif option == b"SKIPME":
            if value.lower() not in (b"yes", b"no"):
                raise ReplyError(SYNTAX_ERROR)
            skip_me = value.lower() == b"yes"
        else:
            raise ReplyError(SYNTAX_ERROR)
    victims = [c for c in clients if all(test(c) for test in tests) and not (skip_me and c is client)]
    _kill(client, victims)
    return len(victims)


def _kill(client, victims) -> None:
    for victim in victims:
        if victim is client:
            client.close_after_reply = True  # answer first, then hang up
        else:
            victim.close()


@_client("unblock", arity=-3, flags="admin noscript loading stale", since="5.0.0",
         summary="Unblock a client blocked in a blocking command from a different connection",
         complexity="O(log N) where N is the number of client connections")
def client_unblock(client, client_id: bytes, *reason: bytes):
    if len(reason) > 1:
        raise ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{text(client.argv[1])}'. "
                         "Try CLIENT HELP.")
    as_error = False
    if reason:
        word = keyword(reason[0])
        if word not in (b"TIMEOUT", b"ERROR"):
            raise ReplyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        as_error = word == b"ERROR"
    target = client.server.clients.get(integer(client_id))
    if target is None:
        return 0
    # The blocked command returns as if it had timed out, or fails with this error.
    error = ReplyError("UNBLOCKED client unblocked via CLIENT UNBLOCK") if as_error else None
    return int(client.server.keyspace.blocked.cancel(target, error))


@_client("pause", arity=-3, flags="admin noscript loading stale", since="2.9.50",
         summary="Stop processing commands from clients for some time", complexity="O(1)")
def client_pause(client, timeout: bytes, *mode: bytes):
    milliseconds = integer(timeout, "ERR timeout is not an integer or out of range")
    if milliseconds < 0:
        raise ReplyError("ERR timeout is negative")
    if len(mode) > 1:
        raise ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{text(client.argv[1])}'. "
                         "Try CLIENT HELP.")
    everything = True
    if mode:
        word = keyword(mode[0])
        if word not in (b"WRITE", b"ALL"):
            raise ReplyError("ERR CLIENT PAUSE mode must be WRITE or ALL")
        everything = word == b"ALL"
    client.server.pause(milliseconds, everything)
    return "OK"


@_client("unpause", arity=2, flags="admin noscript loading stale", since="6.2.0",
         summary="Resume processing of clients that were paused", complexity="O(N) Where N is the number of paused clients")
def client_unpause(client):
    if client.server.pause_end:
        client.server.unpause()
    return "OK"


@_client("tracking", arity=-3, flags="noscript loading stale", since="6.0.0",
         summary="Enable or disable server assisted client side caching support",
         complexity="O(1). Some options may introduce additional complexity.")
def client_tracking(client, switch: bytes, *options: bytes):
    on = keyword(switch)
    if on not in (b"ON", b"OFF"):
        raise ReplyError(SYNTAX_ERROR)
    redirect, bcast, optin, optout, noloop, prefixes = 0, False, False, False, False, []
    i = 0
    while i < len(options):
        word = keyword(options[i])
        more = i + 1 < len(options)
        if word == b"REDIRECT" and more:
            i += 1
            redirect = integer(options[i])
            if redirect not in client.server.clients:
                raise ReplyError("ERR The client ID you want redirect to does not exist")
        elif word == b"BCAST":
            bcast = True
        elif word == b"OPTIN":
            optin = True
        elif word == b"OPTOUT":
            optout = True
        elif word == b"NOLOOP":
            noloop = True
        elif word == b"PREFIX" and more:
            i += 1
            prefixes.append(options[i])
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    tracking = client.server.tracking
    if on == b"OFF":
        tracking.disable(client)
        return "OK"
    if prefixes and not bcast:
        raise ReplyError("ERR PREFIX option requires BCAST mode to be enabled")
    current = client.tracking
    if current is not None and current.bcast != bcast:
        raise ReplyError("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
                         "then re-enabling it with a different mode.")
    if optin and optout:
        raise ReplyError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    if (optin or optout) and bcast:
        raise ReplyError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if current is not None and (current.optin != optin or current.optout != optout):
        raise ReplyError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
                         "then re-enabling it with a different mode.")
    for j, prefix in enumerate(prefixes):
        for other in prefixes[j + 1:]:
            if prefix.startswith(other) or other.startswith(prefix):
                raise ReplyError(f"ERR Prefix '{text(prefix)}' overlaps with another provided prefix "
                                 f"'{text(other)}'. Prefixes for a single client must not overlap.")
    if current is not None:
        prefixes = current.prefixes + [p for p in prefixes if p not in current.prefixes]
        tracking.disable(client)
    tracking.enable(client, ClientTracking(redirect, bcast, prefixes or ([b""] if bcast else []), optin, optout,
                                           noloop))
    return "OK"


@_client("caching", arity=3, flags="noscript loading stale", since="6.0.0",
         summary="Instruct the server about tracking or not keys in the next request")
def client_caching(client, answer: bytes):
    options = client.tracking
    if options is None or not (options.optin or options.optout):
        raise ReplyError("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
                         "OPTOUT mode enabled")
    word = keyword(answer)
    if word == b"YES" and options.optin:
        options.caching = True
    elif word == b"NO" and options.optout:
        options.caching = False
    elif word == b"YES":
        raise ReplyError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    elif word == b"NO":
        raise ReplyError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    else:
        raise ReplyError(SYNTAX_ERROR)
    return "OK"


@_client("getredir", arity=2, flags="noscript loading stale", since="6.0.0",
         summary="Get tracking notifications redirection client ID if any")
def client_getredir(client):
    return -1 if client.tracking is None else client.tracking.redirect


@_client("trackinginfo", arity=2, flags="noscript loading stale", since="6.2.0",
         summary="Return information about server assisted client side caching for the current connection")
def client_trackinginfo(client):
    options = client.tracking
    if options is None:
        return {b"flags": SetReply([b"off"]), b"redirect": -1, b"prefixes": []}
    flags = [b"on"]
    if options.bcast:
        flags.append(b"bcast")
    if options.optin:
        flags.append(b"optin")
        if options.caching is True:
            flags.append(b"caching-yes")
    if options.optout:
        flags.append(b"optout")
        if options.caching is False:
            flags.append(b"caching-no")
    if options.noloop:
        flags.append(b"noloop")
    if options.redirect and options.redirect not in client.server.clients:
        flags.append(b"broken_redirect")
    return {b"flags": SetReply(flags), b"redirect": options.redirect,
            b"prefixes": [p for p in options.prefixes if p or not options.bcast]}


@_client("no-touch", arity=3, flags="noscript loading stale", since="7.2.0",
         summary="Controls whether commands sent by the client affect the LRU/LFU of accessed keys")
def client_no_touch(client, switch: bytes):
    """From Redis 7.2: a client that only inspects keys (a monitoring tool) leaves their
    idle time as it was; TOUCH still touches."""
    word = keyword(switch)
    if word not in (b"ON", b"OFF"):
        raise ReplyError(SYNTAX_ERROR)
    client.no_touch = word == b"ON"
    return "OK"


@_client("no-evict", arity=3, flags="admin noscript loading stale", since="7.0.0",
         summary="Set client eviction mode for the current connection")
def client_no_evict(client, mode: bytes):
    mode = keyword(mode)
    if mode not in (b"ON", b"OFF"):
        raise ReplyError(SYNTAX_ERROR)
    client.no_evict = mode == b"ON"
    return "OK"


@_client("reply", arity=3, flags="noscript loading stale", since="3.2.0",
         summary="Instruct the server whether to reply to commands")
def client_reply(client, mode: bytes):
    mode = keyword(mode)
    if mode not in (b"ON", b"OFF", b"SKIP"):
        raise ReplyError(SYNTAX_ERROR)
    if mode == b"SKIP" and client.reply_mode == b"OFF":
        return NO_REPLY  # already silent
    client.set_reply_mode(mode)
    return "OK"  # muted by the dispatcher unless the mode is ON


@_client("help", arity=2, flags="loading stale", since="5.0.0", summary="Show helpful text about the different subcommands")
def client_help(client):
    return [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client library name or version.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "HELP",
        "    Prints this help.",
    ]
