"""PHI stays where it belongs: never in what a run prints or records, files readable by their owner
only, inbox names that cannot lead outside the warehouse, SQL that never splices in values.

The synthetic inbox comes with its truth (`truth_dir`): every patient's and subscriber's names,
member ID and date of birth, which are searched for in every line the CLI printed and in every
Dagster event (messages, materialization and check metadata) of an in-process run.
"""
from __future__ import annotations

import ast
import re
import stat
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from claimback.forms.pdf import safe_name
from claimback.inbox import scan
from tests.reliability.harness import ROOT

NAME_COLUMNS = ("patient_last_name", "patient_first_name", "subscriber_first_name")


def identifiers(truth: Path) -> dict[str, set[str]]:
    claims = pl.read_parquet(truth / "claims.parquet")
    names = set()
    for column in NAME_COLUMNS:
        names |= {n for n in claims[column].drop_nulls().to_list() if len(n) >= 4}
    births = set(claims["birth_date"].drop_nulls().to_list())
    return {
        "name": names,
        "member_id": set(claims["member_id"].drop_nulls().to_list()),
        "birth_date": births | {f"{b[:4]}-{b[4:6]}-{b[6:]}" for b in births},
    }


def phi_found(text: str, ids: dict[str, set[str]]) -> list[str]:
    """Which identifiers occur in `text`: names as whole words, IDs and birth dates anywhere."""
    words = set(re.findall(r"[A-Za-z]+", text))
    found = [f"name {n}" for n in ids["name"] if n in words]
    found += [f"{kind} {v}" for kind in ("member_id", "birth_date") for v in ids[kind] if v in text]
    return sorted(found)


def test_the_identifiers_are_really_in_the_inbox(demo_inbox):
    """Guards the scan itself: the identifiers it looks for are there to be leaked."""
    ids = identifiers(demo_inbox.truth)
    sample = "".join(p.read_text(errors="replace") for p in demo_inbox.x12_files()[:40])
    assert phi_found(sample, ids)


def test_cli_output_carries_no_phi(full_night):
    assert "read " in full_night.output  # progress lines were printed, so there was something to scan
    assert phi_found(full_night.output, identifiers(full_night.inbox.truth)) == []


def test_dagster_events_and_metadata_carry_no_phi(first_night):
    events = [dg.serialize_value(event) for event in first_night.events]
    assert any("ASSET_MATERIALIZATION" in e for e in events) and any("ASSET_CHECK_EVALUATION" in e for e in events)
    ids = identifiers(first_night.inbox.truth)
    text = "\n".join(events)
    assert text.count('"label":') > 20 and "md_str" in text  # metadata (tables, counts) was there to scan
    assert "read " in first_night.output  # and the library's log records
    assert phi_found(text, ids) == []
    assert phi_found(first_night.output, ids) == []


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_published_file_and_lake_are_owner_only(full_night):
    assert _mode(full_night.warehouse / "claimback.duckdb") == 0o600
    lake_files = [p for p in (full_night.warehouse / "lake").rglob("*") if p.is_file()]
    assert lake_files and {p for p in lake_files if _mode(p) != 0o600} == set()
    assert _mode(full_night.warehouse / "lake") & 0o077 == 0


def test_packets_are_owner_only(full_night):
    packets = [p for p in (full_night.warehouse / "packets").rglob("*") if p.is_file()]
    assert {p.suffix for p in packets} >= {".pdf", ".csv"}
    assert sorted(p.name for p in packets if _mode(p) != 0o600) == []


def test_inbox_links_outside_the_inbox_are_refused(tmp_path):
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.835").write_text("ISA*")
    (inbox / "sub" / "ok.835").write_text("ISA*")
    (inbox / "escape.835").symlink_to(outside / "secret.835")
    (inbox / "escape-dir").symlink_to(outside, target_is_directory=True)
    (inbox / "sub" / "up.835").symlink_to(Path("..") / ".." / "outside" / "secret.835")
    assert [f.name for f in scan(inbox)] == ["sub/ok.835"]


@pytest.mark.parametrize("hostile", ["../../etc/cron.d/x", "/abs/path", "..", "a/../../b", "c:\\win\\x", "\x00nul", ""])
def test_packet_file_names_cannot_climb_out(hostile, tmp_path):
    name = safe_name(hostile, "trend")
    assert "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
    assert (tmp_path / f"{name}.pdf").resolve().parent == tmp_path.resolve()


# --- SQL is built with parameters ---------------------------------------------------------------
SQL_CALLS = {"execute", "sql", "query", "executemany"}
# Interpolations that are identifiers, not values: column lists built only from double-quoted
# names read from the catalog. Anything else spliced into SQL must be a parameter.
IDENTIFIER_FRAGMENTS = {("claimback/publish.py", "select"), ("claimback/publish.py", "kept"),
                        ("claimback/publish.py", "columns")}


def spliced_values(source: str, where: str) -> list[str]:
    """SQL built with % or .format, or f-string SQL whose interpolations are not double-quoted
    identifiers, in the Python `source` of file `where`."""
    tree = ast.parse(source)
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS
                and node.args):
            continue
        sql = node.args[0]
        if isinstance(sql, ast.BinOp) and isinstance(sql.op, ast.Mod) or (
                isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "format"):
            bad.append(f"{where}:{node.lineno} formats SQL with % or .format")
            continue
        if not isinstance(sql, ast.JoinedStr):
            continue
        parts = sql.values
        for i, part in enumerate(parts):
            if not isinstance(part, ast.FormattedValue):
                continue
            before = parts[i - 1].value if i and isinstance(parts[i - 1], ast.Constant) else ""
            after = parts[i + 1].value if i + 1 < len(parts) and isinstance(parts[i + 1], ast.Constant) else ""
            quoted = before.endswith('"') and after.startswith('"')
            name = ast.unparse(part.value)
            if not quoted and (where, name) not in IDENTIFIER_FRAGMENTS:
                bad.append(f"{where}:{node.lineno} splices {{{name}}} into SQL")
    return bad


def test_sql_in_the_code_is_parameterised():
    sources = [p for folder in ("claimback", "pipelines") for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(sources) > 20
    found = [b for p in sources for b in spliced_values(p.read_text(), p.relative_to(ROOT).as_posix())]
    assert found == []


def test_the_sql_check_catches_a_spliced_value():
    source = (
        "def f(con, pcn, name):\n"
        "    con.execute(f'SELECT * FROM \"{name}\" WHERE patient_control_number = {pcn}')\n"
        "    con.execute('SELECT %s' % pcn)\n"
        "    con.execute('SELECT * FROM t WHERE patient_control_number = ?', [pcn])\n"
    )
    assert spliced_values(source, "probe.py") == [
        "probe.py:2 splices {pcn} into SQL", "probe.py:3 formats SQL with % or .format"]
