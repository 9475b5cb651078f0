"""Payer rules: the shipped file, payer matching, fallbacks, and loud failures on bad files."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from claimback.routing import ANCHORS, LEVELS, PACKAGED_RULES, PayerRulesError, load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def write_rules(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(PACKAGED_RULES.read_text())
    mutate(doc)
    path = tmp_path / "my_rules.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("payer_id", "payer_name", "rule", "level1_days", "anchor"),
    [
        ("CCWA1", "COORDINATED CARE OF WASHINGTON", "coordinated_care_wa", 30, "original_remit"),
        ("SUNSH", "SUNSHINE HEALTH", "sunshine_health", 90, "original_remit"),
        ("CSOH1", "CARESOURCE OHIO", "caresource_ohio", 365, "date_of_service"),
        ("LHCC1", "LOUISIANA HEALTHCARE CONNECTIONS", "louisiana_healthcare_connections", 180, "original_remit"),
        ("UHCCP", "UNITEDHEALTHCARE COMMUNITY PLAN", "uhc_community_plan", 120, "original_remit"),
    ],
)
def test_demo_payers_match_their_documented_rules(rules, payer_id, payer_name, rule, level1_days, anchor):
    by_id = rules.for_payer(payer_id, payer_name)
    assert (by_id.name, by_id.levels["level1"].days, by_id.levels["level1"].anchor) == (rule, level1_days, anchor)
    assert not by_id.is_default
    # The same payer is found by its name when the 835 carries another payer id.
    assert rules.for_payer("OTHER", payer_name.title()).name == rule


def test_unknown_payer_falls_back_to_default_and_says_so(rules):
    rule = rules.for_payer("ACME1", "ACME COMMERCIAL HEALTH")
    assert rule.is_default and rule.name == "default"
    assert "default" in rule.matched_by
    assert set(rule.levels) == set(LEVELS)


def test_every_shipped_window_has_a_source_and_valid_anchor(rules):
    for payer in rules.all_rules():
        for level, window in payer.levels.items():
            assert window.anchor in ANCHORS
            assert window.source.strip(), (payer.name, level)
            assert window.days > 0


def test_level2_counts_from_the_level1_decision_for_sunshine(rules):
    level2 = rules.for_payer("SUNSH", None).levels["level2"]
    assert (level2.days, level2.anchor) == (90, "level1_decision")


def test_coordinated_care_washington_floor_is_marked_unconfirmed(rules):
    level1 = rules.for_payer("CCWA1", None).levels["level1"]
    assert level1.confirmed is False and "284-170-440" in level1.source


def test_uhc_adds_three_mail_days(rules):
    assert rules.for_payer("UHCCP", None).levels["level1"].mail_days == 3


def test_missing_level_is_inherited_from_default(rules):
    generic = rules.for_payer(None, "Ambetter Health Plan")
    assert generic.name == "ambetter"
    assert generic.levels["corrected_claim"].inherited
    assert generic.levels["corrected_claim"].days == rules.default.levels["corrected_claim"].days
    assert not generic.levels["level1"].inherited


def test_trend_threshold_defaults_to_ten(rules):
    assert rules.for_payer("CCWA1", None).trend_threshold == 10
    assert rules.default.trend_threshold == 10


def test_override_file_replaces_the_packaged_windows(tmp_path):
    def longer(doc):
        doc["version"] = "local-1"
        doc["payers"][0]["level1"]["days"] = 45

    rules = load_rules(write_rules(tmp_path, longer))
    assert rules.version == "local-1"
    assert rules.for_payer("CCWA1", None).levels["level1"].days == 45


def test_anchor_typo_names_file_key_path_and_suggestion(tmp_path):
    def typo(doc):
        doc["payers"][2]["level1"]["anchor"] = "orignal_remit"

    path = write_rules(tmp_path, typo)
    with pytest.raises(PayerRulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "payers[2].level1.anchor" in message
    assert "'orignal_remit'" in message and "did you mean 'original_remit'" in message


def test_unknown_key_is_an_error_not_ignored(tmp_path):
    def typo(doc):
        doc["payers"][0]["level1"]["mail_day"] = 3

    with pytest.raises(PayerRulesError, match=r"payers\[0\]\.level1\.mail_day: unknown key 'mail_day'; did you mean 'mail_days'"):
        load_rules(write_rules(tmp_path, typo))


def test_unknown_level_name_is_an_error(tmp_path):
    def typo(doc):
        doc["payers"][1]["levle2"] = doc["payers"][1].pop("level2")

    with pytest.raises(PayerRulesError, match=r"payers\[1\]\.levle2: unknown key 'levle2'; did you mean 'level2'"):
        load_rules(write_rules(tmp_path, typo))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda doc: doc["payers"][0]["level1"].__setitem__("days", "thirty"), r"payers\[0\]\.level1\.days: must be a whole number"),
        (lambda doc: doc["payers"][0]["level1"].__setitem__("days", -5), r"payers\[0\]\.level1\.days"),
        (lambda doc: doc["payers"][0]["level1"].pop("source"), r"payers\[0\]\.level1\.source: required key is missing"),
        (lambda doc: doc["payers"][0]["match"].__setitem__("name_regex", "COORD(("), r"payers\[0\]\.match\.name_regex: not a valid regular expression"),
        (lambda doc: doc["payers"][0].__setitem__("match", {}), r"payers\[0\]\.match: needs payer_ids and/or name_regex"),
        (lambda doc: doc["default"].pop("level2"), r"default\.level2: required key is missing"),
        (lambda doc: doc["payers"][1].__setitem__("name", doc["payers"][0]["name"]), r"payers\[1\]\.name: duplicate payer name"),
        (lambda doc: doc.__setitem__("overturn_priors", {"categories": {"payer_error": 1.7}}),
         r"overturn_priors\.categories\.payer_error"),
        (lambda doc: doc["payers"][0]["level1"].__setitem__("confirmed", "no"), r"payers\[0\]\.level1\.confirmed"),
    ],
)
def test_malformed_values_fail_fast_with_their_key_path(tmp_path, mutate, expected):
    with pytest.raises(PayerRulesError, match=expected):
        load_rules(write_rules(tmp_path, mutate))


def test_every_problem_is_listed_at_once(tmp_path):
    def two(doc):
        doc["payers"][0]["level1"]["anchor"] = "remit"
        doc["payers"][3]["level2"]["days"] = "90d"

    with pytest.raises(PayerRulesError) as caught:
        load_rules(write_rules(tmp_path, two))
    assert len(caught.value.problems) == 2


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\npayers:\n  - name: [unclosed\n")
    with pytest.raises(PayerRulesError, match=r"broken\.yaml.*\n.*not valid YAML at line \d+"):
        load_rules(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PayerRulesError, match="cannot read the file"):
        load_rules(tmp_path / "nope.yaml")


def test_resubmission_option_is_validated(tmp_path):
    def typo(doc):
        doc["payers"][0]["denied_claim_resubmission"] = "new claim"

    with pytest.raises(PayerRulesError, match=r"payers\[0\]\.denied_claim_resubmission: unknown value 'new claim'; did you mean 'new_claim'"):
        load_rules(write_rules(tmp_path, typo))
    assert load_rules().for_payer("SUNSH", None).denied_claim_resubmission == "replacement"


# --- products: a rule may name the claim filing indicators (CLP06 / SBR09) it applies to ----------
def _with_marketplace_rule(doc):
    # Ahead of the Medicaid rule of the same payer id: a commercial (CI, marketplace) product of
    # Sunshine with a longer window. Written for this test; the shipped file names no products yet.
    doc["payers"].insert(0, {
        "name": "sunshine_marketplace", "match": {"payer_ids": ["SUNSH"], "products": ["CI"]},
        "level1": {"days": 180, "anchor": "original_remit", "source": "test: a marketplace product's own window"},
    })


def test_a_rule_with_products_matches_only_claims_of_those_products(tmp_path):
    rules = load_rules(write_rules(tmp_path, _with_marketplace_rule))
    assert rules.for_payer("SUNSH", "SUNSHINE HEALTH", "CI").name == "sunshine_marketplace"
    assert rules.for_payer("SUNSH", "SUNSHINE HEALTH", "ci ").levels["level1"].days == 180
    assert "for product CI" in rules.for_payer("SUNSH", None, "CI").matched_by
    # another product, or none known: the rule never applies; the payer's unscoped rule does
    assert rules.for_payer("SUNSH", "SUNSHINE HEALTH", "MC").name == "sunshine_health"
    assert rules.for_payer("SUNSH", "SUNSHINE HEALTH").name == "sunshine_health"


@pytest.mark.parametrize(("products", "expected"), [
    (["XX"], "unknown claim filing indicator 'XX'"),
    ("MC", "must be a non-empty list"),
    ([], "must be a non-empty list"),
])
def test_products_are_validated(tmp_path, products, expected):
    def bad(doc):
        doc["payers"][0]["match"]["products"] = products

    with pytest.raises(PayerRulesError) as err:
        load_rules(write_rules(tmp_path, bad))
    assert "payers[0].match.products" in str(err.value) and expected in str(err.value)


def test_the_router_scopes_payer_rules_by_the_claims_product(tmp_path):
    import datetime as dt

    from .route_inbox import work_queue_of
    from .x12_inbox import Claim837, Remit, claims_837, remit_835, write

    # Two claims at Sunshine denied CO-129 "prior processing information appears incorrect"
    # (a payer error: Level I), one adjudicated as Medicaid (CLP06 MC), one as commercial (CI).
    inbox = tmp_path / "inbox"
    write(inbox, "claims.837", claims_837("SUNSHINE HEALTH", "SUNSH", [
        Claim837("PM1", "M201", "20260105", "99213"), Claim837("PC1", "M202", "20260105", "99214")],
        "20260108", "000000401"))
    write(inbox, "remit.835", remit_835("SUNSHINE HEALTH", "SUNSH", [
        Remit("PM1", "PM1-ICN", "M201", "20260105", "99213", adjustments=[("CO", "129", "150")]),
        Remit("PC1", "PC1-ICN", "M202", "20260105", "99214", adjustments=[("CO", "129", "150")],
              product="CI")], "20260201", "000000402"))
    queue = work_queue_of(inbox, tmp_path / "warehouse", dt.date(2026, 3, 1),
                          write_rules(tmp_path, _with_marketplace_rule))
    rows = {r["patient_control_number"]: r for r in queue.iter_rows(named=True)}
    assert rows["PM1"]["payer_rule"] == "sunshine_health"
    assert rows["PM1"]["deadline"] == dt.date(2026, 5, 2)  # 90 days from the 2026-02-01 remit
    assert rows["PC1"]["payer_rule"] == "sunshine_marketplace"
    assert rows["PC1"]["deadline"] == dt.date(2026, 7, 31)  # 180 days
