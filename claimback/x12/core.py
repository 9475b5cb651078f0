"""Which engine reads the bytes: the compiled core (claimback/x12/_core.c) or the reference path.

The compiled core finds the interchanges, tokenizes a piece, gives every segment its envelope
context, reads each transaction set's shape and envelope values, writes the sets' canonical
text for their hashes, runs the 835 and 837 loop state machines, splits the segments the tables
read into elements and gathers the rows of the 835's claims, service lines and adjustments — one pass of C
per step instead of dozens of Polars operations — and converts those rows' money, dates,
procedure codes and claim keys. What the other values mean (messages, locations, findings), and
the values of any row the core cannot convert with certainty (an amount that is not an X12
amount, a date that is not eight digits: remit._values), are computed by the same Polars
expressions as on the reference path (tokenize.py, structure.py, remit.py, claims837.py), which
stays: it reads what the core does not (text that is not ASCII, a transaction set retried alone)
and the tests compare the two table by table (tests/x12/test_core.py, test_core_values.py).

CLAIMBACK_READER=reference forces the reference path; unset (or "core"), the core is used when
it is built (`pip install -e .` builds it). When it is not, the reader says so once and reads
with the reference path: the tables are the same, only slower.
"""
from __future__ import annotations

import os
import warnings
from array import array

import polars as pl

from claimback.x12 import claims837
from claimback.x12.fields import ELEMENTS, ELEMENTS_READ, key_prefix
from claimback.x12.structure import with_errors
from claimback.x12.tokenize import Delimiters, Run

# The interface of _core.c this module calls (its ABI constant). A build older than the source —
# a checkout moved on without `make core` — is not used: the reference path reads, after the warning.
ABI = 3

try:
    from claimback.x12 import _core
except ImportError:  # not built: the reference path reads everything, after one warning
    _core = None
if _core is not None and getattr(_core, "ABI", 1) != ABI:
    _core = None

_warned = False


def enabled() -> bool:
    """Whether the compiled core reads (not forced off, and built)."""
    global _warned
    choice = os.environ.get("CLAIMBACK_READER", "core").strip().lower()
    if choice == "reference":
        return False
    if _core is None:
        if not _warned:
            _warned = True
            warnings.warn("claimback's compiled X12 reader core is not built, or was built from older source "
                          "(run `make core`, `pip install -e .` or `make install`); reading with the slower "
                          "reference path, same tables",
                          RuntimeWarning, stacklevel=2)
        return False
    return True


# Integer columns of the segment frame: the reference path makes them UInt32 for a file read
# alone and Int64 for a batch; the core's are always Int64, which every later step accepts.
class Piece:
    """One piece tokenized by the core: its segment frame, counts and what later steps ask of it."""

    def __init__(self, runs: list[tuple[int, Run]], before: dict[str, int]):
        self.scan = _core.Scan(
            [(f, run.offset, run.text, run.delimiters.element, run.delimiters.segment, run.delimiters.component,
              run.delimiters.repetition or "") for f, run in runs],
            before.get("segments", 0), before.get("ST", 0), before.get("CLP", 0), before.get("CLM", 0))

    def rows(self, txns: pl.Series) -> pl.DataFrame:
        """The segment frame's rows of the transaction sets `txns`."""
        return _frame(self.scan.context(1, _sorted(txns)))

    def envelope_rows(self) -> pl.DataFrame:
        """The segment frame's rows structure.envelope_findings reads: envelope, ST and stray segments."""
        return _frame(self.scan.context(2))

    def transactions(self) -> pl.DataFrame:
        """structure.transactions, its per-set values taken by the core."""
        return with_errors(_frame(self.scan.transactions()).lazy())

    def counts(self) -> dict[str, int]:
        segments, st, clp, clm = self.scan.counts()
        return {"segments": segments, "ST": st, "CLP": clp, "CLM": clm}

    def transaction_hashes(self) -> pl.DataFrame:
        """structure.transaction_hashes: the core hashes each set's canonical text itself."""
        return _frame(self.scan.hashes())

    def close(self) -> None:
        """Free the core's rows and let go of the texts (the tables hold what they need)."""
        self.scan.close()

    def remit(self, txns: pl.Series, file_sha256: list[str]) -> CoreSegments:
        """The 835 sets `txns`, read by the core: the segments the smaller remit tables read (as
        remit.segments after remit.with_loops gives them) and, as `read`, the rows of the claims,
        service lines and adjustments with their raw values (remit.claim_rows, service_line_rows
        and adjustment_rows give the same columns) with the values the core converted (money,
        dates, procedure parts, claim keys) and, per row, `_odd`: how many of its values only
        remit.py's expressions can read (see remit._values); `converted` counts such rows per table,
        `unbalanced` the claims and lines whose charge minus payment differs from their CAS (-1 when
        the core cannot tell)."""
        specs = [(tag, 0 if tag == "CLP" else ELEMENTS_READ[tag], header) for tag, header in REMIT_SEGMENTS.items()]
        prefixes = [key_prefix(sha) for sha in file_sha256]  # by file id
        tables = self.scan.remit(_sorted(txns), specs, prefixes)
        odd, unbalanced = tables.pop("odd"), tables.pop("unbalanced")
        frames = {name: _frame(table) for name, table in tables.items()}
        read = {name: frames.pop(name).lazy() for name in ("claims", "lines", "adjustments")}
        read["adjustments"] = read["adjustments"].with_columns(pl.col("triplet").cast(pl.Int32))
        return CoreSegments(frames, read, odd, unbalanced)

    def claim_segments(self, txns: pl.Series) -> CoreSegments:
        """claims837.segments (with_loops, then the segments build reads) of the 837 sets `txns`."""
        specs = [(tag, ELEMENTS_READ.get(tag, ELEMENTS)) for tag in claims837.TAGS]
        line = claims837.line_number(pl.col("lx_value"), pl.col("position"))
        return CoreSegments({tag: _frame(table).with_columns(
            pl.col("in_cob").cast(pl.Boolean),
            line_number=pl.when(pl.col("line_seq").is_not_null()).then(line),
        ).drop("position") for tag, table in self.scan.claims837(_sorted(txns), specs).items()}, {})


