"""The layering, as a table: which part of the code may import which (every import counts, at the
top of a module or inside a function).

The reader (`claimback/x12`) turns bytes into tables and knows nothing of denials, routing or trends;
the code lists (`claimback/codes`) depend on nothing else of claimback; the library (`claimback/`)
never imports Dagster or `pipelines`; nothing imports upwards. On the Dagster side
(`pipelines/defs/<stage>/`) a stage's folder imports no other stage's: lineage is the library's
declaration (claimback.stages READS/WRITES), not Python imports. A new module goes into
ALLOWED with what it may use; an import outside its row fails here, naming the file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "claimback"

# Part of claimback (a module, or a sub-package as a whole) -> the other parts it may import.
# Read bottom-up: codes and environment use nothing; the stages façade uses everything it runs.
_DOMAIN_BASE = {"codes", "schema", "lifecycle"}
ALLOWED: dict[str, set[str]] = {
    "codes": set(),                                   # CARC/RARC lists and the code registry
    "environment": set(),                             # process knobs (threads, processes)
    "storage": set(),                                 # a local folder or an object store, one path type
    "among": set(),                                   # rows whose key is among many values, by a join
    "schema": {"codes"},                              # the data contract
    "lake": {"schema", "storage", "among"},                               # Parquet tables of a warehouse
    "settings": {"lake", "denials", "storage"},                  # every setting of a run (defaults beside their rules)
    "inbox": {"storage"},                                   # what is in the inbox folder
    "warehouse": set(),                               # one run at a time, private folders
    "x12": {"codes", "environment", "schema"},        # the reader: bytes to tables, nothing of denials
    "ingest": {"x12", "inbox", "lake", "schema", "storage", "among"},
    "lifecycle": {"codes", "schema", "among"},        # identity of claims across 837s and 835s
    "reconsiderations": {"schema", "storage"},
    "denials": _DOMAIN_BASE,
    "lonely": _DOMAIN_BASE,
    "rejections": _DOMAIN_BASE,                      # 999/277CA rejections matched to their 837s
    "silent": _DOMAIN_BASE | {"routing", "lonely"},  # 837s with no 835: the payer rule's window and limit; the lonely rule that answers one
    "underpayments": _DOMAIN_BASE | {"denials", "reconsiderations"},  # paid lines below the contract
    "quality": _DOMAIN_BASE,
    "quality_parts": {"quality", "lake", "ingest"},  # the x12 checks over the batches a night added
    "charts": {"codes"},
    "trends": _DOMAIN_BASE,
    "routing": _DOMAIN_BASE,
    "kept_routes": {"among", "ingest", "lake", "lifecycle", "routing", "touched", "kept_votes"},  # each claim's route kept between nights, what changed; the denials stage's kept payments
    "kept_votes": {"lake", "underpayments"},          # the underpayments' kept votes and unpriced lines, by month
    "touched": {"among", "ingest", "lake", "lifecycle", "kept_votes"},  # the claims a night touched, the denials' kept rows
    "forms": _DOMAIN_BASE | {"environment", "routing"},  # not trends: a packet formats, it finds nothing
    "publish": {"lake", "storage"},
    "synth": {"codes", "schema", "x12"},              # the test-data generator: never the rules it tests
    "stages": {"codes", "schema", "lake", "settings", "inbox", "lifecycle", "reconsiderations", "denials", "quality_parts",
               "lonely", "rejections", "silent", "trends", "routing", "forms", "publish", "quality", "ingest", "underpayments",
               "kept_routes", "kept_votes", "touched", "among"},
}
# Outside the library: the Dagster side and the command line. Nothing in claimback imports these.
TOP_LEVEL_ALLOWED = {
    "pipelines": {"claimback", "dagster"},
}
NEVER_IN_LIBRARY = {"dagster", "dagster_webserver", "dagster_graphql", "pipelines"}
DEFS = ROOT / "pipelines" / "defs"
# What the shared modules of pipelines/defs may use of pipelines (a stage folder may use these too).
DEFS_SHARED = {"pipelines.defs.resources", "pipelines.defs.metadata", "pipelines.defs.specs"}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            # `from claimback import schema` imports the part `schema`
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names] if base == "claimback" \
                else [(node.lineno, base)]
    return found


def _part(dotted: str, root: Path = ROOT) -> str:
    """The ALLOWED row an import of claimback falls in ('' for the package itself, e.g. __version__)."""
    parts = dotted.split(".")
    if len(parts) < 2:
        return ""
    name, library = parts[1], root / "claimback"
    return name if (library / f"{name}.py").exists() or (library / name).is_dir() else ""


def _library_files():
    return sorted(p for p in LIBRARY.rglob("*.py"))


def test_every_part_of_the_library_is_in_the_table():
    parts = {_part(_module_name(p)) for p in _library_files()} - {""}
    missing = sorted(parts - ALLOWED.keys())
    assert not missing, f"add {missing} to ALLOWED in tests/test_architecture.py with the parts they may import"


def library_violations(path: Path, root: Path = ROOT) -> list[str]:
    """The imports of one library file that break the table."""
    own = _part(_module_name(path, root), root)
    wrong = []
    for line, name in _imports(path, root):
        top = name.split(".")[0]
        if top in NEVER_IN_LIBRARY:
            wrong.append(f"line {line}: {name} (the library never imports Dagster or the Dagster side)")
        elif top == "claimback":
            used = _part(name, root)
            if own and used and used != own and used not in ALLOWED.get(own, set()):
                wrong.append(f"line {line}: {name} ({own} may import {sorted(ALLOWED.get(own, set())) or 'nothing'})")
    return wrong


@pytest.mark.parametrize("path", _library_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_only_downwards(path):
    wrong = library_violations(path)
    assert not wrong, f"{path.relative_to(ROOT)}: " + "; ".join(wrong)


@pytest.mark.parametrize("top", sorted(TOP_LEVEL_ALLOWED))
def test_the_dagster_side_and_the_cli_import_only_the_library(top):
    wrong = []
    for path in sorted((ROOT / top).rglob("*.py")):
        for line, name in _imports(path):
            used = name.split(".")[0]
            if used in {"claimback", "pipelines", "dagster"} and used != top \
                    and used not in TOP_LEVEL_ALLOWED[top]:
                wrong.append(f"{path.relative_to(ROOT)} line {line}: {name}")
    assert not wrong, f"{top} may import {sorted(TOP_LEVEL_ALLOWED[top])}: " + "; ".join(wrong)


def test_a_stage_folder_uses_no_other_stage_and_nothing_above_it():
    """pipelines/defs/<stage>/ imports the library, Dagster and the shared modules of pipelines/defs
    (resources, metadata, specs): never another stage's folder (an upstream table is an asset key
    the library declares) and never the CLI, the job or the sensor (they load the stages)."""
    wrong = []
    for path in sorted(DEFS.rglob("*.py")):
        folder = path.relative_to(DEFS).parts[0] if len(path.relative_to(DEFS).parts) > 1 else None
        for line, name in _imports(path):
            if not name.startswith("pipelines"):
                continue
            own = folder is not None and name.startswith(f"pipelines.defs.{folder}")
            if not own and name not in DEFS_SHARED:
                wrong.append(f"{path.relative_to(ROOT)} line {line}: {name}")
    assert not wrong, f"pipelines/defs may import only {sorted(DEFS_SHARED)} and its own folder: " + "; ".join(wrong)


def test_the_table_itself_points_downwards():
    """No two parts may import each other, directly or in a loop."""
    def reaches(start: str, seen: set[str]) -> set[str]:
        for nxt in ALLOWED[start] - seen:
            seen.add(nxt)
            reaches(nxt, seen)
        return seen

    loops = sorted(part for part in ALLOWED if part in reaches(part, set()))
    assert not loops, f"these parts may import themselves through others: {loops}"


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The rule catches what it is meant to catch: the reader importing the denial rules, inside a function."""
    fake = tmp_path / "claimback" / "x12"
    fake.mkdir(parents=True)
    (tmp_path / "claimback" / "denials.py").write_text("")
    bad = fake / "bad.py"
    bad.write_text("import dagster\ndef f():\n    from claimback import denials\n    from ..routing import rules\n"
                   "    from claimback.codes import vocab\n")
    (tmp_path / "claimback" / "routing").mkdir()
    (tmp_path / "claimback" / "codes").mkdir()
    assert library_violations(bad, tmp_path) == [
        "line 1: dagster (the library never imports Dagster or the Dagster side)",
        "line 3: claimback.denials (x12 may import ['codes', 'environment', 'schema'])",
        "line 4: claimback.routing (x12 may import ['codes', 'environment', 'schema'])",
    ]


