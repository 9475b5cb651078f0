"""Checks on the denials table: every reason code has a category."""

import dagster as dg
import polars as pl

from pipelines.defs.metadata import warn_when_found
from pipelines.defs.resources import ClaimbackResource


@dg.asset_check(asset="denials", description="Every adjustment code is one claimback knows.")
def known_denial_codes(claimback: ClaimbackResource) -> dg.AssetCheckResult:
    denied = claimback.settings().lake.read("denials")
    unknown = denied.filter(pl.col("category") == "unknown")
    return warn_when_found(
        unknown,
        f"{unknown.height} of {denied.height} denials have a reason code with no category yet "
        "(load the newest X12 lists with `claimback codes import`)" if unknown.height
        else f"all {denied.height} denials have a known category",
        unknown_reasons=unknown.group_by("primary_reason").len("claims"))
