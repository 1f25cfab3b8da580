"""The AOF's pure half: manifests read and written as Redis 7.0 does (aof.c, sds.c), and
command files parsed, truncation told apart from corruption. The last test reads the
files a real redis-server 7.0 writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from app.persistence import aof
from app.persistence.aof import AOFError, AOFInfo, Manifest

# --------------------------------------------------------------------------- file names


def test_names_as_redis_makes_them():
    assert aof.base_name("appendonly.aof", 1, rdb_preamble=True) == "appendonly.aof.1.base.rdb"
    assert aof.base_name("appendonly.aof", 12, rdb_preamble=False) == "appendonly.aof.12.base.aof"
    assert aof.incr_name("appendonly.aof", 3) == "appendonly.aof.3.incr.aof"
    assert aof.manifest_name("appendonly.aof") == "appendonly.aof.manifest"
    assert aof.temp_manifest_name("appendonly.aof") == "temp-appendonly.aof.manifest"
    assert aof.temp_incr_name("appendonly.aof") == "temp-appendonly.aof.incr"
    assert aof.temp_rewrite_name(4242) == "temp-rewriteaof-bg-4242.aof"


# --------------------------------------------------------------------------- manifests: exact bytes

DEFAULT_INCR = AOFInfo("appendonly.aof.1.incr.aof", 1, "i")
BASE_AND_INCR = (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                 b"file appendonly.aof.1.incr.aof seq 1 type i\n")


def test_default_manifest_bytes():
    m = Manifest(incrs=[DEFAULT_INCR])
    assert aof.format_manifest(m) == "file appendonly.aof.1.incr.aof seq 1 type i\n"
    assert aof.parse_manifest(aof.format_manifest(m), "m") == m


def test_base_and_incr_as_redis_70_writes_them():
    m = aof.parse_manifest(BASE_AND_INCR, "appendonly.aof.manifest")
    assert m.base == AOFInfo("appendonly.aof.1.base.rdb", 1, "b")
    assert m.history == []
    assert m.incrs == [DEFAULT_INCR]
    assert m.current_incr == DEFAULT_INCR
    assert (m.next_base_seq, m.next_incr_seq) == (2, 2)
    assert aof.format_manifest(m).encode() == BASE_AND_INCR


def test_base_then_history_then_incrs_whatever_the_input_order():
    text = ("file a.2.incr.aof seq 2 type i\n"
            "file a.1.incr.aof seq 1 type h\n"
            "file a.2.base.rdb seq 2 type b\n")
    assert aof.format_manifest(aof.parse_manifest(text, "m")) == (
        "file a.2.base.rdb seq 2 type b\n"
        "file a.1.incr.aof seq 1 type h\n"
        "file a.2.incr.aof seq 2 type i\n")


def test_name_with_a_space_is_quoted_as_redis_does():
    # What redis-server 7.0 writes with --appendfilename "a b.aof".
    m = Manifest(base=AOFInfo("a b.aof.1.base.rdb", 1, "b"))
    assert aof.format_manifest(m) == 'file "a b.aof.1.base.rdb" seq 1 type b\n'


def test_quoting_escapes_like_sdscatrepr():
    m = Manifest(incrs=[AOFInfo('q"\\\n\r\t\a\b\x01é', 1, "i")])
    assert aof.format_manifest(m) == 'file "q\\"\\\\\\n\\r\\t\\a\\b\\x01\\xc3\\xa9" seq 1 type i\n'
    # A backslash is written fine, but read back it makes the name a path (pathIsBaseName).
    with pytest.raises(AOFError, match="^File can't be a path"):
        aof.parse_manifest(aof.format_manifest(m), "m")
    m.incrs[0].name = m.incrs[0].name.replace("\\", "")
    assert aof.parse_manifest(aof.format_manifest(m), "m") == m


def test_single_quote_is_written_bare_and_then_refused_as_by_redis():
    # sdsneedsrepr does not flag "'", but sdssplitargs opens a quote on it: redis-server
    # 7.0 started with --appendfilename "it's.aof" cannot restart.
    m = Manifest(incrs=[AOFInfo("it's.aof.1.incr.aof", 1, "i")])
    text = aof.format_manifest(m)
    assert text == "file it's.aof.1.incr.aof seq 1 type i\n"
    with pytest.raises(AOFError, match="^Invalid AOF manifest file format"):
        aof.parse_manifest(text, "m")


def test_keys_in_any_order_and_case_unknown_pairs_ignored():
    m = aof.parse_manifest(b"FILE x.aof TYPE incr Seq 7 future stuff\n", "m")
    assert m.incrs == [AOFInfo("x.aof", 7, "i")]  # "incr": only its first letter counts


def test_comments_are_skipped_and_a_manifest_of_comments_is_empty():
    m = aof.parse_manifest(b"# hello\n" + BASE_AND_INCR + b"#trailing, no newline", "m")
    assert aof.format_manifest(m).encode() == BASE_AND_INCR
    assert aof.parse_manifest(b"# nothing here\n", "m") == Manifest()


def test_line_length_limit_is_fgets_buffer():
    name = "n" * (1023 - len("file  seq 1 type i\n") + 1)
    fits = f"file {name} seq 1 type i\n"
    assert len(fits) == 1024
    assert aof.parse_manifest(fits, "m").incrs[0].name == name
    with pytest.raises(AOFError, match="^The AOF manifest file contains too long line"):
        aof.parse_manifest(f"file {name}x seq 1 type i\n", "m")


def test_seq_is_read_as_atoll():
    assert aof.parse_manifest(b"file a seq 12abc type i\n", "m").incrs[0].seq == 12
    assert aof.parse_manifest(b"file a seq 99999999999999999999 type h\n", "m").history[0].seq == 2**63 - 1


def test_history_is_not_checked_and_does_not_number_files():
    m = aof.parse_manifest(b"file h9 seq 9 type h\nfile h3 seq 3 type h\n", "m")
    assert [info.seq for info in m.history] == [9, 3]
    assert (m.next_base_seq, m.next_incr_seq) == (1, 1)


@pytest.mark.parametrize("text, message", [
    (b"", "Found an empty AOF manifest"),
    (b"file a seq 1 type i\n\n", "Invalid AOF manifest file format"),  # blank line: Redis 7.0 refuses it
    (b"   \n", "Invalid AOF manifest file format"),
    (b"file a seq 1 type i", "The AOF manifest file contains too long line"),  # last line without newline
    (b"file a\0 seq 1 type i\n", "The AOF manifest file contains too long line"),  # a NUL ends the C string
    (b"file a seq 1\n", "Invalid AOF manifest file format"),
    (b"file a seq 1 type\n", "Invalid AOF manifest file format"),
    (b"file a seq 1 kind i\n", "Invalid AOF manifest file format"),  # no type
    (b"name a seq 1 type i\n", "Invalid AOF manifest file format"),  # no file
    (b"file a seq 0 type i\n", "Invalid AOF manifest file format"),
    (b"file a seq x type i\n", "Invalid AOF manifest file format"),
    (b"file a seq 1 type ''\n", "Invalid AOF manifest file format"),
    (b'file "a seq 1 type i\n', "Invalid AOF manifest file format"),  # unbalanced quote
    (b'file "a"b seq 1 type i\n', "Invalid AOF manifest file format"),  # text after a closing quote
    (b"file a seq 1 type x\n", "Unknown AOF file type"),
    (b"file dir/a seq 1 type i\n", "File can't be a path, just a filename"),
    (b"file dir\\\\a seq 1 type i\n", "File can't be a path, just a filename"),
    (b"file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"),
    (b"file a seq 2 type i\nfile b seq 1 type i\n", "Found a non-monotonic sequence number"),
    (b"file a seq 2 type i\nfile b seq 2 type i\n", "Found a non-monotonic sequence number"),
    (b"file a seq -1 type i\n", "Found a non-monotonic sequence number"),
    # Only the first 1024 bytes are a comment; the rest is read as line 2 (redis-server agrees).
    (b"#" + b"x" * 1500 + b"\n", "Invalid AOF manifest file format"),
], ids=lambda value: value[:40] if isinstance(value, bytes) else None)
def test_refusals_use_redis_words(text, message):
    with pytest.raises(AOFError, match="^" + message.replace("(", r"\(")):
        aof.parse_manifest(text, "appendonlydir/appendonly.aof.manifest")


def test_refusal_names_the_file_line_and_offset():
    with pytest.raises(AOFError) as caught:
        aof.parse_manifest(BASE_AND_INCR + b"file x seq 1 type z\n", "appendonlydir/appendonly.aof.manifest")
    assert str(caught.value) == ("Unknown AOF file type (manifest appendonlydir/appendonly.aof.manifest, "
                                 "line 3 at offset 88: b'file x seq 1 type z')")


def test_split_args_follows_sdssplitargs():
    assert aof.split_args(b"") == []
    assert aof.split_args(b'  a "b c" \'d\\\'e\' "\\x41\\n\\q" ab"c d"') == [b"a", b"b c", b"d'e", b"A\nq", b"abc d"]
    assert aof.split_args(b'"unterminated') is None
    assert aof.split_args(b"'x'y") is None


# --------------------------------------------------------------------------- manifests: changes


def test_rewrite_as_redis_does_it():
    before = aof.parse_manifest(BASE_AND_INCR, "m")
    started = aof.add_incr(before, "appendonly.aof")  # BGREWRITEAOF opens incr 2 at once
    assert started.current_incr == AOFInfo("appendonly.aof.2.incr.aof", 2, "i")
    done = aof.rewrite_manifest(started, aof.base_name("appendonly.aof", started.next_base_seq, True),
                                started.next_base_seq, started.current_incr.name, started.current_incr.seq)
    assert aof.format_manifest(done) == (
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type h\n"
        "file appendonly.aof.1.base.rdb seq 1 type h\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert aof.format_manifest(before).encode() == BASE_AND_INCR  # the input is untouched
    assert aof.format_manifest(aof.drop_history(done)) == (
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n")


def test_rewrite_in_one_step_turns_every_old_incr_into_history():
    m = aof.parse_manifest(b"file b1 seq 1 type b\nfile h0 seq 1 type h\nfile i1 seq 1 type i\nfile i2 seq 2 type i\n", "m")
    done = aof.rewrite_manifest(m, "b2", 2, "i3", 3)
    assert [(i.name, i.kind) for i in done.history] == [("i1", "h"), ("i2", "h"), ("b1", "h"), ("h0", "h")]
    assert done.base == AOFInfo("b2", 2, "b") and done.incrs == [AOFInfo("i3", 3, "i")]


def test_counters_survive_removed_files():
    m = aof.parse_manifest(b"file b5 seq 5 type b\nfile i8 seq 8 type i\n", "m")
    emptied = Manifest(history=[], incrs=[], curr_base_file_seq=m.curr_base_file_seq,
                       curr_incr_file_seq=m.curr_incr_file_seq)
    assert aof.add_incr(emptied, "a").current_incr == AOFInfo("a.9.incr.aof", 9, "i")
    assert aof.drop_history(aof.rewrite_manifest(m, "b6", 6, "i9", 9)).next_base_seq == 7


# --------------------------------------------------------------------------- manifests: properties

SEQS = st.integers(min_value=1, max_value=2**63 - 1)
# A name is anything but a path separator or a NUL (C strings), and not "'" (see above).
# Short enough that a quoted line stays under the manifest's 1024-byte limit (a non-ASCII
# character takes up to 16 bytes quoted: four UTF-8 bytes as \xHH each).
NAMES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\0'"), min_size=1, max_size=40),
    st.binary(min_size=1, max_size=60).filter(lambda raw: not set(raw) & set(b"/\\\0'")).map(
        lambda raw: raw.decode("utf-8", "surrogateescape")),
)


@st.composite
def manifests(draw) -> Manifest:
    base = draw(st.none() | st.builds(AOFInfo, NAMES, SEQS, st.just("b")))
    history = draw(st.lists(st.builds(AOFInfo, NAMES, SEQS, st.just("h")), max_size=4))
    incr_seqs = sorted(draw(st.sets(SEQS, max_size=4)))
    incrs = [AOFInfo(draw(NAMES), seq, "i") for seq in incr_seqs]
    return Manifest(base, history, incrs)


@given(manifests())
def test_manifest_round_trip(m):
    text = aof.format_manifest(m)
    assert text.isascii()  # everything else is escaped
    if not text:  # no file at all: Redis writes nothing, and refuses to read nothing
        with pytest.raises(AOFError, match="^Found an empty AOF manifest"):
            aof.parse_manifest(text, "m")
        return
    assert aof.parse_manifest(text, "m") == m


@given(NAMES, SEQS, st.permutations(["file", "seq", "type"]), st.data())
def test_pairs_parse_in_any_order_and_case(name, seq, order, data):
    written = aof.format_manifest(Manifest(incrs=[AOFInfo(name, 1, "i")]))
    values = {"file": written[len("file "):-len(" seq 1 type i\n")], "seq": str(seq), "type": "i"}
    spellings = {key: data.draw(st.sampled_from([key, key.upper(), key.title()])) for key in order}
    line = " ".join(f"{spellings[key]} {values[key]}" for key in order)
    assert aof.parse_manifest(line + "\n", "m").incrs == [AOFInfo(name, seq, "i")]


@given(st.binary(max_size=300))
def test_split_args_reads_back_quoted_bytes(raw):
    assert aof.split_args(aof._quote(raw).encode()) == [raw]


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=400),
                 st.lists(st.sampled_from([b"file", b"seq", b"type", b" ", b"\n", b"#", b'"', b"'", b"\\",
                                           b"1", b"b", b"h", b"i", b"x", b"/", b"\0", b"\r", b"\\x4"]),
                          max_size=60).map(b"".join)))
def test_any_bytes_give_a_manifest_or_an_aof_error(data):
    try:
        aof.parse_manifest(data, "m")
    except AOFError:
        pass


# --------------------------------------------------------------------------- command files

SET_A_B = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n"


def test_encode_command_bytes():
    assert aof.encode_command([b"SET", b"a", b"b"]) == SET_A_B
    assert aof.encode_command([b"X", b""]) == b"*2\r\n$1\r\nX\r\n$0\r\n\r\n"
    with pytest.raises(ValueError):
        aof.encode_command([])


def test_parse_commands_reads_consecutive_arrays_from_start():
    data = b"REDIS-ish preamble" + SET_A_B + aof.encode_command([b"PING"])
    assert aof.parse_commands(data, 18) == ([[b"SET", b"a", b"b"], [b"PING"]], len(data), None)
    assert aof.parse_commands(b"") == ([], 0, None)


def test_binary_arguments_are_taken_by_length():
    argv = [b"SET", b"\r\n*1\r\n$0", bytes(range(256))]
    assert aof.parse_commands(aof.encode_command(argv)) == ([argv], len(aof.encode_command(argv)), None)


def test_annotations_are_skipped():
    data = b"#TS:1700000000\r\n" + SET_A_B + b"#TS:1700000001\r\n" + SET_A_B
    assert aof.parse_commands(data) == ([[b"SET", b"a", b"b"]] * 2, len(data), None)


def test_annotation_cut_at_the_end_is_a_clean_end_as_in_redis():
    data = SET_A_B + b"#TS:17000"
    assert aof.parse_commands(data) == ([[b"SET", b"a", b"b"]], len(data), None)


def test_truncation_drops_annotations_after_the_last_command():
    data = SET_A_B + b"#TS:1\r\n" + SET_A_B[:-1]
    assert aof.parse_commands(data) == ([[b"SET", b"a", b"b"]], len(SET_A_B), "truncated")


def test_every_cut_of_a_small_file():
    commands = [[b"SELECT", b"0"], [b"SET", b"key", b""], [b"RPUSH", b"l", b"x" * 12]]
    encoded = [aof.encode_command(argv) for argv in commands]
    boundaries = [sum(len(e) for e in encoded[:i]) for i in range(len(encoded) + 1)]
    data = b"".join(encoded)
    for cut in range(len(data) + 1):
        whole = [i for i, end in enumerate(boundaries[1:]) if end <= cut]
        expected_end = boundaries[len(whole)]
        problem = None if cut in boundaries else "truncated"
        assert aof.parse_commands(data[:cut]) == (commands[:len(whole)], expected_end, problem), cut


@pytest.mark.parametrize("data, offset, why", [
    (b"*0\r\n", 0, "a command needs at least one argument"),  # Redis: fmterr on argc < 1
    (b"*-1\r\n", 1, "invalid number"),
    (SET_A_B + b"+OK\r\n", 27, "expected '\\*' or '#'"),
    (b"\r\n", 0, "expected"),
    (b"*1\r\n:1\r\n", 4, "expected '\\$'"),
    (b"*3x\r\n", 1, "invalid number"),
    (b"* 3\r\n", 1, "invalid number"),
    (b"*3x", 1, "expected a number"),  # cannot become a number even with more data
    (b"*1\n$4\nPING\r\n", 1, "invalid number"),
    (b"*1\r\n$4\r\nPINGxx", 12, "expected CRLF"),
    (b"*1\r\n$4\r\nPING\rx", 12, "expected CRLF"),
    (b"*1\r\n$" + b"9" * 21 + b"\r\n", 5, "expected a number"),
    (b"#" + b"x" * 1100, 0, "annotation longer than 1024 bytes"),
])
def test_malformed_is_refused_with_the_offset(data, offset, why):
    with pytest.raises(AOFError, match=f"^Bad file format reading the append only file x.aof at offset {offset}: {why}"):
        aof.parse_commands(data, filename="x.aof")


def test_huge_counts_and_lengths_are_truncation_not_a_hang():
    assert aof.parse_commands(b"*99999999999999999999\r\n$1\r\na\r\n") == ([], 0, "truncated")
    assert aof.parse_commands(b"*1\r\n$99999999999999999999\r\nabc") == ([], 0, "truncated")


def test_large_file_parses_quickly():
    data = b"".join(aof.encode_command([b"SET", b"key:%d" % i, b"v" * (i % 50)]) for i in range(100_000))
    started = time.monotonic()
    commands, end, problem = aof.parse_commands(data)
    assert (len(commands), end, problem) == (100_000, len(data), None)
    assert time.monotonic() - started < 10  # about 0.3 s here; a per-byte loop takes far longer


def test_rdb_preamble_detection():
    assert aof.is_rdb_preamble(b"REDIS0010\xfa")
    assert not aof.is_rdb_preamble(b"*1\r\n$4\r\nPING\r\n")
    assert not aof.is_rdb_preamble(b"REDI")


def test_truncation_messages_are_redis_lines():
    assert aof.truncation_messages("appendonly.aof.1.incr.aof", 74, load_truncated=True) == [
        "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!",
        "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset 74 !!!",
        "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled",
    ]
    [fatal] = aof.truncation_messages("f.aof", 0, load_truncated=False)
    assert fatal.startswith("Unexpected end of file reading the append only file f.aof. You can: 1) Make a backup")
    assert fatal.endswith("set the 'aof-load-truncated' configuration option to yes and restart the server.")


# --------------------------------------------------------------------------- command files: properties

ARGV = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


@settings(max_examples=200)
@given(st.lists(ARGV, max_size=8), st.data())
def test_a_cut_keeps_exactly_the_whole_commands_before_it(commands, data):
    encoded = [aof.encode_command(argv) for argv in commands]
    boundaries = [0]
    for chunk in encoded:
        boundaries.append(boundaries[-1] + len(chunk))
    whole = b"".join(encoded)
    cut = data.draw(st.integers(0, len(whole)))
    parsed, end, problem = aof.parse_commands(whole[:cut])
    kept = max(i for i, boundary in enumerate(boundaries) if boundary <= cut)
    assert parsed == commands[:kept]
    assert end == boundaries[kept]
    assert (problem == "truncated") == (cut not in boundaries)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_give_commands_or_an_aof_error(data):
    try:
        commands, end, problem = aof.parse_commands(data)
    except AOFError:
        return
    assert 0 <= end <= len(data) and problem in (None, "truncated")


@settings(max_examples=300)
@given(st.lists(ARGV, min_size=1, max_size=5), st.data())
def test_damaged_files_give_commands_or_an_aof_error(commands, data):
    whole = bytearray(b"".join(aof.encode_command(argv) for argv in commands))
    for _ in range(data.draw(st.integers(1, 3))):
        whole[data.draw(st.integers(0, len(whole) - 1))] = data.draw(st.sampled_from(b"*$#\r\n0123456789x-"))
    try:
        parsed, end, problem = aof.parse_commands(bytes(whole))
    except AOFError:
        return
    if b"#" not in whole:  # then what was kept re-encodes to exactly the bytes it came from
        assert b"".join(aof.encode_command(argv) for argv in parsed) == bytes(whole[:end])


# --------------------------------------------------------------------------- a real redis-server 7.0


def _wait(condition, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (redis.ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _without_timestamps(commands):
    return [argv[:1] if argv[0] == b"PEXPIREAT" else argv for argv in commands]


@pytest.fixture
def real_redis(tmp_path):
    """A redis-server with AOF on, listening on a unix socket only (port 0: no TCP)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed: the AOF interchange test needs it (apt-get install redis-server)")
    sock = str(tmp_path / "r.sock")
    process = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", sock, "--dir", str(tmp_path), "--appendonly", "yes",
         "--save", "", "--aof-timestamp-enabled", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    client = redis.Redis(unix_socket_path=sock)
    try:
        _wait(lambda: process.poll() is None and client.ping(), "redis-server to answer")
        yield client, tmp_path / "appendonlydir"
    finally:
        client.close()
        process.terminate()
        process.wait(10)


