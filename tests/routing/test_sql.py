"""The work-queue views execute on a small DuckDB built from a real work queue and answer correctly."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import polars as pl
import pytest

from claimback.publish import SQL_DIR
from claimback.routing import build_work_queue, load_rules

from .helpers import AS_OF, denial, denials, log

SQL = SQL_DIR
VIEWS = ("analyst_work_queue_due_this_week", "analyst_work_queue_by_payer", "analyst_work_queue_by_route", "analyst_work_queue_dollars_at_stake")


@pytest.fixture(scope="module")
def db():
    denied = denials(
        denial("SOON", "payer_error", "CO-133", payer_id="CCWA1", remit_date="2026-02-01", denied_amount=200),
        denial("LATER", "coding_bundling", "CO-4", payer_id="SUNSH", remit_date="2026-02-01", denied_amount=300),
        denial("GONE", "payer_error", "CO-133", payer_id="SUNSH", remit_date="2025-06-01", denied_amount=400),
        denial("WAIT", "payer_error", "CO-133", payer_id="SUNSH", denied_amount=50),
    )
    resolved = pl.DataFrame({"claim_key": ["key-PAID"], "patient_control_number": ["PAID"],
                             "payer_name": ["SUNSHINE HEALTH"], "recovered_amount": [Decimal("75.00")]})
    queue, _ = build_work_queue(denied, log(("WAIT", 1, "2026-02-10", None, None)), None, load_rules(), AS_OF,
                                resolved=resolved)
    con = duckdb.connect()
    con.register("queue_arrow", queue.to_arrow())
    con.execute("CREATE TABLE work_queue AS SELECT * FROM queue_arrow")
    con.register("denials_arrow", denied.to_arrow())
    con.execute("CREATE TABLE denials AS SELECT * FROM denials_arrow")
    for view in VIEWS:
        con.execute((SQL / f"{view}.sql").read_text())
    yield con
    con.close()


@pytest.mark.parametrize("view", VIEWS)
def test_each_file_is_one_commented_view(view):
    text = (SQL / f"{view}.sql").read_text()
    assert text.startswith("-- ") and "?" in text.splitlines()[0]
    assert f"CREATE OR REPLACE VIEW {view} AS" in text
    assert text.strip().endswith(";") and text.count(";") == 1


def test_due_this_week(db):
    rows = db.execute("SELECT patient_control_number, days_left FROM analyst_work_queue_due_this_week").fetchall()
    assert rows == [("SOON", 2)]  # CCWA1: 30 days from 2026-02-01 -> 2026-03-03


def test_by_route(db):
    rows = dict(db.execute("SELECT route, items FROM analyst_work_queue_by_route").fetchall())
    assert rows == {"level1_reconsideration": 2, "corrected_claim": 1, "expired": 1, "resolved": 1}


def test_by_payer(db):
    rows = {r[0]: r for r in db.execute(
        "SELECT payer_name, open_items, due_within_7_days, awaiting_payer_decision, expired_items, "
        "expired_denied_amount, recovered_amount FROM analyst_work_queue_by_payer").fetchall()}
    assert rows["COORDINATED CARE OF WASHINGTON"][1:] == (1, 1, 0, 0, Decimal("0"), Decimal("0"))
    assert rows["SUNSHINE HEALTH"][1:] == (2, 0, 1, 1, Decimal("400.00"), Decimal("75.00"))


def test_dollars_at_stake(db):
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT time_left, items, denied_amount, recovered_amount FROM analyst_work_queue_dollars_at_stake").fetchall()}
    assert rows["act: due in 0-7 days"][:2] == (1, Decimal("200.00"))
    assert rows["act: due in 31-90 days"][:2] == (1, Decimal("300.00"))
    assert rows["lost: window closed"][:2] == (1, Decimal("400.00"))
    assert rows["awaiting payer"][:2] == (1, Decimal("50.00"))
    assert rows["recovered"][2] == Decimal("75.00")
    order = [r[0] for r in db.execute("SELECT time_left FROM analyst_work_queue_dollars_at_stake").fetchall()]
    assert order.index("act: due in 0-7 days") < order.index("lost: window closed")
