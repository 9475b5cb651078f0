"""Are two warehouses' published files the same? Every table and view of `claimback.duckdb`, row for row.

The proof a refactor changed no behaviour: publish the same inbox, with the same --as-of, from the
code before and after, then

    python bench/compare_published.py WAREHOUSE_A WAREHOUSE_B

Rows are compared as multisets (order-insensitive, duplicates counted). Exit 0 when every table and
view has the same columns and the same rows, 1 when something differs (a summary per relation and a
few example rows on each side), 2 when a warehouse has no published file.

Each relation is first summarised on each side by its row count and the sum of a 64-bit hash of
every row (one pass over each side; the sum does not depend on the order and counts duplicates);
only a relation whose summaries differ is compared row by row (EXCEPT ALL both ways, which also
gives the example rows), and only that comparison can report a difference. A view whose definition
is the same text in both files, when every table is equal, is equal without being evaluated (the
command line's default; `compare()` evaluates every view unless asked): at a million claims one
analyst view took minutes on each side. --exact compares every table and view row by row.

Columns that differ between two runs by their nature are normalised before comparing (listed in
RUN_SPECIFIC, printed with --verbose): the time of the run, the claimback/DuckDB version it ran, and
the warehouse's absolute folder where a path holds it. Everything else must be equal.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

DATABASE_NAME = "claimback.duckdb"  # claimback.publish.DATABASE_NAME; this script imports no claimback code

# (relation, column) -> why it differs between two runs of the same inbox. Replaced by NULL.
RUN_SPECIFIC: dict[tuple[str, str], str] = {
    ("publish_info", "claimback_version"): "the code's version string, which a refactor may bump",
    ("publish_info", "duckdb_version"): "the installed DuckDB",
    # hashes the packets' own source (claimback.forms.pdf.layout_version), so any edit of
    # claimback/forms/*.py redraws every packet by design; --packets compares the files themselves
    ("trend_packets", "content_sha256"): "hashes claimback/forms' source code as well as the packet's content",
    ("request_packets", "content_sha256"): "hashes claimback/forms' source code as well as the packet's content",
    ("ingested_files", "batch_id"): "which parse batch read the file: a warehouse grown night by night read its "
                                    "files in other batches than one run over the whole inbox",
}
# Any column with one of these names, in any relation (and so in the views that show them).
RUN_SPECIFIC_NAMES = {
    "published_at": "the clock time of the publish",
    "loaded_at": "the clock time a file was read (ingested_files)",
    "detected_at": "the clock time a bad part was found (quarantine)",
    "mtime_ns": "the inbox file's modification time: a synthesised inbox is written anew each time",
    "run_id": "a Dagster run id",
}
EXAMPLES = 3  # rows shown on each side of a difference


@dataclass
class Difference:
    relation: str
    problem: str
    only_a: list = field(default_factory=list)
    only_b: list = field(default_factory=list)


def relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    """name -> 'table' or 'view' of one attached file."""
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = ? "
        "AND table_schema = 'main'", [catalog]).fetchall()
    return {name: "view" if kind == "VIEW" else "table" for name, kind in rows}


def columns(con: duckdb.DuckDBPyConnection, catalog: str, relation: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
        "AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [catalog, relation]).fetchall()
    return dict(rows)


def normalised(relation: str, column: str, data_type: str, folder: str) -> str:
    """The SELECT expression of one column: NULL for a run-specific one; the warehouse folder
    taken out of strings, so two warehouses in two folders compare equal."""
    quoted = f'"{column}"'
    if (relation, column) in RUN_SPECIFIC or column in RUN_SPECIFIC_NAMES:
        return f"NULL AS {quoted}"
    if data_type == "VARCHAR":
        return f"replace({quoted}, {_literal(folder)}, '<warehouse>') AS {quoted}"
    return quoted


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def summary(con: duckdb.DuckDBPyConnection, select: str, relation: str, columns: list[str]) -> tuple[int, int]:
    """(rows, sum of the rows' hashes) of a relation as `select` shows it: equal for equal multisets."""
    hashed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"SELECT count(*), coalesce(sum(hash({hashed})::HUGEINT), 0) FROM "
                       f"(SELECT {select} FROM {relation})").fetchone()


def view_definition(con: duckdb.DuckDBPyConnection, catalog: str, view: str) -> str | None:
    found = con.execute("SELECT sql FROM duckdb_views() WHERE database_name = ? AND schema_name = 'main' "
                        "AND view_name = ?", [catalog, view]).fetchone()
    return found[0] if found else None


