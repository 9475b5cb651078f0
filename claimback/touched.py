"""The claims a night touched, for the denials stage: what is new since the last run, how far it
reaches, the merge of the recomputed rows into the kept ones, and what changed for the stages after.

A claim's rows in the per-claim tables (adjudications, recovered claims, the rules' denials and
their lines, and which 837 each 835 answers) are worked out from the remits and 837s that share a
patient control number or a payer claim number (CLP07, REF*F8) with it: every identity group,
link, claim_id numbering (`_base_id` holds the patient control number) and 835-837 match in
claimback.lifecycle is keyed by one of them. The one thing that crosses them is a corrected remit
voiding an earlier transaction of the same payment (`lifecycle.superseded_remits`): each payment
(check/EFT number and remit date) decides it alone, so it is kept per payment here and worked out
again only for the payments a night adds to. A night therefore recomputes the closure of its new
rows over those keys (and the remits its as-of date brings into view), and every other row stays.

What the stage keeps between nights (lake/state/): the code version, payer rules and as-of date it ran with,
the consolidated batches it read, the void remits, the matches, the rules' denials and lines (these
three, like the adjudications and recovered claims, in parts by the month of each row's 835: a
night rewrites only the months of the claims it recomputed) and the underpayments' votes (the published `denials` also holds the underpayments); the stage's own
tables (`KEPT_TABLES`) are the kept rows of the per-claim tables, the lonely payments and the
silent claims (claimback.stages follows the night for those: a lonely payment changes with its
claim or a new 837 of its member or number, a silent claim with the 837s of its identity, their
answers and rejections, or the as-of date crossing its payer's window). Any of it
missing, or from another code version, an as-of date earlier than the last, or a batch that no
longer stands as it did: the stage recomputes everything, never guesses.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import polars as pl

from claimback import ingest, kept_votes, lifecycle
from claimback.among import among_any
from claimback.kept_votes import UNPRICED, VOTES
from claimback.lake import CHANGED, CHANGED_FILES, CHANGED_RUN, Lake

log = logging.getLogger(__name__)

STAMP = "denials_kept"  # one row: code_version, made_with, rules, as_of
BATCHES = "denials_batches"  # ingest.CONSOLIDATED as the last run read it
VOID = "denials_void"  # claim_key of every remit a corrected remit replaces
MATCHES = "denials_matches"  # lifecycle.match_claims of every remit
BY_RULE = "denials_by_rule"  # the denial rules' rows of `denials` (without the underpayments)
LINES_BY_RULE = "denial_lines_by_rule"  # their rows of `denial_lines`
# The underpayments' modal vote (claimback.underpayments.votes: judged lines per payer x practice x
# procedure x modifiers, per-unit amount and day) and the latest lines it prices (claim_key,
# modal_key, remit_date), both in month parts (claimback.kept_votes), and the rules'
# `denial_lines` rows of the underpayment denials.
UNDERPAID_LINES_BY_RULE = "underpayment_denial_lines_by_rule"
# The payments "paid before" counts (claimback.routing.evidence.counted_payments: a row per remit
# claim and procedure paid without an authorization), for trends and routing: a row depends on its
# remit claim, its lines and the 837s of its account number, and a new 837's account number is a
# seed of `closure`, so the claims a night touched are the ones whose rows can change.
PAYMENTS = "paid_before_payments"
STATE_TABLES = (STAMP, BATCHES, VOID, MATCHES, BY_RULE, LINES_BY_RULE, VOTES, UNPRICED, UNDERPAID_LINES_BY_RULE,
                PAYMENTS)

# The stage's own tables whose rows a night keeps: the per-claim ones it merges into, and those
# that cross claims (lonely payments and their candidates, silent claims; front-door rejections
# are worked out whole, last night's compared with tonight's).
KEPT_TABLES = ("adjudications", "recovered_claims", "lonely_payments", "lonely_payment_candidates", "silent_claims",
               "claim_rejections")

# What the stages after the denials are told of the night (claimback.lake's CHANGED, CHANGED_RUN
# and CHANGED_FILES: whether everything was recomputed and, for the published tables in parts, the
# claim keys whose rows changed and the files the changes lead from and to), which publish reads
# to replace just those claims' rows.

# The per-claim tables: recomputed for the touched claims and merged by the 835 claim key, in
# month parts (`write_parts`, `merge_parts`).
PER_CLAIM = ("adjudications", "recovered_claims", MATCHES, BY_RULE, LINES_BY_RULE, PAYMENTS)
# The column each denial-stage table names its claim by (the interface's `claim_key`).
KEY_OF = {"silent_claims": "submitted_claim_key", "claim_rejections": "submitted_claim_key",
          MATCHES: "remit_claim_key"}


# Code no stage runs: the synthetic-inbox generator. A change to it must not make the next night
# recompute a history of millions of claims.
NOT_RUN_BY_STAGES = ("synth",)


def code_version() -> str:
    """A digest of the package's code and code tables: kept rows made by other code are not reused."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".so", ".c", ".pyc") \
                and path.relative_to(root).parts[0] not in NOT_RUN_BY_STAGES:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Night:
    """What is new since the last run of the denials stage."""

    new_batches: tuple[str, ...]
    since: dt.date  # the last run's as-of date


