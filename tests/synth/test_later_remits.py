"""A drop's later remittances: the 835s its payers send after its as-of date (`later_dir`).

A history grown drop by drop (bench/nightly_bench.py) delivers them with the nights after; without
them every claim still in the payer's hands at a drop's end would never be answered. Read with
the independent tokenizer of test_synth, not claimback's reader.
"""
from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from claimback.synth import generate
from tests.synth.test_synth import kind_of, remits, tokenize, transactions

AS_OF = date(2026, 2, 28)
CLAIMS = 1_500
LATEST_CHECK_DAYS = 25 + 35 + 7  # the last service day, the slowest payer's lag, its next check run


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    """One one-month drop made twice, without and with its later remittances."""
    root = tmp_path_factory.mktemp("later")
    plain = generate(root / "plain", CLAIMS, seed=5, as_of=AS_OF, months=1, claims_before=3_000)
    summary = generate(root / "inbox", CLAIMS, seed=5, as_of=AS_OF, months=1, claims_before=3_000,
                       later_dir=root / "later")
    return root, plain, summary


def _parsed(folder: Path, skip: list[str] = ()) -> dict[str, list[list[str]]]:
    return {str(p.relative_to(folder)): tokenize(p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".csv" and p.name not in skip}


def _claims(parsed: dict[str, list[list[str]]], kind: str) -> list[tuple[str, ...]]:
    """(payer, practice NPI, patient control number) of every original 837 claim or 835 CLP: the
    practice too, as two practices number their claims alike."""
    out = []
    for segments in parsed.values():
        if kind_of(segments) != kind:
            continue
        for tx in transactions(segments):
            payer = npi = None
            for seg in tx:
                if kind == "837" and seg[0] == "NM1" and seg[1] == "85":
                    npi = seg[-1]
                elif kind == "837" and seg[0] == "NM1" and seg[1] == "PR":
                    payer = seg[-1]
                elif kind == "835" and seg[0] == "N1" and seg[1] in ("PR", "PE") and len(seg) > 4:
                    payer, npi = (seg[4], npi) if seg[1] == "PR" else (payer, seg[4])
                elif kind == "835" and seg[0] == "REF" and seg[1] == "2U":
                    payer = seg[2]
                elif seg[0] == "CLM" and seg[5].replace(">", ":").split(":")[2] == "1" or seg[0] == "CLP":
                    out.append((payer, npi, seg[1]))
    return out


def test_the_inbox_is_the_same_with_or_without_them(drop):
    root, plain, summary = drop
    files = lambda folder: {p.name: p.read_bytes() for p in sorted(folder.iterdir())}  # noqa: E731
    assert files(root / "inbox") == files(root / "plain")
    assert summary.files_835 == plain.files_835 and summary.remit_claims == plain.remit_claims
    assert plain.later_remit_claims == 0 and summary.later_remit_claims > 0


def test_they_answer_each_claim_left_in_the_payers_hands_once_after_the_as_of_date(drop):
    root, _, summary = drop
    skip = summary.resent_files + summary.corrected_remit_files + summary.front_door_files
    inbox = _parsed(root / "inbox", skip)
    later = _parsed(root / "later")
    sent, answered = set(_claims(inbox, "837")), set(_claims(inbox, "835"))
    late = remits(later)
    assert all(kind_of(segments) == "835" for segments in later.values())
    assert len(late) == summary.later_remit_claims
    # a first adjudication, once per claim, of a claim sent and not answered by the as-of date
    assert all(c["status"] != "22" and c["f8"] is None for c in late)
    keys = _claims(later, "835")
    assert len(set(keys)) == len(keys)
    assert set(keys) <= sent - answered
    # its payer claim number is no other claim's
    assert not {c["icn"] for c in late} & {c["icn"] for c in remits(inbox)}
    # each file in the folder of its check date, after the as-of date
    for c in late:
        day = date.fromisoformat(c["file"].split("/")[0])
        assert c["date"] == day.strftime("%Y%m%d")
        assert AS_OF < day <= AS_OF + timedelta(days=LATEST_CHECK_DAYS)
    # what stays unanswered is what the generator plants as silent (and the front door rejects)
    unanswered = sent - answered - set(keys)
    assert len(unanswered) <= summary.silent_claims + summary.front_door_rejections
    assert len(late) > CLAIMS // 5  # a one-month drop leaves many claims in the payers' hands


def test_claimback_reads_them_whole(drop):
    from claimback.x12 import read_x12_many

    root, _, summary = drop
    files = sorted(p for p in (root / "later").rglob("*") if p.is_file())
    parsed = read_x12_many([str(f) for f in files])
    assert [p.quarantined for p in parsed] == [0] * len(files)
    assert {p.file_type for p in parsed} == {"835"}
    assert sum(p.tables["remit_claims"].height for p in parsed) == summary.later_remit_claims


def test_a_history_delivers_them_on_the_nights_after_their_drop(tmp_path):
    """bench/nightly_bench.py: night N takes the check dates after night N-1's as-of date and up to
    its own, from its drop's and every earlier drop's later folder; none twice, none early."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from nightly_bench import link_later_remits

    drops = []
    for n, (end, night, days) in enumerate([("2026-01-28", "2026-01-30", ["2026-01-29", "2026-02-03", "2026-03-10"]),
                                             ("2026-02-28", "2026-03-02", ["2026-03-01", "2026-03-04"])], start=1):
        folder = tmp_path / f"{n:02d}"
        folder.mkdir()
        for day in days:
            (tmp_path / f"{n:02d}-later" / day).mkdir(parents=True)
            (tmp_path / f"{n:02d}-later" / day / f"era-{day}.835").write_text(day)
        drops.append((folder, date.fromisoformat(night)))
    delivered = {}
    for night in (1, 2):
        target = tmp_path / "inbox" / f"night-{night}"
        target.mkdir(parents=True)
        count = link_later_remits(drops, night, target)
        delivered[night] = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        assert count == len(delivered[night])
    assert delivered == {
        1: ["later-01/2026-01-29/era-2026-01-29.835"],
        2: ["later-01/2026-02-03/era-2026-02-03.835", "later-02/2026-03-01/era-2026-03-01.835"],
    }
