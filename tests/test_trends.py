"""Trend clusters: planted payer problems are found, non-problems are not."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimback.codes.vocab import format_codes
from claimback.publish import SQL_DIR
from claimback.schema import TREND_CLUSTER_CLAIMS, TREND_CLUSTERS, conform
from claimback.trends import cluster_id, find_clusters, payer_feature_counts

AS_OF = date(2026, 10, 31)
_serial = count(1)


def denial(**overrides) -> dict:
    """One denials row with plausible defaults; claim numbers are unique unless overridden."""
    n = next(_serial)
    row = {
        "claim_key": f"K{n:05d}",
        "patient_control_number": f"PCN{n:05d}",
        "payer_claim_control_number": f"ICN{n:07d}",
        "payer_name": "COORDINATED CARE",
        "payer_id": "CCWA1",
        "remit_date": AS_OF - timedelta(days=20),
        "first_remit_date": AS_OF - timedelta(days=20),
        "service_date": AS_OF - timedelta(days=50),
        "category": "authorization",
        "primary_reason": "CO-197",
        "reason_codes": ["CO-197"],
        "remark_codes": ["N54"],
        "procedure_codes": ["97110"],
        "charge_amount": 150.0,
        "paid_amount": 0.0,
        "denied_amount": 150.0,
        "rendering_npi": "1234567893",
        "billing_npi": "1999999984",
        "place_of_service": "11",
        "submitted_claim_key": f"S{n:05d}",
    }
    row.update(overrides)
    return row


def frame(rows: list[dict]) -> pl.DataFrame:
    return conform(pl.DataFrame(rows), "denials")


def background(payer_id: str = "CCWA1", payer_name: str = "COORDINATED CARE", n: int = 30) -> list[dict]:
    """Other denials at the payer: mixed reasons, procedures and providers, spread over months."""
    reasons = [("CO-16", "missing_information", ["N290"]), ("CO-97", "coding_bundling", ["M15"]),
               ("CO-50", "medical_necessity", ["N115"]), ("CO-29", "timely_filing", [])]
    rows = []
    for i in range(n):
        reason, category, remarks = reasons[i % len(reasons)]
        rows.append(denial(
            payer_id=payer_id, payer_name=payer_name, primary_reason=reason, category=category,
            remark_codes=remarks, procedure_codes=[["99213", "99214", "36415", "81002"][i % 4]],
            rendering_npi=["1111111112", "1222222220", "1333333338"][i % 3],
            place_of_service=["11", "11", "22"][i % 3],
            remit_date=AS_OF - timedelta(days=10 + 5 * i),
        ))
    return rows


def planted(n: int, **overrides) -> list[dict]:
    """n claims sharing CO-197/N54 on 97110 by one NPI, remitted over the last ~6 weeks."""
    return [denial(remit_date=AS_OF - timedelta(days=3 + (i * 40) // max(n, 1)), **overrides)
            for i in range(n)]


def test_cluster_at_one_payer_not_merged_with_same_codes_elsewhere():
    rows = planted(12) + background()
    rows += [denial(payer_id="UHCCP", payer_name="UNITEDHEALTHCARE COMMUNITY PLAN",
                    remit_date=AS_OF - timedelta(days=7 * (i + 2)))
             for i in range(6)]
    clusters, members = find_clusters(frame(rows), AS_OF)

    assert clusters.schema == pl.Schema(TREND_CLUSTERS)
    assert members.schema == pl.Schema(TREND_CLUSTER_CLAIMS)
    flagged = clusters.filter(pl.col("status") == "flagged")
    assert flagged.height == 1
    cluster = flagged.row(0, named=True)
    assert cluster["payer_id"] == "CCWA1"
    assert cluster["signature"] == "CO-197|N54"
    assert cluster["claim_count"] == 12
    assert cluster["denied_amount"] == Decimal("1800.00")
    assert cluster["category"] == "authorization"
    assert members.filter(pl.col("cluster_id") == cluster["cluster_id"]).height == 12
    assert not members["patient_control_number"].is_in(
        [r["patient_control_number"] for r in rows if r["payer_id"] == "UHCCP"]
    ).any()
    assert "UHCCP" not in clusters["payer_id"].to_list()


def test_payer_threshold_override_flags_smaller_cluster():
    rows = [denial(payer_id="UHCCP", payer_name="UNITEDHEALTHCARE COMMUNITY PLAN",
                   remit_date=AS_OF - timedelta(days=7 * (i + 2))) for i in range(6)]
    clusters, _ = find_clusters(frame(rows), AS_OF, thresholds_by_payer={"UnitedHealthcare Community Plan": 5})
    assert clusters["status"].to_list() == ["flagged"]
    assert clusters["threshold"].to_list() == [5]


def test_readjudicated_claims_counted_once():
    rows = planted(9)
    # The same nine claims adjudicated earlier too: same claim identity, older claim keys.
    rows += [denial(patient_control_number=r["patient_control_number"],
                    payer_claim_control_number=r["payer_claim_control_number"],
                    remit_date=r["remit_date"] - timedelta(days=30)) for r in rows[:9]]
    clusters, members = find_clusters(frame(rows), AS_OF, threshold=10)
    assert clusters.filter(pl.col("status") == "flagged").is_empty()

    clusters, members = find_clusters(frame(rows), AS_OF, threshold=9)
    assert clusters["claim_count"].to_list() == [9]
    assert members.height == 9
    latest_keys = {r["claim_key"] for r in rows[:9]}
    assert set(members["claim_key"]) == latest_keys


def test_zero_pay_deductible_claims_never_cluster():
    rows = [denial(category="patient_responsibility", primary_reason="PR-1", reason_codes=["PR-1"],
                   remark_codes=[], remit_date=AS_OF - timedelta(days=i)) for i in range(25)]
    rows += [denial(category=None, primary_reason="CO-45", reason_codes=["CO-45"], remark_codes=[],
                    remit_date=AS_OF - timedelta(days=i)) for i in range(25)]
    clusters, members = find_clusters(frame(rows), AS_OF)
    assert clusters.is_empty() and members.is_empty()
    assert clusters.schema == pl.Schema(TREND_CLUSTERS)


def test_lookback_window_respected():
    recent = [denial(remit_date=AS_OF - timedelta(days=10 + i)) for i in range(7)]
    old = [denial(remit_date=AS_OF - timedelta(days=200 + i)) for i in range(6)]
    future = [denial(remit_date=AS_OF + timedelta(days=1 + i)) for i in range(6)]
    clusters, _ = find_clusters(frame(recent + old + future), AS_OF, lookback_days=180)
    assert clusters.filter(pl.col("status") == "flagged").is_empty()

    clusters, _ = find_clusters(frame(recent + old + future), AS_OF, lookback_days=240)
    assert clusters["claim_count"].to_list() == [13]
    assert clusters["first_remit_date"].to_list() == [AS_OF - timedelta(days=205)]
    assert clusters["last_remit_date"].to_list() == [AS_OF - timedelta(days=10)]


def test_description_names_shared_procedure_and_rendering_npi():
    rows = planted(12) + background()
    clusters, _ = find_clusters(frame(rows), AS_OF)
    text = clusters.filter(pl.col("status") == "flagged")["description"].item()
    assert text.startswith("12 claims for procedure 97110 denied CO-197 (N54)")
    assert "100% rendered by NPI 1234567893" in text
    # Place of service 11 is on 2/3 of the payer's other denials: not distinctive enough.
    assert "place of service" not in text
    assert "PCN" not in text


def test_description_uses_submitted_claims_for_plan_and_prior_auth():
    rows = planted(12) + background()
    submitted = pl.DataFrame({
        "claim_key": [r["submitted_claim_key"] for r in rows],
        "payer_id": ["CCWA-837"] * len(rows),
        "payer_name": ["COORDINATED CARE"] * len(rows),
        "claim_filing_indicator": ["MC" if i < 12 else "CI" for i in range(len(rows))],
        "prior_authorization": ["AUTH1" if i < 12 else None for i in range(len(rows))],
        "rendering_npi": [r["rendering_npi"] for r in rows],
        "place_of_service": [r["place_of_service"] for r in rows],
    })
    lines = pl.DataFrame({
        "claim_key": [r["submitted_claim_key"] for r in rows],
        "procedure_code": [r["procedure_codes"][0] for r in rows],
        "modifiers": [["GP"] if i < 12 else [] for i in range(len(rows))],
        "rendering_npi": [None] * len(rows),
        "place_of_service": [None] * len(rows),
    }, schema_overrides={"rendering_npi": pl.String, "place_of_service": pl.String})
    clusters, _ = find_clusters(frame(rows), AS_OF, submitted_claims=submitted,
                                submitted_service_lines=lines)
    cluster = clusters.filter(pl.col("status") == "flagged").row(0, named=True)
    text = cluster["description"]
    assert "for procedure 97110 billed with modifier GP denied CO-197 (N54)" in text
    assert "100% under Medicaid" in text
    assert text.endswith("a prior authorization number was on every claim as sent.")
    assert cluster["prior_auth_claims"] == 12 and cluster["evidence"] == "authorization on file"
    assert any(f.startswith("rendering_npi=1234567893") for f in cluster["shared_features"])

    # For an eligibility denial an authorization on file is beside the point: not described,
    # and 10+ registration errors are the provider's own fix, not a payer trend to report.
    eligibility = frame(rows).with_columns(pl.lit("eligibility_registration").alias("category"))
    clusters, members = find_clusters(eligibility, AS_OF, submitted_claims=submitted,
                                      submitted_service_lines=lines)
    cluster = clusters.filter(pl.col("claim_count") >= 10).row(0, named=True)
    assert cluster["status"] == "provider_fix"
    assert cluster["prior_auth_claims"] == 12 and cluster["evidence"] == ""
    assert "prior authorization" not in cluster["description"]
    assert set(members.filter(pl.col("cluster_id") == cluster["cluster_id"])["status"]) == {"provider_fix"}


def test_authorization_denials_without_auth_on_file_are_the_providers_fix():
    rows = planted(14) + background()
    submitted = pl.DataFrame({
        "claim_key": [r["submitted_claim_key"] for r in rows],
        "payer_id": ["CCWA-837"] * len(rows),
        "payer_name": ["COORDINATED CARE"] * len(rows),
        "prior_authorization": ["AUTH1" if i < 3 else None for i in range(len(rows))],
    })
    clusters, _ = find_clusters(frame(rows), AS_OF, submitted_claims=submitted)
    big = clusters.filter(pl.col("claim_count") >= 10)
    assert big["status"].to_list() == ["provider_fix"] and big["claim_count"].to_list() == [11]
    assert "none of the claims as sent carried a prior authorization number" in big["description"].item()
    # the 3 with an authorization are not swept into the 11: a separate (small) group, not flagged
    assert clusters.filter(pl.col("evidence") == "authorization on file")["status"].to_list() in ([], ["emerging"])
    # Without the 837s nobody knows whether an authorization was sent: the payer is asked.
    clusters, _ = find_clusters(frame(rows), AS_OF)
    assert clusters.filter(pl.col("claim_count") >= 10)["status"].to_list() == ["flagged"]


def test_a_cluster_is_one_practice_six_and_six_claims_of_two_practices_are_no_trend():
    # Coordinated Care's form is about "10+ of your practice's claims": the threshold counts one
    # billing TIN's claims. 6 + 6 of one signature at two practices flag nothing.
    rows = (planted(6, billing_tax_id="91-1234567") + planted(6, billing_tax_id="920000000", billing_npi="1888888885")
            + background())
    clusters, _ = find_clusters(frame(rows), AS_OF)
    assert clusters.filter(pl.col("status") == "flagged").is_empty()
    # 10 at one practice are its trend, counted and described without the other's 6
    rows = planted(10, billing_tax_id="91-1234567") + planted(6, billing_tax_id="920000000") + background()
    clusters, members = find_clusters(frame(rows), AS_OF)
    flagged = clusters.filter(pl.col("status") == "flagged").row(0, named=True)
    assert (flagged["claim_count"], flagged["billing_tin"], flagged["billing_npi"]) == (10, "91-1234567", "1999999984")
    assert flagged["description"].startswith("10 claims")
    assert members.filter(pl.col("cluster_id") == flagged["cluster_id"]).height == 10


def test_the_same_claim_number_at_two_practices_is_two_claims():
    # Each practice's system numbers its own claims: PCN collisions across practices are normal.
    rows = [denial(patient_control_number=f"SAME{i}", billing_tax_id="911234567") for i in range(10)]
    rows += [denial(patient_control_number=f"SAME{i}", billing_tax_id="920000000") for i in range(10)]
    clusters, members = find_clusters(frame(rows + background()), AS_OF)
    flagged = clusters.filter(pl.col("status") == "flagged")
    assert sorted(flagged["billing_tin"].to_list()) == ["911234567", "920000000"]
    assert flagged["claim_count"].to_list() == [10, 10] and members.height == 20


def test_authorization_on_file_and_not_are_split_not_described_as_one():
    # 12 claims with the same codes: 10 sent with an authorization number, 2 without. One
    # sentence cannot be true of both: the 10 are a payer trend, the 2 are not part of it.
    rows = planted(12) + background()
    submitted = pl.DataFrame({
        "claim_key": [r["submitted_claim_key"] for r in rows],
        "prior_authorization": ["AUTH1" if i < 10 else None for i in range(len(rows))],
    })
    clusters, members = find_clusters(frame(rows), AS_OF, submitted_claims=submitted)
    flagged = clusters.filter(pl.col("status") == "flagged").row(0, named=True)
    assert (flagged["claim_count"], flagged["evidence"], flagged["prior_auth_claims"]) == (
        10, "authorization on file", 10)
    assert flagged["description"].endswith("a prior authorization number was on every claim as sent.")
    keys = set(members.filter(pl.col("cluster_id") == flagged["cluster_id"])["claim_key"])
    assert keys == {r["claim_key"] for r in rows[:10]}


def test_remark_refinement_ignores_boilerplate_and_keeps_one_signature():
    rows = [denial(remark_codes=["N54", "MA01"] + (["M127"] if i % 2 else []),
                   remit_date=AS_OF - timedelta(days=3 + 3 * i)) for i in range(10)]
    rows += [denial(primary_reason="CO-16", category="missing_information", remark_codes=["N290", "MA01"],
                    remit_date=AS_OF - timedelta(days=4 * i + 30)) for i in range(3)]
    clusters, members = find_clusters(frame(rows), AS_OF)
    assert clusters.filter(pl.col("status") == "flagged")["signature"].to_list() == ["CO-197|N54"]


def test_emerging_signature_detected_and_flat_one_not():
    # Rising: one claim every other month, then five in the last week.
    rising = [denial(primary_reason="CO-16", category="missing_information", remark_codes=["N290"],
                     remit_date=AS_OF - timedelta(days=d)) for d in (150, 90, 1, 2, 3, 4, 5)]
    # Flat: three claims every week for 25 weeks — as many last week, and far more in total.
    flat = [denial(primary_reason="CO-97", category="coding_bundling", remark_codes=["M15"],
                   remit_date=AS_OF - timedelta(days=7 * w + d)) for w in range(25) for d in (1, 3, 5)]
    clusters, members = find_clusters(frame(rising + flat), AS_OF, threshold=100)
    assert clusters["signature"].to_list() == ["CO-16|N290"]
    row = clusters.row(0, named=True)
    assert row["status"] == "emerging"
    assert row["last_week_claims"] == 5
    assert row["rise_p_value"] < 0.01
    assert members["status"].unique().to_list() == ["emerging"]
    assert members.height == 7


def test_rise_over_recent_weeks_does_not_hide_in_its_own_baseline():
    # One claim a month for five months, then 2, 3, 3 and 3 claims in the last four weeks.
    rows = [denial(remit_date=AS_OF - timedelta(days=d)) for d in (60, 90, 120, 150, 170)]
    rows += [denial(remit_date=AS_OF - timedelta(days=7 * week + d))
             for week, per_week in ((3, 2), (2, 3), (1, 3), (0, 3)) for d in range(per_week)]
    clusters, _ = find_clusters(frame(rows), AS_OF, threshold=50)
    row = clusters.row(0, named=True)
    assert row["status"] == "emerging"
    assert row["last_week_claims"] == 3
    assert row["baseline_weekly_claims"] == pytest.approx(5 / 21)  # weeks 4..24


def test_emerging_needs_three_claims_last_week():
    rows = [denial(remit_date=AS_OF - timedelta(days=d)) for d in (1, 2)]
    clusters, _ = find_clusters(frame(rows), AS_OF)
    assert clusters.is_empty()


def test_rerun_is_identical_and_ids_are_deterministic():
    rows = planted(12) + background()
    first = find_clusters(frame(rows), AS_OF)
    second = find_clusters(frame(list(reversed(rows))), AS_OF)
    assert first[0].equals(second[0])
    assert first[1].equals(second[1])
    cid = first[0]["cluster_id"].item()
    assert cid == cluster_id("CCWA1", "CO-197|N54", 180, "1999999984", "")
    assert cid != cluster_id("UHCCP", "CO-197|N54", 180)
    # The next night the same problem keeps its id, so analysts can follow it.
    next_night = find_clusters(frame(rows), AS_OF + timedelta(days=1))
    assert next_night[0]["cluster_id"].to_list() == [cid]


def test_example_claim_is_a_member():
    rows = planted(12) + background()
    clusters, members = find_clusters(frame(rows), AS_OF)
    cluster = clusters.row(0, named=True)
    mine = members.filter(pl.col("cluster_id") == cluster["cluster_id"])
    assert cluster["example_claim_key"] in mine["claim_key"].to_list()
    assert cluster["example_patient_control_number"] in mine["patient_control_number"].to_list()


def test_example_claim_is_the_latest_then_largest_then_first_by_key():
    """Among members carrying the same shared features: the latest remit, then the largest denied
    amount, then the smallest claim key (so that one claim is the example, whatever the order)."""
    rows = planted(12) + background()
    late = [rows[5]["claim_key"], rows[7]["claim_key"]]
    for i in (5, 7):
        rows[i] = dict(rows[i], remit_date=AS_OF - timedelta(days=1), denied_amount=150.0)
    example = lambda rows: find_clusters(frame(rows), AS_OF)[0]["example_claim_key"].item()  # noqa: E731
    assert example(rows) == example(list(reversed(rows))) == min(late)
    rows[7] = dict(rows[7], denied_amount=300.0)
    assert example(rows) == rows[7]["claim_key"]


@pytest.mark.parametrize("signature, text", [("CO-197|N54", "CO-197 (N54)"), ("CO-29", "CO-29")])
def test_format_codes(signature, text):
    assert format_codes(signature) == text


def test_empty_denials():
    clusters, members = find_clusters(conform(pl.DataFrame(), "denials"), AS_OF)
    assert clusters.is_empty() and members.is_empty()


def test_trend_clusters_with_claims_view_joins_members_to_denials():
    denials = frame(planted(12) + background())
    trend_clusters, trend_cluster_claims = find_clusters(denials, AS_OF)
    sql = (SQL_DIR / "analyst_trend_clusters_with_claims.sql").read_text()
    assert sql.startswith("-- ")
    con = duckdb.connect()
    for name, table in (("denials", denials), ("trend_clusters", trend_clusters),
                        ("trend_cluster_claims", trend_cluster_claims)):
        con.register(f"{name}_frame", table.to_arrow())
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
    con.execute(sql)
    rows = con.execute(
        "SELECT status, claim_count, is_example_claim, payer_claim_control_number, denied_amount "
        "FROM analyst_trend_clusters_with_claims").fetchall()
    assert len(rows) == 12
    assert rows[0][2] is True and sum(r[2] for r in rows) == 1
    assert all(r[0] == "flagged" and r[1] == 12 and r[3].startswith("ICN") for r in rows)
    assert sum(r[4] for r in rows) == Decimal("1800.00")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["CCWA1", "UHCCP", "SUNSH"]),
    st.sampled_from([("CO-197", "authorization"), ("CO-16", "missing_information"),
                     ("PR-1", "patient_responsibility")]),
    st.lists(st.sampled_from(["N54", "N290", "MA01"]), max_size=2, unique=True),
    st.integers(min_value=0, max_value=200),  # days before as-of
    st.integers(min_value=0, max_value=40),  # claim identity (repeats = re-adjudications)
), max_size=120))
def test_cluster_invariants(spec):
    rows = [denial(payer_id=payer, payer_name=payer, primary_reason=reason, category=category,
                   remark_codes=remarks, remit_date=AS_OF - timedelta(days=days),
                   patient_control_number=f"{payer}-{identity}")
            for payer, (reason, category), remarks, days, identity in spec]
    clusters, members = find_clusters(frame(rows), AS_OF, threshold=4)
    by_key = {r["claim_key"]: r for r in rows}
    for cluster in clusters.iter_rows(named=True):
        mine = members.filter(pl.col("cluster_id") == cluster["cluster_id"])
        claims = [by_key[k] for k in mine["claim_key"]]
        assert mine.height == cluster["claim_count"] == len({c["patient_control_number"] for c in claims})
        assert {c["payer_id"] for c in claims} == {cluster["payer_id"]}
        assert {c["primary_reason"] for c in claims} == {cluster["signature"].split("|")[0]}
        assert all(c["category"] != "patient_responsibility" for c in claims)
        assert all(AS_OF - timedelta(days=179) <= c["remit_date"] <= AS_OF for c in claims)
        assert (cluster["status"] == "flagged") == (cluster["claim_count"] >= 4)


def test_payer_counts_describe_the_clusters_as_every_837_does():
    """With the lift's population counted per payer (`payer_counts`, kept per batch by the trends
    stage), the 837s of the window's denials are enough: the same clusters as with every 837 of
    the payer given whole. A payer none of whose denials links to an 837 is compared with its own
    denials."""
    linked = planted(12) + background()
    unlinked = [dict(r, submitted_claim_key=None) for r in
                planted(12, payer_id="UHCCP", payer_name="UNITEDHEALTHCARE COMMUNITY PLAN")]
    unlinked += [dict(r, submitted_claim_key=None, **({"rendering_npi": "1234567893"} if i < 6 else {}))
                 for i, r in enumerate(background("UHCCP", "UNITEDHEALTHCARE COMMUNITY PLAN"))]
    others = [f"S9{i:04d}" for i in range(40)]  # the payer's 837s that were paid: the population only
    keys = [r["submitted_claim_key"] for r in linked] + others
    submitted = pl.DataFrame({
        "claim_key": keys,
        "payer_id": ["CCWA-837"] * len(keys),
        "payer_name": ["COORDINATED CARE"] * len(keys),
        "claim_filing_indicator": ["MC"] * len(keys),
        "prior_authorization": ["AUTH1" if i < 12 else None for i in range(len(keys))],
        "rendering_npi": [r["rendering_npi"] for r in linked] + ["1444444446"] * len(others),
        "place_of_service": ["11"] * len(keys),
    })
    lines = pl.DataFrame({
        "claim_key": keys,
        "procedure_code": [r["procedure_codes"][0] for r in linked] + ["99213"] * len(others),
        "modifiers": [["GP"] if i < 12 else [] for i in range(len(keys))],
        "rendering_npi": [None] * len(keys),
        "place_of_service": [None] * len(keys),
    }, schema_overrides={"rendering_npi": pl.String, "place_of_service": pl.String})
    denials = frame(linked + unlinked)
    whole = find_clusters(denials, AS_OF, submitted_claims=submitted, submitted_service_lines=lines)
    sent = pl.col("claim_key").is_in([r["submitted_claim_key"] for r in linked])
    counted = find_clusters(denials, AS_OF, submitted_claims=submitted.filter(sent),
                            submitted_service_lines=lines.filter(sent),
                            payer_counts=payer_feature_counts(submitted, lines))
    assert counted[0].equals(whole[0]) and counted[1].equals(whole[1])
    by_payer = {row["payer_id"]: row for row in counted[0].iter_rows(named=True)}
    assert "billed with modifier GP" in by_payer["CCWA1"]["description"]
    # its cluster's NPI is on 6 of its 30 other denials: lift 100% / (6 / 30) = 5
    assert "rendering_npi=1234567893 (100% of claims, lift 5.0)" in by_payer["UHCCP"]["shared_features"]
