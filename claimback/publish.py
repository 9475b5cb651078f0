"""Publish the lake as one DuckDB file analysts open: built aside, swapped in whole.

The file is built under a temporary name in the warehouse folder (from a copy of last night's
file, which `claimback run` makes while the stages before publish work), checkpointed and closed,
made readable by its owner only, and renamed over `claimback.duckdb`. An analyst's open read-only
connection keeps reading the previous night's file until it reconnects; nobody ever sees half a
build, and no analyst connection can block a run (DuckDB allows one writer per file, and the
pipeline never writes to the file analysts have open).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from claimback import __version__, storage
from claimback.lake import CHANGED, CHANGED_FILES, CHANGED_RUN, Lake, file_identity, files_digest

log = logging.getLogger(__name__)

DATABASE_NAME = "claimback.duckdb"
# The analyst views, shipped inside the package (pyproject.toml package-data): an installed
# claimback publishes them as a checkout does.
SQL_DIR = Path(__file__).resolve().parent / "sql"
DEIDENTIFIED_NAME = "claimback_deidentified.duckdb"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class PublishError(Exception):
    """The DuckDB file could not be built; the previous one is still in place."""


@dataclass
class Published:
    path: Path
    tables: dict[str, int]
    views: list[str]
    deidentified: Path | None = None  # the de-identified copy, when this run refreshed it


def publish(lake: Lake, sql_dir: Path | None = None, as_of: date | None = None) -> Published:
    target = lake.warehouse / DATABASE_NAME
    lake.warehouse.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".claimback.", suffix=".duckdb.tmp", dir=lake.warehouse)
    os.close(handle)
    os.unlink(tmp)  # DuckDB must create the file itself
    loaded = _previously_loaded(lake, target)
    try:
        if loaded and not _took_early_copy(lake.warehouse, target, tmp):
            shutil.copyfile(target, tmp)  # last night's file, brought up to date below; else built from nothing
        with duckdb.connect(tmp) as con:
            # One DuckDB thread per query: with two, each CREATE TABLE writes its row groups from two
            # streams and the checkpoint then rewrites them all (1M claims: 80 s and a 590 MB file).
            # The parallelism is across tables instead (_load_tables), which keeps every table's
            # rows in lake order.
            con.execute("SET threads TO 1")
            con.execute("SET enable_progress_bar = false")  # stdout belongs to the CLI's summary
            _drop_views(con)  # made again from sql/ below: a view removed from sql/ goes
            counts, sources = _load_tables(con, lake, loaded)
            views = _create_views(con, sql_dir) if sql_dir else []
            _write_publish_info(con, counts, as_of)
            con.execute("CHECKPOINT")
        os.chmod(tmp, 0o600)
        lake.state_path(PUBLISHED).unlink(missing_ok=True)  # a crash from here on rebuilds next night
        os.replace(tmp, target)
        _record_loaded(lake, target, sources)
    except Exception as exc:
        for leftover in (tmp, tmp + ".wal"):
            Path(leftover).unlink(missing_ok=True)
        if isinstance(exc, PublishError):
            raise
        raise PublishError(f"could not build {DATABASE_NAME}: {exc}") from exc
    log.info("published %s: %d tables, %d views", target.name, len(counts), len(views))
    return Published(target, counts, views)


# --- last night's file copied while the run works ------------------------------------------------
@dataclass
class _EarlyCopy:
    path: Path
    source: tuple | None = None  # the file copied, (size, mtime_ns, inode), when the copy is whole
    thread: threading.Thread | None = None


_EARLY: dict[Path, _EarlyCopy] = {}


def _file_key(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


@contextmanager
def previous_copied_early(warehouse: Path):
    """While the body runs (a whole run, in this process), copy the published file in place beside
    it in a thread: publish then starts from that copy instead of copying the file itself. At 10 M
    claims the file is 3.6 GB and its copy 8 s of a night's wall time, spent by the kernel and the
    disk while the stages before publish keep the CPU busy, not after them. Publish takes the copy
    only if the file in place is still the one copied, whole; else it copies as without this. A
    copy left over (a run that failed before publishing) is removed when the body ends."""
    target = Path(warehouse) / DATABASE_NAME
    if not target.is_file():
        yield
        return
    # named as publish's own temporary file is: a run killed while copying leaves it to remove_leftovers
    handle, name = tempfile.mkstemp(prefix=".claimback.", suffix=".duckdb.tmp.early", dir=warehouse)
    os.close(handle)
    early = _EarlyCopy(Path(name))

    def copy() -> None:
        before = _file_key(target)
        try:
            shutil.copyfile(target, early.path)
        except OSError as exc:  # the file went, the disk filled: publish copies, or builds, itself
            early.path.unlink(missing_ok=True)  # at once: a full disk is not kept full through the run
            log.warning("publish: last night's file not copied ahead (%s)", exc.strerror or exc)
            return
        if before is not None and _file_key(target) == before:
            early.source = before

    early.thread = threading.Thread(target=copy, name="claimback-publish-copy", daemon=True)
    key = Path(warehouse).resolve()
    _EARLY[key] = early
    early.thread.start()
    try:
        yield
    finally:
        early.thread.join()
        _EARLY.pop(key, None)
        early.path.unlink(missing_ok=True)


def _took_early_copy(warehouse: Path, target: Path, tmp: str) -> bool:
    """Move the copy `previous_copied_early` made of `target` to `tmp`, waiting for it if it is
    still being made; False (nothing moved) when there is none, or not of the file in place now."""
    early = _EARLY.get(Path(warehouse).resolve())
    if early is None:
        return False
    early.thread.join()
    if early.source is None or early.source != _file_key(target):
        return False
    os.replace(early.path, tmp)
    log.info("publish: started from last night's file, copied while the stages ran")
    return True


# Tables loaded at once, each on its own cursor and thread (DuckDB releases the GIL). 1M claims:
# 36 s one after another, 22 s two at a time; the file is the same size.
LOAD_THREADS = 2
# Which Parquet files each table of the published file was loaded from (path relative to the lake,
# size, modification time, and a fingerprint of the file's bytes), and which published file that
# was: the next publish starts from that file and changes only what changed. Kept in the lake's
# state, never published.
PUBLISHED = "published_sources"
# What the published file must have been built by for a night to start from it: the same code
# version, the same DuckDB (its storage format) and the same way of keeping this state. Bump
# PUBLISH_FORMAT when what a published table holds for given Parquet files changes.
PUBLISH_FORMAT = 2


def publish_stamp() -> str:
    return f"claimback {__version__}, duckdb {duckdb.__version__}, publish format {PUBLISH_FORMAT}"


@dataclass(frozen=True)
class Source:
    """One Parquet file a published table is loaded from."""
    path: Path
    name: str  # relative to the lake: a warehouse moved or copied whole is still the one published
    size: int
    mtime_ns: int
    fingerprint: str  # of the file's bytes: a stage that writes the same rows again changes nothing

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.fingerprint


def _load_tables(con: duckdb.DuckDBPyConnection, lake: Lake,
                 loaded: dict[str, set[tuple]]) -> tuple[dict[str, int], dict[str, list[Source]]]:
    """(rows per table, the files each table was loaded from). Each table is brought from what it
    was loaded from last night to what its files hold tonight, by the files' fingerprints, whatever
    the layout (one file, or parts: ingest batches, a derived table's months):

    * the same files with the same bytes: kept as it is;
    * files added, none changed or gone: their rows appended;
    * some files changed or gone, others not, and the denials stage says which claims' rows it
      changed in them since the files this table was loaded from (lake.CHANGED_FILES): in one
      transaction, those claims' rows replaced (`_replace_claims`);
    * some files changed or gone, others not: in one transaction, the rows the unchanged files do
      not hold are deleted and the new files' rows inserted (`_replace_changed`);
    * nothing kept (every file changed, a table new to the file, other columns): loaded again whole.

    Rows are always the same multiset a build from nothing loads."""
    tables = {name: paths for name, paths in lake.tables().items() if _IDENTIFIER.match(name)}
    known = {(rel, size, mtime): fp for files in loaded.values() for rel, size, mtime, fp in files}
    sources = {name: [_source(lake, p, known) for p in paths] for name, paths in tables.items()}
    claims = _claims_changed(lake)
    storage.register(con, [p for paths in tables.values() for p in paths])  # a lake on an object store
    present = _base_tables(con)
    for name in sorted(present - tables.keys()):
        con.execute(f'DROP TABLE "{name}"')

    # (name, fingerprint) of the files each table in the file was loaded from
    previous = {name: {(rel, fp) for rel, _, _, fp in loaded.get(name, ())} for name in present}

    def load(name: str) -> int:
        files = sources[name]
        before = previous.get(name)  # None: not in the file
        change = claims.get(name)
        if change and (change.before != files_digest(f[:3] for f in loaded.get(name, ()))
                       or change.after != files_digest((s.name, s.size, s.mtime_ns) for s in files)):
            change = None  # said of other files than the ones loaded and the ones there
        with con.cursor() as cursor:
            how[name] = _bring_up_to_date(cursor, name, files, before, change)
            return cursor.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]

    how: dict[str, str] = {}

    def bytes_to_load(name: str) -> int:
        """The table's Parquet bytes tonight's load reads: its files not loaded last night (all of
        them for a table loaded whole)."""
        before = previous.get(name, set())
        return sum(s.size for s in sources[name] if s.key not in before)

    # The most to load first: a night at 10 M claims loads its 3.35 M-row work queue whole (18 s),
    # which, started after the larger tables' few new parts, ended 7 s after everything else.
    most_first = sorted(tables, key=lambda name: -bytes_to_load(name))
    with ThreadPoolExecutor(LOAD_THREADS, thread_name_prefix="claimback-publish") as pool:
        counts = dict(zip(most_first, pool.map(load, most_first)))
    log.info("publish: kept %d, appended %d, updated %d, loaded %d tables",
             *(sum(1 for h in how.values() if h.startswith(kind)) for kind in ("kept", "appended", "updated", "loaded")))
    for kind in ("updated by claim", "updated", "loaded"):  # which: a table loaded whole on a night costs its whole size
        if names := sorted(name for name, h in how.items() if h == kind):
            log.info("publish: %s: %s", kind, ", ".join(names))
    return dict(sorted(counts.items())), sources


def _bring_up_to_date(cursor, name: str, files: list[Source], before: set[tuple] | None,
                      change: ClaimsChanged | None = None) -> str:
    """Make table `name` hold the rows of `files`, given the (name, fingerprint) of the files it
    was loaded from (None: not in the file, or not known) and the claims whose rows changed between
    those and these (None: not known); says how ("kept", "appended", ...)."""
    if before is not None:
        unchanged = [s for s in files if s.key in before]
        added = [s for s in files if s.key not in before]
        gone = before - {s.key for s in unchanged}
        if not added and not gone:
            return "kept"
        if unchanged and (not added or _table_columns(cursor, name) == _parquet_columns(cursor, _paths(added))):
            if not gone:
                cursor.execute(f'INSERT INTO "{name}" SELECT * FROM read_parquet(?)', [_paths(added)])
                return "appended"
            if change is not None and _replace_claims(cursor, name, change, files, added):
                return "updated by claim"
            if _replace_changed(cursor, name, unchanged, added):
                return "updated"
    cursor.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM read_parquet(?)', [_paths(files)])
    return "loaded"


def _replace_changed(cursor, name: str, unchanged: list[Source], added: list[Source]) -> bool:
    """In one transaction: delete the rows of the files that changed or went (every row whose
    content the unchanged files do not hold), insert the rows of the changed and new files. False,
    with nothing changed, when the rows left are not exactly the unchanged files' rows (a changed
    file's row equal to an unchanged file's row, or two rows of one hash): the caller loads whole.

    Why by content and not by a partition column: the file is what the lake knows, and a published
    table has no column saying which file a row came from. The rows left are a superset of the
    unchanged files' rows, so equal counts prove them equal."""
    columns = ", ".join(f'"{c}"' for c, _ in _table_columns(cursor, name))
    cursor.execute("BEGIN TRANSACTION")
    try:
        cursor.execute(f'DELETE FROM "{name}" WHERE hash({columns}) NOT IN '
                       f'(SELECT hash({columns}) FROM read_parquet(?))', [_paths(unchanged)])
        left = cursor.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        expected = cursor.execute("SELECT count(*) FROM read_parquet(?)", [_paths(unchanged)]).fetchone()[0]
        if left != expected:
            cursor.execute("ROLLBACK")
            return False
        if added:
            cursor.execute(f'INSERT INTO "{name}" SELECT * FROM read_parquet(?)', [_paths(added)])
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return True