def digest(*values) -> str:
    """One string for what else the kept rows were made with (the fee schedule, settings)."""
    return hashlib.sha256(repr(values).encode()).hexdigest()


def night(lake: Lake, as_of: dt.date, rules: str) -> Night | None:
    """The night's news against the kept state, or None when everything must be recomputed
    (`rules`: a digest of the payer rules, which the kept silent claims were made with)."""
    why = _why_whole(lake, as_of, rules)
    if why == "nothing kept":  # a first run
        log.info("denials: every claim recomputed (%s)", why)
        return None
    if why:  # kept rows that do not fit (an upgrade, say): a night that costs the whole history
        log.warning("denials: every claim recomputed (%s): %d 835 and %d 837 claims, a night as long as the "
                    "history (docs/deployment.md: an upgrade costs a night as long as the history)",
                    why, lake.rows("remit_claims"), lake.rows("submitted_claims"))
        return None
    before, now = lake.read_state(BATCHES), lake.read_state(ingest.CONSOLIDATED)
    return Night(tuple(now.join(before, on="batch", how="anti")["batch"].to_list()),
                 lake.read_state(STAMP)["as_of"][0])


# A whole recompute of more claims (835 and 837) than this, or a night adding more, is done in
# steps, as nights that loaded the history a step at a time would have done it (`in_steps`): its
# memory then follows the step and the kept tables, not the history (10 M claims whole: past 21 GB
# in this stage) nor the night.
STEP_CLAIMS = 2_000_000


