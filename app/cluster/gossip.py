"""What a cluster node does with the bus's messages, and what it sends (Redis:
clusterProcessPacket, clusterSendPing, clusterCron and their helpers in cluster.c).

Every function here runs under the keyspace lock, called by a link's reader thread
for each message, by the cron thread ten times a second, or by a command.

How nodes meet
    CLUSTER MEET adds a node "in handshake" under a random name; the cron connects to it
    and sends MEET instead of PING. The receiver adds the sender (in handshake too, since
    it only knows its address) and answers PONG; the PONG tells the real name, which
    replaces the random one. The receiver's own cron then connects back with a PING,
    whose PONG names it in turn. Nodes learn of the rest of the cluster from the
    "gossip" of each PING and PONG: a few random nodes the sender knows, with their
    addresses and flags; a node we hear of that way is added under its real name and
    connected to with PING.

How failures are detected
    A node that has not answered a PING within cluster-node-timeout (nor sent anything
    else) is flagged PFAIL ("fail?") here. PINGs gossip about every PFAIL node, and a
    master that hears from another master that a node is PFAIL or FAIL records a failure
    report. Once the masters reporting it (we count too, if we are one) are a majority
    of the masters serving slots, the node is FAIL, and a FAIL message tells everyone at
    once. A node that answers again loses PFAIL at once; FAIL is cleared at once for a
    replica or a master without slots, and for a master still serving its slots after
    twice the node timeout (nobody failed it over).

How slots settle
    Every PING and PONG says which slots the sender (or its master) serves and at which
    config epoch. A claim with a greater config epoch than the current owner's takes the
    slot; a claim with a lower one is answered with an UPDATE message naming the owner's
    newer configuration. Two masters with the same config epoch (a "collision") are
    separated: the one with the smaller name takes a new epoch.
"""

from __future__ import annotations

import random

from app import log
from app.cluster import bus, failover, routing
from app.cluster.bus import (
    CLUSTER_NODE_FAIL,
    CLUSTER_NODE_HANDSHAKE,
    CLUSTER_NODE_MASTER,
    CLUSTER_NODE_MEET,
    CLUSTER_NODE_MIGRATE_TO,
    CLUSTER_NODE_MYSELF,
    CLUSTER_NODE_NOADDR,
    CLUSTER_NODE_NOFAILOVER,
    CLUSTER_NODE_PFAIL,
    CLUSTER_NODE_SLAVE,
    CLUSTER_OK,
    CLUSTERMSG_FLAG0_PAUSED,
    CLUSTERMSG_TYPE_COUNT,
    CLUSTERMSG_TYPE_FAIL,
    CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK,
    CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST,
    CLUSTERMSG_TYPE_MEET,
    CLUSTERMSG_TYPE_MFSTART,
    CLUSTERMSG_TYPE_PING,
    CLUSTERMSG_TYPE_PONG,
    CLUSTERMSG_TYPE_PUBLISH,
    CLUSTERMSG_TYPE_PUBLISHSHARD,
    CLUSTERMSG_TYPE_UPDATE,
    BusError,
    Fail,
    GossipEntry,
    Header,
    HostnameExt,
    Message,
    Ping,
    Publish,
    Update,
)
from app.cluster.nodes import ClusterNode, new_node_name, now_ms
from app.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE

PING_FAMILY = (CLUSTERMSG_TYPE_PING, CLUSTERMSG_TYPE_PONG, CLUSTERMSG_TYPE_MEET)


# --------------------------------------------------------------------------- links


def link_connected(cluster, link) -> None:
    """An outbound link is up: PING at once (MEET to a node we are introducing
    ourselves to), so failure detection starts from now; a ping that was pending before
    the link dropped keeps its time (Redis: clusterLinkConnectHandler)."""
    node = link.node
    old_ping_sent = node.ping_sent
    send_ping(cluster, link, CLUSTERMSG_TYPE_MEET if node.flags & CLUSTER_NODE_MEET else CLUSTERMSG_TYPE_PING)
    if old_ping_sent:
        node.ping_sent = old_ping_sent
    node.flags &= ~CLUSTER_NODE_MEET


def link_failed(cluster, link, error: Exception) -> None:
    """The connection could not be made. A ping counts as sent from now (if none was),
    so that a node that refuses connections times out like one that stopped answering."""
    node = link.node
    log.verbose(f"Connection with Node {node.name} at {node.ip}:{node.cport} failed: {error}")
    if node.ping_sent == 0:
        node.ping_sent = now_ms()
    cluster.free_link(link)


