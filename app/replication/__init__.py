"""Replication: a master streams its writes to replicas; a replica applies its master's.

* `backlog.py`: the last ``repl-backlog-size`` bytes of the stream, so that a replica
  that lost its link can continue where it stopped (+CONTINUE) instead of starting over.
* `master.py`: the master's side: the replication ID and offset, the replicas attached
  (each fed through its outbox, app/outbox.py), full and partial resynchronisation, and
  the acknowledgements that WAIT counts.
* `replica.py`: the replica's side: one thread that connects to the master, does the
  handshake, loads the snapshot and applies the command stream.
* `failover.py`: FAILOVER, a master handing its role to a replica: writes paused until
  the replica has everything, then the roles swap and the history goes on.

The commands (REPLCONF, PSYNC, SYNC, WAIT, REPLICAOF, FAILOVER, ROLE) are in
app/commands/replication.py; what a write sends is decided in app/propagation.py.
"""
