"""Asset checks on the ingested tables: Great Expectations suites (claimback.quality), each on the
table it checks.

Structure checks block: when keys are missing or duplicated, denials and routing would be wrong, so
the assets reading those tables do not run. Data-quality checks warn: real payer files often do not
balance, and the analyst should know, but the night's work queue must still be built.
"""

import dagster as dg

from claimback import quality, quality_parts
from pipelines.defs.metadata import warn_when_found
from pipelines.defs.resources import ClaimbackResource


def _result(suites: list[quality.SuiteResult], severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    outcomes = [o for s in suites for o in s.outcomes]
    passed = all(s.success for s in suites)
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description="; ".join(o.sentence for o in outcomes if not o.success) or "; ".join(o.sentence for o in outcomes),
        metadata={"expectations": dg.MetadataValue.md("\n".join(
            f"- {'✅' if o.success else '⚠️'} {o.sentence}" for o in outcomes))},
    )


# The four x12 checks validate the batches a night added and add up the counts kept from earlier
# nights (claimback.quality_parts): the same sentences as over the whole tables, at the cost of the
# night's new data.
def _x12_check(claimback: ClaimbackResource, name: str, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    settings = claimback.settings()
    return _result(quality_parts.run_check(settings.lake, name, settings.as_of), severity)


@dg.asset_check(asset="remit_claims", blocking=True, additional_deps=["remit_adjustments"],
                description="Claims and adjustments have the keys every later stage joins on.")
def remit_structure(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    return _x12_check(claimback, "remit_structure", dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset="submitted_claims", blocking=True, description="Submitted 837 claims have unique keys and claim numbers.")
def submitted_structure(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    return _x12_check(claimback, "submitted_structure", dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset="remit_claims", description="Remits balance (claims, transactions), codes are well formed, "
                "dates are plausible and payee NPIs pass their check digit.")
def remit_data_quality(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    return _x12_check(claimback, "remit_data_quality", dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset="submitted_claims", description="Submitted claims carry valid billing NPIs and non-negative charges.")
def submitted_data_quality(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    return _x12_check(claimback, "submitted_data_quality", dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset="quarantine", description="Files or transaction sets that could not be read are listed, with why.")
def nothing_quarantined(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    quarantine = claimback.settings().lake.read("quarantine")
    return warn_when_found(
        quarantine,
        f"{quarantine['source_file'].n_unique()} files have parts that could not be read" if quarantine.height
        else "every file was read",
        quarantined=quarantine.select("source_file", "location", "error"))