def link_closed(cluster, link) -> None:
    """The peer closed the link, or it broke: the cron reconnects."""
    cluster.free_link(link)


# --------------------------------------------------------------------------- receiving


def message_received(cluster, link, raw: bytes) -> None:
    """One framed message from a link: count it, decode it, act on it, then do what it
    asked for (save nodes.conf, update the state)."""
    message_type = int.from_bytes(raw[12:14], "big")
    if message_type < CLUSTERMSG_TYPE_COUNT:
        cluster.messages_received[message_type] += 1
    if message_type == cluster.drop_packet_filter:  # DEBUG DROP-CLUSTER-PACKET-FILTER, for tests
        log.warning("Dropping packet that matches debug drop filter")
        return
    try:
        message = bus.decode(raw)
    except BusError as error:
        log.verbose(f"Ignoring a malformed cluster bus message: {error}")
        return
    process_packet(cluster, link, message)
    cluster.before_sleep()


def _sender_of(cluster, link, header: Header) -> ClusterNode | None:
    """Who sent it: the link's node once known (not while it is in handshake, under a
    random name), else the node named in the header, which then owns an inbound link."""
    node = link.node
    if node is not None and not node.in_handshake:
        return node
    sender = cluster.lookup(header.sender)
    if sender is not None and link.inbound and link.node is None:
        cluster.set_inbound_link(sender, link)
    return sender


def _link_ip(link, announced: str) -> str:
    """The sender's address: what it announces (cluster-announce-ip), else the
    address its connection comes from (Redis: nodeIp2String)."""
    return announced or link.peer_ip()


def process_packet(cluster, link, message: Message) -> None:
    """Act on one message (Redis: clusterProcessPacket)."""
    header = message.header
    message_type = header.type
    now = now_ms()
    sender = _sender_of(cluster, link, header)
    if sender is not None:
        sender.data_received = now  # a node busy sending data is alive, even if slow to PONG
    sender_config_epoch = 0
    if sender is not None and not sender.in_handshake:
        if header.current_epoch > cluster.current_epoch:
            cluster.current_epoch = header.current_epoch
        sender_config_epoch = header.config_epoch
        if sender_config_epoch > sender.config_epoch:
            sender.config_epoch = sender_config_epoch
            cluster.want(TODO_SAVE_CONFIG)
        sender.repl_offset = header.offset
        sender.repl_offset_time = now
        if header.mflags & CLUSTERMSG_FLAG0_PAUSED:
            failover.master_paused(cluster, sender)  # our manual failover may go on
    if message_type in PING_FAMILY:
        _process_ping_family(cluster, link, message, sender, sender_config_epoch)
    elif message_type == CLUSTERMSG_TYPE_FAIL:
        _process_fail(cluster, message.body, sender)
    elif message_type in (CLUSTERMSG_TYPE_PUBLISH, CLUSTERMSG_TYPE_PUBLISHSHARD):
        if sender is not None:
            _deliver_publish(cluster, message.body, message_type == CLUSTERMSG_TYPE_PUBLISHSHARD)
    elif message_type == CLUSTERMSG_TYPE_UPDATE:
        if sender is not None:
            _process_update(cluster, message.body)
    elif message_type == CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST:
        if sender is not None:
            failover.vote_if_needed(cluster, sender, header)
    elif message_type == CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK:
        if sender is not None:
            failover.vote_received(cluster, sender, header)
    elif message_type == CLUSTERMSG_TYPE_MFSTART:
        failover.manual_failover_requested(cluster, sender, link)
    elif message_type >= CLUSTERMSG_TYPE_COUNT:
        log.warning(f"Received unknown packet type: {message_type}")
    # MODULE messages go to modules, which this server has none of.


