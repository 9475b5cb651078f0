"""Turning small Polars frames and counts into Dagster metadata an analyst can read."""

import dagster as dg
import polars as pl


def markdown_table(frame: pl.DataFrame, limit: int = 15) -> dg.MetadataValue:
    if frame.is_empty():
        return dg.MetadataValue.md("_none_")
    shown = frame.head(limit)
    with pl.Config(tbl_formatting="ASCII_MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_rows=limit, tbl_cols=-1, fmt_str_lengths=120,
                   thousands_separator=True):
        text = str(shown)
    if frame.height > limit:
        text += f"\n\n_{frame.height - limit} more rows_"
    return dg.MetadataValue.md(text)


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
