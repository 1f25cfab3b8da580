"""RESP, the Redis serialization protocol: bytes in, commands out; replies in, bytes out.

This module knows nothing of sockets, threads or the keyspace, so it can be tested with
plain byte strings.

Requests
    A client sends either an array of bulk strings (``*2\\r\\n$4\\r\\nECHO\\r\\n$2\\r\\nhi\\r\\n``,
    what every client library sends) or an *inline* command (``ECHO hi\\r\\n``, what a
    person types into telnet). `RequestParser` turns a stream of such bytes into lists of
    arguments. It is incremental: it keeps what it has not consumed and resumes inside a
    half-received array, so a 512 MB value arriving in 64 KB pieces is not re-parsed
    again and again.

Replies
    A command returns a plain Python value and `encode_reply` turns it into bytes for the
    connection's protocol version (RESP2, or RESP3 after ``HELLO 3``). Commands never
    think about the wire format:

    ==================  ======================  =======================
    Python value        RESP2                   RESP3
    ==================  ======================  =======================
    ``str``             ``+OK``                 ``+OK``
    `ReplyError`        ``-ERR ...``            ``-ERR ...``
    `RawError`          ``-any text``           ``-any text``
    ``int``             ``:1``                  ``:1``
    ``bytes``           ``$3 foo``              ``$3 foo``
    ``None``            ``$-1``                 ``_``
    `NULL_ARRAY`        ``*-1``                 ``_``
    ``list``            ``*2 ...``              ``*2 ...``
    ``dict``            flat ``*4 ...``         ``%2 ...``
    `SetReply`          ``*2 ...``              ``~2 ...``
    `Push`              ``*2 ...``              ``>2 ...``
    `Replies`           each item in turn       each item in turn
    ``float``           ``$4 1.5``              ``,1.5``
    `DoubleText`        ``$4 1.50``             ``,1.50``
    ``bool``            ``:1``                  ``#t``
    `Verbatim`          ``$n text``             ``=n txt:text``
    `BigNumber`         ``$n digits``           ``(digits``
    `BigNumberText`     ``$n text``             ``(text``
    `Attributed`        the reply alone         ``|n pairs`` + reply
    `NO_REPLY`          nothing                 nothing
    ==================  ======================  =======================
"""

from __future__ import annotations

from app.numeric import parse_int

# Redis refuses an inline command, or the count line of an array, longer than this
# (PROTO_INLINE_MAX_SIZE) instead of buffering forever while waiting for a newline.
INLINE_MAX_SIZE = 64 * 1024
# An array may announce at most INT_MAX elements (the argc of a C client is an int).
MULTIBULK_MAX_LEN = 2**31 - 1
DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024  # proto-max-bulk-len
# Until a client has authenticated (when a password is required) Redis accepts only
# small commands, so a stranger cannot make it buffer megabytes.
UNAUTHENTICATED_MAX_ARGS = 10
UNAUTHENTICATED_MAX_BULK_LEN = 16384


class ProtocolError(Exception):
    """The client broke the protocol: Redis answers with the message and hangs up."""

    def __init__(self, message: str):
        super().__init__(message)
        self.reply = ReplyError("ERR Protocol error: " + message)


# --------------------------------------------------------------------------- requests

_QUOTE_OR_ODD = (b'"', b"'", b"\x00", b"\x0b", b"\x0c")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = b"0123456789abcdefABCDEF"
_BLANK = b" \t\n\r\x0b\x0c"  # C isspace()
_TOKEN_END = b" \n\r\t"  # what ends an unquoted token (plus the end of the line)


def split_inline(line: bytes) -> list[bytes] | None:
    """Split an inline command into arguments like Redis' ``sdssplitargs``.

    Double quotes allow escapes (``\\n``, ``\\x41``...), single quotes only ``\\'``. A closing
    quote must be followed by a blank or the end of the line. Returns None for unbalanced
    quotes.
    """
    if not any(c in line for c in _QUOTE_OR_ODD):
        return line.split()  # the common case: words separated by blanks
    line = line.split(b"\x00", 1)[0]  # the C code stops at the first NUL byte
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _BLANK:
            i += 1
        if i == n:
            return args
        token = bytearray()
        quote = 0  # 0, or the byte of the open quote
        while True:
            if i == n:
                if quote:
                    return None  # unterminated quotes
                break
            ch = line[i]
            if quote == 34:  # inside "double quotes"
                if ch == 92 and i + 3 < n and line[i + 1] == 120 and line[i + 2] in _HEX and line[i + 3] in _HEX:
                    token.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif ch == 92 and i + 1 < n:
                    i += 1
                    token += _ESCAPES.get(line[i], line[i : i + 1])
                elif ch == 34:
                    if i + 1 < n and line[i + 1] not in _BLANK:
                        return None
                    i += 1
                    break
                else:
                    token.append(ch)
            elif quote == 39:  # inside 'single quotes'
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    token.append(39)
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in _BLANK:
                        return None
                    i += 1
                    break
                else:
                    token.append(ch)
            elif ch in _TOKEN_END:
                break
            elif ch == 34 or ch == 39:
                quote = ch
            else:
                token.append(ch)
            i += 1
        args.append(bytes(token))


