"""The cluster bus codec (app/cluster/bus.py) against messages real redis-server 7.0.15
nodes sent each other (tests/fixtures/cluster_bus/, see its README), then against
generated and broken ones: every message survives encode/decode, and bad bytes only
ever raise BusError."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cluster import bus
from app.cluster.bus import (
    BusError,
    Fail,
    GossipEntry,
    Header,
    HostnameExt,
    Message,
    Module,
    Ping,
    Publish,
    UnknownExt,
    Update,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cluster_bus"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
NODES = MANIFEST["nodes"]
NAMES = {node["name"]: label for label, node in NODES.items()}


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def decoded(name: str) -> Message:
    return bus.decode(fixture(name))


def slots_of(label: str) -> int:
    return bus.ranges_to_mask(tuple(r) for r in NODES[label]["slots"])


def header(**fields) -> Header:
    return Header(**{"type": bus.CLUSTERMSG_TYPE_PING, "sender": "a" * 40, **fields})


# --------------------------------------------------------------------------- real messages


@pytest.mark.parametrize("name", sorted(MANIFEST["fixtures"]))
def test_fixture_decodes_to_its_sender_and_reencodes_to_the_same_bytes(name):
    raw = fixture(name)
    message = bus.decode(raw)
    expected = MANIFEST["fixtures"][name]
    sender = NODES[expected["sender"]]
    assert bus.type_name(message.type) == expected["type"]
    assert message.header.sender == sender["name"]  # the node's CLUSTER MYID
    assert message.header.port == sender["port"]
    assert message.header.cport == sender["cport"]  # its cluster-announce-bus-port
    assert message.header.pport == 0  # no TLS
    assert bus.encode(message) == raw


def test_fixtures_cover_every_type_a_node_sends_without_modules():
    types = {decoded(name).type for name in MANIFEST["fixtures"]}
    assert types == set(bus.TYPE_NAMES) - {bus.CLUSTERMSG_TYPE_MODULE}


def test_meet_opens_the_handshake():
    message = decoded("meet")
    assert message.type == bus.CLUSTERMSG_TYPE_MEET
    assert message.header.state == bus.CLUSTER_FAIL  # not every slot is covered yet
    assert message.header.flags == bus.CLUSTER_NODE_MASTER | bus.CLUSTER_NODE_MYSELF
    assert message.header.slaveof is None
    assert message.header.myslots == slots_of("A")
    assert message.body.hostname == NODES["A"]["hostname"]


def test_ping_gossips_about_the_other_nodes_with_their_addresses():
    message = decoded("ping_master_hostname")
    h = message.header
    assert h.flags == bus.CLUSTER_NODE_MASTER | bus.CLUSTER_NODE_MYSELF | bus.CLUSTER_NODE_MIGRATE_TO
    assert h.myslots == slots_of("A") and bus.mask_to_ranges(h.myslots) == [(0, 5460)]
    assert h.myip == ""  # no cluster-announce-ip: the receiver uses the socket's address
    assert h.offset > 0 and h.state == bus.CLUSTER_OK
    assert message.body.gossip
    for entry in message.body.gossip:
        node = NODES[NAMES[entry.nodename]]
        assert entry.nodename != h.sender
        assert (entry.ip, entry.port, entry.cport) == ("127.0.0.1", node["port"], node["cport"])
        assert entry.pong_received > 1_600_000_000  # Unix seconds, not milliseconds
    assert message.body.extensions == (HostnameExt(NODES["A"]["hostname"]),)


def test_extension_bytes_as_redis_writes_them():
    raw = fixture("ping_master_hostname")
    message = bus.decode(raw)
    assert raw[2253] & bus.CLUSTERMSG_FLAG0_EXT_DATA  # mflags[0] says extensions follow
    assert message.header.mflags & bus.CLUSTERMSG_FLAG0_EXT_DATA == 0  # encode's business
    assert int.from_bytes(raw[2214:2216], "big") == 1  # the header's extension count
    ext = raw[bus.HEADER_SIZE + bus.GOSSIP_SIZE * len(message.body.gossip):]
    hostname = NODES["A"]["hostname"].encode()
    # length (header included, padded to 8), type 0, unused, the text, its NUL, zeros.
    padded = (len(hostname) + 1 + 7) // 8 * 8
    assert ext == struct.pack("!IHH", 8 + padded, 0, 0) + hostname.ljust(padded, b"\0")


def test_pong_of_a_node_announcing_its_ip_and_no_hostname():
    raw = fixture("pong_master_announced_ip")
    message = bus.decode(raw)
    assert message.type == bus.CLUSTERMSG_TYPE_PONG
    assert message.header.myip == NODES["C"]["announce_ip"] == "127.0.0.1"
    assert message.body.extensions == () and message.body.hostname is None
    assert raw[2253] == 0 and raw[2214:2216] == b"\0\0"
    assert {NAMES[e.nodename] for e in message.body.gossip} <= {"A", "B", "D"}


def test_replica_sends_its_masters_name_and_slots():
    message = decoded("pong_replica_hostname")
    h = message.header
    assert h.flags == bus.CLUSTER_NODE_SLAVE | bus.CLUSTER_NODE_MYSELF
    assert h.slaveof == NODES["A"]["name"]
    assert h.myslots == slots_of("A")
    assert h.offset > 0
    assert message.body.hostname == NODES["D"]["hostname"]


def test_paused_master_says_so_in_mflags():
    assert decoded("ping_paused_master").header.mflags == bus.CLUSTERMSG_FLAG0_PAUSED


@pytest.mark.parametrize("name, flag", [("ping_gossip_pfail", bus.CLUSTER_NODE_PFAIL),
                                        ("ping_gossip_fail", bus.CLUSTER_NODE_FAIL)])
def test_gossip_about_a_stopped_node(name, flag):
    entries = {e.nodename: e for e in decoded(name).body.gossip}
    assert entries[NODES["D"]["name"]].flags & flag


def test_fail_names_the_failed_node():
    message = decoded("fail")
    assert message.body == Fail(NODES["D"]["name"])
    assert message.header.flags & bus.CLUSTER_NODE_MASTER  # only masters declare FAIL
    assert len(fixture("fail")) == bus.HEADER_SIZE + 40


def test_publish_carries_channel_and_message():
    assert decoded("publish").body == Publish(b"news", b"hello from B")
    shard = decoded("publishshard")
    assert shard.type == bus.CLUSTERMSG_TYPE_PUBLISHSHARD
    assert shard.body.channel.startswith(b"shard-news-")
    assert shard.body.message == b"hello from A's shard"


def test_manual_failover_messages():
    mfstart = decoded("mfstart")
    assert mfstart.body is None and mfstart.header.slaveof == NODES["A"]["name"]
    request = decoded("failover_auth_request_forceack")
    assert request.header.mflags == bus.CLUSTERMSG_FLAG0_FORCEACK
    assert request.header.flags & bus.CLUSTER_NODE_SLAVE


def test_election_after_a_failure_and_the_update_that_follows():
    request = decoded("failover_auth_request")
    assert request.header.mflags == 0 and request.body is None
    assert request.header.slaveof == NODES["D"]["name"]  # A was D's replica then
    ack = decoded("failover_auth_ack")
    assert ack.header.flags & bus.CLUSTER_NODE_MASTER
    assert ack.header.current_epoch == request.header.current_epoch  # the vote's epoch
    update = decoded("update")
    # A won: its slots at the epoch of its election, sent to D which still claimed them.
    assert update.body == Update(request.header.current_epoch, NODES["A"]["name"], slots_of("A"))
    assert len(fixture("update")) == bus.HEADER_SIZE + 8 + 40 + 2048


# --------------------------------------------------------------------------- layout


def test_sizes_match_redis():
    assert bus.HEADER_SIZE == 2256  # CLUSTERMSG_MIN_LEN
    assert bus.GOSSIP_SIZE == 104
    assert len(bus.encode(Message(header(type=bus.CLUSTERMSG_TYPE_MFSTART)))) == 2256


def test_header_fields_at_redis_offsets_in_network_order():
    raw = bus.encode(Message(header(
        type=bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK, sender="s" * 40, current_epoch=0x0102030405060708,
        config_epoch=9, offset=10, myslots=bus.slots_to_mask([0, 9, 16383]), slaveof="m" * 40,
        myip="10.0.0.1", port=7000, pport=7001, cport=17000, flags=0x0203, state=1, mflags=2)))
    assert raw[0:4] == b"RCmb"
    assert raw[4:8] == (2256).to_bytes(4, "big")
    assert raw[8:10] == b"\0\1"  # ver
    assert raw[10:12] == (7000).to_bytes(2, "big")
    assert raw[12:14] == b"\0\6"  # type
    assert raw[14:16] == b"\0\0"  # count
    assert raw[16:24] == bytes(range(1, 9))
    assert raw[24:32] == (9).to_bytes(8, "big") and raw[32:40] == (10).to_bytes(8, "big")
    assert raw[40:80] == b"s" * 40
    bitmap = raw[80:2128]
    assert bitmap[0] == 0b1 and bitmap[1] == 0b10 and bitmap[2047] == 0x80  # slot j: bit j%8 of byte j/8
    assert raw[2128:2168] == b"m" * 40
    assert raw[2168:2214] == b"10.0.0.1".ljust(46, b"\0")
    assert raw[2214:2246] == bytes(32)  # extensions, then 30 unused bytes
    assert raw[2246:2248] == (7001).to_bytes(2, "big")  # pport comes before cport
    assert raw[2248:2250] == (17000).to_bytes(2, "big")
    assert raw[2250:2252] == b"\2\3"
    assert raw[2252:2256] == b"\1\2\0\0"  # state, mflags[0..2]


def test_no_master_is_forty_nul_bytes():
    raw = bus.encode(Message(header(type=bus.CLUSTERMSG_TYPE_MFSTART)))
    assert raw[2128:2168] == bytes(40)
    assert bus.decode(raw).header.slaveof is None


def test_module_body_layout():
    message = Message(header(type=bus.CLUSTERMSG_TYPE_MODULE), Module(0x0102, 7, b"payload"))
    raw = bus.encode(message)
    # The id as the sender's memory holds it (little-endian), then len and type.
    assert raw[2256:] == bytes([2, 1, 0, 0, 0, 0, 0, 0]) + b"\0\0\0\7" + b"\7" + b"payload"
    assert bus.decode(raw) == message


def test_unknown_type_keeps_its_body():
    message = Message(header(type=42), b"whatever a newer node sends")
    assert bus.decode(bus.encode(message)) == message
    assert bus.type_name(42) == "unknown"


def test_unknown_extension_is_kept_whole():
    ext = UnknownExt(2, b"x" * 40)  # 7.2's shard id
    message = Message(header(), Ping((), (HostnameExt("h"), ext)))
    raw = bus.encode(message)
    assert raw[-48:] == struct.pack("!IHH", 48, 2, 0) + b"x" * 40
    assert bus.decode(raw) == message


def test_hostname_padding_always_leaves_a_nul():
    for length in range(20):
        raw = bus.encode(Message(header(), Ping((), (HostnameExt("h" * length),))))
        ext_len = int.from_bytes(raw[2256:2260], "big")
        assert ext_len == 8 + (length + 1 + 7) // 8 * 8 == len(raw) - 2256
        assert bus.decode(raw).body.hostname == "h" * length


# --------------------------------------------------------------------------- slots


def test_slot_helpers():
    mask = bus.ranges_to_mask([(0, 5460), (5462, 5462), (16383, 16383)])
    assert bus.mask_to_ranges(mask) == [(0, 5460), (5462, 5462), (16383, 16383)]
    assert mask.bit_count() == 5463
    assert list(bus.mask_to_slots(bus.ranges_to_mask([(3, 5)]))) == [3, 4, 5]
    assert bus.slots_to_mask([3, 4, 5]) == 0b111000
    assert bus.mask_to_ranges(0) == []
    assert bus.mask_to_ranges(bus.ranges_to_mask([(0, 16383)])) == [(0, 16383)]
    assert bus.bitmap_to_mask(bus.mask_to_bitmap(mask)) == mask
    for bad in ([(5, 4)], [(-1, 3)], [(0, 16384)]):
        with pytest.raises(ValueError):
            bus.ranges_to_mask(bad)
    with pytest.raises(ValueError):
        bus.slots_to_mask([16384])
    with pytest.raises(ValueError):
        bus.mask_to_bitmap(1 << 16384)


@given(st.sets(st.integers(0, 16383), max_size=300))
def test_slot_helpers_agree_with_a_set(slots):
    mask = bus.slots_to_mask(slots)
    assert list(bus.mask_to_slots(mask)) == sorted(slots)
    assert bus.ranges_to_mask(bus.mask_to_ranges(mask)) == mask
    bitmap = bus.mask_to_bitmap(mask)
    assert {j for j in range(16384) if bitmap[j // 8] & (1 << (j % 8))} == slots


# --------------------------------------------------------------------------- framing and errors


def test_message_length_frames_a_stream():
    raw = fixture("ping_master_hostname")
    assert bus.message_length(raw[:8]) == len(raw)
    with pytest.raises(BusError, match="need 8 bytes"):
        bus.message_length(raw[:7])
    with pytest.raises(BusError, match="signature"):
        bus.message_length(b"RCmx" + raw[4:8])
    with pytest.raises(BusError, match="shorter than the 2256-byte header"):
        bus.message_length(b"RCmb" + (2255).to_bytes(4, "big"))


def with_totlen(raw: bytes) -> bytes:
    """`raw` with its totlen made to match its length, so decode looks inside."""
    return raw[:4] + len(raw).to_bytes(4, "big") + raw[8:]


def patched(raw: bytes, offset: int, value: bytes) -> bytes:
    return raw[:offset] + value + raw[offset + len(value):]


PING = fixture("ping_master_hostname")
GOSSIP_END = bus.HEADER_SIZE + 2 * bus.GOSSIP_SIZE  # that PING has two gossip entries


@pytest.mark.parametrize("raw, error", [
    (PING[:-1], "says it is 2488 bytes long but 2487"),
    (PING + b"\0", "says it is 2488 bytes long but 2489"),
    (patched(PING, 8, b"\0\2"), "protocol version 2"),
    (with_totlen(PING + bytes(8)), "expected 2488"),
    (patched(PING, 14, b"\0\3"), "truncated: at least 2568 expected"),
    (patched(PING, 14, b"\xff\xff"), "truncated"),
    (patched(PING, 2253, b"\0"), "counts 1 extensions without the EXT_DATA flag"),
    (patched(PING, GOSSIP_END, (12).to_bytes(4, "big")), "not a multiple of 8"),
    (patched(PING, GOSSIP_END, (0).to_bytes(4, "big")), "not a multiple of 8"),
    (patched(PING, GOSSIP_END, (64).to_bytes(4, "big")), "running past its end"),
    (PING[:-16] + b"x" * 16, "without its NUL"),
    (with_totlen(fixture("fail") + b"\0"), "fail message of 2297 bytes, expected 2296"),
    (with_totlen(fixture("mfstart") + b"\0"), "mfstart message of 2257 bytes, expected 2256"),
    (with_totlen(fixture("update")[:-1]), "update message"),
    (patched(fixture("publish"), 2256, (5).to_bytes(4, "big")), "publish message"),
    (patched(fixture("publish"), 2256, (2**32 - 1).to_bytes(4, "big")), "publish message"),
    (with_totlen(patched(fixture("mfstart"), 12, b"\0\x09") + bytes(12)), "truncated"),
    (patched(fixture("mfstart"), 0, b"XXXX"), "signature"),
    (b"RCmb", "need 8 bytes"),
    (b"", "need 8 bytes"),
])
def test_bad_messages_raise_bus_error(raw, error):
    with pytest.raises(BusError, match=error):
        bus.decode(raw)


def test_an_unknown_type_is_accepted_at_any_length_past_the_header():
    raw = patched(fixture("mfstart"), 12, b"\0\x63")
    assert bus.decode(raw).body == b""
    assert bus.decode(with_totlen(raw + b"abc")).body == b"abc"
    with pytest.raises(BusError, match="shorter than the 2256-byte header"):
        bus.decode(with_totlen(raw[:2255]))


def test_huge_counts_fail_fast():
    raw = patched(patched(PING, 14, b"\xff\xff"), 2214, b"\xff\xff")
    started = time.monotonic()
    for _ in range(100):
        with pytest.raises(BusError):
            bus.decode(raw)
    # Only gossip entries within the message are read, and each extension takes 8 bytes.
    hostname_only = with_totlen(patched(patched(PING, 14, b"\0\0"), 2214, b"\xff\xff")[:2256]
                                + PING[GOSSIP_END:])
    with pytest.raises(BusError, match="truncated inside its extensions"):
        bus.decode(hostname_only)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("message, error", [
    (Message(header(), None), "carries a Ping body"),
    (Message(header(type=bus.CLUSTERMSG_TYPE_FAIL), Ping()), "carries a Fail body"),
    (Message(header(type=bus.CLUSTERMSG_TYPE_MFSTART), b""), "carries a NoneType body"),
    (Message(header(type=99), None), "carries a bytes body"),
    (Message(header(sender="short"), Ping()), "sender must be 40"),
    (Message(header(slaveof="x"), Ping()), "slaveof must be 40"),
    (Message(header(myip="1" * 47), Ping()), "at most 46"),
    (Message(header(port=65536), Ping()), "cannot encode"),
    (Message(header(current_epoch=-1), Ping()), "cannot encode"),
    (Message(header(myslots=1 << 16384), Ping()), "outside 0-16383"),
    (Message(header(mflags=bus.CLUSTERMSG_FLAG0_EXT_DATA), Ping()), "EXT_DATA"),
    (Message(header(), Ping((), (HostnameExt("a\0b"),))), "NUL"),
    (Message(header(), Ping((), (UnknownExt(5, b"abc"),))), "multiple of 8"),
    (Message(header(), Ping((), ("hostname",))), "not a ping extension"),
    (Message(header(), Ping((GossipEntry("n" * 39, 0, 0, "", 1, 2, 3),))), "gossip node name"),
    (Message(header(sender="é" * 20 + "€" * 20), Ping()), "cannot encode"),
    (Message(header(type=bus.CLUSTERMSG_TYPE_PUBLISH), Publish("text", b"")), "cannot encode"),
])
def test_messages_that_cannot_be_encoded_raise_bus_error(message, error):
    with pytest.raises(BusError, match=error):
        bus.encode(message)


# --------------------------------------------------------------------------- properties

u16 = st.integers(0, 2**16 - 1)
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
names = st.binary(min_size=40, max_size=40).map(lambda b: b.decode("latin-1"))
hex_names = st.text("0123456789abcdef", min_size=40, max_size=40)
ips = st.binary(max_size=46).map(lambda b: b.replace(b"\0", b"x").decode("latin-1"))
masks = st.one_of(
    st.integers(0, 2**16384 - 1),
    st.lists(st.tuples(st.integers(0, 16383), st.integers(0, 200)), max_size=5).map(
        lambda runs: bus.ranges_to_mask((s, min(s + n, 16383)) for s, n in runs)),
)
gossip_entries = st.builds(GossipEntry, names, u32, u32, ips, u16, u16, u16, u16)
extensions = st.one_of(
    st.builds(HostnameExt, st.binary(max_size=300).map(
        lambda b: b.replace(b"\0", b"-").decode("latin-1"))),
    st.builds(UnknownExt, st.integers(1, 2**16 - 1),
              st.binary(max_size=80).map(lambda b: b + bytes(-len(b) % 8))),
)
bodies = {
    bus.CLUSTERMSG_TYPE_PING: st.builds(Ping, st.lists(gossip_entries, max_size=6).map(tuple),
                                        st.lists(extensions, max_size=4).map(tuple)),
    bus.CLUSTERMSG_TYPE_FAIL: st.builds(Fail, names),
    bus.CLUSTERMSG_TYPE_PUBLISH: st.builds(Publish, st.binary(max_size=100), st.binary(max_size=300)),
    bus.CLUSTERMSG_TYPE_UPDATE: st.builds(Update, u64, names, masks),
    bus.CLUSTERMSG_TYPE_MODULE: st.builds(Module, u64, st.integers(0, 255), st.binary(max_size=300)),
}
for kind in (bus.CLUSTERMSG_TYPE_PONG, bus.CLUSTERMSG_TYPE_MEET):
    bodies[kind] = bodies[bus.CLUSTERMSG_TYPE_PING]
bodies[bus.CLUSTERMSG_TYPE_PUBLISHSHARD] = bodies[bus.CLUSTERMSG_TYPE_PUBLISH]
for kind in (bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST, bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK,
             bus.CLUSTERMSG_TYPE_MFSTART):
    bodies[kind] = st.none()


@st.composite
def messages(draw):
    kind = draw(st.sampled_from(sorted(bodies)) | st.integers(bus.CLUSTERMSG_TYPE_COUNT, 2**16 - 1))
    body = draw(bodies.get(kind, st.binary(max_size=300)))
    head = Header(
        type=kind, sender=draw(names), current_epoch=draw(u64), config_epoch=draw(u64),
        offset=draw(u64), myslots=draw(masks), slaveof=draw(st.none() | hex_names),
        myip=draw(ips), port=draw(u16), pport=draw(u16), cport=draw(u16), flags=draw(u16),
        state=draw(st.integers(0, 255)),
        mflags=draw(st.integers(0, 255)) & ~bus.CLUSTERMSG_FLAG0_EXT_DATA)
    return Message(head, body)


@given(messages())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_message_survives_encode_and_decode(message):
    raw = bus.encode(message)
    assert bus.message_length(raw[:8]) == len(raw)
    assert bus.decode(raw) == message
    assert bus.encode(bus.decode(raw)) == raw


def decodes_or_bus_error(raw: bytes) -> None:
    """Decode must either succeed, with a result that encodes and decodes to itself, or
    raise BusError: never another exception."""
    try:
        message = bus.decode(raw)
    except BusError:
        return
    assert bus.decode(bus.encode(message)) == message


@given(st.binary(max_size=3000))
@settings(deadline=None)
def test_random_bytes_only_raise_bus_error(raw):
    decodes_or_bus_error(raw)


@st.composite
def plausible_messages(draw):
    """Random bytes behind a header good enough to get past the framing, so the body
    checks see them."""
    raw = bytearray(draw(st.binary(min_size=2256, max_size=2256 + 700)))
    raw[0:4] = b"RCmb"
    raw[4:8] = len(raw).to_bytes(4, "big")
    raw[8:10] = b"\0\1"
    raw[12:14] = draw(st.integers(0, 12)).to_bytes(2, "big")
    raw[14:16] = draw(st.integers(0, 8)).to_bytes(2, "big")
    raw[2214:2216] = draw(st.integers(0, 4)).to_bytes(2, "big")
    return bytes(raw)


@given(plausible_messages())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plausible_garbage_only_raises_bus_error(raw):
    decodes_or_bus_error(raw)


@given(st.sampled_from(sorted(MANIFEST["fixtures"])), st.data())
@settings(max_examples=300, deadline=None)
def test_corrupted_real_messages_only_raise_bus_error(name, data):
    raw = bytearray(fixture(name))
    for _ in range(data.draw(st.integers(1, 4))):
        # Corrupt where decisions are made more often than in the slots bitmap.
        where = data.draw(st.sampled_from([range(16), range(2214, 2256), range(2256, len(raw)),
                                           range(len(raw))]))
        if where:
            raw[data.draw(st.sampled_from(where))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw[4:8] = len(raw).to_bytes(4, "big")
    decodes_or_bus_error(bytes(raw))


@pytest.mark.parametrize("name", sorted(MANIFEST["fixtures"]))
def test_every_truncation_of_a_real_message_raises_bus_error(name):
    raw = fixture(name)
    for length in range(len(raw)):
        with pytest.raises(BusError):
            bus.decode(raw[:length])
        if length >= 8:
            # Even with a length field that agrees, a known type's body is incomplete.
            with pytest.raises(BusError):
                bus.decode(with_totlen(raw[:length]))
