"""parse_paths / `python -m claimback.x12`: folders and files in, one Parquet per table out."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from claimback import schema
from claimback.x12 import parse_paths
from claimback.x12.paths import expand_paths
from tests.x12.synthetic import claims_file, remit_file

ROOT = Path(__file__).resolve().parents[2]


def inbox(tmp_path: Path) -> Path:
    box = tmp_path / "inbox"
    (box / "nested" / "deeper").mkdir(parents=True)
    (box / ".hidden").mkdir()
    (box / "era.835").write_bytes(remit_file())
    (box / "nested" / "claims.txt").write_bytes(claims_file())
    (box / "nested" / "deeper" / "same-era-again.dat").write_bytes(remit_file())
    (box / "nested" / "notes.pdf").write_bytes(b"%PDF-1.4 not x12")
    (box / ".DS_Store").write_bytes(b"junk")
    (box / ".hidden" / "era.835").write_bytes(remit_file())
    return box


def test_expand_paths_recurses_and_skips_dotfiles(tmp_path):
    box = inbox(tmp_path)
    names = [p.relative_to(box).as_posix() for p in expand_paths([box])]
    assert names == ["era.835", "nested/claims.txt", "nested/notes.pdf", "nested/deeper/same-era-again.dat"]
    assert expand_paths([box / "era.835", tmp_path / "missing"]) == [box / "era.835"]


def test_parse_paths_writes_every_table(tmp_path):
    box = inbox(tmp_path)
    out = tmp_path / "out"
    progress = []
    summary = parse_paths([box], out, progress=lambda *a: progress.append(a))
    assert summary["files"] == 4 and [p[0] for p in progress] == [1, 2, 3, 4]
    for table in schema.PARSED_TABLES:
        frame = pl.read_parquet(out / f"{table}.parquet")
        assert frame.schema == pl.Schema(schema.TABLES[table])
        assert frame.height == summary["tables"][table]
    # each file on its own: the same remit under two names is loaded twice; the same bytes give the
    # same keys and hashes, which is what lets the lake drop the copy
    claims = pl.read_parquet(out / "remit_claims.parquet")
    assert claims.height == 8 and claims["claim_key"].n_unique() == 4
    assert claims["source_file"].n_unique() == 2 and claims["transaction_hash"].n_unique() == 2
    assert summary["tables"]["submitted_claims"] == 3 and summary["tables"]["quarantine"] == 1
    per_file = {Path(f["source_file"]).name: f for f in summary["per_file"]}
    assert per_file["notes.pdf"]["quarantined"] == 1 and per_file["claims.txt"]["file_type"] == "837"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left behind


def test_empty_input_still_writes_empty_tables(tmp_path):
    summary = parse_paths([], tmp_path / "out")
    assert summary["files"] == 0
    assert sorted(p.stem for p in (tmp_path / "out").iterdir()) == sorted(schema.PARSED_TABLES)


def test_module_cli(tmp_path):
    box = inbox(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "claimback.x12", str(box / "era.835"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tables"]["remit_claims"] == 4
    assert "1/1 files" in proc.stderr and "MB/s" in proc.stderr


def test_large_files_are_streamed_to_the_same_tables(tmp_path, monkeypatch):
    from claimback.x12 import paths, reader

    box = inbox(tmp_path)
    # findings in every other interchange: an unbalanced claim (its set's) and a wrong IEA01 count
    # (the envelope's, which come after the sets' at the end of the file)
    big = b"".join(remit_file(control=f"{i:09d}").replace(b"CLP*PCN004*1*60*50", b"CLP*PCN004*1*60*55")
                   .replace(b"IEA*1*", b"IEA*3*") if i % 2 else remit_file(control=f"{i:09d}") for i in range(1, 11))
    (box / "nested" / "big.835").write_bytes(big)
    (box / "nested" / "mixed.x12").write_bytes(remit_file(control="000000077") + claims_file())
    held = parse_paths([box], tmp_path / "held")
    monkeypatch.setattr(paths, "STREAM_BYTES", 2000)  # every file but the PDF is "large"
    monkeypatch.setattr(paths, "HOLD_BYTES", 8000)  # and written a few rows at a time
    monkeypatch.setattr(reader, "PIECE_CHARS", 3000)  # from pieces of a few transaction sets
    progress = []
    streamed = parse_paths([box], tmp_path / "streamed", progress=lambda *a: progress.append(a))
    assert streamed["tables"] == held["tables"] and streamed["per_file"] == held["per_file"]
    # within the 12 kB file (the second), progress in bytes as its pieces are read
    within_big = [done for files, _, done, _ in progress if files == 1]
    assert len(within_big) > 3 and within_big == sorted(within_big)
    assert within_big[-1] == within_big[0] + (box / "nested" / "big.835").stat().st_size
    assert held["tables"]["remit_claims"] == 52 and held["tables"]["validation_findings"] > 0
    for table in schema.PARSED_TABLES:
        left, right = (pl.read_parquet(tmp_path / run / f"{table}.parquet").drop("detected_at", strict=False)
                       for run in ("held", "streamed"))
        assert right.schema == left.schema and right.equals(left), table
    assert pq_row_groups(tmp_path / "streamed" / "remit_adjustments.parquet") > 1  # really written as it came
    assert not [p for p in (tmp_path / "streamed").iterdir() if p.name.startswith(".")]


def pq_row_groups(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).num_row_groups


def test_an_interrupted_call_leaves_no_partial_files(tmp_path, monkeypatch):
    from claimback.x12 import paths

    box = inbox(tmp_path)
    out = tmp_path / "out"
    parse_paths([box], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(paths, "STREAM_BYTES", 2000)
    monkeypatch.setattr(paths, "HOLD_BYTES", 1)
    monkeypatch.setattr(paths, "read_x12_many", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        parse_paths([box], out)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interruption was swallowed")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # last complete output, no temp files


def test_a_streamed_file_that_fails_half_way_keeps_what_was_read(tmp_path, monkeypatch):
    from claimback.x12 import paths, reader

    box = tmp_path / "inbox"
    box.mkdir()
    (box / "big.835").write_bytes(b"".join(remit_file(control=f"{i:09d}") for i in range(1, 11)))
    monkeypatch.setattr(paths, "STREAM_BYTES", 2000)
    monkeypatch.setattr(reader, "PIECE_CHARS", 3000)
    monkeypatch.setattr(reader, "WORKERS", 1)  # each piece is applied before the next is read
    real, calls = reader._context, []

    def fails_on_the_third_piece(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError
        return real(*args, **kwargs)

    monkeypatch.setattr(reader, "_context", fails_on_the_third_piece)
    summary = parse_paths([box], tmp_path / "out")
    claims = pl.read_parquet(tmp_path / "out" / "remit_claims.parquet")
    quarantine = pl.read_parquet(tmp_path / "out" / "quarantine.parquet")
    assert 0 < claims.height < 40  # the pieces before the failure, in order
    assert claims["claim_ordinal"].to_list() == list(range(1, claims.height + 1))
    assert quarantine.select("location", "error").rows() == [("file", "internal reader error: MemoryError")]
    assert summary["per_file"][0]["remit_claims"] == claims.height and summary["per_file"][0]["quarantined"] == 1
