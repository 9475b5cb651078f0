"""import_official: official CARC/RARC files in the shapes users download, merged into the override."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from claimback import codes
from claimback.codes.official import OfficialListError, parse_official, short_label

CARC_CSV = """Claim Adjustment Reason Code,Description,Start Date,Last Modified,Stop Date
1,Deductible Amount,01/01/1995,,
045,"Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement. Usage: ...",01/01/1995,03/01/2024,
197,Precertification/authorization/notification/pre-treatment absent.,10/31/2006,,
999,A brand-new reason nobody has categorised yet. Usage: use with care.,03/01/2026,,
P30,Payment denied for exacerbation when supporting documentation was not complete.,11/01/2019,,05/01/2026
"""


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def _row(frame, code):
    return frame.filter(pl.col("code") == code).row(0, named=True)


def test_import_adds_new_codes_as_unknown_and_keeps_our_categories(tmp_path, isolated_override_dir):
    ours_197 = _row(codes.carc(), "197")
    report = codes.import_official(_write(tmp_path, "carc.csv", CARC_CSV))

    assert report.kind == "carc" and report.codes_in_file == 5
    assert report.new_codes == ("999",)
    assert report.newly_deactivated == (("P30", dt.date(2026, 5, 1)),)
    assert report.written_to == isolated_override_dir / "carc.csv"
    assert "292" in report.not_in_file and "42" not in report.not_in_file  # 42 was already stopped

    merged = codes.carc()  # the loader now prefers the override
    assert merged.height == report.total_codes == codes.carc().height
    new = _row(merged, "999")
    assert new["category"] == "unknown" and new["label"] == "A brand-new reason nobody has categorised yet"
    assert new["effective_date"] == dt.date(2026, 3, 1)
    kept = _row(merged, "197")
    for column in ("label", "category", "fixable_by", "suggested_route", "adjustment_kind"):
        assert kept[column] == ours_197[column]
    assert kept["effective_date"] == dt.date(2006, 10, 31)
    assert kept["official_description"].startswith("Precertification")
    assert _row(merged, "45")["last_modified"] == dt.date(2024, 3, 1)
    assert _row(merged, "P30")["stop_date"] == dt.date(2026, 5, 1)


def test_new_code_classifies_as_unknown_but_listed(tmp_path):
    codes.import_official(_write(tmp_path, "carc.csv", CARC_CSV))
    out = codes.classify(pl.DataFrame({"group_code": ["CO", "PR"], "reason_code": ["999", "999"]}))
    assert out["category"].to_list() == ["unknown", "unknown"]
    assert out["adjustment_kind"].to_list() == ["denial", "patient_share"]
    assert out["code_known"].to_list() == [True, True]
    assert out["carc_label"][0].startswith("A brand-new reason")
    unknown = codes.unknown_codes(pl.DataFrame({"reason_code": ["999", "Q1", "45"]}))
    assert unknown.select("code", "listed").rows() == [("999", True), ("Q1", False)]


def test_second_import_reports_changed_text_and_reactivation(tmp_path):
    codes.import_official(_write(tmp_path, "first.csv", CARC_CSV))
    changed = CARC_CSV.replace("pre-treatment absent.", "pre-treatment absent. Usage: new words.").replace(
        ",05/01/2026", ","
    )
    report = codes.import_official(_write(tmp_path, "second.csv", changed))
    assert report.new_codes == ()
    assert report.changed_labels == ("197",)
    assert report.reactivated == ("P30",)
    assert _row(codes.carc(), "P30")["stop_date"] is None


def test_tsv_rarc_file_is_detected_without_a_kind(tmp_path):
    carc_before = codes.carc()
    text = (
        "Code\tDescription\tStart\tStop\n"
        "N30\tPatient ineligible for this service.\t01/01/2000\t\n"
        "N9001\tA new remark.\t2026-03-01\t\n"
    )
    report = codes.import_official(_write(tmp_path, "rarc.txt", text))
    assert report.kind == "rarc" and report.new_codes == ("N9001",)
    rarc = codes.rarc()
    assert _row(rarc, "N30")["category_hint"] == "eligibility_registration"
    assert _row(rarc, "N9001")["label"] == "A new remark"
    assert _row(rarc, "N9001")["effective_date"] == dt.date(2026, 3, 1)
    assert codes.carc().equals(carc_before)  # the CARC list is untouched
    assert codes.list_path("carc").parent == codes.tables.PACKAGED_DIR


def test_saved_x12_web_page_with_embedded_dates(tmp_path):
    page = """<html><body><table id="codelist">
    <tr><th>Code</th><th>Description</th></tr>
    <tr class="current"><td>16</td><td>Claim/service lacks information or has submission/billing error(s).<br>
      Start: 01/01/1995 | Last Modified: 03/01/2018</td></tr>
    <tr class="stopped"><td>17</td><td>Requested information was not provided or was insufficient/incomplete.<br>
      Start: 01/01/1995 | Stop: 07/01/2009</td></tr>
    <tr><td>306</td><td>Some &amp; new reason.<br>Start: 11/01/2025</td></tr>
    </table></body></html>"""
    kind, official = parse_official(_write(tmp_path, "x12.html", page))
    assert kind == "carc"
    by_code = {item.code: item for item in official}
    assert by_code["16"].description == "Claim/service lacks information or has submission/billing error(s)."
    assert by_code["16"].last_modified == dt.date(2018, 3, 1) and by_code["16"].stop is None
    assert by_code["17"].stop == dt.date(2009, 7, 1)
    assert by_code["306"].description == "Some & new reason." and by_code["306"].start == dt.date(2025, 11, 1)


def test_headerless_semicolon_file_in_windows_encoding(tmp_path):
    text = "18;Exact duplicate claim/service – “quoted”\n309;Another new one\n"
    path = tmp_path / "carc.csv"
    path.write_bytes(text.encode("cp1252"))
    report = codes.import_official(path, "carc")
    assert report.new_codes == ("309",)
    assert _row(codes.carc(), "18")["official_description"].startswith("Exact duplicate")


def test_target_dir_and_report_text(tmp_path):
    target = tmp_path / "elsewhere"
    report = codes.import_official(_write(tmp_path, "carc.csv", CARC_CSV), target_dir=target)
    assert (target / "carc.csv").is_file() and (target / "carc.source.txt").is_file()
    text = report.text()
    assert "Imported 5 CARC codes from carc.csv" in text
    assert "New codes without a category (1)" in text and "999" in text
    assert "P30 (stop 2026-05-01)" in text
    assert codes.cli_import(_write(tmp_path, "again.csv", CARC_CSV)).startswith("Imported 5 CARC codes")


def test_a_file_without_codes_is_refused_and_nothing_written(tmp_path, isolated_override_dir):
    with pytest.raises(OfficialListError):
        codes.import_official(_write(tmp_path, "notes.csv", "name,value\nhello,world\n"))
    assert not isolated_override_dir.exists()
    workbook = tmp_path / "carc.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(OfficialListError, match="save it as CSV"):
        codes.import_official(workbook)


def test_override_folder_is_preferred_and_validated(isolated_override_dir):
    packaged = codes.carc()
    isolated_override_dir.mkdir(parents=True)
    custom = packaged.with_columns(
        pl.when(pl.col("code") == "45").then(pl.lit("Our own wording")).otherwise(pl.col("label")).alias("label")
    )
    custom.write_csv(isolated_override_dir / "carc.csv", date_format="%Y-%m-%d")
    assert codes.list_path("carc") == isolated_override_dir / "carc.csv"
    assert _row(codes.carc(), "45")["label"] == "Our own wording"
    assert codes.rarc().height > 900  # lists without an override still come from the package

    (isolated_override_dir / "carc.csv").write_text("code,label\n1,Deductible\n", encoding="utf-8")
    with pytest.raises(codes.CodeListError, match="lacks column"):
        codes.carc()

    typo = custom.with_columns(
        pl.when(pl.col("code") == "27").then(pl.lit("eligibilty")).otherwise(pl.col("category")).alias("category")
    )
    typo.write_csv(isolated_override_dir / "carc.csv", date_format="%Y-%m-%d")
    with pytest.raises(codes.CodeListError, match="category not one of .*27=eligibilty"):
        codes.carc()
    pl.concat([custom, custom.head(1)]).write_csv(isolated_override_dir / "carc.csv", date_format="%Y-%m-%d")
    with pytest.raises(codes.CodeListError, match="codes listed twice"):
        codes.carc()


def test_short_label():
    assert short_label("Deductible Amount") == "Deductible Amount"
    assert short_label("The date of death precedes the date of service. Usage: x") == (
        "The date of death precedes the date of service"
    )
    long = "word " * 40
    assert len(short_label(long)) <= 90 and short_label(long).endswith("…")


def test_x12_code_list_page_without_a_header_row(tmp_path):
    """The x12.org page: a two-cell table, dates and notes run on after the description."""
    page = """<table class="code_list__code-list-table"><tbody>
    <tr><td>1</td><td>Deductible Amount Start: 01/01/1995</td></tr>
    <tr><td>17</td><td>Requested information was not provided or was insufficient/incomplete. At least one Remark Code
      must be provided. Start: 01/01/1995 Last Modified: 09/30/2007 Stop: 07/01/2009 Notes: Use code 16.</td></tr>
    <tr><td>N30</td><td>stray row from another table</td></tr>
    </tbody></table>"""
    kind, official = parse_official(_write(tmp_path, "carc.html", page))
    assert kind == "carc" and [item.code for item in official] == ["1", "17"]
    first, stopped = official
    assert first.description == "Deductible Amount" and first.start == dt.date(1995, 1, 1)
    assert stopped.stop == dt.date(2009, 7, 1) and stopped.last_modified == dt.date(2007, 9, 30)
    assert stopped.description.startswith("Requested information was not provided")
    assert "Start:" not in stopped.description and "Stop:" not in stopped.description
