"""bench/compare_published.py, the proof of "no behaviour change": equal warehouses pass, any changed
row, column or relation fails and is named, run-specific columns and the warehouse folder do not count."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from claimback.publish import DATABASE_NAME, SQL_DIR
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published
from tests.facts.helpers import AS_OF, inbox_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_warehouses(tmp_path_factory):
    """One tiny inbox (hand-written 837 + 835) published once, and a copy of the published file in
    another folder: the same rows, as two runs of unchanged code would publish them."""
    root = tmp_path_factory.mktemp("compare")
    inbox = inbox_of(root, {"remit.835": "lonely_payments.835", "claims.837": "lonely_payments.837"})
    result = run_pipeline(inbox, root / "a", AS_OF)
    assert result.success
    (root / "b").mkdir()
    return root / "a", root / "b"


def _fresh_copy(a: Path, b: Path) -> None:
    shutil.copy(a / DATABASE_NAME, b / DATABASE_NAME)


def _change(warehouse: Path, sql: str) -> None:
    with duckdb.connect(str(warehouse / DATABASE_NAME)) as con:
        con.execute(sql)


def test_the_same_published_file_is_identical(two_warehouses, capsys):
    a, b = two_warehouses
    _fresh_copy(a, b)
    assert compare_published.main([str(a), str(b)]) == 0
    assert "identical" in capsys.readouterr().out


def test_run_specific_columns_do_not_count(two_warehouses, capsys):
    a, b = two_warehouses
    _fresh_copy(a, b)
    _change(b, "UPDATE publish_info SET published_at = published_at + INTERVAL 1 DAY")
    _change(b, "UPDATE ingested_files SET loaded_at = loaded_at + INTERVAL 1 HOUR, mtime_ns = 0")
    assert compare_published.main([str(a), str(b)]) == 0


def test_a_changed_row_is_named(two_warehouses, capsys):
    a, b = two_warehouses
    _fresh_copy(a, b)
    with duckdb.connect(str(b / DATABASE_NAME)) as con:
        rows = con.execute("SELECT count(*) FROM lonely_payments").fetchone()[0]
        assert rows > 0, "the hand-written inbox has lonely payments"
        con.execute("UPDATE lonely_payments SET paid_amount = paid_amount + 1 "
                    "WHERE rowid = (SELECT min(rowid) FROM lonely_payments)")
    assert compare_published.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS lonely_payments: 1 rows only in A, 1 rows only in B" in out
    assert "DIFFERS analyst_lonely_payments" in out  # the view over it differs too


def test_a_duplicated_row_counts(two_warehouses, capsys):
    a, b = two_warehouses
    _fresh_copy(a, b)
    _change(b, "INSERT INTO lonely_payments SELECT * FROM lonely_payments LIMIT 1")
    assert compare_published.main([str(a), str(b)]) == 1
    assert "DIFFERS lonely_payments: 0 rows only in A, 1 rows only in B" in capsys.readouterr().out


def test_dropped_columns_and_tables_are_named(two_warehouses, capsys):
    a, b = two_warehouses
    _fresh_copy(a, b)
    _change(b, "DROP VIEW analyst_lonely_payments; ALTER TABLE submitted_claims DROP COLUMN billing_npi")
    assert compare_published.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS analyst_lonely_payments: only in A" in out
    assert "DIFFERS submitted_claims: columns only in A: billing_npi" in out


def test_packet_files_are_compared_byte_for_byte(two_warehouses, capsys):
    a, b = two_warehouses
    _fresh_copy(a, b)
    for warehouse in (a, b):  # a packet each, as a run that drew one would leave it
        (warehouse / "packets" / "requests").mkdir(parents=True, exist_ok=True)
        (warehouse / "packets" / "requests" / "level1_X.pdf").write_bytes(b"%PDF-1.4 the same page")
    assert compare_published.main(["--packets", str(a), str(b)]) == 0
    (b / "packets" / "requests" / "level1_X.pdf").write_bytes(b"%PDF-1.4 another page")
    (b / "packets" / "requests" / "level1_Y.pdf").write_bytes(b"%PDF-1.4 one more")
    assert compare_published.main(["--packets", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS packets/requests/level1_X.pdf: the files differ" in out
    assert "DIFFERS packets/requests/level1_Y.pdf: only in B" in out


def test_a_missing_published_file_is_a_setup_error(tmp_path, capsys):
    assert compare_published.main([str(tmp_path), str(tmp_path)]) == 2
    assert "no published file" in capsys.readouterr().err


def test_views_are_taken_as_equal_only_by_the_same_definition_over_equal_tables(two_warehouses, capsys):
    """The command line does not evaluate a view defined alike in both files once every table is
    equal (one analyst view takes minutes at a million claims); a view defined otherwise is
    evaluated and compared, and so is every view when a table differs, or with --exact."""
    a, b = two_warehouses
    _fresh_copy(a, b)
    assert compare_published.main(["-v", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "analyst_lonely_payments" in out and "same definition, not evaluated" in out
    assert compare_published.main(["--exact", str(a), str(b)]) == 0
    assert "not evaluated" not in capsys.readouterr().out
    defined = (SQL_DIR / "analyst_lonely_payments.sql").read_text().rstrip().rstrip(";")
    _change(b, defined + " LIMIT 0")  # the same columns, no rows
    with duckdb.connect(str(a / DATABASE_NAME), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM analyst_lonely_payments").fetchone()[0] > 0
    assert compare_published.main([str(a), str(b)]) == 1
    assert "DIFFERS analyst_lonely_payments: " in capsys.readouterr().out
