"""Claim lifecycle: 835<->837 matching, adjudication history, Level I outcome inference."""
from __future__ import annotations

import datetime as dt

import polars as pl

from tests.builders import ClaimBook
from claimback import lifecycle
from claimback.denials import build_adjudications


def history_of(book: ClaimBook) -> pl.DataFrame:
    f = book.frames()
    return lifecycle.adjudication_history(f["remit_claims"], f["submitted_claims"])


def matches_of(book: ClaimBook) -> dict[str, tuple[str, str]]:
    f = book.frames()
    m = lifecycle.match_claims(f["remit_claims"], f["submitted_claims"])
    return {r["remit_claim_key"]: (r["submitted_claim_key"], r["match_method"]) for r in m.to_dicts()}


def reversed_and_readjudicated(book: ClaimBook, pcn: str = "P1"):
    first = book.remit(pcn, "2026-01-10", 100, 0, payer_claim_number=f"ICN-{pcn}")
    first.line("99213", 100, 0, [("CO", "197", 100)])
    reversal = book.reversal_of(first, "2026-02-10")
    again = book.remit(pcn, "2026-02-10", 100, 80, payer_claim_number=f"ICN-{pcn}")
    again.line("99213", 100, 80, [("CO", "45", 20)])
    return first, reversal, again


# --- adjudication history ------------------------------------------------------------------


def test_history_orders_original_reversal_and_readjudication():
    book = ClaimBook()
    first, reversal, again = reversed_and_readjudicated(book)
    h = history_of(book)
    assert h["claim_key"].to_list() == [first.claim_key, reversal.claim_key, again.claim_key]
    assert h["adjudication_seq"].to_list() == [1, 2, 3]
    assert h["adjudication_kind"].to_list() == ["original", "reversal", "readjudication"]
    assert h["is_latest"].to_list() == [False, False, True]
    assert h["is_reversed"].to_list() == [True, False, False]
    assert h["claim_id"].n_unique() == 1
    assert h["claim_id"][0] == "ID:ACME1|NPI:1234567893|P1"


def test_reversal_with_nothing_after_is_the_latest_state():
    book = ClaimBook()
    first = book.remit("R", "2026-01-10", 100, 100, payer_claim_number="ICN-R")
    first.line("99213", 100, 100)
    reversal = book.reversal_of(first, "2026-03-01")
    latest = history_of(book).filter("is_latest")
    assert latest["claim_key"].to_list() == [reversal.claim_key]
    assert latest["is_reversal"].to_list() == [True]


def test_same_day_adjudications_follow_file_order():
    book = ClaimBook()
    a = book.remit("F", "2026-01-10", 100, 0, remit_file="b.835")
    b = book.remit("F", "2026-01-10", 100, 50, remit_file="b.835")
    h = history_of(book)
    assert h["claim_key"].to_list() == [a.claim_key, b.claim_key]


def test_claims_are_separate_per_payer_and_patient_control_number():
    book = ClaimBook()
    book.remit("X", "2026-01-10", 100, 0)
    book.remit("Y", "2026-01-10", 100, 0)
    book.remit("X", "2026-01-10", 100, 0, payer_name="OTHER PLAN", payer_id="OTH1")
    assert history_of(book)["claim_id"].n_unique() == 3


def test_payer_claim_number_chain_links_a_new_patient_control_number():
    book = ClaimBook()
    book.remit("OLD", "2026-01-10", 100, 0, payer_claim_number="ICN-9")
    # the payer's re-adjudication cites the original claim number in REF*F8
    book.remit("NEW", "2026-03-01", 100, 100, payer_claim_number="ICN-10",
               original_payer_claim_number="ICN-9")
    book.remit("UNRELATED", "2026-03-01", 100, 100, payer_claim_number="ICN-11")
    h = history_of(book)
    linked = h.filter(pl.col("patient_control_number").is_in(["OLD", "NEW"]))
    assert linked["claim_id"].unique().to_list() == ["ID:ACME1|NPI:1234567893|OLD"]
    assert linked.filter("is_latest")["patient_control_number"].to_list() == ["NEW"]
    assert h.filter(pl.col("patient_control_number") == "UNRELATED")["adjudication_count"][0] == 1


