"""ACL users: who a connection is, and the rules Redis would show for each user.

Redis 7 replaced the single ``requirepass`` with users. Every connection starts as the
``default`` user, and is authenticated at once only if that user is enabled and needs no
password; AUTH or HELLO ... AUTH log it in as any user whose password matches.

A `User` keeps what ACL GETUSER and ACL LIST show:

- ``enabled`` (on/off), ``nopass``, and the payload-sanitizing flag (for RESTORE);
- ``passwords``: SHA-256 hex digests, never the passwords themselves, compared with
  `hmac.compare_digest` so that the time an AUTH takes says nothing about how much
  of a digest matched;
- the command, key and channel rules, kept as the text Redis prints (``+@all``, ``~*``,
  ``&*``) in a `Permissions` (Redis calls it a selector): the user's root permissions,
  and one more for each ``(...)`` rule, any of which may allow a command.

The dispatcher asks `User.refusal` before every command of a user that is not
``unrestricted``: the command against the rules (its categories come from the command
table, app/commands/registry.py), each key the command names (app/commands/keyspecs.py)
against the key patterns and the access they grant, each channel against the channel
patterns; the command runs if the root permissions or one selector allow all of it. A
refusal is a NOPERM error and an entry in the ACL LOG (`AclLog`).

`User.apply` takes one ACL SETUSER rule; `Users` is the registry, one per server
(``ServerState.users``), changed only with the keyspace lock held, like everything else
commands touch.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from app.glob import compile_glob
from app.protocol import ReplyError, split_inline


def _command_table():
    """The command table, imported when first needed: app/state.py imports this module,
    and the command modules import app/state.py."""
    from app.commands import registry

    return registry


class ACLError(ValueError):
    """A rule ACL SETUSER refuses; the message is Redis' reason (after the modifier)."""


SYNTAX = "Syntax error"
UNKNOWN_COMMAND = "Unknown command or category name in ACL"
BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
KEY_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
    "effect. Try 'resetkeys' to start with an empty list of patterns"
)
FIRST_ARG_OF_SUBCOMMAND = "Allowing first-arg of a subcommand is not supported"
CHANNEL_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have "
    "any effect. Try 'resetchannels' to start with an empty list of channels"
)
_HEX = frozenset(b"0123456789abcdef")


def password_digest(password: bytes) -> bytes:
    """How a password is stored and shown: its SHA-256 digest in lowercase hex."""
    return hashlib.sha256(password).hexdigest().encode()


def _valid_digest(digest: bytes) -> bytes:
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise ACLError(BAD_HASH)
    return digest


# acl-pubsub-default, which the server keeps current (ServerState.apply_config): whether
# new users, new selectors and "reset" start with every channel (allchannels) or none
# (resetchannels, Redis 7.0's default). Redis reads it from its global config as well.
PUBSUB_DEFAULT = {"all": False}


