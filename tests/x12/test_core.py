"""The compiled reader core (claimback/x12/_core.c) gives exactly the reference path's tables.

Every table, every column, every finding and quarantine row is compared, frame-equal, between
CLAIMBACK_READER=reference (the Polars path) and the core: on the 183 real corpus files (read
as one batch and each alone), on a `claimback synth` inbox, on the hand-written sets of
tests/x12/synthetic.py in every layout a sender uses (other separators, line breaks before or
after the terminator, newline as the terminator, indentation, short ISAs, a 4010 ISA) and on a
file read in many small pieces (so the counts carried between pieces are exercised).
"""
from __future__ import annotations

import warnings

import pytest
from polars.testing import assert_frame_equal

from claimback import schema
from claimback.x12 import ParsedFile, core, read_x12, read_x12_many, reader
from tests.conftest import corpus_files, needs_corpus
from tests.x12.synthetic import REMIT_1, Layout, claims_file, interchange, remit_file, render

needs_core = pytest.mark.skipif(core._core is None, reason="the compiled reader core is not built "
                                "(pip install -e . builds claimback/x12/_core.c)")

LAYOUTS = [
    Layout(),
    Layout(after="\r\n"),
    Layout(after="\n", indent=True),
    Layout(element="|", component=">", terminator="\n", after="\r\n"),
    Layout(element="|", component="*", repetition="}", terminator="'"),
    Layout(before="\n", after="\n"),
    Layout(short_isa=True, after="\n"),
    Layout(element="^", component="\\", repetition="{", terminator="~"),
]


def assert_same(expected: ParsedFile, got: ParsedFile) -> None:
    for table in schema.PARSED_TABLES:
        # detected_at is the clock at read time, the one value two reads cannot share
        left, right = (pf.tables[table].drop("detected_at", strict=False) for pf in (expected, got))
        assert_frame_equal(left, right, check_exact=True), (expected.source_file, table)
    for attr in ("file_sha256", "file_type", "transactions", "quarantined", "source_file", "bytes", "encoding",
                 "transaction_types", "rows"):
        assert getattr(expected, attr) == getattr(got, attr), (expected.source_file, attr)


class Reads:
    """The pieces the core read, and those it declined (read by the reference path although the
    core was asked): a test of equality means nothing if the core did not read."""

    def __init__(self):
        self.read: list = []
        self.declined: list = []


@pytest.fixture
def core_reads(monkeypatch, caplog) -> Reads:
    """Also fails the test when the reader fell back to reading files or sets alone: the tables
    come out the same, so only its warning tells an internal error from a slow read."""
    reads = Reads()
    real = core.piece

    def spy(runs, before=None):
        got = real(runs, before)
        if core.enabled():
            (reads.read if got is not None else reads.declined).append(runs)
        return got

    monkeypatch.setattr(core, "piece", spy)
    with caplog.at_level("WARNING", logger=reader.log.name):
        yield reads
    fallbacks = [r.getMessage() for r in caplog.records if r.name == reader.log.name]
    assert not fallbacks, fallbacks


def both(monkeypatch, read, *args, **kw) -> tuple:
    monkeypatch.setenv("CLAIMBACK_READER", "reference")
    expected = read(*args, **kw)
    monkeypatch.setenv("CLAIMBACK_READER", "core")
    return expected, read(*args, **kw)


def assert_same_many(monkeypatch, sources: list, names: list[str]) -> None:
    expected, got = both(monkeypatch, read_x12_many, sources, names)
    assert len(expected) == len(got) == len(sources)
    for e, g in zip(expected, got):
        assert_same(e, g)


@needs_core
@needs_corpus
def test_corpus_as_one_batch(monkeypatch, core_reads):
    files = corpus_files("835") + corpus_files("837")
    assert len(files) == 183
    assert_same_many(monkeypatch, files, [str(p) for p in files])
    # nine samples are not ASCII (latin-1, UTF-8 and UTF-16 text): those whose X12 text is not
    # (eight; one has its only non-ASCII character before the ISA) are read as a batch of their own
    # by the reference path, never offered to the core; the batch of the others is the core's
    assert core_reads.read and not core_reads.declined


