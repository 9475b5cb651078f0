"""The shipped CARC and RARC lists against X12's published lists of 2026-08-17.

`../shared/code-lists/x12-codes-2026-08-17.json` holds both lists as published (text and
status of every code; see SOURCES.md there). Every code in them is in our tables with X12's text
and status, every CARC has a category of ours, and the counts are pinned so a lost row fails.
"""
from __future__ import annotations

import json

import polars as pl
import pytest

from claimback import codes
from claimback.codes.official import import_official_lists
from tests.conftest import SHARED

PUBLISHED = SHARED / "code-lists" / "x12-codes-2026-08-17.json"
CARC_COUNT, RARC_COUNT = 407, 1216  # as counted on the X12 pages retrieved 2026-08-17


def _published() -> dict:
    if not PUBLISHED.is_file():
        pytest.skip(f"published code lists not found at {PUBLISHED}")
    return json.loads(PUBLISHED.read_text(encoding="utf-8"))


def test_shipped_counts_are_pinned_and_every_code_has_text_and_status():
    carc, rarc = codes.carc(), codes.rarc()
    assert (carc.height, rarc.height) == (CARC_COUNT, RARC_COUNT)
    for frame in (carc, rarc):
        assert frame["official_description"].null_count() == 0
        assert frame["label"].null_count() == 0
        assert set(frame["status"]) <= {"current", "tobe", "deactivated"}
        assert frame["status"].null_count() == 0
    # 297 current + 110 deactivated CARCs, 1,137 + 79 RARCs (the pages' own row classes)
    assert carc["status"].value_counts().sort("status").rows() == [("current", 297), ("deactivated", 110)]
    assert rarc["status"].value_counts().sort("status").rows() == [("current", 1137), ("deactivated", 79)]


def test_every_published_code_is_shipped_with_its_text_and_status():
    published = _published()
    for kind, frame in (("carc", codes.carc()), ("rarc", codes.rarc())):
        ours = {row["code"]: row for row in frame.iter_rows(named=True)}
        listed = published[kind]
        assert len(listed) == {"carc": CARC_COUNT, "rarc": RARC_COUNT}[kind]
        missing = sorted(set(listed) - set(ours))
        assert not missing, f"{kind} codes not shipped: {missing[:10]}"
        for code, entry in listed.items():
            assert " ".join(ours[code]["official_description"].split()) == " ".join(entry["text"].split()), code
            assert ours[code]["status"] == entry["status"], code


def test_every_carc_has_a_category_of_ours():
    carc = codes.carc()
    assert carc.filter(pl.col("category") == "unknown").height == 0
    assert codes.unknown_codes(pl.DataFrame({"reason_code": carc["code"]})).height == 0


@pytest.mark.parametrize("code", ["307", "308", "P32"])
def test_new_price_adjustments_are_not_denials(code):
    # 307: Medicare maximum fair price refund; 308: contracted funding agreement; P32: apportionment
    row = codes.classify(pl.DataFrame({"group_code": ["CO"], "reason_code": [code]})).row(0, named=True)
    assert row["adjustment_kind"] == "pricing" and row["code_known"]


def test_corrected_remark_meanings():
    rarc = {row["code"]: row for row in codes.rarc().iter_rows(named=True)}
    assert "Medicare would have allowed" in rarc["N6"]["label"]  # not "the patient's liability"
    assert rarc["N610"]["label"] == "Alert: Payment based on an appropriate level of care"
    assert rarc["N6"]["category_hint"] is None and rarc["N610"]["category_hint"] is None
    assert rarc["N921"]["category_hint"] == "timely_filing"  # new: appeal time limit expired
    assert rarc["N880"]["category_hint"] is None  # new, administrative: claim closed, new claim number


def test_importing_the_published_json_again_changes_nothing(tmp_path):
    _published()
    reports = import_official_lists(PUBLISHED, target_dir=tmp_path)
    assert [r.kind for r in reports] == ["carc", "rarc"]
    for report in reports:
        assert report.new_codes == () and report.changed_labels == () and report.newly_deactivated == ()
        merged = pl.read_csv(report.written_to, infer_schema=False)
        shipped = codes.carc() if report.kind == "carc" else codes.rarc()
        assert merged["code"].to_list() == shipped["code"].to_list()


def test_a_json_extract_with_a_new_and_a_deactivated_code(tmp_path):
    path = tmp_path / "x12-codes.json"
    path.write_text(json.dumps({
        "source": {"retrieved": "2027-01-10"},
        "carc": {"18": {"text": "Exact duplicate claim/service.", "status": "deactivated"},
                 "309": {"text": "A reason published after our list.", "status": "current"}},
    }), encoding="utf-8")
    [report] = import_official_lists(path, target_dir=tmp_path / "out")
    assert report.new_codes == ("309",)
    assert [code for code, _ in report.newly_deactivated] == ["18"]
    merged = pl.read_csv(report.written_to, infer_schema=False)
    row = merged.filter(pl.col("code") == "309").row(0, named=True)
    assert (row["category"], row["status"]) == ("unknown", "current")