class Permissions:
    """What may be run, on which keys and channels: Redis' *selector*.

    Every user has one, its root permissions, set by the rules given outside
    parentheses; each ``(...)`` rule of ACL SETUSER adds another. A new set allows
    nothing: no command, no key, and no channel unless acl-pubsub-default says all.
    """

    def __init__(self):
        # Key patterns, in order, with the access they grant: "RW" for ~p, "R" for
        # %R~p, "W" for %W~p. ``all_keys`` is ~* / allkeys, printed as ~*.
        self.all_keys = False
        self.key_patterns: dict[bytes, str] = {}
        self.all_channels = PUBSUB_DEFAULT["all"]
        self.channel_patterns: list[bytes] = []
        # Commands: +@all or -@all, then the rules after it (see `_command_rule`).
        self.all_commands = False
        self.command_rules: list[tuple[str, bytes]] = []  # ("+" or "-", b"get" / b"@string")
        # The verdicts found so far, by command name, and the compiled key patterns:
        # both are dropped by every rule (`apply`).
        self._verdicts: dict[str, bool] = {}
        self._key_globs: list | None = None

    @classmethod
    def from_selector(cls, text: bytes) -> Permissions:
        """The permissions of a ``(...)`` rule, ``text`` being what the parentheses hold.

        Its rules are split as Redis' sdssplitargs splits them (as redis-cli splits a
        line): at blanks, with quotes allowed. Unbalanced quotes give no rules at all,
        hence a selector that allows nothing, as in Redis.
        """
        permissions = cls()
        for rule in split_inline(text) or []:
            permissions.apply(rule)
        return permissions

    def allows_everything(self) -> bool:
        return self.all_commands and not self.command_rules and self.all_keys and self.all_channels

    # ------------------------------------------------------------------ rules

    def apply(self, rule: bytes) -> None:
        """Apply one rule about commands, keys or channels (words are case-insensitive,
        as Redis reads them); raises ACLError with Redis' reason."""
        try:
            self._apply(rule)
        finally:
            self._verdicts = {}
            self._key_globs = None

    def _apply(self, rule: bytes) -> None:
        word = rule.lower()
        if word in (b"allkeys", b"~*"):
            self.all_keys = True
            self.key_patterns = {}
        elif word == b"resetkeys":
            self.all_keys = False
            self.key_patterns = {}
        elif word in (b"allchannels", b"&*"):
            self.all_channels = True
            self.channel_patterns = []
        elif word == b"resetchannels":
            self.all_channels = False
            self.channel_patterns = []
        elif word in (b"allcommands", b"+@all"):
            self.all_commands, self.command_rules = True, []
        elif word in (b"nocommands", b"-@all"):
            self.all_commands, self.command_rules = False, []
        elif rule[:1] in (b"~", b"%"):
            self._key_rule(rule)
        elif rule[:1] == b"&":
            self._channel_rule(rule[1:])
        elif rule[:1] in (b"+", b"-"):
            self._command_rule(rule[:1].decode(), rule[1:].lower())
        else:
            raise ACLError(SYNTAX)

    def _key_rule(self, rule: bytes) -> None:
        """~pattern, or %R~pattern, %W~pattern, %RW~pattern: the access comes first."""
        if self.all_keys:
            raise ACLError(KEY_AFTER_ALL)
        access, pattern = ("RW", rule[1:]) if rule[:1] == b"~" else _key_access(rule[1:])
        if _has_spaces(pattern):
            raise ACLError(SYNTAX)  # patterns are words of ACL LIST and of ACL files
        # A pattern given twice keeps its place and gains the new access, as in Redis.
        previous = self.key_patterns.get(pattern, "")
        self.key_patterns[pattern] = "RW" if set(previous + access) == {"R", "W"} else access

    def _channel_rule(self, pattern: bytes) -> None:
        if self.all_channels:
            raise ACLError(CHANNEL_AFTER_ALL)
        if _has_spaces(pattern):
            raise ACLError(SYNTAX)
        if pattern not in self.channel_patterns:
            self.channel_patterns.append(pattern)

    def _command_rule(self, sign: str, name: bytes) -> None:
        """+cmd, -cmd, +@category, -@category, +cmd|sub (or +cmd|firstarg).

        Redis keeps a bitmap of allowed commands and describes it again when asked;
        here the rules are kept, in order, with the ones that no longer say anything
        dropped: a rule replaces earlier ones on the same name, a category overrides
        earlier rules on its commands, and a rule on a command that changes nothing is
        not kept. For rules without overlapping categories this prints what Redis 7.0
        prints; several single commands may come out in another order (Redis lists them
        in its hash table's order, which changes from one run to the next).
        """
        if name.startswith(b"@"):
            category = name[1:].decode("utf-8", "replace")
            if category not in _command_table().ACL_CATEGORY_ORDER:
                raise ACLError(UNKNOWN_COMMAND)
            self.command_rules = [
                (s, n) for s, n in self.command_rules if n != name and category not in _categories_of(n)
            ]
            self.command_rules.append((sign, name))
            return
        if sign == "+" and b"|" in name:
            _check_allow_rule(name)
        elif _rule_command(name) is None:
            raise ACLError(UNKNOWN_COMMAND)
        self.command_rules = [(s, n) for s, n in self.command_rules if n != name]
        # A rule on a subcommand (or first argument) that its command's rule already
        # settles says nothing: +config|get after +config is dropped, as in Redis.
        parent = name.partition(b"|")[0] if b"|" in name else None
        if self._allows(name, parent) != (sign == "+"):
            self.command_rules.append((sign, name))

    def _allows(self, name: bytes, parent: bytes | None = None) -> bool:
        """Whether the rules so far let ``name`` (a command's full name) run; with
        ``parent``, a rule on that container counts as one on the command."""
        allowed = self.all_commands
        categories = _categories_of(name)
        for sign, rule in self.command_rules:
            if rule == name or rule == parent or (rule.startswith(b"@") and rule[1:].decode() in categories):
                allowed = sign == "+"
        return allowed

    # ------------------------------------------------------------------ enforcement

    def refusal(self, entry, argv: list[bytes], keys=None) -> tuple[str, int, bytes] | None:
        """Why these permissions do not allow ``argv`` (``entry`` is its command), as
        Redis' ACLSelectorCheckCmd, in its order: ("command", 0, its name), ("key", n,
        the key) or ("channel", n, the channel), n counting the command's keys (or
        channels) from 0; None if they allow it. ``keys``, when given, are the
        command's keys (`keys_of`), found once for all of a user's selectors."""
        if not self.command_allowed(entry, argv):
            return "command", 0, entry.name.encode()
        if not self.all_keys:
            if keys is None:
                keys = _keys_of(entry, argv)
            for position, (key, flags) in enumerate(keys):
                if not self.key_allowed(key, flags):
                    return "key", position, key
        if not self.all_channels:
            for position, (channel, is_pattern) in enumerate(_channels_of(entry, argv)):
                if not self.channel_allowed(channel, is_pattern):
                    return "channel", position, channel
        return None

    def command_allowed(self, entry, argv: list[bytes]) -> bool:
        """The command rules, replayed in order: a rule on the command, on its
        container (CONFIG for CONFIG GET) or on one of its categories decides, the last
        one winning; a first-argument rule (+select|0) can only allow. Commands that
        run before login (AUTH, HELLO) are always allowed, as in Redis."""
        if self.all_commands and not self.command_rules or entry.no_auth:
            return True
        name = entry.name
        verdict = self._verdicts.get(name)
        if verdict is None:
            parent = name.partition("|")[0].encode() if "|" in name else None
            verdict = self._verdicts[name] = self._allows(name.encode(), parent)
        if not verdict and len(argv) > 1 and "|" not in name:
            first = name.encode() + b"|" + argv[1].lower()
            return any(sign == "+" and rule == first for sign, rule in self.command_rules)
        return verdict

    def key_allowed(self, key: bytes, spec_flags: str) -> bool:
        """Whether a pattern matches ``key`` and grants the access the key spec needs:
        read for ``access``, write for ``insert``, ``delete`` or ``update``."""
        if self.all_keys:
            return True
        needs = _ACCESS_NEEDED.get(spec_flags)
        if needs is None:
            needs = _ACCESS_NEEDED[spec_flags] = _access_needed(spec_flags)
        if self._key_globs is None:
            self._key_globs = [(compile_glob(pattern), set(access)) for pattern, access in self.key_patterns.items()]
        for glob, access in self._key_globs:
            if needs <= access and glob.match(key):
                return True
        return False

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        """A channel must match one of the patterns; a pattern (PSUBSCRIBE) must be one
        of them, letter for letter."""
        if self.all_channels:
            return True
        if is_pattern:
            return channel in self.channel_patterns
        return any(compile_glob(pattern).match(channel) for pattern in self.channel_patterns)

    # ------------------------------------------------------------------ descriptions

    def commands_text(self) -> bytes:
        rules = [b"+@all" if self.all_commands else b"-@all"]
        rules += [sign.encode() + name for sign, name in self.command_rules]
        return b" ".join(rules)

    def keys_text(self) -> bytes:
        if self.all_keys:
            return b"~*"
        prefixes = {"RW": b"~", "R": b"%R~", "W": b"%W~"}
        return b" ".join(prefixes[access] + pattern for pattern, access in self.key_patterns.items())

    def channels_text(self) -> bytes:
        if self.all_channels:
            return b"&*"
        return b" ".join(b"&" + pattern for pattern in self.channel_patterns)

    def fields(self) -> dict[bytes, bytes]:
        """What ACL GETUSER shows of them, for the root and for each selector alike."""
        return {b"commands": self.commands_text(), b"keys": self.keys_text(), b"channels": self.channels_text()}

    def describe(self) -> bytes:
        """The rules that rebuild them, as ACL LIST writes them (Redis: ACLDescribeSelector)."""
        parts = []
        if self.all_keys or self.key_patterns:
            parts.append(self.keys_text())
        if not self.all_channels:
            parts.append(b"resetchannels")  # a new selector's channels depend on acl-pubsub-default
        if self.all_channels or self.channel_patterns:
            parts.append(self.channels_text())
        parts.append(self.commands_text())
        return b" ".join(parts)


