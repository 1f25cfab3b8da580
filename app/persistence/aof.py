"""The append-only file (AOF) as Redis 7 lays it out on disk: the pure part (no files
opened here, no sockets, no server state), so every rule can be tested alone.

Since Redis 7.0 the AOF is a directory (``appenddirname``, "appendonlydir") holding
several files, listed by a *manifest* (aof.c)::

    appendonly.aof.manifest         which files, in which order, of which type
    appendonly.aof.2.base.rdb       BASE: a snapshot taken by the last rewrite (RDB, or
                                    commands when aof-use-rdb-preamble is no)
    appendonly.aof.2.incr.aof       INCR: the writes made since, as commands
    appendonly.aof.3.incr.aof       (more than one while a rewrite runs, or after one failed)

One manifest line per file, the base first, then the history, then the incrs::

    file appendonly.aof.2.base.rdb seq 2 type b
    file appendonly.aof.1.incr.aof seq 1 type h
    file appendonly.aof.2.incr.aof seq 2 type i

HISTORY files (``type h``) are what a successful BGREWRITEAOF made obsolete; Redis deletes
them at once unless aof-disable-auto-gc is yes. A command file holds each write exactly
as a client sends it (a RESP array of bulk strings), optionally preceded by annotation
lines such as ``#TS:1700000000`` when aof-timestamp-enabled is yes.

Loading is the caller's job: read the manifest with `parse_manifest`, load the base
(`is_rdb_preamble` says which reader) and then every incr in order with
`parse_commands`, which says whether a file ends in the middle of a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import chain

from app import protocol
from app.quoting import needs_repr, sds_repr, split_args  # noqa: F401  (split_args: manifests)

# --------------------------------------------------------------------------- what Redis logs

# Redis' own log lines (aof.c, loadSingleAppendOnlyFile and loadAppendOnlyFiles), so the
# server can say exactly what Redis says. Fill them with the `%` operator; Redis' %llu is %d.
SHORT_READ_WARNING = "!!! Warning: short read while loading the AOF file %s!!!"
TRUNCATING_WARNING = "!!! Truncating the AOF %s at offset %d !!!"
LOADED_ANYWAY = "AOF %s loaded anyway because aof-load-truncated is enabled"
TRUNCATED_FATAL = (
    "Unexpected end of file reading the append only file %s. You can: "
    "1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. "
    "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
)
TRUNCATED_NOT_LAST = "Fatal error: the truncated file is not the last file"
BAD_FORMAT_FATAL = (
    "Bad file format reading the append only file %s: "
    "make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
)
UNFINISHED_MULTI = "Revert incomplete MULTI/EXEC transaction in AOF file %s"
UNKNOWN_COMMAND = "Unknown command '%s' reading the append only file %s"

TRUNCATED = "truncated"  # what `parse_commands` reports for a file cut mid-command


def truncation_messages(filename: str, valid_up_to: int, load_truncated: bool) -> list[str]:
    """The lines Redis logs when ``filename`` ends in the middle of a command: with
    aof-load-truncated yes it cuts the file at ``valid_up_to`` and goes on, otherwise it
    refuses to start. (Only the last file may be cut: see `TRUNCATED_NOT_LAST`.)"""
    if not load_truncated:
        return [TRUNCATED_FATAL % filename]
    return [
        SHORT_READ_WARNING % filename,
        TRUNCATING_WARNING % (filename, valid_up_to),
        LOADED_ANYWAY % filename,
    ]


class AOFError(ValueError):
    """A manifest or command file we refuse; the message names the file and, where it
    helps, the byte offset of the problem."""


# --------------------------------------------------------------------------- file names

BASE = "b"
HISTORY = "h"
INCR = "i"


def base_name(appendfilename: str, seq: int, rdb_preamble: bool) -> str:
    """``appendonly.aof.1.base.rdb``; ``.base.aof`` when the rewrite writes commands
    instead of a snapshot (aof-use-rdb-preamble no)."""
    return f"{appendfilename}.{seq}.base.{'rdb' if rdb_preamble else 'aof'}"


def incr_name(appendfilename: str, seq: int) -> str:
    """``appendonly.aof.1.incr.aof``."""
    return f"{appendfilename}.{seq}.incr.aof"


def manifest_name(appendfilename: str) -> str:
    """``appendonly.aof.manifest``."""
    return f"{appendfilename}.manifest"


def temp_manifest_name(appendfilename: str) -> str:
    """The manifest is written here first, then renamed over the real one, so a crash
    never leaves half a manifest."""
    return f"temp-{appendfilename}.manifest"


def temp_incr_name(appendfilename: str) -> str:
    """``temp-appendonly.aof.incr`` (no seq, no ``.aof``): where writes go while the
    first rewrite runs after ``CONFIG SET appendonly yes``; renamed to a real incr when
    that rewrite succeeds, deleted when it fails."""
    return f"temp-{appendfilename}.incr"


def temp_rewrite_name(child_pid: int) -> str:
    """``temp-rewriteaof-bg-<pid>.aof``: the rewrite child's output, in the working
    directory (not the AOF directory) until it is renamed to the new base."""
    return f"temp-rewriteaof-bg-{child_pid}.aof"


# --------------------------------------------------------------------------- the manifest


@dataclass
class AOFInfo:
    """One file of the manifest."""

    name: str
    seq: int
    kind: str  # BASE 'b', HISTORY 'h' or INCR 'i'


@dataclass
class Manifest:
    """The files of one AOF, as Redis' aofManifest.

    The two counters are the last sequence numbers handed out. They start at the seqs of
    the base and last incr, but outlive those files (`drop_history`, a failed rewrite), so
    a new file is always numbered after every file there has been.
    """

    base: AOFInfo | None = None
    history: list[AOFInfo] = field(default_factory=list)
    incrs: list[AOFInfo] = field(default_factory=list)
    curr_base_file_seq: int = 0
    curr_incr_file_seq: int = 0

    def __post_init__(self):
        # What aofLoadManifestFromFile derives; history seqs never count.
        if self.base is not None:
            self.curr_base_file_seq = max(self.curr_base_file_seq, self.base.seq)
        if self.incrs:
            self.curr_incr_file_seq = max(self.curr_incr_file_seq, self.incrs[-1].seq)

    @property
    def current_incr(self) -> AOFInfo | None:
        """The incr new writes are appended to."""
        return self.incrs[-1] if self.incrs else None

    @property
    def next_incr_seq(self) -> int:
        return self.curr_incr_file_seq + 1

    @property
    def next_base_seq(self) -> int:
        return self.curr_base_file_seq + 1


def add_incr(m: Manifest, appendfilename: str) -> Manifest:
    """A copy of ``m`` with a new, empty incr at the end (Redis opens one when it starts
    with none, and when a BGREWRITEAOF begins, so the rewrite's snapshot and the writes
    made during it land in different files)."""
    seq = m.next_incr_seq
    new = AOFInfo(incr_name(appendfilename, seq), seq, INCR)
    return Manifest(_copy(m.base), _copies(m.history), [*_copies(m.incrs), new],
                    m.curr_base_file_seq, seq)


def rewrite_manifest(m: Manifest, new_base_name: str, new_base_seq: int,
                     new_incr_name: str, new_incr_seq: int) -> Manifest:
    """The manifest after a successful BGREWRITEAOF (backgroundRewriteDoneHandler).

    The new base holds everything written before the rewrite began, so the old base and
    every incr before the rewrite become history; only the incr that collected the writes
    made during the rewrite stays. That incr may already be in ``m`` (Redis adds it when
    the rewrite starts, see `add_incr`): it is kept, not turned into history.

    History comes out in Redis' order: the rewritten incrs, the old base, then older history.
    """
    rewritten = [replace(info, kind=HISTORY) for info in m.incrs if info.name != new_incr_name]
    old_base = [replace(m.base, kind=HISTORY)] if m.base is not None else []
    return Manifest(
        base=AOFInfo(new_base_name, new_base_seq, BASE),
        history=rewritten + old_base + _copies(m.history),
        incrs=[AOFInfo(new_incr_name, new_incr_seq, INCR)],
        curr_base_file_seq=max(m.curr_base_file_seq, new_base_seq),
        curr_incr_file_seq=max(m.curr_incr_file_seq, new_incr_seq),
    )


def drop_history(m: Manifest) -> Manifest:
    """A copy of ``m`` without its history, once those files are deleted (aofDelHistoryFiles).
    The counters stay, so new files keep numbering after the deleted ones."""
    return Manifest(_copy(m.base), [], _copies(m.incrs), m.curr_base_file_seq, m.curr_incr_file_seq)


def _copy(info: AOFInfo | None) -> AOFInfo | None:
    return replace(info) if info is not None else None


def _copies(infos: list[AOFInfo]) -> list[AOFInfo]:
    return [replace(info) for info in infos]


def format_manifest(m: Manifest) -> str:
    """The manifest's text, byte for byte as Redis writes it (getAofManifestAsString):
    base, history, incrs, one ``file <name> seq <n> type <c>`` line each."""
    return "".join(_format_line(info) for info in _files(m))


def _files(m: Manifest) -> list[AOFInfo]:
    return ([m.base] if m.base is not None else []) + m.history + m.incrs


def _format_line(info: AOFInfo) -> str:
    raw = _name_bytes(info.name)
    name = _quote(raw) if _needs_quoting(raw) else info.name
    return f"file {name} seq {info.seq} type {info.kind}\n"


# File names are bytes on disk; as str they carry undecodable bytes as surrogates, the
# way os.fsdecode does, so any name survives a round trip.
def _name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _name_str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _needs_quoting(raw: bytes) -> bool:
    """sdsneedsrepr (app/quoting.py). Not a single quote, although sdssplitargs treats
    one as an opening quote: Redis writes ``file it's.aof.1.incr.aof ...`` bare and then
    refuses to read it back."""
    return needs_repr(raw)


def _quote(raw: bytes) -> str:
    """sdscatrepr: the bytes between double quotes, escaped so sdssplitargs reads them back."""
    return sds_repr(raw)


MANIFEST_MAX_LINE = 1024

INVALID_MANIFEST = "Invalid AOF manifest file format"
EMPTY_MANIFEST = "Found an empty AOF manifest"
LONG_LINE = "The AOF manifest file contains too long line"
NOT_A_BASENAME = "File can't be a path, just a filename"
DUPLICATE_BASE = "Found duplicate base file information"
NON_MONOTONIC = "Found a non-monotonic sequence number"
UNKNOWN_TYPE = "Unknown AOF file type"


def parse_manifest(text: bytes | str, path: str) -> Manifest:
    """Read a manifest as aofLoadManifestFromFile does, refusing what it refuses.

    Lines starting with ``#`` are skipped; every other line must end with a newline
    (the last one too) and hold ``file``, ``seq`` and ``type`` pairs, in any order and
    any case, split with Redis' quoting rules; unknown pairs are ignored, for forward
    compatibility. A blank line is refused, as Redis 7.0 refuses it. ``path`` is only
    used in messages.
    """
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    m = Manifest()
    line_number = 0
    for offset, chunk in _fgets(data, MANIFEST_MAX_LINE):
        line_number += 1
        if chunk.startswith(b"#"):
            continue
        try:
            _add_file(m, _manifest_entry(chunk))
        except _ManifestProblem as problem:
            raise AOFError(_manifest_message(problem.reason, path, line_number, offset, chunk)) from None
    if line_number == 0:
        raise AOFError(f"{EMPTY_MANIFEST} ({path})")
    return m


def _manifest_message(reason: str, path: str, line_number: int, offset: int, chunk: bytes) -> str:
    """Redis' reason, then where: the file, line and offset, and the line itself (as
    Redis' ">>> '...'") unless it is the over-long one."""
    where = f"manifest {path}, line {line_number} at offset {offset}"
    if reason == LONG_LINE:
        return f"{reason} ({where})"
    line = chunk.rstrip(b"\r\n")
    return f"{reason} ({where}: {line!r})"


