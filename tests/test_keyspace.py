"""The keyspace on its own: expiry bookkeeping, sampling, SCAN snapshots, random keys."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.store.keyspace import Keyspace, now_ms

FAR = now_ms() + 3_600_000  # a deadline an hour away
PAST = 1  # a deadline long gone


def database():
    return Keyspace(databases=2).databases[0]


def test_lookup_expires_a_key_past_its_deadline():
    db = database()
    db.set(b"k", b"v", deadline=PAST)  # stored, as SET ... PXAT in the past does
    assert len(db) == 1
    assert db.lookup(b"k") is None
    assert len(db) == 0 and db.keyspace.expired_keys == 1


def test_overwrite_forgets_the_deadline_unless_kept():
    db = database()
    db.set(b"k", b"v")
    db.set_deadline(b"k", FAR)
    db.set(b"k", b"w", keep_ttl=True)
    assert db.deadline(b"k") == FAR
    db.set(b"k", b"x")
    assert db.deadline(b"k") is None


def test_a_deadline_in_the_past_deletes_at_once():
    db = database()
    db.set(b"k", b"v")
    db.set_deadline(b"k", PAST)
    assert b"k" not in db.data


def test_expire_sample_deletes_only_expired_keys():
    db = database()
    for i in range(50):
        db.set(b"old%d" % i, b"v", deadline=PAST)
        db.set(b"new%d" % i, b"v", deadline=FAR)
    checked, expired = db.expire_sample(now_ms(), 100)
    assert checked == 100 and 0 < expired <= 50
    assert all(key.startswith(b"new") or db.expires[key] == PAST for key in db.data)


def test_active_expire_cycle_empties_databases_of_expired_keys():
    keyspace = Keyspace(databases=3)
    for db in keyspace.databases:
        for i in range(300):
            db.set(b"k%d" % i, b"v", deadline=PAST)
        db.set(b"keep", b"v")
    while keyspace.active_expire_cycle():
        pass
    assert [len(db) for db in keyspace.databases] == [1, 1, 1]
    assert keyspace.expired_keys == 900


operations = st.lists(
    st.tuples(st.sampled_from(["set", "set_ttl", "keep", "deadline", "persist", "delete", "sample"]),
              st.integers(0, 7)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_expiry_index_always_mirrors_the_deadlines(ops):
    """The list used for random sampling holds exactly the keys that have deadlines."""
    db = database()
    for op, n in ops:
        key = b"k%d" % n
        if op == "set":
            db.set(key, b"v")
        elif op == "set_ttl":
            db.set(key, b"v", deadline=FAR + n)
        elif op == "keep":
            db.set(key, b"w", keep_ttl=True)
        elif op == "deadline" and key in db.data:
            db.set_deadline(key, FAR)
        elif op == "persist":
            db.persist(key)
        elif op == "delete":
            db.delete(key)
        elif op == "sample":
            db.expire_sample(FAR + 5, 3)  # some deadlines count as passed
        assert sorted(db._expiring) == sorted(db.expires)
        assert all(db._expiring[index] == key for key, index in db._slot.items())
        assert set(db.expires) <= set(db.data)


def full_scan(db, count, between=lambda: None):
    cursor, seen = 0, []
    while True:
        cursor, keys = db.scan(cursor, count)
        seen += keys
        between()
        if cursor == 0:
            return seen


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(1, 15), st.integers(0, 30))
def test_scan_returns_every_lasting_key_exactly_once(size, count, churn):
    db = database()
    for i in range(size):
        db.set(b"stay%d" % i, b"v")
    for i in range(churn):
        db.set(b"go%d" % i, b"v")
    changes = iter(range(churn))

    def churn_step():  # delete one old key and add a new one between calls
        i = next(changes, None)
        if i is not None:
            db.delete(b"go%d" % i)
            db.set(b"new%d" % i, b"v")

    seen = full_scan(db, count, churn_step)
    lasting = [key for key in seen if key.startswith(b"stay")]
    assert sorted(lasting) == sorted(b"stay%d" % i for i in range(size))
    assert len(seen) == len(set(seen))


def test_scan_of_an_empty_database_ends_at_once():
    assert database().scan(0, 10) == (0, [])


def test_a_cursor_whose_snapshot_was_dropped_still_finishes():
    db = database()
    for i in range(100):
        db.set(b"k%d" % i, b"v")
    cursor, _ = db.scan(0, 10)
    for _ in range(20):  # start many other scans: the first snapshot is evicted
        db.scan(0, 1)
    seen = full_scan_from(db, cursor)
    assert len(seen) == 90  # resumed at the same position in a fresh snapshot


def full_scan_from(db, cursor):
    seen = []
    while True:
        cursor, keys = db.scan(cursor, 10)
        seen += keys
        if cursor == 0:
            return seen


def test_random_key_skips_and_deletes_expired_keys():
    db = database()
    assert db.random_key() is None
    for i in range(20):
        db.set(b"dead%d" % i, b"v", deadline=PAST)
    db.set(b"alive", b"v")
    assert db.random_key() == b"alive"
