"""Incremental ingest: new inbox files → reader tables in the lake, each file read once.

A file is known by its SHA-256. A run plans the files no earlier run committed, splits them into
batches (the unit a parallel step parses), and each batch writes its reader tables and, last, its
registry rows: a batch without registry rows never happened, so a crash mid-batch leaves nothing
that counts and the next run redoes it. `consolidate` then builds the `current` tables every later
stage reads, keeping each transaction set once: the same remit delivered twice — under another
name, another envelope, or twice inside one file — loads from the first delivery only.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from claimback import schema, storage
from claimback.among import Normalised, among_any, key_columns
from claimback.inbox import UNREADABLE, InboxFile, report_skipped, sha256_of_all
from claimback.lake import CONSOLIDATED, CURRENT_ORDER, Lake

log = logging.getLogger(__name__)

REGISTRY = "ingested_files"
KEY_FILE_CHARS = 16  # the characters of a file's SHA-256 that begin its rows' claim keys (x12.fields.key_prefix)
TRANSACTIONS = "transactions"
# Reader tables de-duplicated by transaction; findings and quarantine belong to files.
TRANSACTION_TABLES = tuple(t for t in schema.PARSED_TABLES if t not in ("quarantine", "validation_findings"))
FILE_TABLES = ("quarantine", "validation_findings")
_TRANSACTIONS_SCHEMA = {
    "transaction_hash": pl.String,
    "file_sha256": pl.String,
    "source_file": pl.String,
    "transaction_ordinal": pl.Int64,
    "loaded_at": schema.TS,
}


@dataclass
class PlannedFile:
    file: InboxFile
    sha256: str
    duplicate_of: str | None = None  # an earlier file with the same bytes


@dataclass
class Plan:
    new: list[PlannedFile] = field(default_factory=list)  # to parse
    duplicates: list[PlannedFile] = field(default_factory=list)  # same bytes as a known file
    logs: list[PlannedFile] = field(default_factory=list)  # reconsideration logs not seen before
    known: int = 0  # already ingested by an earlier run

    def batches(self, max_files: int = 250, max_bytes: int = 256 << 20) -> list[list[PlannedFile]]:
        """Split the new files into batches of bounded count and size, in name order."""
        out: list[list[PlannedFile]] = []
        current: list[PlannedFile] = []
        size = 0
        for planned in self.new:
            if current and (len(current) >= max_files or size + planned.file.size > max_bytes):
                out.append(current)
                current, size = [], 0
            current.append(planned)
            size += planned.file.size
        if current:
            out.append(current)
        return out


def registry(lake: Lake) -> pl.DataFrame:
    """Every file any committed batch recorded."""
    files = sorted(lake.raw_dir(REGISTRY).glob("*.parquet"))
    if not files:
        return schema.empty(REGISTRY)
    return pl.read_parquet([str(f) for f in files], glob=False)


def batches_of_keys(lake: Lake, keys: pl.Series) -> list[str] | None:
    """The ingest batches whose current parts hold the rows of these claim keys: a claim key starts
    with the hash of the file it was read from (`x12.fields.key_prefix`), and a file's rows are in
    the part of the batch that read it. A read by key then opens those parts, not the history's.
    None (read every part) when a key names no registered file."""
    prefixes = keys.drop_nulls().unique().str.slice(0, KEY_FILE_CHARS).rename("prefix").to_frame()
    files = registry(lake).select("batch_id", prefix=pl.col("sha256").str.slice(0, KEY_FILE_CHARS))
    found = prefixes.join(files, on="prefix", how="left")
    if found["batch_id"].null_count():
        return None
    return found["batch_id"].unique().sort().to_list()


# The reader's tables whose rows carry the claim key of the file they were read from (not one
# another file's rows name): their rows of a claim key are in the part of the batch that read its file.
KEYED_BY_THEIR_FILE = ("remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks",
                       "submitted_claims", "submitted_service_lines")


def rows_by_claim_key(lake: Lake, table: str, keys: pl.Series, columns: Sequence[str],
                      ordered: bool = False, within: pl.Expr | None = None) -> pl.DataFrame:
    """`Lake.rows_where` by claim key on one of the reader's tables, reading only the parts of the
    batches that read the keys' files (`batches_of_keys`): what a night looks up by key is mostly
    recent, the parts are the history's. In no promised order unless `ordered`."""
    if table not in KEYED_BY_THEIR_FILE:
        raise ValueError(f"{table}: its claim keys do not name the files its rows were read from")
    return lake.rows_where(table, "claim_key", keys, columns, ordered=ordered, within=within,
                           batches=batches_of_keys(lake, keys))