def _find_before_nul(data: bytes, byte: bytes, start: int) -> int:
    """Where ``byte`` first occurs from ``start``, or -1 if a NUL byte comes before it.

    Redis looks for line ends with C's ``strchr``, which stops at the first NUL: a command
    line with a NUL in it is never complete, and waits until it is too big.
    """
    found = data.find(byte, start)
    if found != -1 and data.find(b"\x00", start, found) != -1:
        return -1
    return found


class RequestParser:
    """Turns the bytes a client sends into commands (lists of byte-string arguments).

    ``parse(data)`` returns every command completed by ``data``, plus the protocol error
    that stopped parsing, if any. The commands before the error are still valid: Redis
    runs them, then sends the error and closes the connection.

    While ``authenticated`` is False, commands are limited in size and ``parse`` returns
    after each one: the caller runs it (it may be AUTH) and calls ``parse(b"")`` for
    the rest, so the limits apply to exactly the commands sent before logging in.
    """

    __slots__ = ("max_bulk_len", "authenticated", "_buffer", "_need", "_args", "_remaining", "_bulk_len")

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK_LEN):
        self.max_bulk_len = max_bulk_len
        self.authenticated = True
        self._buffer = bytearray()  # unconsumed bytes from earlier reads
        self._need = 0  # don't try again before the buffer holds this many bytes
        self._args: list[bytes] | None = None  # arguments of a half-received array
        self._remaining = 0  # arguments still to come in that array
        self._bulk_len = -1  # length of the bulk string being received, once known

    @property
    def pending(self) -> int:
        """Bytes received but not yet parsed into a command (Redis' ``qbuf``)."""
        return len(self._buffer)

    def parse(self, data: bytes) -> tuple[list[list[bytes]], ProtocolError | None]:
        if self._buffer:
            self._buffer += data
            if len(self._buffer) < self._need:
                return [], None  # still waiting for the rest of a long bulk string
            data = bytes(self._buffer)
            self._buffer.clear()
        commands: list[list[bytes]] = []
        pos = 0
        if self._args is None and self.authenticated and data[:1] == b"*" and len(data) <= self.max_bulk_len:
            pos = _split_arrays(data, commands)  # what it cannot vouch for is left to `_parse`
            if pos == len(data):
                return commands, None  # the common case: whole commands, nothing left over
        try:
            pos = self._parse(data, commands, pos)
        except ProtocolError as error:
            self._args = None
            return commands, error
        if pos < len(data):
            self._buffer += data[pos:] if pos else data
        return commands, None

    def _parse(self, data: bytes, commands: list[list[bytes]], pos: int = 0) -> int:
        """Parse complete commands from ``data[pos:]`` into ``commands``; return where
        the unconsumed bytes start.

        The state of a half-read array lives in local variables and goes back to the
        parser only when the data runs out.
        """
        end = len(data)
        find = data.find
        args, remaining, bulk_len = self._args, self._remaining, self._bulk_len
        self._need = 0
        try:
            while pos < end:
                if args is None:
                    if data[pos] != 42:  # not '*': an inline command
                        pos = self._parse_inline(data, pos, commands)
                        if pos < 0:
                            return -pos - 1  # incomplete: keep the line
                        if commands and not self.authenticated:
                            return pos  # one at a time until logged in
                        continue
                    # Like Redis, look for the '\r' and assume the '\n' after it.
                    newline = find(b"\r", pos)
                    if newline == -1 or newline + 1 >= end or b"\x00" in data[pos:newline]:
                        return self._incomplete_line(data, pos, newline, "too big mbulk count string")
                    count = _length(data[pos + 1 : newline])
                    if count is None or count > MULTIBULK_MAX_LEN:
                        raise ProtocolError("invalid multibulk length")
                    if count > UNAUTHENTICATED_MAX_ARGS and not self.authenticated:
                        raise ProtocolError("unauthenticated multibulk length")
                    pos = newline + 2
                    if count <= 0:
                        continue  # '*0' and '*-1' are empty commands: ignored
                    args, remaining, bulk_len = [], count, -1
                while remaining:
                    if bulk_len < 0:
                        newline = find(b"\r", pos)
                        if newline == -1 or newline + 1 >= end:
                            return self._incomplete_line(data, pos, newline, "too big bulk count string")
                        size = _length(data[pos + 1 : newline]) if data[pos] == 36 else None  # '$'
                        if size is None or size < 0 or size > self.max_bulk_len:
                            if b"\x00" in data[pos:newline]:  # strchr would have stopped there
                                return self._incomplete_line(data, pos, -1, "too big bulk count string")
                            if data[pos] != 36:
                                # Redis prints the raw byte (%c): keep it one byte on the wire.
                                got = data[pos : pos + 1].decode("utf-8", "surrogateescape")
                                raise ProtocolError("expected '$', got '%s'" % got)
                            raise ProtocolError("invalid bulk length")
                        if size > UNAUTHENTICATED_MAX_BULK_LEN and not self.authenticated:
                            raise ProtocolError("unauthenticated bulk length")
                        pos = newline + 2
                        bulk_len = size
                    stop = pos + bulk_len
                    if stop + 2 > end:
                        self._need = stop + 2 - pos  # counted from what stays buffered
                        return pos
                    args.append(data[pos:stop])
                    pos = stop + 2  # Redis skips the CRLF without looking at it
                    bulk_len = -1
                    remaining -= 1
                commands.append(args)
                args = None
                if not self.authenticated:
                    return pos  # one at a time until logged in
            return pos
        finally:
            self._args, self._remaining, self._bulk_len = args, remaining, bulk_len

    @staticmethod
    def _parse_inline(data: bytes, pos: int, commands: list[list[bytes]]) -> int:
        """Parse one inline line; return where the next command starts, or -pos-1 if the
        line is incomplete."""
        newline = _find_before_nul(data, b"\n", pos)
        if newline == -1:
            if len(data) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("too big inline request")
            return -pos - 1
        line = data[pos : newline - 1 if newline > pos and data[newline - 1] == 13 else newline]
        argv = split_inline(line)
        if argv is None:
            raise ProtocolError("unbalanced quotes in request")
        if argv:
            commands.append(argv)
        return newline + 1

    @staticmethod
    def _incomplete_line(data: bytes, pos: int, newline: int, too_big: str) -> int:
        """A length line without its end yet: wait for more, unless it is already too long.

        A line whose end has arrived is never too long; one cut by a NUL byte (Redis finds
        line ends with strchr, which stops at NUL) never ends, so it waits until too long.
        """
        if (newline == -1 or b"\x00" in data[pos:newline]) and len(data) - pos > INLINE_MAX_SIZE:
            raise ProtocolError(too_big)
        return pos


