"""The process' limit on open files, raised for maxclients as Redis' adjustOpenFilesLimit does.

Redis keeps 32 descriptors beyond maxclients for its own files (CONFIG_MIN_RESERVED_FDS).
When the soft NOFILE limit is lower than that, it tries to set the limit to exactly what
it needs, then 16 less, then 16 less again, down to the current limit, and serves as
many clients as the first limit that works allows: CONFIG SET maxclients answers "try
with N" when that is fewer than asked for.

Redis takes those steps one system call at a time, so ``CONFIG SET maxclients
2147483648`` makes 134 million calls and stalls it for minutes. Whether a limit can be
set does not depend on the steps tried before (it is at most the hard limit, or the
kernel's nr_open for a privileged process), so a binary search over the same steps finds
the same one in about thirty calls.
"""

from __future__ import annotations

import resource

RESERVED_FDS = 32
STEP = 16


def _can_set(limit: int) -> bool:
    """Raise the soft limit to ``limit``, and the hard one with it if needed (only a
    privileged process may); never lower the hard limit, which could not be undone."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        hard = max(hard, limit)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    except (ValueError, OSError):
        return False
    return True


def clients_allowed(maxclients: int) -> int:
    """Raise the open files limit for ``maxclients`` clients if it is too low, and return
    how many clients the limit now allows: ``maxclients`` itself if it could be raised
    enough, fewer otherwise (as Redis computes it)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = maxclients + RESERVED_FDS
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return maxclients
    # Redis tries wanted - STEP * k for k = 0, 1, ... while above the current limit.
    steps = (wanted - soft - 1) // STEP  # the last k whose limit is above ``soft``
    if _can_set(wanted):
        return maxclients
    low, high = 0, steps + 1  # the first workable k is in (low, high]; steps + 1: none
    while high - low > 1:
        middle = (low + high) // 2
        if _can_set(wanted - STEP * middle):
            high = middle
        else:
            low = middle
    # The last probe that worked was the one at ``high``: the limit is set to it already.
    best = wanted - STEP * high if high <= steps else soft
    return best - RESERVED_FDS