def _process_ping_family(cluster, link, message: Message, sender: ClusterNode | None,
                         sender_config_epoch: int) -> None:
    header = message.header
    message_type = header.type
    myself = cluster.myself
    if message_type in (CLUSTERMSG_TYPE_PING, CLUSTERMSG_TYPE_MEET):
        # Only cluster nodes MEET us, on the address they were told we have: what the
        # socket says our end is, is our address (unless we announce one).
        if (message_type == CLUSTERMSG_TYPE_MEET or not myself.ip) and not cluster.config["cluster-announce-ip"]:
            ip = link.local_ip()
            if ip and ip != myself.ip:
                myself.ip = ip
                log.warning(f"IP address for this node updated to {ip}")
                cluster.want(TODO_SAVE_CONFIG)
        if sender is None and message_type == CLUSTERMSG_TYPE_MEET:
            node = ClusterNode(new_node_name(), CLUSTER_NODE_HANDSHAKE, _link_ip(link, header.myip),
                               header.port, header.cport)
            node.pport = header.pport
            cluster.add_node(node)
            cluster.want(TODO_SAVE_CONFIG)
            _process_gossip_section(cluster, message, link)  # a MEET is trusted at once
        send_ping(cluster, link, CLUSTERMSG_TYPE_PONG)

    node = link.node
    if node is not None and not link.inbound:
        if node.in_handshake:
            if sender is not None:
                # We knew it already, under its real name: keep that one, with this
                # address if it changed, and drop the handshake node (and this link).
                if _update_address_if_needed(cluster, sender, link, header):
                    cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
                cluster.del_node(node)
                return
            cluster.rename_node(node, header.sender)
            log.debug(f"Handshake with node {node.name} completed.")
            node.flags &= ~CLUSTER_NODE_HANDSHAKE
            node.flags |= header.flags & (CLUSTER_NODE_MASTER | CLUSTER_NODE_SLAVE)
            cluster.want(TODO_SAVE_CONFIG)
        elif node.name != header.sender:
            # Someone else answers at that address now: forget the address.
            log.debug(f"PONG contains mismatching sender ID. About node {node.name} added {now_ms() - node.ctime} "
                      f"ms ago, having flags {node.flags}")
            node.flags |= CLUSTER_NODE_NOADDR
            node.ip, node.port, node.pport, node.cport = "", 0, 0, 0
            cluster.free_link(link)
            cluster.want(TODO_SAVE_CONFIG)
            return

    if sender is not None:
        sender.flags = (sender.flags & ~CLUSTER_NODE_NOFAILOVER) | (header.flags & CLUSTER_NODE_NOFAILOVER)
        if message_type == CLUSTERMSG_TYPE_PING and not sender.in_handshake \
                and _update_address_if_needed(cluster, sender, link, header):
            cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    if node is not None and not link.inbound and message_type == CLUSTERMSG_TYPE_PONG:
        node.pong_received = now_ms()
        node.ping_sent = 0
        if node.timed_out:
            # A momentary PFAIL is undone without anyone's help.
            node.flags &= ~CLUSTER_NODE_PFAIL
            cluster.want(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)
        elif node.failed:
            cluster.clear_failure_if_needed(node)

    if sender is None:
        return
    _update_role(cluster, sender, header)

    # Slots: the sender's claim (its master's, for a replica) against what we know.
    sender_master = sender if sender.is_master else sender.master
    dirty_slots = sender_master is not None and sender_master.slots != header.myslots
    if sender.is_master and dirty_slots:
        update_slots_config_with(cluster, sender, sender_config_epoch, header.myslots)
    if dirty_slots:
        # It claims slots whose owner we know at a newer epoch: tell it.
        for slot in bus.mask_to_slots(header.myslots):
            owner = cluster.slots[slot]
            if owner is sender or owner is None:
                continue
            if owner.config_epoch > sender_config_epoch:
                log.verbose(f"Node {sender.name} has old slots configuration, sending an UPDATE message about "
                            f"{owner.name}")
                send_update(cluster, sender.link, owner)
                break
    if myself.is_master and sender.is_master and sender_config_epoch == myself.config_epoch:
        _handle_config_epoch_collision(cluster, sender)

    _process_gossip_section(cluster, message, link)
    hostname = message.body.hostname or ""
    if hostname != sender.hostname:
        sender.hostname = hostname
        cluster.want(TODO_SAVE_CONFIG)


def _update_role(cluster, sender: ClusterNode, header: Header) -> None:
    """A master that became a replica, a replica that became a master, or one that
    follows another master now (Redis: the role switch in clusterProcessPacket)."""
    if header.slaveof is None:
        cluster.set_node_as_master(sender)
        return
    master = cluster.lookup(header.slaveof)
    if sender.is_master:
        cluster.del_node_slots(sender)
        sender.flags = (sender.flags & ~(CLUSTER_NODE_MASTER | CLUSTER_NODE_MIGRATE_TO)) | CLUSTER_NODE_SLAVE
        cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    if master is not None and sender.master is not master:
        if sender.master is not None:
            sender.master.remove_replica(sender)
        master.add_replica(sender)
        sender.master = master
        cluster.want(TODO_SAVE_CONFIG)


