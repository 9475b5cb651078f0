"""read_x12 / read_x12_many: inbox files (bytes or paths) → every parsed contract table, never raising.

Each file is decoded and cut into runs of interchanges that share delimiters. The runs of
many small files (or of one piece of a large file) are tokenized into ONE segment frame whose
keys carry the file's position (fields.KEY_SPAN), the tables are built by one plan, and the
rows are then split back per file. Batches of small files, and the pieces of a large file,
are built by two worker threads (Polars runs these many small operations on one core each and
releases the GIL meanwhile); pieces are tokenized in file order so running counts stay exact,
and results are applied in that order. Broken transaction sets are quarantined as a unit while
the rest of the file loads; if building the tables of a file fails unexpectedly, each
transaction set is retried alone so one bad set cannot take the others down. Messages carry
control numbers, claim numbers and codes only — never names, member ids or birth dates.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from claimback import schema
from claimback.environment import workers
from claimback.x12 import acks, claims837, core, findings, remit
from claimback.x12.decode import decode_bytes
from claimback.x12.fields import FLAG, REJECT, file_of, within_file
from claimback.x12.structure import (
    SUPPORTED_TYPES, envelope_findings, locate_found, per_file_count, transaction_hashes, transactions, with_context,
)
from claimback.x12.tokenize import Run, segment_frames, split_runs

log = logging.getLogger(__name__)

Counts = dict[str, int]
COUNTED_TAGS = ("ST", "CLP", "CLM")  # file-wide ordinals a piece must know the earlier counts of


# Kept optimised, common-subplan elimination included: several tables share the claim and line
# plans. Measured without the optimiser: slower on 837s read alone and ~15% slower on large files.
_OPT = pl.QueryOptFlags()


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
    file_type: str  # "835" | "837" | "999" | "277CA" | "mixed" | "unknown"
    transactions: int
    quarantined: int
    source_file: str = ""
    bytes: int = 0
    encoding: str = ""
    transaction_types: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows per table, also those handed to a sink


# Receives a file's rows as they are read: sink(table, frame), in file order per table.
Sink = Callable[[str, pl.DataFrame], None]


@dataclass
class _Acc:
    """Conformed frames gathered over the runs of one file, and the counts for ParsedFile.

    Frames are conformed as they arrive, so the wide intermediate frames of a run can be
    freed before the next run is read. With a sink, rows go to it instead of being held; only the
    findings about the envelope wait for the end of the file, which is where they belong.
    """

    name: str
    sha: str
    frames: dict[str, list[pl.DataFrame]] = field(default_factory=lambda: {t: [] for t in schema.PARSED_TABLES})
    loaded: int = 0
    quarantined: int = 0
    types: set = field(default_factory=set)
    seen: Counts = field(default_factory=dict)  # segments and ST/CLP/CLM of earlier pieces
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    sink: Sink | None = None
    rows: Counts = field(default_factory=dict)

    def fresh(self) -> _Acc:
        """An empty accumulator for the same file, to start it over. Rows a sink has received
        stay received, so their counts are kept."""
        if self.sink is None:
            return _Acc(self.name, self.sha)
        return _Acc(self.name, self.sha, sink=self.sink, rows=dict(self.rows), quarantined=self.quarantined)

    def take(self, table: str, frame: pl.DataFrame) -> None:
        self.rows[table] = self.rows.get(table, 0) + frame.height
        if table == "quarantine":
            self.quarantined += frame.height
        if self.sink is None:
            self.frames[table].append(frame)
        elif table == "validation_findings":
            # A set's findings all come from one piece and pieces follow the file, so sorting a
            # piece's findings by set gives the file's order; the envelope's (no set) come last.
            by_set = frame.sort("transaction_ordinal", nulls_last=True, maintain_order=True)
            envelope = by_set["transaction_ordinal"].is_null()
            self.frames[table].append(by_set.filter(envelope))
            if not envelope.all():
                self.sink(table, by_set.filter(~envelope))
        elif frame.height:
            self.sink(table, frame)

    def quarantine(self, location: str, error: str) -> None:
        """A file-level quarantine row, with the provenance every reader row gets (_per_file)."""
        row = pl.DataFrame({"file_id": [0], "location": [location], "error": [error]})
        _apply([self], _Output(_per_file([("quarantine", row)], [self], self.now), {}, {}))


def read_x12(source: str | os.PathLike | bytes, source_file: str | None = None, sink: Sink | None = None,
             progress: Callable[[float], None] | None = None) -> ParsedFile:
    """Parse one X12 file (835, 837, 999, 277CA, or a mix) into the reader's contract tables.

    With `sink`, the rows are handed to sink(table, frame) as each piece of the file is read,
    in file order per table, and are not held: the ParsedFile's tables are then empty and its
    `rows` counts what the sink received. This bounds memory on files of any size. Rows handed
    over stay handed over: should reading fail half way (a reader bug, never bad input, which is
    quarantined by transaction set), the file's quarantine row follows the rows already read.
    `progress(share)` is called as each piece of a large file is read (share from 0 to 1).
    """
    return _read_many([source], [source_file] if source_file is not None else None, sink, progress)[0]


def read_x12_many(sources: list[str | os.PathLike | bytes],
                  source_files: list[str | None] | None = None) -> list[ParsedFile]:
    """Parse many files through one Polars plan per batch; one ParsedFile per source, in order.

    Each file's result is identical to read_x12 on that file alone (same claim keys, ordinals,
    hashes, findings and quarantine rows; only quarantine.detected_at differs). Small files
    are decoded one by one, then batched (up to BATCH_FILES files / BATCH_CHARS characters)
    so the fixed cost of building and optimising the table plan is paid once per batch instead
    of once per file. Large files are read alone, in pieces. If a batch fails unexpectedly, each
    of its files is read again alone, so one odd file cannot sink the others. Never raises.
    """
    return _read_many(sources, source_files)


def _read_many(sources: list[str | os.PathLike | bytes], source_files: list[str | None] | None,
               sink: Sink | None = None, progress: Callable[[float], None] | None = None) -> list[ParsedFile]:
    names = list(source_files or [])[:len(sources)]
    names += [None] * (len(sources) - len(names))  # a short or missing name list must not drop files
    results: list[ParsedFile | None] = [None] * len(sources)
    batch: list[_Pending] = []
    batch_chars = 0
    per_batch = _batch_size(len(sources), sum(map(_size_of, sources)))
    with _Workers() as workers:
        for index, (source, name) in enumerate(zip(sources, names)):
            item = _load(index, source, name, sink)
            item.progress = progress
            if item.text is None:
                results[index] = item.finish()
            elif len(item.text) > PIECE_CHARS:
                results[index] = _read_alone(item, workers)
            else:
                batch.append(item)
                batch_chars += len(item.text)
                if len(batch) >= per_batch or batch_chars >= BATCH_CHARS:
                    workers.submit(_read_batch, batch, results)
                    batch, batch_chars = [], 0
        if batch:
            workers.submit(_read_batch, batch, results)
    return results  # type: ignore[return-value]  # every slot is filled above


# Threads per reader call. Two use this project's 2-core machine; set CLAIMBACK_READER_THREADS=1
# where the executor already runs one parse step per core (multiprocess or cluster executors).
def _reader_threads() -> int:
    return workers("CLAIMBACK_READER_THREADS", min(2, os.cpu_count() or 1))


WORKERS = _reader_threads()


def _batch_size(files: int, total_bytes: int) -> int:
    """Files per batch: at most BATCH_FILES, and as even as the workers need, e.g. 250 files
    as 125 + 125 rather than 200 + 50, so both workers finish together.

    A call under SPLIT_BYTES is one batch: each batch pays the plan's fixed cost, which below
    about 1.5 MB outweighs what the second worker saves (measured in process: the 40 corpus
    835s, 0.9 MB, 0.19 s as two batches and 0.165 s as one; 100 inbox files, 2.9 MB, 0.32 s
    and 0.33 s; 200 files, 4.6 MB, 0.44 s and 0.51 s)."""
    batches = max(1, -(-files // BATCH_FILES))
    if files >= WORKERS and total_bytes >= SPLIT_BYTES:
        batches = -(-batches // WORKERS) * WORKERS
    return max(1, -(-files // batches))


SPLIT_BYTES = 1_500_000


def _size_of(source: str | os.PathLike | bytes) -> int:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    try:
        return os.stat(source).st_size
    except (OSError, TypeError, ValueError):
        return 0  # read (and quarantined) later, with the reason


class _Workers:
    """At most WORKERS pieces or batches read at once, in threads.

    Polars runs each of the reader's many small operations on one core, and releases the
    GIL while it does, so a second piece read meanwhile uses the second core. Work is
    bounded (WORKERS in flight plus the one being prepared), which bounds memory. Results
    are taken back in submission order.
    """

    def __init__(self, workers: int | None = None):
        self._size = workers or WORKERS
        self._pool = ThreadPoolExecutor(self._size, thread_name_prefix="x12") if self._size > 1 else None
        self._pending: deque[Future] = deque()

    def submit(self, fn, *args) -> Future:
        if self._pool is None:
            done: Future = Future()
            done.set_result(fn(*args))
            self._pending.append(done)
        else:
            while len(self._pending) >= self._size:
                self._pending.popleft().result()
            self._pending.append(self._pool.submit(fn, *args))
        return self._pending[-1]

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


PIECE_CHARS = 4_000_000  # a large file is read in pieces of about this many characters
BATCH_FILES = 200
BATCH_CHARS = 8_000_000  # small files read together; bounds a batch's segment frame like a piece


@dataclass
class _Pending:
    """A decoded file waiting for its batch (text is None once the file is fully handled)."""

    index: int
    acc: _Acc
    text: str | None
    size: int
    encoding: str
    runs: list[Run] = field(default_factory=list)
    progress: Callable[[float], None] | None = None  # share of a file read in pieces, after each

    def finish(self) -> ParsedFile:
        return _finish(self.acc, self.size, self.encoding)


def _load(index: int, source: str | os.PathLike | bytes, source_file: str | None, sink: Sink | None = None
          ) -> _Pending:
    """Read and decode one source; empty or unreadable files are quarantined here."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        name = source_file or "<bytes>"
    else:
        name = source_file or str(source)
        try:
            raw = Path(source).read_bytes()
        except (OSError, TypeError) as exc:  # missing, unreadable, a folder, or not a path at all
            acc = _Acc(name, hashlib.sha256(b"").hexdigest(), sink=sink)
            acc.quarantine("file", f"file could not be read: {type(exc).__name__}")
            return _Pending(index, acc, None, 0, "")
    size, acc = len(raw), _Acc(name, hashlib.sha256(raw).hexdigest(), sink=sink)
    try:
        if _blank(raw):
            acc.quarantine("file", "empty file: no X12 content")
            return _Pending(index, acc, None, size, "")
        text, encoding = decode_bytes(raw)
        return _Pending(index, acc, text, size, encoding)
    except Exception as exc:  # noqa: BLE001 - the reader must never raise; the file is quarantined
        return _Pending(index, _internal_error(acc, exc), None, size, "")


