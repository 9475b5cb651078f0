"""read_x12: one inbox file (bytes or path) → every parsed contract table, never raising.

The file is decoded, cut into runs of interchanges that share delimiters (bounded in size,
so large files are processed in pieces), tokenized into a segment frame and split into
transaction sets. Broken transaction sets are quarantined as a unit while the rest of the
file loads; if building the tables of a run fails unexpectedly, each transaction set of
that run is retried alone so one bad set cannot take the others down. Messages carry
control numbers, claim numbers and codes only — never names, member ids or birth dates.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from claimback import schema
from claimback.x12 import claims837, findings, remit
from claimback.x12.decode import decode_bytes
from claimback.x12.structure import envelope_findings, locate, transaction_hashes, transactions, with_context
from claimback.x12.tokenize import Run, segment_frame, split_runs


_OPT = pl.QueryOptFlags()  # keep common-subplan elimination: several tables share the claim and line plans


_FILE_ORDER = {
    "remit_payments": ["txn"],
    "remit_adjustments": ["seg_index", "triplet"],
    "remit_remarks": ["seg_index", "pos"],
    "provider_adjustments": ["seg_index", "pair"],
    "validation_findings": ["txn", "rule", "location", "message"],
}


@dataclass
class ParsedFile:
    """What read_x12 returns for one file. `tables` holds every name in schema.PARSED_TABLES,
    each conformed to its contract schema (possibly empty); `transactions` counts the sets
    loaded and `quarantined` the rows written to the quarantine table."""

    tables: dict[str, pl.DataFrame]
    file_sha256: str
    file_type: str  # "835" | "837" | "mixed" | "unknown"
    transactions: int
    quarantined: int
    source_file: str = ""
    bytes: int = 0
    encoding: str = ""
    transaction_types: list[str] = field(default_factory=list)


@dataclass
class _Acc:
    """Conformed frames gathered over the runs of one file, and the counts for ParsedFile.

    Frames are conformed as they arrive, so the wide intermediate frames of a run can be
    freed before the next run is read.
    """

    name: str
    sha: str
    frames: dict[str, list[pl.DataFrame]] = field(default_factory=lambda: {t: [] for t in schema.PARSED_TABLES})
    loaded: int = 0
    quarantined: int = 0
    types: set = field(default_factory=set)
    st_seen: int = 0
    clp_seen: int = 0
    clm_seen: int = 0
    segments_seen: int = 0
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def add(self, table: str, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        extra = {"source_file": pl.lit(self.name), "file_sha256": pl.lit(self.sha)}
        if table == "quarantine":
            extra["detected_at"] = pl.lit(self.now)
        frame = frame.with_columns(**extra).rename({"txn": "transaction_ordinal"}, strict=False)
        self.frames[table].append(schema.conform(frame, table))

    def quarantine(self, location: str, error: str) -> None:
        self.add("quarantine", pl.DataFrame({"location": [location], "error": [error]}))
        self.quarantined += 1


def read_x12(source: str | os.PathLike | bytes, source_file: str | None = None) -> ParsedFile:
    """Parse one X12 file (835, 837, or both) into the reader's contract tables."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        name = source_file or "<bytes>"
    else:
        name = source_file or str(source)
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            acc = _Acc(name, hashlib.sha256(b"").hexdigest())
            acc.quarantine("file", f"file could not be read: {type(exc).__name__}")
            return _finish(acc, 0, "")
    size, acc = len(raw), _Acc(name, hashlib.sha256(raw).hexdigest())
    encoding = ""
    try:
        if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
            acc.quarantine("file", "empty file: no X12 content")
        else:
            text, encoding = decode_bytes(raw)
            del raw  # the text is all we need from here; large files should not be held twice
            _read_text(acc, text)
    except Exception as exc:  # noqa: BLE001 - the reader must never raise; the file is quarantined
        acc = _Acc(acc.name, acc.sha)
        acc.quarantine("file", f"internal reader error: {type(exc).__name__}")
    return _finish(acc, size, encoding)


def _read_text(acc: _Acc, text: str) -> None:
    runs = 0
    for run in split_runs(text):
        runs += 1
        _read_run(acc, run)
    if not runs:
        acc.quarantine("file", "not an X12 file: no ISA, GS or ST segment found")
    elif acc.loaded == 0 and acc.quarantined == 0:
        acc.quarantine("file", "no transaction set (ST..SE) found in the X12 content")


def _read_run(acc: _Acc, run: Run) -> None:
    seg = segment_frame(run, acc.segments_seen)
    acc.segments_seen += seg.height
    tag = pl.col("tag")
    ctx = with_context(seg, acc.st_seen).with_columns(
        clp_ordinal=pl.when(tag == "CLP").then((tag == "CLP").cum_sum() + acc.clp_seen),
        clm_ordinal=pl.when(tag == "CLM").then((tag == "CLM").cum_sum() + acc.clm_seen),
    )
    acc.clp_seen += int((seg["tag"] == "CLP").sum())
    acc.clm_seen += int((seg["tag"] == "CLM").sum())
    acc.st_seen += int((seg["tag"] == "ST").sum())
    txns = transactions(ctx).join(transaction_hashes(ctx, run.delimiters), on="txn", how="left")
    ctx = ctx.drop("segment")  # only the hash needs the raw text; dropping it halves what later steps copy
    acc.types.update(t for t in txns["st01"].drop_nulls().to_list() if t in ("835", "837"))
    for row in txns.filter(pl.col("error").is_not_null()).select("location", "error").iter_rows():
        acc.quarantine(*row)
    st_findings, env_findings = envelope_findings(ctx, txns)
    acc.add("validation_findings", _with_hash(st_findings, txns))
    acc.add("validation_findings", env_findings)
    good = txns.filter(pl.col("error").is_null())
    if good.height == 0:
        return
    acc.loaded += good.height
    try:
        built = _build(ctx.filter(pl.col("txn").is_in(good["txn"].implode())), good, acc.sha)
    except Exception:  # noqa: BLE001 - retry set by set so one bad set cannot sink the run
        built = _build_one_by_one(acc, ctx, good)
    for name, frame in built.items():
        acc.add(name, frame)