def test_corrected_claim_837_links_its_new_patient_control_number():
    book = ClaimBook()
    book.remit("A1", "2026-01-10", 100, 0, payer_claim_number="ICN-A")
    book.remit("A2", "2026-03-01", 100, 100, payer_claim_number="ICN-B")
    without_837 = history_of(book)
    assert without_837["claim_id"].n_unique() == 2
    book.submitted("A2", 100, frequency_code="7", original_payer_claim_number="ICN-A")
    with_837 = history_of(book)
    assert with_837["claim_id"].n_unique() == 1
    assert with_837["adjudication_seq"].to_list() == [1, 2]


def test_long_chain_of_corrections_is_one_claim():
    book = ClaimBook()
    for i in range(6):
        book.remit(f"C{i}", f"2026-01-{10 + i}", 100, 0, payer_claim_number=f"ICN{i}",
                   original_payer_claim_number=f"ICN{i - 1}" if i else None)
    h = history_of(book)
    assert h["claim_id"].unique().to_list() == ["ID:ACME1|NPI:1234567893|C0"]
    assert h["adjudication_seq"].to_list() == list(range(1, 7))


def test_reused_patient_control_number_keeps_visits_apart():
    book = ClaimBook()
    jan = book.remit("ACCT7", "2026-01-10", 100, 0, payer_claim_number="ICN-J")
    jan.line("99213", 100, 0, [("CO", "197", 100)], service_date="2026-01-02")
    feb = book.remit("ACCT7", "2026-02-10", 100, 100, payer_claim_number="ICN-F")
    feb.line("99213", 100, 100, service_date="2026-02-01")
    # a bare reversal (no dates) of the January visit still joins it through its claim number
    book.remit("ACCT7", "2026-03-01", -100, 0, status="22", payer_claim_number="ICN-J")
    f = book.frames()
    h = lifecycle.adjudication_history(f["remit_claims"], None, f["remit_service_lines"])
    assert h["claim_id"].n_unique() == 2
    january = h.filter(pl.col("payer_claim_control_number") == "ICN-J")
    assert january["adjudication_kind"].to_list() == ["original", "reversal"]
    assert january["claim_id"].n_unique() == 1


def test_same_claim_under_two_payer_keys_is_linked_by_its_claim_number():
    book = ClaimBook()
    first = book.remit("X1", "2026-01-10", 100, 100, payer_claim_number="ICN-X1")
    first.line("99213", 100, 100)
    # the later file carries no N1*PR id, so the reader fell back to another identifier
    book.remit("X1", "2026-02-10", -100, -100, status="22", payer_claim_number="ICN-X1",
               payer_id="1999999999")
    h = history_of(book)
    assert h["claim_id"].n_unique() == 1
    assert h["adjudication_kind"].to_list() == ["original", "reversal"]


def test_placeholder_claim_number_shared_by_many_claims_links_nothing():
    book = ClaimBook()
    for i in range(5):
        book.remit(f"DEID{i}", "2026-01-10", 100, 0, payer_claim_number="999999999999")
    assert history_of(book)["claim_id"].n_unique() == 5


# --- matching ------------------------------------------------------------------------------


def test_match_by_payer_id_then_name_then_pcn_alone():
    book = ClaimBook()
    by_id = book.remit("M1", "2026-01-10", 100, 0)
    by_name = book.remit("M2", "2026-01-10", 100, 0, payer_id=None, payer_name="Acme Commercial Health")
    by_pcn = book.remit("M3", "2026-01-10", 100, 0, payer_id="CLEARINGHOUSE9", payer_name="ACME")
    s1 = book.submitted("M1", 100)
    s2 = book.submitted("M2", 100)
    s3 = book.submitted("M3", 100)
    m = matches_of(book)
    assert m[by_id.claim_key] == (s1, "pcn_payer_id")
    assert m[by_name.claim_key] == (s2, "pcn_payer_name")
    assert m[by_pcn.claim_key] == (s3, "pcn_only_payer")


def test_no_match_across_payers_when_the_pcn_is_billed_to_two():
    book = ClaimBook()
    remit = book.remit("SHARED", "2026-01-10", 100, 0, payer_id="ZZZ", payer_name="NOBODY")
    book.submitted("SHARED", 100, payer_id="P1", payer_name="PLAN ONE")
    book.submitted("SHARED", 100, payer_id="P2", payer_name="PLAN TWO")
    assert remit.claim_key not in matches_of(book)


