"""Load the code lists (CARC, RARC, group codes, CLP02 statuses) as typed Polars frames.

The lists ship with the package in `claimback/codes/data/`. A user who imports a newer
official list (`import_official`) gets a merged copy in the override folder
($CLAIMBACK_CODES_DIR, else ~/.config/claimback/codes/); every loader prefers that copy, so
the whole pipeline follows the user's list without a new release. Loads are cached per file
version (path, modification time, size), so an import is picked up by the next call.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

import polars as pl

from claimback.codes import registry
from claimback.codes.vocab import ADJUSTMENT_KINDS, CATEGORIES, FIXABLE_BY

PACKAGED_DIR = Path(__file__).resolve().parent / "data"

CARC_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String,
    "label": pl.String,
    "category": pl.String,
    "fixable_by": pl.String,
    "adjustment_kind": pl.String,
    "effective_date": pl.Date,
    "stop_date": pl.Date,
    "notes": pl.String,
    # X12's own text, as published (the packaged lists carry the list of 2026-08-17; an
    # official import replaces it with the user's newer copy).
    "official_description": pl.String,
    # current, tobe (to be deactivated) or deactivated, as X12 publishes it
    "status": pl.String,
    "last_modified": pl.Date,
    # Usage rules from the CARC texts: a remark code must accompany the CARC; the CARC may
    # only be sent with these group codes (space-separated; empty = any group).
    "requires_remark": pl.Boolean,
    "allowed_groups": pl.String,
}

RARC_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String,
    "label": pl.String,
    "category_hint": pl.String,
    "effective_date": pl.Date,
    "stop_date": pl.Date,
    "official_description": pl.String,
    "last_modified": pl.Date,
    "status": pl.String,  # current, tobe or deactivated, as X12 publishes it
}

GROUP_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String,
    "label": pl.String,
    "meaning": pl.String,
    "patient_may_be_billed": pl.Boolean,
    "valid_in_5010": pl.Boolean,
}

CLAIM_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "code": pl.String,
    "label": pl.String,
    "payer_order": pl.String,
    "is_denied": pl.Boolean,
    "is_reversal": pl.Boolean,
    "is_forwarded": pl.Boolean,
    "is_pending": pl.Boolean,
    "is_predetermination": pl.Boolean,
    "notes": pl.String,
}

# Columns a list file may leave out (the packaged files have no official text).
_OPTIONAL = {"official_description", "last_modified", "notes", "requires_remark", "allowed_groups",
             "status"}

# X12's statuses of a code: in use, to be deactivated on its stop date, deactivated.
STATUSES: tuple[str, ...] = ("current", "tobe", "deactivated")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "carc": CARC_SCHEMA,
    "rarc": RARC_SCHEMA,
    "groups": GROUP_SCHEMA,
    "claim_status": CLAIM_STATUS_SCHEMA,
}


class CodeListError(ValueError):
    """A code list file is unreadable or lacks required columns (names the file, never data)."""


def override_dir() -> Path:
    """The user's folder for merged official lists; it need not exist."""
    configured = os.environ.get("CLAIMBACK_CODES_DIR")
    if configured:
        return Path(configured).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "claimback" / "codes"


def list_path(name: str) -> Path:
    """The file a loader reads for list `name`: the user's override if present, else ours."""
    user_file = override_dir() / f"{name}.csv"
    return user_file if user_file.is_file() else PACKAGED_DIR / f"{name}.csv"


def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType], path: Path) -> pl.DataFrame:
    missing = [c for c in schema if c not in frame.columns and c not in _OPTIONAL]
    if missing:
        raise CodeListError(f"code list {path} lacks column(s) {', '.join(missing)}")
    columns = []
    for name, dtype in schema.items():
        if name not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        text = pl.col(name).str.strip_chars()
        text = pl.when(text == "").then(None).otherwise(text)
        if dtype == pl.Date:
            columns.append(text.str.to_date("%Y-%m-%d", strict=True).alias(name))
        elif dtype == pl.Boolean:
            columns.append(text.str.to_lowercase().is_in(["true", "yes", "1"]).alias(name))
        else:
            columns.append(text.alias(name))
    try:
        return frame.select(columns)
    except pl.exceptions.ComputeError as exc:
        raise CodeListError(f"code list {path} has a date not in YYYY-MM-DD form") from exc


