"""What `claimback run` prints at the end, and `claimback sql`: read from the published DuckDB file.

Both open the file read-only, exactly as an analyst would, so what they print is what was published,
and sandboxed: external access off and the configuration locked, so no query (`COPY ... TO`,
`read_text('/etc/passwd')`, `ATTACH`, `INSTALL`) reads or writes any other file, even when the
query text comes from somewhere else. Tables are fitted to the terminal's width; rows too wide for
it are printed as vertical records instead of being wrapped into unreadable cells.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import polars as pl

from claimback.publish import DATABASE_NAME, SQL_DIR

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
    "Today, branch by branch (claimback sql analyst_today_branches)": """
        SELECT branch, items, dollars, dollars_are, expected_recovery, next_deadline
        FROM analyst_today_branches""",
    "Lonely payments (835 claims answering no 837 in the inbox)": """
        SELECT count(*) AS claims, coalesce(sum(paid_amount), 0) AS paid_dollars,
               coalesce(sum(charge_amount), 0) AS billed_dollars,
               count(*) FILTER (WHERE candidate_count > 0) AS with_a_candidate_837,
               count(*) FILTER (WHERE candidate_count = 0) AS with_no_candidate
        FROM lonely_payments""",
    "Front-door rejections (claims a 999 or 277CA turned away: claimback sql analyst_claim_rejections)": """
        SELECT acknowledgment,
               CASE WHEN acknowledgment = '999' THEN coalesce(error_location, 'its set rejected')
                    ELSE array_to_string(status_codes, ' ') END AS codes,
               count(*) AS claims, count(*) FILTER (WHERE still_rejected) AS still_rejected,
               coalesce(sum(billed_amount), 0) AS billed_dollars
        FROM claim_rejections GROUP BY ALL ORDER BY claims DESC, codes""",
    "Underpayments (paid lines allowed below expected: claimback sql analyst_underpayments)": """
        SELECT payer_name, procedure_code, expected_source, count(*) AS lines,
               count(DISTINCT claim_key) AS claims, sum(shortfall) AS short_dollars
        FROM underpaid_lines GROUP BY ALL ORDER BY short_dollars DESC LIMIT 10""",
}


# Read-only is not enough: a read-only connection can still COPY to, and read, any file the user can.
SANDBOX = {"enable_external_access": False, "lock_configuration": True}


class QueryError(Exception):
    """The query could not run (a syntax error, an unknown view, a refused file access)."""


def connect_published(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The published file, read-only and sandboxed, as every claimback command opens it."""
    path = warehouse / DATABASE_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run `claimback run` (or `make demo`) first")
    return duckdb.connect(str(path), read_only=True, config=SANDBOX)


CELL_CHARS = 60  # longer texts are cut with an ellipsis in the table view (never in --csv)


def terminal_width() -> int:
    return shutil.get_terminal_size((160, 40)).columns


def _natural_width(frame: pl.DataFrame) -> int:
    """Characters a row needs when no cell is wrapped (polars' borders: 3 per column, plus 1)."""
    widths = []
    for name in frame.columns:
        cells = frame[name].head(100).cast(pl.String, strict=False).fill_null("null").str.len_chars()
        widths.append(max(len(name), min(int(cells.max() or 0) + 2, CELL_CHARS + 1)))
    return sum(widths) + 3 * len(widths) + 1


def _display(frame: pl.DataFrame) -> pl.DataFrame:
    """Probabilities and scores to two decimals: 0.35, not 0.3466586552975782."""
    return frame.with_columns(pl.col(pl.Float32, pl.Float64).round(2))


def _show(title: str, frame: pl.DataFrame, vertical: bool = False, width: int | None = None) -> None:
    print(f"\n{title}")
    if not frame.height:
        print("  (none)")
        return
    width = width or terminal_width()
    frame = _display(frame)
    if vertical or _natural_width(frame) > width:
        _print_vertical(frame, width)
        return
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   fmt_str_lengths=CELL_CHARS, thousands_separator=True, tbl_width_chars=width):
        print(frame)


def _print_vertical(frame: pl.DataFrame, width: int) -> None:
    """One block per row, one `column | value` line per column (psql's expanded display)."""
    label = max(len(c) for c in frame.columns)
    room = max(width - label - 3, 20)
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        print(f"-[ record {number} ]".ljust(min(width, label + 30), "-"))
        for column, value in row.items():
            text = "null" if value is None else (f"{value:,}" if isinstance(value, int) and not isinstance(value, bool)
                                                 else str(value))
            print(f"{column.ljust(label)} | {text if len(text) <= room else text[:room - 1] + '…'}")


def print_summary(warehouse: Path) -> None:
    with connect_published(warehouse) as con:
        for title, query in _SUMMARY_QUERIES.items():
            _show(title, con.sql(query).pl())
    print(f"\nPublished: {warehouse / DATABASE_NAME}")


def views(warehouse: Path) -> pl.DataFrame:
    """The analyst views with the question each answers (the first comment line of its sql file)."""
    rows = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        first = path.read_text().lstrip().splitlines()[0] if path.read_text().strip() else ""
        rows.append({"view": path.stem, "answers": re.sub(r"^--\s*", "", first)})
    return pl.DataFrame(rows, schema={"view": pl.String, "answers": pl.String})


def run_sql(warehouse: Path, query: str | None, as_csv: bool = False, vertical: bool = False,
            limit: int = 100) -> int:
    if not query:
        _show("Views (claimback sql VIEW, or any SQL query in quotes)", views(warehouse), vertical=vertical)
        print(f"\nPython: duckdb.connect('{warehouse / DATABASE_NAME}', read_only=True)")
        return 0
    with connect_published(warehouse) as con:
        is_view = re.fullmatch(r"[a-z_][a-z0-9_]*", query)
        if is_view:
            known = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
            if query not in known:
                raise QueryError(f"no view or table named {query!r} (`claimback sql` lists the views)")
        text = f'SELECT * FROM "{query}"' + ("" if as_csv else f" LIMIT {limit + 1}") if is_view else query
        try:
            frame = con.sql(text).pl()
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from None
        if as_csv:  # every row, every column, for a spreadsheet or another tool
            flat = frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(";")
                                      for c, t in frame.schema.items() if isinstance(t, pl.List))
            print(flat.write_csv(), end="")
            return 0
        shown = frame.head(limit)
        _show(query, shown, vertical=vertical)
        if frame.height > limit:
            print(f"(the first {limit} rows; --limit N for more, --csv for all)")
    return 0
