"""The reconsideration log (every *reconsiderations.csv in the inbox) read into the lake."""

import dagster as dg

from claimback import stages
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import ClaimbackResource
from pipelines.defs.specs import stage_asset, table_results

STAGE = "reconsiderations"
_COMMON = {"group_name": "ingest", "owners": ["team:provider-relations"], "kinds": {"polars"}}
RUN = dg.AssetSpec(
    "reconsideration_log",
    description="The reconsideration log (every *reconsiderations.csv in the inbox): Level I and Level II "
    "requests with their outcomes, read into the tables beside it. Malformed rows are listed with their "
    "line number and skipped. This asset is the read itself: files read, rows used and skipped.",
    **_COMMON,
)


@stage_asset(STAGE, "reconsideration_log", "Read the reconsideration log(s) in the inbox.", extra=(RUN,), **_COMMON)
def reconsideration_log(claimback: ClaimbackResource):
    settings = claimback.settings()
    result = stages.load_reconsiderations(settings)
    yield dg.MaterializeResult(asset_key=RUN.key, metadata={
        "dagster/row_count": result.rows,
        "log_files": result.files,
        "rows_skipped": result.problems.height,
        "skipped_rows": markdown_table(result.problems),
    })
    yield from table_results(STAGE, settings.lake, rows={"reconsiderations": result.rows,
                                                         "reconsideration_log_problems": result.problems.height})