@dataclass(frozen=True)
class ClaimsChanged:
    """What the denials stage says it changed in one of its tables (lake.CHANGED_FILES): the key
    column, the digests of the table's files before and after (lake.files_digest), the keys."""
    key: str
    before: str
    after: str
    keys: pl.DataFrame  # one column, "key"


def _claims_changed(lake: Lake) -> dict[str, ClaimsChanged]:
    """Per table, what the denials stage's last run says changed in it; {} after a run that
    recomputed everything (or a lake that does not say)."""
    run, files = lake.read_state(CHANGED_RUN), lake.read_state(CHANGED_FILES)
    if run.is_empty() or files.is_empty() or run["whole"][0]:
        return {}
    keys = lake.read_state(CHANGED)
    by_table = keys.partition_by("table", as_dict=True) if not keys.is_empty() else {}
    none = pl.DataFrame(schema={"key": pl.String})
    return {table: ClaimsChanged(key, before, after,
                                 by_table[(table,)].select(key=pl.col("claim_key")) if (table,) in by_table else none)
            for table, key, before, after in files.select("table", "key", "before", "after").iter_rows()}


def _replace_claims(cursor, name: str, change: ClaimsChanged, files: list[Source], added: list[Source]) -> bool:
    """In one transaction: delete the rows of the claims whose rows changed and insert their rows
    from the changed and new files (with every row without a key, which no claim names). False,
    with nothing changed, when the table does not then hold as many rows as the files: the caller
    falls back to `_replace_changed`.

    Why: a night at 10 M claims changes 70 k claims' rows in six months' parts of 2 M rows;
    replacing the parts' rows wrote the 2 M (adjudications: 13.7 s of 20 on one thread)."""
    if change.key not in {column for column, _ in _table_columns(cursor, name)}:
        return False
    key = change.key  # a column of the table (above), double-quoted in the SQL
    cursor.register("claims_changed", change.keys)
    cursor.execute("BEGIN TRANSACTION")
    try:
        cursor.execute(f'DELETE FROM "{name}" WHERE "{key}" IS NULL OR "{key}" IN (SELECT key FROM claims_changed)')
        if added:
            cursor.execute(f'INSERT INTO "{name}" SELECT * FROM read_parquet(?) '
                           f'WHERE "{key}" IN (SELECT key FROM claims_changed)', [_paths(added)])
        cursor.execute(f'INSERT INTO "{name}" SELECT * FROM read_parquet(?) WHERE "{key}" IS NULL', [_paths(files)])
        left = cursor.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        if left != cursor.execute("SELECT count(*) FROM read_parquet(?)", [_paths(files)]).fetchone()[0]:
            cursor.execute("ROLLBACK")
            return False
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    finally:
        cursor.unregister("claims_changed")
    return True


