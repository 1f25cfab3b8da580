"""The cluster bus's messages as Redis 7.0 writes them (cluster.h, cluster.c): bytes in,
messages out, and back. No sockets here, so every rule can be tested with byte strings.

Every node of a cluster listens on a second port, the *bus* (client port + 10000, or
``cluster-port``), and keeps a TCP link to every other node. Over it they gossip
(PING, PONG, MEET), spread failures (FAIL), elect replicas (FAILOVER_AUTH_REQUEST and
FAILOVER_AUTH_ACK, MFSTART), correct stale slot owners (UPDATE) and forward Pub/Sub
(PUBLISH, PUBLISHSHARD) and module messages (MODULE).

Framing
    A message announces its own length in its first 8 bytes, so a reader first reads
    those 8 (Redis' RCVBUF_MIN_READ_LEN), asks `message_length` how long the whole
    message is, reads the rest and hands it to `decode`::

        +------+--------+--------------------------------------------+
        | RCmb | totlen | ... the rest of the header and the body     |
        +------+--------+--------------------------------------------+
        0      4        8                                        totlen

    A wrong signature, or a length shorter than the fixed header, means the stream
    cannot be framed any more: Redis closes the link, and `message_length` raises.
    A message that frames well but is malformed inside (a length that does not match
    its type, a truncated extension) is one Redis logs and skips, keeping the link:
    `decode` raises `BusError` and the reader can do the same.

The header (2256 bytes, CLUSTERMSG_MIN_LEN), every integer in network byte order::

    offset size  field          what it holds
         0    4  sig            b"RCmb" (Redis Cluster message bus)
         4    4  totlen         the whole message's length, header included
         8    2  ver            1 (CLUSTER_PROTO_VER); Redis ignores other versions
        10    2  port           the sender's client port (its TLS port with tls-cluster)
        12    2  type           CLUSTERMSG_TYPE_*
        14    2  count          how many gossip entries follow (PING, PONG, MEET)
        16    8  currentEpoch   the sender's view of the cluster's epoch
        24    8  configEpoch    the sender's, or its master's if it is a replica
        32    8  offset         replication offset
        40   40  sender         the sender's name: 40 hex characters
        80 2048  myslots        16384-bit bitmap, slot j is bit j%8 of byte j/8
                                (a replica sends its master's slots)
      2128   40  slaveof        the master's name; 40 NUL bytes for a master
      2168   46  myip           announced IP, NUL padded; empty: use the socket's peer
      2214    2  extensions     how many ping extensions follow the gossip (7.0)
      2216   30  (unused)       zeros
      2246    2  pport          plaintext client port, when `port` is the TLS one
      2248    2  cport          the sender's bus port
      2250    2  flags          CLUSTER_NODE_* of the sender
      2252    1  state          CLUSTER_OK (0) or CLUSTER_FAIL (1), as the sender sees it
      2253    3  mflags         mflags[0]: CLUSTERMSG_FLAG0_*; the other two unused
      2256       body           by type, below

The bodies::

    PING, PONG, MEET   count x gossip entry (104 bytes: nodename 40, ping_sent 4,
                       pong_received 4, ip 46, port 2, cport 2, flags 2, pport 2,
                       unused 2), then `extensions` ping extensions when mflags[0] has
                       CLUSTERMSG_FLAG0_EXT_DATA: length 4 (header included, a multiple
                       of 8), type 2, unused 2, payload zero-padded to the length
    FAIL               nodename 40
    PUBLISH(SHARD)     channel_len 4, message_len 4, channel bytes, message bytes
    UPDATE             configEpoch 8, nodename 40, slots bitmap 2048
    MODULE             module_id 8, len 4, type 1, payload of len bytes
    FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART: nothing, the header says it all

Slots travel as bitmaps; here a set of slots is a Python int whose bit j is slot j
(`bitmap_to_mask`), which is exactly the bitmap read as one little-endian number: one
``int.from_bytes`` per message, and union, difference and counting are single int
operations instead of loops over 16384 bits.

`decode` keeps everything Redis reads and re-encoding gives back the same bytes for
anything Redis sends; unused fields are dropped and written back as zeros. Text fields
(names, IPs, hostnames) are bytes read as Latin-1, one character per byte, so any
byte string survives the round trip.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# --------------------------------------------------------------------------- sizes

SIGNATURE = b"RCmb"
PROTOCOL_VERSION = 1  # CLUSTER_PROTO_VER
CLUSTER_SLOTS = 16384
NAME_LEN = 40  # CLUSTER_NAMELEN: a SHA1 in hex
IP_LEN = 46  # NET_IP_STR_LEN: INET6_ADDRSTRLEN
NULL_NAME = "\0" * NAME_LEN  # what Redis writes as "no master" (CLUSTER_NODE_NULL_NAME)
FRAME_PREFIX_SIZE = 8  # "RCmb" + totlen: what a reader needs to frame a message

# The header; '!' is network byte order with no padding, as the packed C struct.
_HEADER = struct.Struct("!4sIHHHHQQQ40s2048s40s46sH30sHHHB3s")
HEADER_SIZE = _HEADER.size  # 2256, CLUSTERMSG_MIN_LEN
_GOSSIP = struct.Struct("!40sII46sHHHHH")
GOSSIP_SIZE = _GOSSIP.size  # 104
_EXT = struct.Struct("!IHH")  # length, type, unused
_EXT_HEADER_SIZE = _EXT.size
_PUBLISH = struct.Struct("!II")
_UPDATE = struct.Struct("!Q40s2048s")
# A module's id is copied from the sender's memory as it is (cluster.c calls it
# "already endian adjusted"), so on the little-endian machines Redis runs on it travels
# little-endian, unlike every other integer on the bus.
_MODULE = struct.Struct("<Q")
_MODULE_REST = struct.Struct("!IB")
_MODULE_SIZE = _MODULE.size + _MODULE_REST.size  # 13: the C struct's 3 placeholder bytes are not sent

# --------------------------------------------------------------------------- constants

# Message types (CLUSTERMSG_TYPE_*).
CLUSTERMSG_TYPE_PING = 0
CLUSTERMSG_TYPE_PONG = 1
CLUSTERMSG_TYPE_MEET = 2  # a PING that makes the receiver add the sender
CLUSTERMSG_TYPE_FAIL = 3
CLUSTERMSG_TYPE_PUBLISH = 4
CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST = 5
CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK = 6
CLUSTERMSG_TYPE_UPDATE = 7
CLUSTERMSG_TYPE_MFSTART = 8
CLUSTERMSG_TYPE_MODULE = 9
CLUSTERMSG_TYPE_PUBLISHSHARD = 10
CLUSTERMSG_TYPE_COUNT = 11

# The names Redis uses in its logs and in CLUSTER INFO's cluster_stats_messages_*.
TYPE_NAMES = {
    CLUSTERMSG_TYPE_PING: "ping",
    CLUSTERMSG_TYPE_PONG: "pong",
    CLUSTERMSG_TYPE_MEET: "meet",
    CLUSTERMSG_TYPE_FAIL: "fail",
    CLUSTERMSG_TYPE_PUBLISH: "publish",
    CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST: "auth-req",
    CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK: "auth-ack",
    CLUSTERMSG_TYPE_UPDATE: "update",
    CLUSTERMSG_TYPE_MFSTART: "mfstart",
    CLUSTERMSG_TYPE_MODULE: "module",
    CLUSTERMSG_TYPE_PUBLISHSHARD: "publishshard",
}

# Node flags (CLUSTER_NODE_*), in the header's `flags` and in every gossip entry.
CLUSTER_NODE_MASTER = 1
CLUSTER_NODE_SLAVE = 2
CLUSTER_NODE_PFAIL = 4  # the sender cannot reach it: failure not yet agreed
CLUSTER_NODE_FAIL = 8  # a majority of masters agreed it failed
CLUSTER_NODE_MYSELF = 16
CLUSTER_NODE_HANDSHAKE = 32  # met, but no PONG seen yet: its name is still a guess
CLUSTER_NODE_NOADDR = 64
CLUSTER_NODE_MEET = 128
CLUSTER_NODE_MIGRATE_TO = 256  # a master eligible to receive a migrating replica
CLUSTER_NODE_NOFAILOVER = 512  # a replica with cluster-replica-no-failover yes

# Cluster states, the header's `state`.
CLUSTER_OK = 0
CLUSTER_FAIL = 1

# Message flags, mflags[0].
CLUSTERMSG_FLAG0_PAUSED = 1  # the sending master paused its clients for a manual failover
CLUSTERMSG_FLAG0_FORCEACK = 2  # vote for this replica even though its master is up
CLUSTERMSG_FLAG0_EXT_DATA = 4  # ping extensions follow the gossip; set by `encode` itself

# Ping extension types. Redis 7.0 knows only the hostname (cluster-announce-hostname);
# 7.2 adds 1 (a forgotten node), 2 (the shard id) and 3 (a human node name), which a 7.0
# node logs and skips: `decode` keeps those, and any other, as `UnknownExt`.
CLUSTERMSG_EXT_TYPE_HOSTNAME = 0


class BusError(ValueError):
    """Bytes that are not a cluster bus message, or a message that cannot be encoded."""


# --------------------------------------------------------------------------- slots


def bitmap_to_mask(bitmap: bytes) -> int:
    """A 2048-byte slots bitmap as an int whose bit j is slot j."""
    return int.from_bytes(bitmap, "little")


def mask_to_bitmap(mask: int) -> bytes:
    """The 2048-byte bitmap of a slots mask; ValueError past slot 16383 or below zero."""
    if mask < 0 or mask >> CLUSTER_SLOTS:
        raise ValueError("slots mask outside 0-16383")
    return mask.to_bytes(CLUSTER_SLOTS // 8, "little")


def mask_to_ranges(mask: int) -> list[tuple[int, int]]:
    """The mask's slots as sorted inclusive ranges, [(0, 5460), (5462, 5462)].

    It jumps from run to run with bit tricks, so a mask of a few ranges costs a few
    steps, not 16384."""
    ranges = []
    slot = 0
    while mask:
        skip = (mask & -mask).bit_length() - 1  # zeros below the lowest set bit
        mask >>= skip
        slot += skip
        run = (~mask & (mask + 1)).bit_length() - 1  # ones up to the lowest clear bit
        ranges.append((slot, slot + run - 1))
        mask >>= run
        slot += run
    return ranges


def ranges_to_mask(ranges: Iterable[tuple[int, int]]) -> int:
    """The mask of inclusive slot ranges; ValueError for a range outside 0-16383."""
    mask = 0
    for start, end in ranges:
        if not 0 <= start <= end < CLUSTER_SLOTS:
            raise ValueError(f"slot range {start}-{end} outside 0-16383")
        mask |= ((1 << (end - start + 1)) - 1) << start
    return mask


def mask_to_slots(mask: int) -> Iterator[int]:
    """The mask's slot numbers in increasing order."""
    for start, end in mask_to_ranges(mask):
        yield from range(start, end + 1)


