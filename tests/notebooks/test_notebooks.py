"""The analyst notebooks: committed without outputs, and run end to end on the demo warehouse.

Each notebook is executed with nbclient in a python3 kernel from this virtualenv, with
CLAIMBACK_WAREHOUSE pointing at the session's demo warehouse. A cell error fails the test; so does
a synthetic patient name anywhere in the outputs (the notebooks show claim numbers, never names).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("denial_overview", "today", "trend_review", "work_queue")
CELL_TIMEOUT_S = 300


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name: str):
    notebook = _read(name)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(not cell.outputs and cell.execution_count is None for cell in code), \
        f"{name}.ipynb was committed with outputs (they may carry PHI): clear them before committing"


def _execute(name: str, warehouse: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("CLAIMBACK_WAREHOUSE", str(warehouse))
    # the kernel must be this virtualenv's python (it imports claimback)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = _read(name)
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_runs_end_to_end_without_patient_names(name: str, demo, monkeypatch):
    notebook = _execute(name, demo.warehouse, monkeypatch)
    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{name} drew no chart"
    tables = [o for o in outputs if "text/html" in o.get("data", {})]
    assert tables, f"{name} showed no table"
    text = json.dumps([{k: v for k, v in o.get("data", {}).items() if k != "image/png"} for o in outputs]
                      + [o.get("text", "") for o in outputs]).upper()
    leaked = sorted(n for n in demo.patient_names() if n.upper() in text)
    assert not leaked, f"{len(leaked)} synthetic patient names appear in {name}'s outputs"
