"""Each stage's lake tables as Dagster asset specs, from the one declaration in the library.

claimback.stages.WRITES says which tables a stage writes, READS which tables of other stages it
reads, claimback.schema each table's columns and description. From these alone every table is an
asset (key = table name) in its stage's `multi_asset`, upstream of it the tables its stage reads:
lineage is written nowhere else. A stage writes its tables together (`can_subset=False`).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import dagster as dg

from claimback import schema
from claimback.lake import Lake
from claimback.stages import READS, WRITES

# The published file's database and schema (claimback.duckdb, DuckDB's `main`): where an analyst
# finds the table the asset stands for.
PUBLISHED_SCHEMA = "claimback.main"


def upstream(stage: str) -> list[str]:
    """The tables of other stages that `stage` reads: the upstream assets of each of its tables."""
    own = set(WRITES.get(stage, ()))
    return [table for table in READS[stage] if table not in own]


def column_schema(table: str) -> dg.TableSchema:
    """The table's columns as the published file types them (claimback/schema.py)."""
    return dg.TableSchema(columns=[dg.TableColumn(name, schema.duckdb_type(dtype))
                                   for name, dtype in schema.TABLES[table].items()])


def table_specs(stage: str, **common) -> list[dg.AssetSpec]:
    """An asset spec per table `stage` writes; `common`: the stage's group_name, owners, kinds."""
    return [dg.AssetSpec(
        table,
        description=schema.DESCRIPTIONS[table],
        deps=upstream(stage),
        metadata={"dagster/column_schema": column_schema(table),
                  "dagster/table_name": f"{PUBLISHED_SCHEMA}.{table}"},
        **common,
    ) for table in WRITES[stage]]


def stage_asset(stage: str, name: str, description: str, *, extra: tuple[dg.AssetSpec, ...] = (), **common):
    """The Dagster asset of a stage: a multi-asset (op `name`) materialising every table the stage
    writes together (`can_subset=False`: one call writes them all), and the `extra` specs beside
    them; `common`: the stage's group_name, owners and kinds."""
    return dg.multi_asset(name=name, specs=[*extra, *table_specs(stage, **common)], can_subset=False,
                          description=description)


def table_results(stage: str, lake: Lake, metadata: Mapping[str, dict] | None = None,
                  rows: Mapping[str, int] | None = None) -> Iterator[dg.MaterializeResult]:
    """A materialisation per table `stage` wrote: its row count (from `rows` when the stage counted
    them, else from the Parquet files' footers) and any `metadata` given for it. Counts, no PHI."""
    metadata, rows = metadata or {}, rows or {}
    for table in WRITES[stage]:
        shown = dict(metadata.get(table, {}))  # in the stage's order: its first entry heads the page
        if "dagster/row_count" not in shown:
            shown["dagster/row_count"] = rows[table] if table in rows else lake.rows(table)
        yield dg.MaterializeResult(asset_key=table, metadata=shown)