@needs_core
@needs_corpus
def test_corpus_each_file_alone(monkeypatch, core_reads):
    files = corpus_files("835") + corpus_files("837")[::7]
    for path in files:
        assert_same(*both(monkeypatch, read_x12, path, str(path)))
    assert core_reads.read and len(core_reads.declined) <= 2  # the latin-1 835, at most one of the 837s taken


@needs_core
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: repr(layout)[7:60])
def test_hand_written_sets_in_every_layout(monkeypatch, layout, core_reads):
    truncated = remit_file(layout)[:-40]
    four_ten = render(interchange([("835", REMIT_1)], version="004010X091A1", layout=layout), layout)
    sources = [remit_file(layout), claims_file(layout), truncated, four_ten,
               remit_file(layout, control="000000009") + claims_file(layout)]
    names = [f"f{i}" for i in range(len(sources))]
    assert_same_many(monkeypatch, sources, names)
    for source, name in zip(sources, names):
        assert_same(*both(monkeypatch, read_x12, source, name))
    assert core_reads.read and not core_reads.declined


@needs_core
def test_synthetic_inbox(monkeypatch, tmp_path, core_reads):
    from claimback.synth import generate

    generate(tmp_path / "inbox", 400, seed=11)
    files = sorted(p for p in (tmp_path / "inbox").rglob("*") if p.is_file())
    assert len(files) > 50
    assert_same_many(monkeypatch, files, [str(p) for p in files])
    assert core_reads.read and not core_reads.declined


@needs_core
def test_a_file_read_in_many_pieces(monkeypatch, core_reads):
    # forty interchanges, pieces of ~2 interchanges: segment, ST, CLP and CLM counts cross pieces
    data = b"".join(remit_file(Layout(after="\r\n"), control=f"{i:09d}") + claims_file() for i in range(1, 21))
    monkeypatch.setattr(reader, "PIECE_CHARS", 3000)
    expected, got = both(monkeypatch, read_x12, data, "pieces.edi")
    assert got.transactions == 80
    assert_same(expected, got)
    assert core_reads.read and not core_reads.declined


@needs_core
def test_text_that_is_not_ascii_is_read_by_the_reference_path(monkeypatch, core_reads):
    # a payer name in latin-1: character offsets differ from byte offsets, so the core declines it
    data = remit_file().replace(b"ACME HEALTH PLAN", "ACMÉ HEALTH PLAN".encode("latin-1"))
    expected, got = both(monkeypatch, read_x12, data, "latin1.835")
    assert got.tables["remit_payments"]["payer_name"][0] == "ACMÉ HEALTH PLAN"
    assert_same(expected, got)
    assert len(core_reads.declined) == 1


def test_without_the_core_the_reader_warns_once_and_reads_the_same(monkeypatch):
    monkeypatch.delenv("CLAIMBACK_READER", raising=False)
    monkeypatch.setattr(core, "_core", None)
    monkeypatch.setattr(core, "_warned", False)
    with pytest.warns(RuntimeWarning, match="compiled X12 reader core is not built"):
        first = read_x12(remit_file(), "a.835")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second read says nothing
        second = read_x12(remit_file(), "a.835")
    assert first.transactions == second.transactions == 2
    monkeypatch.setenv("CLAIMBACK_READER", "reference")
    assert_same(read_x12(remit_file(), "a.835"), second)


def test_reference_can_be_forced(monkeypatch):
    monkeypatch.setenv("CLAIMBACK_READER", "reference")
    assert not core.enabled()
    assert core.piece([]) is None


def test_a_build_older_than_its_source_is_not_used(monkeypatch):
    # a checkout that moved on without `make core` keeps the old _core.so: its interface (ABI) is
    # not the one core.py calls, so the reference path reads, after the warning, instead of the
    # old build failing inside every table and each set being retried alone
    import importlib
    import sys
    import types

    import claimback.x12

    stale = types.ModuleType("claimback.x12._core")  # as built before the ABI constant existed
    stale.Scan = object
    monkeypatch.setitem(sys.modules, "claimback.x12._core", stale)
    monkeypatch.setattr(claimback.x12, "_core", stale, raising=False)
    try:
        importlib.reload(core)
        assert core._core is None
        monkeypatch.setattr(core, "_warned", False)
        with pytest.warns(RuntimeWarning, match="built from older source"):
            assert not core.enabled()
    finally:
        monkeypatch.undo()
        importlib.reload(core)
    assert core._core is not None or not core_built_here()


