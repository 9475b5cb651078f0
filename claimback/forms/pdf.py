"""The building blocks every claimback packet is made of, so all packets look alike.

Styles, a header block, a key-value table, a claims table, a checklist and an atomic PDF
writer on reportlab's platypus. Packets (trend form, Level I, Level II) only decide WHAT
goes on the page; how it looks lives here once.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TypeVar
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.lib.utils import simpleSplit
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from claimback.environment import workers

log = logging.getLogger(__name__)

PAGE_SIZE = LETTER
MARGIN = 0.7 * inch
CONTENT_WIDTH = PAGE_SIZE[0] - 2 * MARGIN
FILL_IN = "(fill in)"
ACCENT = colors.HexColor("#1F3A5F")
LIGHT = colors.HexColor("#E8EEF5")
GRID = colors.HexColor("#9AA9BC")


@cache
def styles() -> dict[str, ParagraphStyle]:
    """Named paragraph styles shared by every packet."""
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=9.5,
                          leading=12.5, alignment=TA_LEFT, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName="Helvetica-Bold",
                                fontSize=16, leading=20, textColor=ACCENT, alignment=TA_LEFT,
                                spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontName="Helvetica-Bold",
                                   fontSize=11, leading=14, spaceAfter=2),
        "note": ParagraphStyle("note", parent=body, fontSize=8.5, leading=11,
                               textColor=colors.HexColor("#4A4A4A")),
        "section": ParagraphStyle("section", parent=body, fontName="Helvetica-Bold",
                                  fontSize=10.5, leading=13, textColor=colors.white,
                                  backColor=ACCENT, borderPadding=(3, 4, 3, 4),
                                  spaceBefore=8, spaceAfter=5, keepWithNext=1),  # never alone at a page end
        "body": body,
        "label": ParagraphStyle("label", parent=body, fontName="Helvetica-Bold", fontSize=8.5,
                                leading=11, spaceAfter=0),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0),
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, spaceAfter=0),
        "small_bold": ParagraphStyle("small_bold", parent=body, fontName="Helvetica-Bold",
                                     fontSize=7.5, leading=9.5, spaceAfter=0,
                                     textColor=colors.white),
    }


def text(value: object) -> str:
    """A value as it reads on a form: ISO dates, money with two decimals, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value if v is not None and v != "")
    return str(value)


def money(value: object) -> str:
    if value is None or value == "":
        return ""
    return f"${Decimal(str(value)):,.2f}"


def para(value: object, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: claim data never becomes markup)."""
    return Paragraph(escape(text(value)).replace("\n", "<br/>"), styles()[style])


def header_block(title: str, subtitle: str | None = None, note: str | None = None) -> list[Flowable]:
    """Form title, the addressee line, and a one-line instruction under a rule."""
    flow: list[Flowable] = [para(title, "title")]
    if subtitle:
        flow.append(para(subtitle, "subtitle"))
    if note:
        flow.append(para(note, "note"))
    rule = Table([[""]], colWidths=[CONTENT_WIDTH], rowHeights=[2])
    rule.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 1.2, ACCENT)]))
    flow += [rule, Spacer(1, 4)]
    return flow


def section(title: str) -> Paragraph:
    return para(title, "section")


def key_value_table(rows: Sequence[tuple[str, object]], label_width: float = 1.9 * inch,
                    blank: str = FILL_IN) -> Table:
    """Two columns: bold labels, wrapped values; empty values print as `blank` ("(fill in)")."""
    widths = [label_width, CONTENT_WIDTH - label_width]
    data = [[cell(label, "label", widths[0]), cell(text(value) or blank, "cell", widths[1])]
            for label, value in rows]
    table = Table(data, colWidths=widths)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (0, -1), LIGHT),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        *cell_fonts(("label", "cell")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


class _Cell(Paragraph):
    """A table cell's paragraph that lays its lines out once per width.

    A Table wraps every cell several times (to measure rows, to split at a page end, to draw),
    always at its column's width; line breaking is most of the cost of a packet with hundreds of
    claims, and the result for one width never changes.
    """

    def wrap(self, availWidth, availHeight):
        cached = getattr(self, "_wrapped", None)
        if cached is not None and cached[0] == availWidth:
            return cached[1]
        size = super().wrap(availWidth, availHeight)
        self._wrapped = (availWidth, size)
        return size


# Table cells: a value that fits its column on one line is a plain string, which a table draws
# with one text call in its column's font (`cell_fonts`); only longer values become wrapping
# paragraphs. Paragraphs in every cell were most of the cost of a packet (a 300-claim trend
# packet 0.88 -> 0.36 s, 200 Level I/II requests 9.8 -> 7.3 s).
CELL_PADDING = 6  # reportlab's default, each side


def cell(value: str, style: str, width: float) -> str | Paragraph:
    """`value` for a table column `width` points wide in a paragraph `style`."""
    font = styles()[style]
    if "\n" not in value and stringWidth(value, font.fontName, font.fontSize) <= width - 2 * CELL_PADDING:
        return value
    return _Cell(escape(value).replace("\n", "<br/>"), font)


def cell_fonts(column_styles: Sequence[str], first_row: int = 0) -> list[tuple]:
    """TableStyle commands that draw each column's plain-string cells as its paragraph style would."""
    commands = []
    for column, name in enumerate(column_styles):
        font = styles()[name]
        commands += [("FONT", (column, first_row), (column, -1), font.fontName, font.fontSize, font.leading),
                     ("TEXTCOLOR", (column, first_row), (column, -1), font.textColor)]
    return commands


