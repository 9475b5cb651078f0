"""The lineage the library declares (claimback.stages READS and WRITES) is what the stages do.

The asset graph is built from that declaration alone (pipelines/defs/specs.py), so a stage that
reads a table it does not declare would run with an edge missing from the graph: Dagster could
run it before the table's writer. Here every stage runs on a small synthetic inbox, as the job
runs it (ingest through the library, the others through their Dagster assets, whose metadata reads
tables too), on a lake that records each table read and written.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import pytest

from claimback import schema, stages
from claimback.lake import Lake
from claimback.settings import Settings
from claimback.synth import generate
from pipelines.defs.denials.assets import denials
from pipelines.defs.reconsiderations.assets import reconsideration_log
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.routing.assets import work_queue
from pipelines.defs.trends.assets import trend_clusters

pytestmark = pytest.mark.slow
AS_OF = date(2026, 11, 1)


class RecordingLake(Lake):
    """A lake that notes the contract tables read and written (run bookkeeping is not lineage)."""

    def __init__(self, warehouse, seen: dict[str, set[str]]):
        super().__init__(warehouse)
        self.seen = seen

    def _note(self, kind: str, table: str) -> None:
        if table in schema.TABLES:
            self.seen[kind].add(table)

    def read(self, table, columns=None):
        self._note("read", table)
        return super().read(table, columns)

    def scan(self, table):
        self._note("read", table)
        return super().scan(table)

    def scan_unordered(self, table, columns, batches=None):
        self._note("read", table)
        return super().scan_unordered(table, columns, batches)

    def read_parts(self, table, batches, columns):
        self._note("read", table)
        return super().read_parts(table, batches, columns)

    def write_derived(self, table, frame):
        self._note("written", table)
        return super().write_derived(table, frame)

    def write_part(self, table, part, frame, kept=False):
        self._note("written", table)
        return super().write_part(table, part, frame, kept)

    def write_current(self, table, frame):
        self._note("written", table)
        return super().write_current(table, frame)

    def write_current_part(self, table, batch_id, frame):
        self._note("written", table)
        return super().write_current_part(table, batch_id, frame)


def recording(settings: Settings, seen: dict[str, set[str]]) -> Settings:
    """`settings` whose lake records into `seen` (the stages reach the lake only through it)."""
    @dataclass(frozen=True)
    class Recorded(Settings):
        @property
        def lake(self) -> Lake:
            return RecordingLake(self.warehouse, seen)

    return Recorded(**{f.name: getattr(settings, f.name) for f in fields(settings) if f.init})


class RecordingResource(ClaimbackResource):
    """The assets' resource, handing them the recording settings."""

    def settings(self) -> Settings:
        return recording(super().settings(), SEEN)


SEEN: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def lineage(tmp_path_factory) -> dict[str, dict[str, set[str]]]:
    """stage -> {"read": tables, "written": tables}, each stage run once in the job's order."""
    root = tmp_path_factory.mktemp("lineage")
    generate(root / "inbox", claims=300, seed=5, as_of=AS_OF)
    resource = RecordingResource(inbox=str(root / "inbox"), warehouse=str(root / "warehouse"),
                                 as_of=AS_OF.isoformat())
    found = {}
    for stage, run in [("ingest", None), ("reconsiderations", reconsideration_log), ("denials", denials),
                       ("trends", trend_clusters), ("routing", work_queue)]:
        SEEN.clear()
        SEEN.update(read=set(), written=set())
        if run is None:  # a graph asset: its three steps, as its ops call them
            settings = resource.settings()
            plan = stages.plan_new_files(settings)
            for batch in plan.batches(max_files=settings.batch_files):
                stages.parse_batch(settings, batch)
            stages.consolidate_lake(settings)
        else:
            list(run(claimback=resource))  # a multi-asset yields a materialisation per table
        found[stage] = {kind: set(tables) for kind, tables in SEEN.items()}
    return found


@pytest.mark.parametrize("stage", ["ingest", "reconsiderations", "denials", "trends", "routing"])
def test_each_stage_writes_what_it_declares(lineage, stage):
    assert lineage[stage]["written"] == set(stages.WRITES[stage])


@pytest.mark.parametrize("stage", ["ingest", "reconsiderations", "denials", "trends", "routing"])
def test_each_stage_reads_what_it_declares(lineage, stage):
    """Of other stages' tables: a read missing from READS is an edge missing from the graph; a
    declared read that never happens is an edge that orders nothing."""
    others = lineage[stage]["read"] - set(stages.WRITES[stage])
    assert others == set(stages.READS[stage]), (
        f"claimback.stages.READS[{stage!r}]: undeclared {sorted(others - set(stages.READS[stage]))}, "
        f"declared but not read {sorted(set(stages.READS[stage]) - others)}")