def test_original_remit_matches_original_and_later_remit_matches_replacement():
    book = ClaimBook()
    first, reversal, again = reversed_and_readjudicated(book)
    original = book.submitted("P1", 100, submitted_file="jan.837")
    replacement = book.submitted("P1", 100, frequency_code="7", original_payer_claim_number="ICN-P1",
                                 submitted_file="feb.837")
    m = matches_of(book)
    assert m[first.claim_key][0] == original
    assert m[reversal.claim_key] == (original, "claim_chain")  # it takes back the first answer
    assert m[again.claim_key][0] == replacement


def test_readjudication_without_a_pcn_match_inherits_through_the_chain():
    book = ClaimBook()
    first = book.remit("Q1", "2026-01-10", 100, 0, payer_claim_number="ICN-Q")
    later = book.remit("Q1-X", "2026-02-10", 100, 100, payer_claim_number="ICN-Q2",
                       original_payer_claim_number="ICN-Q")
    key = book.submitted("Q1", 100)
    m = matches_of(book)
    assert m[first.claim_key] == (key, "pcn_payer_id")
    assert m[later.claim_key] == (key, "claim_chain")


def test_reused_pcn_matches_the_837_of_the_same_date_of_service():
    book = ClaimBook()
    remit = book.remit("ACCT9", "2026-03-01", 100, 0)
    remit.line("99213", 100, 0, [("CO", "50", 100)], service_date="2026-02-01")
    february = book.submitted("ACCT9", 100, statement_from="2026-02-01", submitted_file="a.837")
    book.submitted("ACCT9", 100, statement_from="2026-02-20", submitted_file="b.837")
    f = book.frames()
    history = lifecycle.adjudication_history(f["remit_claims"], f["submitted_claims"],
                                             f["remit_service_lines"])
    m = lifecycle.match_claims(f["remit_claims"], f["submitted_claims"], history=history)
    assert m["submitted_claim_key"].to_list() == [february]


def test_unmatched_reports_both_sides():
    book = ClaimBook()
    book.remit("BOTH", "2026-01-10", 100, 0)
    lonely_remit = book.remit("ONLY835", "2026-01-10", 100, 0)
    book.submitted("BOTH", 100)
    waiting = book.submitted("ONLY837", 100)
    f = book.frames()
    report = lifecycle.unmatched(f["remit_claims"], f["submitted_claims"])
    assert (report.remit_count, report.submitted_count) == (1, 1)
    assert report.remits["claim_key"].to_list() == [lonely_remit.claim_key]
    assert report.submissions["claim_key"].to_list() == [waiting]
    assert "patient_last_name" not in report.remits.columns


# --- Level I outcomes ----------------------------------------------------------------------


def log_frame(rows: list[dict]) -> pl.DataFrame:
    base = {"payer_claim_control_number": None, "reference_number": None, "outcome": None,
            "decided_on": None, "source_file": "log.csv", "source_line": 2}
    from claimback.schema import conform

    return conform(pl.DataFrame([{**base, **r} for r in rows]), "reconsiderations")


def adjudications(book: ClaimBook) -> pl.DataFrame:
    f = book.frames()
    return build_adjudications(f["remit_claims"], f["remit_service_lines"], f["remit_adjustments"])


