"""CONTRIBUTING.md's change 5, done for real: a new table added by touching the three files the
guide lists, and nothing else; the asset graph, the job and the published file pick it up.

The change is made to a copy of the code (claimback/, pipelines/, the data dictionary and the
tests that must follow), so the repository is never edited: the table `reconsiderations_by_level`,
written by the reconsiderations stage, counting the log's requests per level. Everything else — its Dagster asset
with its description and columns, its place upstream of the published file, its materialisation,
its table in claimback.duckdb, the data dictionary's checks, the asset-graph snapshot — must
follow on its own.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

# The whole change, file by file: (text already there, what it becomes). Nothing else is edited.
CHANGE: dict[str, list[tuple[str, str]]] = {
    "claimback/schema.py": [
        ("TABLES: dict[str, dict[str, pl.DataType]] = {\n",
         'RECONSIDERATIONS_BY_LEVEL = {"level": INT, "requests": INT}\n\n'
         "TABLES: dict[str, dict[str, pl.DataType]] = {\n"
         '    "reconsiderations_by_level": RECONSIDERATIONS_BY_LEVEL,\n'),
        ("DESCRIPTIONS: dict[str, str] = {\n",
         "DESCRIPTIONS: dict[str, str] = {\n"
         '    "reconsiderations_by_level": "One row per request level in the reconsideration log: how many requests.",\n'),
    ],
    "claimback/stages.py": [
        ('"reconsiderations": ("reconsiderations", "reconsideration_log_problems"',
         '"reconsiderations": ("reconsiderations", "reconsideration_log_problems", "reconsiderations_by_level"'),
        ('    settings.lake.write_derived("reconsideration_log_problems", problems)\n',
         '    settings.lake.write_derived("reconsideration_log_problems", problems)\n'
         '    settings.lake.write_derived("reconsiderations_by_level", schema.conform(\n'
         '        frame.group_by("level").agg(pl.len().alias("requests")).sort("level"), "reconsiderations_by_level"))\n'),
    ],
    "docs/data-dictionary.md": [
        ("\n## Views", textwrap.dedent("""
            ## reconsiderations_by_level

            _Supporting table._ One row per request level in the reconsideration log: how many requests. Read from `reconsiderations`.

            | column | type | meaning |
            |---|---|---|
            | `level` | BIGINT | 1 = Level I request for reconsideration, 2 = Level II claim dispute. |
            | `requests` | BIGINT | Rows of the log at that level. |
            """) + "\n## Views"),
    ],
}
COPIED = ("claimback", "pipelines", "workspace.yaml", "docs/data-dictionary.md", "tests/__init__.py",
          "tests/ui/__init__.py", "tests/ui/test_data_dictionary.py", "tests/pipeline/__init__.py",
          "tests/pipeline/test_definitions.py", "tests/pipeline/snapshots")
# The repository's own tests that must pass on the changed copy as they are: the data dictionary
# against the schema, and the asset graph (its snapshot not refreshed, the lineage as declared).
TESTS_THAT_FOLLOW = ("tests/ui/test_data_dictionary.py", "tests/pipeline/test_definitions.py")

# The log, by hand: three Level I requests and one Level II (columns as claimback.reconsiderations reads them).
LOG = ("patient_control_number,payer_claim_control_number,level,submitted_on,reference_number,outcome,decided_on\n"
       "PCN1,ICN1,1,2026-09-01,R1,overturned,2026-10-01\n"
       "PCN2,ICN2,1,2026-09-02,R2,,\n"
       "PCN3,ICN3,2,2026-09-03,R3,upheld,2026-10-05\n"
       "PCN4,ICN4,1,2026-09-04,,,\n")
EXPECTED_ROWS = [(1, 3), (2, 1)]

# Run in the copy: the graph, then the job on an inbox holding only the log, then the published file.
CHECK = textwrap.dedent("""
    import sys
    from datetime import date
    from pathlib import Path

    import dagster as dg
    import duckdb

    from pipelines.cli import run_pipeline
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("reconsiderations_by_level"))
    print("group", node.group_name)
    print("description", node.description)
    print("columns", [(c.name, c.type) for c in node.metadata["dagster/column_schema"].columns])
    print("upstream_of_publish", dg.AssetKey("reconsiderations_by_level")
          in graph.get(dg.AssetKey("claimback_duckdb")).parent_keys)
    inbox, warehouse = Path(sys.argv[1]), Path(sys.argv[2])
    result = run_pipeline(inbox, warehouse, date(2026, 11, 1))
    print("success", result.success)
    print("materialised", any(e.asset_key == dg.AssetKey("reconsiderations_by_level")
                              for e in result.get_asset_materialization_events()))
    with duckdb.connect(str(warehouse / "claimback.duckdb"), read_only=True) as con:
        print("published", con.sql("SELECT level, requests FROM reconsiderations_by_level ORDER BY level").fetchall())
""")


def _changed_files(a: Path, b: Path) -> list[str]:
    """Files (outside caches and build products) that differ between two copies."""
    changed = []
    for path in sorted(p for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        rel = path.relative_to(b)
        if rel.suffix in (".so", ".pyc"):  # the compiled reader core, bytecode
            continue
        if not (a / rel).exists() or not filecmp.cmp(a / rel, path, shallow=False):
            changed.append(rel.as_posix())
    return changed


@pytest.fixture(scope="module")
def changed(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("worked") / "repo"
    for name in COPIED:
        source, target = ROOT / name, copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    for name, edits in CHANGE.items():
        text = (copy / name).read_text()
        for before, after in edits:
            assert text.count(before) == 1, f"{name}: the worked example's anchor moved: {before!r}"
            text = text.replace(before, after)
        (copy / name).write_text(text)
    return copy


def test_the_change_touches_the_three_files_contributing_lists(changed):
    assert _changed_files(ROOT, changed) == sorted(CHANGE)
    guide = (ROOT / "CONTRIBUTING.md").read_text().split("## 5.")[1].split("\n## ")[0]
    assert all(f"`{name}`" in guide for name in CHANGE), "CONTRIBUTING.md, change 5, lists other files"


def test_a_new_table_is_an_asset_and_published(changed, tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "reconsiderations.csv").write_text(LOG)
    env = {**os.environ, "PYTHONPATH": str(changed), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    (tmp_path / "dagster_home").mkdir()
    run = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "inbox"), str(tmp_path / "warehouse")],
                         cwd=changed, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    assert said["group"] == "ingest"
    assert said["description"] == "One row per request level in the reconsideration log: how many requests."
    assert said["columns"] == str([("level", "BIGINT"), ("requests", "BIGINT")])
    assert said["upstream_of_publish"] == "True"
    assert said["success"] == "True" and said["materialised"] == "True"
    assert said["published"] == str(EXPECTED_ROWS)


def test_the_dictionary_and_graph_tests_pass_on_the_changed_code(changed):
    # without UPDATE_SNAPSHOTS: the copy's snapshot must match as it is
    env = {**{k: v for k, v in os.environ.items() if k != "UPDATE_SNAPSHOTS"}, "PYTHONPATH": str(changed)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--noconftest",
                          *TESTS_THAT_FOLLOW], cwd=changed, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "test_the_dictionary_lists_each_table_as_the_schema_defines_it[reconsiderations_by_level] PASSED" \
        in run.stdout
    assert "test_asset_graph_matches_snapshot PASSED" in run.stdout