def claims_table(
    rows: Iterable[dict],
    columns: Sequence[tuple[str, str, float]],
    money_columns: Iterable[str] = (),
) -> Flowable:
    """One row per claim; `columns` are (key, header, relative width). Header repeats per page."""
    money_columns = set(money_columns)
    total = sum(width for _, _, width in columns)
    widths = [CONTENT_WIDTH * width / total for _, _, width in columns]
    values = [[money(row.get(key)) if key in money_columns else text(row.get(key)) for key, _, _ in columns]
              for row in rows]
    return ClaimsTable([header for _, header, _ in columns], values, widths)


class ClaimsTable(Flowable):
    """A table of claims drawn line by line on the canvas: the header row in white on the accent
    colour, repeated on every page the table spans; rows alternately white and LIGHT; a 0.3 pt
    grid; every value in the small style, wrapped at spaces to its column and top-aligned, with
    the paddings of the key-value tables. It looks as reportlab's Table drew it, without laying
    out and drawing each cell through the Table's general machinery: a trend packet of 300
    claims spent 77 of its 92 ms there (10 M claims: 377 packets redrawn a night, 16 s of wall).

    `lines[r][c]` is cell (r, c) as printed, one string per line; row 0 is the header."""

    PAD_X, PAD_TOP, PAD_BOTTOM, RULE = CELL_PADDING, 2, 2, 0.3

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
                 first_row: int = 0):
        super().__init__()
        self.hAlign = "CENTER"  # as a Table: its content width over the frame's paddings
        self.widths = list(widths)
        self.first_row = first_row  # of the whole table, where a split part starts: the stripes go on
        self._seen: dict[tuple, list[str]] = {}  # dates, codes, payers repeat down a table: each split once
        self.lines = [self._wrapped(header, "small_bold"),
                      *(self._wrapped(row, "small") for row in rows)]
        del self._seen
        self.heights = [self._height(cells, "small_bold" if i == 0 else "small") for i, cells in enumerate(self.lines)]

    def _wrapped(self, values: Sequence[str], style: str) -> list[list[str]]:
        font, cells = styles()[style], []
        for column, (value, width) in enumerate(zip(values, self.widths)):
            if (lines := self._seen.get((style, column, value))) is None:
                lines = self._seen[style, column, value] = _split(value, font.fontName, font.fontSize,
                                                                   width - 2 * self.PAD_X)
            cells.append(lines)
        return cells

    def _height(self, cells: list[list[str]], style: str) -> float:
        return max(len(lines) for lines in cells) * styles()[style].leading + self.PAD_TOP + self.PAD_BOTTOM

    def wrap(self, availWidth, availHeight):
        self.width, self.height = sum(self.widths), sum(self.heights)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        """The rows that fit under the header here, and the rest (with the header again) after."""
        room, fit = availHeight - self.heights[0], 0
        for height in self.heights[1:]:
            if height > room:
                break
            room -= height
            fit += 1
        if fit == 0:
            return []
        if fit == len(self.lines) - 1:
            return [self]
        return [self._rows(1, fit + 1), self._rows(fit + 1, len(self.lines))]

    def _rows(self, start: int, stop: int) -> ClaimsTable:
        """Rows start..stop-1 under the header, as laid out already (nothing is wrapped again)."""
        part = ClaimsTable.__new__(ClaimsTable)
        Flowable.__init__(part)
        part.hAlign, part.widths, part.first_row = self.hAlign, self.widths, self.first_row + start - 1
        part.lines = [self.lines[0], *self.lines[start:stop]]
        part.heights = [self.heights[0], *self.heights[start:stop]]
        return part

    def draw(self):
        canvas, xs = self.canv, [sum(self.widths[:i]) for i in range(len(self.widths) + 1)]
        tops = [self.height - sum(self.heights[:i]) for i in range(len(self.heights) + 1)]
        canvas.saveState()
        for row in range(len(self.lines)):  # backgrounds, then grid, then text: nothing covers a rule
            fill = ACCENT if row == 0 else (colors.white, LIGHT)[(self.first_row + row - 1) % 2]
            canvas.setFillColor(fill)
            canvas.rect(0, tops[row + 1], self.width, self.heights[row], stroke=0, fill=1)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(self.RULE)
        canvas.lines([(0, y, self.width, y) for y in tops] + [(x, 0, x, self.height) for x in xs])
        lefts = [x + self.PAD_X for x in xs]
        for row, cells in enumerate(self.lines):
            font = styles()["small_bold" if row == 0 else "small"]
            writing = canvas.beginText()
            writing.setFont(font.fontName, font.fontSize, font.leading)
            writing.setFillColor(font.textColor)
            _write_cells(writing, lefts, tops[row] - self.PAD_TOP - font.fontSize, cells)
            canvas.drawText(writing)
        canvas.restoreState()


