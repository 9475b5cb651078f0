"""The lake and the published DuckDB file: atomic writes, owner-only files, analysts never blocked."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from claimback import schema
from claimback.inbox import InboxError, scan
from claimback.lake import Lake, write_parquet_atomic
from claimback.publish import DATABASE_NAME, PublishError, publish


def _claims(n: int) -> pl.DataFrame:
    return schema.conform(pl.DataFrame({
        "claim_key": [f"k{i}" for i in range(n)],
        "patient_control_number": [f"PCN{i}" for i in range(n)],
        "charge_amount": [100.0 + i for i in range(n)],
    }), "remit_claims")


def test_atomic_write_leaves_no_temporary_files_and_is_owner_only(tmp_path):
    target = write_parquet_atomic(_claims(3), tmp_path / "t" / "remit_claims.parquet")
    assert pl.read_parquet(target).height == 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["remit_claims.parquet"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = write_parquet_atomic(_claims(2), tmp_path / "remit_claims.parquet")

    class Boom(pl.DataFrame):
        def write_parquet(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        write_parquet_atomic(Boom(_claims(5)), target)
    assert pl.read_parquet(target).height == 2
    assert [p.name for p in tmp_path.iterdir()] == ["remit_claims.parquet"]


def test_publish_builds_tables_views_and_money_types(tmp_path):
    lake = Lake(tmp_path)
    lake.write_current("remit_claims", _claims(4))
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "b_uses_a.sql").write_text("-- question b\nCREATE OR REPLACE VIEW b AS SELECT * FROM a;")
    (sql / "a.sql").write_text("-- question a\nCREATE OR REPLACE VIEW a AS SELECT claim_key FROM remit_claims;")
    published = publish(lake, sql)
    assert published.tables["remit_claims"] == 4
    assert set(published.views) == {"a", "b_uses_a"}
    with duckdb.connect(str(published.path), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM b").fetchone()[0] == 4
        types = dict(con.sql("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'remit_claims'").fetchall())
    assert types["charge_amount"] == "DECIMAL(12,2)"
    assert types["patient_control_number"] == "VARCHAR"
    assert stat.S_IMODE(published.path.stat().st_mode) == 0o600


def test_broken_view_fails_the_publish_and_keeps_the_previous_file(tmp_path):
    lake = Lake(tmp_path)
    lake.write_current("remit_claims", _claims(1))
    first = publish(lake, None)
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "bad.sql").write_text("CREATE VIEW bad AS SELECT nope FROM nowhere;")
    with pytest.raises(PublishError, match="bad.sql"):
        publish(lake, sql)
    assert duckdb.connect(str(first.path), read_only=True).sql("SELECT count(*) FROM remit_claims").fetchone()[0] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".claimback")] == []


def test_open_analyst_connection_neither_blocks_publish_nor_sees_a_partial_file(tmp_path):
    """An analyst holds a read-only connection (another process) while the pipeline republishes."""
    lake = Lake(tmp_path)
    lake.write_current("remit_claims", _claims(3))
    publish(lake, None)
    db = tmp_path / DATABASE_NAME
    analyst = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(db)!r}, read_only=True)
        print(con.sql("SELECT count(*) FROM remit_claims").fetchone()[0], flush=True)
        sys.stdin.readline()   # keep the connection open until told
        print(con.sql("SELECT count(*) FROM remit_claims").fetchone()[0], flush=True)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "3"
        lake.write_current("remit_claims", _claims(7))
        publish(lake, None)  # must not raise or wait on the analyst's lock
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        # The open connection still reads the complete previous snapshot.
        assert analyst.stdout.readline().strip() == "3"
    finally:
        analyst.kill()
        analyst.wait()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM remit_claims").fetchone()[0] == 7


def test_inbox_scan_skips_hidden_files_and_links_outside(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "a.835").write_text("x")
    (inbox / "sub" / "b.837").write_text("y")
    (inbox / ".hidden").write_text("z")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    os.symlink(secret, inbox / "escape.835")
    assert [f.name for f in scan(inbox)] == ["a.835", "sub/b.837"]


def test_a_run_says_which_links_it_did_not_follow(tmp_path, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.835").write_text("x")
    (tmp_path / "elsewhere.835").write_text("outside")
    os.symlink(tmp_path / "elsewhere.835", inbox / "linked.835")
    os.symlink(tmp_path / "gone.835", inbox / "broken.835")
    with caplog.at_level("WARNING", logger="claimback.inbox"):
        assert [f.name for f in scan(inbox)] == ["a.835"]
        assert not caplog.records  # a sensor's scan every tick stays quiet
        assert [f.name for f in scan(inbox, report_links=True)] == ["a.835"]
    assert "2 inbox entries were not followed" in caplog.text and "e.g. broken.835" in caplog.text
    with pytest.raises(InboxError, match="does not exist"):
        scan(tmp_path / "missing")


def test_deidentified_file_has_no_names_birth_dates_or_raw_member_ids(tmp_path, monkeypatch):
    from claimback.publish import publish_deidentified

    monkeypatch.delenv("CLAIMBACK_DEID_KEY", raising=False)
    lake = Lake(tmp_path)
    claims = _claims(2).with_columns(
        pl.Series("patient_last_name", ["DOE", "ROE"]), pl.Series("member_id", ["M123", "M123"]))
    lake.write_current("remit_claims", claims)
    publish(lake, None)
    path = publish_deidentified(tmp_path)
    with duckdb.connect(str(path), read_only=True) as con:
        cols = [r[0] for r in con.sql("DESCRIBE remit_claims").fetchall()]
        members = [r[0] for r in con.sql("SELECT member_id FROM remit_claims").fetchall()]
        everything = " ".join(str(r) for r in con.sql("SELECT * FROM duckdb_views()").fetchall())
    assert "patient_last_name" not in cols and "member_id" in cols
    assert members[0] == members[1] and members[0] != "M123" and len(members[0]) == 64
    key = (tmp_path / ".deidentify.key").read_text()
    assert key not in everything
    assert b"M123" not in path.read_bytes() and b"DOE" not in path.read_bytes()


def test_inbox_scan_follows_links_that_stay_inside(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "day1" / ".tmp").mkdir(parents=True)
    (inbox / "day1" / "era.835").write_text("x")
    (inbox / "day1" / ".tmp" / "partial.835").write_text("half")
    os.symlink(inbox / "day1" / "era.835", inbox / "latest.835")  # a link to a file inside: read
    os.symlink(inbox / "day1", inbox / "today")  # a link to a folder: not entered (no file twice)
    files = scan(inbox)
    assert [f.name for f in files] == ["day1/era.835", "latest.835"]
    assert scan(inbox, report_links=True) == files
    assert all(f.path.is_absolute() and f.path.is_file() for f in files)
    assert files[1].path == (inbox / "day1" / "era.835").resolve() and files[1].size == 1


def test_a_scan_by_name_finds_the_logs_a_whole_scan_finds_without_looking_at_the_rest(tmp_path, monkeypatch):
    from claimback import inbox as inbox_module
    from claimback.inbox import is_reconsideration_log

    inbox = tmp_path / "inbox"
    (inbox / "day1" / ".tmp").mkdir(parents=True)
    (inbox / "day1" / "era.835").write_text("x")
    (inbox / "day1" / "BCBS_Reconsiderations.CSV").write_text("claim\n")
    (inbox / "day1" / ".tmp" / "partial_reconsiderations.csv").write_text("half")
    (inbox / "reconsiderations.csv").write_text("claim\n")
    (tmp_path / "outside_reconsiderations.csv").write_text("claim\n")
    os.symlink(tmp_path / "outside_reconsiderations.csv", inbox / "linked_reconsiderations.csv")
    os.symlink(inbox / "reconsiderations.csv", inbox / "again_reconsiderations.csv")  # inside: read
    for n in range(50):
        (inbox / f"remit-{n}.835").write_text("x")
    whole = [f for f in scan(inbox) if f.is_reconsideration_log]
    looked_at = []
    real = inbox_module.InboxFile
    monkeypatch.setattr(inbox_module, "InboxFile", lambda *a: looked_at.append(a[1]) or real(*a))
    assert scan(inbox, named=is_reconsideration_log) == whole
    assert [f.name for f in whole] == ["again_reconsiderations.csv", "day1/BCBS_Reconsiderations.CSV",
                                       "reconsiderations.csv"]
    assert sorted(looked_at) == [f.name for f in whole]  # not one of the 51 X12 files


def test_files_are_hashed_in_order_whatever_the_thread_count(tmp_path):
    import hashlib

    from claimback.inbox import sha256_of_all

    paths = []
    for i in range(7):
        path = tmp_path / f"f{i}"
        path.write_bytes(bytes([i]) * (i * 300_000))  # empty to ~2 MB
        paths.append(path)
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    for threads in (1, 2, 3, 8):
        assert sha256_of_all(paths, threads) == expected
    assert sha256_of_all([]) == []


def test_an_existing_deidentified_copy_is_refreshed_by_every_publishing_run(tmp_path, monkeypatch):
    """A UI or sensor run does not pass --deidentify; the shared copy must still follow the main file."""
    from claimback.publish import DEIDENTIFIED_NAME
    from claimback.stages import Settings
    from claimback.stages import publish as publish_stage

    monkeypatch.delenv("CLAIMBACK_DEID_KEY", raising=False)
    lake = Lake(tmp_path)
    settings = Settings(inbox=tmp_path / "inbox", warehouse=tmp_path, as_of=date(2026, 11, 20))
    lake.write_current("remit_claims", _claims(1))
    assert publish_stage(settings, None).deidentified is None  # never asked for: not made
    assert not (tmp_path / DEIDENTIFIED_NAME).exists()

    first = publish_stage(Settings(**{**settings.__dict__, "deidentify": True}), None).deidentified
    assert first == tmp_path / DEIDENTIFIED_NAME
    lake.write_current("remit_claims", _claims(3))
    assert publish_stage(settings, None).deidentified == first  # deidentify off, copy refreshed anyway
    with duckdb.connect(str(first), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM remit_claims").fetchone()[0] == 3
