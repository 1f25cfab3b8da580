"""What COMMAND DOCS says of each command beyond its ``@command`` declaration.

One module per command group (``string.py``, ``sorted_set.py``...), each a dict
``DOCS = {"set": {...}, "config|get": {...}}`` holding, when Redis has them, a command's
``doc_flags``, ``deprecated_since``, ``replaced_by``, ``history`` and its ``arguments``
tree (name, type, key_spec_index, token, summary, since, deprecated_since, flags and
nested arguments of a oneof or block). The summary, since, group and complexity stay in
the declaration next to the handler.

The modules are generated from a real redis-server by tools/gen_command_docs.py: after
adding a command, run it again rather than editing them. `command_docs` in
app/commands/server.py imports a group's module the first time COMMAND DOCS needs it,
never at start-up.
"""
