"""The stream store against a model of what a stream means, with hypothesis.

`Stream` (app/store/stream.py) cuts its entries into nodes as Redis cuts listpacks, keeps
counts of tombstones, bisects for every seek: all of that must add up to the plain
meaning of a stream, which the model here is: a sorted list of (id, fields) and four
counters. Random sequences of XADD, XDEL, XTRIM and XSETID run on both, with random
node limits, and every range, reverse range, lookup and counter must agree. Approximate
trims (``~``) depend on the node boundaries, which the model does not have: for them
the test checks what holds whatever the boundaries (only whole entries from the head,
never below the target, never past LIMIT) and then follows the store. The boundaries
themselves are compared with a real Redis in tests/test_differential_streams.py.
"""

from __future__ import annotations

import bisect

from hypothesis import given, settings
from hypothesis import strategies as st

from app.store.stream import MAX_ID, MIN_ID, PendingEntries, PendingEntry, Stream, StreamNode, increment_id

FIELD = st.sampled_from([b"f", b"g", b"field", b"12", b"x" * 70])
VALUE = st.one_of(st.sampled_from([b"v", b"123", b"-5", b"0", b""]), st.binary(max_size=40))
FIELDS = st.lists(st.tuples(FIELD, VALUE), min_size=1, max_size=3).map(lambda pairs: tuple(x for p in pairs for x in p))

# An ID step: how far past the last ID the next explicit one goes.
STEP = st.tuples(st.sampled_from([0, 0, 1, 2, 1000, 2**40]), st.integers(0, 3))

OPERATION = st.one_of(
    st.tuples(st.just("add"), STEP, FIELDS),
    st.tuples(st.just("add_auto"), st.integers(0, 5), FIELDS),
    st.tuples(st.just("delete"), st.integers(0, 1000)),
    st.tuples(st.just("trim_maxlen"), st.integers(0, 30), st.booleans(), st.sampled_from([0, 0, 1, 5, 50])),
    st.tuples(st.just("trim_minid"), st.integers(0, 1000), st.booleans(), st.sampled_from([0, 0, 1, 5, 50])),
    st.tuples(st.just("setid"), st.integers(0, 3), st.integers(0, 5), st.booleans()),
)


class Model:
    """What a stream is: entries in ID order, and the counters XINFO shows."""

    def __init__(self):
        self.entries: list[tuple[tuple[int, int], tuple]] = []
        self.last_id = MIN_ID
        self.entries_added = 0
        self.max_deleted_id = MIN_ID
        self.first_id = MIN_ID

    def ids(self) -> list[tuple[int, int]]:
        return [entry_id for entry_id, _ in self.entries]

    def add(self, entry_id, fields) -> None:
        assert entry_id > self.last_id
        self.entries.append((entry_id, fields))
        self.last_id = entry_id
        self.entries_added += 1
        if len(self.entries) == 1:
            self.first_id = entry_id

    def delete(self, entry_id) -> bool:
        ids = self.ids()
        if entry_id not in ids:
            return False
        del self.entries[ids.index(entry_id)]
        self.max_deleted_id = max(self.max_deleted_id, entry_id)
        self._recompute_first()
        return True

    def drop_head(self, count: int) -> None:
        del self.entries[:count]
        if count:
            self._recompute_first()

    def _recompute_first(self) -> None:
        self.first_id = self.entries[0][0] if self.entries else MIN_ID

    def range(self, start, end, count: int, reverse: bool):
        found = [(i, f) for i, f in self.entries if start <= i <= end]
        if reverse:
            found.reverse()
        return found[:count] if count else found


def check_same(stream: Stream, model: Model, probes) -> None:
    """Every observable of the store equals the model's."""
    assert stream.length == len(model.entries) == sum(len(node) for node in stream.nodes)
    assert stream.last_id == model.last_id
    assert stream.entries_added == model.entries_added
    assert stream.max_deleted_id == model.max_deleted_id
    assert stream.first_id == model.first_id
    assert stream.range() == model.entries
    ids = model.ids()
    assert stream.first_entry_id() == (ids[0] if ids else None)
    assert stream.last_entry_id() == (ids[-1] if ids else None)
    for start, end, count in probes:
        for reverse in (False, True):
            assert stream.range(start, end, count, reverse) == model.range(start, end, count, reverse)
        assert stream.get(start) == dict(model.entries).get(start)
    # The nodes' own bookkeeping: in order, each starting at its key, none empty of
    # every entry it ever had unless trimming left tombstones in it.
    keys = [node.master for node in stream.nodes]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for node in stream.nodes:
        node_ids = [node.id_at(i) for i in range(len(node))]
        assert node_ids == sorted(node_ids)
        assert all(node.master <= entry_id <= node.last for entry_id in node_ids)
        assert len(node) or node.deleted


