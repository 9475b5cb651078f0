"""The reliability tests' tools: synthetic inboxes, `claimback run` as a subprocess, and the
published tables read back in a form two runs can be compared on."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 1)
DATABASE = "claimback.duckdb"
# Columns that record when or in which batch something happened, not what: they differ between
# two runs that did the same work, so comparisons leave them out.
VOLATILE_COLUMNS = {"loaded_at", "detected_at", "batch_id", "published_at", "generated_at"}
VOLATILE_TABLES = {"publish_info"}
# A hand-kept log has typos; the run must report this row and go on.
MALFORMED_LOG_ROW = "CFM99999999,,3,not-a-date,REF-BAD,maybe,\n"


@dataclass(frozen=True)
class Inbox:
    path: Path
    truth: Path

    def x12_files(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.is_file() and not p.name.endswith(".csv"))


def synth_inbox(root: Path, claims: int, claims_per_file: int = 1_000, seed: int = 5) -> Inbox:
    from claimback.synth import generate

    inbox, truth = root / "inbox", root / "truth"
    generate(inbox, claims, seed=seed, as_of=AS_OF, months=1, claims_per_file=claims_per_file, truth_dir=truth)
    return Inbox(inbox, truth)


def daily_drops(source: Path, target: Path) -> None:
    """Repack a synthetic inbox the way a clearinghouse delivers: each kind's files (835 / 837)
    with the same delimiters concatenated into one daily drop of many interchanges. The same
    claims in ~10 files instead of ~120, which keeps the end-to-end tests fast (the reader's cost
    is per file as much as per claim)."""
    target.mkdir(parents=True)
    drops: dict[tuple, list[bytes]] = {}
    for path in sorted(source.iterdir()):
        if path.name.endswith(".csv"):
            shutil.copy2(path, target / path.name)
            continue
        data = path.read_bytes()
        style = ("835" if "_ERA_" in path.name else "837", data[3:4], data[105:107])
        drops.setdefault(style, []).append(data if data.endswith(b"\n") else data + b"\n")
    for index, (style, parts) in enumerate(sorted(drops.items())):
        (target / f"drop-{index:02d}-{style[0]}.x12").write_bytes(b"".join(parts))


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The `claimback` command in a fresh interpreter, as cron or an analyst would run it."""
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=_env())


def start_run(inbox: Path, warehouse: Path, stderr_path: Path, batch_files: int = 5) -> subprocess.Popen:
    """`claimback run` started in the background; its progress lines go to `stderr_path`.
    Small parse batches, so there are many moments between batches to be killed at."""
    with open(stderr_path, "w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(inbox), "--warehouse", str(warehouse),
             "--as-of", AS_OF.isoformat(), "--batch-files", str(batch_files)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, env=_env())


def run(inbox: Path, warehouse: Path) -> subprocess.CompletedProcess:
    result = cli("run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CLAIMBACK_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def published_tables(warehouse: Path, inbox: Path | None = None) -> dict[str, list[tuple]]:
    """Every published table's rows, sorted, without the columns that only say when (see
    VOLATILE_COLUMNS) and with the warehouse (and inbox) folder replaced, so runs in two folders
    compare equal."""
    path = warehouse / DATABASE
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema = 'main' ORDER BY table_name").fetchall()]
        out = {}
        for table in tables:
            if table in VOLATILE_TABLES:
                continue
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
                "ORDER BY ordinal_position", [table]).fetchall()]
            kept = ", ".join(f'"{c}"' for c in columns if c not in VOLATILE_COLUMNS)
            rows = con.execute(f'SELECT {kept} FROM "{table}"').fetchall()
            out[table] = sorted((_portable(row, warehouse, inbox) for row in rows), key=repr)
    return out


def _portable(row: tuple, warehouse: Path, inbox: Path | None) -> tuple:
    folders = [(str(warehouse), "<warehouse>")] + ([(str(inbox), "<inbox>")] if inbox else [])

    def portable(value):
        if isinstance(value, str):
            for prefix, placeholder in folders:
                value = value.replace(prefix, placeholder)
        return value

    return tuple(portable(v) for v in row)


def assert_same_tables(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]], ignore=()) -> None:
    actual = {k: v for k, v in actual.items() if k not in ignore}
    expected = {k: v for k, v in expected.items() if k not in ignore}
    assert sorted(actual) == sorted(expected)
    different = {t: _first_difference(actual[t], expected[t]) for t in expected if actual[t] != expected[t]}
    assert not different, different


def _first_difference(actual: list[tuple], expected: list[tuple]) -> str:
    if len(actual) != len(expected):
        return f"{len(actual)} rows, expected {len(expected)}"
    for got, want in zip(actual, expected):
        if got != want:
            columns = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
            return f"column #{columns[0]}: {got[columns[0]]!r} != {want[columns[0]]!r}"
    return "same rows"


def claimback_job():
    """The job as the UI, the sensor and a cluster executor load it (from the code location), at
    an importable address so `reconstructable` can rebuild it in every step's process."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("claimback")


def step_failures(result) -> list[str]:
    """The failed steps of a Dagster run and why, for an assertion message."""
    return [f"{e.step_key}: {e.event_specific_data.error.message.strip()[:500]}"
            for e in result.all_events if e.event_type_value == "STEP_FAILURE"]