_BLANK = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"  # what an empty file may still hold: spaces, NULs, byte order marks


def _blank(raw: bytes) -> bool:
    """Whether the file holds nothing but _BLANK bytes. Its start decides almost always, without
    copying the whole file as strip() does (0.05-0.15 s on a 57 MB file)."""
    return not raw[:4096].strip(_BLANK) and not raw.strip(_BLANK)


def _internal_error(acc: _Acc, exc: BaseException) -> _Acc:
    fresh = acc.fresh()
    fresh.quarantine("file", f"internal reader error: {type(exc).__name__}")
    return fresh


def _read_batch(batch: list[_Pending], results: list[ParsedFile | None], use_core: bool = True) -> None:
    """Read small files through one plan; on an unexpected error, read each one alone."""
    try:
        for item in batch if len(batch) > 1 else ():
            item.runs = list(split_runs(item.text, starts=core.isa_starts(item.text) if use_core else None))
        # The compiled core reads ASCII text (character offsets are byte offsets); the files that are
        # not are read as a batch of their own by the reference path, so they do not take the rest
        # of the batch with them.
        others = [item for item in batch if item.runs and not item.text.isascii()] \
            if use_core and core.enabled() else []
        together = [item for item in batch if all(item is not other for other in others)]
        readable = [item for item in together if item.runs]
        if len(readable) > 1:
            pieces = [(f, run) for f, item in enumerate(readable) for run in item.runs]
            outputs = _read_piece([item.acc for item in readable], pieces, strict=True, use_core=use_core)
            _apply([item.acc for item in readable], outputs)
            for item in together:
                results[item.index] = _close(item)
            if others:
                _read_batch(others, results, use_core=False)
            return
    except Exception as exc:  # noqa: BLE001 - fall back to reading each file alone (below)
        # The same tables come out, only slower: say so, or an internal error looks like slowness.
        # The exception's type only: its text may quote a value of the file (PHI).
        log.warning("reader: a batch of %d files could not be read together (%s); each file is read alone",
                    len(batch), type(exc).__name__)
    for item in batch:
        results[item.index] = _read_alone(item)


