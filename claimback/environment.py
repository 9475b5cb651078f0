"""Settings read from the environment: how many threads or processes claimback may use.

Each setting has a default that fits a small machine; a value that is not a whole number of at
least 1 stops the run with a message naming the variable, rather than being ignored.
"""
from __future__ import annotations

import os


def workers(variable: str, default: int) -> int:
    """The whole number in $`variable` (1 or more), else `default`."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{variable} must be a whole number, 1 or more; got {value!r}")
    return int(value)