def _access_needed(spec_flags: str) -> frozenset[str]:
    """The access a key spec's flags need: read ("R") for ``access``, write ("W") for
    ``insert``, ``delete`` or ``update``."""
    words = set(spec_flags.split())
    needs = set()
    if "access" in words:
        needs.add("R")
    if words & {"insert", "delete", "update"}:
        needs.add("W")
    return frozenset(needs)


_ACCESS_NEEDED: dict[str, frozenset[str]] = {}  # spec flags -> `_access_needed`, worked out once


def _keys_of(entry, argv: list[bytes]) -> list[tuple[bytes, str]]:
    """app/commands/keyspecs.py's `keys_of`, imported on first use: the command table,
    which that module reads, imports this one."""
    global _keys_of
    from app.commands.keyspecs import keys_of

    _keys_of = keys_of
    return keys_of(entry, argv)


# When no permissions allow a command, Redis reports the most telling refusal: one on a
# channel over one on a key over one on the command (its ACL_DENIED_* order).
_REFUSAL_WEIGHT = {"command": 1, "key": 2, "channel": 4}


class User:
    """One user. A new user is off, has no password, and may run nothing on nothing."""

    def __init__(self, name: bytes):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize_payload: bytes | None = None  # b"sanitize-payload", b"skip-sanitize-payload"
        self.passwords: list[bytes] = []  # hex digests, in the order they were added
        self.root = Permissions()
        self.selectors: list[Permissions] = []  # the "(...)" rules, in the order given
        # What the dispatcher reads: True when the user may run anything on anything
        # (the root or one selector allows it all), so that checking costs one
        # attribute test. Every rule sets it again (`apply`).
        self.unrestricted = False

    # ------------------------------------------------------------------ authentication

    def logs_in_freely(self) -> bool:
        """Whether a connection as this user needs no password: on and nopass."""
        return self.enabled and self.nopass

    def check_password(self, password: bytes) -> bool:
        """AUTH: enabled, and nopass or one of the digests matches.

        Every stored digest is compared, each in constant time, so the reply time does
        not depend on which digest (or how much of it) matched.
        """
        if not self.enabled:
            return False
        if self.nopass:
            return True
        digest = password_digest(password)
        matched = False
        for stored in self.passwords:
            matched |= hmac.compare_digest(digest, stored)
        return matched

    # ------------------------------------------------------------------ ACL SETUSER

    def apply(self, rule: bytes) -> None:
        """Apply one ACL SETUSER rule (a selector split over several arguments already
        joined by `join_selectors`); raises ACLError with Redis' reason."""
        try:
            self._apply(rule)
        finally:
            self.unrestricted = self.root.allows_everything() or any(
                selector.allows_everything() for selector in self.selectors)

    def _apply(self, rule: bytes) -> None:
        if not rule:
            return  # an empty rule changes nothing (Redis: ACLSetUser)
        word = rule.lower()
        if word == b"on":
            self.enabled = True
        elif word == b"off":
            self.enabled = False
        elif word == b"nopass":
            self.nopass = True
            self.passwords = []
        elif word == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif word in (b"sanitize-payload", b"skip-sanitize-payload"):
            self.sanitize_payload = word
        elif word == b"clearselectors":
            self.selectors = []  # the root permissions stay
        elif word == b"reset":
            # What Redis' "reset" expands to, channels as acl-pubsub-default says.
            channels = b"allchannels" if PUBSUB_DEFAULT["all"] else b"resetchannels"
            for part in (b"resetpass", b"resetkeys", channels, b"off", b"sanitize-payload",
                         b"clearselectors", b"-@all"):
                self._apply(part)
        elif rule[:1] == b">":
            self._add_password(password_digest(rule[1:]))
        elif rule[:1] == b"#":
            self._add_password(_valid_digest(rule[1:]))
        elif rule[:1] == b"<":
            self._remove_password(password_digest(rule[1:]))
        elif rule[:1] == b"!":
            self._remove_password(_valid_digest(rule[1:]))
        elif rule[:1] == b"(" and rule[-1:] == b")":
            self.selectors.append(Permissions.from_selector(rule[1:-1]))
        else:
            self.root.apply(rule)

    def _add_password(self, digest: bytes) -> None:
        if digest not in self.passwords:
            self.passwords.append(digest)
        self.nopass = False  # a password means the user needs one

    def _remove_password(self, digest: bytes) -> None:
        if digest not in self.passwords:
            raise ACLError(NO_SUCH_PASSWORD)
        self.passwords.remove(digest)
        self.nopass = False

    # ------------------------------------------------------------------ enforcement

    def allows_subscriptions(self, client) -> bool:
        """Whether every channel and pattern ``client`` is subscribed to is still allowed
        (by the root permissions or one selector). ACL SETUSER closes the subscribers
        that lost one, as Redis' ACLKillPubsubClientsIfNeeded."""
        every = (self.root, *self.selectors)

        def allowed(channel: bytes, is_pattern: bool) -> bool:
            return any(permissions.channel_allowed(channel, is_pattern) for permissions in every)

        return (all(allowed(channel, False) for channel in client.channels | client.shard_channels)
                and all(allowed(pattern, True) for pattern in client.patterns))

    def refusal(self, entry, argv: list[bytes]) -> tuple[str, bytes] | None:
        """Why this user may not run ``argv`` (``entry`` is its command): ("command",
        its name), ("key", the key) or ("channel", the channel); None if it may.

        As Redis' ACLCheckAllUserCommandPerm: the root permissions, then each selector,
        the first that allows the whole command (its keys and channels too) letting
        it run. When none does, the refusal told is the heaviest (`_REFUSAL_WEIGHT`),
        and between two on keys (or channels) the one on the key named later.
        """
        if not self.selectors:  # most users: nothing to weigh
            refused = self.root.refusal(entry, argv)
            return None if refused is None else (refused[0], refused[2])
        keys = _keys_of(entry, argv)
        heaviest = None
        for permissions in (self.root, *self.selectors):
            refused = permissions.refusal(entry, argv, keys)
            if refused is None:
                return None
            weight = (_REFUSAL_WEIGHT[refused[0]], refused[1])
            if heaviest is None or weight > heaviest[0]:
                heaviest = weight, refused
        reason, _position, object_ = heaviest[1]
        return reason, object_

    # ------------------------------------------------------------------ descriptions

    def flags(self) -> list[bytes]:
        """The flags, in Redis' order (ACL GETUSER's ``flags``)."""
        flags = [b"on" if self.enabled else b"off"]
        if self.nopass:
            flags.append(b"nopass")
        if self.sanitize_payload is not None:
            flags.append(self.sanitize_payload)
        return flags

    def describe(self) -> bytes:
        """The user as a line of ACL LIST (and of an ACL file): the rules that rebuild it,
        each selector in parentheses after the root permissions."""
        parts = [b"user", self.name, *self.flags()]
        parts += [b"#" + digest for digest in self.passwords]
        parts.append(self.root.describe())
        parts += [b"(" + selector.describe() + b")" for selector in self.selectors]
        return b" ".join(parts)