class _ManifestProblem(Exception):
    """A refused line, with Redis' reason; `parse_manifest` adds where it is."""

    def __init__(self, reason: str):
        self.reason = reason


def _fgets(data: bytes, size: int):
    """(offset, line) pieces as C's fgets reads them with a ``size + 1`` buffer: up to and
    including a newline, but never more than ``size`` bytes, so a longer line comes out
    in several pieces (and the first piece of a long comment is skipped alone, as in Redis)."""
    position = 0
    while position < len(data):
        newline = data.find(b"\n", position, position + size)
        end = newline + 1 if newline != -1 else min(position + size, len(data))
        yield position, data[position:end]
        position = end


def _manifest_entry(chunk: bytes) -> AOFInfo:
    """One non-comment line as an AOFInfo, or the reason Redis gives for refusing it."""
    line = _c_string(chunk)  # Redis handles the line as a C string: a NUL ends it
    if b"\n" not in line:
        raise _ManifestProblem(LONG_LINE)
    args = split_args(line.strip(b" \t\r\n"))
    if args is None or len(args) < 6 or len(args) % 2:  # "< 6" leaves room for future keys
        raise _ManifestProblem(INVALID_MANIFEST)
    name, seq, kind = None, 0, ""
    for key, value in zip(args[::2], args[1::2]):
        key = _c_string(key).lower()
        if key == b"file":
            name = _c_string(value)
            if b"/" in name or b"\\" in name:
                raise _ManifestProblem(NOT_A_BASENAME)
        elif key == b"seq":
            seq = _atoll(_c_string(value))
        elif key == b"type":
            kind = _c_string(value)[:1].decode("latin-1")
    if name is None or seq == 0 or not kind:  # an empty name is accepted, as in Redis
        raise _ManifestProblem(INVALID_MANIFEST)
    return AOFInfo(_name_str(name), seq, kind)


