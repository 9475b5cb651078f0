"""The code location loads, and its asset graph is what analysts see (snapshot-tested).

The snapshot holds what is written by hand on the Dagster side: each stage's group, kinds and
owners, the assets that are not lake tables, the checks, jobs, sensors and schedules. Which tables
exist and which tables each is computed from is the library's declaration (claimback.stages
WRITES/READS, claimback.schema), tested against the graph below rather than copied into the
snapshot: a new table written the way CONTRIBUTING.md says needs no snapshot refresh."""
from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def _described(node) -> dict:
    return {"group": node.group_name, "kinds": sorted(node.kinds), "owners": sorted(node.owners),
            "has_description": bool(node.description)}


def graph_snapshot() -> dict:
    from claimback import schema
    from claimback.stages import WRITES
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    stage_of = {table: stage for stage, tables in WRITES.items() for table in tables}
    assets, stages = {}, {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        name, node = key.to_user_string(), graph.get(key)
        if name in schema.TABLES:  # one entry per stage: its tables are alike (pipelines/defs/specs.py)
            entries = stages.setdefault(stage_of.get(name, "no stage writes it"), [])
            if _described(node) not in entries:
                entries.append(_described(node))
        else:
            assets[name] = {**_described(node), "deps": sorted(
                k.to_user_string() for k in node.parent_keys if k.to_user_string() not in schema.TABLES)}
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    return {
        "assets": assets,
        "stage_tables": stages,
        "checks": checks,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "sensors": sorted(s.name for s in defs.sensors),
        "schedules": sorted(s.name for s in defs.schedules),
    }


def test_asset_graph_matches_snapshot():
    """A changed graph fails until the snapshot is refreshed deliberately, and so does a missing one:
    a test that wrote its own expectation could never fail."""
    current = graph_snapshot()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), (f"no asset-graph snapshot at {SNAPSHOT.relative_to(SNAPSHOT.parents[3])}: create it "
                               "with UPDATE_SNAPSHOTS=1 pytest tests/pipeline/test_definitions.py, review and commit it")
    assert current == json.loads(SNAPSHOT.read_text()), "asset graph changed: rerun with UPDATE_SNAPSHOTS=1 and review"


def test_every_asset_is_described_grouped_and_owned():
    snapshot = graph_snapshot()
    described = [*snapshot["assets"].items(), *((stage, entry) for stage, entries in snapshot["stage_tables"].items()
                                                  for entry in entries)]
    for name, node in described:
        assert node["has_description"], name
        assert node["group"] in {"ingest", "denials", "trends", "routing", "publish"}, name
        assert node["owners"], name


def test_workspace_yaml_points_at_the_definitions():
    import yaml

    root = Path(__file__).resolve().parents[2]
    workspace = yaml.safe_load((root / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "pipelines.definitions"


def test_top_level_packages_are_ours():
    import pipelines
    from pipelines import defs as stage_defs

    root = Path(__file__).resolve().parents[2]
    assert Path(pipelines.__file__).resolve().is_relative_to(root)
    assert Path(stage_defs.__file__).resolve().is_relative_to(root)


def test_the_asset_graph_is_the_lineage_the_library_declares():
    """Every table a stage writes (claimback.stages.WRITES) is an asset whose upstream assets are
    exactly the other stages' tables that stage reads (READS); the published file depends on every
    table. Nothing on the Dagster side writes lineage of its own."""
    from claimback.stages import READS, WRITES
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for stage, tables in WRITES.items():
        for table in tables:
            node = graph.get(dg.AssetKey(table))
            assert {k.to_user_string() for k in node.parent_keys} == set(READS[stage]) - set(tables), table
    published = graph.get(dg.AssetKey("claimback_duckdb"))
    assert {k.to_user_string() for k in published.parent_keys} == {t for ts in WRITES.values() for t in ts}
    # and a stage's reads are tables some stage writes: no asset depends on a name nothing makes
    assert {t for ts in READS.values() for t in ts} <= {t for ts in WRITES.values() for t in ts}


def test_every_table_is_an_asset_with_its_description_and_columns():
    """Each table of claimback/schema.py is an asset of its own: the UI's Columns tab shows it
    exactly as the schema defines it, its description is the schema's, and it names the table of
    the published file."""
    from claimback import schema
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert set(schema.TABLES) <= keys, sorted(set(schema.TABLES) - keys)
    for table, columns in schema.TABLES.items():
        node = graph.get(dg.AssetKey(table))
        assert [(c.name, c.type) for c in node.metadata["dagster/column_schema"].columns] == [
            (name, schema.duckdb_type(dtype)) for name, dtype in columns.items()], table
        assert node.description == schema.DESCRIPTIONS[table], table
        assert node.metadata["dagster/table_name"] == f"claimback.main.{table}", table


def test_the_assets_users_know_keep_their_names():
    """The job, the sensor, the docs and the UI tests name these."""
    from pipelines.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"x12_lake", "reconsideration_log", "denials", "trend_clusters", "work_queue",
            "claimback_duckdb"} <= keys