def _write_cells(writing, lefts: Sequence[float], baseline: float, cells: list[list[str]]) -> None:
    """Each cell's lines down from its first baseline, as `setTextOrigin` and `textLine` write them.
    A line of printable ASCII (nearly every claim value) is written as the operators reportlab
    gives it, without its font lookup and encoding per line: a night's 377 trend packets set
    900,000 cell lines. The same bytes either way (tests/forms/test_pdf_cells.py)."""
    if not writing._canvas.bottomup:  # (never for claimback's documents) reportlab's own path
        for x, lines in zip(lefts, cells):
            writing.setTextOrigin(x, baseline)
            for line in lines:
                writing.textLine(line)
        return
    code = writing._code
    for x, lines in zip(lefts, cells):
        code.append(f"1 0 0 1 {fp_str(x, baseline)} Tm")
        for line in lines:
            if not line:
                code.append(" T*")  # (reportlab writes no string for an empty line)
            elif line.isascii() and line.isprintable():
                code.append(f"({escapePDF(line)}) Tj T*")
            else:
                writing.textLine(line)


def _split(value: str, font: str, size: float, width: float) -> list[str]:
    """`value` in lines no wider than `width` (at spaces and line breaks; a word wider than the
    column stays whole, as a paragraph leaves it); [""] for an empty value."""
    if "\n" not in value and stringWidth(value, font, size) <= width:
        return [value]
    return simpleSplit(value, font, size, width) or [""]


def checklist(items: Iterable[str]) -> Flowable:
    """Tick boxes (drawn cells, so they print on any font) with one item each."""
    box = 0.14 * inch
    data = [["", para(item, "cell")] for item in items]
    table = Table(data, colWidths=[box + 10, CONTENT_WIDTH - box - 10])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return _Checklist(table, box)


class _Checklist(Flowable):
    """The checklist table with an empty square drawn at the start of every row."""

    def __init__(self, table: Table, box: float):
        super().__init__()
        self.table, self.box = table, box

    def wrap(self, avail_width, avail_height):
        self.width, self.height = self.table.wrap(avail_width, avail_height)
        return self.width, self.height

    def draw(self):
        self.table.drawOn(self.canv, 0, 0)
        row_tops = _row_tops(self.table)
        self.canv.setStrokeColor(ACCENT)
        self.canv.setLineWidth(0.8)
        for top in row_tops:
            self.canv.rect(2, top - self.box - 3, self.box, self.box, stroke=1, fill=0)


def _row_tops(table: Table) -> list[float]:
    tops, y = [], table._height
    for height in table._rowHeights:
        tops.append(y)
        y -= height
    return tops