def _add_file(m: Manifest, info: AOFInfo) -> None:
    """File the entry under its type; only incr seqs must increase (history is not checked)."""
    if info.kind == BASE:
        if m.base is not None:
            raise _ManifestProblem(DUPLICATE_BASE)
        m.base = info
        m.curr_base_file_seq = info.seq
    elif info.kind == HISTORY:
        m.history.append(info)
    elif info.kind == INCR:
        if info.seq <= (m.incrs[-1].seq if m.incrs else 0):
            raise _ManifestProblem(NON_MONOTONIC)
        m.incrs.append(info)
        m.curr_incr_file_seq = info.seq
    else:
        raise _ManifestProblem(UNKNOWN_TYPE)


def _c_string(raw: bytes) -> bytes:
    return raw.split(b"\0", 1)[0]


_C_SPACE = b" \t\n\v\f\r"  # isspace() in the C locale
_LLONG_MAX = 2**63 - 1


def _atoll(raw: bytes) -> int:
    """C's atoll: leading spaces, a sign, then as many digits as there are; garbage gives 0
    (so ``seq x`` is refused as a missing seq), and out-of-range values saturate."""
    text = raw.lstrip(_C_SPACE)
    sign = -1 if text[:1] == b"-" else 1
    if text[:1] in (b"-", b"+"):
        text = text[1:]
    digits = len(text) - len(text.lstrip(b"0123456789"))
    value = int(text[:digits]) if digits else 0
    return max(-_LLONG_MAX - 1, min(_LLONG_MAX, sign * value))


