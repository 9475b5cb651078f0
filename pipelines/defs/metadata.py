"""Turning small Polars frames and counts into Dagster metadata an analyst can read."""

from datetime import date
from decimal import Decimal

import dagster as dg
import polars as pl


def markdown_table(frame: pl.DataFrame, limit: int = 15) -> dg.MetadataValue:
    if frame.is_empty():
        return dg.MetadataValue.md("_none_")
    shown = frame.head(limit)
    # A width no row reaches: polars otherwise wraps long cells onto extra lines, and a Markdown
    # table row that spans two lines breaks into nonsense rows ("patient_contr" / "ol_number").
    with pl.Config(tbl_formatting="ASCII_MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_rows=limit, tbl_cols=-1, fmt_str_lengths=120,
                   thousands_separator=True, tbl_width_chars=60_000, float_precision=2):
        text = str(shown)
    if frame.height > limit:
        text += f"\n\n_{frame.height - limit} more rows_"
    return dg.MetadataValue.md(text)


_TABLE_TYPES = {pl.Date: "date", pl.Boolean: "bool", pl.String: "string"}


def table(frame: pl.DataFrame, limit: int = 50) -> dg.MetadataValue:
    """Dagster table metadata: rendered by the UI as a real table (one row per record, nothing
    wrapped, nothing behind [Show Markdown]). Dates as ISO text, money as numbers, floats to 2 places."""
    def cell(value):
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, float):
            return round(value, 2)
        return value

    schema = dg.TableSchema(columns=[
        dg.TableColumn(name, _TABLE_TYPES.get(dtype, "number" if dtype.is_numeric() else "string"))
        for name, dtype in frame.schema.items()])
    records = [dg.TableRecord({k: cell(v) for k, v in row.items()}) for row in frame.head(limit).iter_rows(named=True)]
    return dg.MetadataValue.table(records, schema)


def dollars(amount: float) -> dg.MetadataValue:
    return dg.MetadataValue.text(f"${float(amount or 0):,.2f}")


def percent(share: float) -> dg.MetadataValue:
    return dg.MetadataValue.text(f"{share:.1%}")


def chart(png: bytes, title: str) -> dg.MetadataValue:
    from claimback.charts import as_markdown_image

    return dg.MetadataValue.md(as_markdown_image(png, title))


def key_values(values: dict) -> dg.MetadataValue:
    """A two-column Markdown table of the values that are set (no rows of nulls)."""
    rows = [(k, v) for k, v in values.items() if v is not None]
    return markdown_table(pl.DataFrame({"measure": [k for k, _ in rows], "value": [str(v) for _, v in rows]}))


def warn_when_found(found: pl.DataFrame, description: str, **shown: pl.DataFrame) -> dg.AssetCheckResult:
    """A warning check that passes when nothing was `found`: its sentence, and the rows to look at
    (`shown`: metadata label -> frame) as Markdown tables."""
    return dg.AssetCheckResult(
        passed=found.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={label: markdown_table(frame) for label, frame in shown.items()},
    )