def slots_to_mask(slots: Iterable[int]) -> int:
    """The mask of some slot numbers; ValueError for one outside 0-16383."""
    mask = 0
    for slot in slots:
        if not 0 <= slot < CLUSTER_SLOTS:
            raise ValueError(f"slot {slot} outside 0-16383")
        mask |= 1 << slot
    return mask


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """What every message says about its sender. `totlen`, `count` and `extensions` are
    not here: they follow from the body. `mflags` is mflags[0] without EXT_DATA, which
    also follows from the body."""

    type: int
    sender: str
    current_epoch: int = 0
    config_epoch: int = 0
    offset: int = 0
    myslots: int = 0  # a slots mask
    slaveof: str | None = None
    myip: str = ""
    port: int = 0
    pport: int = 0
    cport: int = 0
    flags: int = 0
    state: int = CLUSTER_OK
    mflags: int = 0


@dataclass(frozen=True, slots=True)
class GossipEntry:
    """What the sender knows of one other node. The times are Unix seconds (the sender's
    milliseconds divided by 1000), 0 when no ping is pending or no pong was seen."""

    nodename: str
    ping_sent: int
    pong_received: int
    ip: str
    port: int
    cport: int
    flags: int
    pport: int = 0


@dataclass(frozen=True, slots=True)
class HostnameExt:
    """The sender's cluster-announce-hostname."""

    hostname: str


