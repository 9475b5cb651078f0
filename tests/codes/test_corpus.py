"""Every CARC and RARC the real sample remits use is in our lists, with a label and a category."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from claimback import codes
from tests.conftest import corpus_files, needs_corpus

CARC_SHAPE = re.compile(r"^(?:[0-9]{1,3}|[A-Z][0-9]{1,2})$")
RARC_SHAPE = re.compile(r"^(?:MA|M|N)[0-9]{1,3}$")
# Element positions holding remark codes: LQ02 (when LQ01 = HE), MIA05 and MIA20-23, MOA03-07.
REMARK_POSITIONS = {"MIA": (5, 20, 21, 22, 23), "MOA": (3, 4, 5, 6, 7)}


def _segments(text: str):
    """Segments of every interchange, split with the separators its ISA declares."""
    for start in (m.start() for m in re.finditer("ISA", text)):
        element = text[start + 3 : start + 4]
        isa = text[start:].split(element, 16)
        if len(isa) < 17 or len(isa[16]) < 2:
            continue
        terminator = isa[16][1]
        end = text.find("IEA" + element, start)
        body = text[start : end if end > 0 else len(text)]
        for segment in body.split(terminator):
            yield [field.strip() for field in segment.strip().split(element)]


def corpus_codes() -> tuple[Counter, Counter]:
    carcs, rarcs = Counter(), Counter()
    for path in corpus_files("835"):
        text = Path(path).read_bytes().decode("latin-1")
        for fields in _segments(text):
            tag = fields[0]
            if tag == "CAS":
                carcs.update(fields[i] for i in range(2, len(fields), 3) if CARC_SHAPE.match(fields[i]))
            elif tag == "LQ" and len(fields) > 2 and fields[1] == "HE":
                rarcs.update(code for code in fields[2:3] if RARC_SHAPE.match(code))
            elif tag in REMARK_POSITIONS:
                rarcs.update(
                    fields[i] for i in REMARK_POSITIONS[tag] if i < len(fields) and RARC_SHAPE.match(fields[i])
                )
    return carcs, rarcs


@pytest.fixture(scope="module")
def found():
    return corpus_codes()


@needs_corpus
def test_corpus_has_codes_to_check(found):
    carcs, rarcs = found
    assert len(carcs) >= 20 and len(rarcs) >= 5  # the scan itself works


@needs_corpus
def test_every_corpus_carc_has_a_label_and_category(found):
    carcs, _ = found
    listed = codes.carc().filter(pl.col("code").is_in(list(carcs)))
    assert set(listed["code"]) == set(carcs), f"unlisted CARCs: {sorted(set(carcs) - set(listed['code']))}"
    assert listed["label"].null_count() == 0
    assert "unknown" not in set(listed["category"])


@needs_corpus
def test_every_corpus_rarc_has_a_label(found):
    _, rarcs = found
    listed = codes.rarc().filter(pl.col("code").is_in(list(rarcs)))
    assert set(listed["code"]) == set(rarcs), f"unlisted RARCs: {sorted(set(rarcs) - set(listed['code']))}"
    assert listed["label"].null_count() == 0


@needs_corpus
def test_classify_knows_every_corpus_adjustment(found):
    carcs, _ = found
    frame = pl.DataFrame({"group_code": ["CO"] * len(carcs), "reason_code": list(carcs)})
    assert codes.classify(frame)["code_known"].all()
