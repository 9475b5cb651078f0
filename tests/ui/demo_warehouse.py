"""One demo warehouse per test session, shared by the browser test and the notebook runs.

It is built the way an analyst's night is: a synthetic inbox, then `claimback run` (what cron runs),
which records in the warehouse's own Dagster instance (WAREHOUSE/dagster_home), so the UI started
later on that home shows the run, its materializations and its checks — not a run the UI started.
Built once and cached in this module, because both tests/ui and tests/notebooks import it and the
run is the expensive part.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# A fixed as-of date keeps deadlines, buckets and screenshots the same from one test run to the next.
AS_OF = date(2026, 11, 20)
CLAIMS = int(os.environ.get("CLAIMBACK_TEST_DEMO_CLAIMS", "1500"))
JOB = "claimback"
LOCATION = "claimback"
RUN_TIMEOUT_S = 900


class DemoRunFailed(RuntimeError):
    """The demo job did not succeed; the message carries the tail of Dagster's output."""


@dataclass(frozen=True)
class DemoWarehouse:
    root: Path
    inbox: Path
    warehouse: Path
    dagster_home: Path
    as_of: date
    env: dict[str, str] = field(repr=False)

    @property
    def database(self) -> Path:
        return self.warehouse / "claimback.duckdb"

    def patient_names(self) -> set[str]:
        """Synthetic patient first and last names (PHI stand-ins), to prove they are not shown."""
        with duckdb.connect(str(self.database), read_only=True) as con:
            rows = con.sql(
                "SELECT patient_last_name AS name FROM submitted_claims UNION "
                "SELECT patient_first_name FROM submitted_claims UNION "
                "SELECT patient_last_name FROM remit_claims UNION "
                "SELECT patient_first_name FROM remit_claims"
            ).fetchall()
        # very short names ("LI") would match inside ordinary words; they prove nothing either way
        return {name for (name,) in rows if name and len(name) >= 4}


_built: DemoWarehouse | None = None


def demo_warehouse(base: Path) -> DemoWarehouse:
    """The session's demo warehouse, built under `base` on first use.

    CLAIMBACK_TEST_DEMO_DIR names a demo folder a previous session built (its `claimback-demo`
    folder under pytest's basetemp) to reuse instead of building one: for iterating on these tests.
    """
    global _built
    if _built is None:
        reuse = os.environ.get("CLAIMBACK_TEST_DEMO_DIR")
        if reuse and (_layout(Path(reuse)).database.exists()):
            _built = _layout(Path(reuse))
        else:
            _built = _build(base / "claimback-demo")
    return _built


def _layout(root: Path) -> DemoWarehouse:
    inbox, warehouse = root / "inbox", root / "warehouse"
    home = warehouse / "dagster_home"  # where `claimback run` records when DAGSTER_HOME is not set
    env = {
        **os.environ,
        "CLAIMBACK_INBOX": str(inbox),
        "CLAIMBACK_WAREHOUSE": str(warehouse),
        "CLAIMBACK_AS_OF": AS_OF.isoformat(),
        "DAGSTER_HOME": str(home),  # for `dagster dev` on this warehouse, as `claimback ui` sets it
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return DemoWarehouse(root, inbox, warehouse, home, AS_OF, env)


def _build(root: Path) -> DemoWarehouse:
    from claimback.synth import generate

    demo = _layout(root)
    demo.inbox.mkdir(parents=True, exist_ok=True)
    generate(demo.inbox, claims=CLAIMS, seed=7, as_of=AS_OF)
    _claimback_run(demo)
    if not demo.database.exists():
        raise DemoRunFailed(f"the demo run succeeded but {demo.database} was not published")
    return demo


def _claimback_run(demo: DemoWarehouse) -> None:
    env = {k: v for k, v in demo.env.items() if k != "DAGSTER_HOME"}  # the warehouse's own instance
    command = [sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(demo.inbox), "--warehouse",
               str(demo.warehouse), "--as-of", AS_OF.isoformat(), "--deidentify", "-q"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-40:])
        raise DemoRunFailed(f"`claimback run` exited {done.returncode}:\n{tail}")