@dataclass(frozen=True, slots=True)
class UnknownExt:
    """An extension this codec does not interpret, kept whole: its payload is
    zero-padded to a multiple of 8 bytes."""

    type: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Ping:
    """The body of PING, PONG and MEET: gossip about other nodes, then extensions."""

    gossip: tuple[GossipEntry, ...] = ()
    extensions: tuple[HostnameExt | UnknownExt, ...] = ()

    @property
    def hostname(self) -> str | None:
        """The announced hostname, None when the sender announces none."""
        for ext in self.extensions:
            if isinstance(ext, HostnameExt):
                return ext.hostname
        return None


@dataclass(frozen=True, slots=True)
class Fail:
    """The body of FAIL: the node the sender (a master) saw a majority agree is down."""

    nodename: str


@dataclass(frozen=True, slots=True)
class Publish:
    """The body of PUBLISH and PUBLISHSHARD."""

    channel: bytes
    message: bytes


@dataclass(frozen=True, slots=True)
class Update:
    """The body of UPDATE: a newer configuration of the slots of `nodename`, sent to a
    node that still claims them with an older config epoch."""

    config_epoch: int
    nodename: str
    slots: int  # a slots mask


@dataclass(frozen=True, slots=True)
class Module:
    """The body of MODULE (RedisModule_SendClusterMessage)."""

    module_id: int
    module_type: int
    payload: bytes