def test_level1_outcomes_inferred_from_later_remits():
    book = ClaimBook()
    reversed_and_readjudicated(book, "WON")  # denied, reversed, paid
    upheld = book.remit("KEPT", "2026-01-10", 100, 0, payer_claim_number="ICN-KEPT")
    upheld.line("99213", 100, 0, [("CO", "50", 100)])
    book.remit("KEPT", "2026-02-20", 100, 0, payer_claim_number="ICN-KEPT").line(
        "99213", 100, 0, [("CO", "50", 100)]
    )
    book.remit("WAIT", "2026-01-10", 100, 0).line("99213", 100, 0, [("CO", "16", 100)])
    partial = book.remit("HALF", "2026-01-10", 200, 0, payer_claim_number="ICN-HALF")
    partial.line("99213", 100, 0, [("CO", "97", 100)]).line("97110", 100, 0, [("CO", "97", 100)])
    book.remit("HALF", "2026-02-20", 200, 90, payer_claim_number="ICN-HALF").line(
        "99213", 100, 90, [("CO", "45", 10)]).line("97110", 100, 0, [("CO", "97", 100)])
    log = log_frame([
        {"patient_control_number": "WON", "payer_claim_control_number": "ICN-WON", "level": 1,
         "submitted_on": dt.date(2026, 1, 20)},
        {"patient_control_number": "KEPT", "level": 1, "submitted_on": dt.date(2026, 1, 20)},
        {"patient_control_number": "WAIT", "level": 1, "submitted_on": dt.date(2026, 1, 20)},
        {"patient_control_number": "HALF", "level": 1, "submitted_on": dt.date(2026, 1, 20)},
        {"patient_control_number": "KEPT", "level": 1, "submitted_on": dt.date(2026, 1, 15),
         "outcome": "overturned", "decided_on": dt.date(2026, 3, 1)},
        {"patient_control_number": "KEPT", "level": 2, "submitted_on": dt.date(2026, 3, 5)},
    ])
    out = lifecycle.infer_level1_outcomes(log, adjudications(book))
    got = [(r["patient_control_number"], r["level"], r["outcome"], r["outcome_source"], r["decided_on"])
           for r in out.to_dicts()]
    assert got == [
        ("WON", 1, "overturned", "inferred", dt.date(2026, 2, 10)),
        ("KEPT", 1, "upheld", "inferred", dt.date(2026, 2, 20)),
        ("WAIT", 1, "pending", "pending", None),
        ("HALF", 1, "partial", "inferred", dt.date(2026, 2, 20)),
        ("KEPT", 1, "overturned", "logged", dt.date(2026, 3, 1)),
        ("KEPT", 2, "pending", "pending", None),
    ]


def test_a_reversal_not_yet_followed_leaves_level1_pending():
    book = ClaimBook()
    first = book.remit("REV", "2026-01-10", 100, 0, payer_claim_number="ICN-REV")
    first.line("99213", 100, 0, [("CO", "197", 100)])
    book.reversal_of(first, "2026-02-01")
    log = log_frame([{"patient_control_number": "REV", "level": 1, "submitted_on": dt.date(2026, 1, 15)}])
    out = lifecycle.infer_level1_outcomes(log, adjudications(book))
    assert out.select("outcome", "outcome_source").row(0) == ("pending", "pending")


def test_adjudications_before_the_request_do_not_decide_it():
    book = ClaimBook()
    reversed_and_readjudicated(book, "EARLY")  # paid again on 2026-02-10
    log = log_frame([{"patient_control_number": "EARLY", "level": 1, "submitted_on": dt.date(2026, 2, 11)}])
    out = lifecycle.infer_level1_outcomes(log, adjudications(book))
    assert out["outcome_source"].to_list() == ["pending"]


def test_level1_is_answered_by_the_first_new_adjudication_not_a_later_level2_result():
    book = ClaimBook()
    book.remit("L2WIN", "2026-01-10", 100, 0, payer_claim_number="ICN-L2").line(
        "99213", 100, 0, [("CO", "50", 100)])
    book.remit("L2WIN", "2026-02-20", 100, 0, payer_claim_number="ICN-L2").line(
        "99213", 100, 0, [("CO", "50", 100)])  # Level I answer: still denied
    book.remit("L2WIN", "2026-04-20", 100, 100, payer_claim_number="ICN-L2").line(
        "99213", 100, 100)  # the Level II dispute won later
    log = log_frame([{"patient_control_number": "L2WIN", "level": 1,
                      "submitted_on": dt.date(2026, 1, 20)}])
    out = lifecycle.infer_level1_outcomes(log, adjudications(book))
    assert out.select("outcome", "decided_on").row(0) == ("upheld", dt.date(2026, 2, 20))


def test_request_under_a_reused_pcn_is_about_the_visit_denied_before_it():
    book = ClaimBook()
    book.remit("ACCT", "2026-01-10", 100, 0).line(
        "99213", 100, 0, [("CO", "197", 100)], service_date="2026-01-02")
    book.remit("ACCT", "2026-02-25", 100, 100).line("99213", 100, 100, service_date="2026-02-01")
    book.remit("ACCT", "2026-03-01", 100, 0).line(
        "99213", 100, 0, [("CO", "197", 100)], service_date="2026-01-02")  # January re-denied
    log = log_frame([{"patient_control_number": "ACCT", "level": 1,
                      "submitted_on": dt.date(2026, 1, 20), "outcome": "pending"}])
    out = lifecycle.infer_level1_outcomes(log, adjudications(book))
    # the paid February visit is another claim; the January one was answered "still denied"
    assert out.select("outcome", "outcome_source", "decided_on").row(0) == (
        "upheld", "inferred", dt.date(2026, 3, 1))
