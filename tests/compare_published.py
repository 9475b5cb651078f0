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


def against_a_full_run(inbox: Path, nightly: Path, full: Path, as_of) -> tuple[list, dict]:
    """(differences, row counts): a fresh warehouse `full` built from scratch from `inbox` on
    `as_of`, compared with the warehouse grown night by night."""
    from pipelines.cli import run_pipeline

    assert run_pipeline(inbox, full, as_of, from_scratch=True).success, f"full run of {as_of}"
    return compare_published.compare(nightly, full)


def described(differences: list) -> str:
    """A failure message: each differing relation with one example row of each side."""
    return "; ".join(f"{d.relation}: {d.problem} {d.only_a[:1]} {d.only_b[:1]}" for d in differences)