def _read_alone(item: _Pending, workers: _Workers | None = None) -> ParsedFile:
    """One file in pieces of about PIECE_CHARS (one piece for a small file).

    Pieces are tokenized in order on this thread (each needs the running counts of the ones
    before it: segment index, transaction set, CLP and CLM ordinals are file-wide) and their
    tables built by the workers meanwhile; outputs are applied in file order.
    """
    acc = item.acc = item.acc.fresh()  # a failed batch may have left nothing here; start clean
    try:
        pool = workers or _Workers(1)
        outputs: deque[Future] = deque()
        # A batch that fell back has split the runs already; a run as long as a piece needs no
        # per-run windows. The runs then hold the text, and each is let go once tokenized, so
        # the text shrinks while the tables grow instead of both being held to the end.
        left = deque(item.runs or split_runs(item.text, max_chars=PIECE_CHARS, starts=core.isa_starts(item.text)))
        item.text, item.runs, runs = None, [], len(left)
        chars, read = max(1, sum(len(run.text) for run in left)), 0
        for pieces in _pieces(left.popleft() for _ in range(runs)):
            ctx, counts, piece = _context(pieces, acc.seen)
            acc.seen = _add(acc.seen, counts)
            read += sum(len(run.text) for _, run in pieces)
            if item.progress:
                item.progress(read / chars)
            outputs.append(pool.submit(_tables, [acc], ctx, False, piece))
            while outputs and outputs[0].done():
                _apply([acc], outputs.popleft().result())
        while outputs:
            _apply([acc], outputs.popleft().result())
        item.runs = [None] * runs  # type: ignore[list-item]  # only their number matters from here
    except Exception as exc:  # noqa: BLE001 - the reader must never raise; the file is quarantined
        item.acc = _internal_error(acc, exc)
        item.text = None
        return item.finish()
    return _close(item)