# --------------------------------------------------------------------------- command files


def encode_command(argv: list[bytes]) -> bytes:
    """One command as Redis appends it (catAppendOnlyGenericCommand): the same RESP array
    of bulk strings a client sends, so AOF and replicas receive identical bytes.
    An empty command is refused: Redis would refuse to load its ``*0``."""
    if not argv:
        raise ValueError("a command has at least its name")
    return protocol.encode_command(argv)


def is_rdb_preamble(data: bytes) -> bool:
    """Whether a base (or a pre-7.0 AOF) starts with an RDB snapshot: Redis looks for
    ``REDIS`` and otherwise reads commands from the first byte."""
    return data.startswith(b"REDIS")


ANNOTATION_LINE_MAX_LEN = 1024  # Redis reads annotations with fgets into this many bytes
_MAX_DIGITS = 20  # enough for any 64-bit count or length


def parse_commands(data: bytes, start: int = 0, *, filename: str = "<memory>") -> tuple[list[list[bytes]], int, str | None]:
    """The commands in ``data[start:]``, where parsing stopped cleanly, and what went wrong.

    Returns ``(commands, end, problem)``. ``problem`` is None when the data ends on a
    command boundary (then ``end == len(data)``), or `TRUNCATED` when it ends inside a
    command: ``end`` is then just after the last complete command (``start`` if none),
    where Redis cuts the file when aof-load-truncated is yes (see `truncation_messages`);
    annotations between that command and the cut go too, as in Redis.

    Anything that can never become a command raises AOFError with the offset: a line not
    starting with ``*``, ``*0`` or a negative count (Redis refuses both), an element not
    starting with ``$``, a count or length that is not plain digits, a missing CRLF.
    Redis itself is laxer (atoi and strtol read ``*3x`` as 3, and the two bytes after a
    bulk are skipped unchecked), but a file Redis wrote passes either way.

    Annotation lines (``#`` up to a newline, e.g. ``#TS:1700000000\\r\\n``) between
    commands are skipped; one cut before its newline at the very end is not a truncation,
    as in Redis, which reads it as a last line and stops.

    What parsing cannot see is left to the caller: Redis also treats a file that ends
    after a MULTI without its EXEC as truncated, at the offset before that MULTI
    (`UNFINISHED_MULTI`).
    """
    commands: list[list[bytes]] = []
    size = len(data)
    position = valid_up_to = start
    # Commands as Redis writes them are read by `_CommandRun`, many at a time; the
    # careful `_parse_array` reads one record wherever that stops (a bulk holding a
    # CRLF, an unusual header, the end of the data) and says what is wrong, if anything.
    run: _CommandRun | None = _CommandRun(data, start)
    while True:
        if run is not None:
            walked, position = run.walk(position)
            if walked:
                commands += walked
                valid_up_to = position
        if position >= size:
            return commands, position, None
        lead = data[position]
        if lead == 42:  # "*"
            parsed = _parse_array(data, position, filename)
            if parsed is None:
                return commands, valid_up_to, TRUNCATED
            argv, end = parsed
            commands.append(argv)
            valid_up_to = end
        elif lead == 35:  # "#"
            end = _skip_annotation(data, position, filename)
            if run is not None and data[end - 2:end] != b"\r\n":
                run = None  # a bare newline: the pieces no longer start where records do
        else:
            raise _bad_format(filename, position, "expected '*' or '#'")
        if run is not None:
            run.skip(position, end)
        position = end


