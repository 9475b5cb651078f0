"""How long Polars' memory allocator keeps the memory a run frees: set once, before Polars loads.

Polars ships jemalloc and sets it at import to give freed memory back to the system after half a
second, and jemalloc gives blocks of 8 MiB or more (a column of a million rows) back at once. A
night over a large history allocates and frees such blocks all the time (each month of a table
read, merged and written), so the kernel faults in and zeroes the same amount of fresh memory
again and again: a quarter to a third of a night's CPU was system time. Kept ten seconds in
jemalloc's ordinary arenas, the blocks are used again instead (10 M claims' eleventh night against
main, interleaved: system time a third less, the night 9-27 s shorter, 0.4-0.7 GB more at the
peak; bench/SCALE.md "Freed memory kept ten seconds").

jemalloc reads its options once, when the library loads: `prefer_kept_memory` must run before the
first `import polars` of the process, which is why `pipelines/__init__.py` calls it. Options the user
sets in `_RJEM_MALLOC_CONF` come after these and win (Polars appends the variable to its own): e.g.
`oversize_threshold:8388608,dirty_decay_ms:500,muzzy_decay_ms:1000` for Polars' own behaviour.
"""
from __future__ import annotations

import os

VARIABLE = "_RJEM_MALLOC_CONF"  # the variable Polars' jemalloc reads (its symbols are prefixed)
KEPT_MEMORY = "oversize_threshold:0,dirty_decay_ms:10000,muzzy_decay_ms:0"
# What Polars 1.44 writes into the variable at import: a process started by one that imported Polars
# inherits it, and it is Polars' default, not a choice of the user's to keep after ours.
POLARS_OWN = "dirty_decay_ms:500,muzzy_decay_ms:1000"


def prefer_kept_memory(environ: os._Environ | dict = os.environ) -> str:
    """Put `KEPT_MEMORY` before the user's own jemalloc options in `environ`; returns the value.
    What a parent process left in the variable (Polars' options, ours) is not the user's."""
    theirs = environ.get(VARIABLE, "")
    while inherited := next((known for known in (POLARS_OWN, KEPT_MEMORY) if theirs.startswith(known)), None):
        theirs = theirs[len(inherited):].lstrip(",")
    environ[VARIABLE] = ",".join(part for part in (KEPT_MEMORY, theirs) if part)
    return environ[VARIABLE]
