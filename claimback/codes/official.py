"""Merge an official X12 CARC or RARC list a user downloaded into their own copy of our lists.

X12 publishes the lists (code sources 139 and 411) three times a year; users get them as
CSV, TSV, a spreadsheet saved as CSV, the web page saved as HTML, or a JSON extract of both
pages (`{"source": {...}, "carc": {code: {"text", "status"}}, "rarc": {...}}`, the form of
the list the packaged files were built from). `import_official` reads any of those (headers
found by name, dates in columns or embedded as "Start: ... | Stop: ...", a status column
current / tobe / deactivated when there is one), keeps our category, route and label for every code we know, adds new codes as
`unknown`, takes start/stop dates and the official text from the file, and writes the
merged list to the override folder, which every loader then prefers. The report names new
codes without a category, newly deactivated codes and codes whose official text changed.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html.parser
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from claimback.codes.tables import SCHEMAS, load, override_dir

CARC_CODE = re.compile(r"^(?:[0-9]{1,3}|[A-LO-Z][0-9]{1,2})$")  # no CARC starts with M or N
RARC_CODE = re.compile(r"^(?:MA|M|N)[0-9]{1,4}$")

_EMBEDDED_DATE = r"(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2})"
_EMBEDDED = {
    "start": re.compile(r"\bStart(?:\s*Date)?\s*:?\s*" + _EMBEDDED_DATE, re.I),
    "stop": re.compile(r"\bStop(?:\s*Date)?\s*:?\s*" + _EMBEDDED_DATE, re.I),
    "last_modified": re.compile(r"\bLast\s*Modified(?:\s*Date)?\s*:?\s*" + _EMBEDDED_DATE, re.I),
}
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y", "%m-%d-%Y", "%Y/%m/%d", "%d-%b-%Y", "%d %b %Y")
_REPORT_LIMIT = 40


class OfficialListError(ValueError):
    """The file has no recognisable code list in it."""


@dataclass(frozen=True)
class ImportReport:
    """What an import changed. Codes only: the lists carry no patient data."""

    kind: str
    source: Path
    written_to: Path
    codes_in_file: int
    total_codes: int
    new_codes: tuple[str, ...] = ()
    newly_deactivated: tuple[tuple[str, dt.date], ...] = ()
    reactivated: tuple[str, ...] = ()
    changed_labels: tuple[str, ...] = ()
    not_in_file: tuple[str, ...] = field(default=())

    def text(self) -> str:
        """The report as an analyst reads it in a terminal."""
        name = self.kind.upper()
        lines = [
            f"Imported {self.codes_in_file} {name} codes from {self.source.name}",
            f"Merged list ({self.total_codes} codes) written to {self.written_to}",
            _listing(
                f"New codes without a category ({len(self.new_codes)}); they classify as 'unknown' until "
                f"someone sets category and fixable_by in {self.written_to.name}",
                self.new_codes,
            ),
            _listing(
                f"Newly deactivated ({len(self.newly_deactivated)})",
                [f"{code} (stop {stop.isoformat() if stop else 'date not published'})"
                 for code, stop in self.newly_deactivated],
            ),
            _listing(f"Reactivated: stop date removed ({len(self.reactivated)})", self.reactivated),
            _listing(
                f"Official text changed since the last import ({len(self.changed_labels)})", self.changed_labels
            ),
            _listing(
                f"Active in our list but not in this file ({len(self.not_in_file)}); kept",
                self.not_in_file,
            ),
        ]
        return "\n".join(line for line in lines if line)


def _listing(title: str, items) -> str:
    items = list(items)
    if not items:
        return ""
    shown = ", ".join(items[:_REPORT_LIMIT])
    more = f" ... and {len(items) - _REPORT_LIMIT} more" if len(items) > _REPORT_LIMIT else ""
    return f"{title}:\n  {shown}{more}"


# ---------------------------------------------------------------------------------------
# Reading whatever the user downloaded into rows of cells


class _TableCells(html.parser.HTMLParser):
    """Rows of cell texts from every <tr> in an HTML page (the X12 code list page, saved)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" | ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if any(self._row):
                self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _delimiter(text: str) -> str:
    sample = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", -1
    for candidate in ("\t", ",", ";", "|"):
        counts = [line.count(candidate) for line in sample]
        lines_with = sum(1 for count in counts if count)
        if lines_with > best_score:
            best, best_score = candidate, lines_with
    return best


