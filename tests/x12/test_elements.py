"""fields.ELEMENTS_READ splits each segment id only as far as the extractors read it. Reading
with every segment split fully must give the same tables, so an extractor that starts reading
a later element than the table allows cannot silently get nulls."""
from __future__ import annotations

import pytest

from claimback.x12 import fields, read_x12_many
from tests.conftest import corpus_files, needs_corpus
from tests.x12.synthetic import claims_file, remit_file
from tests.x12.test_many import assert_same


def _read_both(monkeypatch, sources, names):
    trimmed = read_x12_many(sources, names)
    monkeypatch.setattr(fields, "ELEMENTS_READ", {})  # every segment id split to fields.ELEMENTS
    full = read_x12_many(sources, names)
    return trimmed, full


def test_trimmed_split_reads_synthetic_files_like_a_full_split(monkeypatch):
    sources = [remit_file(), claims_file(), remit_file(control="000000009") + claims_file()]
    names = ["remit.835", "claims.837", "both.x12"]
    for trimmed, full in zip(*_read_both(monkeypatch, sources, names)):
        assert trimmed.transactions > 0
        assert_same(trimmed, full)


@needs_corpus
@pytest.mark.parametrize("kind", ["835", "837"])
def test_trimmed_split_reads_the_corpus_like_a_full_split(monkeypatch, kind):
    files = corpus_files(kind)
    for trimmed, full in zip(*_read_both(monkeypatch, files, [f.name for f in files])):
        assert_same(trimmed, full)
