"""Split X12 text into a Polars frame of segments, one row per segment, elements as a list.

Delimiters are per file (often per interchange) and are read from the ISA by walking its 16
element separators, because real ISAs are not always fixed width. The segment terminator is
the character after ISA16; a line break there may precede the real terminator
("...*^\\n~GS|"), or may itself be the terminator (one segment per line, possibly indented).
Files that start at GS or ST (no ISA) get their delimiters from that first segment.

Tokenizing is vectorised: the text is split on the terminator and each segment on the
element separator by Polars string kernels, never by a Python loop per segment.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from claimback.x12.fields import KEY_SPAN, running_count

_WS = " \t\r\n\x00"
_HEAD_RE = re.compile(r"(?:^|(?<=[^A-Za-z0-9]))(?:GS([^A-Za-z0-9\s])[A-Z]{2}|ST([^A-Za-z0-9\s])\d{3})")


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    segment: str  # "\n" when each line is a segment
    repetition: str | None  # ISA11 in 5010; None in 4010 ("U") or when unknown


@dataclass(frozen=True)
class Run:
    """A stretch of the file that shares one set of delimiters (one or more interchanges)."""

    offset: int  # character offset of the run in the decoded text
    text: str
    delimiters: Delimiters


def isa_delimiters(text: str, start: int) -> tuple[Delimiters, int] | None:
    """Delimiters of the ISA at `start`, and the offset just past its terminator."""
    el = text[start + 3] if len(text) > start + 3 else ""
    if not el or el.isalnum() or el.isspace():
        return None
    pos = start
    for _ in range(16):
        pos = text.find(el, pos + 1)
        if pos < 0 or pos - start > 200:  # an ISA is ~106 characters; far beyond is not an ISA
            return None
    if len(text) <= pos + 1:
        return None
    component = text[pos + 1]
    seg, end = _terminator_after(text, pos + 2)
    fields = text[start:pos].split(el)
    version = fields[12].strip() if len(fields) > 12 else ""
    rep = fields[11].strip() if len(fields) > 11 else ""
    repetition = rep if (len(rep) == 1 and not rep.isalnum() and version >= "00501") else None
    return Delimiters(el, component, seg, repetition), end


def _terminator_after(text: str, k: int) -> tuple[str, int]:
    """The segment terminator that starts at text[k], skipping a line break placed before it."""
    if k >= len(text):
        return "~", k
    c = text[k]
    if c not in "\r\n":
        return c, k + 1
    j = k
    while j < len(text) and text[j] in _WS:
        j += 1
    if j < len(text) and not text[j].isalnum():
        return text[j], j + 1
    return "\n", j


def headless_delimiters(text: str) -> tuple[Delimiters, int] | None:
    """Delimiters of a file that starts at GS or ST (no ISA), and where that segment starts."""
    m = _HEAD_RE.search(text)
    if not m:
        return None
    el = m.group(1) or m.group(2)
    k = m.start() + 3
    while k < len(text) and (text[k].isalnum() or text[k] in (el, " ", ".", "-")):
        k += 1
    seg, _ = _terminator_after(text, k)
    comp = ":"
    cm = re.search(re.escape(el) + r"(?:HC|AD|ER|IV|NU|WK|ABK|ABF|BK|BF)([^A-Za-z0-9\s])", text)
    if cm and cm.group(1) not in (el, seg):
        comp = cm.group(1)
    return Delimiters(el, comp, seg, None), m.start()


def isa_starts(text: str) -> list[tuple[int, Delimiters]]:
    """Every ISA that opens an interchange (not 'ISA' inside a value), with its delimiters.

    A loop per interchange, not per segment: an ISA that looks exactly like the previous one
    at the fixed-width positions (element separator at 3 and 103, component at 104, the same
    terminator at 105) reuses its delimiters without walking its elements again.
    """
    out: list[tuple[int, Delimiters]] = []
    last: Delimiters | None = None
    pos = text.find("ISA")
    while pos >= 0:
        if pos == 0 or not text[pos - 1].isalnum():
            if last is not None and _same_fixed_isa(text, pos, last):
                out.append((pos, Delimiters(last.element, text[pos + 104], last.segment,
                                            last.repetition and text[pos + 82])))
            else:
                found = isa_delimiters(text, pos)
                if found:
                    last = found[0]
                    out.append((pos, last))
        pos = text.find("ISA", pos + 3)
    return out


def _same_fixed_isa(text: str, pos: int, last: Delimiters) -> bool:
    el = last.element
    return (len(text) > pos + 106 and text[pos + 3] == el and text[pos + 103] == el and text[pos + 105] == last.segment
            and text.count(el, pos, pos + 104) == 16 and len(last.segment) == 1)


def split_runs(text: str, max_chars: int = 2_000_000,
               starts: list[tuple[int, Delimiters]] | None = None) -> Iterator[Run]:
    """Cut the text into runs at interchange boundaries.

    A new run starts where the element separator or segment terminator changes, and (so
    large files are processed in bounded memory) once a run exceeds `max_chars`. Component
    and repetition separators may differ inside a run: they are carried per row from each
    ISA. Yields nothing when no X12 header is found; runs are produced one at a time so only
    one run's copy of the text is alive at once. `starts`: isa_starts(text) when already found
    (by the compiled core, core.isa_starts).
    """
    starts = isa_starts(text) if starts is None else starts
    if not starts:
        head = headless_delimiters(text)
        if head is not None:
            delims, at = head
            yield Run(at, text[at:], delims)
        return
    run_start, run_delims = starts[0]
    for pos, delims in starts[1:]:
        changed = (delims.element, delims.segment) != (run_delims.element, run_delims.segment)
        if changed or pos - run_start > max_chars:
            yield Run(run_start, text[run_start:pos], run_delims)
            run_start, run_delims = pos, delims
    yield Run(run_start, text[run_start:], run_delims)


def segment_frames(runs: list[tuple[int, Run]], seen: int = 0) -> pl.DataFrame:
    """One row per segment of the given runs, in order; `runs` pairs each run with its file's
    position in the batch (0 for a file read alone), and `seen` counts the segments of
    earlier pieces of a file read alone in pieces.

    Columns: seg_index (file * KEY_SPAN + position in the file), offset (character offset in
    the file), tag, segment (the stripped segment text), and elem / comp / rep — the run's
    element separator and the component and repetition separators of the row's interchange
    (ISA16, ISA11), which may differ between interchanges of one run and between files.

    The frame stays narrow: elements are split later, only for the segment ids a table reads
    and only up to the highest element it reads (fields.with_elements). Splitting every
    segment into two dozen element columns up front was most of the reader's cost on large
    files. The runs of many small files are split together, so they cost one tokenization.
    """
    frame = _tokenize(runs)
    file_id = pl.col("file_id")
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    if len({f for f, _ in runs}) > 1:  # a file's rows are contiguous: count from where it starts
        position = running_count(file_id.is_not_null(), file_id) - 1  # every row counts
    return frame.select(
        seg_index=position + file_id * KEY_SPAN + seen,
        *[c for c in frame.columns if c not in ("run", "file_id")],
    )


def _tokenize(runs: list[tuple[int, Run]]) -> pl.DataFrame:
    """All runs split in one pass, in order. Runs with other separators (a '|' file in a batch
    of '*' files) are split by each row's own, which costs only when they actually differ:
    tokenizing per separator and merging the groups back into file order cost more."""
    # The rows of all runs are counted as one sequence. A run's pieces span exactly its text
    # plus one terminator (always one character), so each run's characters before it are known
    # here, and its offsets need no per-run window: offset = running width - width + (run
    # offset - before).
    before, shift = 0, []
    for _, run in runs:
        shift.append(run.offset - before)
        before += len(run.text) + 1
    frame = pl.DataFrame({
        "run": range(len(runs)),
        "file_id": [f for f, _ in runs],
        "shift": shift,
        "comp0": [r.delimiters.component for _, r in runs],
        "rep0": [r.delimiters.repetition or "" for _, r in runs],
        "elem": [r.delimiters.element for _, r in runs],
        "term": [r.delimiters.segment for _, r in runs],
        "segment": [r.text for _, r in runs],
    }, schema_overrides={"run": pl.Int64, "file_id": pl.Int64, "shift": pl.Int64})
    element, terminator = (_uniform(frame, column) for column in ("elem", "term"))
    frame = frame.with_columns(pl.col("segment").str.split(terminator)).explode("segment", empty_as_null=True)
    width = pl.col("segment").str.len_chars().fill_null(0) + 1
    frame = frame.with_columns(offset=width.cum_sum() - width + pl.col("shift"))
    frame = frame.with_columns(pl.col("segment").str.strip_chars(_WS)).filter(pl.col("segment") != "")
    frame = frame.with_columns(tag=pl.col("segment").str.splitn(element, 2).struct.field("field_0").str.strip_chars(" "))
    return _with_separators(frame, element).select("run", "file_id", "offset", "tag", "segment", "elem", "comp", "rep")


def _uniform(frame: pl.DataFrame, column: str) -> str | pl.Expr:
    """The column's one value as a literal (the fast path), or the column itself."""
    values = frame[column].unique()
    return values[0] if len(values) == 1 else pl.col(column)