def probes_for(model: Model, data) -> list:
    ids = model.ids() or [MIN_ID]
    around = ids + [increment_id(i) or MAX_ID for i in ids] + [MIN_ID, MAX_ID, (ids[-1][0] + 1, 0)]
    starts = data.draw(st.lists(st.sampled_from(around), min_size=1, max_size=4))
    return [(start, data.draw(st.sampled_from(around)), data.draw(st.sampled_from([0, 1, 2, 5])))
            for start in starts]


@settings(max_examples=300, deadline=None)
@given(operations=st.lists(OPERATION, max_size=60), max_entries=st.sampled_from([0, 1, 2, 3, 100]),
       max_bytes=st.sampled_from([0, 30, 100, 4096]), data=st.data())
def test_the_store_behaves_like_the_model(operations, max_entries, max_bytes, data):
    stream, model = Stream(), Model()
    clock = 1_000_000
    for operation in operations:
        kind = operation[0]
        if kind == "add":
            (ms_step, seq_step), fields = operation[1], operation[2]
            ms, seq = model.last_id
            entry_id = (ms + ms_step, seq + seq_step + 1) if ms_step == 0 else (ms + ms_step, seq_step)
            if entry_id[1] >= 2**64:
                continue
            stream.append(entry_id, fields, max_bytes, max_entries)
            model.add(entry_id, fields)
        elif kind == "add_auto":
            clock += operation[1] - 2  # the clock may stand still or go back
            entry_id = stream.next_id(clock)
            expected = (clock, 0) if clock > model.last_id[0] else (model.last_id[0], model.last_id[1] + 1)
            assert entry_id == expected
            stream.append(entry_id, operation[2], max_bytes, max_entries)
            model.add(entry_id, operation[2])
        elif kind == "delete":
            ids = model.ids()
            target = ids[operation[1] % len(ids)] if ids and operation[1] % 4 else (operation[1], 1)
            assert stream.delete(target) == model.delete(target)
        elif kind in ("trim_maxlen", "trim_minid"):
            _kind, amount, approx, limit = operation
            before = model.ids()
            if kind == "trim_maxlen":
                removed = stream.trim(maxlen=amount, approx=approx, limit=limit if approx else 0)
                exact = max(len(before) - amount, 0)
            else:
                ids = before or [MIN_ID]
                minid = ids[amount % len(ids)] if amount % 5 else (amount, 0)
                removed = stream.trim(minid=minid, approx=approx, limit=limit if approx else 0)
                exact = bisect.bisect_left(before, minid)
            if approx:
                assert removed <= exact  # never past the target
                assert not limit or removed <= limit
            else:
                assert removed == exact
            model.drop_head(removed)
        elif kind == "setid":
            _kind, ms_step, seq_step, keep_counts = operation
            new_id = (model.last_id[0] + ms_step, seq_step)
            ids = model.ids()
            if ids and new_id < ids[-1]:
                continue  # XSETID refuses an ID below the last entry before touching the stream
            stream.last_id = model.last_id = new_id
            if not keep_counts:
                stream.entries_added = model.entries_added = model.entries_added + seq_step
        check_same(stream, model, probes_for(model, data))
    check_same(stream, model, probes_for(model, data))


@settings(max_examples=100, deadline=None)
@given(operations=st.lists(OPERATION, max_size=40), data=st.data())
def test_a_copy_is_equal_and_independent(operations, data):
    stream = Stream()
    for operation in operations:
        if operation[0] in ("add", "add_auto"):
            stream.append(stream.next_id(1_000_000 + len(stream.nodes)), operation[2], 100, 3)
        elif operation[0] == "delete" and stream.length:
            ids = [i for i, _ in stream.range()]
            stream.delete(ids[operation[1] % len(ids)])
    twin = stream.copy()
    assert twin.range() == stream.range() and twin.last_id == stream.last_id
    assert [n.master for n in twin.nodes] == [n.master for n in stream.nodes]
    twin.append(increment_id(twin.last_id), (b"f", b"v"), 100, 3)
    twin.trim(maxlen=0)
    assert twin.length == 0 and stream.length == len(stream.range())


