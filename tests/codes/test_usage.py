"""usage_findings: CARCs sent with a group they may not use, or without the remark they need."""
from __future__ import annotations

import polars as pl

from claimback import codes
from claimback.schema import empty

ADJUSTMENTS = pl.DataFrame(
    {
        "claim_key": ["a", "b", "c", "c", "d", "e", "f"],
        "line_number": [None, None, 1, 2, 1, None, 1],
        "group_code": ["CO", "OA", "CO", "CO", "CO", "PR", "CO"],
        "reason_code": ["23", "23", "16", "16", "252", "45", "A1"],
    },
    schema_overrides={"line_number": pl.Int64},
)
REMARKS = pl.DataFrame(
    {"claim_key": ["c", "d"], "line_number": [1, None], "remark_code": ["M51", "M127"]},
    schema_overrides={"line_number": pl.Int64},
)


def test_group_rules():
    found = codes.usage_findings(ADJUSTMENTS)
    assert found.select("claim_key", "rule").rows() == [("a", "group_not_allowed")]
    assert found["message"].item() == "CO-23: CARC 23 may only be sent with group OA"


def test_remark_rules_take_line_and_claim_level_remarks():
    found = codes.usage_findings(ADJUSTMENTS, REMARKS).filter(pl.col("rule") == "remark_missing")
    # c line 1 has its remark, d's claim-level remark covers its line, e (PR-45) needs none.
    assert found.select("claim_key", "line_number", "reason_code").rows() == [("c", 2, "16"), ("f", 1, "A1")]
    assert "requires one" in found["message"][0]


def test_the_contract_tables_and_unknown_codes():
    assert codes.usage_findings(empty("remit_adjustments"), empty("remit_remarks")).height == 0
    odd = pl.DataFrame({"claim_key": ["x"], "line_number": [None], "group_code": [None], "reason_code": ["Q9"]})
    assert codes.usage_findings(odd, empty("remit_remarks")).height == 0


def test_every_usage_rule_in_the_list_is_well_formed():
    carc = codes.carc()
    groups = carc["allowed_groups"].drop_nulls().str.split(" ").explode()
    assert set(groups) <= set(codes.GROUP_CODES)
    required = set(carc.filter(pl.col("requires_remark"))["code"])
    assert {"16", "96", "129", "148", "226", "227", "234", "237", "250", "251", "252", "A1"} <= required
    assert carc.filter(pl.col("code") == "45")["allowed_groups"].item() == "CO PR"
