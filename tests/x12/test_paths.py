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