def rows_by_claim_key_kept(lake: Lake, table: str, keys: pl.Series, columns: Sequence[str], kept: str,
                           forget: bool = False) -> pl.DataFrame:
    """`rows_by_claim_key` (in no promised order) through a copy of the rows it gave the last run,
    kept in lake/state as `kept`: the rows of the keys the copy holds are taken from it, the others
    read from the lake, and the copy then holds tonight's keys. Made for a read that moves a little
    each night (the 837s of a trend window's denials: the window slides by a day, ~97 % of its
    claims were read the night before).

    A claim key's rows are those its file gave (`KEYED_BY_THEIR_FILE`); they change only when the
    part of the batch that read it is written again or dropped (claimback.ingest.consolidate). So the
    copy is used only when every batch it was read from stands in the current tables as it stood,
    and it is written as the denials stage and routing write their kept rows: what it stood on
    removed first and written last, so a run stopped half-way leaves no copy. `forget`: read
    everything from the lake (a run from scratch forgets every kept row)."""
    if "claim_key" not in columns:
        raise ValueError("a kept copy is found by claim key: read the claim_key column too")
    names = {part: f"{kept}_{part}" for part in ("rows", "keys", "batches")}
    batches = lake.read_state(CONSOLIDATED)
    wanted = keys.drop_nulls().unique().cast(pl.String).to_frame("claim_key")
    copy, held = (None, None) if forget else _kept_copy(lake, names, batches)
    missing = wanted if held is None else wanted.join(held, on="claim_key", how="anti")
    read = copy.head(0) if copy is not None and missing.is_empty() else \
        rows_by_claim_key(lake, table, missing["claim_key"], columns)
    if copy is not None and copy.schema != read.schema:  # kept with other columns: all read again
        copy, read = None, rows_by_claim_key(lake, table, wanted["claim_key"], columns)
    rows = read if copy is None else pl.concat(
        [copy.join(wanted, on="claim_key", how="semi", maintain_order="left"), read])
    lake.state_path(names["batches"]).unlink(missing_ok=True)  # no copy while it is written
    lake.write_state(names["rows"], rows)
    lake.write_state(names["keys"], wanted)
    lake.write_state(names["batches"], batches)
    return rows


def _kept_copy(lake: Lake, names: dict[str, str], batches: pl.DataFrame
               ) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """(the kept rows, the keys they were read for), or (None, None) when there is no copy to use:
    none written whole, or a batch it was read from written again or gone."""
    stood = lake.read_state(names["batches"])
    if stood.is_empty() or not batches_stand(stood, batches):
        return None, None
    return lake.read_state(names["rows"]), lake.read_state(names["keys"])


def batches_stand(before: pl.DataFrame, now: pl.DataFrame) -> bool:
    """Whether every consolidated batch of `before` (the CONSOLIDATED state some kept rows were read
    under) stands in `now` as it stood: none of their parts written again or gone."""
    return before.columns == now.columns and before.join(now, on=now.columns, how="anti", nulls_equal=True).is_empty()


def rows_among(lake: Lake, table: str, tests: Sequence[tuple[str | pl.Expr | Normalised, pl.Series]],
               columns: Sequence[str],
               ordered: bool = True) -> pl.DataFrame:
    """`columns` of the rows of one of the reader's tables where any (key, values) of `tests` holds
    a key among its values (`among.among_any`), in the table's order unless not `ordered`. The
    tests read their own columns over the whole table; the rows found are then read whole by their
    claim keys from their batches' parts only (`rows_by_claim_key`), not every column of the
    history (10 M claims, the night's 90 k touched remits of 7.2 M: 3.5 -> 2.1 s)."""
    needed = {name for key, _ in tests for name in key_columns(key)}
    found = among_any(lake.scan_unordered(table, ("claim_key", *sorted(needed))), tests).select("claim_key").collect()
    return rows_by_claim_key(lake, table, found["claim_key"], columns, ordered=ordered)