def _pieces(runs) -> Iterator[list[tuple[int, Run]]]:
    """Runs grouped into pieces of at least PIECE_CHARS characters (the last may be shorter)."""
    pieces: list[tuple[int, Run]] = []
    chars = 0
    for run in runs:
        pieces.append((0, run))
        chars += len(run.text)
        if chars >= PIECE_CHARS:
            yield pieces
            pieces, chars = [], 0
    if pieces:
        yield pieces


def _close(item: _Pending) -> ParsedFile:
    acc = item.acc
    if not item.runs:
        acc.quarantine("file", "not an X12 file: no ISA, GS or ST segment found")
    elif acc.loaded == 0 and acc.quarantined == 0:
        acc.quarantine("file", "no transaction set (ST..SE) found in the X12 content")
    item.text = None  # the text is not needed any more; large files should not be held twice
    return item.finish()


@dataclass
class _Output:
    """What reading one piece produced, not yet handed to the files' accumulators, so a batch
    that fails half way leaves every file untouched for its retry alone."""

    frames: list[tuple[str, dict[int, pl.DataFrame]]]  # table, rows per file (conformed)
    loaded: dict[int, int]
    types: dict[int, set]


def _read_piece(accs: list[_Acc], pieces: list[tuple[int, Run]], strict: bool = False, use_core: bool = True
                ) -> _Output:
    """Tokenize the runs of one or more files as one segment frame and build every table."""
    ctx, _, piece = _context(pieces, use_core=use_core)
    return _tables(accs, ctx, strict, piece)