_BINARY_FORMATS = {
    b"PK\x03\x04": "an Excel workbook (or another zip file)",
    b"\xd0\xcf\x11\xe0": "an old-style Excel workbook",
    b"%PDF": "a PDF",
}


def read_rows(path: Path) -> list[list[str]]:
    """Cell rows from a CSV/TSV/HTML code list file."""
    raw = Path(path).read_bytes()
    for magic, what in _BINARY_FORMATS.items():
        if raw.startswith(magic):
            raise OfficialListError(
                f"{Path(path).name} is {what}; open it and save it as CSV (UTF-8), then import the CSV"
            )
    text = _decode(raw)
    if re.search(r"<t[dr][\s>]", text, re.I):
        parser = _TableCells()
        parser.feed(text)
        return parser.rows
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    return [[cell.strip() for cell in row] for row in reader if any(cell.strip() for cell in row)]


# ---------------------------------------------------------------------------------------
# Finding the columns


def _norm(cell: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", cell.lower()).split())


def _role(header: str) -> str | None:
    name = _norm(header)
    if not name:
        return None
    if "modif" in name or "updated" in name or "revised" in name:
        return "last_modified"
    if name == "status":
        return "status"
    if any(word in name for word in ("stop", "deactivat", "terminat", "expir", "end date")) or name == "end":
        return "stop"
    if any(word in name for word in ("start", "effective", "begin")):
        return "start"
    if any(word in name for word in ("description", "definition", "narrative", "text", "message")):
        return "description"
    if name in ("code", "carc", "rarc", "value", "id") or (name.endswith("code") and "date" not in name):
        return "code"
    if name in ("reason", "remark", "meaning"):
        return "description"
    return None


def _columns(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    """(index of the first data row, role -> column) from the header, or a headerless guess."""
    for index, row in enumerate(rows[:25]):
        roles: dict[str, int] = {}
        for column, cell in enumerate(row):
            role = _role(cell)
            if role and role not in roles:
                roles[role] = column
        if "code" in roles and "description" in roles:
            return index + 1, roles
    return 0, {"code": 0, "description": 1}


def _parse_date(text: str | None) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _cell(row: list[str], roles: dict[str, int], role: str) -> str:
    column = roles.get(role)
    return row[column].strip() if column is not None and column < len(row) else ""


@dataclass(frozen=True)
class OfficialCode:
    code: str
    description: str
    start: dt.date | None
    stop: dt.date | None
    last_modified: dt.date | None
    status: str | None = None  # current, tobe, deactivated: X12's own word when the file has it


_STATUS_WORDS = {"current": "current", "active": "current", "tobe": "tobe", "to be deactivated": "tobe",
                 "deactivated": "deactivated", "inactive": "deactivated"}


def _status(text: str | None) -> str | None:
    return _STATUS_WORDS.get(" ".join((text or "").lower().replace("-", " ").split()))


def _json_lists(path: Path) -> dict[str, dict] | None:
    """{"carc": {...}, "rarc": {...}} when `path` is a JSON extract of the X12 lists, else None."""
    raw = Path(path).read_bytes()
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(_decode(raw))
    except json.JSONDecodeError as exc:
        raise OfficialListError(f"{Path(path).name} looks like JSON but does not parse: {exc.msg}") from None
    lists = {kind: data[kind] for kind in ("carc", "rarc") if isinstance(data.get(kind), dict)}
    if not lists:
        raise OfficialListError(f"{Path(path).name} is JSON without a 'carc' or 'rarc' object")
    return lists


def _codes_from_json(entries: dict, kind: str) -> list[OfficialCode]:
    pattern = CARC_CODE if kind == "carc" else RARC_CODE
    found = []
    for raw_code, entry in entries.items():
        code = str(raw_code).strip().upper()
        if kind == "carc" and code.isdigit():
            code = code.lstrip("0") or "0"
        if not pattern.match(code):
            continue
        entry = entry if isinstance(entry, dict) else {"text": str(entry)}
        description, embedded = _split_description(str(entry.get("text") or entry.get("description") or ""))
        found.append(OfficialCode(
            code=code, description=description, start=_parse_date(entry.get("start")) or embedded["start"],
            stop=_parse_date(entry.get("stop")) or embedded["stop"],
            last_modified=_parse_date(entry.get("last_modified")) or embedded["last_modified"],
            status=_status(entry.get("status")),
        ))
    return found


def _split_description(text: str) -> tuple[str, dict[str, dt.date | None]]:
    """Official text without the embedded 'Start: ... | Stop: ...' trailer, and those dates."""
    dates = {}
    for role, pattern in _EMBEDDED.items():
        match = pattern.search(text)
        dates[role] = _parse_date(match.group(1)) if match else None
        if match:
            text = text.replace(match.group(0), " ")
    text = re.sub(r"(\s*\|\s*)+$", "", re.sub(r"(\s*\|\s*){2,}", " | ", text))
    return " ".join(text.split()).strip(" |"), dates


def parse_official(path: Path, kind: str | None = None) -> tuple[str, list[OfficialCode]]:
    """(kind, codes) from an official list file; a code without a stop date is active."""
    lists = _json_lists(path)
    if lists is not None:
        kind = kind or next(iter(lists))
        if kind not in lists:
            raise OfficialListError(f"{Path(path).name} has no {kind.upper()} list")
        codes = _codes_from_json(lists[kind], kind)
        if not codes:
            raise OfficialListError(f"no {kind.upper()} codes found in {Path(path).name}")
        return kind, codes
    rows = read_rows(path)
    start, roles = _columns(rows)
    candidates = [_cell(row, roles, "code").upper() for row in rows[start:]]
    if kind is None:
        rarc_like = sum(bool(RARC_CODE.match(code)) for code in candidates)
        carc_like = sum(bool(CARC_CODE.match(code)) for code in candidates)
        kind = "rarc" if rarc_like > carc_like else "carc"
    if kind not in ("carc", "rarc"):
        raise OfficialListError(f"kind must be 'carc' or 'rarc', not {kind!r}")
    pattern = CARC_CODE if kind == "carc" else RARC_CODE
    codes: dict[str, OfficialCode] = {}
    for row, code in zip(rows[start:], candidates, strict=True):
        if kind == "carc" and code.isdigit():
            code = code.lstrip("0") or "0"
        if not pattern.match(code):
            continue
        description, embedded = _split_description(_cell(row, roles, "description"))
        codes[code] = OfficialCode(
            code=code,
            description=description,
            start=_parse_date(_cell(row, roles, "start")) or embedded["start"],
            stop=_parse_date(_cell(row, roles, "stop")) or embedded["stop"],
            last_modified=_parse_date(_cell(row, roles, "last_modified")) or embedded["last_modified"],
            status=_status(_cell(row, roles, "status")),
        )
    if not codes:
        raise OfficialListError(f"no {kind.upper()} codes found in {Path(path).name}")
    return kind, list(codes.values())


def short_label(description: str, limit: int = 90) -> str:
    """A label for a code we have no words for yet: the official text's first sentence, cut."""
    first = re.split(r"(?<=[a-z0-9\)])\.\s", description, maxsplit=1)[0].strip().rstrip(".")
    for marker in (" Usage:", " Note:", " Notes:"):
        first = first.split(marker)[0]
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


# ---------------------------------------------------------------------------------------
# Merging and writing


def _same_text(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def _merge(kind: str, current: pl.DataFrame, official: list[OfficialCode], source: str):
    schema = SCHEMAS[kind]
    by_code = {row["code"]: row for row in current.iter_rows(named=True)}
    new, deactivated, reactivated, changed = [], [], [], []
    today = dt.date.today().isoformat()
    for item in official:
        row = by_code.get(item.code)
        if row is None:
            row = {name: None for name in schema}
            row.update(code=item.code, label=short_label(item.description) or None)
            if kind == "carc":
                row.update(category="unknown", notes=f"added from {source} on {today}")
            new.append(item.code)
        else:
            row = dict(row)
            if row.get("official_description") and not _same_text(row["official_description"], item.description):
                changed.append(item.code)
            if not row.get("label"):
                row["label"] = short_label(item.description) or None
            if item.stop is not None and row.get("stop_date") is None:
                deactivated.append((item.code, item.stop))
            elif item.status == "deactivated" and row.get("status") not in (None, "deactivated"):
                deactivated.append((item.code, row.get("stop_date")))
            if item.stop is None and row.get("stop_date") is not None and item.status in (None, "current"):
                reactivated.append(item.code)
        row["official_description"] = item.description or row.get("official_description")
        row["effective_date"] = item.start or row.get("effective_date")
        # A list that says a code is (to be) deactivated without saying when keeps the stop
        # date we had; one that says it is current, or gives no status, clears or sets it.
        keeps_stop = item.stop is None and item.status in ("tobe", "deactivated")
        row["stop_date"] = row.get("stop_date") if keeps_stop else item.stop
        row["status"] = item.status or ("current" if item.stop is None else None)
        row["last_modified"] = item.last_modified or row.get("last_modified")
        by_code[item.code] = row
    rows = sorted(by_code.values(), key=lambda row: _code_order(row["code"]))
    merged = pl.DataFrame(rows, schema=schema)
    return merged, new, deactivated, reactivated, changed


def _code_order(code: str) -> tuple[str, int, str]:
    """Lists read in the official order: numbers first, then by prefix and number (B2 < B10)."""
    match = re.fullmatch(r"([A-Z]*)([0-9]+)", code)
    return (match.group(1), int(match.group(2)), "") if match else ("~", 0, code)


def _write_atomic(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".csv", dir=target.parent)
    os.close(handle)
    try:
        frame.write_csv(temp, date_format="%Y-%m-%d")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def import_official(
    path: str | os.PathLike[str], kind: str | None = None, *, target_dir: str | os.PathLike[str] | None = None
) -> ImportReport:
    """Merge the official CARC or RARC list at `path` into the user's override copy.

    `kind` is "carc", "rarc" or None to tell from the codes. Our categories, routes and
    labels are kept for codes we know; new codes come in as category `unknown` (CARC) with
    the official text's first sentence as label. Dates and official text come from the file.
    Writes `<target_dir>/<kind>.csv` (default: the override folder) atomically and returns
    what changed. Never deletes a code: codes missing from the file are kept and reported.
    """
    source = Path(path).expanduser()
    kind, official = parse_official(source, kind)
    return _import(source, kind, official, target_dir)


def _import(source: Path, kind: str, official: list[OfficialCode], target_dir) -> ImportReport:
    """Merge `official` codes of `kind` into the current list and write it (see import_official)."""
    current = load(kind)
    merged, new, deactivated, reactivated, changed = _merge(kind, current, official, source.name)
    in_file = {item.code for item in official}
    not_in_file = tuple(
        merged.filter(~pl.col("code").is_in(list(in_file)) & pl.col("stop_date").is_null())["code"].to_list()
    )
    target = Path(target_dir).expanduser() if target_dir is not None else override_dir()
    written = target / f"{kind}.csv"
    _write_atomic(merged, written)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    (target / f"{kind}.source.txt").write_text(
        f"imported_from={source.name}\nsha256={digest}\nimported_at={dt.datetime.now(dt.UTC).isoformat()}\n"
        f"codes_in_file={len(official)}\n",
        encoding="utf-8",
    )
    return ImportReport(
        kind=kind,
        source=source,
        written_to=written,
        codes_in_file=len(official),
        total_codes=merged.height,
        new_codes=tuple(new),
        newly_deactivated=tuple(deactivated),
        reactivated=tuple(reactivated),
        changed_labels=tuple(changed),
        not_in_file=not_in_file,
    )


def import_official_lists(
    path: str | os.PathLike[str], *, target_dir: str | os.PathLike[str] | None = None
) -> list[ImportReport]:
    """Every list in `path`: both CARC and RARC from a JSON extract, else the one list it holds."""
    source = Path(path).expanduser()
    lists = _json_lists(source)
    if lists is None:
        return [import_official(source, target_dir=target_dir)]
    return [import_official(source, kind, target_dir=target_dir) for kind in lists]


def cli_import(path: str | os.PathLike[str], kind: str | None = None) -> str:
    """`claimback codes import FILE`: import and return the report text."""
    if kind is not None:
        return import_official(path, kind).text()
    return "\n\n".join(report.text() for report in import_official_lists(path))
