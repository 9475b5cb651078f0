"""The underpayments' kept state in month parts: the modal votes (judged lines counted per payer x
practice x procedure x modifiers, per-unit amount and remit day) and the latest lines no fee
schedule row prices, one Parquet file per month of their remit day under lake/state/<table>/.

A night reads only the months it needs and rewrites only the months it changed, never the whole
history (1 M claims held: 1.5 M votes and 2.0 M unpriced lines were read, merged and written whole
each night). What it needs is bounded by the modal window (claimback.underpayments: the 180 days
before a line's remit day): a line is priced with the votes of the months its window overlaps, and
a changed day can move the windows of the lines of the 180 days after it only. A claim's unpriced
lines carry its remit's date, which never changes, so they are always in that month's part.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from claimback.lake import Lake, write_parquet_atomic
from claimback.underpayments import MODAL_LOOKBACK_DAYS

VOTES = "underpayment_votes"
UNPRICED = "underpayment_unpriced_lines"
SCHEMAS = {
    VOTES: {"modal_key": pl.UInt64, "per_unit": pl.Float64, "remit_date": pl.Date, "n": pl.Int64},
    UNPRICED: {"claim_key": pl.String, "modal_key": pl.UInt64, "remit_date": pl.Date},
}
ORDER = {VOTES: ("modal_key", "per_unit", "remit_date"), UNPRICED: ("claim_key", "modal_key", "remit_date")}
# The part of rows without a remit day; always written (empty or not), so a table kept without
# rows is still a table kept (an object store has no empty folders).
NO_DATE = "none"


def folder(lake: Lake, table: str) -> Path:
    return lake.state_dir(table)


def kept(lake: Lake, table: str) -> bool:
    return (folder(lake, table) / f"{NO_DATE}.parquet").exists()


def month(day: pl.Expr) -> pl.Expr:
    return day.dt.strftime("%Y-%m").fill_null(NO_DATE)


def months_of(days: pl.Series) -> list[str]:
    """The parts of rows of these remit days."""
    return days.to_frame("d").select(month(pl.col("d")))["d"].unique().sort().to_list()


def months_spanning(days: pl.Series, first: int, last: int) -> list[str]:
    """The months of the days `first` to `last` days after each of `days` (negative: before)."""
    days = days.drop_nulls().unique()
    if days.is_empty():
        return []
    spans = days.to_frame("d").select(
        pl.date_ranges((pl.col("d") + timedelta(days=first)).dt.month_start(), pl.col("d") + timedelta(days=last),
                       interval="1mo").alias("m")).explode("m")
    return months_of(spans["m"])


def window_months(remit_days: pl.Series) -> list[str]:
    """The months whose votes price lines of these remit days: their windows' months."""
    return months_spanning(remit_days, -MODAL_LOOKBACK_DAYS, -1)


def moved_months(changed_days: pl.Series) -> list[str]:
    """The months of the lines whose window holds one of these days (the 180 days after each)."""
    return months_spanning(changed_days, 1, MODAL_LOOKBACK_DAYS)


def part_paths(lake: Lake, table: str, months: list[str]) -> list[str]:
    """The files of these months' parts of a table kept by month in lake/state (those written)."""
    return [str(path) for m in months if (path := folder(lake, table) / f"{m}.parquet").exists()]


def read(lake: Lake, table: str, months: list[str]) -> pl.DataFrame:
    """The kept rows of these months."""
    paths = part_paths(lake, table, months)
    if not paths:
        return pl.DataFrame(schema=SCHEMAS[table])
    return pl.read_parquet(paths, glob=False).cast(SCHEMAS[table])


def write(lake: Lake, table: str, frame: pl.DataFrame, months: list[str] | None = None) -> None:
    """Write `frame`'s rows of `months` as those months' parts (a month without rows: its part
    removed); `months` None: every month, every other part removed (a whole run)."""
    frame = frame.select(SCHEMAS[table].keys()).cast(SCHEMAS[table]).with_columns(_part=month(pl.col("remit_date")))
    parts = frame.partition_by("_part", as_dict=True, include_key=False)
    every = months is None
    months = sorted({NO_DATE, *(part for (part,) in parts)}) if every else months
    for m in months:
        rows = parts.get((m,))
        path = folder(lake, table) / f"{m}.parquet"
        if rows is None and m != NO_DATE:
            path.unlink(missing_ok=True)
        else:
            rows = rows if rows is not None else frame.drop("_part").head(0)
            write_parquet_atomic(rows.sort(ORDER[table], nulls_last=True), path)
    if every:
        for path in sorted(folder(lake, table).glob("*.parquet")):
            if path.stem not in months:
                path.unlink()
        lake.state_path(table).unlink(missing_ok=True)  # the one-file form of an older version