def test_ui_screenshots_go_to_an_ignored_folder():
    """The browser test saves its pictures under docs/screenshots/, which git ignores: a test run
    never changes a tracked file."""
    import subprocess

    from tests.ui import test_dagster_ui

    folder = test_dagster_ui.SCREENSHOTS
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    probe = folder.relative_to(ROOT) / "probe.png"
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(probe)])
    assert ignored.returncode == 0, f"{folder} is not ignored by git"
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", str(folder.relative_to(ROOT))],
                             capture_output=True, text=True)
    assert tracked.stdout == "", "screenshots are tracked in git"


def test_the_stages_facade_imports_at_the_top():
    """stages.py is where a reader learns what each stage uses: every import in its first lines."""
    tree = ast.parse((LIBRARY / "stages.py").read_text())
    hidden = [f"{node.name} line {inner.lineno}" for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))]
    assert not hidden, f"claimback/stages.py imports inside functions: {hidden}; move them to the top"


def test_every_stage_returns_a_typed_result():
    """The boundary between a stage and its asset is a frozen dataclass, not a dict read by key."""
    import dataclasses
    import typing

    from claimback import stages

    for stage in (stages.load_reconsiderations, stages.build_denials, stages.find_trends, stages.route_denials):
        result = typing.get_type_hints(stage)["return"]
        assert dataclasses.is_dataclass(result) and result.__dataclass_params__.frozen, stage.__name__


def test_every_table_of_the_contract_is_written_by_one_stage():
    """stages.WRITES (what the assets list) names each table of claimback/schema.py once, and
    every table the façade writes is in it."""
    import re

    from claimback import schema
    from claimback.stages import WRITES

    declared = [t for tables in WRITES.values() for t in tables]
    assert sorted(declared) == sorted(set(declared)), "a table is declared by two stages"
    assert set(declared) == set(schema.TABLES)
    written = set(re.findall(r'write_derived\("([a-z_]+)"', (LIBRARY / "stages.py").read_text()))
    assert written <= set(declared), f"written by claimback/stages.py but in no stage's WRITES: {written - set(declared)}"