# The segment ids the remit tables other than claims, lines and adjustments read, and whether only
# the rows outside any claim or line are read (payments' DTM*405 and REF*2U/TJ; remit._header).
# CLP is only counted per set there, so its rows come without elements (reading one fails loudly).
REMIT_SEGMENTS = {"BPR": False, "TRN": False, "DTM": True, "N1": False, "REF": True, "CLP": False, "LQ": False,
                  "MIA": False, "MOA": False, "PLB": False}


def _sorted(txns: pl.Series) -> bytes:
    return array("q", sorted(txns.to_list())).tobytes()


def _frame(table) -> pl.DataFrame:
    """A core table as a DataFrame, each column handed over on its own (see Table.columns in _core.c)."""
    return pl.DataFrame([pl.Series(column).alias(name) for name, column in table.columns()])


class CoreSegments:
    """fields.Segments' interface over the core's per-segment-id frames (every id asked for is
    there), with the table rows the core read (`read`) and, for the tables whose values it
    converted, how many rows it left to the Polars expressions (`converted`), and how many claims
    and lines do not balance (`unbalanced`)."""

    def __init__(self, parts: dict[str, pl.DataFrame], read: dict[str, pl.LazyFrame],
                 converted: dict[str, int] | None = None, unbalanced: dict[str, int] | None = None):
        self._parts = {tag: frame.lazy() for tag, frame in parts.items()}
        self.read = read
        self.converted = converted or {}
        self.unbalanced = unbalanced or {}

    def __getitem__(self, tag: str) -> pl.LazyFrame:
        return self._parts[tag]


def isa_starts(text: str) -> list[tuple[int, Delimiters]] | None:
    """tokenize.isa_starts by the core (Python's loop per interchange took 0.05-0.09 s on the 50 and
    57 MB files, 10,000-22,000 interchanges, before any piece could start; the core 0.03-0.05 s), or
    None where the reference must find them."""
    if not enabled() or not text.isascii():
        return None
    known: dict[tuple, Delimiters] = {}  # a file's interchanges mostly share their separators
    out = []
    for pos, *seps in _core.isa_starts(text):
        key = tuple(seps)
        delimiters = known.get(key)
        if delimiters is None:
            delimiters = known[key] = Delimiters(*key)
        out.append((pos, delimiters))
    return out


def piece(runs: list[tuple[int, Run]], before: dict[str, int] | None = None) -> Piece | None:
    """The core's reading of these runs, or None when the reference path must read them."""
    if not enabled():
        return None
    try:
        return Piece(runs, before or {})
    except ValueError:  # text that is not ASCII: character offsets need the reference path
        return None