def _paths(files: list[Source]) -> list[str]:
    return [str(s.path) for s in files]


def _source(lake: Lake, path: Path, known: dict[tuple, str]) -> Source:
    """The file's Source; its fingerprint taken from last night's record when its name, size and
    modification time are the same (a part written once is never read again to hash it)."""
    name, (size, mtime_ns) = lake.name_of(path), file_identity(path)
    fingerprint = known.get((name, size, mtime_ns)) or _fingerprint(path)
    return Source(path, name, size, mtime_ns, fingerprint)


def _fingerprint(path: Path) -> str:
    """sha256 of a local file; on an object store, its ETag (the store's hash of the bytes, no download)."""
    if storage.is_remote(path):
        info = path.fs.info(path.path)
        return f"etag:{info.get('ETag') or info.get('etag') or ''}:{info.get('size')}"
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _base_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()}


def _table_columns(cursor, name: str) -> list[tuple]:
    """(name, type) of each column of a table of the file."""
    return [row[:2] for row in cursor.execute(f'DESCRIBE "{name}"').fetchall()]


def _parquet_columns(cursor, files: list[str]) -> list[tuple]:
    """(name, type) of each column of Parquet files, as a table loaded from them would have them."""
    return [row[:2] for row in cursor.execute("DESCRIBE SELECT * FROM read_parquet(?)", [files]).fetchall()]


