"""Synthetic inbox generator (`claimback synth`): realistic 837s, 835s and a reconsideration log.

`generate(out_dir, claims)` writes what a provider-relations team's inbox holds after `months`
months of billing six payers: weekly 837P/I/D batches, the payers' 835 check runs answering
them (with reversals and re-adjudications after corrected claims and reconsiderations), and a
hand-kept `reconsiderations.csv`. Denials follow industry proportions; planted payer trends
(10+ claims, one payer, same codes), a look-alike below the threshold and one rising signature
give the trend finder known answers. Two remittances arrive twice (listed in the summary) so
ingest's de-duplication is exercised, and one check is sent wrong first and corrected later the
same way real payers do (a corrected remittance, also listed). Two practices of one
organisation number their claims ENC00000001... each, so patient control numbers collide, and
a few paid claims are reversed with nothing after them (recoupments), and a few paid claims
have an 835 but no 837 (billed by another system, or a patient control number the payer keyed
wrong): lonely payments; a few claims are never answered at all (silent claims: an 837, no 835)
and a few Level I requests are never decided (follow-ups); one payer underpays one procedure
under a wrong fee schedule (`fee_schedule.csv` holds the contract); one more 837 batch is
answered by a 999 rejecting one of its sets and a 277CA rejecting a few claims (front-door
rejections, claimback.synth.acks). The same seed and as_of always give
the same bytes.
The ground truth goes to `truth_dir` only when asked, never into the inbox.

Modules: pools (payers, providers, people), denials (the mix and the planted trends), book
(claims drawn column-wise), story (what followed each denial), render (X12 text of a claim),
files (envelopes, delimiters, extensions), inbox (837/835 files), truth (log and truth).
Claims are generated in blocks of 50,000 so a million-claim inbox needs bounded memory.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from claimback.synth.acks import write_front_door
from claimback.synth.book import build_book
from claimback.synth.denials import PLANTED_TRENDS
from claimback.synth.evidence import plant_evidence_cases
from claimback.synth.inbox import Tally, write_835s, write_837s
from claimback.synth.pools import PROVIDERS
from claimback.synth.render import Prepared
from claimback.synth.story import REVERSAL, later_remittances, tell
from claimback.synth.truth import claim_truth, log_rows, trend_truth, write_log
from claimback.synth.underpaid import fee_schedule_csv, plant_wrong_fee_schedule

BLOCK_CLAIMS = 50_000
MIN_CLAIMS_FOR_TRENDS = 800  # below this the planted trends would swamp the denial mix
LOG_NAME = "reconsiderations.csv"
FEE_SCHEDULE_NAME = "fee_schedule.csv"


@dataclass
class SynthSummary:
    claims: int  # original claims (CLM with frequency 1)
    corrected_claims: int  # frequency-7 replacements
    files_837: int
    files_835: int
    remit_claims: int  # CLP segments, reversals included
    reversals: int  # CLP02 = 22
    recouped_claims: int  # paid claims reversed with nothing after them (a recoupment)
    resent_files: list[str]  # 835s delivered twice (not counted in files_835 / remit_claims)
    resent_remit_claims: int  # CLPs inside those repeated deliveries
    corrected_remit_files: list[str]  # a check's first, wrong send, corrected by a later one
    corrected_remit_claims: int  # CLPs inside those wrong sends (not in remit_claims)
    adjudicated_claims: int  # claims with at least one 835 by as_of
    denied_claims: int  # first adjudication denied all or part
    planted_trends: int
    log_rows: int
    as_of: str
    bytes_written: int
    # lonely payments: paid claims whose 835 answers no 837 of the inbox
    sent_elsewhere: int = 0  # billed by another system: no 837 in the inbox
    pcn_keyed_wrong: int = 0  # the 835's CLP01 is mistyped (claimback.synth.story.mistyped)
    silent_claims: int = 0  # 837s the payer never answered (no 835 at all)
    underpaid_claims: int = 0  # first remitted under a wrong fee schedule (claimback.synth.underpaid)
    undecided_requests: int = 0  # Level I requests the payer never decided (pending long past due)
    # first remittances sent after as_of, written apart when asked (`later_dir`): not in the counts above
    later_remit_claims: int = 0
    later_remit_files: int = 0
    # front-door acknowledgments (claimback.synth.acks): an 837 batch, its 999 and its 277CA
    front_door_files: list[str] = field(default_factory=list)
    front_door_rejections: int = 0  # claims the 999 or the 277CA rejected (truth: front_door.parquet)
    styles: dict[str, int] = field(default_factory=dict)
    extensions: dict[str, int] = field(default_factory=dict)

    @property
    def lonely_payments(self) -> int:
        return self.sent_elsewhere + self.pcn_keyed_wrong

    @property
    def denial_rate(self) -> float:
        return self.denied_claims / self.adjudicated_claims if self.adjudicated_claims else 0.0


def default_truth_dir(out_dir: Path) -> Path:
    """The conventional place for the truth of an inbox: a sibling `<inbox>-truth` folder."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}-truth"


