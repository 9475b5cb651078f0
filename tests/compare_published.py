"""bench/compare_published.py as a module for the tests (bench/ is scripts, not a package): the
proof that two warehouses published the same tables and views, row for row."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("compare_published", ROOT / "bench" / "compare_published.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


compare_published = _load()
