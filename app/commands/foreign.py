"""Redis 7.0 commands this server does not have yet, known to ACL by name alone.

Cluster (CLUSTER, ASKING, MIGRATE...) has an issue of its own. Until it lands, ACL
rules that name its commands (``+cluster``, ``-migrate``, ``+cluster|info``) must still
be accepted, kept and listed as Redis keeps them, as redis-py's tests and real users'
ACL files expect. This table holds each one's full name and ACL categories, from
redis-server 7.0.15's COMMAND INFO; nothing here can run (the dispatcher knows only the command table).
A command leaves this table when it is implemented: `registry.acl_command` prefers the
command table.
"""

FOREIGN_CATEGORIES = {
    "asking": "fast connection",
    "cluster": "slow",
    "cluster|addslots": "admin slow dangerous",
    "cluster|addslotsrange": "admin slow dangerous",
    "cluster|bumpepoch": "admin slow dangerous",
    "cluster|count-failure-reports": "admin slow dangerous",
    "cluster|countkeysinslot": "slow",
    "cluster|delslots": "admin slow dangerous",
    "cluster|delslotsrange": "admin slow dangerous",
    "cluster|failover": "admin slow dangerous",
    "cluster|flushslots": "admin slow dangerous",
    "cluster|forget": "admin slow dangerous",
    "cluster|getkeysinslot": "slow",
    "cluster|help": "slow",
    "cluster|info": "slow",
    "cluster|keyslot": "slow",
    "cluster|links": "slow",
    "cluster|meet": "admin slow dangerous",
    "cluster|myid": "slow",
    "cluster|nodes": "slow",
    "cluster|replicas": "admin slow dangerous",
    "cluster|replicate": "admin slow dangerous",
    "cluster|reset": "admin slow dangerous",
    "cluster|saveconfig": "admin slow dangerous",
    "cluster|set-config-epoch": "admin slow dangerous",
    "cluster|setslot": "admin slow dangerous",
    "cluster|shards": "slow",
    "cluster|slaves": "admin slow dangerous",
    "cluster|slots": "slow",
    "readonly": "fast connection",
    "readwrite": "fast connection",
    "restore-asking": "keyspace write slow dangerous",
}
