"""Property: renaming or reordering the files of an inbox never changes a published table.

The inbox is the generator's, with its byte-identical resend, a transaction re-issued in a new
envelope, a check sent wrong and then corrected (same TRN02, later envelope), corrected claims
(frequency 7) and reversals. Each example renames every file (prefixes that sort first or last,
sub-folders, other extensions) and copies them in a shuffled order; the published tables, with
each file name replaced by the file's SHA-256, must equal the first run's.
"""
from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimback.synth import generate
from pipelines.cli import run_pipeline
from claimback.publish import DATABASE_NAME
from tests.reliability.harness import VOLATILE_COLUMNS, assert_same_tables, published_tables

pytestmark = pytest.mark.slow
AS_OF = date(2026, 11, 20)
PREFIXES = ("", "AAA_", "ZZZ_", "0-", "late/", "early/x_")
EXTENSIONS = (None, ".txt", ".edi", ".dat")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, dict, dict[str, str]]:
    root = tmp_path_factory.mktemp("order")
    inbox = root / "inbox"
    summary = generate(inbox, 300, seed=14, as_of=AS_OF, months=2, claims_per_file=15)
    assert summary.resent_files and summary.corrected_remit_files and summary.recouped_claims >= 0
    names = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.iterdir()}
    assert run_pipeline(inbox, root / "warehouse", AS_OF).success
    return inbox, _by_content(root / "warehouse", names), names


def _by_content(warehouse: Path, names: dict[str, str]) -> dict[str, list[tuple]]:
    """Every published table (as the reliability harness reads them), each file name as it sat
    in the inbox replaced by its bytes' hash, and without ingested_files.mtime_ns (the copy's
    time, not the file's)."""
    with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
        columns = [c[0] for c in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                             "table_name = 'ingested_files' ORDER BY ordinal_position").fetchall()]
    mtime = [c for c in columns if c not in VOLATILE_COLUMNS].index("mtime_ns")

    def swap(value):
        return names.get(value, value) if isinstance(value, str) else value

    out = {}
    for table, rows in published_tables(warehouse).items():
        rows = [tuple(swap(v) for i, v in enumerate(row) if table != "ingested_files" or i != mtime)
                for row in rows]
        out[table] = sorted(rows, key=repr)
    return out


def _run_renamed(source, root: Path, order: list[Path], new_names: list[str]) -> None:
    """Copy the inbox's files in `order` under `new_names`, run, and compare with the first run."""
    inbox, expected, names = source
    target = root / "inbox"
    renamed: dict[str, str] = {}
    for path, new in zip(order, new_names, strict=True):
        (target / new).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / new)  # copied in this order: mtimes follow it
        renamed[new] = names[path.name]
    assert run_pipeline(target, root / "warehouse", AS_OF).success
    actual = _by_content(root / "warehouse", renamed)
    assert_same_tables(actual, expected, ignore=("trend_packets", "request_packets"))


def _keep_log_name(path: Path, new: str) -> str:
    return f"{new.replace('/', '_')}_reconsiderations.csv" if path.name.endswith("reconsiderations.csv") else new


def test_files_named_and_copied_in_reverse_order(source, tmp_path):
    # every pair of files now sorts and arrives the other way round: the resend before the
    # original, the corrected check before its wrong first send
    files = sorted(source[0].iterdir(), reverse=True)
    names = [_keep_log_name(p, f"{i:03d}_{p.name}") for i, p in enumerate(files)]
    _run_renamed(source, tmp_path, files, names)


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_renaming_and_reordering_files_changes_no_published_table(source, tmp_path_factory, data):
    files = data.draw(st.permutations(sorted(source[0].iterdir())))
    names = []
    for i, path in enumerate(files):
        prefix = data.draw(st.sampled_from(PREFIXES))
        ext = data.draw(st.sampled_from(EXTENSIONS))
        stem = f"{i:03d}_{path.stem}" if data.draw(st.booleans()) else path.stem
        names.append(_keep_log_name(path, f"{prefix}{stem}{ext if ext else path.suffix}"))
    _run_renamed(source, tmp_path_factory.mktemp("renamed"), files, names)
