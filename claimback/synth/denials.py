"""The denial mix and the planted payer trends of the synthetic inbox.

The background mix follows the industry figures in domain-brief §3.6 (about one claim in ten
denied in whole or part — part of one paid line too: units cut, authorization late — registration/eligibility the largest share, then authorization,
missing information and coding). Each kind carries the codes a payer would send for it, the
level it is sent at (whole claim or one line) and how likely a reconsideration wins, so a
model trained on the reconsideration log has real signal to learn. The planted trends are the
Claim Trend Identification cases the pipeline must find (10+ claims, one payer, same codes),
plus a look-alike below the threshold and one signature that is only starting to rise.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DenialKind:
    key: str
    category: str  # as claimback.codes classifies group + CARC + RARC (domain-brief §3.5)
    group: str  # CAS01
    carc: str
    rarcs: tuple[str, ...]
    # "claim": whole claim denied; "line": one service line denied; "partial": part of one
    # otherwise paid line denied (units cut, authorization late), the rest of it paid
    level: str
    weight: float  # share of background denials
    overturn_rate: float  # base chance a Level I reconsideration wins
    correctable: bool = False  # a frequency-7 corrected claim is the usual fix
    claim_status: str = "1"  # CLP02; 4 only when the payer cannot identify the patient


DENIAL_KINDS: tuple[DenialKind, ...] = (
    DenialKind("eligibility_terminated", "eligibility_registration", "CO", "27", ("N30",), "claim", 9, 0.18),
    DenialKind("eligibility_not_found", "eligibility_registration", "CO", "31", (), "claim", 6, 0.22, True, "4"),
    DenialKind("eligibility_ineligible", "eligibility_registration", "CO", "96", ("N30",), "claim", 4, 0.15),
    DenialKind("auth_absent", "authorization", "CO", "197", ("N54",), "line", 8, 0.30),
    DenialKind("auth_invalid", "authorization", "CO", "15", ("N54",), "claim", 3, 0.40),
    DenialKind("coding_modifier", "coding_bundling", "CO", "4", ("N519",), "line", 5, 0.35, True),
    DenialKind("coding_bundled", "coding_bundling", "CO", "97", ("M15",), "line", 6, 0.40),
    # CO-16 + M20 is a coding error, but the taxonomy files it under missing information.
    DenialKind("coding_invalid_code", "missing_information", "CO", "16", ("M20",), "line", 3, 0.30, True),
    DenialKind("coding_diagnosis", "coding_bundling", "CO", "11", ("M76",), "line", 2, 0.35, True),
    DenialKind("medical_necessity", "medical_necessity", "CO", "50", ("N115",), "line", 6, 0.38),
    # Only the emerging trend uses this one (weight 0): a new medical policy starts biting, so
    # background denials never blur how fast it rises.
    DenialKind("medical_policy", "medical_necessity", "CO", "50", ("M16",), "line", 0, 0.30),
    DenialKind("missing_records", "missing_information", "CO", "16", ("M127",), "claim", 4, 0.55, True),
    DenialKind("missing_rendering", "missing_information", "CO", "16", ("N290",), "line", 3, 0.50, True),
    DenialKind("unprocessable", "missing_information", "CO", "16", ("MA130",), "claim", 3, 0.30, True),
    DenialKind("attachment_required", "missing_information", "CO", "252", ("M127",), "claim", 2, 0.55),
    DenialKind("duplicate", "duplicate", "OA", "18", ("N522",), "claim", 4, 0.10),
    DenialKind("timely_filing", "timely_filing", "CO", "29", (), "claim", 4, 0.12),
    DenialKind("cob_other_payer", "wrong_payer_cob", "CO", "22", ("MA04",), "claim", 3, 0.15),
    DenialKind("cob_prior_payer", "wrong_payer_cob", "OA", "23", ("N4",), "line", 1, 0.20),
    DenialKind("wrong_payer", "wrong_payer_cob", "CO", "109", (), "claim", 3, 0.12),
    DenialKind("non_covered", "non_covered_benefit_limit", "CO", "96", ("N130",), "line", 3, 0.18),
    DenialKind("non_covered_patient", "non_covered_benefit_limit", "PR", "96", ("N130",), "line", 1, 0.10),
    DenialKind("benefit_plan", "non_covered_benefit_limit", "CO", "204", ("N130",), "line", 2, 0.15),
    # Payer errors carry only an appeal-rights alert: a remark naming a cause would file them
    # under that cause instead.
    DenialKind("payer_error", "payer_error", "CO", "A1", ("MA01",), "claim", 2, 0.80),
    DenialKind("payer_prior_processing", "payer_error", "CO", "129", ("N1",), "claim", 2, 0.75),
    # Cases the router decides on the codes or the claim's evidence (issue 15): a duplicate denial
    # of a claim sent once (the payer's error), a coverage lapse (another payer's claim), records
    # requested and a provider-type denial (Level I, not a corrected claim), and a claim the payer
    # forwarded itself (CLP02 23: wait for the other payer, do not rebill).
    DenialKind("duplicate_sent_once", "duplicate", "CO", "18", (), "claim", 2, 0.60),
    DenialKind("coverage_lapse", "eligibility_registration", "CO", "200", (), "claim", 1, 0.15),
    DenialKind("records_requested", "missing_information", "CO", "226", ("M127",), "claim", 1, 0.50),
    DenialKind("provider_type", "network_credentialing", "CO", "170", (), "line", 1, 0.35),
    DenialKind("forwarded", "wrong_payer_cob", "CO", "109", (), "claim", 1, 0.05, claim_status="23"),
    # Partial denials: the line is paid, less what the payer refuses (issue 14: counted too).
    DenialKind("units_cut", "medical_necessity", "CO", "151", (), "partial", 3, 0.30),
    DenialKind("auth_late", "authorization", "CO", "210", (), "partial", 2, 0.35),
    # Never drawn (weight 0): the payer's answer to an upheld Level I on a new 835, CO-193
    # "original payment decision is being maintained" (story.py), which the router sends to Level II.
    DenialKind("decision_maintained", "payer_error", "CO", "193", (), "claim", 0, 0.30),
    # Never drawn (weight 0): the evidence cases `claimback.synth.evidence` plants on a few denied
    # claims. CO-288 "referral absent" on a claim that carried REF*9F, and CO-22 "may be covered by
    # another payer per coordination of benefits" on a claim billed as secondary with loop 2320.
    # Appended last so the drawn kinds keep their index and the mix draws do not move.
    DenialKind("referral_absent", "authorization", "CO", "288", (), "claim", 0, 0.55),
    DenialKind("cob_billed_secondary", "wrong_payer_cob", "CO", "22", (), "claim", 0, 0.50),
)
KIND_INDEX = {k.key: i for i, k in enumerate(DENIAL_KINDS)}


@dataclass(frozen=True)
class PlantedTrend:
    trend_id: str
    payer_id: str
    kind: str  # key into DENIAL_KINDS (group/CARC/RARC of the signature)
    procedure: str  # the service line the payer denies
    provider: int  # index into PROVIDERS
    renderer: int | None  # one rendering provider, or any
    claims: int
    window_days: tuple[int, int]  # remit dates, days before as_of (older, newer)
    expected: str  # flagged (>= 10 claims), below_threshold, emerging
    with_auth: bool  # the 837 carried REF*G1, so the denial is the payer's error
    description: str


PLANTED_TRENDS: tuple[PlantedTrend, ...] = (
    PlantedTrend("T1", "CCWA1", "auth_absent", "97110", 0, 2, 25, (110, 85), "flagged", True,
                 "CO-197/N54 on 97110 by one rendering therapist although REF*G1 auth was sent"),
    PlantedTrend("T2", "UHCCP", "missing_rendering", "99214", 1, None, 18, (70, 45), "flagged", False,
                 "CO-16/N290 on 99214 although NM1*82 rendering NPI was on the claim"),
    PlantedTrend("T3", "LHCC1", "coding_bundled", "96374", 3, None, 12, (150, 125), "flagged", False,
                 "CO-97/M15 bundling IV push 96374 into the ED visit"),
    PlantedTrend("T4", "SUNSH", "auth_absent", "97110", 0, 1, 6, (100, 80), "below_threshold", True,
                 "same CO-197/N54 on 97110 at another payer, below the 10-claim threshold"),
    PlantedTrend("T5", "ACME1", "medical_policy", "97140", 0, None, 9, (28, 0), "emerging", False,
                 "CO-50/M16 on 97140 since a new medical policy, rising over the last four weeks"),
)
