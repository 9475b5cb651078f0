"""Asset checks: Great Expectations suites on the ingested tables, and sanity checks downstream.

Structure checks block: when keys are missing or duplicated, denials and routing would be wrong, so
downstream assets do not run. Data-quality checks warn: real payer files often do not balance, and
the analyst should know, but the night's work queue must still be built.
"""

import dagster as dg
import polars as pl

from assets.denials import denials
from assets.ingest import x12_lake
from assets.metadata import markdown_table
from assets.resources import ClaimbackResource
from assets.routing import work_queue
from assets.trends import trend_clusters
from claimback import quality, schema
from claimback.routing import routes


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


@dg.asset_check(asset=x12_lake, blocking=True, description="Claims and adjustments have the keys every later stage joins on.")
def remit_structure(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    lake = claimback.settings().lake
    return _result(quality.remit_structure(lake.read("remit_claims", quality.REMIT_STRUCTURE_COLUMNS),
                                           lake.read("remit_adjustments", quality.ADJUSTMENT_STRUCTURE_COLUMNS)),
                   dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset=x12_lake, blocking=True, description="Submitted 837 claims have unique keys and claim numbers.")
def submitted_structure(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    lake = claimback.settings().lake
    return _result(quality.submitted_structure(lake.read("submitted_claims", quality.SUBMITTED_STRUCTURE_COLUMNS)),
                   dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset=x12_lake, description="Remits balance (claims, transactions), codes are well formed, "
                "dates are plausible and payee NPIs pass their check digit.")
def remit_data_quality(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    settings = claimback.settings()
    lake = settings.lake
    return _result(quality.remit_data_quality(
        *(lake.read(table, columns) for table, columns in quality.REMIT_DATA_QUALITY_COLUMNS.items()),
        settings.as_of,
    ), dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=x12_lake, description="Submitted claims carry valid billing NPIs and non-negative charges.")
def submitted_data_quality(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    settings = claimback.settings()
    return _result(quality.submitted_data_quality(
        settings.lake.read("submitted_claims", quality.SUBMITTED_DATA_QUALITY_COLUMNS), settings.as_of,
    ), dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=x12_lake, description="Files or transaction sets that could not be read are listed, with why.")
def nothing_quarantined(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    quarantine = claimback.settings().lake.read("quarantine")
    return dg.AssetCheckResult(
        passed=quarantine.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{quarantine['source_file'].n_unique()} files have parts that could not be read"
        if quarantine.height else "every file was read",
        metadata={"quarantined": markdown_table(quarantine.select("source_file", "location", "error"))},
    )


@dg.asset_check(asset=denials, description="Every adjustment code is one claimback knows.")
def known_denial_codes(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    denied = claimback.settings().lake.read("denials")
    unknown = denied.filter(pl.col("category") == "unknown")
    return dg.AssetCheckResult(
        passed=unknown.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{unknown.height} of {denied.height} denials have a reason code with no category yet "
        "(load the newest X12 lists with `claimback codes import`)" if unknown.height
        else f"all {denied.height} denials have a known category",
        metadata={"unknown_reasons": markdown_table(unknown.group_by("primary_reason").len("claims"))},
    )


@dg.asset_check(asset=trend_clusters, description="Warns when a new 10+ claim trend appears since the last run.")
def no_new_trend(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    new = claimback.settings().lake.read_state("new_trend_clusters")
    return dg.AssetCheckResult(
        passed=new.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{new.height} new trend clusters to report to the payer" if new.height else "no new trend cluster",
        metadata={"new_clusters": markdown_table(new.select("payer_name", "signature", "claim_count", "description")
                                                 if new.height else new)},
    )


@dg.asset_check(asset=work_queue, blocking=True,
                description="Every work-queue row has a known route, and every claim still to file has a deadline.")
def routes_are_valid(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    queue = claimback.settings().lake.read("work_queue")
    bad_route = queue.filter(~pl.col("route").is_in(list(schema.ROUTES)))
    # resolved, expired and patient billing have nothing left to file
    to_file = queue.filter(routes.has_filing_window())
    no_deadline = to_file.filter(pl.col("deadline").is_null())
    return dg.AssetCheckResult(
        passed=bad_route.is_empty() and no_deadline.is_empty(),
        description=f"{queue.height - bad_route.height} of {queue.height} rows have a known route; "
        f"{to_file.height - no_deadline.height} of {to_file.height} claims still to file have a deadline",
        metadata={"routes_without_deadline": markdown_table(no_deadline.group_by("route").len("claims"))},
    )
