"""What `claimback run` prints at the end, and `claimback sql`: read from the published DuckDB file.

Both open the file read-only, exactly as an analyst would, so what they print is what was published.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from claimback.publish import DATABASE_NAME

_SUMMARY_QUERIES = {
    "Claims": """
        SELECT (SELECT count(*) FROM submitted_claims) AS submitted_837_claims,
               (SELECT count(*) FROM remit_claims) AS adjudications_835,
               (SELECT count(*) FROM denials) AS denied_claims,
               (SELECT coalesce(sum(denied_amount), 0) FROM denials) AS denied_dollars,
               (SELECT count(*) FROM quarantine) AS quarantined_parts""",
    "Denials by category": """
        SELECT category, count(*) AS claims, sum(denied_amount) AS denied_dollars
        FROM denials GROUP BY category ORDER BY denied_dollars DESC""",
    "Trend clusters (10+ claims, one payer, same codes)": """
        SELECT payer_name, signature, claim_count, denied_amount, first_remit_date, last_remit_date
        FROM trend_clusters WHERE status = 'flagged' ORDER BY claim_count DESC""",
    "Work queue by route": """
        SELECT route, count(*) AS claims, sum(denied_amount) AS denied_dollars,
               min(deadline) FILTER (WHERE days_left >= 0) AS nearest_deadline
        FROM work_queue GROUP BY route ORDER BY denied_dollars DESC""",
}


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    path = warehouse / DATABASE_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `claimback run` first")
    return duckdb.connect(str(path), read_only=True)


def _show(title: str, frame: pl.DataFrame) -> None:
    print(f"\n{title}")
    with pl.Config(tbl_rows=25, tbl_cols=-1, tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   fmt_str_lengths=60, thousands_separator=True, tbl_width_chars=160):
        print(frame if frame.height else "  (none)")


def print_summary(warehouse: Path) -> None:
    with _connect(warehouse) as con:
        for title, query in _SUMMARY_QUERIES.items():
            _show(title, con.sql(query).pl())
    print(f"\nPublished: {warehouse / DATABASE_NAME}")


def views(warehouse: Path) -> pl.DataFrame:
    """The analyst views with the question each answers (the first comment line of its sql file)."""
    sql_dir = Path(__file__).resolve().parents[1] / "sql"
    rows = []
    for path in sorted(sql_dir.glob("*.sql")):
        first = path.read_text().lstrip().splitlines()[0] if path.read_text().strip() else ""
        rows.append({"view": path.stem, "answers": re.sub(r"^--\s*", "", first)})
    return pl.DataFrame(rows, schema={"view": pl.String, "answers": pl.String})


def run_sql(warehouse: Path, query: str | None, as_csv: bool = False) -> int:
    if not query:
        _show("Views (claimback sql VIEW, or any SQL query in quotes)", views(warehouse))
        print(f"\nPython: duckdb.connect('{warehouse / DATABASE_NAME}', read_only=True)")
        return 0
    with _connect(warehouse) as con:
        is_view = re.fullmatch(r"[a-z_][a-z0-9_]*", query)
        text = f'SELECT * FROM "{query}"' + ("" if as_csv else " LIMIT 100") if is_view else query
        frame = con.sql(text).pl()
        if as_csv:  # every row, every column, for a spreadsheet or another tool
            flat = frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(";")
                                      for c, t in frame.schema.items() if isinstance(t, pl.List))
            print(flat.write_csv(), end="")
        else:
            _show(query, frame)
    return 0
