"""The payments "paid before" counts, kept per claim by the denials stage (touched.PAYMENTS,
evidence.counted_payments) and read by trends and routing, follow the nights exactly.

Hand-written 837P/835 (tests/routing/x12_inbox.py), one payer (Sunflower, SUNFL), one practice, one
procedure (70551, MRI brain), every visit another member. DEN1 is denied CO-197 (authorization
absent) on an 835 of 2026-02-01 with no REF*G1 on its 837, so "paid before" counts the claims paid
for 70551 remitted 2025-08-05 (180 days before) to 2026-01-31 whose 837 carried no authorization:

    night 1  2026-02-02  A180 paid on 2025-08-05 (counts), A181 on 2025-08-04 (a day too early),
                         REV paid on 2025-12-01 and reversed (CLP02 22) on 2025-12-15 (the payment
                         counts, the reversal is no payment), LATE paid on 2025-10-01 and LATEAUTH on
                         2025-11-01 whose 837s have not come: 2 (A180, REV)
    night 2  2026-02-03  LATE's 837 comes without an authorization, LATEAUTH's with REF*G1: LATE's
                         old payment now counts, LATEAUTH's does not: 3
    night 3  2026-02-04  nothing new: 3

DEN2 is denied CO-16 (missing information) for the same procedure on the same day: "paid before" is
evidence for authorization denials only (`evidence.denials_paid_before_counts`), so night 2's newly
counted payment works out DEN1's row again and not DEN2's.

Each night the kept payments (by hand: account number and remit day) and DEN1's route, and the
work queue equals that of a from-scratch run of the same inbox.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import polars as pl

from claimback import stages, touched
from claimback.routing import evidence
from tests.routing.route_inbox import denials_of
from tests.routing.x12_inbox import Claim837, Remit, claims_837, remit_835, write

PAYER = ("SUNFLOWER HEALTH PLAN", "SUNFL")
MRI = "70551"
_CONTROLS = iter(range(700, 1000))


def _837(inbox: Path, name: str, pcn: str, member: str, visit: str, refs: tuple[str, ...] = ()) -> None:
    write(inbox, f"{name}.837", claims_837(*PAYER, [Claim837(pcn, member, visit, MRI, claim_refs=list(refs))],
                                           visit, f"{next(_CONTROLS):09d}"))


def _835(inbox: Path, name: str, remit: Remit, day: str) -> None:
    write(inbox, f"{name}.835", remit_835(*PAYER, [remit], day, f"{next(_CONTROLS):09d}"))


def _paid(pcn: str, member: str, visit: str) -> Remit:
    return Remit(pcn, f"{pcn}-ICN", member, visit, MRI, paid="150")


def _night1(inbox: Path) -> None:
    for pcn, member, visit, remitted in (("A180", "M1", "20250720", "20250805"),
                                         ("A181", "M2", "20250720", "20250804"),
                                         ("REV", "M3", "20251110", "20251201")):
        _837(inbox, pcn, pcn, member, visit)
        _835(inbox, pcn, _paid(pcn, member, visit), remitted)
    # the payer takes REV's payment back: CLP02 22, the amounts negated (835 2100 reversal)
    _835(inbox, "REV-reversal", Remit("REV", "REV-ICN", "M3", "20251110", MRI, charge="-150", paid="-150",
                                      status="22"), "20251215")
    _835(inbox, "LATE", _paid("LATE", "M4", "20250915"), "20251001")
    _835(inbox, "LATEAUTH", _paid("LATEAUTH", "M5", "20251015"), "20251101")
    _837(inbox, "DEN1", "DEN1", "M6", "20260105")
    _835(inbox, "DEN1", Remit("DEN1", "DEN1-ICN", "M6", "20260105", MRI, adjustments=[("CO", "197", "150")],
                              remarks=["N54"]), "20260201")
    _837(inbox, "DEN2", "DEN2", "M7", "20260106")
    _835(inbox, "DEN2", Remit("DEN2", "DEN2-ICN", "M7", "20260106", MRI, adjustments=[("CO", "16", "150")],
                              remarks=["M51"]), "20260201")


def _night2(inbox: Path) -> None:
    _837(inbox, "LATE", "LATE", "M4", "20250915")
    _837(inbox, "LATEAUTH", "LATEAUTH", "M5", "20251015", refs=("REF*G1*AUTH777",))


NIGHTS = [(date(2026, 2, 2), _night1, 2), (date(2026, 2, 3), _night2, 3), (date(2026, 2, 4), None, 3)]
# The kept payments after each night, by hand: (account number, remit day)
KEPT = {
    1: {("A180", date(2025, 8, 5)), ("A181", date(2025, 8, 4)), ("REV", date(2025, 12, 1))},
    2: {("A180", date(2025, 8, 5)), ("A181", date(2025, 8, 4)), ("REV", date(2025, 12, 1)),
        ("LATE", date(2025, 10, 1))},
}
KEPT[3] = KEPT[2]


def _run(inbox: Path, warehouse: Path, as_of: date, from_scratch: bool = False) -> tuple[stages.Settings, pl.DataFrame]:
    """Ingest, denials, trends and the routed queue (no Dagster, no publishing)."""
    settings = denials_of(inbox, warehouse, as_of, from_scratch=from_scratch)
    stages.find_trends(settings)
    queue, _, _ = stages.build_queue(settings)
    return settings, queue


def _kept(lake) -> set[tuple[str, date]]:
    rows = pl.concat([pl.read_parquet(str(path)) for path in lake.files_of(touched.PAYMENTS)])
    assert set(rows["procedure"]) <= {MRI} and set(rows["payer"]) <= {"SUNFL"}
    return set(rows.select("patient_control_number", "remit_date").iter_rows())


def test_the_kept_payments_follow_the_nights(tmp_path, caplog):
    inbox, nightly = tmp_path / "inbox", tmp_path / "nightly"
    for night, (as_of, add, count) in enumerate(NIGHTS, start=1):
        if add is not None:
            add(inbox)
        caplog.clear()
        with caplog.at_level("INFO", logger="claimback"):
            settings, queue = _run(inbox, nightly, as_of)
        # after the first night, routing works out again only the rows the night touched: on night 2
        # DEN1's, whose count moves, not DEN2's
        assert ("every claim routed again" in caplog.text) == (night == 1), f"night {night}"
        if night > 1:
            worked = re.search(r"routing: (\d+) of \d+ rows worked out again", caplog.text)
            assert worked and int(worked.group(1)) == (1 if night == 2 else 0), f"night {night}: {worked}"
        assert _kept(settings.lake) == KEPT[night], f"night {night}"
        den = queue.filter(pl.col("patient_control_number") == "DEN1").row(0, named=True)
        assert json.loads(den["evidence"]) == {"rule": "authorization_paid_before", "paid_before_count": count,
                                               "days": 180}, f"night {night}"
        assert f"paid {count} time(s)" in den["reason"]
        full_settings, full = _run(inbox, tmp_path / f"full-{night}", as_of, from_scratch=True)
        assert _kept(full_settings.lake) == KEPT[night]
        order = ["patient_control_number", "claim_key"]
        assert queue.sort(order).equals(full.sort(order)), f"night {night}"
        # trends count the same from the kept payments
        window = settings.lake.read("denials")
        assert stages.window_paid_before(settings.lake, window.filter(pl.col("patient_control_number") == "DEN1")
                                         ).rows() == [(den["claim_key"], count)]
        assert queue.filter(pl.col("patient_control_number") == "DEN2")["category"].to_list() == ["missing_information"]


def _remits(*rows: tuple[str, str, bool, str]) -> pl.DataFrame:
    """Remit claims (claim_key, account number, reversal, remit day) of one payer and practice."""
    return pl.DataFrame([{"claim_key": key, "patient_control_number": pcn, "is_reversal": reversal,
                          "remit_date": date.fromisoformat(day), "payee_npi": "1234567893", "member_id": key,
                          "payer_id": "SUNFL", "payer_name": "SUNFLOWER HEALTH PLAN", "statement_from": date(2025, 7, 1),
                          "payer_claim_control_number": f"{key}-ICN"} for key, pcn, reversal, day in rows])


def test_a_reversal_is_no_payment_and_a_reversed_denial_counts_nothing():
    """On frames: a reversal with a paid line (however it came) is not a counted payment, a blank
    account number matches no 837, and a denial whose own remit claim is a reversal gets no count
    (its practice and payer are read from non-reversal remits only)."""
    remits = _remits(("P1", "A1", False, "2025-08-05"), ("R1", "A2", True, "2025-08-06"),
                     ("B1", " ", False, "2025-08-07"), ("D1", "D1", False, "2026-02-01"),
                     ("D2", "D2", True, "2026-02-01"))
    lines = pl.DataFrame({"claim_key": ["P1", "R1", "B1", "D1", "D2"], "procedure_code": [MRI] * 5,
                          "service_date": [date(2025, 7, 1)] * 5, "paid_amount": [150.0, 150.0, 150.0, 0.0, 0.0]})
    submitted = pl.DataFrame({"patient_control_number": ["A1", "A2", " "], "statement_from": [date(2025, 7, 1)] * 3,
                              "payer_id": ["SUNFL"] * 3, "payer_name": ["SUNFLOWER HEALTH PLAN"] * 3,
                              "prior_authorization": [None, None, None]})
    counted = evidence.counted_payments(remits, lines, submitted).collect()
    assert counted["claim_key"].to_list() == ["P1"]
    denials = pl.DataFrame({"claim_key": ["D1", "D2"], "remit_date": [date(2026, 2, 1)] * 2,
                            "procedure_codes": [[MRI], [MRI]]})
    assert evidence.paid_before(denials, remits, lines, submitted).rows() == [("D1", 1)]
    assert evidence.paid_before_keys(denials, remits)["claim_key"].to_list() == ["D1"]
