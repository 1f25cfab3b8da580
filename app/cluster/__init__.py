"""Redis Cluster (``cluster-enabled yes``), interoperable with real Redis 7.0 nodes.

`slots` hashes keys to slots; `bus` encodes and decodes the cluster bus's messages;
`nodes` is the node table's entries and nodes.conf; `state` is this node's view of the
cluster (``server.cluster``); `links` holds the bus's connections and cron; `gossip`
acts on the bus's messages and sends them; `failover` runs elections, manual failovers
and replica migration; `routing` decides MOVED, ASK and the other redirections;
`slot_keys` keeps the keys of each slot; `migrate` holds MIGRATE's connections."""