def signature_block(lines: Sequence[str] = ("Signature", "Printed name", "Date")) -> Flowable:
    data = [[para(label, "label"), ""] for label in lines]
    table = Table(data, colWidths=[1.4 * inch, 3.6 * inch], rowHeights=[20] * len(lines), hAlign="LEFT")
    table.setStyle(TableStyle([
        ("LINEBELOW", (1, 0), (1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))
    return KeepTogether([Spacer(1, 4), table])


def safe_name(identifier: object, prefix: str) -> str:
    """A file name built from an id only: letters, digits, dash and underscore, bounded length.

    Anything else (slashes, dots, spaces) becomes "_", so an id can never climb out of the
    output folder; an id that sanitises to nothing falls back to a hash of itself.
    """
    raw = text(identifier)
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", raw).strip("_")[:80]
    if not cleaned:
        cleaned = hashlib.sha256(raw.encode()).hexdigest()[:16]
    return f"{prefix}_{cleaned}"


# reportlab draws in Python, one core per process: many packets are drawn by a few worker
# processes (CLAIMBACK_DRAW_PROCESSES, 1 to draw in the calling process). Starting one costs
# about half a second (imports), so a handful of packets stay here.
DRAW_PROCESSES = workers("CLAIMBACK_DRAW_PROCESSES", min(2, os.cpu_count() or 1))
R = TypeVar("R")
DRAW_IN_PROCESSES_FROM = 24


@dataclass(frozen=True)
class Drawing:
    """How many worker processes draw packets, and from how many packets on they are used."""

    processes: int = DRAW_PROCESSES
    from_packets: int = DRAW_IN_PROCESSES_FROM


def draw_all(draw: Callable[..., R], jobs: Sequence[tuple], drawing: Drawing | None = None) -> list[R]:
    """`draw(*job)` for every job, results in job order; in `drawing.processes` fresh ("spawn")
    processes when there are at least `drawing.from_packets` jobs (default: CLAIMBACK_DRAW_PROCESSES
    and DRAW_IN_PROCESSES_FROM). `draw` must be a module-level function of an importable module and
    the jobs picklable; each job writes its own file, so the order they are drawn in changes nothing.
    Should the workers fail to start, every packet is drawn here instead, and the log says so. A
    daemonic process (a Celery prefork worker's child, a multiprocessing pool's worker) may not
    start processes: it draws here too."""
    drawing = drawing or Drawing()
    if drawing.processes < 2 or len(jobs) < drawing.from_packets or multiprocessing.current_process().daemon:
        return [draw(*job) for job in jobs]
    chunk = max(1, len(jobs) // (drawing.processes * 4))
    try:
        with ProcessPoolExecutor(drawing.processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            with _main_left_alone():  # the workers start as the jobs are handed out
                drawn = pool.map(_draw_one, [(draw, job) for job in jobs], chunksize=chunk)
            return list(drawn)
    except BrokenProcessPool:
        log.warning("packet worker processes stopped; drawing the %d packets in this process "
                    "(set CLAIMBACK_DRAW_PROCESSES=1 to skip the workers)", len(jobs))
        return [draw(*job) for job in jobs]


@contextmanager
def _main_left_alone():
    """Keep spawned workers from running the calling program's main module again.

    A "spawn" worker re-imports the parent's `__main__` (by path or module name) so that it can
    unpickle functions defined there. A script that calls the pipeline without an
    `if __name__ == "__main__":` guard would then run the whole pipeline again in every worker,
    on the same warehouse. The drawing functions live in claimback's own modules, so the workers
    never need `__main__`: while they start, it names neither a file nor a module.
    """
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    if main is None or not (saved.get("__file__") or saved.get("__spec__")):
        yield
        return
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


def _draw_one(task: tuple[Callable, tuple]):
    draw, job = task
    return draw(*job)


@cache
def layout_version() -> str:
    """A hash of the code and text that decide what a packet prints: part of every packet's content
    hash, so a change to them redraws every packet on the next run."""
    here = Path(__file__).parent
    parts = sorted(p for p in here.iterdir() if p.suffix in (".py", ".yaml"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


def private_dir(folder: str | Path) -> Path:
    """`folder` (and any parent it creates) readable by its owner only: packets carry PHI."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask, and the folder may predate us
    return folder


def build_pdf(path: Path, flowables: list[Flowable], title: str, footer: str) -> Path:
    """Render to `path` atomically (temp file in the same folder, then rename); owner-only (0600)."""
    path = Path(path)
    private_dir(path.parent)

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, 0.45 * inch, footer)
        canvas.drawRightString(PAGE_SIZE[0] - MARGIN, 0.45 * inch, f"Page {doc.page}")
        canvas.restoreState()

    fd, tmp = tempfile.mkstemp(suffix=".pdf.tmp", dir=path.parent)  # created 0600
    os.close(fd)
    try:
        doc = SimpleDocTemplate(tmp, pagesize=PAGE_SIZE, leftMargin=MARGIN, rightMargin=MARGIN,
                                topMargin=MARGIN, bottomMargin=0.8 * inch, title=title,
                                author="claimback", invariant=1)
        doc.build(flowables, onFirstPage=on_page, onLaterPages=on_page)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


# A spreadsheet runs a cell that begins with one of these as a formula (=HYPERLINK(...),
# =cmd|' /C calc'!A1); claim numbers come from payers' files, so nothing from them may start one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: "pl.DataFrame") -> "pl.DataFrame":
    """Every text cell that a spreadsheet would read as a formula, prefixed with a quote (OWASP)."""
    import polars as pl

    starts = "^[" + "".join(re.escape(c) for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.String
    )


def write_private_csv(frame: "pl.DataFrame", path: Path) -> Path:
    """`frame` as a formula-safe CSV at `path`, written atomically and owner-only (0600)."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(suffix=".csv.tmp", dir=path.parent)
    os.close(fd)
    try:
        csv_safe(frame).write_csv(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