def _update_address_if_needed(cluster, node: ClusterNode, link, header: Header) -> bool:
    """A node that reaches us from a new address (it restarted elsewhere) is reached
    there from now on (Redis: nodeUpdateAddressIfNeeded). Not for the link we made to
    it ourselves: that one is compared with the PINGs it sends us."""
    if link is node.link:
        return False
    ip = _link_ip(link, header.myip)
    if (node.ip, node.port, node.cport, node.pport) == (ip, header.port, header.cport, header.pport):
        return False
    node.ip, node.port, node.cport, node.pport = ip, header.port, header.cport, header.pport
    if node.link is not None:
        cluster.free_link(node.link)
    node.flags &= ~CLUSTER_NODE_NOADDR
    log.warning(f"Address updated for node {node.name}, now {node.ip}:{node.port}")
    if cluster.myself.is_replica and cluster.myself.master is node:
        cluster.replicate_from(node)
    return True


def _process_gossip_section(cluster, message: Message, link) -> None:
    """What the sender says of other nodes (Redis: clusterProcessGossipSection)."""
    header = message.header
    sender = link.node if link.node is not None else cluster.lookup(header.sender)
    myself = cluster.myself
    now = now_ms()
    for entry in message.body.gossip:
        flags = entry.flags
        node = cluster.lookup(entry.nodename)
        if node is None:
            # Add it under its own name, if a node we know vouches for it; a handshake
            # with the address alone could join another cluster reusing it.
            if sender is not None and not flags & CLUSTER_NODE_NOADDR and not cluster.blacklisted(entry.nodename):
                node = ClusterNode(entry.nodename, flags, entry.ip, entry.port, entry.cport)
                node.pport = entry.pport
                cluster.add_node(node)
            continue
        if sender is not None and sender.is_master and node is not myself:
            if flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL):
                if cluster.add_failure_report(node, sender):
                    log.verbose(f"Node {sender.name} reported node {node.name} as not reachable.")
                cluster.mark_failing_if_needed(node)
            elif cluster.del_failure_report(node, sender):
                log.verbose(f"Node {sender.name} reported node {node.name} is back online.")
        # While we have no doubt about it, take the freshest pong time anyone saw
        # (not one in our future); even our own, as Redis does.
        if not flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL) and node.ping_sent == 0 \
                and cluster.failure_report_count(node) == 0:
            pong_time = entry.pong_received * 1000
            if node.pong_received < pong_time <= now + 500:
                node.pong_received = pong_time
        # A node we cannot reach, that the sender reaches at another address: try that.
        if node.flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL) and not flags & CLUSTER_NODE_NOADDR \
                and not flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL) \
                and (node.ip.lower() != entry.ip.lower() or node.port != entry.port or node.cport != entry.cport):
            if node.link is not None:
                cluster.free_link(node.link)
            node.ip, node.port, node.pport, node.cport = entry.ip, entry.port, entry.pport, entry.cport
            node.flags &= ~CLUSTER_NODE_NOADDR


def update_slots_config_with(cluster, sender: ClusterNode, sender_config_epoch: int, slots: int) -> None:
    """Take the slots ``sender`` claims at a greater config epoch than their owner's
    (Redis: clusterUpdateSlotsConfigWith). If that leaves us, or our master, without
    slots, we follow the sender; slots we lost that still hold keys are emptied."""
    myself = cluster.myself
    if sender is myself:
        log.warning("Discarding UPDATE message about myself.")
        return
    current_master = myself if myself.is_master else myself.master
    new_master = None
    dirty = []
    sender_slots = migrated_our_slots = 0
    for slot in bus.mask_to_slots(slots):
        sender_slots += 1
        owner = cluster.slots[slot]
        if owner is sender or slot in cluster.importing:
            continue  # an importing slot changes hands only by hand (CLUSTER SETSLOT)
        if owner is None or owner.config_epoch < sender_config_epoch:
            if owner is myself and cluster.count_keys_in_slot(slot):
                dirty.append(slot)
            if owner is current_master:
                new_master = sender
                migrated_our_slots += 1
            cluster.del_slot(slot)
            cluster.add_slot(sender, slot)
            cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    if new_master is not None and current_master is not None and current_master.slots == 0 and (
            cluster.config["cluster-allow-replica-migration"] or sender_slots == migrated_our_slots):
        log.warning(f"Configuration change detected. Reconfiguring myself as a replica of {sender.name}")
        cluster.set_master(sender)
        cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    elif myself.master is not None and myself.master.master is not None and myself.master.master is not myself:
        # Our master became a replica itself: follow its master, lest we be a sub-replica.
        log.warning(f"I'm a sub-replica! Reconfiguring myself as a replica of grandmaster "
                    f"{myself.master.master.name}")
        cluster.set_master(myself.master.master)
        cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    else:
        for slot in dirty:
            cluster.delete_keys_in_slot(slot)


