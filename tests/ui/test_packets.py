"""The packets of the demo warehouse: none for a request that must not go out, and the pages the
walkthrough shows (one trend packet, one Level I, one Level II) rendered from it. The pages go to
a temporary folder, so the suite never writes into the repository; `make doc-pages` sets
CLAIMBACK_DOC_PAGES=1 to refresh the copies kept in docs/packets/."""
from __future__ import annotations

import os

import duckdb
import polars as pl
import pypdfium2 as pdfium

from tests.ui.demo_warehouse import ROOT, DemoWarehouse

DOC_PAGES = ROOT / "docs" / "packets"  # kept in the repository: the walkthrough shows them


def _packets(demo: DemoWarehouse) -> pl.DataFrame:
    with duckdb.connect(str(demo.database), read_only=True) as con:
        return con.sql("""
            SELECT p.status, p.level, p.pdf_path, p.why, p.billing_npi, q.route, q.priority,
                   q.awaiting_payer, q.appeals_exhausted, q.rule_confirmed
            FROM request_packets p JOIN work_queue q USING (claim_key)""").pl()


def test_no_packet_exists_for_an_awaiting_exhausted_or_resolved_claim(demo: DemoWarehouse):
    rows = _packets(demo)
    written = rows.filter(pl.col("status") == "written")
    on_disk = sorted(p.relative_to(demo.warehouse).as_posix()
                     for p in (demo.warehouse / "packets" / "requests").iterdir())
    assert on_disk == sorted(written["pdf_path"].to_list()) and written.height > 0
    must_not = (pl.col("awaiting_payer") | pl.col("appeals_exhausted") | (pl.col("route") == "resolved")
                | ((pl.col("route") == "expired") & pl.col("rule_confirmed")))
    assert written.filter(must_not).is_empty()
    # the demo has such requests, so the check above means something; each says why
    held = rows.filter(must_not)
    assert held.height > 0 and held["why"].str.starts_with("not written: ").all()


def test_packet_pages_for_the_walkthrough(demo: DemoWarehouse, tmp_path):
    pages_dir = DOC_PAGES if os.environ.get("CLAIMBACK_DOC_PAGES") == "1" else tmp_path
    rows = _packets(demo).filter(pl.col("status") == "written").sort("priority", "pdf_path", descending=[True, False])
    with duckdb.connect(str(demo.database), read_only=True) as con:
        trend = con.sql("SELECT pdf_path FROM trend_packets WHERE payer_name LIKE 'COORDINATED CARE%' "
                        "ORDER BY claim_count DESC LIMIT 1").fetchone()[0]
    pages = {
        "trend": (trend, [0]),
        "level1": (rows.filter(pl.col("level") == 1)["pdf_path"][0], [0]),
        "level2": (rows.filter(pl.col("level") == 2)["pdf_path"][0], [0, 1]),
    }
    for name, (path, numbers) in pages.items():
        doc = pdfium.PdfDocument(str(demo.warehouse / path))
        try:
            for number in numbers:
                png = pages_dir / (name + (f"-p{number + 1}" if number else "") + ".png")
                doc[number].render(scale=1.25).to_pil().convert("RGB").save(png, optimize=True)
                assert png.stat().st_size > 20_000, png
        finally:
            doc.close()