def compare(warehouse_a: Path, warehouse_b: Path, exact: bool = False,
            views_by_definition: bool = False) -> tuple[list[Difference], dict[str, int | None]]:
    """(the differences, rows compared per relation). `exact`: every relation row by row, even
    when the two sides' summaries (row count and hash sum) agree. `views_by_definition`: once every
    table is equal, a view defined by the same text on both sides is equal without being evaluated
    (its count is None)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for alias, warehouse in (("a", warehouse_a), ("b", warehouse_b)):
        con.execute(f"ATTACH {_literal(str(warehouse / DATABASE_NAME))} AS {alias} (READ_ONLY)")
    folders = {"a": str(warehouse_a.resolve()), "b": str(warehouse_b.resolve())}
    rel_a, rel_b = relations(con, "a"), relations(con, "b")
    differences = [Difference(name, f"only in {side}") for side, names in
                   (("A", rel_a.keys() - rel_b.keys()), ("B", rel_b.keys() - rel_a.keys())) for name in sorted(names)]
    counted: dict[str, int | None] = {}
    for name in sorted(rel_a.keys() & rel_b.keys(), key=lambda n: (rel_a[n] == "view", n)):  # tables first
        if (views_by_definition and not exact and rel_a[name] == rel_b[name] == "view" and not differences
                and view_definition(con, "a", name) == view_definition(con, "b", name)):
            counted[name] = None
            continue
        if rel_a[name] != rel_b[name]:
            differences.append(Difference(name, f"a {rel_a[name]} in A, a {rel_b[name]} in B"))
            continue
        cols_a, cols_b = columns(con, "a", name), columns(con, "b", name)
        if cols_a != cols_b:
            differences.append(Difference(name, _column_difference(cols_a, cols_b)))
            continue
        selects = {side: ", ".join(normalised(name, c, t, folders[side]) for c, t in cols_a.items())
                   for side in "ab"}
        summaries = {side: summary(con, selects[side], f'{side}.main."{name}"', list(cols_a)) for side in "ab"}
        counted[name] = summaries["a"][0]
        if summaries["a"] == summaries["b"] and not exact:
            continue
        query = "SELECT {} FROM {}.main.\"{}\" EXCEPT ALL SELECT {} FROM {}.main.\"{}\""
        only_a = con.execute(query.format(selects["a"], "a", name, selects["b"], "b", name)).fetchall()
        only_b = con.execute(query.format(selects["b"], "b", name, selects["a"], "a", name)).fetchall()
        if only_a or only_b:
            differences.append(Difference(name, f"{len(only_a)} rows only in A, {len(only_b)} rows only in B "
                                                f"(of {counted[name]} in A)",
                                          only_a[:EXAMPLES], only_b[:EXAMPLES]))
    return differences, counted


def compare_packets(warehouse_a: Path, warehouse_b: Path) -> list[Difference]:
    """The packet files (PDF and CSV under packets/) of the two warehouses, byte for byte."""
    def files(warehouse: Path) -> dict[str, Path]:
        folder = warehouse / "packets"
        return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}

    in_a, in_b = files(warehouse_a), files(warehouse_b)
    differences = [Difference(f"packets/{name}", f"only in {side}") for side, names in
                   (("A", in_a.keys() - in_b.keys()), ("B", in_b.keys() - in_a.keys())) for name in sorted(names)]
    differences += [Difference(f"packets/{name}", "the files differ") for name in sorted(in_a.keys() & in_b.keys())
                    if in_a[name].read_bytes() != in_b[name].read_bytes()]
    return differences


def _column_difference(cols_a: dict[str, str], cols_b: dict[str, str]) -> str:
    parts = []
    if missing := [c for c in cols_a if c not in cols_b]:
        parts.append(f"columns only in A: {', '.join(missing)}")
    if extra := [c for c in cols_b if c not in cols_a]:
        parts.append(f"columns only in B: {', '.join(extra)}")
    if retyped := [f"{c} {cols_a[c]} -> {cols_b[c]}" for c in cols_a if c in cols_b and cols_a[c] != cols_b[c]]:
        parts.append(f"types differ: {', '.join(retyped)}")
    if not parts:
        parts.append("same columns in another order")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse_a", type=Path)
    parser.add_argument("warehouse_b", type=Path)
    parser.add_argument("--packets", action="store_true",
                        help="also compare the packet files (packets/**/*.pdf, *.csv) byte for byte")
    parser.add_argument("--exact", action="store_true",
                        help="compare every table and view row by row, not only those whose summaries differ")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the normalised columns and row counts")
    args = parser.parse_args(argv)
    for warehouse in (args.warehouse_a, args.warehouse_b):
        if not (warehouse / DATABASE_NAME).is_file():
            print(f"compare_published: {warehouse / DATABASE_NAME}: no published file", file=sys.stderr)
            return 2
    differences, counted = compare(args.warehouse_a, args.warehouse_b, exact=args.exact, views_by_definition=True)
    packets = compare_packets(args.warehouse_a, args.warehouse_b) if args.packets else []
    if args.verbose:
        print("normalised (run-specific by nature):")
        for (relation, column), why in RUN_SPECIFIC.items():
            print(f"  {relation}.{column}: {why}")
        for column, why in RUN_SPECIFIC_NAMES.items():
            print(f"  any {column}: {why}")
        print("  any text: the warehouse's absolute folder, as <warehouse>")
        for name, rows in counted.items():
            print(f"  {name:48s} " + (f"{rows:>10,} rows" if rows is not None else "same definition, not evaluated"))
    for difference in packets:
        print(f"DIFFERS {difference.relation}: {difference.problem}")
    if args.packets and not packets:
        print("packet files identical")
    for difference in differences:
        print(f"DIFFERS {difference.relation}: {difference.problem}")
        for side, rows in (("A", difference.only_a), ("B", difference.only_b)):
            for row in rows:
                print(f"    only in {side}: {row}")
    total = sum(rows for rows in counted.values() if rows is not None)
    unevaluated = sum(1 for rows in counted.values() if rows is None)
    if differences or packets:
        print(f"{len({d.relation for d in differences})} of {len(counted | {d.relation: 0 for d in differences})} "
              f"relations differ" + (f"; {len(packets)} packet files differ" if packets else ""))
        return 1
    print(f"identical: {len(counted)} tables and views, {total:,} rows"
          + (f" ({unevaluated} views of the same definition over these identical tables not evaluated; "
             "--exact evaluates them)" if unevaluated else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
