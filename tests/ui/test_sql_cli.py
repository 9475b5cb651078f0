"""`claimback sql` as an analyst uses it: sandboxed, fitted to the terminal, flags anywhere after the verb."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from claimback.publish import DATABASE_NAME
from pipelines.cli import build_parser, default_folder
from pipelines.cli import main as cli_main

# 16 columns, as analyst_work_queue_due_this_week has: far wider than an 80-column terminal.
WIDE = [f"column_number_{i:02d}" for i in range(16)]


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    with duckdb.connect(str(tmp_path / DATABASE_NAME)) as con:
        con.execute("CREATE TABLE narrow (route VARCHAR, items BIGINT, overturn_probability DOUBLE)")
        con.execute("INSERT INTO narrow VALUES ('corrected_claim', 3, 0.3466586552975782), ('expired', 2, 0.1)")
        con.execute(f"CREATE TABLE wide AS SELECT {', '.join(f'{i} * 1000 + r AS {c}' for i, c in enumerate(WIDE))} "
                    "FROM range(3) t(r)")
        con.execute("CREATE VIEW wide_view AS SELECT * FROM wide")
    return tmp_path


def _sql(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(["sql", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("query", [
    "COPY narrow TO '{out}'",
    "COPY (SELECT 1) TO '{out}' (FORMAT parquet)",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "ATTACH '{out}' AS other",
    "SET enable_external_access = true",
])
def test_no_query_reads_or_writes_another_file(warehouse, tmp_path, capsys, query):
    out = tmp_path / "leak.csv"
    code, stdout, err = _sql(capsys, query.format(out=out), "--warehouse", str(warehouse))
    assert code == 2 and "root:" not in stdout
    assert not out.exists()
    assert "disabled by configuration" in err or "locked" in err


def test_a_wide_view_becomes_vertical_records_in_a_narrow_terminal(warehouse, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _sql(capsys, "wide_view", "--warehouse", str(warehouse))
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.count("-[ record ") == 3
    assert "column_number_15 | 15,002" in out  # every column, whole


def test_a_table_that_fits_stays_a_table_with_rounded_probabilities(warehouse, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = _sql(capsys, "narrow", "--warehouse", str(warehouse))
    assert code == 0 and "record" not in out
    assert "0.35" in out and "0.3466" not in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_vertical_and_csv_on_request_flags_in_any_order(warehouse, capsys):
    code, out, _ = _sql(capsys, "--vertical", "narrow", "--warehouse", str(warehouse))
    assert code == 0 and out.count("-[ record ") == 2
    code, out, _ = _sql(capsys, "--warehouse", str(warehouse), "--csv", "narrow")
    assert out.splitlines() == ["route,items,overturn_probability", "corrected_claim,3,0.3466586552975782",
                                "expired,2,0.1"]  # CSV keeps full precision: it is data, not display


def test_a_long_result_says_how_to_see_more(warehouse, capsys):
    code, out, _ = _sql(capsys, "wide", "--warehouse", str(warehouse), "--limit", "2", "--vertical")
    assert out.count("-[ record ") == 2 and "--limit N for more" in out


def test_an_unknown_view_is_a_usage_error(warehouse, capsys):
    code, _, err = _sql(capsys, "no_such_view", "--warehouse", str(warehouse))
    assert code == 2 and "claimback sql` lists the views" in err


def test_quiet_works_before_and_after_the_verb():
    for argv in (["-q", "parse", "x.835", "--out", "o"], ["parse", "x.835", "-q", "--out", "o"],
                 ["parse", "x.835", "--out", "o", "--quiet"]):
        assert build_parser().parse_args(argv).quiet is True, argv
    assert build_parser().parse_args(["parse", "x.835", "--out", "o"]).quiet is False


def test_the_warehouse_defaults_to_the_demos_when_it_exists(tmp_path, monkeypatch):
    monkeypatch.delenv("CLAIMBACK_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_folder("warehouse") == "data/warehouse"
    (tmp_path / "data" / "demo" / "warehouse").mkdir(parents=True)
    assert default_folder("warehouse") == "data/demo/warehouse"
    monkeypatch.setenv("CLAIMBACK_WAREHOUSE", "/srv/warehouse")
    assert default_folder("warehouse") == "/srv/warehouse"