def plan(files: list[InboxFile], lake: Lake) -> Plan:
    """Which X12 inbox files are new; reconsideration logs are read whole every run instead.

    The registry grows with history (one row per file ever read), so it is matched with the inbox
    by joins, not by Python dictionaries of every row: a file unchanged since it was registered
    (same name, size, mtime) is known without being hashed or looked at again, and only the files
    hashed tonight are looked up by name and hash."""
    known = registry(lake)
    listed = pl.DataFrame({"source_file": [f.name for f in files], "bytes": [f.size for f in files],
                           "mtime_ns": [f.mtime_ns for f in files]},
                          schema={"source_file": pl.String, "bytes": pl.Int64, "mtime_ns": pl.Int64})
    stat_keys = ["source_file", "bytes", "mtime_ns"]
    registered = known.select(*stat_keys, "sha256").unique(stat_keys, keep="last", maintain_order=True)
    by_stat = listed.join(registered, on=stat_keys, how="left", maintain_order="left")["sha256"].to_list()
    unhashed = [f for f, sha in zip(files, by_stat) if sha is None]
    hashed = dict(zip((f.name for f in unhashed), sha256_of_all([f.path for f in unhashed])))
    unreadable = [name for name, sha in hashed.items() if sha is None]
    report_skipped(UNREADABLE, unreadable)  # not registered: read by the first run that can
    seen, first_name_of = _registered_as(known, [(name, sha) for name, sha in hashed.items() if sha is not None])
    result = Plan()
    for f, registered_sha in zip(files, by_stat):
        if registered_sha is not None:  # recorded before under this name and these bytes: nothing to do
            result.known += 0 if f.is_csv_input else 1
            continue
        sha = hashed[f.name]
        if sha is None:
            continue
        if f.is_csv_input:  # read whole every run; registered so each version is on record
            if (f.name, sha) not in seen:
                result.logs.append(PlannedFile(f, sha))
            continue
        if (f.name, sha) in seen:
            result.known += 1
        elif sha in first_name_of:
            result.duplicates.append(PlannedFile(f, sha, duplicate_of=first_name_of[sha]))
        else:
            first_name_of[sha] = f.name
            result.new.append(PlannedFile(f, sha))
    return result


def _registered_as(known: pl.DataFrame, hashed: list[tuple[str, str]]) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """For files hashed tonight, (name, sha256): which pairs the registry holds already, and the
    first name each of their contents was read under (a later file with those bytes is a duplicate)."""
    if not hashed:
        return set(), {}
    tonight = pl.DataFrame(hashed, schema={"source_file": pl.String, "sha256": pl.String}, orient="row")
    seen = set(known.join(tonight, on=["source_file", "sha256"], how="semi")
               .select("source_file", "sha256").iter_rows())
    originals = (known.filter(pl.col("status") != "duplicate_file")
                 .join(tonight.select("sha256").unique(), on="sha256", how="semi")
                 .unique("sha256", keep="last", maintain_order=True))
    return seen, dict(zip(originals["sha256"].to_list(), originals["source_file"].to_list()))


def batch_id(batch: list[PlannedFile]) -> str:
    return hashlib.sha256("".join(sorted(p.sha256 for p in batch)).encode()).hexdigest()[:16]