def _context(pieces: list[tuple[int, Run]], before: Counts | None = None, use_core: bool = True
             ) -> tuple[pl.DataFrame | None, Counts, core.Piece | None]:
    """The segment frame of the runs, with each row's transaction set, interchange, group and
    CLP/CLM ordinal, and what the piece counts (segments, ST, CLP, CLM); or, when the compiled
    core reads the piece (core.py), no frame, the counts and the core's reading.

    File f's keys are f * KEY_SPAN + its own values (see fields.KEY_SPAN). Only a file read
    alone can span several pieces; `before` holds the counts of its earlier pieces.
    """
    before = before or {}
    piece = core.piece(pieces, before) if use_core else None
    if piece is not None:  # the core's steps read the piece; the segment frame is built only where needed
        return None, piece.counts(), piece
    seg = segment_frames(pieces, before.get("segments", 0))
    tag = pl.col("tag")
    counts = seg.select(segments=pl.len(), **{t: (tag == t).sum() for t in COUNTED_TAGS}).row(0, named=True)
    ctx = with_context(seg, before.get("ST", 0)).with_columns(
        clp_ordinal=pl.when(tag == "CLP").then(per_file_count(seg, tag == "CLP", before.get("CLP", 0))),
        clm_ordinal=pl.when(tag == "CLM").then(per_file_count(seg, tag == "CLM", before.get("CLM", 0))),
    )
    return ctx, counts, None


def _add(a: Counts, b: Counts) -> Counts:
    return {k: a.get(k, 0) + b.get(k, 0) for k in ("segments", *COUNTED_TAGS)}


def _tables(accs: list[_Acc], ctx: pl.DataFrame, strict: bool = False, piece: core.Piece | None = None) -> _Output:
    """Every table of the transaction sets in `ctx`. With `strict`, a failing table build
    raises (the caller retries file by file) instead of being retried transaction set by
    transaction set. Touches no accumulator, so it can run in a worker. `piece`, the compiled
    core's reading of ctx, does the byte-level steps when given."""
    try:
        return _tables_of(accs, ctx, strict, piece)
    finally:
        if piece is not None:
            piece.close()


def _tables_of(accs: list[_Acc], ctx: pl.DataFrame | None, strict: bool, piece: core.Piece | None) -> _Output:
    if piece is not None:  # the core reads the sets and the envelope; no frame of every segment is built
        txns = piece.transactions().join(piece.transaction_hashes(), on="txn", how="left")
        envelope = piece.envelope_rows()
    else:
        txns = transactions(ctx).join(transaction_hashes(ctx), on="txn", how="left")
        envelope = ctx
    types: dict[int, set] = {}
    for f, st01 in txns.filter(pl.col("st01").is_in(SUPPORTED_TYPES)).select(file_of(pl.col("txn")), "st01").iter_rows():
        types.setdefault(f, set()).add("277CA" if st01 == "277" else st01)
    out = [("quarantine", txns.filter(pl.col("error").is_not_null()).select("txn", "location", "error"))]
    st_findings, env_findings = envelope_findings(envelope, txns)
    out += [("validation_findings", _with_hash(st_findings, txns)), ("validation_findings", env_findings)]
    good = txns.filter(pl.col("error").is_null())
    loaded: dict[int, int] = {}
    for f in file_of(good["txn"]).to_list():
        loaded[f] = loaded.get(f, 0) + 1
    if good.height:
        shas = [acc.sha for acc in accs]
        if piece is not None:  # the core reads the 835s and 837s itself; only the other sets' rows are needed
            rows = piece.rows(good.filter(pl.col("st01").is_in(acks.TYPES))["txn"])
        else:
            rows = ctx.filter(pl.col("txn").is_in(good["txn"].implode()))
        try:
            built = _build(rows, good, shas, piece)
        except Exception as exc:  # noqa: BLE001 - retry set by set so one bad set cannot sink the file
            if strict:
                raise
            log.warning("reader: the tables of %d transaction sets could not be built together (%s); "
                        "each set is read alone", good.height, type(exc).__name__)
            if piece is not None:
                rows = piece.rows(good["txn"])
            built, failed = _build_one_by_one(rows, good, shas)
            out.append(("quarantine", failed))
            loaded[0] = loaded.get(0, 0) - failed.height
        out += list(built.items())
        if "quarantine" in built:  # sets whose values could not be loaded (_without_rejected_sets)
            for f in file_of(built["quarantine"]["txn"]).to_list():
                loaded[f] = loaded.get(f, 0) - 1
    # Provenance columns are added and the contract schema applied once per table for the whole
    # piece, then the rows are split per file (keys back to the file's own values): per-file
    # work stays a partition, not a plan, and all of it happens here, in the worker.
    now = accs[0].now
    per_file = _per_file([(table, frame) for table, frame in out if frame.height], accs, now)
    return _Output(per_file, loaded, types)


