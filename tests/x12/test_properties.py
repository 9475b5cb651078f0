"""Properties: formatting never changes what is read, and no input makes the reader raise."""
from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimback import schema
from claimback.x12 import read_x12
from tests.conftest import SAMPLES
from tests.x12.synthetic import Layout, remit_file, render

PROVENANCE = ["source_file", "file_sha256"]
FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Delimiter sets real senders use (element, component, repetition, terminator).
DELIMITERS = [("*", ":", "^", "~"), ("|", "^", "{", "~"), ("*", ">", "^", "~"), ("~", "^", "{", "_"),
              ("+", ":", "`", "'"), ("*", ":", "^", "\n"), ("|", ">", "^", "\n")]

layouts = st.builds(
    lambda d, after, before, indent, short: Layout(
        element=d[0], component=d[1], repetition=d[2], terminator=d[3],
        after="" if d[3] == "\n" else after, before="" if d[3] == "\n" else before,
        indent=indent, short_isa=short),
    st.sampled_from(DELIMITERS), st.sampled_from(["", "\n", "\r\n"]), st.sampled_from(["", "\n"]),
    st.booleans(), st.booleans(),
)


def content(pf) -> dict[str, pl.DataFrame]:
    """Every parsed table minus the columns that name the file's bytes (and the claim keys built from them)."""
    out = {}
    for name, frame in pf.tables.items():
        if name == "quarantine":
            continue
        frame = frame.drop(PROVENANCE)
        if "claim_key" in frame.columns:
            frame = frame.with_columns(pl.col("claim_key").str.split("-").list.last())
        if "location" in frame.columns:  # byte offsets move with the formatting
            frame = frame.with_columns(pl.col("location").str.replace(r", byte \d+", ""))
        out[name] = frame
    return out


def assert_same(a, b) -> None:
    ca, cb = content(a), content(b)
    for name in ca:
        assert ca[name].equals(cb[name]), name


CANONICAL = read_x12(remit_file())


@FAST
@given(layouts)
def test_reformatting_a_synthetic_remit_changes_nothing(layout):
    pf = read_x12(remit_file(layout))
    assert pf.quarantined == 0
    assert_same(pf, CANONICAL)


def _real_segments(name: str) -> list[str] | None:
    path = SAMPLES / "835" / name
    if not path.is_file():
        return None
    pf_text = path.read_bytes().decode("utf-8-sig")
    from claimback.x12.tokenize import split_runs

    run = next(split_runs(pf_text))
    d = run.delimiters
    segs = [s.strip(" \r\n\t") for s in run.text.split(d.segment)]
    segs = [s for s in segs if s]
    canon = []
    for s in segs:  # back to canonical * : ^ so `render` can write them in another layout
        fields = s.split(d.element)
        if fields[0] != "ISA":
            fields = [f.replace(d.component, ":") for f in fields]
        canon.append("*".join(fields))
    return canon


REAL = "kputnam_stupidedi__spec_fixtures_005010_X221A1_HP835_Health_Care_Claim_Payment_Advice_pass_era-sample.edi"


@FAST
@given(layouts)
def test_reformatting_a_real_remit_changes_nothing(layout):
    segs = _real_segments(REAL)
    if segs is None:
        return  # corpus absent: the synthetic property above still runs
    assert_same(read_x12(render(segs, layout)), read_x12(render(segs, Layout())))


def _assert_contract(pf) -> None:
    assert set(pf.tables) == set(schema.PARSED_TABLES)
    for name, frame in pf.tables.items():
        assert frame.schema == pl.Schema(schema.TABLES[name])
    assert pf.file_type in ("835", "837", "mixed", "unknown")


def mutated(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, value in edits:
        if not buf:
            break
        at = pos % len(buf)
        if kind == 0:
            buf[at] = value
        elif kind == 1:
            del buf[at:at + 1 + value % 40]
        else:
            buf[at:at] = bytes([value]) * (1 + value % 3)
    return bytes(buf)


edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_byte_mutations_of_a_synthetic_file_never_raise(edit_list):
    _assert_contract(read_x12(mutated(remit_file(Layout(after="\n")), edit_list)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["LinuxForHealth_x12__demo-file_demo.835", REAL,
                        "slott56_TigerShark__tests_835-example.txt"]), edits)
def test_byte_mutations_of_real_files_never_raise(name, edit_list):
    path = SAMPLES / "835" / name
    if not path.is_file():
        return
    _assert_contract(read_x12(mutated(path.read_bytes(), edit_list)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    pf = read_x12(data)
    _assert_contract(pf)
    assert pf.transactions == 0 or b"ST" in data