def ingest_batch(batch: list[PlannedFile], lake: Lake, loaded_at: datetime | None = None) -> dict:
    """Parse one batch of new files into the lake; returns counts (no PHI)."""
    loaded_at = loaded_at or datetime.now(timezone.utc)
    bid = batch_id(batch)
    parts: dict[str, list[pl.DataFrame]] = {t: [] for t in schema.PARSED_TABLES}
    reg_rows = []
    for planned, parsed in _read_all(batch):
        if changed := _changed_since_planned(planned, parsed.file_sha256):
            # Its rows and its registry entry would name different bytes, and the next run would
            # read it again as new: left alone, it is read whole by the run after it settles.
            log.warning("%s %s while this run read it; it is left for the next run", planned.file.name, changed)
            continue
        for table, frame in parsed.tables.items():
            if table in parts and frame.height:
                parts[table].append(frame)
        claims = parsed.tables["remit_claims"].height + parsed.tables["submitted_claims"].height
        reg_rows.append(
            _registry_row(planned, loaded_at, bid, parsed.file_type, parsed.transactions, parsed.quarantined, claims)
        )
        log.debug("read %s: %d transaction sets, %d claims, %d quarantined",
                  planned.file.name, parsed.transactions, claims, parsed.quarantined)
    log.info("batch %s: read %d files, %d claims", bid, len(reg_rows), sum(r["claims"] for r in reg_rows))
    if not reg_rows:  # every file changed under it: nothing to commit
        return {"batch_id": bid, "files": 0, "claims": 0, "quarantined_transactions": 0}
    tables = {
        table: schema.conform(pl.concat(frames, how="vertical_relaxed"), table) if frames else schema.empty(table)
        for table, frames in parts.items()
    }
    del parts
    for table, frame in tables.items():
        lake.write_raw(table, bid, frame)
    lake.write_raw(TRANSACTIONS, bid, _transactions_of(tables, loaded_at))
    del tables
    # The registry is written last: it is the batch's commit record.
    lake.write_raw(REGISTRY, bid, schema.conform(pl.DataFrame(reg_rows), REGISTRY))
    return {
        "batch_id": bid,
        "files": len(reg_rows),
        "claims": sum(r["claims"] for r in reg_rows),
        "quarantined_transactions": sum(r["quarantined_transactions"] for r in reg_rows),
    }


def _changed_since_planned(planned: PlannedFile, parsed_sha256: str) -> str | None:
    """How a file changed between the plan (which hashed it) and the read (which hashed the
    bytes it parsed), or None when it is the same file throughout."""
    try:
        now = planned.file.path.stat()
    except OSError:  # gone: fine if what was read is what was planned
        return None if parsed_sha256 == planned.sha256 else "disappeared"
    if parsed_sha256 != planned.sha256:
        return "changed"
    if (now.st_size, now.st_mtime_ns) != (planned.file.size, planned.file.mtime_ns):
        return "changed"  # the bytes read were the planned ones, but not what is there now
    return None


def _read_all(batch: list[PlannedFile]):
    """(planned file, parsed file) for every file of the batch, all through one reader call,
    which spreads the small files evenly over its worker threads. Files of an inbox on an object
    store are read from a local copy, removed when the batch is read."""
    from claimback.x12 import read_x12_many  # the reader is heavy to import; only batches need it

    with storage.local_copies([p.file.path for p in batch]) as paths:
        yield from zip(batch, read_x12_many(paths, [p.file.name for p in batch]))


def record_duplicates(duplicates: list[PlannedFile], lake: Lake, loaded_at: datetime | None = None) -> None:
    """Register files whose bytes were already loaded under another name: skipped, not lost."""
    _record(duplicates, lake, "dup-", "duplicate_file", None, loaded_at)


def record_logs(logs: list[PlannedFile], lake: Lake, loaded_at: datetime | None = None) -> None:
    """Register each new version of a reconsideration log or fee schedule (each is read every run)."""
    _record([p for p in logs if not p.file.is_fee_schedule], lake, "log-", "reconsideration_log", "reconsiderations",
            loaded_at)
    _record([p for p in logs if p.file.is_fee_schedule], lake, "fees-", "fee_schedule", "fee_schedule", loaded_at)


def _record(files: list[PlannedFile], lake: Lake, prefix: str, status: str, file_type, loaded_at) -> None:
    if not files:
        return
    loaded_at = loaded_at or datetime.now(timezone.utc)
    bid = prefix + batch_id(files)
    rows = [_registry_row(p, loaded_at, bid, file_type, 0, 0, 0, status=status) for p in files]
    lake.write_raw(REGISTRY, bid, schema.conform(pl.DataFrame(rows), REGISTRY))


def _registry_row(planned: PlannedFile, loaded_at, bid, file_type, transactions, quarantined, claims, status=None):
    if status is None:
        if transactions == 0:
            status = "quarantined"
        elif quarantined:
            status = "partly_loaded"
        else:
            status = "loaded"
    return {
        "source_file": planned.file.name,
        "sha256": planned.sha256,
        "bytes": planned.file.size,
        "status": status,
        "transactions": transactions,
        "loaded_at": loaded_at,
        "duplicate_of": planned.duplicate_of,
        "duplicate_transactions": 0,
        "quarantined_transactions": quarantined,
        "file_type": file_type,
        "batch_id": bid,
        "mtime_ns": planned.file.mtime_ns,
        "claims": claims,
    }