def _apply(accs: list[_Acc], output: _Output) -> None:
    """Hand each file its rows and counts (cheap: in file order, on the calling thread)."""
    findings: dict[int, list[pl.DataFrame]] = {}  # a piece's findings are taken together (see take)
    for table, parts in output.frames:
        for f, part in parts.items():
            if table == "validation_findings":
                findings.setdefault(f, []).append(part)
            else:
                accs[f].take(table, part)
    for f, parts in findings.items():
        accs[f].take("validation_findings", pl.concat(parts) if len(parts) > 1 else parts[0])
    for f, n in output.loaded.items():
        accs[f].loaded += n
    for f, found in output.types.items():
        accs[f].types.update(found)


def _per_file(frames: list[tuple[str, pl.DataFrame]], accs: list[_Acc], now: datetime
              ) -> list[tuple[str, dict[int, pl.DataFrame]]]:
    """Each table with provenance columns, keys back to each file's own values, conformed to
    its contract schema (one collect for all tables), then split per file."""
    several = len(accs) > 1
    plans = [_provenance(table, frame, accs, now).pipe(schema.conform, table, keep=("file_id",) if several else ())
             for table, frame in frames]
    out = []
    for (table, _), frame in zip(frames, pl.collect_all(plans) if plans else []):
        if several:
            parts = frame.partition_by("file_id", as_dict=True, include_key=False)
            out.append((table, {key[0]: part for key, part in parts.items()}))
        else:
            out.append((table, {0: frame}))
    return out


def _provenance(table: str, frame: pl.DataFrame, accs: list[_Acc], now: datetime) -> pl.LazyFrame:
    fid = file_of(pl.col("txn")) if "txn" in frame.columns else pl.col("file_id")
    extra = {k: within_file(pl.col(k)) for k in ("txn", "claim_ordinal") if k in frame.columns}
    if len(accs) == 1:
        extra.update(source_file=pl.lit(accs[0].name), file_sha256=pl.lit(accs[0].sha))
    else:
        ids = list(range(len(accs)))
        extra.update(
            source_file=fid.replace_strict(ids, [a.name for a in accs], return_dtype=pl.String),
            file_sha256=fid.replace_strict(ids, [a.sha for a in accs], return_dtype=pl.String),
        )
    if table == "quarantine":
        extra["detected_at"] = pl.lit(now)
    return frame.lazy().with_columns(file_id=fid).with_columns(**extra).rename({"txn": "transaction_ordinal"},
                                                                                strict=False)


def _build_one_by_one(ctx: pl.DataFrame, good: pl.DataFrame, shas: list[str]) -> tuple[dict, pl.DataFrame]:
    """Tables of each set built alone; sets that still fail become quarantine rows."""
    out: dict[str, list[pl.DataFrame]] = {}
    failed = []
    for t in good.iter_rows(named=True):
        try:
            one = _build(ctx.filter(pl.col("txn") == t["txn"]), good.filter(pl.col("txn") == t["txn"]), shas)
        except Exception as exc:  # noqa: BLE001
            failed.append({"txn": t["txn"], "location": t["location"],
                           "error": f"internal reader error: {type(exc).__name__}"})
            continue
        for name, frame in one.items():
            out.setdefault(name, []).append(frame)
    built = {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in out.items()}
    return built, pl.DataFrame(failed, schema={"txn": pl.Int64, "location": pl.String, "error": pl.String})


def _with_hash(frame: pl.DataFrame, txns: pl.DataFrame) -> pl.DataFrame:
    return frame.join(txns.select("txn", "transaction_hash"), on="txn", how="left")


