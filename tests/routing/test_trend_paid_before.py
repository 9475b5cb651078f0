"""A burst of CO-197 on a procedure the payer used to pay without an authorization is the payer's
trend, not the provider's fix: a hand-written inbox (837 + 835) through ingest and denials.

Twelve members' 97110 visits of January are denied CO-197/N54 with no REF*G1 on the 837s; in
November and December the same payer paid 97110 for three other members, also sent without an
authorization. Without that history the cluster reads as authorizations the practice never got.
"""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from claimback import stages, trends
from claimback.routing import evidence

from .route_inbox import denials_of
from .x12_inbox import Claim837, Remit, claims_837, remit_835, write

AS_OF = dt.date(2026, 3, 1)
PAYER = ("SUNFLOWER HEALTH PLAN", "SUNFL")


def _paid_history(inbox, controls: str) -> None:
    """November and December: the payer paid 97110 for three other members, sent without an
    authorization (interchange control numbers `controls` followed by 1, then 2)."""
    paid = [Claim837(f"OK{i}", f"P{i}", f"202511{10 + i}", "97110") for i in range(3)]
    write(inbox, "paid.837", claims_837(*PAYER, paid, "20251125", f"{controls}1"))
    write(inbox, "paid.835", remit_835(*PAYER, [
        Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", paid="150") for c in paid],
        "20251215", f"{controls}2"))


@pytest.fixture(scope="module")
def lake_tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("trend_paid_before")
    inbox = root / "inbox"
    _paid_history(inbox, "00000040")
    denied = [Claim837(f"AU{i:02d}", f"D{i:02d}", "20260105", "97110") for i in range(12)]
    write(inbox, "denied.837", claims_837(*PAYER, denied, "20260108", "000000403"))
    write(inbox, "denied.835", remit_835(*PAYER, [
        Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", adjustments=[("CO", "197", "150")],
              remarks=["N54"]) for c in denied], "20260201", "000000404"))
    lake = denials_of(inbox, root / "warehouse", AS_OF).lake
    return {name: lake.read(name) for name in
            ("denials", "submitted_claims", "remit_claims", "remit_service_lines")}


def _status(tables, with_history: bool) -> str:
    history = evidence.paid_before(tables["denials"], tables["remit_claims"], tables["remit_service_lines"],
                                   tables["submitted_claims"]) if with_history else None
    clusters, _ = trends.find_clusters(tables["denials"], AS_OF, submitted_claims=tables["submitted_claims"],
                                       paid_before=history)
    assert clusters.height == 1 and clusters["claim_count"][0] == 12
    return clusters["status"][0]


def test_payer_paid_the_procedure_without_authorization_so_the_burst_is_its_trend(lake_tables):
    assert _status(lake_tables, with_history=True) == "flagged"


def test_without_that_history_the_burst_is_the_providers_fix(lake_tables):
    assert _status(lake_tables, with_history=False) == "provider_fix"


def test_paid_before_counts_each_denied_claims_history(lake_tables):
    history = evidence.paid_before(lake_tables["denials"], lake_tables["remit_claims"],
                                   lake_tables["remit_service_lines"], lake_tables["submitted_claims"])
    assert history.height == 12 and set(history["paid_before_count"]) == {3}


def test_an_authorization_sent_only_on_the_lines_is_on_file_for_the_trend(tmp_path):
    """Twelve CO-197/N54 denials whose 837s carry the authorization on the service line (loop 2400
    REF*G1, 005010X222A1 allows it there when it applies to one line) and none on the claim: the
    cluster is "authorization on file", the payer's problem, not the provider's fix."""
    inbox = tmp_path / "inbox"
    denied = [Claim837(f"LA{i:02d}", f"L{i:02d}", "20260105", "97110", line_refs=[f"REF*G1*AUTH{i:02d}"])
              for i in range(12)]
    write(inbox, "line_auth.837", claims_837(*PAYER, denied, "20260108", "000000501"))
    write(inbox, "line_auth.835", remit_835(*PAYER, [
        Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", adjustments=[("CO", "197", "150")],
              remarks=["N54"]) for c in denied], "20260201", "000000502"))
    lake = denials_of(inbox, tmp_path / "warehouse", AS_OF).lake
    clusters, _ = trends.find_clusters(
        lake.read("denials"), AS_OF, submitted_claims=lake.read("submitted_claims"),
        submitted_service_lines=lake.read("submitted_service_lines"))
    assert clusters.height == 1 and clusters["claim_count"][0] == 12
    assert clusters["status"][0] == "flagged"
    assert clusters["prior_auth_claims"][0] == 12


