"""Claim Trend Identification packets: the PDF says what the payer needs, the CSV lists every claim."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import polars as pl
from PIL import Image

from claimback.forms import ProviderProfile, write_packets, write_trend_packet
from claimback.schema import TREND_PACKETS
from tests.forms.conftest import pdf_text, render_png


def test_trend_packet_pdf_names_example_claim_payer_and_count(tmp_path, trend_case, provider):
    denials, clusters, members = trend_case
    cluster = clusters.filter(pl.col("status") == "flagged").row(0, named=True)
    mine = members.filter(pl.col("cluster_id") == cluster["cluster_id"]).select("claim_key").join(
        denials, on="claim_key")
    pdf_path, csv_path = write_trend_packet(cluster, mine, provider, tmp_path)

    png = render_png(pdf_path)
    with Image.open(png) as image:
        assert image.width > 500 and image.height > 700
    text = pdf_text(pdf_path)
    example = denials.filter(pl.col("claim_key") == cluster["example_claim_key"]).row(0, named=True)
    assert example["patient_control_number"] in text
    assert example["payer_claim_control_number"] in text
    assert "COORDINATED CARE" in text
    assert "Number of claims" in text and "23" in text
    assert "CO-197 (N54)" in text
    assert "1999999984" in text and "91-1234567" in text
    assert "$3,450.00" in text  # dollars at stake: 23 x $150
    assert "Billing NPI on the claims" in text


def test_trend_csv_lists_every_claim_without_patient_identity(tmp_path, trend_case, provider):
    denials, clusters, members = trend_case
    cluster = clusters.row(0, named=True)
    mine = members.join(
        denials.with_columns(pl.lit("DOE").alias("patient_last_name"), pl.lit("M123").alias("member_id")),
        on="claim_key",
    )
    _, csv_path = write_trend_packet(cluster, mine, provider, tmp_path)
    claims = pl.read_csv(csv_path, infer_schema_length=0)
    assert claims.height == 23
    assert set(claims["patient_control_number"]) == set(mine["patient_control_number"])
    assert claims["reason_codes"].unique().to_list() == ["CO-197"]
    assert claims["denied_amount"].unique().to_list() == ["150.00"]
    raw = csv_path.read_text()
    assert "DOE" not in raw and "M123" not in raw


def test_write_packets_only_for_flagged_clusters(tmp_path, trend_case, provider):
    denials, clusters, members = trend_case
    emerging = clusters.with_columns(
        pl.lit("TC-emerging").alias("cluster_id"), pl.lit("emerging").alias("status"))
    packets = write_packets(pl.concat([clusters, emerging]), members, denials, provider, tmp_path,
                            as_of=date(2026, 10, 31))
    assert packets.schema == pl.Schema(TREND_PACKETS)
    assert packets["cluster_id"].to_list() == clusters["cluster_id"].to_list()
    row = packets.row(0, named=True)
    assert row["claim_count"] == 23
    assert Path(row["pdf_path"]).is_file() and Path(row["csv_path"]).is_file()
    assert row["created_for_as_of"] == date(2026, 10, 31)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".csv", ".pdf"]


def test_file_names_cannot_escape_out_dir(tmp_path, trend_case):
    denials, clusters, members = trend_case
    cluster = dict(clusters.row(0, named=True), cluster_id="../../etc/passwd")
    out = tmp_path / "packets"
    pdf_path, csv_path = write_trend_packet(cluster, members.join(denials, on="claim_key"),
                                            ProviderProfile(), out)
    assert pdf_path.parent == out and csv_path.parent == out
    assert pdf_path.name == "trend_etc_passwd.pdf"


def test_unknown_provider_fields_print_fill_in(tmp_path, trend_case, caplog):
    denials, clusters, members = trend_case
    caplog.set_level(logging.DEBUG)
    pdf_path, _ = write_trend_packet(clusters.row(0, named=True), members.join(denials, on="claim_key"),
                                     ProviderProfile(npi="1999999984"), tmp_path)
    text = pdf_text(pdf_path)
    assert "(fill in)" in text and "1999999984" in text
    assert not any("PCN" in record.getMessage() for record in caplog.records)


def test_trend_packet_names_every_billing_npi_the_claims_used(tmp_path, trend_case, provider):
    denials, clusters, members = trend_case
    mine = members.join(denials, on="claim_key").with_row_index().with_columns(
        pl.when(pl.col("index") < 8).then(pl.lit("1888888885")).otherwise("billing_npi").alias("billing_npi"))
    pdf_path, _ = write_trend_packet(clusters.row(0, named=True), mine, provider, tmp_path)
    text = pdf_text(pdf_path)
    assert "1999999984 (15 claims)" in text and "1888888885 (8 claims)" in text


def test_packets_drawn_in_worker_processes_are_the_same_files_as_drawn_here(tmp_path, trend_case, provider):
    from claimback.forms import pdf

    denials, clusters, members = trend_case
    more = pl.concat([clusters.with_columns(pl.lit(f"TC-{i}").alias("cluster_id")) for i in range(4)])
    more_members = pl.concat([members.with_columns(pl.lit(f"TC-{i}").alias("cluster_id")) for i in range(4)])

    def draw(folder, processes):
        return write_packets(more, more_members, denials, provider, tmp_path / folder, as_of=date(2026, 10, 31),
                             drawing=pdf.Drawing(processes=processes, from_packets=2))

    here, workers = draw("here", 1), draw("workers", 2)
    assert here.height == 4
    assert here.drop("pdf_path", "csv_path").equals(workers.drop("pdf_path", "csv_path"))
    for column in ("pdf_path", "csv_path"):
        for a, b in zip(here[column], workers[column]):
            assert Path(a).name == Path(b).name and Path(a).read_bytes() == Path(b).read_bytes()


def test_a_packet_prints_from_its_printed_columns_alone(tmp_path, trend_case, provider):
    """The drawing processes get PRINTED_COLUMNS of each member row, not every denials column: a
    packet drawn from those is the same PDF and CSV as one drawn from every column."""
    from claimback.forms.trend_packet import PRINTED_COLUMNS

    denials, clusters, members = trend_case
    cluster = clusters.row(0, named=True)
    mine = members.filter(pl.col("cluster_id") == cluster["cluster_id"]).join(denials, on="claim_key")
    assert set(mine.columns) > set(PRINTED_COLUMNS)
    whole = write_trend_packet(cluster, mine, provider, tmp_path / "whole")
    printed = write_trend_packet(cluster, mine.select(PRINTED_COLUMNS), provider, tmp_path / "printed")
    for a, b in zip(whole, printed):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_claims_table_wraps_long_values_and_keeps_short_ones_whole(tmp_path):
    from claimback.forms import pdf

    codes = ", ".join(f"CO-{n}" for n in range(100, 130))  # far wider than its column
    rows = [{"claim": f"CLM{n:04d}", "codes": codes if n == 7 else "CO-16", "billed": 12.5} for n in range(40)]
    table = pdf.claims_table(rows, [("claim", "Claim", 1), ("codes", "Codes", 1), ("billed", "Billed", 1)],
                             money_columns=("billed",))
    long_cell, short_cell = table.lines[8][1], table.lines[1][1]
    assert short_cell == ["CO-16"] and table.lines[1][2] == ["$12.50"]
    assert len(long_cell) > 3 and " ".join(long_cell) == codes  # wrapped over lines, never cut at the edge
    column = table.widths[1] - 2 * pdf.CELL_PADDING
    assert all(pdf.stringWidth(line, "Helvetica", 7.5) <= column for line in long_cell)
    assert table.heights[8] > 3 * table.heights[1] - 8  # its row as tall as its lines
    path = pdf.build_pdf(tmp_path / "t.pdf", [table], title="t", footer="t")
    text = " ".join(pdf_text(path).split())
    assert "CLM0000" in text and "CLM0039" in text and "$12.50" in text
    assert all(f"CO-{n}" in text for n in range(100, 130))


def test_a_claims_table_longer_than_a_page_goes_on_with_its_header(tmp_path):
    import pypdfium2 as pdfium

    from claimback.forms import pdf

    rows = [{"claim": f"CLM{n:04d}", "codes": "CO-16", "billed": n} for n in range(300)]
    table = pdf.claims_table(rows, [("claim", "Claim", 1), ("codes", "Codes", 1), ("billed", "Billed", 1)],
                             money_columns=("billed",))
    path = pdf.build_pdf(tmp_path / "t.pdf", [table], title="t", footer="t")
    doc = pdfium.PdfDocument(str(path))
    try:
        pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()
    assert len(pages) >= 4
    assert all(page.count("Claim") == 1 and "Codes" in page for page in pages)  # the header on every page
    claims = [line.strip() for page in pages for line in page.split() if line.startswith("CLM")]
    assert claims == [f"CLM{n:04d}" for n in range(300)]  # every row once, in order


def test_a_section_title_never_ends_a_page_alone(tmp_path):
    import pypdfium2 as pdfium
    from reportlab.platypus import Spacer

    from claimback.forms import pdf

    # Room for the title at the foot of page 1, not for the checklist after it.
    flow = [Spacer(1, 620), pdf.section("Attachments"), pdf.checklist(["Copy of the remittance advice"] * 3)]
    path = pdf.build_pdf(tmp_path / "s.pdf", flow, title="t", footer="t")
    doc = pdfium.PdfDocument(str(path))
    try:
        pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()
    assert len(pages) == 2
    assert "Attachments" not in pages[0] and "Attachments" in pages[1]


def test_an_unguarded_script_runs_once_while_workers_draw(tmp_path):
    """Spawned workers re-import the caller's main module; a script without an
    `if __name__ == "__main__":` guard must not run again in them (it would run the pipeline again)."""
    import subprocess
    import sys
    import textwrap

    runs = tmp_path / "runs.txt"
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import logging, os
        from claimback.forms import pdf
        with open({str(runs)!r}, "a") as marker:
            marker.write(f"{{os.getpid()}}\\n")
        logging.basicConfig(level=logging.WARNING)
        names = pdf.draw_all(pdf.safe_name, [(f"claim {{i}}", "trend") for i in range(5)],
                             pdf.Drawing(processes=2, from_packets=2))
        print(",".join(names))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == ",".join(f"trend_claim_{i}" for i in range(5))
    assert len(runs.read_text().splitlines()) == 1
    assert "drawing the 5 packets in this process" not in done.stderr


def _dies_in_a_worker(name: str) -> str:
    import multiprocessing
    import os

    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return name.upper()


def test_packets_are_drawn_here_when_the_workers_stop(caplog):
    from claimback.forms import pdf

    with caplog.at_level(logging.WARNING, logger="claimback.forms.pdf"):
        assert pdf.draw_all(_dies_in_a_worker, [("a",), ("b",), ("c",)],
                            pdf.Drawing(processes=2, from_packets=2)) == ["A", "B", "C"]
    assert "drawing the 3 packets in this process" in caplog.text


def _draw_in_a_daemon(results) -> None:
    from claimback.forms import pdf

    results.put(pdf.draw_all(str.upper, [("a",), ("b",), ("c",)], pdf.Drawing(processes=2, from_packets=2)))


def test_a_daemonic_process_draws_its_packets_itself():
    """A Celery worker runs each step in a daemonic child process (prefork), which may not start
    processes of its own: the step failed ("daemonic processes are not allowed to have children")
    until draw_all drew there instead."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    daemon = context.Process(target=_draw_in_a_daemon, args=(results,), daemon=True)
    daemon.start()
    daemon.join(60)
    assert daemon.exitcode == 0
    assert results.get(timeout=5) == ["A", "B", "C"]


