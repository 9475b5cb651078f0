"""read_x12_many: many files through one plan give, file by file, exactly what read_x12 gives."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claimback import schema
from claimback.x12 import ParsedFile, read_x12, read_x12_many
from tests.conftest import corpus_files, needs_corpus
from tests.x12.synthetic import Layout, claims_file, remit_file


def assert_same(batch: ParsedFile, alone: ParsedFile) -> None:
    for table in schema.PARSED_TABLES:
        # detected_at is the clock at read time, the one value two reads cannot share
        left, right = (pf.tables[table].drop("detected_at", strict=False) for pf in (batch, alone))
        assert_frame_equal(left, right, check_exact=True), (alone.source_file, table)
    for attr in ("file_sha256", "file_type", "transactions", "quarantined", "source_file", "bytes", "encoding",
                 "transaction_types"):
        assert getattr(batch, attr) == getattr(alone, attr), (alone.source_file, attr)


def assert_batch_matches(sources: list, names: list[str]) -> list[ParsedFile]:
    batch = read_x12_many(sources, names)
    assert len(batch) == len(sources)
    for source, name, got in zip(sources, names, batch):
        assert_same(got, read_x12(source, source_file=name))
    return batch


def test_mixed_inbox_with_bad_files_matches_file_by_file(tmp_path):
    truncated = remit_file(control="000000007")[:-120]
    sources = [remit_file(), claims_file(), b"", b"%PDF-1.4 not x12", truncated,
               remit_file(Layout(element="|", component=">", terminator="\n", after="\r\n")), tmp_path / "missing.835",
               remit_file(control="000000009") + claims_file()]
    names = [f"f{i}" for i in range(len(sources))]
    batch = assert_batch_matches(sources, names)
    # the keys count within each file, not across the batch
    assert batch[0].tables["remit_claims"]["claim_key"].to_list() == \
        batch[5].tables["remit_claims"]["claim_key"].str.replace(r"^[0-9a-f]{16}", batch[0].file_sha256[:16]).to_list()
    assert [pf.file_type for pf in batch] == ["835", "837", "unknown", "unknown", "835", "835", "unknown", "mixed"]
    assert [pf.quarantined for pf in batch] == [0, 0, 1, 1, 1, 0, 1, 0]


def test_a_failing_batch_falls_back_to_each_file_alone(monkeypatch):
    from claimback.x12 import remit

    real = remit.claims

    def only_alone(seg, pay, shas):
        if len(shas) > 1:  # only the batch plan fails
            raise RuntimeError("batch only")
        return real(seg, pay, shas)

    monkeypatch.setattr(remit, "claims", only_alone)
    batch = assert_batch_matches([remit_file(), remit_file(control="000000002")], ["a", "b"])
    assert all(pf.quarantined == 0 and pf.transactions == 2 for pf in batch)


def test_small_batches_and_large_files_read_alone(monkeypatch):
    from claimback.x12 import reader

    monkeypatch.setattr(reader, "BATCH_FILES", 2)
    monkeypatch.setattr(reader, "PIECE_CHARS", 3000)  # the 12 kB file is "large": read alone, in pieces
    big = b"".join(remit_file(control=f"{i:09d}") for i in range(1, 11))
    batch = assert_batch_matches([remit_file(), big, claims_file(), remit_file(), claims_file()], list("abcde"))
    assert batch[1].tables["remit_claims"]["claim_ordinal"].to_list() == list(range(1, 41))


def test_synthetic_inbox_matches_file_by_file(tmp_path):
    from claimback.synth import generate

    generate(tmp_path / "inbox", claims=300, seed=5, months=1, as_of=date(2026, 10, 1))
    files = sorted(p for p in (tmp_path / "inbox").rglob("*") if p.is_file())
    assert files
    batch = assert_batch_matches(files, [str(p) for p in files])
    assert sum(pf.tables["submitted_claims"].height for pf in batch) >= 300


@needs_corpus
@pytest.mark.corpus
def test_whole_corpus_matches_file_by_file():
    from tests.x12.test_corpus import parsed  # cached read_x12 results of the corpus tests

    files = corpus_files("835") + corpus_files("837")
    batch = read_x12_many(files, [p.name for p in files])
    for path, got in zip(files, batch):
        assert_same(got, parsed(path.name))
    assert sum(pf.tables["remit_claims"].height for pf in batch) > 1000


def test_names_default_and_never_drop_a_file():
    batch = read_x12_many([remit_file(), claims_file(), b"garbage"], ["named"])
    assert [pf.source_file for pf in batch] == ["named", "<bytes>", "<bytes>"]
    assert [pf.file_type for pf in batch] == ["835", "837", "unknown"]
    assert read_x12_many([]) == []


def test_small_calls_are_one_batch_and_large_ones_split_evenly(monkeypatch):
    from claimback.x12 import reader

    monkeypatch.setattr(reader, "WORKERS", 2)
    assert reader._batch_size(40, 900_000) == 40  # one plan: cheaper than two below ~1.5 MB
    assert reader._batch_size(40, 3_000_000) == 20  # both workers busy
    assert reader._batch_size(250, 9_000_000) == 125  # 125 + 125, not 200 + 50
    assert reader._batch_size(1, 50_000_000) == 1
    assert reader._size_of(b"abc") == 3 and reader._size_of("/no/such/file") == 0