Body = Ping | Fail | Publish | Update | Module | bytes | None


@dataclass(frozen=True, slots=True)
class Message:
    """One bus message. `body` is None for the header-only types and raw bytes for a
    type this codec does not know (Redis accepts those whatever their length)."""

    header: Header
    body: Body = None

    @property
    def type(self) -> int:
        return self.header.type


# Which body each known type carries.
_BODY_CLASS = {
    CLUSTERMSG_TYPE_PING: Ping,
    CLUSTERMSG_TYPE_PONG: Ping,
    CLUSTERMSG_TYPE_MEET: Ping,
    CLUSTERMSG_TYPE_FAIL: Fail,
    CLUSTERMSG_TYPE_PUBLISH: Publish,
    CLUSTERMSG_TYPE_PUBLISHSHARD: Publish,
    CLUSTERMSG_TYPE_UPDATE: Update,
    CLUSTERMSG_TYPE_MODULE: Module,
    CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST: type(None),
    CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK: type(None),
    CLUSTERMSG_TYPE_MFSTART: type(None),
}


def type_name(message_type: int) -> str:
    """Redis' name for a message type, "unknown" for one it does not know."""
    return TYPE_NAMES.get(message_type, "unknown")


# --------------------------------------------------------------------------- decoding


def message_length(prefix: bytes) -> int:
    """The length of the message whose first 8 (or more) bytes are `prefix`.

    BusError when the prefix is short, the signature is not "RCmb" or the length is
    below the header's: the link is then out of step and should be closed."""
    if len(prefix) < FRAME_PREFIX_SIZE:
        raise BusError(f"need {FRAME_PREFIX_SIZE} bytes to frame a message, got {len(prefix)}")
    if prefix[:4] != SIGNATURE:
        raise BusError(f"bad signature {bytes(prefix[:4])!r}, expected {SIGNATURE!r}")
    totlen = int.from_bytes(prefix[4:8], "big")
    if totlen < HEADER_SIZE:
        raise BusError(f"message length {totlen} is shorter than the {HEADER_SIZE}-byte header")
    return totlen


def _text(raw: bytes) -> str:
    """A NUL-padded C string field as text."""
    end = raw.find(0)
    return (raw if end < 0 else raw[:end]).decode("latin-1")