def _drop_views(con: duckdb.DuckDBPyConnection) -> None:
    for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                               "AND database_name = current_database() AND schema_name = 'main'").fetchall():
        con.execute(f'DROP VIEW "{name}"')
    con.execute("DROP TABLE IF EXISTS publish_info")


STATE_SCHEMA = {"table": pl.String, "path": pl.String, "size": pl.Int64, "mtime_ns": pl.Int64, "fingerprint": pl.String}


def _previously_loaded(lake: Lake, target: Path) -> dict[str, set[tuple]]:
    """table -> {(path in the lake, size, mtime, fingerprint)} it was loaded from, when the file in
    place is the one last published (same size and modification time) by this code (the same
    stamp); {} (build from nothing) otherwise: the file deleted, replaced, written into, or built
    by another version."""
    state = lake.read_state(PUBLISHED)
    if state.is_empty() or not target.exists() or dict(state.schema) != STATE_SCHEMA:
        return {}
    file = state.filter(pl.col("table") == "")
    if file.height != 1 or file.select("size", "mtime_ns").row(0) != _identity(target) \
            or file["fingerprint"][0] != publish_stamp():
        return {}
    loaded: dict[str, set[tuple]] = {}
    for table, path, size, mtime_ns, fingerprint in state.filter(pl.col("table") != "").iter_rows():
        loaded.setdefault(table, set()).add((path, size, mtime_ns, fingerprint))
    return loaded


