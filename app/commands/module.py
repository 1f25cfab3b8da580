"""MODULE: Redis' loadable modules, which this server cannot have.

A Redis module is a shared library of C code that the server loads into its own process
(dlopen) and calls through Redis' C API. A Python server has neither that API nor any
use for the library, so none is ever loaded: MODULE LIST answers an empty list, and LOAD
and LOADEX fail as they fail in Redis when the library cannot be opened (the reason goes
to the log, the client gets Redis' generic error). As in Redis, LOAD, LOADEX and UNLOAD
are protected: the dispatcher refuses them unless ``enable-module-command`` allows them.
"""

from __future__ import annotations

from app import log
from app.commands.registry import command, container
from app.protocol import ReplyError

container("module", group="server", since="4.0.0", summary="A container for module commands")


def _module(name: str, **kwargs):
    return command(name, parent="module", group="server", **kwargs)


def _cannot_load(path: bytes) -> ReplyError:
    log.warning(f"Module {path.decode(errors='replace')} failed to load: this server cannot load modules "
                "(it is written in Python and has no module API)")
    return ReplyError("ERR Error loading the extension. Please check the server logs.")


@_module("help", arity=2, flags="loading stale", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def module_help(client):
    return [
        "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
        "HELP",
        "    Prints this help.",
    ]


@_module("list", arity=2, flags="admin noscript", since="4.0.0", tips="nondeterministic_output_order",
         summary="List all modules loaded by the server",
         complexity="O(N) where N is the number of loaded modules.")
def module_list(client):
    return []  # none is ever loaded


@_module("load", arity=-3, flags="admin noscript no_async_loading", since="4.0.0", summary="Load a module",
         protected="enable-module-command")
def module_load(client, path: bytes, *args: bytes):
    raise _cannot_load(path)


@_module("loadex", arity=-3, flags="admin noscript no_async_loading", since="7.0.0",
         summary="Load a module with extended parameters", protected="enable-module-command")
def module_loadex(client, path: bytes, *args: bytes):
    # Redis reads CONFIG name value pairs and ARGS first, and logs a malformed list; either
    # way the load fails with the same reply.
    raise _cannot_load(path)


@_module("unload", arity=3, flags="admin noscript no_async_loading", since="4.0.0", summary="Unload a module",
         protected="enable-module-command")
def module_unload(client, name: bytes):
    raise ReplyError("ERR Error unloading module: no such module with that name")