def _handle_config_epoch_collision(cluster, sender: ClusterNode) -> None:
    """Two masters at one config epoch: the one with the smaller name moves on to a new
    epoch, so that every master's is unique again (Redis:
    clusterHandleConfigEpochCollision)."""
    myself = cluster.myself
    if sender.config_epoch != myself.config_epoch or not sender.is_master or not myself.is_master:
        return
    if sender.name <= myself.name:
        return
    cluster.current_epoch += 1
    myself.config_epoch = cluster.current_epoch
    cluster.save_config_or_die()
    log.verbose(f"WARNING: configEpoch collision with node {sender.name}. configEpoch set to "
                f"{myself.config_epoch}")


def _process_fail(cluster, body: Fail, sender: ClusterNode | None) -> None:
    if sender is None:
        log.notice(f"Ignoring FAIL message from unknown node about {body.nodename}")
        return
    failing = cluster.lookup(body.nodename)
    if failing is not None and not failing.flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_MYSELF):
        log.notice(f"FAIL message received from {sender.name} about {failing.name}")
        failing.flags = (failing.flags | CLUSTER_NODE_FAIL) & ~CLUSTER_NODE_PFAIL
        failing.fail_time = now_ms()
        cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)


def _deliver_publish(cluster, body: Publish, shard: bool) -> None:
    """A message published on another node, for our own subscribers."""
    pubsub = cluster.server.pubsub
    if shard:
        pubsub.spublish(body.channel, body.message)
    else:
        pubsub.publish(body.channel, body.message)


def _process_update(cluster, body: Update) -> None:
    """Someone tells us a node's newer configuration (Redis: the UPDATE case)."""
    node = cluster.lookup(body.nodename)
    if node is None or node.config_epoch >= body.config_epoch:
        return
    if node.is_replica:
        cluster.set_node_as_master(node)
    node.config_epoch = body.config_epoch
    cluster.want(TODO_SAVE_CONFIG)
    update_slots_config_with(cluster, node, body.config_epoch, body.slots)


# --------------------------------------------------------------------------- sending


def header_for(cluster, message_type: int) -> Header:
    """What every message says about us (Redis: clusterBuildMessageHdr): a replica
    sends its master's slots and config epoch, flagged as a replica."""
    myself = cluster.myself
    master = myself.master if myself.is_replica and myself.master is not None else myself
    port, pport, cport = cluster.announced_ports()
    return Header(
        type=message_type,
        sender=myself.name,
        current_epoch=cluster.current_epoch,
        config_epoch=master.config_epoch,
        offset=cluster.my_repl_offset(),
        myslots=master.slots,
        slaveof=myself.master.name if myself.master is not None else None,
        myip=cluster.config["cluster-announce-ip"] or "",
        port=port,
        pport=pport,
        cport=cport,
        flags=myself.flags,
        state=cluster.state,
        # A master paused for its replica's manual failover says so.
        mflags=CLUSTERMSG_FLAG0_PAUSED if myself.is_master and cluster.mf_end else 0,
    )


def send(cluster, link, message: Message) -> None:
    if link is None:
        return
    link.send(bus.encode(message))
    cluster.messages_sent[message.type] += 1


def broadcast(cluster, message: Message) -> None:
    """To every node we have a link to, but those in handshake (Redis:
    clusterBroadcastMessage)."""
    data = None
    for node in cluster.nodes.values():
        if node.link is None or node.flags & (CLUSTER_NODE_MYSELF | CLUSTER_NODE_HANDSHAKE):
            continue
        if data is None:
            data = bus.encode(message)
        node.link.send(data)
        cluster.messages_sent[message.type] += 1


