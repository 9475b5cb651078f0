"""One demo warehouse per test session, shared by the browser test and the notebook runs.

It is built the way an analyst's night is: a synthetic inbox, then the `claimback` job run by the
Dagster CLI against a persistent DAGSTER_HOME (a copy of the project's `.dagster_home/dagster.yaml`),
so the UI started later on that home shows the run, its materializations and its checks. Built once
and cached in this module, because both tests/ui and tests/notebooks import it and the run is the
expensive part.
"""
from __future__ import annotations

import os
import shutil
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

_RUN_CONFIG = """\
# in process: one import of the code location instead of one per step (2 shared cores)
execution:
  config:
    in_process: {}
loggers:
  console:
    config:
      log_level: WARNING
"""


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
    inbox, warehouse, home = root / "inbox", root / "warehouse", root / "dagster_home"
    env = {
        **os.environ,
        "CLAIMBACK_INBOX": str(inbox),
        "CLAIMBACK_WAREHOUSE": str(warehouse),
        "CLAIMBACK_AS_OF": AS_OF.isoformat(),
        "DAGSTER_HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return DemoWarehouse(root, inbox, warehouse, home, AS_OF, env)


def _build(root: Path) -> DemoWarehouse:
    from claimback.synth import generate

    demo = _layout(root)
    for folder in (demo.inbox, demo.warehouse, demo.dagster_home):
        folder.mkdir(parents=True, exist_ok=True)
    generate(demo.inbox, claims=CLAIMS, seed=7, as_of=AS_OF)
    shutil.copy(ROOT / ".dagster_home" / "dagster.yaml", demo.dagster_home / "dagster.yaml")
    _execute_job(demo)
    if not demo.database.exists():
        raise DemoRunFailed(f"the demo run succeeded but {demo.database} was not published")
    return demo


def _execute_job(demo: DemoWarehouse) -> None:
    config = demo.root / "run_config.yaml"
    config.write_text(_RUN_CONFIG)
    command = [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-d", str(ROOT),
               "-j", JOB, "-c", str(config)]
    done = subprocess.run(command, cwd=ROOT, env=demo.env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-40:])
        raise DemoRunFailed(f"`dagster job execute -j {JOB}` exited {done.returncode}:\n{tail}")
