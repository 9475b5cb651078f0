"""The packaged code lists: every row valid, codes unique, the vocabularies respected."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from claimback import codes
from claimback.schema import ROUTES
from tests.conftest import SHARED

PYX12_2017 = SHARED / "code-lists" / "azoner_pyx12@99b67c2__pyx12_map_codes.xml"
PYX12_CURRENT = SHARED / "code-lists" / "azoner_pyx12__pyx12_map_codes.xml"


def _pyx12_codes(path, codeset: str) -> set[str]:
    if not path.is_file():
        pytest.skip(f"pyx12 code list not found at {path}")
    root = ET.parse(path).getroot()
    for entry in root.findall("codeset"):
        if entry.findtext("id") == codeset:
            return {code.text.strip() for code in entry.iter("code")}
    raise AssertionError(f"{codeset} missing from {path}")


@pytest.mark.parametrize("loader", [codes.carc, codes.rarc, codes.group_codes, codes.claim_status_codes])
def test_codes_are_unique_trimmed_strings(loader):
    frame = loader()
    assert frame.schema["code"] == pl.String
    assert frame["code"].null_count() == 0
    assert frame["code"].is_duplicated().sum() == 0
    assert (frame["code"] == frame["code"].str.strip_chars().str.to_uppercase()).all()


def test_carc_rows_use_only_the_vocabularies():
    carc = codes.carc()
    assert set(carc["category"]) <= set(codes.CATEGORIES)
    assert set(carc["fixable_by"]) <= set(codes.FIXABLE_BY)
    assert set(carc["adjustment_kind"]) <= set(codes.ADJUSTMENT_KINDS)
    routes = set(carc["suggested_route"].drop_nulls())
    assert routes <= set(codes.SUGGESTED_ROUTES) <= set(ROUTES)
    assert carc["label"].null_count() == 0
    assert carc.schema["effective_date"] == pl.Date and carc.schema["stop_date"] == pl.Date


def test_carc_kinds_agree_with_categories():
    carc = codes.carc()
    shares = carc.filter(pl.col("adjustment_kind") == "patient_share")
    assert set(shares["category"]) == {"patient_responsibility"}
    denials = carc.filter(pl.col("adjustment_kind") == "denial")
    assert "patient_responsibility" not in set(denials["category"])
    no_route = carc.filter(pl.col("adjustment_kind").is_in(["patient_share", "informational"]))
    assert no_route["suggested_route"].null_count() == no_route.height


def test_carc_list_is_complete():
    carc = set(codes.carc()["code"])
    assert {str(n) for n in range(1, 297)} <= carc
    for prefix, last in (("A", 8), ("B", 23), ("D", 21), ("P", 29)):
        assert {f"{prefix}{n}" for n in range(1 if prefix != "A" else 0, last + 1)} <= carc


def test_every_pyx12_carc_is_listed():
    assert _pyx12_codes(PYX12_2017, "adjustment_reason") <= set(codes.carc()["code"])


def test_every_pyx12_rarc_is_listed():
    listed = set(codes.rarc()["code"])
    assert _pyx12_codes(PYX12_CURRENT, "remark_code") <= listed
    assert _pyx12_codes(PYX12_2017, "remark_code") <= listed


def test_deactivated_codes_carry_a_stop_date():
    carc = codes.carc()
    stopped = set(carc.filter(pl.col("stop_date").is_not_null())["code"])
    assert {"42", "125", "A2", "A7", "D1", "D21", "W1"} <= stopped
    assert not {"45", "197", "16", "P29", "A1"} & stopped


def test_domain_brief_common_codes_have_the_expected_meaning():
    carc = {row["code"]: row for row in codes.carc().iter_rows(named=True)}
    expected = {
        "16": ("missing_information", "denial"),
        "18": ("duplicate", "denial"),
        "22": ("wrong_payer_cob", "denial"),
        "29": ("timely_filing", "denial"),
        "45": ("contractual_underpayment", "pricing"),
        "50": ("medical_necessity", "denial"),
        "97": ("coding_bundling", "denial"),
        "109": ("wrong_payer_cob", "denial"),
        "197": ("authorization", "denial"),
        "204": ("non_covered_benefit_limit", "denial"),
        "242": ("network_credentialing", "denial"),
        "253": ("contractual_underpayment", "pricing"),
        "1": ("patient_responsibility", "patient_share"),
        "23": ("wrong_payer_cob", "cob"),
    }
    for code, (category, kind) in expected.items():
        assert (carc[code]["category"], carc[code]["adjustment_kind"]) == (category, kind), code
    assert carc["109"]["suggested_route"] == "rebill_other_payer"
    assert carc["50"]["suggested_route"] == "clinical_appeal"
    assert carc["4"]["suggested_route"] == "corrected_claim"


COMMON_RARCS = (
    "N30 MA04 N479 M127 N290 MA130 N115 N386 M15 M80 N20 N54 N4 N362 MA01 MA18 M86 N519 N522 N211 "
    "N657 N702 M51 M76 M77 N56 N130 N19 N95 N381"
).split()


def test_common_rarcs_have_labels():
    rarc = codes.rarc().filter(pl.col("code").is_in(COMMON_RARCS))
    assert set(rarc["code"]) == set(COMMON_RARCS)
    assert rarc["label"].null_count() == 0


def test_rarc_hints_use_the_categories_and_are_set_where_they_matter():
    rarc = codes.rarc()
    assert set(rarc["category_hint"].drop_nulls()) <= set(codes.CATEGORIES) - {"unknown"}
    hints = dict(zip(rarc["code"], rarc["category_hint"], strict=True))
    assert hints["N30"] == "eligibility_registration"
    assert hints["MA04"] == "wrong_payer_cob" and hints["N479"] == "wrong_payer_cob"
    assert hints["N54"] == "authorization"
    assert hints["N115"] == hints["N386"] == "medical_necessity"
    assert hints["M127"] == hints["N290"] == hints["MA130"] == "missing_information"
    assert hints["MA01"] is None  # an alert says nothing about the cause


def test_rarc_codes_have_the_official_shape():
    assert codes.rarc()["code"].str.contains(r"^(M|MA|N)[0-9]{1,3}$").all()
    assert all(re.fullmatch(r"[0-9]{1,3}|[A-Z][0-9]{1,2}", code) for code in codes.carc()["code"])


def test_group_and_claim_status_lists():
    groups = codes.group_codes()
    assert set(groups["code"]) == set(codes.GROUP_CODES)
    assert groups.filter(pl.col("code") == "PR")["patient_may_be_billed"].item() is True
    assert groups.filter(pl.col("code") == "CR")["valid_in_5010"].item() is False
    status = {row["code"]: row for row in codes.claim_status_codes().iter_rows(named=True)}
    assert {"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"} <= set(status)
    assert status["22"]["is_reversal"] and not status["1"]["is_reversal"]
    assert status["4"]["is_denied"] and not status["1"]["is_denied"]
    assert status["19"]["is_forwarded"] and status["23"]["is_forwarded"]
    assert status["25"]["is_predetermination"]
    assert status["2"]["payer_order"] == "secondary"


def test_packaged_lists_are_tracked_by_git():
    """The root .gitignore's `data/` rule also matches claimback/codes/data: a fresh clone must still have them."""
    import shutil
    import subprocess

    from tests.conftest import ROOT

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "claimback/codes/data"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    expected = {f"claimback/codes/data/{name}" for name in ("carc.csv", "rarc.csv", "groups.csv", "claim_status.csv")}
    assert expected <= set(tracked)
