"""Shared fixtures: where the real sample corpus lives, and a skip when it does not; where the
runs of the tests are recorded."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines import instance

PERSISTENT_INSTANCE = instance.persistent_instance

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CLAIMBACK_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "x12-samples"

needs_corpus = pytest.mark.skipif(
    not (SAMPLES / "835").is_dir(),
    reason=f"real X12 sample corpus not found at {SAMPLES} (it sits beside the repo in the "
    "developers' workspace; set CLAIMBACK_SHARED to point elsewhere)",
)


def corpus_files(kind: str) -> list[Path]:
    """Sorted sample files of one kind ('835' or '837'); empty when the corpus is absent."""
    folder = SAMPLES / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".md")


@pytest.fixture
def samples() -> Path:
    if not (SAMPLES / "835").is_dir():
        pytest.skip(f"real X12 sample corpus not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture(scope="session", autouse=True)
def runs_recorded_in_memory():
    """In-process runs (`run_pipeline`, `cli.main(["run", ...])`) record in an ephemeral Dagster
    instance, as Dagster advises for tests, not in the warehouse's sqlite one: writing its event
    log is about half of a small run (7.7 s of wall against 4.2 s on a dozen hand-written claims),
    and only the tests of the recorded runs read it. Runs in a child process (`claimback run`, the
    cluster's) are not touched. Tests of what the warehouse's instance holds use `recorded_runs`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(instance, "persistent_instance", _ephemeral_instance)
        yield


def _ephemeral_instance(warehouse: Path):
    import dagster as dg

    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def recorded_runs(runs_recorded_in_memory):
    """In-process runs of this module record in the warehouse's own instance (pipelines/instance.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(instance, "persistent_instance", PERSISTENT_INSTANCE)
        yield