def test_draw_processes_come_from_the_environment_and_a_bad_value_says_what_to_fix(monkeypatch):
    import pytest

    from claimback.environment import workers

    monkeypatch.setenv("CLAIMBACK_DRAW_PROCESSES", "1")
    assert workers("CLAIMBACK_DRAW_PROCESSES", 2) == 1
    monkeypatch.setenv("CLAIMBACK_DRAW_PROCESSES", "0")
    with pytest.raises(ValueError, match="CLAIMBACK_DRAW_PROCESSES must be a whole number, 1 or more"):
        workers("CLAIMBACK_DRAW_PROCESSES", 2)
    monkeypatch.delenv("CLAIMBACK_DRAW_PROCESSES")
    assert workers("CLAIMBACK_DRAW_PROCESSES", 2) == 2


def test_a_payer_without_its_own_trend_form_gets_a_plain_trend_letter(tmp_path, trend_case, provider):
    denials, clusters, members = trend_case
    cluster = clusters.filter(pl.col("status") == "flagged").row(0, named=True)
    mine = members.filter(pl.col("cluster_id") == cluster["cluster_id"]).select("claim_key").join(denials, on="claim_key")
    own, _ = write_trend_packet(dict(cluster, payer_rule="coordinated_care_wa"), mine, provider, tmp_path / "cc")
    letter, _ = write_trend_packet(dict(cluster, payer_rule="uhc_community_plan", payer_name="UHC"), mine, provider,
                                   tmp_path / "uhc")
    own_text, letter_text = pdf_text(own), pdf_text(letter)
    assert "Claim Trend Identification" in own_text and "CoordinatedCareProvi@Centene.com" in own_text
    assert "Payer trend report" in letter_text and "Claim Trend Identification" not in letter_text
    assert "Centene" not in letter_text and "No payer-specific channel on file" in letter_text


