"""The one Dagster instance that `claimback run`, `make demo`, cron, the sensor and the UI all record in.

Its home is $DAGSTER_HOME when set (a deployment's own), else `WAREHOUSE/dagster_home`: a warehouse
carries its own run history, so the UI opened on a warehouse shows the runs that built it, whoever
started them. A new home gets the project's dagster.yaml (telemetry and the onboarding pop-up off);
an existing dagster.yaml is never overwritten.
"""
from __future__ import annotations

import os
from pathlib import Path

HOME_FOLDER = "dagster_home"  # inside the warehouse, when DAGSTER_HOME is not set
TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home(warehouse: Path) -> Path:
    """Where runs on `warehouse` are recorded: $DAGSTER_HOME, else WAREHOUSE/dagster_home."""
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured).resolve() if configured else (Path(warehouse) / HOME_FOLDER).resolve()


def prepare_home(home: Path) -> Path:
    """Create `home` (owner only: its event log holds what the UI shows) with our dagster.yaml."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(TEMPLATE.read_text())
    return home


def persistent_instance(warehouse: Path):
    """The DagsterInstance for `warehouse` (caller closes it, or uses it as a context manager)."""
    import dagster as dg

    return dg.DagsterInstance.from_config(str(prepare_home(dagster_home(warehouse))))