def decode(data: bytes) -> Message:
    """The message in `data`, which must hold exactly one whole message."""
    data = bytes(data)
    totlen = message_length(data)
    if totlen != len(data):
        raise BusError(f"message says it is {totlen} bytes long but {len(data)} were given")
    (_, _, ver, port, msg_type, count, current_epoch, config_epoch, offset, sender,
     myslots, slaveof, myip, extensions, _, pport, cport, flags, state,
     mflags) = _HEADER.unpack_from(data)
    if ver != PROTOCOL_VERSION:
        raise BusError(f"protocol version {ver}, only {PROTOCOL_VERSION} is known")
    header = Header(
        type=msg_type,
        sender=sender.decode("latin-1"),
        current_epoch=current_epoch,
        config_epoch=config_epoch,
        offset=offset,
        myslots=bitmap_to_mask(myslots),
        slaveof=None if slaveof == bytes(NAME_LEN) else slaveof.decode("latin-1"),
        myip=_text(myip),
        port=port,
        pport=pport,
        cport=cport,
        flags=flags,
        state=state,
        mflags=mflags[0] & ~CLUSTERMSG_FLAG0_EXT_DATA,
    )
    body = memoryview(data)[HEADER_SIZE:]
    name = type_name(msg_type)
    if msg_type in (CLUSTERMSG_TYPE_PING, CLUSTERMSG_TYPE_PONG, CLUSTERMSG_TYPE_MEET):
        has_extensions = bool(mflags[0] & CLUSTERMSG_FLAG0_EXT_DATA)
        return Message(header, _decode_ping(body, name, count, extensions, has_extensions))
    if msg_type == CLUSTERMSG_TYPE_FAIL:
        _expect_length(name, body, NAME_LEN)
        return Message(header, Fail(bytes(body).decode("latin-1")))
    if msg_type in (CLUSTERMSG_TYPE_PUBLISH, CLUSTERMSG_TYPE_PUBLISHSHARD):
        _expect_at_least(name, body, _PUBLISH.size)
        channel_len, message_len = _PUBLISH.unpack_from(body)
        _expect_length(name, body, _PUBLISH.size + channel_len + message_len)
        channel_end = _PUBLISH.size + channel_len
        return Message(header, Publish(bytes(body[_PUBLISH.size:channel_end]),
                                       bytes(body[channel_end:])))
    if msg_type == CLUSTERMSG_TYPE_UPDATE:
        _expect_length(name, body, _UPDATE.size)
        epoch, nodename, slots = _UPDATE.unpack_from(body)
        return Message(header, Update(epoch, nodename.decode("latin-1"), bitmap_to_mask(slots)))
    if msg_type == CLUSTERMSG_TYPE_MODULE:
        _expect_at_least(name, body, _MODULE_SIZE)
        (module_id,) = _MODULE.unpack_from(body)
        payload_len, module_type = _MODULE_REST.unpack_from(body, _MODULE.size)
        _expect_length(name, body, _MODULE_SIZE + payload_len)
        return Message(header, Module(module_id, module_type, bytes(body[_MODULE_SIZE:])))
    if msg_type in _BODY_CLASS:  # the header-only types
        _expect_length(name, body, 0)
        return Message(header, None)
    return Message(header, bytes(body))


def _expect_length(name: str, body: memoryview, expected: int) -> None:
    if len(body) != expected:
        raise BusError(f"{name} message of {HEADER_SIZE + len(body)} bytes, "
                       f"expected {HEADER_SIZE + expected}")


def _expect_at_least(name: str, body: memoryview, expected: int) -> None:
    if len(body) < expected:
        raise BusError(f"{name} message of {HEADER_SIZE + len(body)} bytes is truncated: "
                       f"at least {HEADER_SIZE + expected} expected")


def _decode_ping(body: memoryview, name: str, count: int, extensions: int,
                 has_extensions: bool) -> Ping:
    gossip_end = count * GOSSIP_SIZE
    _expect_at_least(name, body, gossip_end)
    gossip = tuple(
        GossipEntry(nodename.decode("latin-1"), ping_sent, pong_received, _text(ip), port,
                    cport, flags, pport)
        for nodename, ping_sent, pong_received, ip, port, cport, flags, pport, _
        in _GOSSIP.iter_unpack(body[:gossip_end])
    )
    if not has_extensions and extensions:
        # Redis would not even look at them; a sender that counts extensions without
        # flagging them is broken, and guessing which it meant helps no one.
        raise BusError(f"{name} message counts {extensions} extensions without the EXT_DATA flag")
    exts = []
    position = gossip_end
    for _ in range(extensions):
        if len(body) - position < _EXT_HEADER_SIZE:
            raise BusError(f"{name} message is truncated inside its extensions")
        length, ext_type, _ = _EXT.unpack_from(body, position)
        # Redis checks the same two things: every extension keeps the next one 8-byte
        # aligned, and none runs past the message's end.
        if length % 8 or length < _EXT_HEADER_SIZE:
            raise BusError(f"{name} message has an extension of length {length}, "
                           "not a multiple of 8 of at least 8")
        if length > len(body) - position:
            raise BusError(f"{name} message has an extension running past its end")
        payload = bytes(body[position + _EXT_HEADER_SIZE:position + length])
        if ext_type == CLUSTERMSG_EXT_TYPE_HOSTNAME:
            end = payload.find(0)
            if end < 0:
                raise BusError(f"{name} message has a hostname extension without its NUL")
            exts.append(HostnameExt(payload[:end].decode("latin-1")))
        else:
            exts.append(UnknownExt(ext_type, payload))
        position += length
    if position != len(body):
        raise BusError(f"{name} message of {HEADER_SIZE + len(body)} bytes, expected "
                       f"{HEADER_SIZE + position} for {count} gossip entries and "
                       f"{extensions} extensions")
    return Ping(gossip, tuple(exts))


