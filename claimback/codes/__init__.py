"""CARC / RARC / group / CLP02 reference data and the denial taxonomy.

    from claimback import codes
    codes.carc()                      # every CARC: label, category, fixable_by, route, kind, dates
    codes.classify(remit_adjustments) # adds carc_label, category, fixable_by, suggested_route, ...
    codes.refine_category("missing_information", ["N30"])  # -> "eligibility_registration"
    codes.unknown_codes(remit_adjustments, remit_remarks)
    codes.explain("PR-96")            # one code in plain words, as the pipeline reads it
    codes.usage_findings(remit_adjustments, remit_remarks)  # CO-16 without a RARC, OA-only codes...
    codes.import_official("~/Downloads/carc.csv")           # merge a newer official list

The lists ship in `claimback/codes/data/` (see its README.md for the version modelled);
an imported official list in the user's override folder takes precedence.
"""
from __future__ import annotations

from claimback.codes.classify import (
    classify,
    explain,
    normalize_code,
    refine_category,
    refine_category_expr,
    unknown_codes,
)
from claimback.codes.official import ImportReport, OfficialListError, cli_import, import_official
from claimback.codes.tables import (
    CodeListError,
    carc,
    claim_status_codes,
    clear_cache,
    group_codes,
    list_path,
    override_dir,
    rarc,
)
from claimback.codes.usage import usage_findings
from claimback.codes.vocab import (
    ADJUSTMENT_KINDS,
    CATEGORIES,
    CATEGORY_DEFAULTS,
    FIXABLE_BY,
    GROUP_CODES,
    SUGGESTED_ROUTES,
)

__all__ = [
    "ADJUSTMENT_KINDS",
    "CATEGORIES",
    "CATEGORY_DEFAULTS",
    "FIXABLE_BY",
    "GROUP_CODES",
    "SUGGESTED_ROUTES",
    "CodeListError",
    "ImportReport",
    "OfficialListError",
    "carc",
    "claim_status_codes",
    "classify",
    "clear_cache",
    "explain",
    "cli_import",
    "group_codes",
    "import_official",
    "list_path",
    "normalize_code",
    "override_dir",
    "rarc",
    "refine_category",
    "refine_category_expr",
    "unknown_codes",
    "usage_findings",
]