def generate(out_dir: Path | str, claims: int, seed: int = 7, as_of: date | None = None,
             months: int = 9, claims_per_file: int = 1_000,
             truth_dir: Path | str | None = None, claims_before: int = 0,
             later_dir: Path | str | None = None) -> SynthSummary:
    """Write a synthetic inbox of `claims` claims into `out_dir` (new or empty) and return
    what was written. `as_of` is the last possible remit date (default today); `truth_dir`,
    when given, receives claims.parquet, trends.parquet and summary.json.

    `claims_before`: the claims earlier drops of the same history hold. The numbering (claim
    serials, each practice's patient control numbers, payer claim numbers, member ids) continues
    after them, so drop after drop grows one organisation's history, as a practice's account
    numbers and a payer's claim numbers do not start again each month. Two inboxes made with 0
    share those numbers whatever their seeds: right for one inbox, wrong for drops of one history.

    `later_dir`: also write the first remittances the payers send after `as_of` for the claims
    not answered by then, under `later_dir/YYYY-MM-DD/` by check date. A history grown drop by
    drop delivers them with the nights after (bench/nightly_bench.py); without them every claim
    still in the payer's hands at a drop's end would stay unanswered for ever (a one-month drop:
    about a third of its claims). The inbox itself is the same with or without them."""
    if claims < 1:
        raise ValueError("claims must be at least 1")
    if claims_before < 0:
        raise ValueError("claims_before cannot be negative")
    if months < 1:
        raise ValueError("months must be at least 1")
    if claims_per_file < 1:
        raise ValueError("claims_per_file must be at least 1")
    out_dir = Path(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        # Files of an earlier run would mix with this one's and break its determinism.
        raise FileExistsError(f"refusing to synthesise into a non-empty folder: {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of = as_of or date.today()
    as_of_day = (as_of - date(1970, 1, 1)).days
    plant = claims >= MIN_CLAIMS_FOR_TRENDS
    n_blocks = -(-claims // BLOCK_CLAIMS)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)
    tally = Tally()
    later_tally = Tally()  # names and control numbers of their own: the inbox's files stay as they are
    later_dir = None if later_dir is None else Path(later_dir)
    rows: list[tuple] = []
    truths: list[pl.DataFrame] = []
    corrected = adjudicated = denied = reversals = recouped = silent = undecided = underpaid = later_claims = 0
    # each practice's claim numbering runs on across blocks, and after the drops before this one
    # (no practice numbered more claims than the history holds)
    pcn_counters: dict[int, int] = dict.fromkeys(range(len(PROVIDERS)), claims_before)
    for b in range(n_blocks):
        n = min(BLOCK_CLAIMS, claims - b * BLOCK_CLAIMS)
        book_rng, story_rng, file_rng = (np.random.default_rng(s) for s in seeds[b].spawn(3))
        book = build_book(book_rng, n, claims_before + b * BLOCK_CLAIMS, as_of_day, months, plant and b == 0,
                          pcn_counters)
        if plant:  # its own stream, after the book's draws: no other claim's outcome moves
            plant_evidence_cases(book, random.Random(f"evidence:{seed}:{b}"), as_of_day)
            underpaid += len(plant_wrong_fee_schedule(book, as_of_day))
        story = tell(book, story_rng, as_of_day)
        prepared = Prepared(book)
        write_837s(book, prepared, story, out_dir, claims_per_file, file_rng, tally)
        write_835s(book, prepared, story, out_dir, claims_per_file, file_rng, tally)
        if later_dir is not None:
            later = later_remittances(book, story)
            write_835s(book, prepared, later, later_dir, claims_per_file, np.random.default_rng(seeds[b].spawn(1)[0]),
                       later_tally, by_check_date=True)
            later_claims += len(later.events)
        rows += log_rows(book, story)
        corrected += len(story.corrected)
        reversals += sum(1 for e in story.events if e.role == REVERSAL)
        recouped += len(story.recouped)
        silent += len(story.silent)
        undecided += len(story.undecided)
        first = [d >= 0 for d in book.first_remit_day]
        adjudicated += sum(first)
        denied += sum(1 for o, a in zip(book.outcome, first) if a and o >= 0)
        if truth_dir is not None:
            truths.append(claim_truth(book, story))
        del book, story, prepared  # free this block before the next one is drawn
    n_log = write_log(out_dir / LOG_NAME, rows)
    if plant:  # the contract the wrong fee schedule breaks
        (out_dir / FEE_SCHEDULE_NAME).write_text(fee_schedule_csv(as_of.year))
    front_door_files, front_door = write_front_door(out_dir, as_of_day, tally.controls) if plant else ([], None)
    tally.bytes_written += sum((out_dir / name).stat().st_size for name in front_door_files)
    summary = SynthSummary(
        claims=claims, corrected_claims=corrected, files_837=tally.files_837,
        files_835=tally.files_835, remit_claims=tally.claims_835, reversals=reversals, recouped_claims=recouped,
        resent_files=tally.resent_files, resent_remit_claims=tally.resent_remit_claims,
        corrected_remit_files=tally.corrected_remit_files, corrected_remit_claims=tally.corrected_remit_claims,
        adjudicated_claims=adjudicated,
        denied_claims=denied, planted_trends=len(PLANTED_TRENDS) if plant else 0, log_rows=n_log,
        as_of=as_of.isoformat(), bytes_written=tally.bytes_written, 
        sent_elsewhere=tally.sent_elsewhere, pcn_keyed_wrong=tally.pcn_keyed_wrong,
        silent_claims=silent, undecided_requests=undecided, underpaid_claims=underpaid,
        later_remit_claims=later_claims, later_remit_files=later_tally.files_835,
        front_door_files=front_door_files, front_door_rejections=0 if front_door is None else front_door.height,
        styles=dict(sorted(tally.styles.items())), extensions=dict(sorted(tally.extensions.items())))
    if truth_dir is not None:
        _write_truth(Path(truth_dir), truths, plant, summary)
        if front_door is not None:
            front_door.write_parquet(Path(truth_dir) / "front_door.parquet")
    return summary


def _write_truth(truth_dir: Path, truths: list[pl.DataFrame], plant: bool, summary: SynthSummary) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    pl.concat(truths).write_parquet(truth_dir / "claims.parquet")
    trends = trend_truth(date.fromisoformat(summary.as_of))
    trends = trends if plant else trends.clear()
    trends.write_parquet(truth_dir / "trends.parquet")
    (truth_dir / "summary.json").write_text(json.dumps(asdict(summary), indent=2, sort_keys=True) + "\n")


__all__ = ["SynthSummary", "default_truth_dir", "generate"]