def _transactions_of(tables: dict[str, pl.DataFrame], loaded_at: datetime) -> pl.DataFrame:
    keys = ["transaction_hash", "file_sha256", "source_file", "transaction_ordinal"]
    frames = [tables[t].select(keys) for t in TRANSACTION_TABLES if tables[t].height]
    if not frames:
        return pl.DataFrame(schema=_TRANSACTIONS_SCHEMA)
    return (
        pl.concat(frames)
        .unique()
        .with_columns(pl.lit(loaded_at).cast(schema.TS).alias("loaded_at"))
        .select(list(_TRANSACTIONS_SCHEMA))
        .sort("source_file", "transaction_ordinal")
    )


# --- consolidation ---------------------------------------------------------------------------
def committed_batches(lake: Lake) -> set[str]:
    return set(registry(lake)["batch_id"].drop_nulls().to_list())


def remove_uncommitted(lake: Lake, committed: set[str] | None = None) -> int:
    """Delete raw files of batches that never wrote their registry rows (a crash mid-batch)."""
    committed = committed_batches(lake) if committed is None else committed
    removed = 0
    for table in (*schema.PARSED_TABLES, TRANSACTIONS):
        for path in lake.raw_dir(table).glob("*.parquet"):
            if path.stem not in committed:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def repair_doubled_files(lake: Lake, committed: set[str], tx: pl.DataFrame | None = None) -> int:
    """Drop the later copy of a file's rows stored by two batches; returns how many copies.

    Before runs held the warehouse lock and checked that a file was not changing while it was
    read, a file could be stored twice under one hash (two runs at once, or a run that planned
    a file half written and read it whole), and every later run then failed on duplicate claim
    keys, for good. The earliest batch keeps the rows; the later batches' Parquet files are
    rewritten without them (each atomically, with the lock held). Costs one look at the small
    `transactions` table when there is nothing to repair (`tx`: that table with each row's batch,
    when the caller has read it already)."""
    tx = _transactions_by_batch(lake, committed) if tx is None else tx
    stored = tx.group_by("file_sha256", "batch").agg(pl.col("loaded_at").min())
    if stored["file_sha256"].is_unique().all():
        return 0
    later = stored.sort("loaded_at", "batch").filter(pl.int_range(pl.len()).over("file_sha256") > 0)
    for batch, shas in later.group_by("batch").agg("file_sha256").iter_rows():
        for table in (*schema.PARSED_TABLES, TRANSACTIONS):
            path = lake.raw_dir(table) / f"{batch}.parquet"
            if path.exists():
                frame = pl.read_parquet(str(path), glob=False)
                lake.write_raw(table, batch, frame.filter(~pl.col("file_sha256").is_in(shas).fill_null(False)))
    log.warning("%d files had their rows stored twice by an earlier version (two runs at once, or a file read "
                "while it was being written); the later copies were dropped", later["file_sha256"].n_unique())
    return later.height


def _scan_committed(lake: Lake, table: str, committed: set[str], empty: pl.DataFrame,
                    with_batch: bool = False) -> pl.LazyFrame:
    """The committed batches' raw files of `table`; `with_batch` adds each row's batch id."""
    files = sorted(p for p in lake.raw_dir(table).glob("*.parquet") if p.stem in committed)
    if not files:
        return empty.lazy().with_columns(pl.lit(None, pl.String).alias("batch")) if with_batch else empty.lazy()
    if not with_batch:
        return pl.scan_parquet([str(f) for f in files], glob=False)
    return (pl.scan_parquet([str(f) for f in files], glob=False, include_file_paths="_path")
            .with_columns(batch=pl.col("_path").str.extract(r"([^/\\]+)\.parquet$")).drop("_path"))


def _transactions_by_batch(lake: Lake, committed: set[str]) -> pl.DataFrame:
    return _scan_committed(lake, TRANSACTIONS, committed, pl.DataFrame(schema=_TRANSACTIONS_SCHEMA),
                           with_batch=True).collect()