def core_built_here() -> bool:
    import importlib.util

    return importlib.util.find_spec("claimback.x12._core") is not None


def test_an_internal_error_building_a_piece_is_said_not_only_survived(monkeypatch, caplog):
    """A piece whose tables fail to build together is read set by set: the same tables, slower.
    The reader says so (the exception's type, never its text, which may quote a value), so an
    internal error cannot pass for a slow night."""
    monkeypatch.setenv("CLAIMBACK_READER", "reference")
    expected = read_x12(remit_file(), "remit.835")
    real, calls = reader._build, []

    def first_call_fails(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a value of the file")
        return real(*args, **kw)

    monkeypatch.setattr(reader, "_build", first_call_fails)
    with caplog.at_level("WARNING", logger=reader.log.name):
        got = read_x12(remit_file(), "remit.835")
    assert_same(expected, got)
    said = [r.getMessage() for r in caplog.records if r.name == reader.log.name]
    assert said == ["reader: the tables of 2 transaction sets could not be built together (RuntimeError); "
                    "each set is read alone"]


@pytest.mark.parametrize("reader_path", [pytest.param("core", marks=needs_core), "reference"])
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: repr(layout)[7:60])
def test_a_sets_hash_is_the_sha256_of_its_canonical_body(layout, reader_path, monkeypatch):
    # The content hash (structure.transaction_hashes) is the sha256 of the set's segments between
    # ST and SE, written with * : ^ and joined by '~' — whatever separators, line breaks and
    # control numbers the sender used — cut to 32 hex digits. REMIT_1 is written in * : ^ already,
    # composites included (SVC01 HC:99213): '|' elements with '*' composites are each written once.
    import hashlib

    if reader_path == "reference":
        monkeypatch.setenv("CLAIMBACK_READER", "reference")
    parsed = read_x12(remit_file(layout), "f")
    body = "~".join(REMIT_1).encode()
    assert parsed.tables["remit_payments"]["transaction_hash"][0] == hashlib.sha256(body).hexdigest()[:32]


@needs_core
def test_the_cores_sha256_is_hashlibs_with_and_without_openssl():
    # The core hashes with OpenSSL's SHA256 where the process has libcrypto and with its own
    # FIPS 180-4 code where it does not: both against hashlib on every length around the 64-byte
    # block and its padding (55/56 bytes), and some long inputs.
    import hashlib
    import random

    rng = random.Random(20)
    for n in [*range(0, 200), 1000, 4096, 65_537]:
        data = bytes(rng.randrange(256) for _ in range(n))
        want = hashlib.sha256(data).hexdigest()[:32]
        assert core._core.sha256_32(data) == want, n
        assert core._core.sha256_32(data, True) == want, n


def test_a_table_is_sorted_into_file_order_only_when_its_keys_are_not_in_order():
    # reader._collect skips the sort (a gather of every column) when a stable sort would move nothing
    import polars as pl

    in_order = pl.DataFrame({"seg_index": [3, 3, 7, 9], "triplet": [0, 1, 0, 0]})
    assert reader._in_order(in_order, ["seg_index", "triplet"]) and reader._in_order(in_order, ["seg_index"])
    tie_broken_wrong = pl.DataFrame({"seg_index": [3, 3, 7], "triplet": [1, 0, 0]})
    assert not reader._in_order(tie_broken_wrong, ["seg_index", "triplet"])
    assert reader._in_order(tie_broken_wrong, ["seg_index"])  # equal keys: a stable sort keeps them as they are
    assert not reader._in_order(pl.DataFrame({"seg_index": [9, 3]}), ["seg_index"])
    assert not reader._in_order(pl.DataFrame({"seg_index": [1, None]}), ["seg_index"])  # nulls: sorted
    assert not reader._in_order(pl.DataFrame({"txn": [1, 2], "rule": ["b", "a"]}), ["txn", "rule"])  # text keys
    got = reader._collect({"remit_adjustments": tie_broken_wrong.lazy()})["remit_adjustments"]
    assert got.rows() == [(3, 0), (3, 1), (7, 0)]