def _record_loaded(lake: Lake, target: Path, sources: dict[str, list[Source]]) -> None:
    rows = [("", target.name, *_identity(target), publish_stamp())]
    rows += [(table, s.name, s.size, s.mtime_ns, s.fingerprint) for table, files in sorted(sources.items())
             for s in files]
    lake.write_state(PUBLISHED, pl.DataFrame(rows, schema=STATE_SCHEMA, orient="row"))


def _create_views(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[str]:
    """Run every sql/*.sql; a view may use another, so retry until nothing more succeeds."""
    pending = {p.name: p.read_text() for p in sorted(Path(sql_dir).glob("*.sql"))}
    created: list[str] = []
    while pending:
        errors = {}
        for name, text in list(pending.items()):
            try:
                con.execute(text)
            except duckdb.Error as exc:
                errors[name] = exc
                continue
            created.append(name.removesuffix(".sql"))
            del pending[name]
        if errors and len(errors) == len(pending):
            first = next(iter(errors))
            raise PublishError(f"sql/{first} failed: {errors[first]}")
    _create_old_view_names(con, Path(sql_dir), set(created))
    return created


def query_views(tables: dict, sql_dir: Path, views: list[str], *queries: str) -> list:
    """Run each of `queries` over some sql/ views built on in-memory tables (name -> polars frame)
    instead of the published file: the Dagster metadata shows exactly what those views will show
    analysts. One frame per query; the tables are handed to DuckDB once, their text as Arrow string
    views, which copies none of it (a 2.2 M-row work queue: 1.8 CPU s a conversion to large strings)."""
    with duckdb.connect() as con:
        for name, frame in tables.items():
            con.register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        for view in views:  # in the order given: a view may use one before it
            con.execute((Path(sql_dir) / f"{view}.sql").read_text())
        return [con.sql(query).pl() for query in queries]


RENAMED_VIEWS = "renamed_views.csv"  # old_name,new_name: a renamed view keeps answering to its old name


def _create_old_view_names(con: duckdb.DuckDBPyConnection, sql_dir: Path, created: set[str]) -> None:
    path = sql_dir / RENAMED_VIEWS
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        old, new = (part.strip() for part in line.split(","))
        if not (_IDENTIFIER.match(old) and new in created):
            raise PublishError(f"sql/{RENAMED_VIEWS}: {line!r} does not name an old name and a view in sql/")
        con.execute(f'CREATE OR REPLACE VIEW "{old}" AS SELECT * FROM "{new}"')


# Columns that identify a patient. Names and dates of birth are dropped from the de-identified
# views; member IDs become keyed hashes, so claims of one member can still be grouped.
PHI_DROPPED = ("patient_last_name", "patient_first_name", "patient_birth_date")
PHI_HASHED = ("member_id", "insured_member_id", "subscriber_member_id")


def deidentify_key(warehouse: Path) -> str:
    """The secret for keyed hashes: $CLAIMBACK_DEID_KEY, else a random key kept in the warehouse."""
    if key := os.environ.get("CLAIMBACK_DEID_KEY"):
        return key
    path = warehouse / ".deidentify.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _deidentified_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
    select = []
    for column in columns:
        if column in PHI_DROPPED:
            continue
        if column in PHI_HASHED:  # $1 is the key: a parameter, never written into the file
            select.append(f'CASE WHEN "{column}" IS NULL THEN NULL ELSE sha256($1 || "{column}") END AS "{column}"')
        else:
            select.append(f'"{column}"')
    return ", ".join(select)


def publish_deidentified(warehouse: Path, sql_dir: Path | None = None) -> Path:
    """`claimback_deidentified.duckdb`: the published tables with no names, no birth dates and
    member IDs replaced by keyed hashes, for sharing outside the billing team. Built aside and
    swapped in like the main file; the hashing key never enters it."""
    source = warehouse / DATABASE_NAME
    target = warehouse / DEIDENTIFIED_NAME
    key = deidentify_key(warehouse)
    tmp = warehouse / f".{DEIDENTIFIED_NAME}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        # Two connections rather than ATTACH: ATTACH takes no parameters, and a path is a value.
        with duckdb.connect(str(source), read_only=True) as src, duckdb.connect(str(tmp)) as con:
            tables = [r[0] for r in src.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
                "AND table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
            for connection in (src, con):
                connection.execute("SET enable_progress_bar = false")
            for table in tables:
                select = _deidentified_select(src, table)
                rows = src.execute(f'SELECT {select} FROM "{table}"', [key] if "$1" in select else None)
                con.register("incoming", rows.fetch_record_batch())  # streamed, never whole in memory
                con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM incoming')
                con.unregister("incoming")
            if sql_dir:
                _create_views(con, sql_dir)
            con.execute("CHECKPOINT")
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _write_publish_info(con: duckdb.DuckDBPyConnection, counts: dict[str, int], as_of: date | None) -> None:
    con.execute(
        "CREATE TABLE publish_info AS SELECT ?::DATE AS as_of, ?::TIMESTAMPTZ AS published_at, "
        "?::VARCHAR AS claimback_version, ?::VARCHAR AS duckdb_version, ?::MAP(VARCHAR, BIGINT) AS row_counts",
        [as_of, datetime.now(timezone.utc), __version__, duckdb.__version__, counts],
    )
