"""One parse command: `claimback parse` and `python -m claimback.x12` take the same arguments and run
the same code (claimback/x12/__main__.py); the module prints the JSON summary the benchmark reads."""
from __future__ import annotations

import json

from claimback.x12 import __main__ as parse_command
from pipelines.cli import main as cli_main
from tests.facts.helpers import X12


def test_both_doors_write_the_same_tables_and_summary(tmp_path, capsys):
    remit = str(X12 / "lonely_payments.835")
    assert cli_main(["-q", "parse", remit, "--out", str(tmp_path / "cli"), "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    assert parse_command.main([remit, "--out", str(tmp_path / "module"), "--quiet"]) == 0
    from_module = json.loads(capsys.readouterr().out)
    assert from_cli == from_module
    assert from_cli["tables"]["remit_claims"] == 4  # LON1001, LON1O02, OTH9001, LAK2001 (hand-written)
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(p.name for p in (tmp_path / "module").iterdir())


def test_the_cli_prints_rows_per_table_by_default(tmp_path, capsys):
    assert cli_main(["-q", "parse", str(X12 / "lonely_payments.835"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "remit_claims                          4" in out
    assert out.strip().endswith(f"1 files read into {tmp_path / 'o'}")


def test_a_missing_path_is_a_usage_error(tmp_path, capsys):
    assert cli_main(["parse", str(tmp_path / "nothing.835"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
