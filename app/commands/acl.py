"""ACL: the users that connections log in as, and what they may do (app/acl.py keeps
them and enforces their rules).

WHOAMI, USERS, LIST, GETUSER, SETUSER (selectors included), DELUSER, CAT, GENPASS, LOG,
DRYRUN, LOAD, SAVE and HELP.
"""

from __future__ import annotations

import copy
import secrets
import time

from app.acl import DRYRUN, ACLError, UnmatchedParenthesis, User, format_file, join_selectors, parse_file, save_file
from app.commands.arguments import integer, text
from app.commands.registry import ACL_CATEGORY_ORDER, acl_commands, command, container
from app.protocol import ReplyError, SetReply

container("acl", group="server", since="6.0.0", summary="A container for Access List Control commands ")


def _acl(name: str, *, flags: str = "admin noscript loading stale", **kwargs):
    kwargs.setdefault("since", "6.0.0")
    return command(name, parent="acl", group="server", flags=flags, **kwargs)


def _wrong_arguments(client) -> ReplyError:
    # Quoting the subcommand as the client typed it, as Redis does.
    return ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{text(client.argv[1])}'. "
                      "Try ACL HELP.")


@_acl("whoami", arity=2, flags="noscript loading stale",
      summary="Return the name of the user associated to the current connection")
def acl_whoami(client):
    return client.user.name


@_acl("users", arity=2, summary="List the username of all the configured ACL rules",
      complexity="O(N). Where N is the number of configured users.")
def acl_users(client):
    return sorted(client.server.users.by_name)  # Redis keeps users in a radix tree: byte order


@_acl("list", arity=2, summary="List the current ACL rules in ACL config file format",
      complexity="O(N). Where N is the number of configured users.")
def acl_list(client):
    users = client.server.users.by_name
    return [users[name].describe() for name in sorted(users)]


@_acl("getuser", arity=3, summary="Get the rules for a specific ACL user",
      complexity="O(N). Where N is the number of password, command and pattern rules that the user has.")
def acl_getuser(client, name: bytes):
    user = client.server.users.get(name)
    if user is None:
        return None
    return {
        b"flags": SetReply(user.flags()),  # a set in RESP3, as Redis sends it
        b"passwords": list(user.passwords),
        **user.root.fields(),  # commands, keys, channels
        b"selectors": [selector.fields() for selector in user.selectors],
    }


@_acl("setuser", arity=-3, summary="Modify or create the rules for a specific ACL user",
      complexity="O(N). Where N is the number of rules provided.")
def acl_setuser(client, name: bytes, *rules: bytes):
    if b" " in name or b"\0" in name:  # names are words of ACL LIST and of ACL files
        raise ReplyError("ERR Usernames can't contain spaces or null characters")
    try:
        rules = join_selectors(list(rules))  # "(~k*" "+get)" is one selector
    except UnmatchedParenthesis as unmatched:
        raise ReplyError(f"ERR Unmatched parenthesis in acl selector starting at "
                         f"'{_c_text(rules[unmatched.index])}'.") from None
    users = client.server.users
    user = users.get(name)
    # All the rules or none: they are tried on a copy, which replaces the user's
    # settings only once every rule is accepted. The User object itself stays, since
    # the connections logged in as that user hold it.
    trial = copy.deepcopy(user) if user is not None else User(name)
    for rule in rules:
        try:
            trial.apply(rule)
        except ACLError as error:
            raise ReplyError(f"ERR Error in ACL SETUSER modifier '{_c_text(rule)}': {error}") from None
    if user is None:
        users.by_name[name] = trial
    else:
        vars(user).update(vars(trial))
        _disconnect_lost_subscribers(client, user)
    return "OK"


def _disconnect_lost_subscribers(client, user) -> None:
    """Subscribers logged in as ``user`` whose channels it may no longer read are closed."""
    for other in list(client.server.clients.values()):
        if other.user is user and other.subscriptions and not user.allows_subscriptions(other):
            _close(client, other)


def _close(client, other) -> None:
    """Close the connection of ``other``: at once, or after its reply if it is the
    client running this command."""
    if other is client:
        client.close_after_reply = True
    else:
        # Out of its channels now, as Redis frees it at once: a PUBLISH that follows
        # must not count it, whenever its own thread notices the closed socket.
        client.server.pubsub.unsubscribe_all(other)
        other.close()


def _c_text(rule: bytes) -> str:
    """A rule quoted in an error as Redis quotes it, a C string: up to its first NUL."""
    return text(rule.partition(b"\0")[0])


@_acl("deluser", arity=-3, summary="Remove the specified ACL users and the associated rules",
      complexity="O(1) amortized time considering the typical user.")