def _build(ctx: pl.DataFrame, txns: pl.DataFrame, sha: list[str], piece: core.Piece | None = None
           ) -> dict[str, pl.DataFrame]:
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
        if piece is not None:  # the core reads the segments and the three large tables' rows (seg.read)
            seg = piece.remit(t835["txn"], sha)
        else:
            seg = remit.segments(remit.with_loops(ctx.filter(pl.col("txn").is_in(t835["txn"].implode()))))
        pay = remit.payments(seg, t835.lazy())
        plans.update(
            remit_payments=pay,
            # no location per claim or line: a finding about one is located once found (locate_found);
            # joins that keep the rows' order leave _collect nothing to sort
            remit_claims=remit.claims(seg, pay, sha),
            remit_service_lines=remit.service_lines(seg, sha).join(hashes, on="txn", how="left", maintain_order="left"),
            remit_adjustments=remit.adjustments(seg, sha).join(hashes, on="txn", how="left", maintain_order="left"),
            remit_remarks=remit.remarks(seg, sha).join(hashes, on="txn", how="left", maintain_order="left"),
            provider_adjustments=remit.provider_adjustments(seg, pay),
        )
    if (txns["st01"] == "837").any():
        t837 = txns.filter(pl.col("st01") == "837")
        if piece is not None:
            seg837 = piece.claim_segments(t837["txn"])
        else:
            seg837 = claims837.segments(ctx.filter(pl.col("txn").is_in(t837["txn"].implode())))
        sub, sub_lines = claims837.build(seg837, t837.lazy(), sha)
        plans.update(submitted_claims=sub, submitted_service_lines=sub_lines)
    if txns["st01"].is_in(acks.TYPES).any():
        t_ack = txns.filter(pl.col("st01").is_in(acks.TYPES))
        plans.update(acks.build(ctx.filter(pl.col("txn").is_in(t_ack["txn"].implode())), t_ack, sha))
    tables = _collect(plans)
    tables, rejected, flagged = _without_rejected_sets(tables, txns)
    lazy = {name: frame.lazy() for name, frame in tables.items()}
    found: list[pl.LazyFrame] = []
    if "remit_claims" in lazy:
        pay, clm, lines, adj = (lazy[t] for t in ("remit_payments", "remit_claims", "remit_service_lines",
                                                   "remit_adjustments"))
        # Each check runs where it can find something: the core counted the claims and lines that do
        # not balance (seg.unbalanced; -1 or absent: not counted), and NPIs and codes are tested on
        # their distinct values first. A piece with nothing to report skips the checks' plans.
        may = findings.which_may_find(*(tables[t] for t in ("remit_payments", "remit_claims", "remit_adjustments",
                                                            "remit_remarks")))
        checks = [
            (seg.unbalanced.get("claims", -1) != 0, lambda: findings.claim_balance(clm, adj)),
            (seg.unbalanced.get("lines", -1) != 0, lambda: findings.line_balance(lines, adj)),
            (True, lambda: findings.transaction_balance(pay, clm, lazy["provider_adjustments"])),
            (may["payee_npi"], lambda: findings.npi_check_digits(pay, "payee_npi", "payee", with_claim=False)),
            (may["rendering_npi"], lambda: findings.npi_check_digits(clm, "rendering_npi", "rendering")),
            (may["codes"], lambda: findings.unknown_codes(clm, adj, lazy["remit_remarks"])),
        ]
        found += [make() for wanted, make in checks if wanted]
    if "submitted_claims" in lazy:
        found.append(claims837.npi_findings(lazy["submitted_claims"], lazy["submitted_service_lines"]))
    if flagged is not None:
        found.append(flagged.lazy())
    if found:
        found_rows = locate_found(pl.concat(found, how="diagonal_relaxed"), sets)
        tables.update(_collect({"validation_findings": _with_hash(found_rows, sets)}))
    if rejected.height:
        tables["quarantine"] = rejected
    return tables


def _without_rejected_sets(tables: dict[str, pl.DataFrame], txns: pl.DataFrame
                           ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame | None]:
    """Drop every transaction set a row of which cannot be loaded (fields.REJECT: an amount its
    balances depend on, a key, its remit date) and say why, as quarantine rows; turn the values
    left empty (fields.FLAG columns) into error findings. A set half loaded would balance against zeros,
    and a NULL remit date or key would stop every later run at a blocking check."""
    # Most pieces have no such value: a column's null count is known without a pass over it, so
    # only the columns that hold a reason are filtered (each filter and the steps after it cost
    # about a millisecond even on nothing).
    reasons = [frame.filter(pl.col(REJECT).is_not_null()).select("txn", pl.col(REJECT).alias("why"))
               for frame in tables.values() if _any_value(frame, REJECT)]
    if not reasons:
        flagged = _flagged(tables)
        return tables, _NOT_REJECTED.clear(), flagged
    rejected = (
        pl.concat(reasons).group_by("txn", maintain_order=True).agg(pl.col("why").first(), more=pl.len() - 1)
        .join(txns.select("txn", "location"), on="txn", how="left")
        .select("txn", "location", error=pl.format(
            "transaction set not loaded: {}{}", pl.col("why"),
            pl.when(pl.col("more") > 0).then(pl.format(" (and {} more such values)", pl.col("more"))).otherwise(pl.lit(""))))
        .sort("txn")
    )
    gone = rejected["txn"].implode()
    tables = {name: frame.filter(~pl.col("txn").is_in(gone)) for name, frame in tables.items()}
    return tables, rejected, _flagged(tables)