# The header and length lines of everyday commands, spelled exactly as Redis requires
# (no sign, no leading zero): headers to their numbers, one dict lookup checking and
# reading a line, and the length line of each size, by size. Longer arrays and longer
# values are left to the exact parser.
_ARRAY_HEADERS = {b"*%d" % n: n for n in range(1, 1025)}
_LENGTH_LINES = [b"$%d" % n for n in range(4096)]


def _split_arrays(data: bytes, commands: list[list[bytes]]) -> int:
    """The fast path for what clients send most: whole arrays of bulk strings, many of
    them at once when pipelined. Return how many bytes of ``data`` it parsed.

    One ``split`` at C speed cuts the buffer at every CRLF: ``*3``, ``$3``, ``SET``,
    ``$1``, ``k``... An array is taken only if its header and every length line are
    exactly what encoding its arguments gives back, and all of it is followed by a
    CRLF; the length lines are compared all at once with the ones the arguments' sizes
    give (one list comparison, where a lookup and a comparison per line cost more). A value
    that itself holds a CRLF is cut in two by the split, so its length no longer
    matches: there, or at anything else unusual (inline commands, ``*0``, a
    half-received array, values of 4 kB or more), this stops, and the exact parser
    `RequestParser._parse` goes on from the same place. bench/parser.py measures both.
    """
    tokens = data.split(b"\r\n")
    complete = len(tokens) - 2  # the last token is what follows the last CRLF
    headers, length_lines = _ARRAY_HEADERS.get, _LENGTH_LINES
    i = 0
    while i <= complete:
        count = headers(tokens[i])
        if count is None:
            break
        last = i + 2 * count  # the index of the last argument
        if last > complete:
            break
        args = tokens[i + 2 : last + 1 : 2]
        try:
            if tokens[i + 1 : last : 2] != [length_lines[len(arg)] for arg in args]:
                break
        except IndexError:  # a value of 4 kB or more
            break
        commands.append(args)
        i = last + 1
    if i == complete + 1:  # every token taken: all but what follows the last CRLF
        return len(data) - len(tokens[-1])
    # Every token taken was followed by a CRLF.
    return sum(map(len, tokens[:i])) + 2 * i if i else 0


