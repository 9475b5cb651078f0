"""The analyst charts: valid small PNGs, right aggregation, a readable picture when there is no data."""
from __future__ import annotations

import base64
import io
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from matplotlib import image as mpimg

from claimback import charts
from claimback.schema import conform, empty

AS_OF = date(2026, 11, 22)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _pixels(png: bytes):
    return mpimg.imread(io.BytesIO(png), format="png")


def _denials() -> pl.DataFrame:
    rows = [
        ("C1", date(2026, 9, 3), "coding_error", Decimal("100.00")),
        ("C2", date(2026, 9, 20), "coding_error", Decimal("50.50")),
        ("C3", date(2026, 10, 1), "authorization", Decimal("900.00")),
        ("C4", date(2026, 10, 9), None, Decimal("10.00")),
        ("C5", date(2026, 11, 2), "coding_error", Decimal("25.00")),
    ]
    frame = pl.DataFrame(rows, schema=["patient_control_number", "remit_date", "category", "denied_amount"],
                         orient="row")
    return conform(frame, "denials")


def _work_queue() -> pl.DataFrame:
    rows = [
        ("level1_reconsideration", date(2026, 11, 20), Decimal("100.00")),  # past deadline
        ("level1_reconsideration", date(2026, 11, 25), Decimal("200.00")),  # 3 days
        ("level1_reconsideration", date(2026, 12, 22), Decimal("300.00")),  # 30 days
        ("corrected_claim", date(2027, 1, 10), Decimal("40.00")),  # 49 days
        ("corrected_claim", None, Decimal("60.00")),
        ("trend_report", date(2027, 6, 1), Decimal("70.00")),  # over 90 days
        ("resolved", None, Decimal("999.00")),
    ]
    frame = pl.DataFrame(rows, schema=["route", "deadline", "denied_amount"], orient="row")
    return conform(frame, "work_queue")


def _clusters(n: int) -> pl.DataFrame:
    frame = pl.DataFrame({
        "cluster_id": [f"K{i}" for i in range(n)],
        "payer_name": [f"PAYER {i % 3}" for i in range(n)],
        "signature": [f"CO-{197 + i}|N54" for i in range(n)],
        "claim_count": [10 + i for i in range(n)],
        "denied_amount": [Decimal(f"{1000 + 10 * i}.00") for i in range(n)],
        "status": ["flagged" if i % 2 else "emerging" for i in range(n)],
        "threshold": [10] * n,
    })
    return conform(frame, "trend_clusters")


def test_denied_dollars_are_summed_per_month_and_category():
    wide = charts._monthly_dollars_by_category(_denials())
    assert wide["month"].to_list() == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    # largest category first; a missing category is shown, not dropped
    assert wide.columns == ["month", "authorization", "coding_error", "unclassified"]
    assert wide["coding_error"].to_list() == pytest.approx([150.5, 0.0, 25.0])
    assert wide["authorization"].to_list() == pytest.approx([0.0, 900.0, 0.0])


def test_small_categories_are_grouped_as_other():
    many = conform(pl.DataFrame({
        "remit_date": [date(2026, 10, 1)] * 10,
        "category": [f"cat{i}" for i in range(10)],
        "denied_amount": [Decimal(f"{100 - i}.00") for i in range(10)],
    }), "denials")
    wide = charts._monthly_dollars_by_category(many)
    assert len(wide.columns) - 1 == charts.MAX_CATEGORIES
    assert wide.columns[-1] == "other"
    assert wide["other"].item() == pytest.approx(sum(100 - i for i in range(6, 10)))


def test_work_queue_is_counted_by_route_and_deadline_bucket():
    counts = charts._route_deadline_counts(_work_queue(), AS_OF)
    assert counts["route"].to_list() == ["level1_reconsideration", "corrected_claim", "trend_report"]
    level1 = counts.row(0, named=True)
    assert (level1["past deadline"], level1["due in 0-7 days"], level1["8-30 days"]) == (1, 1, 1)
    corrected = counts.row(1, named=True)
    assert (corrected["31-90 days"], corrected["no deadline"]) == (1, 1)
    assert counts.row(2, named=True)["over 90 days"] == 1
    assert level1["denied_dollars"] == pytest.approx(600.0)
    assert "resolved" not in counts["route"].to_list()


@pytest.mark.parametrize("draw", [
    lambda: charts.denials_by_category_over_time(_denials()),
    lambda: charts.work_queue_by_route_and_deadline(_work_queue(), AS_OF),
    lambda: charts.trend_clusters_chart(_clusters(4)),
    lambda: charts.trend_clusters_chart(_clusters(40)),
    lambda: charts.denials_by_category_over_time(empty("denials")),
    lambda: charts.work_queue_by_route_and_deadline(empty("work_queue"), AS_OF),
    lambda: charts.trend_clusters_chart(empty("trend_clusters")),
], ids=["denials", "work_queue", "clusters", "many_clusters", "no_denials", "empty_queue", "no_clusters"])
def test_every_chart_is_a_small_readable_png(draw):
    png = draw()
    assert png.startswith(PNG_MAGIC)
    assert len(png) < 150_000  # inline in Dagster metadata as a data URI
    height, width = _pixels(png).shape[:2]
    assert (width, height) == (round(charts.FIGSIZE[0] * charts.DPI), round(charts.FIGSIZE[1] * charts.DPI))


def test_charts_with_data_differ_from_the_empty_picture():
    assert charts.denials_by_category_over_time(_denials()) != charts.denials_by_category_over_time(empty("denials"))


def test_markdown_image_round_trips_the_png():
    png = charts.trend_clusters_chart(_clusters(3))
    text = charts.as_markdown_image(png, alt="Trend clusters")
    prefix = "![Trend clusters](data:image/png;base64,"
    assert text.startswith(prefix) and text.endswith(")")
    assert base64.b64decode(text[len(prefix):-1]) == png


def test_the_trend_legend_names_every_colour_drawn():
    from claimback.charts import status_colours

    colours = status_colours(["flagged", "provider_fix", "flagged", "emerging", "watch"])
    assert list(colours) == ["flagged", "emerging", "provider_fix", "watch"]  # every status drawn, once
    assert len(set(colours.values())) == 4  # provider_fix is no longer drawn in an unlisted colour
    assert list(status_colours(["provider_fix"])) == ["provider_fix"]
