"""The code location loads, and its asset graph is what analysts see (snapshot-tested)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot() -> dict:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "has_description": bool(node.description),
        }
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    return {
        "assets": assets,
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
    for name, node in graph_snapshot()["assets"].items():
        assert node["has_description"], name
        assert node["group"] in {"ingest", "denials", "trends", "routing", "publish"}, name
        assert node["owners"], name


def test_workspace_yaml_points_at_the_definitions():
    import yaml

    root = Path(__file__).resolve().parents[2]
    workspace = yaml.safe_load((root / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "pipelines.definitions"


def test_top_level_packages_are_ours():
    import assets
    import pipelines

    root = Path(__file__).resolve().parents[2]
    assert Path(assets.__file__).resolve().is_relative_to(root)
    assert Path(pipelines.__file__).resolve().is_relative_to(root)


def test_each_stage_asset_shows_its_tables_and_columns():
    """The UI's Columns tab of a stage's asset shows its main table exactly as claimback/schema.py
    defines it, and the asset lists every lake table the stage writes."""
    from claimback import schema
    from claimback.stages import WRITES
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for key, stage in {"x12_lake": "ingest", "reconsideration_log": "reconsiderations", "denials": "denials",
                       "trend_clusters": "trends", "work_queue": "routing"}.items():
        metadata = graph.get(dg.AssetKey(key)).metadata
        main = WRITES[stage][0]
        assert [(c.name, c.type) for c in metadata["dagster/column_schema"].columns] == [
            (name, schema.duckdb_type(dtype)) for name, dtype in schema.TABLES[main].items()], key
        assert all(f"`{table}`" in metadata["lake_tables"].value for table in WRITES[stage]), key