def winning_transactions(lake: Lake, committed: set[str] | None = None) -> pl.LazyFrame:
    """(file_sha256, transaction_ordinal) of the first delivery of every distinct transaction.

    Among deliveries loaded at the same moment the files' contents decide, never their names
    (renaming the files of an inbox must not change which copy of a re-sent transaction stands):
    the smaller file, then the smaller hash. A copy re-formatted by another system (a line break
    after every segment) is the larger one, so the compact original stands."""
    committed = committed_batches(lake) if committed is None else committed
    tx = _scan_committed(lake, TRANSACTIONS, committed, pl.DataFrame(schema=_TRANSACTIONS_SCHEMA))
    return _winners(tx, lake).select("file_sha256", "transaction_ordinal")


def _winners(tx: pl.LazyFrame, lake: Lake, known: pl.DataFrame | None = None) -> pl.LazyFrame:
    sizes = (registry(lake) if known is None else known).lazy().select(file_sha256="sha256", _bytes="bytes").unique("file_sha256")
    return (
        tx.join(sizes, on="file_sha256", how="left")
        .sort("loaded_at", "_bytes", "file_sha256", "transaction_ordinal", nulls_last=True)
        .unique("transaction_hash", keep="first", maintain_order=True)
        .drop("_bytes")
    )


# Bookkeeping of the current tables' parts (lake.CONSOLIDATED): per batch, which of its transaction
# sets won (a fingerprint) when its part was written. Bump PARTS_FORMAT when what a part holds changes, so
# every part is written again once.
PARTS_FORMAT = 1


def consolidate(lake: Lake) -> dict[str, int]:
    """Bring lake/current up to date with the committed batches; returns row counts per table.

    The current tables are partitioned by ingest batch: `current/<table>/<batch>.parquet` holds
    the batch's rows of the transaction sets that stand (the first delivery of each). A night
    writes the parts of its new batches and leaves the others alone, so its work grows with the
    night's files, not with history. Which delivery stands is still decided over every batch
    (from the small `transactions` table), and a batch whose standing sets changed since its part
    was written — a set first loaded by it now loaded earlier by another, which only a repair
    or a clock set back can do — has its part written again: the result is always what a rebuild
    from every batch would hold. Why the batch and not, say, remit month × payer: the first
    delivery stands, so new batches never take rows from old ones; a part is written once, from
    one raw file, and a month × payer key would rewrite the month's part every night it grows."""
    # The registry and the transactions table grow with history: each is read once a night.
    known = registry(lake)
    committed = set(known["batch_id"].drop_nulls().to_list())
    remove_uncommitted(lake, committed)
    tx = _transactions_by_batch(lake, committed)
    repaired = repair_doubled_files(lake, committed, tx)
    if repaired:
        tx = _transactions_by_batch(lake, committed)  # the later copies' rows are gone from the raw files
    winners = _winners(tx.lazy(), lake, known).collect()
    keys = ["file_sha256", "transaction_ordinal"]
    standing = (tx.join(winners.select(keys), on=keys, how="semi")
                .group_by("batch").agg(pl.len().alias("standing"),
                                       pl.struct(keys).hash().sum().alias("fingerprint")))
    fingerprints = (pl.DataFrame({"batch": sorted(committed)}, schema={"batch": pl.String})
                    .join(standing, on="batch", how="left")
                    .with_columns(pl.col("standing").fill_null(0), pl.col("fingerprint").fill_null(0),
                                  pl.lit(PARTS_FORMAT).alias("format")))
    before = lake.read_state(CONSOLIDATED)
    unchanged: set[str] = set()
    if not repaired and before.columns == fingerprints.columns:
        unchanged = set(fingerprints.join(before, on=fingerprints.columns, how="semi")["batch"].to_list())
    tables = (*schema.PARSED_TABLES,)
    if not committed:  # nothing read yet: the empty tables, as single files
        for table in tables:
            _drop_parts(lake, table, keep=set())
            lake.write_current(table, schema.empty(table))
    # One listing per table, not a look per part (on an object store each look is a request).
    written = {table: {part.stem for part in lake.current_parts(table)} for table in tables}
    for batch in sorted(committed):
        if batch in unchanged and all(batch in written[t] for t in tables):
            continue
        mine = tx.filter(pl.col("batch") == batch).select(keys)
        won = mine.join(winners.select(keys), on=keys, how="semi")
        for table in tables:
            lake.write_current_part(table, batch, _part(lake, table, batch, mine, won))
    for table in tables:
        if committed:
            _drop_parts(lake, table, keep=committed)
            lake.current_path(table).unlink(missing_ok=True)  # a lake consolidated before the parts
    lake.write_state(CONSOLIDATED, fingerprints)
    counts = {table: lake.rows(table) for table in tables}
    files = _files_with_duplicate_counts(known, committed, tx, winners)
    lake.write_current(REGISTRY, files)
    counts[REGISTRY] = files.height
    return counts