def test_a_node_counts_listpack_bytes_as_redis_does():
    """`XADD s 1-1 field value` makes a listpack of 37 bytes in Redis: 7 of header and
    end, the live and deleted counters (2 each), the master entry (its field count 2,
    "field" 7, a terminator 2), then the entry: flags, the two ID deltas (2 each), the
    value (7) and its element count (2). A second entry of 10 bytes of fields starts a
    new node when 37 + 10 reaches stream-node-max-bytes: at 47, not at 48 (as Redis)."""
    node = StreamNode((1, 1), (b"field", b"value"))
    node.add((1, 1), (b"field", b"value"))
    assert node.listpack_bytes() == 37
    for max_bytes, nodes in ((47, 2), (48, 1)):
        stream = Stream()
        stream.append((1, 1), (b"field", b"value"), max_bytes, 100)
        stream.append((1, 2), (b"field", b"value"), max_bytes, 100)
        assert len(stream.nodes) == nodes


def _layout(stream: Stream) -> list:
    """Everything a stream's nodes hold, and its counters."""
    nodes = [(node.master, node.master_fields, list(node.ms), list(node.seq), node.entries, node.deleted,
              node.last, node.size) for node in stream.nodes]
    return [nodes, stream._keys, stream.length, stream.first_id, stream.last_id, stream.entries_added]


@settings(max_examples=300, deadline=None)
@given(before=st.lists(st.tuples(STEP, FIELDS), max_size=5),
       steps=st.lists(st.tuples(STEP, VALUE), max_size=150),
       name=FIELD, max_entries=st.sampled_from([0, 1, 2, 3, 100]), max_bytes=st.sampled_from([0, 40, 90, 300, 4096]))
def test_values_appended_at_once_as_one_by_one(before, steps, name, max_entries, max_bytes):
    """`Stream.append_values` (a loaded node of one field) makes the nodes `append` makes,
    after whatever tail the stream already has."""
    one_by_one, at_once = Stream(), Stream()
    last = (0, 0)
    for (ms_step, seq), fields in before:
        last = (last[0] + ms_step, seq if ms_step else last[1] + 1 + seq)
        for stream in (one_by_one, at_once):
            stream.append(last, fields, max_bytes, max_entries)
    ids = []
    for ms_step, seq in (step for step, _value in steps):
        last = (last[0] + ms_step, seq if ms_step else last[1] + 1 + seq)
        ids.append(last)
    values = [value for _step, value in steps]
    for entry_id, value in zip(ids, values):
        one_by_one.append(entry_id, (name, value), max_bytes, max_entries)
    at_once.append_values(name, [ms for ms, _seq in ids], [seq for _ms, seq in ids], values, max_bytes, max_entries)
    assert _layout(at_once) == _layout(one_by_one)


@settings(max_examples=200, deadline=None)
@given(operations=st.lists(st.tuples(st.booleans(), st.integers(0, 60)), max_size=300),
       probes=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=5))
def test_a_pending_entries_list_behaves_like_a_sorted_dict(operations, probes):
    """Adds and removals in any order (removed IDs linger in the ordered list until a
    rebuild): the IDs listed are always those present, in order."""
    pending, model = PendingEntries(), {}
    for add, number in operations:
        entry_id = (number // 4, number % 4)
        if add:
            nack = PendingEntry(None, number)
            pending.add(entry_id, nack)
            model[entry_id] = nack
        else:
            assert pending.remove(entry_id) is model.pop(entry_id, None)
        assert len(pending) == len(model)
    present = sorted(model)
    assert list(pending.ids_from()) == present
    assert pending.first() == (present[0] if present else None)
    assert pending.last() == (present[-1] if present else None)
    for low, high in probes:
        start, end = (low // 4, low % 4), (high // 4, high % 4)
        assert list(pending.ids_from(start, end)) == [i for i in present if start <= i <= end]
    for entry_id in list(pending.ids_from()):  # removing while listing is allowed
        pending.remove(entry_id)
    assert len(pending) == 0 and pending.first() is None