def _length(digits: bytes) -> int | None:
    """The number in a ``*3`` or ``$5`` line: `parse_int`, with the common case inlined."""
    if len(digits) < 19 and digits.isdigit() and (digits[0] != 48 or len(digits) == 1):
        return int(digits)  # a plain number that fits: no sign, no leading zero
    return parse_int(digits)  # negative, huge, or not a number at all


# --------------------------------------------------------------------------- replies


class ReplyError(Exception):
    """An error reply. Commands raise it; inside an array (EXEC) it is a value.

    ``message`` is the whole line after the ``-``, starting with the error code, e.g.
    ``"ERR syntax error"`` or ``"WRONGTYPE Operation against a key ..."``.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RawError(ReplyError):
    """An error reply Redis writes itself, as ``-<text>``, bypassing its error accounting
    (DEBUG ERROR): it counts in neither INFO errorstats nor a command's failed calls,
    which test only for `ReplyError` itself."""


class CountedError(ReplyError):
    """An error reply already counted in INFO errorstats: a script passing on the error
    of a command it ran, which was counted when that command failed (Redis:
    ERR_REPLY_FLAG_NO_STATS_UPDATE). The call that answers it still failed."""


class _NullArray:
    """The null array: ``*-1`` in RESP2 (BLPOP timing out, EXEC aborted by WATCH)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()