# --------------------------------------------------------------------------- encoding


def encode(message: Message) -> bytes:
    """The bytes of `message`; BusError when a field does not fit its place."""
    try:
        return _encode(message)
    except (struct.error, UnicodeEncodeError, OverflowError, TypeError, AttributeError) as exc:
        raise BusError(f"cannot encode {message!r}: {exc}") from exc


def _name(name: str, what: str) -> bytes:
    raw = name.encode("latin-1")
    if len(raw) != NAME_LEN:
        raise BusError(f"{what} must be {NAME_LEN} characters, got {len(raw)}")
    return raw


def _ip(ip: str) -> bytes:
    raw = ip.encode("latin-1")
    if len(raw) > IP_LEN or 0 in raw:
        raise BusError(f"IP {ip!r} must be at most {IP_LEN} characters, without NUL")
    return raw  # struct pads it with NULs


def _encode(message: Message) -> bytes:
    header, body = message.header, message.body
    expected = _BODY_CLASS.get(header.type, bytes)
    if not isinstance(body, expected):
        raise BusError(f"a {type_name(header.type)} message carries a {expected.__name__} "
                       f"body, not {type(body).__name__}")
    if header.mflags & CLUSTERMSG_FLAG0_EXT_DATA:
        raise BusError("EXT_DATA is not for the caller to set: encode sets it when "
                       "extensions are present")
    count = extension_count = 0
    mflags = header.mflags
    if isinstance(body, Ping):
        payload = _encode_ping(body)
        count, extension_count = len(body.gossip), len(body.extensions)
        if extension_count:
            mflags |= CLUSTERMSG_FLAG0_EXT_DATA
    elif isinstance(body, Fail):
        payload = _name(body.nodename, "FAIL's node name")
    elif isinstance(body, Publish):
        payload = (_PUBLISH.pack(len(body.channel), len(body.message))
                   + bytes(body.channel) + bytes(body.message))
    elif isinstance(body, Update):
        payload = _UPDATE.pack(body.config_epoch, _name(body.nodename, "UPDATE's node name"),
                               _bitmap(body.slots))
    elif isinstance(body, Module):
        payload = (_MODULE.pack(body.module_id)
                   + _MODULE_REST.pack(len(body.payload), body.module_type)
                   + bytes(body.payload))
    elif body is None:
        payload = b""
    else:
        payload = bytes(body)
    slaveof = NULL_NAME if header.slaveof is None else header.slaveof
    head = _HEADER.pack(
        SIGNATURE, HEADER_SIZE + len(payload), PROTOCOL_VERSION, header.port, header.type,
        count, header.current_epoch, header.config_epoch, header.offset,
        _name(header.sender, "sender"), _bitmap(header.myslots), _name(slaveof, "slaveof"),
        _ip(header.myip), extension_count, b"", header.pport, header.cport, header.flags,
        header.state, bytes((mflags, 0, 0)),
    )
    return head + payload


def _bitmap(mask: int) -> bytes:
    try:
        return mask_to_bitmap(mask)
    except ValueError as exc:
        raise BusError(str(exc)) from None


def _encode_ping(body: Ping) -> bytes:
    parts = [
        _GOSSIP.pack(_name(entry.nodename, "gossip node name"), entry.ping_sent,
                     entry.pong_received, _ip(entry.ip), entry.port, entry.cport,
                     entry.flags, entry.pport, 0)
        for entry in body.gossip
    ]
    for ext in body.extensions:
        if isinstance(ext, HostnameExt):
            ext_type = CLUSTERMSG_EXT_TYPE_HOSTNAME
            raw = ext.hostname.encode("latin-1")
            if 0 in raw:
                raise BusError(f"hostname {ext.hostname!r} holds a NUL")
            # The NUL that ends it, then zeros up to the next multiple of 8.
            payload = raw + bytes(8 - len(raw) % 8)
        elif isinstance(ext, UnknownExt):
            ext_type, payload = ext.type, bytes(ext.payload)
            if len(payload) % 8:
                raise BusError(f"extension {ext.type}'s payload of {len(payload)} bytes "
                               "is not a multiple of 8")
        else:
            raise BusError(f"not a ping extension: {ext!r}")
        parts.append(_EXT.pack(_EXT_HEADER_SIZE + len(payload), ext_type, 0))
        parts.append(payload)
    return b"".join(parts)
