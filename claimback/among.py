"""Rows whose key is among many values, found by a join rather than by `is_in`.

Polars builds the set of values of `is_in` again for every chunk of the column it tests, and a
scan of a lake table's parts gives one chunk per file or morsel: over many values that is the
set built hundreds of times (10 M claims' history, the remit claims' 195 parts against the 816 k
denied claim keys: 9.1 s; joined, 0.8 s; the same test on the rows in one chunk, 0.24 s). A join
hashes the values once. Both keep the rows' order; a null key is never among the values.
"""
from __future__ import annotations

from collections.abc import Sequence

import polars as pl

_KEY, _ROW = "_among_key", "_among_row"


def among(frame: pl.LazyFrame, key: str | pl.Expr, values: pl.Series) -> pl.LazyFrame:
    """The rows of `frame` whose `key` (a column, or an expression over its columns) is one of
    `values`, in their order."""
    key = pl.col(key) if isinstance(key, str) else key
    return frame.join(_values(frame, key, values), left_on=key, right_on=_KEY, how="semi",
                      maintain_order="left")


def among_any(frame: pl.LazyFrame, tests: Sequence[tuple[str | pl.Expr, pl.Series]]) -> pl.LazyFrame:
    """The rows of `frame` where any (key, values) of `tests` holds a key among its values, in
    their order. Each test reads its key alone, giving the rows' places; the rows are then read
    whole by place once (joining every column once per test would hold the table several times)."""
    indexed = frame.with_row_index(_ROW)
    places = pl.concat([among(indexed, key, values).select(_ROW) for key, values in tests]).unique()
    return indexed.join(places, on=_ROW, how="semi", maintain_order="left").drop(_ROW)


def _values(frame: pl.LazyFrame, key: pl.Expr, values: pl.Series) -> pl.LazyFrame:
    dtype = frame.select(key).collect_schema().dtypes()[0]
    return values.drop_nulls().unique().cast(dtype).rename(_KEY).to_frame().lazy()