class _CommandRun:
    """The quick reader of command files: the data is cut at every CRLF once, at C
    speed, into pieces. A command Redis wrote is then 2n+1 pieces in a row ("*3", "$3",
    "SET", "$5", "mykey"...): its argv is one slice of them, and no loop runs per
    argument. Each bulk's length is checked against its header afterwards, for all the
    commands of a walk at once (at C speed too).

    ``pieces[index]`` always starts where the next record does (`skip` keeps it so
    after a record read by the careful reader). A walk takes at most `WALK_COMMANDS`
    commands: one that went astray (a bulk holding a CRLF and what looks like commands,
    such as a value that is itself RESP) costs no more than that to do again."""

    def __init__(self, data: bytes, start: int):
        self.data = data
        self.pieces = data[start:].split(b"\r\n")
        self.index = 0
        self.bulk_headers = _BulkHeaders()

    def walk(self, position: int) -> tuple[list[list[bytes]], int]:
        """The well-formed, whole commands from ``position`` (where ``pieces[index]``
        starts) up to the first record that is not one, and that record's offset."""
        pieces = self.pieces
        count_of = _ARRAY_HEADERS.get
        last = len(pieces) - 1  # what follows the last CRLF: never part of a whole command
        first = index = self.index
        walked: list[list[bytes]] = []
        headers: list[bytes] = []
        for _ in range(WALK_COMMANDS):
            count = count_of(pieces[index])
            if count is None:
                break
            after = index + 2 * count + 1
            if after > last:
                break
            walked.append(pieces[index + 2:after:2])
            headers += pieces[index + 1:after:2]
            index = after
        if list(map(self.bulk_headers.__getitem__, map(len, chain.from_iterable(walked)))) != headers:
            # A bulk holding a CRLF (or data made to look like commands): keep the
            # commands before the first wrong length, and let the careful reader go on.
            walked, index = self._up_to_first_wrong(walked, first)
        self.index = index
        return walked, position + sum(map(len, pieces[first:index])) + 2 * (index - first)

    def _up_to_first_wrong(self, walked: list[list[bytes]], index: int) -> tuple[list[list[bytes]], int]:
        pieces = self.pieces
        for number, argv in enumerate(walked):
            after = index + 2 * len(argv) + 1
            if pieces[index + 1:after:2] != [self.bulk_headers[len(argument)] for argument in argv]:
                return walked[:number], index
            index = after
        return walked, index

    def skip(self, position: int, end: int) -> None:
        """The careful reader read the record from ``position`` to ``end``, which ends
        with a CRLF: move past its pieces."""
        self.index += self.data.count(b"\r\n", position, end)


