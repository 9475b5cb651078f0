"""The reconsideration log reader: variations accepted, bad rows reported by line and skipped."""
from __future__ import annotations

import datetime as dt

import polars as pl

from claimback import schema
from claimback.reconsiderations import read_log

HEADER = ("patient_control_number,payer_claim_control_number,level,submitted_on,reference_number,"
          "outcome,decided_on\n")


def write(tmp_path, name: str, body: str, header: str = HEADER):
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_clean_log_in_contract_schema(tmp_path):
    path = write(tmp_path, "reconsiderations.csv",
                 "PCN1,ICN1,1,2026-01-05,REF-1,overturned,2026-02-01\nPCN2,ICN2,2,2026-01-06,,,\n")
    log, problems = read_log([path])
    assert log.schema == pl.Schema(schema.RECONSIDERATIONS)
    assert problems.height == 0
    assert log.rows() == [
        ("PCN1", "ICN1", 1, dt.date(2026, 1, 5), "REF-1", "overturned", dt.date(2026, 2, 1),
         str(path), 2),
        ("PCN2", "ICN2", 2, dt.date(2026, 1, 6), None, None, None, str(path), 3),
    ]


def test_header_case_spaces_us_dates_levels_and_outcome_synonyms(tmp_path):
    header = ("\ufeffPatient Control Number , Payer-Claim-Control-Number,LEVEL,Submitted On,"
              "Reference Number,Outcome,Decided On\n")
    body = ("A,IA,Level I,1/5/2026,,Approved,02/01/2026\n"
            "B,IB,II,01/06/26,,Denial upheld,2026/02/03\n"
            "C,IC,level 1,2026-1-7,,PAID,\n"
            "D,ID,L1,2026-01-08,,partially paid,2026-02-10\n"
            "E,IE,1,2026-01-09,, Pending ,\n"
            "F,IF,1,2026-01-09,,denied,2026-02-11\n")
    path = tmp_path / "portal_export_reconsiderations.csv"
    path.write_text(header + body, encoding="utf-8")
    log, problems = read_log([path])
    assert problems.height == 0
    assert log.select("patient_control_number", "level", "submitted_on", "outcome", "decided_on").rows() == [
        ("A", 1, dt.date(2026, 1, 5), "overturned", dt.date(2026, 2, 1)),
        ("B", 2, dt.date(2026, 1, 6), "upheld", dt.date(2026, 2, 3)),
        ("C", 1, dt.date(2026, 1, 7), "overturned", None),
        ("D", 1, dt.date(2026, 1, 8), "partial", dt.date(2026, 2, 10)),
        ("E", 1, dt.date(2026, 1, 9), None, None),
        ("F", 1, dt.date(2026, 1, 9), "upheld", dt.date(2026, 2, 11)),
    ]


def test_spreadsheet_dates_with_dashes_and_times(tmp_path):
    body = ("A,IA,1,01-05-2026,,,\n"
            "B,IB,1,2026-01-06 00:00:00,,upheld,2/3/2026 12:00 AM\n"
            "C,IC,1,2026-01-07T00:00:00,,,\n")
    log, problems = read_log([write(tmp_path, "reconsiderations.csv", body)])
    assert problems.height == 0
    assert log.select("submitted_on", "decided_on").rows() == [
        (dt.date(2026, 1, 5), None), (dt.date(2026, 1, 6), dt.date(2026, 2, 3)),
        (dt.date(2026, 1, 7), None),
    ]


def test_bad_rows_are_reported_with_line_numbers_and_skipped(tmp_path):
    body = ("GOOD1,I1,1,2026-01-05,,,\n"           # line 2
            "BADDATE,I2,1,2026-13-45,,,\n"         # line 3
            "BADLEVEL,I3,3,2026-01-05,,,\n"        # line 4
            ",,1,2026-01-05,,,\n"                  # line 5: no claim number at all
            "SHORT,I5,1,2026-01-05\n"              # line 6: wrong column count
            "\n"                                   # line 7: blank, ignored
            "NODATE,I7,1,,,,\n"                    # line 8
            "BACKWARDS,I8,1,2026-02-05,,upheld,2026-01-05\n"  # line 9
            "GOOD2,I9,2,2026-01-05,,,\n")          # line 10
    path = write(tmp_path, "reconsiderations.csv", body)
    log, problems = read_log([path])
    assert log["patient_control_number"].to_list() == ["GOOD1", "GOOD2"]
    assert log["source_line"].to_list() == [2, 10]
    lines = dict(zip(problems["line_number"].to_list(), problems["problem"].to_list()))
    assert sorted(lines) == [3, 4, 5, 6, 8, 9]
    assert "submitted_on is not a date" in lines[3]
    assert "level" in lines[4]
    assert "missing claim number" in lines[5]
    assert "columns" in lines[6]
    assert "blank" in lines[8]
    assert "before" in lines[9]
    assert set(problems["source_file"]) == {str(path)}


def test_problem_messages_never_echo_cell_values(tmp_path):
    body = "JANE DOE 1980-01-01,SSN123,not-a-level,yesterday,,,\n"
    log, problems = read_log([write(tmp_path, "reconsiderations.csv", body)])
    assert log.height == 0
    text = " ".join(problems["problem"])
    for secret in ("JANE", "SSN123", "not-a-level", "yesterday"):
        assert secret not in text


def test_unknown_outcome_word_keeps_the_row_as_pending_and_reports_it(tmp_path):
    log, problems = read_log([write(tmp_path, "reconsiderations.csv", "X,IX,1,2026-01-05,,maybe,\n")])
    assert log.select("patient_control_number", "outcome").rows() == [("X", None)]
    assert problems.rows() == [(str(tmp_path / "reconsiderations.csv"), 2,
                                problems["problem"][0])]
    assert "row kept as pending" in problems["problem"][0]


def test_folder_search_missing_columns_and_duplicates_across_files(tmp_path):
    write(tmp_path, "a_reconsiderations.csv", "DUP,I1,1,2026-01-05,R1,,\n")
    nested = tmp_path / "2026" / "feb"
    nested.mkdir(parents=True)
    write(nested, "b_reconsiderations.csv", "DUP,I1,1,2026-01-05,R1,upheld,2026-02-01\n")
    write(tmp_path, "broken_reconsiderations.csv", "x,y\n", header="claim,when\n")
    (tmp_path / "notes.csv").write_text(HEADER + "IGNORED,I,1,2026-01-05,,,\n")
    log, problems = read_log([tmp_path])
    assert log.select("patient_control_number", "outcome").rows() == [("DUP", "upheld")]
    assert problems.height == 1
    assert problems["line_number"][0] == 1
    assert "header lacks" in problems["problem"][0]


def test_no_logs_gives_empty_frames(tmp_path):
    log, problems = read_log([tmp_path])
    assert log.height == 0 and problems.height == 0
    assert log.schema == pl.Schema(schema.RECONSIDERATIONS)