def _part(lake: Lake, table: str, batch: str, mine: pl.DataFrame, won: pl.DataFrame) -> pl.DataFrame:
    """One batch's rows of `table` that stand: every row of its standing transaction sets (`won`
    of `mine`, the batch's sets), findings about the file itself, and its whole quarantine."""
    path = lake.raw_dir(table) / f"{batch}.parquet"
    raw = pl.scan_parquet(str(path), glob=False) if path.exists() else schema.empty(table).lazy()
    keys = ["file_sha256", "transaction_ordinal"]
    if table in TRANSACTION_TABLES and won.height < mine.height:
        # Every row of a transaction table belongs to a set in `transactions` (that table is made
        # from them), so dropping the later deliveries' rows is the same as keeping the winners'.
        raw = _without(raw, mine.join(won, on=keys, how="anti"))
    elif table == "validation_findings":
        # Findings about a duplicate transaction go with it; file-level findings stay.
        raw = pl.concat([raw.filter(pl.col("transaction_ordinal").is_null()),
                         raw.join(won.lazy(), on=keys, how="semi")])
    frame = raw.collect()
    order = [c for c in CURRENT_ORDER if c in frame.columns]
    return frame.sort(order, nulls_last=True, maintain_order=True) if order else frame


def _drop_parts(lake: Lake, table: str, keep: set[str]) -> None:
    for part in lake.current_parts(table):
        if part.stem not in keep:
            part.unlink()
    folder = lake.current_dir(table)  # an object store has no folders to remove
    if not keep and not storage.is_remote(folder) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


# Up to this many files with a repeated transaction set, the repeats are dropped by a filter;
# beyond, by a join. At a million claims with one repeat the join took 1.7 s per big table, the
# filter 0.2 s (it is pushed into the Parquet scan, and keeps the rows in place).
FILTER_REPEATS_UP_TO = 50


def _without(raw: pl.LazyFrame, repeats: pl.DataFrame) -> pl.LazyFrame:
    """`raw` without the rows of the transaction sets in `repeats` (file_sha256, transaction_ordinal)."""
    by_file = repeats.group_by("file_sha256").agg("transaction_ordinal")
    if by_file.height > FILTER_REPEATS_UP_TO:
        return raw.join(repeats.lazy(), on=["file_sha256", "transaction_ordinal"], how="anti")
    repeated = pl.any_horizontal([
        (pl.col("file_sha256") == sha) & pl.col("transaction_ordinal").is_in(ordinals)
        for sha, ordinals in by_file.iter_rows()
    ])
    return raw.filter(~repeated)


def _files_with_duplicate_counts(known: pl.DataFrame, committed: set[str], tx: pl.DataFrame,
                                 winners: pl.DataFrame) -> pl.DataFrame:
    """The registry, with each file's transactions that an earlier delivery already loaded."""
    reg = known.filter(pl.col("batch_id").is_in(sorted(committed)))
    winners = winners.select("file_sha256", "transaction_ordinal")
    won = winners.with_columns(pl.lit(True).alias("won"))
    per_file = (
        tx.join(won, on=["file_sha256", "transaction_ordinal"], how="left")
        .group_by("file_sha256")
        .agg(pl.len().alias("tx"), pl.col("won").is_null().sum().alias("dups"))
    )
    return (
        reg.join(per_file, left_on="sha256", right_on="file_sha256", how="left")
        .with_columns(
            pl.col("dups").fill_null(0).cast(pl.Int64).alias("duplicate_transactions"),
            pl.when((pl.col("status") == "loaded") & (pl.col("dups") > 0) & (pl.col("dups") == pl.col("tx")))
            .then(pl.lit("duplicate_transactions"))
            .otherwise(pl.col("status"))
            .alias("status"),
        )
        .pipe(schema.conform, REGISTRY)
        .sort("source_file", "loaded_at")
    )


