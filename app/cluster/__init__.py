"""Redis Cluster: the package will hold the slots, the node table and its nodes.conf, the
bus codec, the bus links and their gossip, and failover. Its modules, as they come:
`bus` encodes and decodes the cluster bus's messages as Redis 7.0 writes them, and
`migrate` holds MIGRATE's connections to other servers."""