class _NoReply:
    """No reply at all (CLIENT REPLY OFF): encodes to nothing."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_REPLY"


NO_REPLY = _NoReply()


class SetReply(list):
    """An unordered collection: a RESP3 set, a plain array in RESP2."""

    __slots__ = ()


class Push(list):
    """Out-of-band data (pub/sub messages): a RESP3 push, a plain array in RESP2."""

    __slots__ = ()


class Replies(list):
    """Several replies in a row, not one array: SUBSCRIBE a b answers once per channel."""

    __slots__ = ()


class Verbatim(str):
    """Text meant for humans (INFO, CLIENT LIST): a RESP3 verbatim string, else a bulk."""

    __slots__ = ()


class BigNumber(int):
    """An integer that may not fit 64 bits: RESP3 ``(``, a bulk string in RESP2."""

    __slots__ = ()


class BigNumberText:
    """A big number given as text (a script's ``{big_number=...}``): RESP3 ``(`` and the
    text as it is, a bulk string in RESP2. Not an int, so nothing mistakes it for one."""

    __slots__ = ("text",)

    def __init__(self, text: bytes):
        self.text = text


class Attributed:
    """A reply with RESP3 attributes before it: out-of-band data about the reply (a
    map), which RESP2 has no way to say, so there only the reply goes out."""

    __slots__ = ("attributes", "reply")

    def __init__(self, attributes: dict, reply):
        self.attributes = attributes
        self.reply = reply


class DoubleText:
    """A double already written out, for the replies Redis does not format with ``%.17g``
    (GEOPOS's coordinates, ``%.17Lf`` trimmed): a RESP3 double, a bulk string in RESP2.
    Not a ``bytes``, so that no fast path mistakes it for a bulk string."""

    __slots__ = ("text",)

    def __init__(self, text: bytes):
        self.text = text


def format_double(value: float) -> bytes:
    """Format a double the way Redis 7.0 does in replies (``%.17g``, ``inf``, ``-inf``)."""
    if value != value:
        return b"nan"
    if value in (float("inf"), float("-inf")):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


def _bulk(value: bytes) -> bytes:
    size = len(value)
    if size < 1024:
        return _BULK_HEADERS[size] + value + b"\r\n"  # faster than formatting, for the common sizes
    return b"$%d\r\n%s\r\n" % (size, value)


# Replies that are sent again and again, encoded once.
_OK = b"+OK\r\n"
_SMALL_INTS = [b":%d\r\n" % i for i in range(-1, 1025)]
_BULK_HEADERS = [b"$%d\r\n" % size for size in range(1024)]


class Encoder:
    """Encodes reply values for one protocol version (2 or 3).

    Dispatch is by exact type through a dict built once, so the common replies (OK, an
    integer, a bulk string) cost one lookup and one format. ``by_type`` is that dict:
    the connection's loop calls its functions itself, one call fewer per reply than
    `encode`.
    """

    def __init__(self, protocol: int):
        self.protocol = protocol
        resp3 = protocol == 3
        self._null = b"_\r\n" if resp3 else b"$-1\r\n"
        self._null_array = b"_\r\n" if resp3 else b"*-1\r\n"
        self.by_type = {
            str: self._simple,
            bytes: _bulk,
            bytearray: _bulk,
            int: self._int,
            bool: self._bool if resp3 else self._bool_as_int,
            float: self._double if resp3 else self._double_as_bulk,
            type(None): self._none,
            _NullArray: self._none_array,
            list: self._array,
            tuple: self._array,
            dict: self._map if resp3 else self._map_as_array,
            SetReply: self._aggregate(b"~") if resp3 else self._array,
            Push: self._aggregate(b">") if resp3 else self._array,
            Replies: lambda items: b"".join([self.by_type[type(item)](item) for item in items]),
            Verbatim: self._verbatim if resp3 else self._verbatim_as_bulk,
            BigNumber: self._big if resp3 else self._big_as_bulk,
            BigNumberText: (lambda big: b"(%s\r\n" % big.text) if resp3 else (lambda big: _bulk(big.text)),
            DoubleText: (lambda double: b",%s\r\n" % double.text) if resp3 else (lambda double: _bulk(double.text)),
            Attributed: self._attributed if resp3 else lambda value: self.encode(value.reply),
            ReplyError: self._error,
            RawError: self._error,
            CountedError: self._error,
            _NoReply: lambda _value: b"",
        }

    def encode(self, value) -> bytes:
        return self.by_type[type(value)](value)

    # --- scalars
    @staticmethod
    def _simple(value: str) -> bytes:
        return _OK if value == "OK" else b"+%s\r\n" % value.encode("utf-8", "surrogateescape")

    @staticmethod
    def _error(error: ReplyError) -> bytes:
        # A newline inside an error would break the protocol; Redis turns them into spaces.
        text = error.message.replace("\r", " ").replace("\n", " ")
        return b"-%s\r\n" % text.encode("utf-8", "surrogateescape")

    @staticmethod
    def _int(value: int) -> bytes:
        if -1 <= value <= 1023:
            return _SMALL_INTS[value + 1]
        return b":%d\r\n" % value

    @staticmethod
    def _bool(value: bool) -> bytes:
        return b"#t\r\n" if value else b"#f\r\n"

    @staticmethod
    def _bool_as_int(value: bool) -> bytes:
        return b":1\r\n" if value else b":0\r\n"

    @staticmethod
    def _double(value: float) -> bytes:
        return b",%s\r\n" % format_double(value)

    @staticmethod
    def _double_as_bulk(value: float) -> bytes:
        return _bulk(format_double(value))

    def _none(self, _value) -> bytes:
        return self._null

    def _none_array(self, _value) -> bytes:
        return self._null_array

    @staticmethod
    def _verbatim(value: str) -> bytes:
        data = value.encode("utf-8", "surrogateescape")
        return b"=%d\r\ntxt:%s\r\n" % (len(data) + 4, data)

    @staticmethod
    def _verbatim_as_bulk(value: str) -> bytes:
        return _bulk(value.encode("utf-8", "surrogateescape"))

    @staticmethod
    def _big(value: int) -> bytes:
        return b"(%d\r\n" % value

    @staticmethod
    def _big_as_bulk(value: int) -> bytes:
        return _bulk(b"%d" % value)

    # --- aggregates
    def _attributed(self, value: Attributed) -> bytes:
        pairs = self._map(value.attributes)  # "%n" and the pairs: the same as a map's
        return b"|" + pairs[1:] + self.encode(value.reply)

    def _array(self, items) -> bytes:
        header = b"*%d\r\n" % len(items)
        if items and type(items[0]) is bytes and type(items[-1]) is bytes:
            # Most long arrays are all bulk strings (LRANGE, SMEMBERS, KEYS...): format
            # them in one pass, without a lookup and a call per element. Anything else in
            # the middle (None, a nested array) makes the formatting fail: then the
            # general way below.
            try:
                return header + b"".join([b"$%d\r\n%s\r\n" % (len(item), item) for item in items])
            except TypeError:
                pass
        by_type = self.by_type
        return header + b"".join([by_type[type(item)](item) for item in items])

    def _aggregate(self, marker: bytes):
        def encode(items) -> bytes:
            by_type = self.by_type
            return b"%s%d\r\n" % (marker, len(items)) + b"".join([by_type[type(i)](i) for i in items])

        return encode

    def _map(self, mapping: dict) -> bytes:
        by_type = self.by_type
        parts = [b"%%%d\r\n" % len(mapping)]
        for key, value in mapping.items():
            parts.append(by_type[type(key)](key))
            parts.append(by_type[type(value)](value))
        return b"".join(parts)

    def _map_as_array(self, mapping: dict) -> bytes:
        by_type = self.by_type
        parts = [b"*%d\r\n" % (2 * len(mapping))]
        for key, value in mapping.items():
            parts.append(by_type[type(key)](key))
            parts.append(by_type[type(value)](value))
        return b"".join(parts)


ENCODERS = {2: Encoder(2), 3: Encoder(3)}


def encode_reply(value, protocol: int = 2) -> bytes:
    """Encode one reply value for RESP2 or RESP3."""
    return ENCODERS[protocol].encode(value)


def encode_command(args: list[bytes]) -> bytes:
    """Encode a command as an array of bulk strings, as clients (and masters) send it."""
    return b"*%d\r\n" % len(args) + b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in args])


# --------------------------------------------------------------------------- reading replies


class ReplyParser:
    """Parses replies (RESP2 and RESP3) back into values: for replication and for tests.

    ``parse(data)`` returns every complete reply; incomplete trailing bytes are kept.
    Simple strings come back as `str`, errors as `ReplyError`, maps as `dict`.
    """

    def __init__(self):
        self._buffer = b""

    def parse(self, data: bytes) -> list:
        """Every reply completed by ``data``, as values."""
        return [value for value, _raw in self.parse_raw(data)]

    def parse_raw(self, data: bytes) -> list[tuple[object, bytes]]:
        """Every reply completed by ``data``, as (value, the exact bytes it came in)."""
        self._buffer += data
        replies = []
        pos = 0
        while pos < len(self._buffer):
            try:
                value, end = self._value(self._buffer, pos)
            except IndexError:  # the rest has not arrived yet
                break
            replies.append((value, self._buffer[pos:end]))
            pos = end
        self._buffer = self._buffer[pos:]
        return replies

    def _line(self, data: bytes, pos: int) -> tuple[bytes, int]:
        end = data.find(b"\r\n", pos)
        if end == -1:
            raise IndexError
        return data[pos:end], end + 2

    def _value(self, data: bytes, pos: int):
        kind = data[pos : pos + 1]
        if not kind:
            raise IndexError
        line, pos = self._line(data, pos + 1)
        if kind == b"+":
            return line.decode("utf-8", "surrogateescape"), pos  # the Encoder's inverse
        if kind == b"-":
            return ReplyError(line.decode("utf-8", "surrogateescape")), pos
        if kind == b":":
            return int(line), pos
        if kind in (b"$", b"="):
            size = int(line)
            if size < 0:
                return None, pos
            if len(data) < pos + size + 2:
                raise IndexError
            body = data[pos : pos + size]
            if kind == b"=":
                return Verbatim(body[4:].decode("utf-8", "surrogateescape")), pos + size + 2
            return body, pos + size + 2
        if kind == b"_":
            return None, pos
        if kind == b"#":
            return line == b"t", pos
        if kind == b",":
            return float(line), pos
        if kind == b"(":
            return BigNumber(int(line)), pos
        if kind in (b"*", b"~", b">"):
            count = int(line)
            if count < 0:
                return NULL_ARRAY, pos
            items = []
            for _ in range(count):
                item, pos = self._value(data, pos)
                items.append(item)
            wrap = {b"*": list, b"~": SetReply, b">": Push}[kind]
            return wrap(items), pos
        if kind == b"|":  # attributes: read past them, the reply follows (as clients do)
            for _ in range(2 * int(line)):
                _item, pos = self._value(data, pos)
            return self._value(data, pos)
        if kind == b"%":
            mapping = {}
            for _ in range(int(line)):
                key, pos = self._value(data, pos)
                value, pos = self._value(data, pos)
                mapping[key if not isinstance(key, list) else tuple(key)] = value
            return mapping, pos
        raise ValueError("unknown RESP type byte %r" % kind)