def _gossip_entry(node: ClusterNode) -> GossipEntry:
    return GossipEntry(node.name, node.ping_sent // 1000, node.pong_received // 1000, node.ip, node.port,
                       node.cport, node.flags, node.pport)


def send_ping(cluster, link, message_type: int) -> None:
    """PING, PONG or MEET, with gossip about a tenth of the nodes we know (at least 3,
    picked at random, never ourselves nor the unreachable), and about every PFAIL node,
    so that failure reports spread fast (Redis: clusterSendPing)."""
    cluster.pings_sent += 1
    stamp = cluster.pings_sent
    nodes = list(cluster.nodes.values())
    fresh = len(nodes) - 2
    wanted = min(max(len(nodes) // 10, 3), fresh)
    if not link.inbound and message_type == CLUSTERMSG_TYPE_PING:
        link.node.ping_sent = now_ms()
    entries = []
    iterations = wanted * 3
    while fresh > 0 and len(entries) < wanted and iterations > 0:
        iterations -= 1
        node = random.choice(nodes)
        if node.is_myself or node.timed_out:
            continue
        if node.flags & (CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_NOADDR) or (node.link is None and node.slots == 0):
            fresh -= 1  # not quite true, but it saves time, as Redis says
            continue
        if node.last_in_ping_gossip == stamp:
            continue
        entries.append(_gossip_entry(node))
        node.last_in_ping_gossip = stamp
        fresh -= 1
    pfail_wanted = cluster.pfail_nodes
    for node in nodes:
        if pfail_wanted <= 0:
            break
        if node.flags & (CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_NOADDR) or not node.timed_out:
            continue
        entries.append(_gossip_entry(node))
        pfail_wanted -= 1
    hostname = cluster.myself.hostname
    extensions = (HostnameExt(hostname),) if hostname else ()
    send(cluster, link, Message(header_for(cluster, message_type), Ping(tuple(entries), extensions)))


def broadcast_pong(cluster, local_replicas_only: bool = False) -> None:
    """A PONG to everyone (or to our shard's replicas), to spread a change at once
    (Redis: clusterBroadcastPong)."""
    myself = cluster.myself
    for node in list(cluster.nodes.values()):
        if node.link is None or node is myself or node.in_handshake:
            continue
        if local_replicas_only:
            if not (node.is_replica and node.master is not None
                    and (node.master is myself or node.master is myself.master)):
                continue
        send_ping(cluster, node.link, CLUSTERMSG_TYPE_PONG)


def send_fail(cluster, name: str) -> None:
    broadcast(cluster, Message(header_for(cluster, CLUSTERMSG_TYPE_FAIL), Fail(name)))


def send_update(cluster, link, node: ClusterNode) -> None:
    """Tell the node at the end of ``link`` the configuration of ``node``."""
    if link is None:
        return
    body = Update(node.config_epoch, node.name, node.slots)
    send(cluster, link, Message(header_for(cluster, CLUSTERMSG_TYPE_UPDATE), body))


def send_publish(cluster, channel: bytes, message: bytes, shard: bool) -> None:
    """PUBLISH to every node; SPUBLISH to the other nodes of our shard."""
    message_type = CLUSTERMSG_TYPE_PUBLISHSHARD if shard else CLUSTERMSG_TYPE_PUBLISH
    packet = Message(header_for(cluster, message_type), Publish(bytes(channel), bytes(message)))
    if not shard:
        broadcast(cluster, packet)
        return
    data = None
    for node in cluster.shard_nodes(cluster.myself):
        if node.is_myself or node.link is None:
            continue
        if data is None:
            data = bus.encode(packet)
        node.link.send(data)
        cluster.messages_sent[message_type] += 1


# --------------------------------------------------------------------------- the cron


def cron(cluster) -> None:
    """Ten times a second (Redis: clusterCron): connect to nodes we have no link to,
    drop handshakes that never completed, PING a random node every second and any node
    whose last PONG is older than half the node timeout, flag PFAIL the nodes that did
    not answer within the node timeout, restart replication if it stopped."""
    cluster.cron_iterations += 1
    if cluster.server.keyspace.blocked.count:
        routing.redirect_blocked(cluster)  # clients blocked on keys of slots gone elsewhere
    cluster.update_myself_address()
    cluster.update_myself_flags()
    now = now_ms()
    node_timeout = cluster.node_timeout()
    handshake_timeout = max(node_timeout, 1000)
    cluster.pfail_nodes = 0
    sendbuf_limit = cluster.config["cluster-link-sendbuf-limit"]
    for node in list(cluster.nodes.values()):
        if node.flags & (CLUSTER_NODE_MYSELF | CLUSTER_NODE_NOADDR):
            continue
        if node.timed_out:
            cluster.pfail_nodes += 1
        if node.in_handshake and now - node.ctime > handshake_timeout:
            cluster.del_node(node)
            continue
        if node.link is None:
            cluster.bus.connect(node)
        for link in (node.link, node.inbound_link):
            if link is not None and sendbuf_limit and link.queued > sendbuf_limit:
                log.warning(f"Freeing cluster link({'from' if link.inbound else 'to'} node {node.name}), used "
                            f"memory: {link.queued} (exceeds cluster-link-sendbuf-limit)")
                cluster.free_link(link)
                cluster.links_buffer_limit_exceeded += 1

    if cluster.cron_iterations % 10 == 0:
        # Of five random nodes, PING the one whose PONG is oldest.
        nodes = list(cluster.nodes.values())
        oldest = None
        for _ in range(5):
            node = random.choice(nodes)
            if node.link is None or node.ping_sent != 0 or node.flags & (CLUSTER_NODE_MYSELF | CLUSTER_NODE_HANDSHAKE):
                continue
            if oldest is None or node.pong_received < oldest.pong_received:
                oldest = node
        if oldest is not None:
            send_ping(cluster, oldest.link, CLUSTERMSG_TYPE_PING)

    update_state = False
    myself = cluster.myself
    orphaned_masters = max_replicas = our_masters_replicas = 0
    for node in list(cluster.nodes.values()):
        now = now_ms()
        if node.flags & (CLUSTER_NODE_MYSELF | CLUSTER_NODE_NOADDR | CLUSTER_NODE_HANDSHAKE):
            continue
        if myself.is_replica and node.is_master and not node.failed:
            # Orphaned masters (serving slots, no working replica, but used to have
            # some), for replica migration.
            working = failover.working_replicas(node)
            if working == 0 and node.slots and node.flags & CLUSTER_NODE_MIGRATE_TO:
                orphaned_masters += 1
            max_replicas = max(max_replicas, working)
            if myself.master is node:
                our_masters_replicas = working
        ping_delay = now - node.ping_sent
        data_delay = now - node.data_received
        # Waiting for a PONG for half the timeout with no traffic at all: the link
        # itself may be broken though the node is alive. Reconnect.
        if node.link is not None and now - node.link.ctime > node_timeout and node.ping_sent \
                and ping_delay > node_timeout / 2 and data_delay > node_timeout / 2:
            cluster.free_link(node.link)
        if node.link is not None and node.ping_sent == 0 and now - node.pong_received > node_timeout / 2:
            send_ping(cluster, node.link, CLUSTERMSG_TYPE_PING)
            continue
        if cluster.mf_end and myself.is_master and cluster.mf_replica is node and node.link is not None:
            send_ping(cluster, node.link, CLUSTERMSG_TYPE_PING)  # our offset, while it catches up
            continue
        if node.ping_sent == 0:
            continue
        if min(ping_delay, data_delay) > node_timeout and not node.flags & (CLUSTER_NODE_PFAIL | CLUSTER_NODE_FAIL):
            log.debug(f"*** NODE {node.name} possibly failing")
            node.flags |= CLUSTER_NODE_PFAIL
            update_state = True

    if myself.is_replica and cluster.server.config["replicaof"] is None and myself.master is not None \
            and myself.master.has_address and myself.master.ip:
        cluster.replicate_from(myself.master)
    failover.check_manual_failover_timeout(cluster)
    if myself.is_replica:
        failover.handle_manual_failover(cluster)
        failover.handle_replica_failover(cluster)
        if orphaned_masters and max_replicas >= 2 and our_masters_replicas == max_replicas \
                and cluster.config["cluster-allow-replica-migration"]:
            failover.handle_replica_migration(cluster, max_replicas)
    if update_state or cluster.state != CLUSTER_OK:
        cluster.update_state()