class UnmatchedParenthesis(ValueError):
    """A selector opened, "(~k*", and never closed; ``index`` is the rule that opened it."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def join_selectors(rules: list[bytes]) -> list[bytes]:
    """The rules with each selector in one piece.

    A selector may be written over several arguments of ACL SETUSER (or words of an
    ACL file line), "(~k*" "+get)": from a rule that starts with "(" and does not end
    with ")" to the next that ends with ")", they are joined with spaces, as Redis'
    ACLMergeSelectorArguments joins them (a second opening restarts the selector).
    """
    joined: list[bytes] = []
    opened = None  # the index of the rule that opened the selector being joined
    parts: list[bytes] = []
    for index, rule in enumerate(rules):
        if rule[:1] == b"(" and rule[-1:] != b")":
            opened, parts = index, [rule]
        elif opened is not None:
            parts.append(rule)
            if rule[-1:] == b")":
                joined.append(b" ".join(parts))
                opened = None
        else:
            joined.append(rule)
    if opened is not None:
        raise UnmatchedParenthesis(opened)
    return joined


def _key_access(spec: bytes) -> tuple[str, bytes]:
    """The access and the pattern of a "%RW~pattern" rule (``spec`` is what follows
    the %), read as Redis reads it: R and W at most once each, in either case, up to
    the first ~; without a ~ the pattern is empty."""
    access = ""
    for index, byte in enumerate(spec):
        letter = chr(byte).upper()
        if letter in ("R", "W") and letter not in access:
            access += letter
        elif letter == "~":
            spec = spec[index + 1:]
            break
        else:
            raise ACLError(SYNTAX)
    else:
        spec = b""
    if not access:
        raise ACLError(SYNTAX)
    return ("RW" if len(access) == 2 else access), spec


def _has_spaces(pattern: bytes) -> bool:
    """Whether a pattern holds a blank or a NUL, which Redis refuses (Redis:
    ACLStringHasSpaces, with C's isspace)."""
    return any(byte in b" \t\n\r\x0b\x0c\x00" for byte in pattern)


def _rule_command(name: bytes):
    """The command a rule names, found as Redis' ACLLookupCommand finds it: b"get" or
    b"config|get"; None for anything else (b"get|x", b"config|", b"a|b|c")."""
    parts = name.split(b"|")
    entry = _command_table().acl_command(parts[0])
    if entry is None or len(parts) == 1:
        return entry
    return entry.subcommands.get(parts[1]) if len(parts) == 2 else None


def _check_allow_rule(name: bytes) -> None:
    """+cmd|sub or +cmd|first-arg: split at the last |, the left part must be a command
    that is not a subcommand, and the right part must be a subcommand of it, or any
    first argument when it has none."""
    command, _, last = name.rpartition(b"|")
    entry = _rule_command(command)
    if entry is None:
        raise ACLError(UNKNOWN_COMMAND)
    if "|" in entry.name:
        raise ACLError(FIRST_ARG_OF_SUBCOMMAND)
    if not last:
        raise ACLError(SYNTAX)
    if entry.subcommands and last not in entry.subcommands:
        raise ACLError(UNKNOWN_COMMAND)


def _categories_of(name: bytes) -> tuple[str, ...]:
    """The ACL categories of a command named in a rule (b"get", b"config|get"); none for
    categories themselves and for first-argument rules such as b"select|0"."""
    if name.startswith(b"@"):
        return ()
    table = _command_table()
    entry = table.command_by_name(name.decode("utf-8", "replace"), table.acl_command)
    return entry.acl_categories if entry is not None else ()


# Commands whose arguments are channels: (first channel, whether they are patterns).
_CHANNEL_ARGUMENTS = {
    "publish": (1, False), "spublish": (1, False), "subscribe": (1, False), "ssubscribe": (1, False),
    "psubscribe": (1, True),
}


def _channels_of(entry, argv: list[bytes]) -> list[tuple[bytes, bool]]:
    """The channels a command names; PUBLISH names one, SUBSCRIBE all its arguments."""
    found = _CHANNEL_ARGUMENTS.get(entry.name)
    if found is None:
        return []
    first, is_pattern = found
    if entry.name in ("publish", "spublish"):
        return [(argv[first], is_pattern)]
    return [(channel, is_pattern) for channel in argv[first:]]


class AclLog:
    """ACL LOG: the latest refusals, newest first; a refusal like one already logged
    (same reason, context, object and user) counts again instead of taking a line."""

    def __init__(self):
        self.entries: list[dict] = []

    def add(self, reason: str, context: str, object_: bytes, username: bytes, client_info: str,
            max_len: int) -> None:
        now = time.time()
        for entry in self.entries:
            if (entry["reason"], entry["context"], entry["object"], entry["username"]) == \
                    (reason, context, object_, username):
                entry["count"] += 1
                entry["created"] = now
                entry["client-info"] = client_info
                self.entries.remove(entry)
                self.entries.insert(0, entry)
                return
        self.entries.insert(0, {"count": 1, "reason": reason, "context": context, "object": object_,
                                "username": username, "created": now, "client-info": client_info})
        del self.entries[max_len:]


class Users:
    """Every user, by name, starting with ``default``: on, nopass, all keys, all
    channels, all commands, which lets any connection in until a password is set."""

    def __init__(self):
        default = User(b"default")
        for rule in (b"on", b"nopass", b"allkeys", b"allchannels", b"allcommands"):
            default.apply(rule)
        self.default = default
        self.by_name: dict[bytes, User] = {b"default": default}
        self.log = AclLog()

    def get(self, name: bytes) -> User | None:
        return self.by_name.get(name)

    def delete(self, name: bytes) -> User | None:
        return self.by_name.pop(name, None)

    def authenticate(self, name: bytes, password: bytes) -> User | None:
        """The user ``name`` if ``password`` logs it in; None otherwise (whether the user
        is missing, disabled or the password wrong: the client is not told which)."""
        user = self.by_name.get(name)
        return user if user is not None and user.check_password(password) else None

    def replace_all(self, loaded: dict[bytes, User]) -> set[User]:
        """ACL LOAD: the users of the file replace ours. The default user keeps its
        object (connections hold it) and takes the file's rules if it has any; returns
        the users that are gone, whose connections must go too."""
        gone = {user for name, user in self.by_name.items() if name != b"default"}
        if b"default" in loaded:
            vars(self.default).update(vars(loaded.pop(b"default")))
            self.default.name = b"default"
        kept = {}
        for name, user in loaded.items():
            old = self.by_name.get(name)
            if old is not None:  # the same name: keep the object its connections hold
                vars(old).update(vars(user))
                gone.discard(old)
                user = old
            kept[name] = user
        self.by_name = {b"default": self.default, **kept}
        return gone

    def follow_requirepass(self, value: str) -> None:
        """Apply ``requirepass`` to the default user (at start-up, and whenever CONFIG SET
        sets it, even to the same text), as Redis does: that single password replaces
        the others, and an empty one makes the user nopass."""
        self.default.apply(b"resetpass")
        if value:
            self.default.apply(b">" + value.encode("utf-8", "surrogateescape"))
        else:
            self.default.apply(b"nopass")


# NOPERM errors, by what was refused (Redis 7.0's texts).
NOPERM = {
    "command": "NOPERM this user has no permissions to run the '{}' command",
    "key": "NOPERM this user has no permissions to access one of the keys used as arguments",
    "channel": "NOPERM this user has no permissions to access one of the channels used as arguments",
}
# ACL DRYRUN says the same in a sentence naming the object.
DRYRUN = {
    "command": "This user has no permissions to run the '{}' command",
    "key": "This user has no permissions to access the '{}' key",
    "channel": "This user has no permissions to access the '{}' channel",
}


def log_refusal(client, reason: str, object_: bytes, username: bytes, context: str | None = None) -> None:
    """One line of ACL LOG for a refusal of ``client``'s command (or its failed AUTH);
    ``context`` is "lua" for a command a script ran."""
    server = client.server
    if context is None:
        context = "multi" if client.in_exec else "toplevel"
    server.users.log.add(reason, context, object_, username, client.info_line(), server.config["acllog-max-len"])


def check(client, entry, argv: list[bytes]):
    """The dispatcher's ACL step for a user that is not unrestricted: None if the user
    may run ``argv``, otherwise the NOPERM error, logged in ACL LOG."""
    refused = client.user.refusal(entry, argv)
    if refused is None:
        return None
    reason, object_ = refused
    log_refusal(client, reason, object_, client.user.name)
    return ReplyError(NOPERM[reason].format(entry.name))


# --------------------------------------------------------------------------- ACL files


def parse_file(path: str, data: bytes) -> dict[bytes, User]:
    """The users an ACL file describes (Redis: ACLLoadFromFile), one ``user <name>
    <rule>...`` line each. Every line is checked before anything changes; problems are
    gathered, as Redis reports them, into one ACLError, and then nothing is loaded."""
    users: dict[bytes, User] = {}
    seen: set[bytes] = set()  # names met, their rules accepted or not
    errors = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.strip(b" \t\r\n")
        if not line:
            continue
        # Words are split at each space, with no quoting (Redis: sdssplitlen).
        argv = line.split(b" ")
        if argv[0] != b"user" or len(argv) < 2:
            errors.append(f"{path}:{number} should start with user keyword followed by the username. ")
            continue
        name = argv[1].strip(b"\t\r\n")
        if name in seen:
            errors.append(f"WARNING: Duplicate user '{name.decode('utf-8', 'replace')}' found on line {number}. ")
            continue
        seen.add(name)
        try:
            rules = join_selectors(argv[2:])
        except UnmatchedParenthesis:
            # Redis 7.0.15 crashes on such a line; later versions say this.
            errors.append(f"{path}:{number}: Unmatched parenthesis in selector definition.")
            continue
        user = User(name)
        line_errors = _file_rule_errors(user, rules, f"{path}:{number}")
        if line_errors:
            errors += line_errors
        else:
            users[name] = user
    if errors:
        raise ACLError("".join(errors) + "WARNING: ACL errors detected, no change to the previously active "
                       "ACL rules was performed")
    return users


def _file_rule_errors(user: User, rules: list[bytes], where: str) -> list[str]:
    """Apply every rule of a file line (each trimmed of tabs and line ends once
    selectors are joined) and say what went wrong, as Redis 7.0 does: every unknown
    command, naming its rule, but of the other errors only the first, without the
    rule (it may hold a password, and it may be what made the next rules fail)."""
    errors = []
    other_error_told = False
    for rule in rules:
        rule = rule.strip(b"\t\r\n")
        try:
            user.apply(rule)
        except ACLError as error:
            if str(error) == UNKNOWN_COMMAND:
                errors.append(f"{where}: Error in applying operation '{rule.decode('utf-8', 'replace')}': {error}. ")
            elif not other_error_told:
                errors.append(f"{where}: {error}. ")
                other_error_told = True
    return errors


def format_file(users: dict[bytes, User]) -> bytes:
    """ACL SAVE: every user as the line ACL LIST shows, in name order."""
    return b"".join(users[name].describe() + b"\n" for name in sorted(users))


def save_file(path: str, data: bytes) -> None:
    """Through a temporary file, fsync, then rename, as Redis' ACLSaveToFile: a crash
    leaves the old file whole."""
    temporary = f"{path}-{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)

