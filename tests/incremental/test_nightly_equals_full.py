"""A warehouse grown night by night publishes exactly what one from-scratch run of the same inbox
publishes: the nightly (incremental) work must never drift from the full computation, which the
`from_scratch` setting asks for (and which a grown warehouse, run from scratch, publishes again).

The inbox grows as a clearinghouse fills it, from the hand-written X12 of tests/facts/x12/ (what
each file shows is in its README), and after every night a fresh warehouse reads the whole inbox
at once with the same as-of date; bench/compare_published.py compares every table and view.

    night 1  2026-11-10  837s of August and October, their 835s, the 09:00 remit of payment EFT-0001105
    night 2  2026-11-11  nothing new (only the as-of date moves)
    night 3  2026-11-12  the corrected 14:00 remit of EFT-0001105 (RS103 paid after CO-16)
    night 4  2026-11-13  a reconsiderations.csv with REC2001's Level I request
    night 5  2026-11-20  the log gains REC2002's row, November's 837s arrive, and the as-of date
                         moves a week: REC2001's decision becomes overdue, SIL1002 goes silent
    night 6  2026-11-21  nothing new, and the published file was deleted during the day (the nights
                         before, publish changed only what changed; this one builds it whole, and
                         the test asserts that it did; a file of another code version is built
                         whole too: tests/pipeline/test_publish_incremental.py)
    night 7  2026-11-23  the template remit (three members under one practice, patient control
                         number ACCT0000 and date: claim_ids ...|2 and ...|3), the front-door 837,
                         999 and 277CA
    night 8  2026-11-24  ACME01's remit of 2026-11-25 (not yet known on this as-of date), FD1002
                         sent again and accepted
    night 9  2026-11-25  OTH9001's 837 (a lonely payment of night 1 touched only by a new 837); the
                         as-of date brings 11-25's remit into view: REC2001 of August paid on a
                         second remit, SIL1002 denied on a remit that names no member
    night 10 2027-01-20  nothing new; two months later the Level I windows of the autumn's
                         denials have closed

From night 2 on, the denials stage recomputes only the claims each night touched
(claimback.touched), and the test asserts that it did: nights 3, 5 and 7-10 are its paths (a
corrected remit voiding an earlier night's, the as-of date alone, a new 837 alone, ...).
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from claimback.publish import DATABASE_NAME
from pipelines.cli import run_pipeline
from tests.compare_published import compare_published
from tests.facts.helpers import X12

# A guard against a hang: ten nights and nine full runs take ≈ 5 minutes on a quiet machine and
# went past 15 at a load average of 14.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

LOG = "follow_ups.reconsiderations.csv"
# (as-of date, files added to the inbox that night: name in the inbox -> hand-written file)
NIGHTS = [
    (date(2026, 11, 10), {
        "2026-08/claims.837": "silent_claims_august.837", "2026-08/remit.835": "silent_claims.835",
        "practices.837": "two_practices_one_pcn.837", "practices.835": "two_practices_one_pcn.835",
        "lonely.837": "lonely_payments.837", "lonely.835": "lonely_payments.835",
        "eft-1105-0900.835": "resend_original.835",
    }),
    (date(2026, 11, 11), {}),
    (date(2026, 11, 12), {"eft-1105-1400.835": "resend_corrected.835"}),
    (date(2026, 11, 13), {LOG: LOG}),  # cut to its first request below
    (date(2026, 11, 20), {LOG: LOG, "2026-11/claims.837": "silent_claims_november.837"}),
    (date(2026, 11, 21), {}),
    (date(2026, 11, 23), {"template.835": "template_pcn_three_members.835", "frontdoor/claims.837": "frontdoor.837",
                          "frontdoor/ack.999": "frontdoor.999", "frontdoor/ack.277": "frontdoor.277"}),
    (date(2026, 11, 24), {"eft-s-1125.835": "nightly_second_remits.835",
                          "frontdoor/resent.837": "frontdoor_resent.837", "frontdoor/resent.277": "frontdoor_resent.277"}),
    (date(2026, 11, 25), {"lonely-found.837": "lonely_found.837"}),
    (date(2027, 1, 20), {}),
]
FILE_DELETED = 6


def _add(inbox: Path, files: dict[str, str], night: int) -> None:
    for name, source in files.items():
        target = inbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = (X12 / source).read_bytes()
        if name == LOG and night == 4:  # the log as first kept: the header and REC2001's request
            text = b"".join(text.splitlines(keepends=True)[:2])
        target.write_bytes(text)


def test_every_night_publishes_what_a_full_run_publishes(tmp_path, caplog):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    inbox.mkdir()
    for night, (as_of, files) in enumerate(NIGHTS, start=1):
        _add(inbox, files, night)
        if night == FILE_DELETED:
            (nightly / DATABASE_NAME).unlink()
        caplog.clear()
        # two files per parse batch: several batches a night, so the current tables have many parts
        with caplog.at_level(logging.INFO, logger="claimback.publish"):
            assert run_pipeline(inbox, nightly, as_of, batch_files=2).success, f"night {night}"
        kept, appended, updated, loaded = _published_how(caplog)
        if night in (3, 7):  # old claims' rows changed in some month parts: just those claims replaced
            assert "adjudications" in _published(caplog, "updated by claim"), f"night {night}"
        if night == FILE_DELETED:
            assert kept == appended == updated == 0 and loaded > 0, f"night {night} was not built whole"
        elif night > 1:
            assert kept > 0, f"night {night} did not start from last night's file"
        # the denials stage recomputed only the claims the night touched (claimback.touched)
        run = pl.read_parquet(nightly / "lake" / "state" / "changed_claims_run.parquet")
        assert run["whole"].to_list() == [night == 1], f"night {night}"
        # REC2001's Level I (the log, night 4) is answered by the remit of 2026-11-25 paying it, which
        # arrives on night 8 and comes into view on night 9: routing reads the adjudications of the
        # log's claims (stages.routed_adjudications), never the whole history
        assert _level1_of(nightly, "REC2001") == (
            None if night < 4 else ("pending", "pending", None) if night < 9
            else ("overturned", "inferred", date(2026, 11, 25))), f"night {night}"
        if night == 1:
            continue  # the first night is a run from scratch
        full = tmp_path / f"full-{night}"
        assert run_pipeline(inbox, full, as_of, from_scratch=True).success, f"full run of night {night}"
        differences, counted = compare_published.compare(nightly, full)
        assert counted["remit_claims"] > 0 and counted["work_queue"] > 0
        differences = _without_earlier_log_versions(differences, nightly, full, night)
        assert not differences, f"night {night} ({as_of}): " + "; ".join(
            f"{d.relation}: {d.problem} {d.only_a[:1]} {d.only_b[:1]}" for d in differences)
        shutil.rmtree(full)
    # The setting that makes a grown warehouse compute everything again from its files: what it
    # kept to save work is forgotten, and it publishes what it published.
    kept = tmp_path / "kept"
    shutil.copytree(nightly, kept)
    assert run_pipeline(inbox, nightly, as_of, batch_files=2, from_scratch=True).success
    assert (nightly / "lake" / "state" / "check_outcomes_remit_structure.parquet").exists()
    differences, _ = compare_published.compare(nightly, kept)
    assert not differences, "; ".join(f"{d.relation}: {d.problem}" for d in differences)


def _level1_of(warehouse: Path, pcn: str) -> tuple | None:
    """(outcome, outcome_source, decided_on) of the claim's Level I request, None when not logged."""
    rows = pl.read_parquet(warehouse / "lake" / "derived" / "reconsideration_outcomes.parquet").filter(
        (pl.col("patient_control_number") == pcn) & (pl.col("level") == 1))
    return rows.select("outcome", "outcome_source", "decided_on").row(0) if rows.height else None


