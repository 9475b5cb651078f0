"""The x12 checks of a warehouse grown night by night, validating only each night's new batches
(claimback.quality_parts), say exactly what the suites say over the whole tables.

Nights of hand-written X12 (tests/facts/x12/, what each file shows is in its README), two files
per parse batch so the current tables have many parts. The as-of dates are chosen so the
remit-date rule (2000-01-01 to a month after the as-of date) changes its mind:

    night 1  2026-09-20  August's 837s and 835 (remitted 2026-08-25), the November remits of
                         two practices (2026-11-05): after 2026-10-21, so outside the rule
    night 2  2026-09-21  nothing new; the bound moves a day, and the group holding November's
                         remits (outside it) is validated again: a kept count stands only when
                         every remit day of its group lies inside both bounds
    night 3  2026-11-12  the lonely payments and the 09:00 remit of EFT-0001105; November now inside
    night 4  2026-11-13  nothing new: every kept count stands, nothing is validated again
    night 5  2026-11-14  the corrected 14:00 remit of EFT-0001105
    night 6  2026-09-20  a rerun for a past night: November outside the rule again
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from claimback import quality, quality_parts, schema, stages
from claimback.lake import Lake
from claimback.settings import Settings
from tests.facts.helpers import X12

NIGHTS = [
    (date(2026, 9, 20), {"2026-08/claims.837": "silent_claims_august.837", "2026-08/remit.835": "silent_claims.835",
                         "practices.837": "two_practices_one_pcn.837", "practices.835": "two_practices_one_pcn.835"}),
    (date(2026, 9, 21), {}),
    (date(2026, 11, 12), {"lonely.837": "lonely_payments.837", "lonely.835": "lonely_payments.835",
                          "eft-1105-0900.835": "resend_original.835"}),
    (date(2026, 11, 13), {}),
    (date(2026, 11, 14), {"eft-1105-1400.835": "resend_corrected.835"}),
    (date(2026, 9, 20), {}),
]


def _whole_tables(lake: Lake, name: str, as_of: date) -> list[quality.SuiteResult]:
    """What the check says over the whole tables, as the suites were always run."""
    check = quality_parts.CHECKS[name]
    frames = [lake.read(table, columns) for table, columns in check.tables.items()]
    return check.suites(*frames, as_of) if check.takes_as_of else check.suites(*frames)


def _ingest(inbox: Path, warehouse: Path, as_of: date) -> Settings:
    settings = Settings(inbox=inbox, warehouse=warehouse, as_of=as_of, batch_files=2)
    plan = stages.plan_new_files(settings)
    for batch in plan.batches(max_files=settings.batch_files):
        stages.parse_batch(settings, batch)
    stages.consolidate_lake(settings)
    return settings


def test_each_night_checks_its_new_batches_and_says_what_the_whole_tables_say(tmp_path, monkeypatch):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    validated: list[tuple[str, tuple[str, ...]]] = []
    read_parts = Lake.read_parts
    monkeypatch.setattr(Lake, "read_parts", lambda self, table, batches, columns: (
        validated.append((table, tuple(batches))) or read_parts(self, table, batches, columns)))
    dates_outside = []
    for night, (as_of, files) in enumerate(NIGHTS, start=1):
        for name, source in files.items():
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            (inbox / name).write_bytes((X12 / source).read_bytes())
        lake = _ingest(inbox, warehouse, as_of).lake
        assert len(lake.current_parts("remit_claims")) >= 2, "the nights must spread the tables over parts"
        validated.clear()
        for name in quality_parts.CHECKS:
            by_part = quality_parts.run_check(lake, name, as_of)
            whole = _whole_tables(lake, name, as_of)
            assert quality_parts.as_json(by_part) == quality_parts.as_json(whole), f"night {night}: {name}"
            assert [s.success for s in by_part] == [s.success for s in whole]
        dates = next(s for s in _whole_tables(lake, "remit_data_quality", as_of) if s.name == "remit_dates")
        dates_outside.append(dates.outcomes[0].unexpected)
        new_batches = {batches for _, batches in validated if batches}
        if night == 4:  # nothing new, every remit day inside both bounds: nothing validated again
            assert new_batches == set(), f"night {night} validated {new_batches}"
        if night in (2, 6):  # the bound moved with remit days outside it: their groups validated again
            assert new_batches
    # the remit-date rule did change its mind: November's remits outside, inside, outside again
    assert dates_outside[0] > 0 and dates_outside[1] == dates_outside[0]
    assert dates_outside[2] == dates_outside[3] == dates_outside[4] == 0
    assert dates_outside[5] > dates_outside[0]


def test_a_key_repeated_in_two_batches_is_counted_as_the_suite_counts_it(tmp_path):
    """Uniqueness is over every part, not per part: "a" in two batches is two unexpected rows,
    a null key is none (the suite's own sentence over the two parts together). The keys here
    name no file, and share a prefix across the parts: counted over every part."""
    lake = Lake(tmp_path)
    parts = {"b1": ["a", "b", None], "b2": ["a", "c"]}
    for batch, keys in parts.items():
        lake.write_current_part("remit_claims", batch, schema.conform(
            pl.DataFrame({"claim_key": keys, "patient_control_number": ["P"] * len(keys)}), "remit_claims"))
        lake.write_current_part("remit_adjustments", batch, schema.empty("remit_adjustments"))
    by_part = quality_parts.run_check(lake, "remit_structure", date(2026, 11, 1))
    whole = _whole_tables(lake, "remit_structure", date(2026, 11, 1))
    assert quality_parts.as_json(by_part) == quality_parts.as_json(whole)
    assert "claim_key is unique on 3 of 5 remit claims" in [o.sentence for o in by_part[0].outcomes]
    assert not by_part[0].success



def test_keys_of_files_read_in_other_batches_are_not_counted_over_the_history(tmp_path, monkeypatch):
    """A claim key begins with its file's hash and a file is read in one batch: keys of other
    files cannot repeat across parts, so uniqueness adds up the groups' counts, and the history's
    keys are not read again. A part's hash prefixes are read once, when it is new."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse"
    inbox.mkdir()
    counted_whole = []
    repeated_keys = quality_parts.repeated_keys
    monkeypatch.setattr(quality_parts, "repeated_keys",
                        lambda *args: counted_whole.append(args[1:]) or repeated_keys(*args))
    for as_of, files in NIGHTS[:3]:
        for name, source in files.items():
            (inbox / name).parent.mkdir(parents=True, exist_ok=True)
            (inbox / name).write_bytes((X12 / source).read_bytes())
        lake = _ingest(inbox, warehouse, as_of).lake
        for name in ("remit_structure", "submitted_structure"):
            by_part = quality_parts.run_check(lake, name, as_of)
            assert quality_parts.as_json(by_part) == quality_parts.as_json(_whole_tables(lake, name, as_of))
    assert counted_whole == []
    prefixes = lake.read_state(f"{quality_parts.PREFIXES}_remit_structure")
    assert set(prefixes["batch"]) == {p.stem for p in lake.current_parts("remit_claims")}
    assert not prefixes["prefix"].drop_nulls().is_duplicated().any()


pytestmark = pytest.mark.timeout(300)
