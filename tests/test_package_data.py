"""An installed claimback (a wheel, not this checkout) publishes the analyst views: the files under
claimback/sql/ are package data, so every one of them is matched by pyproject.toml's package-data."""
from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from claimback.publish import SQL_DIR

ROOT = Path(__file__).resolve().parents[1]


def _package_data() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-data"]["claimback"]


def test_the_views_live_inside_the_package():
    assert SQL_DIR.parent == ROOT / "claimback"
    assert sorted(SQL_DIR.glob("analyst_*.sql")), "no analyst views found"


def test_every_file_of_the_views_folder_is_package_data():
    patterns = _package_data()
    files = [p.relative_to(ROOT / "claimback").as_posix() for p in SQL_DIR.iterdir() if p.is_file()]
    left_out = [f for f in files if not any(fnmatch.fnmatchcase(f, pattern) for pattern in patterns)]
    assert not left_out, f"not in pyproject.toml [tool.setuptools.package-data] claimback: {left_out}"


def test_no_views_are_left_outside_the_package():
    assert not (ROOT / "sql").exists(), "analyst views belong in claimback/sql/ (package data), not sql/"


def test_an_installed_claimback_holds_every_stage_of_the_dagster_side():
    """A wheel install loads the code location (pipelines.definitions), which loads every stage's
    folder under pipelines/defs: each is a package (an __init__.py) that pyproject.toml's package
    find includes, so none is left out of the wheel, silently."""
    from setuptools import find_packages

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packaged = set(find_packages(where=str(ROOT), **config["tool"]["setuptools"]["packages"]["find"]))
    folders = {p.parent for p in (ROOT / "pipelines").rglob("*.py") if "__pycache__" not in p.parts}
    not_packages = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert not not_packages, f"folders of Python modules without an __init__.py: {not_packages}"
    wanted = {".".join(f.relative_to(ROOT).parts) for f in folders}
    assert wanted <= packaged, f"not in the wheel: {sorted(wanted - packaged)}"
    assert {"pipelines.defs", "pipelines.defs.ingest", "pipelines.defs.denials"} <= packaged