def in_steps(lake: Lake, new: Sequence[str] | None = None, claims_per_step: int | None = None
             ) -> list[tuple[str, ...]]:
    """The consolidated batches as growing prefixes: the batches read before (all but `new`; None:
    every batch is new, a whole recompute), then the new ones in the order they were loaded, each
    prefix adding about `claims_per_step` (STEP_CLAIMS) claims (the registry's count, 835 and 837)
    to the one before. A whole recompute works the first prefix out whole and each next one as a
    night whose new batches are the ones it adds; a night, each prefix as a night. One prefix (every
    batch) when the new batches hold no more than a step; a batch is never split."""
    step_size = max(claims_per_step or STEP_CLAIMS, 1)
    batches = lake.read_state(ingest.CONSOLIDATED)
    if batches.is_empty():
        return []
    sizes = (ingest.registry(lake).group_by("batch_id")
             .agg(pl.col("loaded_at").min(), pl.col("claims").fill_null(0).sum()).rename({"batch_id": "batch"}))
    is_new = pl.lit(True) if new is None else pl.col("batch").is_in(list(new))
    ordered = (batches.select("batch").join(sizes, on="batch", how="left")
               .with_columns(pl.col("claims").fill_null(0), new=is_new)
               .sort("new", "loaded_at", "batch", nulls_last=True)
               .with_columns(step=((pl.col("claims") * pl.col("new")).cum_sum() - pl.col("claims")) // step_size)
               .with_columns(step=pl.when("new").then("step").otherwise(0)))
    return [tuple(ordered.filter(pl.col("step") <= step)["batch"].to_list())
            for step in ordered["step"].unique().sort()]


def made_with(lake: Lake) -> str | None:
    """What else (besides the lake) the kept underpayments were made with, as `keep` stamped it."""
    stamp = lake.read_state(STAMP)
    return stamp["made_with"][0] if stamp.height == 1 and "made_with" in stamp.columns else None


def _why_whole(lake: Lake, as_of: dt.date, rules: str) -> str | None:
    if not all(lake.state_dir(table).is_dir() if table in PER_CLAIM
               else kept_votes.kept(lake, table) if table in (VOTES, UNPRICED)
               else lake.state_path(table).exists()
               for table in STATE_TABLES):
        return "nothing kept"
    if not all(lake.files_of(table) for table in KEPT_TABLES):
        return "no tables to merge into"
    if not all(part_folder(lake, table).is_dir() for table in PUBLISHED_IN_PARTS):
        return "the denials not kept in month parts"
    stamp = lake.read_state(STAMP)
    if stamp.height != 1 or stamp.columns != ["code_version", "made_with", "rules", "as_of"]:
        return "kept by an older version"
    if stamp["code_version"][0] != code_version():
        return "kept by other code"
    if stamp["rules"][0] != rules:
        return "other payer rules"
    if stamp["as_of"][0] > as_of:
        return "an as-of date before the last run's"
    before, now = lake.read_state(BATCHES), lake.read_state(ingest.CONSOLIDATED)
    if now.is_empty() or before.columns != now.columns:
        return "no batches read"
    if before.join(now, on=before.columns, how="anti").height:
        return "a batch read before was rewritten or is gone"
    return None


def forget_changes(lake: Lake) -> None:
    """Last run's list of changed claims is not tonight's: gone before the stage starts."""
    for table in (CHANGED_RUN, CHANGED, CHANGED_FILES):
        lake.state_path(table).unlink(missing_ok=True)


def keep(lake: Lake, as_of: dt.date, made_with: str, rules: str) -> None:
    """The stamp and the batches read, written after every kept table."""
    lake.write_state(BATCHES, lake.read_state(ingest.CONSOLIDATED))
    lake.write_state(STAMP, pl.DataFrame({"code_version": [code_version()], "made_with": [made_with],
                                          "rules": [rules],
                                          "as_of": [as_of]}))


# --- how far the night reaches -------------------------------------------------------------
def _norm(column: str) -> pl.Expr:
    return lifecycle.blank_to_null(pl.col(column))


REMIT_KEYS = {"pcn": "patient_control_number", "icn": "payer_claim_control_number",
              "f8": "original_payer_claim_control_number"}
SUBMITTED_KEYS = {"pcn": "patient_control_number", "f8": "original_payer_claim_control_number"}


def _keys(frame: pl.DataFrame | pl.LazyFrame, names: dict[str, str]):
    return frame.select(*(_norm(column).alias(key) for key, column in names.items()))


def normalised_pcns(remit_claims: pl.DataFrame) -> pl.Series:
    """The patient control numbers of these remits, as every match compares them."""
    return remit_claims.select(pcn=_norm("patient_control_number"))["pcn"].drop_nulls().unique()


def pcn_of(column: str) -> pl.Expr:
    """A patient control number as every match compares it (`among` it with `normalised_pcns`)."""
    return _norm(column)


class Closure(NamedTuple):
    """The touched keys closed over the remits and 837s (`closure`), and the rows holding them."""

    pcns: pl.Series  # patient control numbers
    icns: pl.Series  # payer claim numbers (CLP07, REF*F8)
    rounds: int
    remit_keys: pl.Series  # claim_key of every remit holding one of them
    submitted_keys: pl.Series  # claim_key of every 837 holding one of them


def closure(lake: Lake, pcns: pl.Series, icns: pl.Series) -> Closure:
    """The touched keys closed over the remits and 837s holding any of them (a row with two keys
    joins them), with the claim keys of those rows.

    Each round reads only the rows holding a key the round before found (the rows holding older
    keys were read then, and gave theirs), scanning the key columns with the keys pushed down: what
    is held follows the touched keys, not the history (1 M claims: the keys of every remit and 837
    were 0.2 GB). The rounds and the keys are those of reading every row each round. Every key is
    new in one round, so the rows the rounds found are every row holding a key of the closure: the
    caller reads them by claim key instead of scanning the key columns once more."""
    remits = lake.scan_unordered("remit_claims", ("claim_key", *REMIT_KEYS.values()))
    submitted = lake.scan_unordered("submitted_claims", ("claim_key", *SUBMITTED_KEYS.values()))
    pcns, icns = pcns.drop_nulls().unique(), icns.drop_nulls().unique()
    new_pcns, new_icns = pcns, icns
    remit_keys, submitted_keys = [pl.Series("claim_key", [], pl.String)], [pl.Series("claim_key", [], pl.String)]
    rounds = 0

    def closed() -> Closure:
        return Closure(pcns, icns, rounds, *(pl.concat(keys).unique() for keys in (remit_keys, submitted_keys)))

    while True:
        rounds += 1
        if new_pcns.is_empty() and new_icns.is_empty():
            return closed()
        r, s = pl.collect_all([_holding(remits, REMIT_KEYS, new_pcns, new_icns),
                               _holding(submitted, SUBMITTED_KEYS, new_pcns, new_icns)], engine="streaming")
        remit_keys.append(r["claim_key"].cast(pl.String))
        submitted_keys.append(s["claim_key"].cast(pl.String))
        new_pcns = _not_in(pl.concat([r["pcn"], s["pcn"]]), pcns)
        new_icns = _not_in(pl.concat([r["icn"], r["f8"], s["f8"]]), icns)
        if new_pcns.is_empty() and new_icns.is_empty():
            return closed()
        pcns, icns = pl.concat([pcns, new_pcns]), pl.concat([icns, new_icns])


def _holding(frame: pl.LazyFrame, names: dict[str, str], pcns: pl.Series, icns: pl.Series) -> pl.LazyFrame:
    """The claim key and keys of the rows holding one of these patient control numbers or payer claim numbers."""
    keyed = frame.select("claim_key", *(_norm(column).alias(key) for key, column in names.items()))
    return among_any(keyed, [(key, pcns if key == "pcn" else icns) for key in names])


def _not_in(found: pl.Series, known: pl.Series) -> pl.Series:
    return found.drop_nulls().unique().to_frame("k").join(known.to_frame("k"), on="k", how="anti")["k"]


@dataclass(frozen=True)
class Touched:
    """The rows a night recomputes: every table of the stage's inputs, cut to the touched claims."""

    tables: dict[str, pl.DataFrame]
    void: pl.DataFrame  # every void remit (kept ones updated for the payments touched)
    remit_keys: pl.Series  # claim_key of every remit recomputed (its rows in the kept tables go)
    rounds: int
    new_submitted: pl.DataFrame  # the night's new 837s (the denials' input columns)


def touched(lake: Lake, night: Night, as_of: dt.date, inputs: dict[str, tuple[str, ...]]) -> Touched:
    """The night's new remits and 837s, the remits its as-of date brings into view and those
    whose payment's void remits changed, closed over their keys (`closure`), with every input
    table's rows of those claims (read with predicates, not whole)."""
    remit_columns = inputs["remit_claims"]
    new_remits = pl.concat([
        lake.read_parts("remit_claims", night.new_batches, remit_columns),
        lake.scan("remit_claims").filter((pl.col("remit_date") > night.since) & (pl.col("remit_date") <= as_of))
        .select(remit_columns).collect(),
    ])
    new_submitted = lake.read_parts("submitted_claims", night.new_batches, inputs["submitted_claims"])
    void, void_changed = _void_of_payments(lake, new_remits, as_of, remit_columns)
    seeds = pl.concat([new_remits.select(REMIT_KEYS.values()), void_changed.select(REMIT_KEYS.values())])
    reach = closure(
        lake,
        pl.concat([_keys(seeds, REMIT_KEYS)["pcn"], _keys(new_submitted, SUBMITTED_KEYS)["pcn"]]),
        pl.concat([_keys(seeds, REMIT_KEYS)["icn"], _keys(seeds, REMIT_KEYS)["f8"],
                   _keys(new_submitted, SUBMITTED_KEYS)["f8"]]),
    )
    # the rows the closure found and the seeds, read by claim key (ingest.rows_among's rows, without
    # scanning the key columns of the history once more: 10 M claims, ~4 s)
    seed_keys = pl.concat([new_remits["claim_key"], void_changed["claim_key"]])
    remits = ingest.rows_by_claim_key(lake, "remit_claims", pl.concat([reach.remit_keys, seed_keys]), remit_columns,
                                      ordered=True)
    keys = remits["claim_key"]
    tables = {"remit_claims": remits}
    for table, columns in inputs.items():
        if table.startswith("remit_") and table != "remit_claims":
            # by key in the table's order: past FEW_KEYS a semi join (a drop night of 200 k claims
            # on 400 k: 1.0 -> 0.24 CPU s a table, the same rows)
            tables[table] = ingest.rows_by_claim_key(lake, table, keys, columns, ordered=True)
    tables["submitted_claims"] = ingest.rows_by_claim_key(
        lake, "submitted_claims", pl.concat([reach.submitted_keys, new_submitted["claim_key"]]),
        inputs["submitted_claims"], ordered=True)
    return Touched(tables=tables, void=void, remit_keys=keys, rounds=reach.rounds, new_submitted=new_submitted)


def _void_of_payments(lake: Lake, new_remits: pl.DataFrame, as_of: dt.date,
                      columns: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every void remit, the remits whose void status changed): the kept void remits, with those
    of the payments (check/EFT numbers) the night's remits belong to worked out again from all of
    those payments' remits known on `as_of`."""
    kept = lake.read_state(VOID)
    checks = new_remits["check_number"].drop_nulls().unique()
    payments = (lake.scan("remit_claims").filter(pl.col("check_number").is_in(checks.implode()))
                .filter(pl.col("remit_date").is_null() | (pl.col("remit_date") <= as_of))
                .select(columns).collect())
    decided = payments.select("claim_key")
    now = lifecycle.void_remits(payments)
    before = kept.join(decided, on="claim_key", how="semi")
    flipped = pl.concat([before.join(now, on="claim_key", how="anti"), now.join(before, on="claim_key", how="anti")])
    void = pl.concat([kept.join(decided, on="claim_key", how="anti"), now]).sort("claim_key")
    return void, payments.join(flipped, on="claim_key", how="semi")


# --- merging and what changed --------------------------------------------------------------
def merged(kept: pl.DataFrame, recomputed: pl.DataFrame, remit_keys: pl.Series, key: str) -> pl.DataFrame:
    """The kept rows of every claim not recomputed, and the recomputed rows."""
    return pl.concat([kept.filter(~pl.col(key).is_in(remit_keys.implode())), recomputed.select(kept.columns)])


def row_hashes(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """`key` and a hash of each whole row: what `changed_keys` compares (a table's rows need not
    be held while the night replaces them)."""
    return frame.select(key, _hash=frame.hash_rows(seed=0))


def changed_keys(before: pl.DataFrame, after: pl.DataFrame, key: str) -> pl.Series:
    """The `key`s whose rows differ between two versions of a table (added, removed or changed);
    either may be a table or its `row_hashes`."""
    a, b = (frame if "_hash" in frame.columns else row_hashes(frame, key) for frame in (before, after))
    return pl.concat([a.join(b, on=[key, "_hash"], how="anti", nulls_equal=True)[key],
                      b.join(a, on=[key, "_hash"], how="anti", nulls_equal=True)[key]]).unique().sort()


def files_digests(lake: Lake, tables: Sequence[str]) -> dict[str, str]:
    """Each table's files as they stand (Lake.files_digest): before the stage writes, and after."""
    return {table: lake.files_digest(table) for table in tables}


def write_changes(lake: Lake, changes: dict[str, pl.Series] | None, fingerprint: str, as_of: dt.date,
                  before: dict[str, str] | None = None) -> None:
    """The interface with the stages after: per table the claim keys whose rows changed
    (`changes` None: everything was recomputed, `whole`); for the tables `before` names (their
    files before the stage, `files_digests`), the key column and the files the changes lead from
    and to, so that a reader holding a table as of those files can change just these claims'
    rows (claimback.publish); then the run's row, last."""
    named = sorted((changes or {}).keys() & (before or {}).keys())
    after = files_digests(lake, named)
    files = [(table, KEY_OF.get(table, "claim_key"), before[table], after[table]) for table in named]
    lake.write_state(CHANGED_FILES, pl.DataFrame(files, schema={"table": pl.String, "key": pl.String,
                                                                "before": pl.String, "after": pl.String}, orient="row"))
    rows = [] if changes is None else [
        pl.DataFrame({"claim_key": keys.cast(pl.String), "table": table},
                     schema={"claim_key": pl.String, "table": pl.String})
        for table, keys in changes.items()]
    frame = pl.concat(rows) if rows else pl.DataFrame(schema={"claim_key": pl.String, "table": pl.String})
    lake.write_state(CHANGED, frame.select("claim_key", "table").drop_nulls("claim_key").unique()
                     .sort("table", "claim_key"))
    lake.write_state(CHANGED_RUN, pl.DataFrame({"whole": [changes is None], "fingerprint": [fingerprint],
                                                "as_of": [as_of]}))


# --- the per-claim tables in month parts ---------------------------------------------------
# Each per-claim table is kept in parts, one per month of the remit date of the 835 claim its row
# belongs to (the row's remit claim key; a remit's date never changes, so neither does a row's
# part): a night reads and rewrites only the parts holding a claim it recomputed, and new remits
# land in their own, mostly recent, months; every other part's file is left as it is (so publish
# keeps its rows without reading them). A remit without a date has a part of its own.
NO_DATE = kept_votes.NO_DATE  # the part of remits without a date: sorts after every month
# One order for each part's rows, whoever wrote it (a whole run or a night): a claim's rows are
# all kept or all recomputed, and ties between claims are broken by the key.
PART_ORDER = {"adjudications": ("claim_id", "adjudication_seq", "claim_key"),
              "recovered_claims": ("claim_key",),
              MATCHES: ("remit_claim_key",),
              BY_RULE: ("claim_key",),
              PAYMENTS: ("claim_key", "procedure"),
              "denials": ("remit_date", "claim_key"),
              "underpaid_lines": ("remit_date", "claim_key", "line_number")}
# LINES_BY_RULE, denial_lines: the key, then every column that sorts.
# The published denials, their lines (the rules' rows and the underpayments') and the underpaid
# lines in the same month parts as the per-claim tables (a denial's or underpaid line's remit date
# is its 835 claim's): a night merges the claims it recomputed or priced again into their months,
# and a month whose rows did not change keeps its file, so publish keeps its rows. Read in part
# order, `denials` and `underpaid_lines` are in the order a whole sort by remit date and claim
# gives (a month's name sorts as its dates; NO_DATE after them).
PUBLISHED_IN_PARTS = ("denials", "denial_lines", "underpaid_lines")


def remit_months(remit_claims: pl.DataFrame) -> pl.DataFrame:
    """[claim_key, _part]: the part of every row of these remits' claims."""
    return remit_claims.select("claim_key", _part=kept_votes.month(pl.col("remit_date"))).unique("claim_key")


def part_folder(lake: Lake, table: str) -> Path:
    return lake.part_dir(table, kept=table in STATE_TABLES)


def _order(schema: pl.Schema, table: str) -> list[str]:
    return list(PART_ORDER.get(table) or ("claim_key", *(c for c, t in schema.items()
                                                          if c != "claim_key" and not t.is_nested())))


def _in_order(frame: pl.DataFrame | pl.LazyFrame, table: str) -> pl.DataFrame | pl.LazyFrame:
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    return frame.sort(_order(schema, table), nulls_last=True, maintain_order=True)


# Up to this many runs of rows that stay together, a merged part is spliced from slices of the
# kept and the recomputed rows; past it (the recent months, where most claims are new), gathered.
SPLICED_RUNS = 2_000


def _merged(kept: pl.DataFrame, gone: pl.Series, mine: pl.DataFrame, table: str) -> pl.DataFrame:
    """The `kept` rows but the `gone` ones (a mask), with `mine` (in the part's order), in the
    part's order: what `_in_order` makes of the rows left and `mine` concatenated.

    The order is worked out on its columns alone. An old month that a night touches in a few
    claims keeps almost every row where it was, so the part is then put together from slices
    of both frames and copied once, instead of gathered row by row (10 M claims: an adjudications
    month touched in 600 claims, 0.35 -> 0.1 s, the same rows)."""
    order = _order(kept.schema, table)
    keys = pl.concat([kept.select(order).filter(~gone), mine.select(order)])
    perm = keys.select(pl.arg_sort_by(order, nulls_last=True, maintain_order=True)).to_series()
    # where each row comes from: kept rows by their place, then mine after a gap, so that no run
    # of consecutive places crosses from one frame to the other
    source = pl.concat([gone.not_().arg_true().cast(pl.Int64),
                        pl.int_range(kept.height + 1, kept.height + 1 + mine.height, eager=True, dtype=pl.Int64)])
    at = source.gather(perm)
    runs = (at.to_frame("at").with_columns(run=(pl.col("at").diff() != 1).fill_null(True).cum_sum())
            .group_by("run", maintain_order=True).agg(pl.col("at").first(), rows=pl.len()))
    if runs.height > SPLICED_RUNS or runs.height == 0:
        return pl.concat([kept.filter(~gone), mine]).gather(perm)
    return pl.concat([kept.slice(start, rows) if start < kept.height else mine.slice(start - kept.height - 1, rows)
                      for start, rows in runs.select("at", "rows").iter_rows()], rechunk=True)


def _with_part(frame: pl.DataFrame, table: str, months: pl.DataFrame) -> pl.DataFrame:
    key = KEY_OF.get(table, "claim_key")
    out = frame.join(months.rename({"claim_key": key}), on=key, how="left", maintain_order="left")
    if out["_part"].null_count():
        raise ValueError(f"{table}: a row whose 835 claim is not among the remits it was worked out from")
    return out


def rows_of(lake: Lake, table: str, keys: pl.Series, months: pl.DataFrame) -> pl.DataFrame:
    """The rows of these claims (`keys`, whose parts `months` gives) in a table kept in month parts,
    read from the parts that hold them only."""
    key = KEY_OF.get(table, "claim_key")
    wanted = keys.unique().cast(pl.String).to_frame(key)
    parts = months.join(wanted.rename({key: "claim_key"}), on="claim_key", how="semi")["_part"].unique().sort()
    folder = part_folder(lake, table)
    paths = [str(path) for part in parts if (path := folder / f"{part}.parquet").exists()]
    frame = pl.scan_parquet(paths or [str(sorted(folder.glob("*.parquet"))[0])], glob=False)
    frame = frame.join(wanted.lazy(), on=key, how="semi", maintain_order="left") if paths else frame.clear()
    return frame.collect()


def write_parts(lake: Lake, table: str, frame: pl.DataFrame, months: pl.DataFrame) -> None:
    """Every part of a per-claim table, as a run that recomputed every claim writes it (`months`:
    `remit_months` of every remit); parts of months without rows, and the table's one-file form of
    an older version, removed."""
    folder = part_folder(lake, table)
    parts = _with_part(frame, table, months).partition_by("_part", as_dict=True, include_key=False)
    for (part,), rows in parts.items():
        lake.write_part(table, part, _in_order(rows, table), kept=table in STATE_TABLES)
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        if (path.stem,) not in parts:
            path.unlink()
    (lake.state_path(table) if table in STATE_TABLES else lake.derived_path(table)).unlink(missing_ok=True)
    _one_part_at_least(lake, table, frame)


# Parts of one table merged at once (merge_parts): one part's read, merge and write leave a core idle
# much of the time (a month of 1 M adjudications is written in 0.47 s on 0.64 CPU s), and each part
# is its own file. Two: a night's per-claim work 4.5 s shorter at 10 M claims (bench/SCALE.md).
MERGE_THREADS = 2


def merge_parts(lake: Lake, table: str, recomputed: pl.DataFrame, remit_keys: pl.Series,
                months: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Rewrite the parts of a per-claim table that hold a recomputed claim (`remit_keys`, whose
    parts `months` gives): their kept rows of every other claim and the `recomputed` rows, in the
    part's order, MERGE_THREADS parts at a time; a part whose rows did not change is not written
    again, one left empty is removed. (the keys whose rows changed, the kept rows the recomputed
    ones replace)."""
    key = KEY_OF.get(table, "claim_key")
    folder = part_folder(lake, table)
    recomputed = _with_part(recomputed, table, months)
    wanted = remit_keys.unique().cast(pl.String).to_frame(key)
    empty = recomputed.drop("_part").head(0)

    def merge(part: str) -> tuple[pl.Series, pl.DataFrame]:
        path = folder / f"{part}.parquet"
        kept = pl.read_parquet(str(path), glob=False) if path.exists() else empty
        gone = kept[key].is_in(wanted[key].implode())
        before = kept.filter(gone)
        mine = _in_order(recomputed.filter(pl.col("_part") == part).select(kept.columns), table)
        rows = _merged(kept, gone, mine, table)
        if rows.height == 0:
            path.unlink(missing_ok=True)
        elif not rows.equals(kept):
            lake.write_part(table, part, rows, kept=table in STATE_TABLES)
        return changed_keys(before, mine, key), before

    parts = months.join(wanted.rename({key: "claim_key"}), on="claim_key", how="semi")["_part"].unique().sort()
    with ThreadPoolExecutor(MERGE_THREADS, thread_name_prefix="claimback-merge") as pool:
        merged = list(pool.map(merge, parts))
    _one_part_at_least(lake, table, empty)
    changed = [pl.Series(key, [], pl.String), *(keys for keys, _ in merged)]
    return pl.concat(changed).unique().sort(), pl.concat([empty, *(before for _, before in merged)])


def _one_part_at_least(lake: Lake, table: str, empty: pl.DataFrame) -> None:
    """A table without rows keeps one empty part (its columns, for the readers), and only then."""
    folder = part_folder(lake, table)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    blank = folder / f"{NO_DATE}.parquet"
    if not files:
        lake.write_part(table, NO_DATE, empty.head(0), kept=table in STATE_TABLES)
    elif len(files) > 1 and blank in files and pl.scan_parquet(str(blank), glob=False).select(pl.len()).collect().item() == 0:
        blank.unlink()