# Columns whose values must come from a fixed vocabulary: a typo in a user's edited list
# would otherwise flow silently into every denial downstream.
_VOCABULARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "carc": {
        "category": CATEGORIES,
        "fixable_by": FIXABLE_BY,
        "adjustment_kind": ADJUSTMENT_KINDS,
        "status": STATUSES,
    },
    "rarc": {"category_hint": CATEGORIES, "status": STATUSES},
}


def _check_vocabularies(frame: pl.DataFrame, name: str, path: Path) -> None:
    problems = []
    for column, allowed in _VOCABULARIES.get(name, {}).items():
        bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(allowed))
        if bad.height:
            examples = ", ".join(f"{code}={value}" for code, value in bad.select("code", column).head(5).rows())
            problems.append(f"{column} not one of {', '.join(allowed)} ({examples})")
    duplicated = frame.filter(pl.col("code").is_duplicated())["code"].unique().sort().head(5).to_list()
    if duplicated:
        problems.append(f"codes listed twice ({', '.join(duplicated)})")
    if frame["code"].null_count():
        problems.append("rows without a code")
    if problems:
        raise CodeListError(f"code list {path}: " + "; ".join(problems))


@functools.lru_cache(maxsize=32)
def _read(path_text: str, name: str, _mtime_ns: int, _size: int) -> pl.DataFrame:
    path = Path(path_text)
    raw = pl.read_csv(path, infer_schema=False, comment_prefix="#", encoding="utf8")
    frame = _typed(raw, SCHEMAS[name], path)
    _check_vocabularies(frame, name, path)
    if "status" in frame.columns:  # a list without statuses (an older import): from the stop date
        frame = frame.with_columns(pl.coalesce("status", status_from_stop_date(pl.col("stop_date"))))
    return _with_registry_routes(frame) if name == "carc" else frame


def _with_registry_routes(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `suggested_route` to every denial (and pricing) CARC from the code registry (its own route, else its
    category's): the registry is the one place routes live (a list file's own column is ignored)."""
    own = {code: entry.route for code, entry in registry.registry().codes.items()}
    by_category = {name: route for name, (_, route) in registry.category_defaults().items()}
    route = pl.col("code").replace_strict(own, default=None, return_dtype=pl.String).fill_null(
        pl.col("category").replace_strict(by_category, default=None, return_dtype=pl.String))
    return frame.with_columns(
        suggested_route=pl.when(pl.col("adjustment_kind").is_in(["denial", "pricing"])).then(route)
    )


def status_from_stop_date(stop: pl.Expr) -> pl.Expr:
    """current without a stop date, tobe before it, deactivated from it on."""
    today = pl.lit(dt.date.today())
    return (
        pl.when(stop.is_null()).then(pl.lit("current"))
        .when(stop > today).then(pl.lit("tobe"))
        .otherwise(pl.lit("deactivated"))
    )


def load(name: str) -> pl.DataFrame:
    """List `name` ("carc", "rarc", "groups", "claim_status"), typed, override preferred."""
    path = list_path(name)
    stat = path.stat()
    return _read(str(path), name, stat.st_mtime_ns, stat.st_size)


def carc() -> pl.DataFrame:
    """Every CARC we know: label, category, fixable_by, suggested_route, adjustment_kind, dates."""
    return load("carc")


def rarc() -> pl.DataFrame:
    """RARCs with a label where known and a category hint where a remark changes the root cause."""
    return load("rarc")


def group_codes() -> pl.DataFrame:
    """CAS01 group codes (CO, PR, OA, PI, CR) with their meaning."""
    return load("groups")


def claim_status_codes() -> pl.DataFrame:
    """CLP02 claim status codes with flags: denied, reversal, forwarded, pending, predetermination."""
    return load("claim_status")


def clear_cache() -> None:
    """Forget cached lists (the cache already notices changed files; this frees memory)."""
    _read.cache_clear()
