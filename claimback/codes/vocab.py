"""The fixed vocabularies of the denial taxonomy: categories, who fixes them, routes, kinds.

Every code row and every classified adjustment uses only these words, so the denials
engine, the trend finder, the router and the analysts' SQL can rely on them. The category
list is the root-cause taxonomy of the domain brief (§3.5); `unknown` is for codes we have
no category for (new codes from an official list, payer-invented codes).
"""
from __future__ import annotations

from claimback.codes import registry

# The root-cause categories, as the code registry (codes/data/registry.yaml `categories`) lists
# them: a new category is one entry there (and its codes in carc.csv), nothing here.
CATEGORIES: tuple[str, ...] = registry.category_names()

FIXABLE_BY: tuple[str, ...] = (
    "front_end",
    "billing",
    "coding",
    "clinical",
    "credentialing",
    "contracting",
    "payer",
    "patient",
)

# Routes a code alone can suggest (level2 after a review, trend_report, expired and resolved
# mostly depend on a claim's history and the calendar): from the code registry.
SUGGESTED_ROUTES: tuple[str, ...] = registry.code_routes()

# What an adjustment does to the charge. The denials engine counts only `denial` as money
# refused; `pricing` (contract reductions), `patient_share` (deductible, coinsurance, copay),
# `cob` (another payer's share) and `informational` (interest, withholdings, pending) are not.
ADJUSTMENT_KINDS: tuple[str, ...] = (
    "denial",
    "pricing",
    "patient_share",
    "cob",
    "informational",
)

GROUP_CODES: tuple[str, ...] = ("CO", "PR", "OA", "PI", "CR")

# What a category means for the work when nothing more specific is known: who can fix it
# and where it usually goes (the code registry). Used for codes whose category a remark code
# changed, and for codes the lists do not know.
CATEGORY_DEFAULTS: dict[str, tuple[str, str | None]] = registry.category_defaults()

# Categories too vague to stand on their own: a remark code with a clearer hint replaces them
# (CO-16 + N30 is an eligibility problem, A1 + N54 an authorization problem). Specific CARCs
# such as 50 or 197 keep their own category whatever remarks come with them.
REFINABLE_CATEGORIES: frozenset[str] = frozenset(
    {"unknown", "missing_information", "non_covered_benefit_limit", "payer_error"}
)

# When several remarks hint at different categories, the most actionable root cause wins;
# the order is fixed so a claim's category never depends on the order of its remarks.
HINT_PRECEDENCE: tuple[str, ...] = (
    "eligibility_registration",
    "wrong_payer_cob",
    "authorization",
    "duplicate",
    "timely_filing",
    "medical_necessity",
    "network_credentialing",
    "coding_bundling",
    "missing_information",
    "non_covered_benefit_limit",
    "contractual_underpayment",
    "patient_responsibility",
    "payer_error",
)


def format_codes(signature: str) -> str:
    """A denial signature as analysts write it: "CO-197|N54" → "CO-197 (N54)"; a bare reason stays
    as it is. Trend descriptions and trend packets print it."""
    reason, _, remark = signature.partition("|")
    return f"{reason} ({remark})" if remark else reason