def test_files_written_by_redis_server(real_redis):
    client, directory = real_redis
    client.set("k", "v")
    client.rpush("l", "a", "b", "c")
    client.expire("k", 100)
    with client.pipeline(transaction=True) as pipe:
        pipe.incr("counter").set("x", "y").execute()

    before = aof.parse_manifest((directory / "appendonly.aof.manifest").read_bytes(), "appendonly.aof.manifest")
    assert aof.format_manifest(before).encode() == BASE_AND_INCR
    assert aof.is_rdb_preamble((directory / before.base.name).read_bytes())
    data = (directory / before.current_incr.name).read_bytes()
    assert data.startswith(b"#TS:")  # aof-timestamp-enabled: annotations to skip
    commands, end, problem = aof.parse_commands(data, filename=before.current_incr.name)
    assert (end, problem) == (len(data), None)
    assert _without_timestamps(commands) == [
        [b"SELECT", b"0"], [b"SET", b"k", b"v"], [b"RPUSH", b"l", b"a", b"b", b"c"],
        [b"PEXPIREAT"],  # EXPIRE is logged with an absolute time
        [b"MULTI"], [b"INCRBY", b"counter", b"1"], [b"SET", b"x", b"y"], [b"EXEC"],
    ]

    client.bgrewriteaof()

    def rewrite_done():
        info = client.info("persistence")
        return info["aof_rewrite_in_progress"] == 0 and info["aof_rewrite_scheduled"] == 0

    _wait(rewrite_done, "BGREWRITEAOF to finish")
    client.set("after", "1")
    client.delete("l")

    after = aof.parse_manifest((directory / "appendonly.aof.manifest").read_bytes(), "appendonly.aof.manifest")
    started = aof.add_incr(before, "appendonly.aof")
    predicted = aof.drop_history(aof.rewrite_manifest(
        started, aof.base_name("appendonly.aof", started.next_base_seq, rdb_preamble=True),
        started.next_base_seq, started.current_incr.name, started.current_incr.seq))
    assert after == predicted
    expected_files = sorted(["appendonly.aof.manifest", after.base.name, after.current_incr.name])
    _wait(lambda: sorted(os.listdir(directory)) == expected_files, "history files to be deleted")
    incr = directory / after.current_incr.name
    # Redis writes the AOF in its event loop, which may come just after the reply.
    _wait(lambda: incr.read_bytes().endswith(b"DEL\r\n$1\r\nl\r\n"), "the DEL to reach the incr file")
    data = incr.read_bytes()
    commands, end, problem = aof.parse_commands(data)
    assert (commands, end, problem) == ([[b"SELECT", b"0"], [b"SET", b"after", b"1"], [b"DEL", b"l"]], len(data), None)