@pytest.mark.parametrize("older", [0, 20])
def test_trends_read_only_the_payments_that_can_count(tmp_path, older):
    """Trends read the remits by date (stages.window_paid_before): a payment counts when remitted in
    the 180 days before the denial's remit, so those remitted 179 and 180 days before the twelve
    denials of 2026-02-01 count, one 181 days before does not, one 182 days before is not even
    read; the counts are those of `evidence.paid_before` over every remit. With `older` payments
    of a year before, the remits read are a minority and their lines and 837s are read by key."""
    inbox = tmp_path / "inbox"
    remitted = dt.date(2026, 2, 1)
    if older:
        old = [Claim837(f"YR{i:02d}", f"Y{i:02d}", "20241201", "97110") for i in range(older)]
        write(inbox, "year.837", claims_837(*PAYER, old, "20241205", "000000301"))
        write(inbox, "year.835", remit_835(*PAYER, [
            Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", paid="150") for c in old],
            "20250110", "000000302"))
    for days in (179, 180, 181, 182):
        day = remitted - dt.timedelta(days=days)
        visit = (day - dt.timedelta(days=20)).strftime("%Y%m%d")
        paid = Claim837(f"OLD{days}", f"M{days}", visit, "97110")
        write(inbox, f"paid{days}.837", claims_837(*PAYER, [paid], visit, f"000{days}001"))
        write(inbox, f"paid{days}.835", remit_835(*PAYER, [
            Remit(paid.pcn, f"{paid.pcn}-ICN", paid.member, visit, "97110", paid="150")],
            day.strftime("%Y%m%d"), f"000{days}002"))
    denied = [Claim837(f"AU{i:02d}", f"D{i:02d}", "20260105", "97110") for i in range(12)]
    write(inbox, "denied.837", claims_837(*PAYER, denied, "20260108", "000000403"))
    write(inbox, "denied.835", remit_835(*PAYER, [
        Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", adjustments=[("CO", "197", "150")],
              remarks=["N54"]) for c in denied], remitted.strftime("%Y%m%d"), "000000404"))
    lake = denials_of(inbox, tmp_path / "warehouse", AS_OF).lake
    window = lake.read("denials")
    counted = stages.window_paid_before(lake, window).sort("claim_key")
    assert counted.height == 12 and set(counted["paid_before_count"]) == {2}  # 179 and 180 days before
    every = evidence.paid_before(window, lake.read("remit_claims"), lake.read("remit_service_lines"),
                                 lake.read("submitted_claims")).sort("claim_key")
    assert counted.equals(every)


def test_paid_before_is_counted_only_for_the_authorization_clusters(tmp_path):
    """Beside the twelve CO-197/N54 denials, twelve CO-16/M51 (missing information) denials of the
    same procedure, payer and practice: given as a function of the claims, "paid before" is counted
    for the authorization cluster's twelve claims alone, and both clusters come out as when it is
    counted for every denial."""
    inbox = tmp_path / "inbox"
    _paid_history(inbox, "00000060")
    auth = [Claim837(f"AU{i:02d}", f"D{i:02d}", "20260105", "97110") for i in range(12)]
    info = [Claim837(f"MI{i:02d}", f"M{i:02d}", "20260106", "97110") for i in range(12)]
    write(inbox, "denied.837", claims_837(*PAYER, auth + info, "20260108", "000000603"))
    write(inbox, "denied.835", remit_835(*PAYER, [
        Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", adjustments=[("CO", "197", "150")],
              remarks=["N54"]) for c in auth] + [
        Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", adjustments=[("CO", "16", "150")],
              remarks=["M51"]) for c in info], "20260201", "000000604"))
    lake = denials_of(inbox, tmp_path / "warehouse", AS_OF).lake
    tables = {name: lake.read(name) for name in ("denials", "submitted_claims", "remit_claims", "remit_service_lines")}
    every = evidence.paid_before(tables["denials"], tables["remit_claims"], tables["remit_service_lines"],
                                 tables["submitted_claims"])
    assert every.filter(pl.col("paid_before_count") > 0).height == 24  # both kinds have the history
    asked = []

    def counted_for(claims: pl.DataFrame) -> pl.DataFrame:
        asked.append(claims)
        return every.join(claims, on="claim_key", how="semi")

    clusters = {}
    for paid_before in (every, counted_for):
        found, _ = trends.find_clusters(tables["denials"], AS_OF, submitted_claims=tables["submitted_claims"],
                                        paid_before=paid_before)
        clusters[paid_before is every] = found.select("cluster_id", "category", "status").sort("cluster_id")
    assert clusters[True].equals(clusters[False])
    assert dict(clusters[True].select("category", "status").iter_rows()) == {
        "authorization": "flagged", "missing_information": "flagged"}
    pcns = tables["denials"].join(asked[0], on="claim_key")["patient_control_number"]
    assert len(asked) == 1 and sorted(pcns) == [c.pcn for c in auth]