def _build_one_by_one(acc: _Acc, ctx: pl.DataFrame, good: pl.DataFrame) -> dict:
    out: dict[str, list[pl.DataFrame]] = {}
    for t in good.iter_rows(named=True):
        try:
            one = _build(ctx.filter(pl.col("txn") == t["txn"]), good.filter(pl.col("txn") == t["txn"]), acc.sha)
        except Exception as exc:  # noqa: BLE001
            acc.quarantine(t["location"], f"internal reader error: {type(exc).__name__}")
            acc.loaded -= 1
            continue
        for name, frame in one.items():
            out.setdefault(name, []).append(frame)
    return {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in out.items()}


def _with_hash(frame: pl.DataFrame, txns: pl.DataFrame) -> pl.DataFrame:
    return frame.join(txns.select("txn", "transaction_hash"), on="txn", how="left")


def _build(ctx: pl.DataFrame, txns: pl.DataFrame, sha: str) -> dict[str, pl.DataFrame]:
    """The tables of the (structurally sound) transaction sets in `ctx`.

    Two stages: the tables are one lazy plan collected at once; the findings are then computed
    from the collected tables. Folding the findings into the first plan would make Polars
    optimise every table's plan a second time inside the findings plan, which dominated the
    cost of small files.
    """
    plans: dict[str, pl.LazyFrame] = {}
    sets = txns.lazy()
    hashes = sets.select("txn", "transaction_hash")
    if (txns["st01"] == "835").any():
        t835 = txns.filter(pl.col("st01") == "835")
        seg = remit.segments(remit.with_loops(ctx.filter(pl.col("txn").is_in(t835["txn"].implode()))))
        pay = remit.payments(seg, t835.lazy())
        plans.update(
            remit_payments=pay,
            remit_claims=locate(remit.claims(seg, pay, sha), sets),
            remit_service_lines=locate(remit.service_lines(seg, sha), sets).join(hashes, on="txn", how="left"),
            remit_adjustments=remit.adjustments(seg, sha).join(hashes, on="txn", how="left"),
            remit_remarks=remit.remarks(seg, sha).join(hashes, on="txn", how="left"),
            provider_adjustments=remit.provider_adjustments(seg, pay),
        )
    if (txns["st01"] == "837").any():
        t837 = txns.filter(pl.col("st01") == "837")
        sub, sub_lines = claims837.build(ctx.filter(pl.col("txn").is_in(t837["txn"].implode())), t837.lazy(), sha)
        plans.update(submitted_claims=sub, submitted_service_lines=sub_lines)
    tables = _collect(plans)
    lazy = {name: frame.lazy() for name, frame in tables.items()}
    found: list[pl.LazyFrame] = []
    if "remit_claims" in lazy:
        pay, clm, lines, adj = (lazy[t] for t in ("remit_payments", "remit_claims", "remit_service_lines",
                                                   "remit_adjustments"))
        found += [
            findings.claim_balance(clm, adj),
            findings.line_balance(lines, adj),
            findings.transaction_balance(pay, clm, lazy["provider_adjustments"]),
            findings.npi_check_digits(pay, "payee_npi", "payee", with_claim=False),
            findings.npi_check_digits(clm, "rendering_npi", "rendering"),
        ]
    if "submitted_claims" in lazy:
        found.append(claims837.npi_findings(lazy["submitted_claims"], lazy["submitted_service_lines"]))
    if found:
        tables.update(_collect({"validation_findings": _with_hash(pl.concat(found, how="diagonal_relaxed"), sets)}))
    return tables


def _collect(plans: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    # joins do not promise row order; file order is part of the contract (and of idempotence)
    ordered = [plan.sort(_FILE_ORDER.get(name, "seg_index"), maintain_order=True) for name, plan in plans.items()]
    return dict(zip(plans, pl.collect_all(ordered, optimizations=_OPT)))


def _finish(acc: _Acc, size: int, encoding: str) -> ParsedFile:
    tables = {}
    for table in schema.PARSED_TABLES:
        frames = acc.frames[table]
        if not frames:
            tables[table] = schema.empty(table)
        else:
            tables[table] = pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]
    types = sorted(acc.types)
    file_type = {0: "unknown", 1: types[0] if types else "unknown"}.get(len(types), "mixed")
    return ParsedFile(tables=tables, file_sha256=acc.sha, file_type=file_type, transactions=acc.loaded,
                      quarantined=acc.quarantined, source_file=acc.name, bytes=size, encoding=encoding,
                      transaction_types=types)
