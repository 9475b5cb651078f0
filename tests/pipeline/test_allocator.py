"""The allocator options every run gets (pipelines/allocator.py), read back from jemalloc itself."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from pipelines.allocator import KEPT_MEMORY, POLARS_OWN, VARIABLE, prefer_kept_memory

# jemalloc prints its options in effect at exit when asked (stats_print); a process that imports
# pipelines first, then Polars, and allocates a column of 8 MB (a block jemalloc used to give back at once)
RUN = "import pipelines, polars as pl; pl.Series(range(1_000_000)).sum()"
OPTION = re.compile(r"opt\.(oversize_threshold|dirty_decay_ms|muzzy_decay_ms): (-?\d+)")


def options_in_effect(variable: str | None, program: str = RUN) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    env[VARIABLE] = ",".join(part for part in (variable, "stats_print:true") if part)
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    assert "<jemalloc>" not in done.stderr, done.stderr[:500]  # an option jemalloc does not know
    return {name: int(value) for name, value in OPTION.findall(done.stderr)}


KEPT = {"oversize_threshold": 0, "dirty_decay_ms": 10_000, "muzzy_decay_ms": 0}


def test_a_run_keeps_freed_memory_ten_seconds_in_the_ordinary_arenas():
    assert options_in_effect(None) == KEPT


def test_polars_alone_gives_large_blocks_back_at_once():
    """What the options change: without pipelines, Polars' own (8 MiB blocks to a purging arena)."""
    assert options_in_effect(None, RUN.replace("import pipelines, ", "import ")) == {
        "oversize_threshold": 8 * 2**20, "dirty_decay_ms": 500, "muzzy_decay_ms": 1000}


def test_the_users_own_options_win():
    assert options_in_effect("dirty_decay_ms:2000") == {**KEPT, "dirty_decay_ms": 2000}
    polars_own = "oversize_threshold:8388608,dirty_decay_ms:500,muzzy_decay_ms:1000"  # as the module says
    assert options_in_effect(polars_own) == {"oversize_threshold": 8 * 2**20, "dirty_decay_ms": 500,
                                             "muzzy_decay_ms": 1000}


@pytest.mark.parametrize("inherited", [POLARS_OWN, f"{POLARS_OWN},{KEPT_MEMORY}", f"{KEPT_MEMORY}",
                                       f"{POLARS_OWN},{POLARS_OWN},{KEPT_MEMORY}"])
def test_what_a_parent_process_left_in_the_variable_is_not_taken_for_the_users(inherited):
    """A process started by one that imported Polars (a benchmark's child, a packet-drawing worker)
    inherits the variable as Polars wrote it: Polars' half-second must not come after ours."""
    assert prefer_kept_memory({VARIABLE: inherited}) == KEPT_MEMORY
    assert prefer_kept_memory({VARIABLE: f"{inherited},dirty_decay_ms:2000"}) == f"{KEPT_MEMORY},dirty_decay_ms:2000"
    assert options_in_effect(inherited) == KEPT


def test_polars_writes_what_the_module_takes_for_polars_own():
    """On a Polars upgrade that changes its own options, a parent's string would pass for the user's."""
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    done = subprocess.run([sys.executable, "-c", f"import os, polars; print(os.environ[{VARIABLE!r}])"],
                          env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == POLARS_OWN