def _published(caplog, how: str) -> list[str]:
    """The tables the night's publish says it brought up to date that way ("updated by claim", ...)."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"publish: {how}: ")]
    return lines[0].removeprefix(f"publish: {how}: ").split(", ") if lines else []


def _published_how(caplog) -> list[int]:
    """(kept, appended, updated, loaded) tables of the night's publish, from its log line."""
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("publish: kept"))
    return [int(word) for word in line.replace(",", "").split() if word.isdigit()]


def _without_earlier_log_versions(differences: list, nightly: Path, full: Path, night: int) -> list:
    """The one difference there must be: the file registry keeps every version of a
    reconsideration log it read (claimback.ingest.record_logs), so on night 5 the nightly warehouse
    also lists the log as night 4 held it, which a run over the final inbox never saw; and
    publish_info counts that registry row. Checked to be exactly that, then left out."""
    if night < 5:  # the log's first version is in the registry from night 5 on
        return differences
    registry = next((d for d in differences if d.relation == "ingested_files"), None)
    assert registry is not None and not registry.only_b and len(registry.only_a) == 1, differences
    source_file, sha256, *_ = registry.only_a[0]
    first_version = b"".join((X12 / LOG).read_bytes().splitlines(keepends=True)[:2])
    assert (source_file, sha256) == (LOG, hashlib.sha256(first_version).hexdigest())
    counts = []
    for warehouse in (nightly, full):
        with duckdb.connect(str(warehouse / DATABASE_NAME), read_only=True) as con:
            counts.append(dict(con.execute("SELECT row_counts FROM publish_info").fetchone()[0]))
    assert counts[0].pop("ingested_files") == counts[1].pop("ingested_files") + 1
    assert counts[0] == counts[1]
    return [d for d in differences if d.relation not in ("ingested_files", "publish_info")]