_ARRAY_HEADERS = {b"*%d" % count: count for count in range(1, 1025)}  # the counts `_CommandRun` reads
WALK_COMMANDS = 4096


class _BulkHeaders(dict):
    """Length -> b"$<length>", each made the first time it is asked for: a dict lookup
    is cheaper than formatting the number each time."""

    def __missing__(self, length: int) -> bytes:
        header = self[length] = b"$%d" % length
        return header


def _skip_annotation(data: bytes, position: int, filename: str) -> int:
    """Where the annotation line at ``position`` ends (the end of the data if it is cut)."""
    window = position + ANNOTATION_LINE_MAX_LEN - 1  # what one fgets can read
    newline = data.find(b"\n", position, window)
    if newline != -1:
        return newline + 1
    if len(data) <= window:
        return len(data)
    raise _bad_format(filename, position, f"annotation longer than {ANNOTATION_LINE_MAX_LEN} bytes")


def _parse_array(data: bytes, position: int, filename: str) -> tuple[list[bytes], int] | None:
    """The command whose ``*`` is at ``position`` and the offset after it; None if the
    data ends first."""
    header = _number_line(data, position + 1, filename)
    if header is None:
        return None
    count, after_header = header
    if count < 1:
        raise _bad_format(filename, position, "a command needs at least one argument")
    position = after_header
    argv = []
    for _ in range(count):  # each element takes at least 6 bytes, so a huge count ends soon
        if position >= len(data):
            return None
        if data[position] != ord("$"):
            raise _bad_format(filename, position, "expected '$'")
        length_line = _number_line(data, position + 1, filename)
        if length_line is None:
            return None
        length, position = length_line
        stop = position + length
        terminator = data[stop:stop + 2]
        if terminator != b"\r\n":
            if stop + 2 > len(data) and b"\r\n".startswith(terminator):
                return None
            raise _bad_format(filename, min(stop, len(data)), "expected CRLF after the bulk string")
        argv.append(data[position:stop])
        position = stop + 2
    return argv, position


def _number_line(data: bytes, position: int, filename: str) -> tuple[int, int] | None:
    """The decimal number from ``position`` to its CRLF and the offset after the CRLF;
    None if the data ends while the line could still be one."""
    limit = position + _MAX_DIGITS + 2
    crlf = data.find(b"\r\n", position, limit)
    if crlf == -1:
        rest = data[position:limit]
        if position + len(rest) == len(data) and _could_be_number_line(rest):
            return None
        raise _bad_format(filename, position, "expected a number and CRLF")
    digits = data[position:crlf]
    if not digits.isdigit():  # bytes.isdigit is ASCII only; empty is not digits
        raise _bad_format(filename, position, f"invalid number {bytes(digits)!r}")
    return int(digits), crlf + 2


def _could_be_number_line(rest: bytes) -> bool:
    """Whether ``rest`` is the start of ``<digits>\\r\\n``."""
    digits = rest[:-1] if rest.endswith(b"\r") else rest
    return len(digits) <= _MAX_DIGITS and (not digits or digits.isdigit())


def _bad_format(filename: str, offset: int, why: str) -> AOFError:
    return AOFError(f"Bad file format reading the append only file {filename} at offset {offset}: {why}")
