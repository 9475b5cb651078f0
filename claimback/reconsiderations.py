"""Read the analysts' reconsideration log (`*reconsiderations.csv`) into the RECONSIDERATIONS table.

The log is kept by hand or exported from a payer portal, so it is messy: header names in any case
and spacing, ISO or US dates, outcome words like "Approved" or "Denial upheld". Every row that
cannot be trusted (bad date, bad level, no claim number, wrong column count) is reported in a
`problems` frame with its file and line number and skipped; one bad row never stops a run.
Problem messages name columns and line numbers only, never cell values, because a hand-kept log
can carry patient names in the wrong column.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

from claimback import storage
from claimback.schema import RECONSIDERATION_LOG_PROBLEMS, conform, empty

PROBLEMS_SCHEMA = RECONSIDERATION_LOG_PROBLEMS  # what claimback.underpayments imports for its own CSV's problems

LOG_SUFFIX = "reconsiderations.csv"

COLUMNS = (
    "patient_control_number",
    "payer_claim_control_number",
    "level",
    "submitted_on",
    "reference_number",
    "outcome",
    "decided_on",
)
REQUIRED_COLUMNS = ("patient_control_number", "level", "submitted_on")


# Outcome words seen in hand-kept logs and portal exports, normalised to the contract values.
OUTCOME_SYNONYMS = {
    "overturned": "overturned",
    "overturn": "overturned",
    "approved": "overturned",
    "paid": "overturned",
    "reversed": "overturned",
    "won": "overturned",
    "favorable": "overturned",
    "favourable": "overturned",
    "granted": "overturned",
    "upheld": "upheld",
    "denied": "upheld",
    "denial upheld": "upheld",
    "upheld denial": "upheld",
    "lost": "upheld",
    "unfavorable": "upheld",
    "unfavourable": "upheld",
    "rejected": "upheld",
    "partial": "partial",
    "partially overturned": "partial",
    "partially approved": "partial",
    "partial payment": "partial",
    "partially paid": "partial",
    "pending": "pending",
    "open": "pending",
    "in process": "pending",
    "in progress": "pending",
    "submitted": "pending",
    "under review": "pending",
}

LEVEL_SYNONYMS = {
    "1": 1, "i": 1, "l1": 1, "level 1": 1, "level i": 1, "level1": 1, "reconsideration": 1,
    "2": 2, "ii": 2, "l2": 2, "level 2": 2, "level ii": 2, "level2": 2, "dispute": 2,
    "claim dispute": 2,
}

_ISO = r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}$"
_US_LONG = r"^\d{1,2}[-/]\d{1,2}[-/]\d{4}$"
_US_SHORT = r"^\d{1,2}[-/]\d{1,2}[-/]\d{2}$"
_TIME_OF_DAY = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?$"  # spreadsheet exports add it


def find_logs(paths: Iterable[str | Path], suffix: str = LOG_SUFFIX) -> list[Path]:
    """Every reconsideration log (or other CSV input whose name ends in `suffix`) among `paths`:
    files as given, folders searched recursively."""
    found: list[Path] = []
    for path in map(storage.location, paths):  # a folder, or an inbox on an object store
        if path.is_dir():
            found.extend(p for p in path.rglob(f"*{suffix}") if p.is_file())
        elif path.is_file():
            found.append(path)
    return sorted(set(found))


def normalise_header(name: str) -> str:
    """'Patient Control Number ' / 'patient-control-number' -> 'patient_control_number'."""
    cleaned = name.strip().lstrip("\ufeff").lower()
    for sep in (" ", "-", "."):
        cleaned = cleaned.replace(sep, "_")
    return "_".join(part for part in cleaned.split("_") if part)


def parse_date(column: pl.Expr) -> pl.Expr:
    """ISO (2026-01-05, 2026/1/5) or US (1/5/2026, 01-05-26) text to a date, ignoring a time of
    day a spreadsheet appended; anything else null."""
    text = column.str.strip_chars().str.replace(_TIME_OF_DAY, "").str.replace_all("/", "-")
    return (
        pl.when(text.str.contains(_ISO))
        .then(text.str.to_date("%Y-%m-%d", strict=False))
        .when(text.str.contains(_US_LONG))
        .then(text.str.to_date("%m-%d-%Y", strict=False))
        .when(text.str.contains(_US_SHORT))
        .then(text.str.to_date("%m-%d-%y", strict=False))
    )


def _words(column: str) -> pl.Expr:
    """Lower-case, trimmed, inner whitespace collapsed; blank becomes null."""
    text = pl.col(column).str.strip_chars().str.to_lowercase().str.replace_all(r"[\s_]+", " ")
    return pl.when(text == "").then(None).otherwise(text)


def _blank_to_null(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(column)


def read_rows(path: Path, columns: tuple[str, ...] = COLUMNS, required: tuple[str, ...] = REQUIRED_COLUMNS
              ) -> tuple[pl.DataFrame, list[dict]]:
    """Raw text rows of one CSV (a log, or another hand-kept input such as a fee schedule) with
    their line numbers, plus structural problems. Only `columns` are kept; `required` must be
    in the header."""
    problems: list[dict] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        return pl.DataFrame(), [problem(path, 0, f"cannot read file ({exc.__class__.__name__})")]
    records_of = _records(text.splitlines(keepends=True), path, problems)
    header = next(records_of, None)
    if header is None:
        return pl.DataFrame(), [problem(path, 1, "file is empty")]
    names = [normalise_header(h) for h in header[1]]
    missing = [c for c in required if c not in names]
    if missing:
        return pl.DataFrame(), [problem(path, 1, f"header lacks column(s): {', '.join(missing)}")]
    records: list[list[str]] = []
    line_numbers: list[int] = []
    for start, row in records_of:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.append(problem(path, start, f"has {len(row)} columns, the header has {len(names)}"))
        else:
            records.append(row)
            line_numbers.append(start)
    frame = pl.DataFrame(
        {name: [r[i] for r in records] for i, name in enumerate(names) if name in columns},
        schema={name: pl.String for name in names if name in columns},
    ).with_columns(
        pl.Series("source_line", line_numbers, dtype=pl.Int64),
        pl.lit(str(path)).alias("source_file"),
    )
    return frame, problems


def _records(lines: list[str], path: Path, problems: list[dict]) -> Iterator[tuple[int, list[str]]]:
    """(line number from 1, cells) of each CSV record in `lines`, the header first. A record the
    csv module cannot read (a cell over its 128 KiB limit) is reported and reading goes on at
    the next line. So is a quote opened and never closed: it swallows every line after it into
    one cell, which shows as a record over several lines with the wrong number of cells; that
    line alone is skipped, not the rest of the log."""
    pos, width = 0, None
    while pos < len(lines):
        reader = csv.reader(lines[pos:])
        done = 0
        try:
            for row in reader:
                start, end, done = pos + done + 1, pos + reader.line_num, reader.line_num
                if width is None:
                    width = len(row)
                elif end > start and len(row) != width:
                    problems.append(problem(
                        path, start, f"a quote opened on this line is not closed before line {end} (or the end of "
                                     "the file); close the quote. The line is skipped"))
                    pos = start
                    break
                yield start, row
            else:
                return
        except csv.Error as exc:
            start = pos + done + 1
            problems.append(problem(path, start, f"cannot be read as CSV ({exc}): a cell over 128 KiB, or a quote "
                                                  "opened here and not closed; the line is skipped"))
            pos = start


def problem(path: Path, line: int, what: str) -> dict:
    return {"source_file": str(path), "line_number": line, "problem": what}


def _typed(raw: pl.DataFrame) -> pl.DataFrame:
    """Typed columns next to a list of what is wrong with each row (empty list = good row)."""
    for name in COLUMNS:
        if name not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    raw = raw.with_columns(_blank_to_null(c) for c in COLUMNS)
    typed = raw.with_columns(
        level=_words("level").replace_strict(LEVEL_SYNONYMS, default=None, return_dtype=pl.Int64),
        submitted_on=parse_date(pl.col("submitted_on")),
        decided_on=parse_date(pl.col("decided_on")),
        outcome=_words("outcome").replace_strict(OUTCOME_SYNONYMS, default=None),
    )
    checks = [
        (raw["patient_control_number"].is_null() & raw["payer_claim_control_number"].is_null(),
         "missing claim number (patient_control_number or payer_claim_control_number)"),
        (typed["level"].is_null(), "level is not 1 or 2 (I/II, Level 1/Level 2)"),
        (raw["submitted_on"].is_null(), "submitted_on is blank"),
        (raw["submitted_on"].is_not_null() & typed["submitted_on"].is_null(),
         "submitted_on is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
        (raw["decided_on"].is_not_null() & typed["decided_on"].is_null(),
         "decided_on is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
        (typed["decided_on"] < typed["submitted_on"], "decided_on is before submitted_on"),
    ]
    # An outcome word we do not know does not make the request itself doubtful: keep the row as
    # pending (so the claim is not routed to a second Level I) and report the word's line.
    warnings = [
        (raw["outcome"].is_not_null() & typed["outcome"].is_null(),
         "outcome is not a known word (overturned, upheld, partial, pending or a synonym); "
         "row kept as pending"),
    ]
    return typed.with_columns(
        problems=row_messages(checks), warnings=row_messages(warnings)
    )


def row_messages(checks: list[tuple[pl.Series, str]]) -> pl.Series:
    """Per row, the list of messages whose mask is true."""
    flags = pl.DataFrame({f"c{i}": mask.fill_null(False) for i, (mask, _) in enumerate(checks)})
    empty = pl.lit([], dtype=pl.List(pl.String))
    return flags.select(
        pl.concat_list(
            pl.when(pl.col(f"c{i}")).then(pl.lit([what])).otherwise(empty)
            for i, (_, what) in enumerate(checks)
        )
    ).to_series()


def read_log(paths: Iterable[str | Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read every `*reconsiderations.csv` under `paths` (files or folders).

    Returns (log in schema RECONSIDERATIONS, problems[source_file, line_number, problem]).
    A pending outcome is stored as null, the contract's "not decided yet". The same request logged
    twice (same claim, level, submission date and reference, e.g. an export dropped in the inbox
    again) is kept once, preferring a copy that carries an outcome (a later export knows more).
    """
    raws: list[pl.DataFrame] = []
    problems: list[dict] = []
    for path in find_logs(paths):
        raw, structural = read_rows(path)
        problems.extend(structural)
        if raw.height:
            raws.append(raw)
    if not raws:
        return empty("reconsiderations"), pl.DataFrame(problems, schema=RECONSIDERATION_LOG_PROBLEMS)
    typed = _typed(pl.concat(raws, how="diagonal_relaxed"))
    bad = (
        typed.with_columns(pl.concat_list("problems", "warnings").alias("problem"))
        .filter(pl.col("problem").list.len() > 0)
        .explode("problem")
        .select("source_file", pl.col("source_line").alias("line_number"), "problem")
    )
    log = (
        typed.filter(pl.col("problems").list.len() == 0)
        .with_columns(pl.col("outcome").replace("pending", None))
        .sort(pl.col("outcome").is_not_null(), maintain_order=True)
        .unique(
            ["patient_control_number", "payer_claim_control_number", "level", "submitted_on",
             "reference_number"],
            keep="last",
        )
        .sort("source_file", "source_line")
    )
    all_problems = pl.concat([pl.DataFrame(problems, schema=RECONSIDERATION_LOG_PROBLEMS), bad]).sort(
        "source_file", "line_number"
    )
    return conform(log, "reconsiderations"), all_problems
