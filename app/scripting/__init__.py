"""Lua scripting and functions, as Redis 7.0 runs them (Redis: eval.c, script.c,
script_lua.c, function_lua.c, functions.c).

Scripts run in Lua 5.1, which the optional ``lupa`` package brings (imported only when
the first script runs, so a server that runs none needs nothing but the standard
library). The modules, from the outside in:

* ``engine.py``: EVAL's cache of scripts by SHA1, and running a script or a function
  for a client: atomically under the keyspace lock, its writes propagated as one unit;
* ``functions.py``: FUNCTION LOAD's libraries and the functions they register;
* ``run.py``: one script's run: ``redis.call``'s rules (noscript, ACL, write and OOM
  refusals) and the conversions of replies between Python and Lua;
* ``api.py``: the ``redis`` table a script sees;
* ``lua.py``: the interpreter itself, its sandbox and read-only globals;
* ``bridge.py``: how a Python function is offered to Lua and raises Lua errors;
* ``busy.py``: serving other clients while a script runs too long (BUSY, SCRIPT KILL);
* ``lua_cjson.py``, ``lua_cmsgpack.py``, ``lua_bit.py``, ``lua_struct.py``: the C
  libraries Redis gives scripts, written again in Python.

The commands are in app/commands/scripting.py; docs/walkthrough.md tells how a script
passes through the dispatcher and why it is atomic.
"""