def acl_deluser(client, *names: bytes):
    server = client.server
    deleted = 0
    for name in names:
        if name == b"default":  # users deleted before it in the same call stay deleted
            raise ReplyError("ERR The 'default' user cannot be removed")
        user = server.users.delete(name)
        if user is None:
            continue
        deleted += 1
        _disconnect_users_of(client, user)
    return deleted


def _disconnect_users_of(client, user) -> None:
    """Connections logged in as a user that is gone are closed (this one after its reply)."""
    server = client.server
    for other in list(server.clients.values()):
        if other.user is user:
            other.user, other.authenticated = server.users.default, False
            _close(client, other)


@_acl("log", arity=-2, summary="List latest events denied because of ACLs in place",
      complexity="O(N) with N being the number of entries shown.")
def acl_log(client, *args: bytes):
    log = client.server.users.log
    if len(args) > 1:
        raise _wrong_arguments(client)
    if args and args[0].lower() == b"reset":
        log.entries = []
        return "OK"
    count = integer(args[0]) if args else 10
    now = time.time()
    return [
        {
            b"count": entry["count"],
            b"reason": entry["reason"].encode(),
            b"context": entry["context"].encode(),
            b"object": entry["object"],
            b"username": entry["username"],
            b"age-seconds": int((now - entry["created"]) * 1000) / 1000,  # Redis counts in ms
            b"client-info": entry["client-info"].encode("utf-8", "surrogateescape"),
        }
        for entry in log.entries[: max(count, 0)]
    ]


@_acl("dryrun", arity=-4, since="7.0.0",
      summary="Returns whether the user can execute the given command without executing the command.",
      complexity="O(1).")
def acl_dryrun(client, username: bytes, name: bytes, *args: bytes):
    user = client.server.users.get(username)
    if user is None:
        raise ReplyError(f"ERR User '{text(username)}' not found")
    from app.dispatch import lookup  # the dispatcher imports the command modules

    argv = [name, *args]
    entry, _start, error = lookup(argv)
    if entry is None:
        raise ReplyError(f"ERR Command '{text(name)}' not found")
    if error is not None:
        raise error
    refused = user.refusal(entry, argv)
    if refused is None:
        return "OK"
    reason, object_ = refused
    what = entry.name if reason == "command" else object_.decode("utf-8", "surrogateescape")
    return DRYRUN[reason].format(what).encode("utf-8", "surrogateescape")  # a key is any bytes


NO_ACL_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL "
    "SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in "
    "order to store users in the Redis configuration."
)


@_acl("load", arity=2, summary="Reload the ACLs from the configured ACL file",
      complexity="O(N). Where N is the number of configured users.")
def acl_load(client):
    server = client.server
    path = server.config["aclfile"]
    if not path:
        raise ReplyError(NO_ACL_FILE)
    try:
        with open(path, "rb") as handle:
            loaded = parse_file(path, handle.read())
    except OSError as error:
        raise ReplyError(f"ERR Error loading ACLs, opening file '{path}': {error.strerror}") from None
    except ACLError as error:
        raise ReplyError(f"ERR {error}") from None
    for user in server.users.replace_all(loaded):
        _disconnect_users_of(client, user)
    return "OK"


@_acl("save", arity=2, summary="Save the current ACL rules in the configured ACL file",
      complexity="O(N). Where N is the number of configured users.")
def acl_save(client):
    path = client.server.config["aclfile"]
    if not path:
        raise ReplyError(NO_ACL_FILE)
    try:
        save_file(path, format_file(client.server.users.by_name))
    except OSError as error:
        raise ReplyError("ERR There was an error trying to save the ACLs. Please check the server logs for "
                         "more information") from error
    return "OK"


@_acl("cat", arity=-2, flags="noscript loading stale",
      summary="List the ACL categories or the commands inside a category",
      complexity="O(1) since the categories and commands are a fixed set.")
def acl_cat(client, *args: bytes):
    if len(args) > 1:
        raise _wrong_arguments(client)
    if not args:
        return [category.encode() for category in ACL_CATEGORY_ORDER]
    category = args[0].decode("utf-8", "replace").lower()
    if category not in ACL_CATEGORY_ORDER:
        raise ReplyError(f"ERR Unknown category '{text(args[0])}'")
    return [entry.name.encode() for entry in acl_commands() if category in entry.acl_categories]


@_acl("genpass", arity=-2, flags="noscript loading stale",
      summary="Generate a pseudorandom secure password to use for ACL users")
def acl_genpass(client, *args: bytes):
    if len(args) > 1:
        raise _wrong_arguments(client)
    bits = integer(args[0]) if args else 256
    if not 0 < bits <= 4096:
        raise ReplyError(
            "ERR ACL GENPASS argument must be the number of bits for the output password, "
            "a positive number up to 4096"
        )
    chars = (bits + 3) // 4  # hex digits: four bits each, rounded up
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@_acl("help", arity=2, flags="loading stale", summary="Show helpful text about the different subcommands")
def acl_help(client):
    return [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ]