def _with_separators(frame: pl.DataFrame, element: str | pl.Expr) -> pl.DataFrame:
    """Add comp / rep: the component (ISA16) and repetition (ISA11, 5010 only)
    separators of the row's interchange, or the run's own when no ISA precedes the row.

    Only the ISA rows (and each run's first row) are split; every other row takes its values
    from the latest of those rows by position, so no segment is split twice.
    """
    is_isa = pl.col("tag") == "ISA"
    is_head = is_isa | (pl.col("run") != pl.col("run").shift(1)).fill_null(True)
    frame = frame.with_columns(head=is_head.cum_sum() - 1)
    isa_elements = pl.col("segment").str.split_exact(element, 16).struct.field("field_11", "field_12", "field_16")
    heads = frame.filter(is_head).select("run", "comp0", "rep0", is_isa.alias("is_isa"), isa_elements)
    e11, e12, e16 = (pl.col(f"field_{i}").replace("", None) for i in (11, 12, 16))
    rep_ok = e11.str.contains(r"^[^A-Za-z0-9\s]$") & (e12 >= "00501")
    heads = heads.select(
        comp=pl.when(pl.col("is_isa")).then(e16.str.slice(0, 1)).forward_fill().over("run").fill_null(pl.col("comp0")),
        rep=pl.when(pl.col("is_isa")).then(pl.when(rep_ok).then(e11).otherwise(pl.lit(""))).forward_fill().over("run")
        .fill_null(pl.col("rep0")),
    )
    return frame.with_columns(
        comp=pl.lit(heads["comp"]).gather(pl.col("head")),
        rep=pl.lit(heads["rep"]).gather(pl.col("head")),
    )