_NOT_REJECTED = pl.DataFrame(schema={"txn": pl.Int64, "location": pl.String, "error": pl.String})


def _any_value(frame: pl.DataFrame, column: str) -> bool:
    return column in frame.columns and frame[column].null_count() < frame.height


def _flagged(tables: dict[str, pl.DataFrame]) -> pl.DataFrame | None:
    """The error findings of the values left empty (FLAG columns), or None when there are none."""
    flagged = [frame.filter(pl.col(column).is_not_null()).select(
                   "txn", findings.WHERE, rule=pl.lit("invalid_value"), severity=pl.lit("error"), message=pl.col(column),
                   claim_key=pl.col("claim_key") if "claim_key" in frame.columns else pl.lit(None, pl.String))
               for frame in tables.values() for column in frame.columns
               if column.startswith(FLAG) and _any_value(frame, column)]
    flagged = [f for f in flagged if f.height]  # those of rejected sets are gone
    return pl.concat(flagged, how="diagonal_relaxed") if flagged else None


def _collect(plans: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """The plans collected at once, each table in file order: joins do not promise row order, and
    file order is part of the contract (and of idempotence). Most tables come out in order already
    (the core's rows are, and the joins mostly keep it), so a table is sorted only when its keys say
    it is not: sorting gathers every column to reorder nothing (5-9 ms for a piece's 19,000 service
    lines, with their strings and lists)."""
    out = {}
    for name, frame in zip(plans, pl.collect_all(list(plans.values()), optimizations=_OPT)):
        keys = _FILE_ORDER.get(name, ["seg_index"])
        out[name] = frame if _in_order(frame, keys) else frame.sort(keys, maintain_order=True)
    return out


def _in_order(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether the rows are sorted by `keys` (integer columns without nulls), so that a stable sort
    by them would leave every row where it is. Anything else (text keys, nulls) is sorted."""
    if frame.height < 2:
        return True
    if any(frame[k].null_count() or not frame[k].dtype.is_integer() for k in keys):
        return False
    step = [pl.col(k).diff() for k in keys]
    ok = step[-1] >= 0
    for d in reversed(step[:-1]):  # lexicographic: a later key decides only where the earlier ones tie
        ok = (d > 0) | ((d == 0) & ok)
    return frame.select(ok.fill_null(True).all()).item()


_EMPTY: dict[str, pl.DataFrame] = {}


def _empty(table: str) -> pl.DataFrame:
    # building an empty frame from a schema is a visible share of a small file's cost
    if table not in _EMPTY:
        _EMPTY[table] = schema.empty(table)
    return _EMPTY[table].clone()


def _finish(acc: _Acc, size: int, encoding: str) -> ParsedFile:
    if acc.sink is not None and acc.frames["validation_findings"]:
        acc.sink("validation_findings", pl.concat(acc.frames["validation_findings"]))  # the envelope's
        acc.frames["validation_findings"] = []
    tables = {}
    for table in schema.PARSED_TABLES:
        frames = acc.frames[table]
        if not frames:
            tables[table] = _empty(table)
        else:
            tables[table] = pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]
    if acc.frames["validation_findings"]:
        # a transaction set's findings come from one piece, in a fixed order; those about the
        # envelope follow the file. Sorting by set (stable) makes the order the same whatever
        # the pieces were, and the same as a sink receives.
        tables["validation_findings"] = tables["validation_findings"].sort(
            "transaction_ordinal", nulls_last=True, maintain_order=True)
    types = sorted(acc.types)
    file_type = {0: "unknown", 1: types[0] if types else "unknown"}.get(len(types), "mixed")
    return ParsedFile(tables=tables, file_sha256=acc.sha, file_type=file_type, transactions=acc.loaded,
                      quarantined=acc.quarantined, source_file=acc.name, bytes=size, encoding=encoding,
                      transaction_types=types, rows={t: acc.rows.get(t, 0) for t in schema.PARSED_TABLES})