def test_csv_cells_a_spreadsheet_would_run_are_neutralised():
    from claimback.forms.pdf import csv_safe

    cells = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "ICN-1", "A=1"]
    safe = csv_safe(pl.DataFrame({"c": cells, "n": list(range(len(cells)))}))
    assert safe["c"].to_list() == ["'" + c for c in cells[:6]] + ["ICN-1", "A=1"]
    assert safe["n"].to_list() == list(range(len(cells)))  # numbers are not text cells


def test_a_trend_packet_is_redrawn_only_when_it_changes_and_removed_when_the_cluster_goes(
        tmp_path, trend_case, provider):
    denials, clusters, members = trend_case
    first = write_packets(clusters, members, denials, provider, tmp_path, as_of=date(2026, 10, 31))
    pdf_path, csv_path = Path(first["pdf_path"].item()), Path(first["csv_path"].item())
    stamp = pdf_path.stat().st_mtime_ns
    again = write_packets(clusters, members, denials, provider, tmp_path, as_of=date(2026, 10, 31), previous=first)
    assert again.equals(first) and pdf_path.stat().st_mtime_ns == stamp
    grown = clusters.with_columns(pl.col("description") + " More.")
    write_packets(grown, members, denials, provider, tmp_path, as_of=date(2026, 10, 31), previous=again)
    assert pdf_path.stat().st_mtime_ns != stamp and "More." in pdf_text(pdf_path)
    gone = write_packets(clusters.with_columns(pl.lit("emerging").alias("status")), members, denials, provider,
                         tmp_path, as_of=date(2026, 10, 31), previous=again)
    assert gone.is_empty() and not pdf_path.exists() and not csv_path.exists()
