"""The pipeline's stages as plain functions over the lake: what each Dagster asset calls.

Each stage reads the lake tables it needs, calls the domain modules (denials, trends, routing,
forms), writes its tables back to the lake and returns a small frozen dataclass without PHI
(counts, dollars, codes, claim numbers) that the assets show as metadata.
"""
from __future__ import annotations

import logging
import pickle
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from claimback import denials as denial_rules
from claimback import publish as publishing  # called through the module: the publish step has one seam
from claimback import forms, ingest, kept_routes, kept_votes, lifecycle, quality_parts, schema, touched, trends, underpayments
from claimback import lonely as lonely_rules
from claimback import silent as silence
from claimback.among import among, among_any
from claimback.forms import ProviderDirectory, ProviderProfile, write_reconsideration_packets
from claimback.forms.channels import channel
from claimback.forms.claim_facts import FACT_INPUTS, packet_facts
from claimback.forms.pdf import FILL_IN, private_dir
from claimback.forms.provider import claim_providers
from claimback.forms.reconsideration import request_decisions
from claimback.forms.trend_packet import window_notes
from claimback.inbox import is_fee_schedule, is_reconsideration_log, scan
from claimback.lake import Lake
from claimback.lonely import INPUTS as LONELY_INPUTS
from claimback.lonely import lonely_payments
from claimback.reconsiderations import read_log
from claimback.rejections import CLAIM_INPUTS, acknowledged_837s, claim_rejections
from claimback.routing import build_work_queue, evidence, load_rules
from claimback.routing.queue import in_queue_order, normalise_log
from claimback.routing.recoupments import recoupment_queue
from claimback.routing.unanswered import SILENT_INPUTS, follow_ups, rejection_queue, silent_claim_queue
from claimback.settings import Settings
from claimback.silent import SUBMITTED_INPUTS, silent_claims
from claimback.underpayments import read_fee_schedule

log = logging.getLogger(__name__)


# The lake tables each stage writes (claimback.schema has their columns): what its Dagster asset
# lists, and every table of the contract is written by exactly one stage.
WRITES: dict[str, tuple[str, ...]] = {
    "ingest": (*schema.PARSED_TABLES, "ingested_files"),
    "reconsiderations": ("reconsiderations", "reconsideration_log_problems"),
    "denials": ("denials", "denial_lines", "adjudications", "recovered_claims", "lonely_payments",
                "lonely_payment_candidates", "silent_claims", "claim_rejections", "fee_schedule",
                "fee_schedule_problems", "underpaid_lines"),
    "trends": ("trend_clusters", "trend_cluster_claims", "trend_packets"),
    "routing": ("work_queue", "reconsideration_outcomes", "recoupments", "request_packets"),
}

# The lake tables each stage reads that another stage writes: with WRITES, the whole lineage. The
# Dagster side makes every table of WRITES an asset whose upstream assets are its stage's READS
# (pipelines/defs/specs.py); nothing else declares lineage. A table a stage reads back from its own
# last run (the packets already drawn) is not lineage and is not listed. A test runs each stage on a
# small inbox and fails on a read missing here (tests/pipeline/test_lineage.py).
READS: dict[str, tuple[str, ...]] = {
    "ingest": (),
    "reconsiderations": (),
    "denials": ("remit_payments", "remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks",
                "submitted_claims", "acknowledgments", "acknowledged_claims"),
    # (and the payments "paid before" counts, which the denials stage keeps: touched.PAYMENTS)
    "trends": ("denials", "underpaid_lines", "remit_payments", "remit_claims", "submitted_claims",
               "submitted_service_lines"),
    "routing": ("denials", "denial_lines", "adjudications", "recovered_claims", "underpaid_lines", "silent_claims",
                "claim_rejections", "reconsiderations", "trend_cluster_claims", "trend_packets", "remit_payments",
                "remit_claims", "remit_service_lines", "submitted_claims", "submitted_service_lines",
                # the analyst_today views its asset shows (pipelines/defs/routing)
                "trend_clusters", "lonely_payments"),
    # the published file holds every lake table
    "publish": tuple(table for tables in WRITES.values() for table in tables),
}


# --- what each stage returns: counts and frames without PHI, for the assets' metadata ----------
@dataclass(frozen=True)
class ReconsiderationLog:
    files: int  # *reconsiderations.csv files read
    rows: int  # usable rows
    problems: pl.DataFrame  # rows skipped, with their line and why


@dataclass(frozen=True)
class DenialsFound:
    denials: pl.DataFrame
    adjudicated_claims: int  # claims whose latest adjudication is not a reversal
    denied_claims: int
    denied_amount: float
    by_category: pl.DataFrame
    lonely_payments: int
    lonely_paid_amount: float
    lonely_with_candidates: int
    silent_claims: int
    silent_billed_amount: float
    underpaid_lines: int
    underpaid_claims: int
    underpaid_amount: float
    front_door_rejections: int  # claims a 999 or 277CA rejected that nothing has answered since
    front_door_rejected_amount: float


@dataclass(frozen=True)
class TrendsFound:
    clusters: pl.DataFrame
    packets: int  # trend packets written or kept


@dataclass(frozen=True)
class QueueBuilt:
    work_queue: pl.DataFrame
    model: object  # the overturn model's report (claimback.routing.overturn)
    packets: int  # request packets considered tonight


# --- ingest ---------------------------------------------------------------------------------
def plan_new_files(settings: Settings) -> ingest.Plan:
    """The inbox files no earlier run has read, split into batches by `plan.batches()`; files
    already read under another name and the reconsideration logs are recorded on the way."""
    plan = ingest.plan(scan(settings.inbox, report_links=True), settings.lake)
    ingest.record_duplicates(plan.duplicates, settings.lake)
    ingest.record_logs(plan.logs, settings.lake)
    return plan


def parse_batch(settings: Settings, batch: list) -> dict:
    """One batch of new files read into the lake (a file is read exactly once); counts, no PHI."""
    return ingest.ingest_batch(batch, settings.lake)


# What earlier nights keep so a night does only its new work: which current parts stand
# (ingest.consolidate), the checks' counts per group of batches (claimback.quality_parts), the
# published file to start from (claimback.publish), the denials stage's kept rows
# (claimback.touched), the overturn model last fitted and each claim's route with what it was made
# from (claimback.kept_routes), every 837's features counted per payer and batch (trends). A
# from-scratch run forgets them first.
OVERTURN_MODEL = "overturn_model"
PAYER_COUNTS, PAYER_COUNTS_VERSION = "trend_payer_counts", "1"  # bumped when what is counted changes
KEPT_BETWEEN_NIGHTS = (ingest.CONSOLIDATED, *quality_parts.state_tables(), publishing.PUBLISHED,
                       *touched.STATE_TABLES, OVERTURN_MODEL, *kept_routes.STATE_TABLES, PAYER_COUNTS)


def consolidate_lake(settings: Settings) -> dict[str, int]:
    """The de-duplicated current tables every later stage reads; rows per table. With the
    `from_scratch` setting, what earlier nights kept is forgotten first, so every part, check and
    published table is computed again from the files read."""
    if settings.from_scratch:
        for table in KEPT_BETWEEN_NIGHTS:
            settings.lake.state_path(table).unlink(missing_ok=True)
    return ingest.consolidate(settings.lake)


# --- reconsideration history ---------------------------------------------------------------
def load_reconsiderations(settings: Settings) -> ReconsiderationLog:
    """Read every *reconsiderations.csv in the inbox; bad rows are reported and skipped."""
    logs = scan(settings.inbox, named=is_reconsideration_log)
    frame, problems = read_log([f.path for f in logs])
    # Name each log as every other table names its source: relative to the inbox.
    relative = {str(f.path): f.name for f in logs}
    frame, problems = (t.with_columns(pl.col("source_file").replace(relative)) for t in (frame, problems))
    settings.lake.write_derived("reconsiderations", schema.conform(frame, "reconsiderations"))
    settings.lake.write_derived("reconsideration_log_problems", problems)
    return ReconsiderationLog(files=len(logs), rows=frame.height, problems=problems)


# --- denials ---------------------------------------------------------------------------------
# The columns the denial rules and the claim lifecycle read. At a million claims the remit and
# 837 tables are several GB in memory whole (names, member ids, transaction bookkeeping); these
# are a fraction of that, and no patient name is read at all; the member id only keeps the claims of
# two patients apart (claimback.lifecycle) and is written nowhere.
DENIAL_INPUTS = {
    "remit_claims": (
        "claim_key", "source_file", "claim_ordinal", "payer_name", "payer_id", "remit_date",
        "patient_control_number", "claim_status_code", "is_reversal", "charge_amount", "paid_amount",
        "payer_claim_control_number", "original_payer_claim_control_number", "rendering_npi",
        "statement_from", "payee_npi", "payee_tax_id", "member_id", "insured_member_id",
        "production_date", "envelope_date_time", "transaction_hash", "check_number", "claim_filing_indicator",
    ),
    "remit_service_lines": (
        "claim_key", "line_number", "procedure_code", "modifiers", "service_date", "charge_amount",
        "paid_amount", "units", "allowed_amount",
    ),
    "remit_adjustments": ("claim_key", "line_number", "group_code", "reason_code", "amount"),
    "remit_remarks": ("claim_key", "line_number", "remark_code"),
    "submitted_claims": (
        "claim_key", "source_file", "claim_ordinal", "patient_control_number", "payer_name", "payer_id",
        "original_payer_claim_control_number", "frequency_code", "statement_from", "billing_npi",
        "rendering_npi", "place_of_service", "billing_tax_id", "subscriber_member_id",
        "prior_authorization",  # only for the payments "paid before" counts (touched.PAYMENTS)
    ),
}


def build_denials(settings: Settings) -> DenialsFound:
    """The denials table, its line detail, every adjudication with its status, recovered claims,
    the lonely payments (835 claims with no 837, claimback.lonely) and the silent claims (837s
    with no 835, claimback.silent).

    A night recomputes the per-claim tables for the claims it touched only and merges them into
    the kept rows (claimback.touched); the tables that cross claims follow it too: lonely payments
    for the touched claims and the payments of the new 837s' members, silent claims for the claim
    identities the night or its as-of date can change (the kept rows' days counted again),
    underpayments for the claims whose modal window moved; front-door rejections are worked out
    whole. With the `from_scratch` setting, or no usable kept state, every claim is recomputed."""
    lake = settings.lake
    fee_schedule = load_fee_schedule(settings)
    # what else the kept underpayments were made with: the fee schedule and the underpayment settings
    made_with = touched.digest(fee_schedule.hash_rows(seed=0).to_list(), settings.underpayment_min_dollars,
                               settings.underpayment_min_share, settings.modal_min_observations)
    rules = load_rules(settings.payer_rules)
    rules_digest = touched.digest(rules.version, Path(rules.path).read_bytes())
    night = None if settings.from_scratch else touched.night(lake, settings.as_of, rules_digest)
    before = touched.files_digests(lake, WRITES["denials"])
    if lake.batches is None and len(steps := touched.in_steps(lake, None if night is None else night.new_batches)) > 1:
        return _in_steps(settings, steps, whole=night is None, before=before)
    priced_again = night is None or touched.made_with(lake) != made_with
    if night is not None and priced_again:
        log.info("underpayments: every claim priced again (another fee schedule or underpayment setting)")
    touched.forget_changes(lake)
    lake.state_path(touched.STAMP).unlink(missing_ok=True)  # a run that stops half-way is not reused
    if night is None:
        tables = {t: lake.read(t, c) for t, c in DENIAL_INPUTS.items()}
        per_claim = _per_claim_tables(settings, tables)
        months = touched.remit_months(tables["remit_claims"])
        del tables
        for table in touched.PER_CLAIM:
            touched.write_parts(lake, table, per_claim[table], months)
        lake.write_state(touched.VOID, per_claim[touched.VOID])
        found = _across_claims(settings, per_claim, None, fee_schedule)
    else:
        recomputed, changed, cut = _per_claim_tables_merged(settings, night)
        found = _across_claims(settings, recomputed, changed, fee_schedule, Tonight(night, cut, priced_again, before))
    touched.keep(lake, settings.as_of, made_with, rules_digest)
    return found


def _in_steps(settings: Settings, steps: list[tuple[str, ...]], whole: bool, before: dict[str, str]) -> DenialsFound:
    """Every claim recomputed (`whole`), or a night's new batches worked out, as nights that loaded
    them a step at a time would have done it (`touched.in_steps`): a whole recompute's first step
    from nothing, every other step as a night on the rows the steps before kept, all as of
    tonight. A night gives the rows a whole run gives (tests/incremental), so the tables are the
    same; what is held follows the step and the kept tables, not the history nor the night. A run
    stopped between two steps has kept the steps it finished, and the next goes on from them (one
    stopped within a step keeps no stamp: the next recomputes every claim, in steps)."""
    lake = settings.lake
    log.warning("denials: %s in %d steps of about %d claims each",
                "the history recomputed" if whole else "the night's new batches worked out", len(steps),
                touched.STEP_CLAIMS)
    changes = []
    for number, batches in enumerate(steps, start=1):
        found = build_denials(settings.on_batches(batches, from_scratch=whole and number == 1))
        changes.append(lake.read_state(touched.CHANGED))
        log.info("denials: step %d of %d done (%d of %d batches)", number, len(steps), len(batches),
                 len(steps[-1]))
    # The stages after are told what changed since they last ran, not since the step before the last.
    changed = None if whole else {table: rows["claim_key"] for (table,), rows in
                                  pl.concat(changes).partition_by("table", as_dict=True).items()}
    touched.write_changes(lake, changed, denial_tables_fingerprint(lake), settings.as_of, before)
    return found


def _per_claim_tables(settings: Settings, tables: dict[str, pl.DataFrame],
                      void: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """The tables whose rows belong to one claim each (claimback.touched.PER_CLAIM), for the
    claims of `tables`; `void` as kept (None: worked out from these remits, all of them)."""
    if void is None:
        void = lifecycle.void_remits(denial_rules.known_on(tables["remit_claims"], settings.as_of))
    adjudications, status = denial_rules.adjudications_and_status(
        tables["remit_claims"], tables["remit_service_lines"], tables["remit_adjustments"],
        tables["submitted_claims"], as_of=settings.as_of, void=void,
    )
    # one order however many claims were recomputed: kept and recomputed rows merge into it
    adjudications = adjudications.sort("claim_id", "adjudication_seq")
    # the denied adjudications' status only: the rest (a row and reason lists for every
    # adjudication) is not held through the stage (1M claims: part of a 4.8 GB peak)
    status = status.filter("is_denied")
    # Which 837 each 835 answers, worked out once for both sides' orphans.
    matches = lifecycle.match_claims(tables["remit_claims"], tables["submitted_claims"], history=adjudications)
    denied = denial_rules.build_denials(**tables, as_of=settings.as_of, history=adjudications, status=status)
    denied = with_billing_provider(denied, settings.lake)
    return {
        "adjudications": adjudications,
        "recovered_claims": denial_rules.recovered_claims(adjudications),
        touched.VOID: void,
        touched.MATCHES: matches,
        touched.BY_RULE: denied,
        touched.LINES_BY_RULE: _denial_lines(denied, tables),
        touched.PAYMENTS: evidence.counted_payments(
            tables["remit_claims"], tables["remit_service_lines"], tables["submitted_claims"]).collect(),
    }


def _denial_lines(denied: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return schema.conform(denial_rules.denial_lines(
        denied, tables["remit_service_lines"], tables["remit_adjustments"], tables["remit_remarks"],
        tables["remit_claims"]), "denial_lines")


def _per_claim_tables_merged(settings: Settings, night: touched.Night
                             ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series], touched.Touched]:
    """The night's touched claims' rows of the per-claim tables, recomputed and written into the
    month parts that hold them (every other part left as it is: no table is held whole); the
    claim keys whose rows changed, per table; and the touched claims' inputs."""
    lake = settings.lake
    cut = touched.touched(lake, night, settings.as_of, DENIAL_INPUTS)
    recomputed = _per_claim_tables(settings, cut.tables, void=cut.void)
    months = touched.remit_months(cut.tables["remit_claims"])
    changed: dict[str, pl.Series] = {}
    for table in touched.PER_CLAIM:
        changed[table], replaced = touched.merge_parts(lake, table, recomputed[table], cut.remit_keys, months)
        if table == "adjudications":
            cut.tables["adjudications_before"] = replaced  # the underpayments take their votes back
            cut.tables["adjudications_after"] = _in_adjudications_order(recomputed[table])  # and add these
    cut.tables["by_rule_after"] = recomputed[touched.BY_RULE].select("claim_key")  # what the rules denied
    lake.write_state(touched.VOID, cut.void)
    log.info("denials: %d of %d remit claims recomputed in %d month part(s) (%d new batches, closure in %d rounds)",
             cut.remit_keys.len(), lake.rows("adjudications"), months["_part"].n_unique(), len(night.new_batches),
             cut.rounds)
    return recomputed, changed, cut


@dataclass(frozen=True)
class Tonight:
    """A night that follows the kept state: its news, its touched claims, and whether every claim
    is priced again (another fee schedule or underpayment setting)."""

    night: touched.Night
    cut: touched.Touched
    priced_again: bool
    files_before: dict[str, str]  # the stage's tables' files before it wrote (touched.files_digests)


def _across_claims(settings: Settings, per_claim: dict[str, pl.DataFrame], changed: dict[str, pl.Series] | None,
                   fee_schedule: pl.DataFrame, tonight: Tonight | None = None) -> DenialsFound:
    """With the per-claim tables written, the ones that cross claims (lonely payments, front-door
    rejections, silent claims, underpayments) and the published denials and lines made of both;
    then what changed (`changed` None: everything was recomputed). `tonight` None: every claim's
    rows worked out whole from `per_claim`, the whole per-claim tables; else `per_claim` holds the
    touched claims' rows only, and lonely payments, silent claims and underpayments follow the
    night, reading the other rows they need by key from the parts just written."""
    lake = settings.lake
    # What publish is told changed in the published tables in parts made of both the per-claim rows
    # and the underpayments (touched.PUBLISHED_IN_PARTS): a night that follows the underpayments
    # merges them by month, and the months it merges say it; one that prices every claim again
    # compares them whole with last night's. The tables in one file (lonely payments, silent
    # claims, rejections: publish loads them whole) are not compared.
    by_month = tonight is not None and not tonight.priced_again
    before = {} if changed is None or by_month else {
        table: touched.row_hashes(lake.read(table), "claim_key") for table in touched.PUBLISHED_IN_PARTS}
    thresholds = underpayments.Thresholds(settings.underpayment_min_dollars, settings.underpayment_min_share,
                                          settings.modal_min_observations)
    # A night's underpayments read none of the tables the lonely payments, rejections and silent
    # claims write, nor these any it writes: worked out beside them, in a thread (Polars works
    # without the GIL), so that the two cores are busy through both.
    with ThreadPoolExecutor(1, thread_name_prefix="claimback-underpayments") as beside:
        priced = beside.submit(_underpayments_of_night, settings, fee_schedule, thresholds, tonight.cut) \
            if by_month else None
        lonely, rejections, silent = _unmatched(settings, per_claim, tonight)
        latest_count = (lake.scan("adjudications").filter(pl.col("is_latest") & ~pl.col("is_reversal"))
                        .select(pl.len()).collect().item())
    if not by_month:  # every claim priced: the whole adjudications, the denials written whole
        by_rule = per_claim[touched.BY_RULE] if tonight is None else lake.read(touched.BY_RULE)
        underpaid, underpayment_denials, underpayment_lines = (
            find_underpayments(settings, per_claim["adjudications"], fee_schedule, thresholds, by_rule)
            if tonight is None else _every_claim_priced_of_night(settings, fee_schedule, thresholds, tonight.cut))
        denied = pl.concat([by_rule, underpayment_denials])
        months = pl.concat([frame.select("claim_key", _part=kept_votes.month(pl.col("remit_date")))
                            for frame in (denied, underpaid)]).unique("claim_key")
        touched.write_parts(lake, "denials", denied, months)
        touched.write_parts(lake, "underpaid_lines", underpaid, months)
        touched.write_parts(lake, "denial_lines", pl.concat([
            per_claim[touched.LINES_BY_RULE] if tonight is None else lake.read(touched.LINES_BY_RULE),
            underpayment_lines,
            underpayments.denial_line_rows(underpaid),  # an underpayment's lines: the shortfalls
        ]), months)
        del by_rule
    else:
        underpaid, underpayment_denials, underpayment_lines, again, months = priced.result()
        _merge_denials(lake, again, months, underpaid, underpayment_denials, underpayment_lines, changed)
    denied = lake.read("denials")
    if changed is not None:
        for table, old in before.items():
            key = touched.KEY_OF.get(table, "claim_key")
            changed[table] = touched.changed_keys(old, touched.row_hashes(lake.read(table), key), key)
        for table in (touched.MATCHES, touched.BY_RULE, touched.LINES_BY_RULE, touched.PAYMENTS):  # kept, not published
            changed.pop(table, None)
    touched.write_changes(lake, changed, denial_tables_fingerprint(lake), settings.as_of,
                          None if tonight is None else tonight.files_before)
    log.info("denials: %d of %d adjudicated claims denied", denied.height, latest_count)
    return DenialsFound(
        denials=denied,
        adjudicated_claims=latest_count,
        denied_claims=denied.height,
        denied_amount=float(denied["denied_amount"].cast(pl.Float64).sum() or 0),
        by_category=denial_rules.denial_summary(denied),
        lonely_payments=lonely.height,
        lonely_paid_amount=float(lonely["paid_amount"].cast(pl.Float64).sum() or 0),
        lonely_with_candidates=lonely.filter(pl.col("candidate_count") > 0).height,
        silent_claims=silent.height,
        silent_billed_amount=float(silent["billed_amount"].cast(pl.Float64).sum() or 0),
        underpaid_lines=underpaid.height,
        underpaid_claims=underpayment_denials.height,
        underpaid_amount=float(underpaid["shortfall"].cast(pl.Float64).sum() or 0),
        front_door_rejections=rejections.filter("still_rejected").height,
        front_door_rejected_amount=float(rejections.filter("still_rejected")["billed_amount"].cast(pl.Float64).sum()
                                         or 0),
    )


def _unmatched(settings: Settings, per_claim: dict[str, pl.DataFrame], tonight: Tonight | None
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Write and return the lonely payments, the front-door rejections and the silent claims: the
    claims one side of the 835/837 pair is missing for. `tonight` None: worked out whole from
    `per_claim` (every claim's rows); else following the night (`per_claim` holds the touched
    claims' rows)."""
    lake = settings.lake
    kept = {} if tonight is None else {table: lake.read(table) for table in
                                        ("lonely_payments", "lonely_payment_candidates", "silent_claims",
                                         "claim_rejections")}
    of_night = None if tonight is None else _lonely_of_night(lake, per_claim, tonight.cut, kept)
    whole = None  # the whole adjudications and matches: every claim's lonely and silent status worked out
    if of_night is None:  # (on a night: the lake held no 837 before tonight)
        whole = per_claim if tonight is None else {t: lake.read(t) for t in ("adjudications", touched.MATCHES)}
        lonely, candidates = lonely_payments(whole["adjudications"], *(
            lake.read(table, LONELY_INPUTS[table]) for table in ("remit_claims", "submitted_claims")),
            matches=whole[touched.MATCHES])
    else:
        lonely, candidates, candidate_pcns = of_night
    lake.write_derived("lonely_payments", lonely)
    lake.write_derived("lonely_payment_candidates", candidates)
    # before the silent claims: a claim still rejected at the front door is not silent
    rejections = front_door_rejections(lake)
    if whole is not None:
        silent = build_silent_claims(settings, whole[touched.MATCHES], candidates, rejections)
    else:
        pcns = pl.concat([candidate_pcns, _rejection_pcns(lake, kept["claim_rejections"], rejections)])
        silent = _silent_of_night(settings, tonight, candidates, rejections, kept["silent_claims"], pcns)
    return lonely, rejections, silent


def _merge_denials(lake: Lake, again: pl.Series, months: pl.DataFrame, underpaid: pl.DataFrame,
                   underpayment_denials: pl.DataFrame, underpayment_lines: pl.DataFrame,
                   changed: dict[str, pl.Series]) -> None:
    """Merge into the month parts of `denials`, `denial_lines` and `underpaid_lines` the rows of the
    claims recomputed or priced again (`again`, whose months `months` gives): the rules' rows kept for
    them and their underpayments' (`underpaid` and the underpayment denials and lines: every claim's);
    the keys whose rows changed go into `changed`. A claim's rows can change nowhere else: the rules'
    rows change with the recomputed claims only, the underpayments' with the claims priced again."""
    merged = {
        "denials": pl.concat([touched.rows_of(lake, touched.BY_RULE, again, months),
                              _of_claims(underpayment_denials, again)]),
        "denial_lines": pl.concat([touched.rows_of(lake, touched.LINES_BY_RULE, again, months),
                                   _of_claims(underpayment_lines, again),
                                   underpayments.denial_line_rows(_of_claims(underpaid, again))]),
        "underpaid_lines": _of_claims(underpaid, again),
    }
    for table, rows in merged.items():
        changed[table], _ = touched.merge_parts(lake, table, rows, again, months)


def denial_tables_fingerprint(lake: Lake) -> str:
    """What the denial-stage tables are tonight, as the stages after compare it (the interface of
    claimback.lake.CHANGED_RUN): each table's files by name, size and modification time."""
    return touched.digest(*touched.files_digests(lake, WRITES["denials"]).items())


def _lonely_of_night(lake: Lake, recomputed: dict[str, pl.DataFrame], cut: touched.Touched,
                     kept: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series] | None:
    """(lonely_payments, lonely_payment_candidates, the patient control numbers of every candidate
    row gone or added) with the kept rows of every claim the night cannot change; None when the
    lake held no 837 before tonight (nothing was lonely then: every payment is worked out).

    A claim's lonely status depends on its own adjudications and matches (recomputed for the
    touched claims only); its candidates on the 837s of its member or patient control number, so a
    kept payment changes only when a new 837 names its member or number. `recomputed`: the touched
    claims' per-claim tables. A claim is recomputed whole (the night's closure holds every remit
    sharing its patient control number or payer claim number, and its claim_id is made of them), so
    the adjudications and matches of the others alone are read by key from the parts written."""
    new = cut.new_submitted
    if lake.rows("submitted_claims") == new.height:
        return None
    payments, candidates = kept["lonely_payments"], kept["lonely_payment_candidates"]
    members = new.select(m=lifecycle.identifier(pl.col("subscriber_member_id")))["m"].drop_nulls().unique()
    pcns = touched.normalised_pcns(new)
    remits = ingest.rows_by_claim_key(lake, "remit_claims", payments["claim_key"],
                                      ("claim_key", "patient_control_number", "member_id", "insured_member_id"),
                                      ordered=True)
    reached = among_any(remits.lazy(), [
        *((lifecycle.identifier(pl.col(column)), members) for column in ("member_id", "insured_member_id")),
        (touched.pcn_of("patient_control_number"), pcns)]).collect()
    adjudications = recomputed["adjudications"]
    others = payments.join(reached, on="claim_key", how="semi").join(
        adjudications.select("claim_id").unique(), on="claim_id", how="anti")["claim_id"].unique()
    again = pl.concat([adjudications["claim_id"], others]).unique()
    gone = payments.filter(pl.col("claim_id").is_in(again.implode()) | pl.col("claim_key").is_in(cut.remit_keys.implode()))
    theirs = _adjudications_of(lake, "claim_id", others)  # the other claims' every adjudication
    mine = _in_adjudications_order(pl.concat([adjudications.select(theirs.columns), theirs]))
    match_columns = ("remit_claim_key", "submitted_claim_key", "match_method")
    rows = lonely_rules.unmatched(mine, pl.concat([
        recomputed[touched.MATCHES].select(match_columns),
        lake.rows_where(touched.MATCHES, "remit_claim_key", theirs["claim_key"], match_columns)]))
    remits = ingest.rows_by_claim_key(lake, "remit_claims", rows["claim_key"], LONELY_INPUTS["remit_claims"],
                                      ordered=True)
    members, pcns = lonely_rules.payment_keys(rows, remits)
    submitted = ingest.rows_among(lake, "submitted_claims", lonely_rules.candidate_tests(members, pcns),
                                  LONELY_INPUTS["submitted_claims"])
    new_payments, new_candidates = lonely_rules.with_candidates(rows, remits, submitted)
    old_candidates = candidates.join(gone.select("claim_key"), on="claim_key", how="semi")
    log.info("lonely payments: %d claim(s) worked out again, %d kept", again.len(), payments.height - gone.height)
    return (
        pl.concat([payments.join(gone.select("claim_key"), on="claim_key", how="anti"), new_payments])
        .sort("remit_date", "claim_key", nulls_last=True),
        pl.concat([candidates.join(gone.select("claim_key"), on="claim_key", how="anti"), new_candidates])
        .sort("claim_key", "candidate_rank"),
        pl.concat([old_candidates["patient_control_number"], new_candidates["patient_control_number"]]),
    )


def _rejection_pcns(lake: Lake, before: pl.DataFrame, after: pl.DataFrame) -> pl.Series:
    """The patient control numbers of the front-door rejections gone, added or changed tonight
    (as the rejection names the claim, and as its 837 does)."""
    differ = pl.concat([before.join(after, on=after.columns, how="anti", nulls_equal=True),
                        after.join(before, on=after.columns, how="anti", nulls_equal=True)])
    named = ingest.rows_by_claim_key(lake, "submitted_claims", differ["submitted_claim_key"],
                                     ("claim_key", "patient_control_number"), ordered=True)
    return pl.concat([differ["patient_control_number"], named["patient_control_number"]])


def _silent_of_night(settings: Settings, tonight: Tonight, candidates: pl.DataFrame,
                     rejections: pl.DataFrame, kept: pl.DataFrame, pcns: pl.Series) -> pl.DataFrame:
    """Table silent_claims with the kept rows of every claim identity the night cannot change
    (their days counted on the new as-of date), the others worked out again from their 837s: the
    identities of the touched claims' 837s (their matches changed), of `pcns` (their lonely
    candidates or rejections changed), and of the 837s the as-of date alone can make silent
    (`claimback.silent.turning`)."""
    lake, rules = settings.lake, load_rules(settings.payer_rules)
    band = (lake.scan("submitted_claims").filter(silence.turning(rules, tonight.night.since, settings.as_of))
            .select("patient_control_number").collect())
    pcns = pl.concat([pcns, band["patient_control_number"],
                      tonight.cut.tables["submitted_claims"]["patient_control_number"]])
    pcns = pcns.to_frame("p").select(lifecycle.blank_to_null(pl.col("p")).alias("p"))["p"].drop_nulls().unique()
    submitted = lake.scan("submitted_claims").filter(silence.of_claims(pcns)).select(SUBMITTED_INPUTS).collect()
    # an 837 is answered when an 835 matches it: the matches of these 837s only
    matches = lake.rows_where(touched.MATCHES, "submitted_claim_key", submitted["claim_key"],
                              ("remit_claim_key", "submitted_claim_key", "match_method"))
    recomputed = silent_claims(submitted, matches, rejections, rules, settings.as_of, candidates)
    log.info("silent claims: %d 837(s) of %d claim numbers worked out again", submitted.height, pcns.len())
    out = silence.merged(kept, recomputed, pcns, settings.as_of)
    lake.write_derived("silent_claims", out)
    return out


def build_silent_claims(settings: Settings, matches: pl.DataFrame, lonely_candidates: pl.DataFrame,
                        rejections: pl.DataFrame) -> pl.DataFrame:
    """Table silent_claims: 837s the payer has not answered past its processing window
    (`rejections`: table claim_rejections, as this run just built it)."""
    lake = settings.lake
    silent = silent_claims(lake.read("submitted_claims", SUBMITTED_INPUTS), matches, rejections,
                           load_rules(settings.payer_rules), settings.as_of, lonely_candidates)
    lake.write_derived("silent_claims", silent)
    return silent


def load_fee_schedule(settings: Settings) -> pl.DataFrame:
    """The fee schedule the `fee_schedule` setting names, else every *fee_schedule.csv in the inbox;
    writes it (and its skipped rows, said in the log) to the lake. Files are named relative to the inbox."""
    if settings.fee_schedule is not None:
        frame, problems = read_fee_schedule([settings.fee_schedule])
        relative = {str(settings.fee_schedule): settings.fee_schedule.name}
    else:
        files = scan(settings.inbox, named=is_fee_schedule)
        frame, problems = read_fee_schedule([f.path for f in files])
        relative = {str(f.path): f.name for f in files}
    frame, problems = (t.with_columns(pl.col("source_file").replace(relative)) for t in (frame, problems))
    settings.lake.write_derived("fee_schedule", frame)
    settings.lake.write_derived("fee_schedule_problems", problems)
    if problems.height:
        log.warning("fee schedule: %d row(s) skipped (see fee_schedule_problems)", problems.height)
    return frame


def find_underpayments(settings: Settings, adjudications: pl.DataFrame, fee_schedule: pl.DataFrame,
                       thresholds: underpayments.Thresholds, by_rule: pl.DataFrame
                       ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(underpaid_lines, their `underpayment` denials, those denials' `denial_lines` by the rules)
    of every claim (`by_rule`: the rules' denials); writes the table and what a night keeps."""
    lake = settings.lake
    tables = {table: lake.read(table, columns) for table, columns in DENIAL_INPUTS.items()}
    priced = underpayments.priced_lines(
        adjudications, tables["remit_claims"], tables["remit_service_lines"], tables["remit_adjustments"],
        fee_schedule, thresholds, denied_claim_keys=by_rule["claim_key"])
    rows = with_billing_provider(underpayments.underpayment_denials(
        priced.underpaid, adjudications, tables["remit_claims"], tables["remit_remarks"], tables["submitted_claims"]),
        lake)
    lines = _denial_lines(rows, tables)
    kept_votes.write(lake, kept_votes.VOTES, priced.votes)
    kept_votes.write(lake, kept_votes.UNPRICED, priced.unpriced)
    _keep_underpayments(lake, priced.underpaid, lines)
    return priced.underpaid, rows, lines


def _keep_underpayments(lake: Lake, underpaid: pl.DataFrame, lines: pl.DataFrame) -> None:
    """What a night keeps of the underpayments besides their votes: the rules' lines of their denials
    (table underpaid_lines is written with the denials, in month parts)."""
    lake.write_state(touched.UNDERPAID_LINES_BY_RULE, lines)
    log.info("underpayments: %d claim(s), %d service line(s) below the expected allowed amount",
             underpaid.filter("is_denial")["claim_key"].n_unique(), underpaid.height)


def _underpayments_of_night(settings: Settings, fee_schedule: pl.DataFrame, thresholds: underpayments.Thresholds,
                            cut: touched.Touched
                            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.Series, pl.DataFrame]:
    """`find_underpayments` with the kept votes: the touched claims' old votes taken back and new
    ones added, then the touched claims priced again, and those with a line whose window holds a
    day whose votes changed and whose modal result moved (underpayments.results_moved: a new vote
    rarely moves a mode); every other claim's rows kept. Reads the adjudications of those claims
    only (the per-claim tables are written by now), and of the kept votes and unpriced lines the
    months the changed days and the priced lines' windows reach (claimback.kept_votes). Also returns
    the claims priced again (the touched among them) and their month parts (`touched.remit_months`)."""
    lake = settings.lake
    t = cut.tables
    delta = _night_votes(lake, cut)
    changed = kept_votes.months_of(delta["remit_date"])
    # the kept lines whose window holds a changed day, priced again only if what the vote gives
    # them (their mode, or its counts where a row shows them) moved: with the votes as they were
    # and as they are, over the months of those windows
    moving = underpayments.windows_moved(
        kept_votes.read(lake, kept_votes.UNPRICED, kept_votes.moved_months(delta["remit_date"])), delta)
    months = sorted({*changed, *kept_votes.window_months(moving["remit_date"])})
    before, votes = _votes_merged(lake, delta, months, changed)
    old_underpaid = lake.read("underpaid_lines")
    shown = old_underpaid.filter(pl.col("expected_source") == underpayments.PAYER_MODAL)["claim_key"].unique()
    moved = underpayments.results_moved(moving, before, votes, shown, thresholds.min_observations)
    del before, votes
    again = pl.concat([cut.remit_keys, moved]).unique()
    # the touched claims' rows as just recomputed and written; those of the others whose result moved read
    others = moved.filter(~moved.is_in(cut.remit_keys.implode()))
    mine = _in_adjudications_order(pl.concat([t["adjudications_after"], _adjudications_of(lake, "claim_key", others)]))
    priced, rows, lines = _priced_with_kept_votes(lake, mine, fee_schedule, thresholds,
                                                  cut=cut if others.is_empty() else None)
    old_denied_keys = old_underpaid.filter("is_denial")["claim_key"].unique()
    kept_rows = among(lake.scan("denials"), "claim_key", old_denied_keys).collect()
    underpaid = touched.merged(old_underpaid, priced.underpaid, again, "claim_key").sort(
        "remit_date", "claim_key", "line_number")
    rows = touched.merged(kept_rows, rows, again, "claim_key")
    lines = touched.merged(lake.read_state(touched.UNDERPAID_LINES_BY_RULE), lines, again, "claim_key")
    # a claim's unpriced lines are in the month of its remit: the months of every claim priced again
    rewritten = kept_votes.months_of(pl.concat([t["remit_claims"]["remit_date"], mine["remit_date"]]))
    kept_unpriced = kept_votes.read(lake, kept_votes.UNPRICED, rewritten)
    kept_votes.write(lake, kept_votes.UNPRICED, touched.merged(kept_unpriced, priced.unpriced, again, "claim_key"),
                     rewritten)
    _keep_underpayments(lake, underpaid, lines)
    log.info("underpayments: %d claim(s) priced again (%d touched; %d of %d whose window moved), "
             "%d month(s) of votes changed", again.len(), cut.remit_keys.len(), moved.len(),
             moving["claim_key"].n_unique(), len(changed))
    months = pl.concat([touched.remit_months(t["remit_claims"]), touched.remit_months(mine)]).unique("claim_key")
    return underpaid, rows, lines, again, months


def _night_votes(lake: Lake, cut: touched.Touched) -> pl.DataFrame:
    """What the night changes in the modal votes: the touched claims' votes as recomputed, less
    their votes as they were (`adjudications_before`); the days whose count moved only."""
    t = cut.tables
    return pl.concat([
        underpayments.claim_votes(t["adjudications_after"], t["remit_claims"], t["remit_service_lines"],
                                  t["remit_adjustments"]),
        underpayments.claim_votes(t["adjudications_before"], t["remit_claims"], t["remit_service_lines"],
                                  t["remit_adjustments"]).with_columns(-pl.col("n")),
    ]).group_by("modal_key", "per_unit", "remit_date").agg(pl.col("n").sum()).filter(pl.col("n") != 0)


def _votes_merged(lake: Lake, delta: pl.DataFrame, months: list[str], changed: list[str]
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The kept votes of `months` before and after the night's `delta`; the `changed` months kept."""
    before = kept_votes.read(lake, kept_votes.VOTES, months)
    # kept votes are one row a (modal key, amount, day) with n not 0: those of a key and day the
    # night has no vote for stay as they are; the others are summed with the night's (10 M claims:
    # 7.6 M kept rows, 2.5 -> 1.6 s)
    days, on = delta.select("modal_key", "remit_date").unique(), ["modal_key", "remit_date"]
    votes = pl.concat([
        before.join(days, on=on, how="anti", nulls_equal=True),
        pl.concat([before.join(days, on=on, how="semi", nulls_equal=True), delta], how="diagonal_relaxed")
        .group_by("modal_key", "per_unit", "remit_date").agg(pl.col("n").sum()).filter(pl.col("n") != 0),
    ], how="diagonal_relaxed")
    kept_votes.write(lake, kept_votes.VOTES, votes, changed)
    return before, votes


def _priced_with_kept_votes(lake: Lake, mine: pl.DataFrame, fee_schedule: pl.DataFrame,
                            thresholds: underpayments.Thresholds, cut: touched.Touched | None = None
                            ) -> tuple[underpayments.Priced, pl.DataFrame, pl.DataFrame]:
    """The claims of `mine` (every adjudication of theirs) priced against the kept votes of their
    windows: (their underpaid lines, votes and unpriced lines; their underpayment denials; those
    denials' lines), reading the remits, histories and 837s of these claims only.

    `cut`: the night's touched claims when `mine` is their adjudications. Their remits, histories,
    837s and rules' denials are then taken from it, not read by key again: the cut holds every
    remit and 837 holding a patient control number or payer claim number of theirs
    (touched.closure), in the table's order, so what a read by key or account number finds among
    the history is found among the cut."""
    keys = mine["claim_key"]
    remit_tables = ("remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks")
    if cut is None:
        inputs = {table: ingest.rows_by_claim_key(lake, table, keys, DENIAL_INPUTS[table], ordered=True)
                  for table in remit_tables}
        denied_claim_keys = lake.rows_where(touched.BY_RULE, "claim_key", keys, ("claim_key",),
                                            ordered=False)["claim_key"]
    else:
        inputs = {table: _of_claims(cut.tables[table], keys) for table in remit_tables}
        denied_claim_keys = _of_claims(cut.tables["by_rule_after"], keys)["claim_key"]
    priced = underpayments.priced_lines(
        mine, inputs["remit_claims"], inputs["remit_service_lines"], inputs["remit_adjustments"], fee_schedule,
        thresholds, denied_claim_keys=denied_claim_keys,
        all_votes=kept_votes.read(lake, kept_votes.VOTES, kept_votes.window_months(mine["remit_date"])))
    # the claims' whole histories and the 837s of their patient control numbers, for their denial rows
    denied_ids = mine.join(priced.underpaid.filter("is_denial").select("claim_key"), on="claim_key", how="semi")
    pcn = touched.pcn_of("patient_control_number")
    if cut is None:
        histories = _adjudications_of(lake, "claim_id", denied_ids["claim_id"])
        history_remits = ingest.rows_by_claim_key(lake, "remit_claims", histories["claim_key"],
                                                  DENIAL_INPUTS["remit_claims"], ordered=True)
        pcns = touched.normalised_pcns(history_remits)
        submitted = ingest.rows_among(lake, "submitted_claims", [(pcn, pcns)], DENIAL_INPUTS["submitted_claims"])
    else:  # a touched claim's every adjudication was recomputed: `mine` holds its whole history
        histories = mine.filter(pl.col("claim_id").is_in(denied_ids["claim_id"].implode()))
        history_remits = _of_claims(cut.tables["remit_claims"], histories["claim_key"])
        pcns = touched.normalised_pcns(history_remits)
        submitted = cut.tables["submitted_claims"].filter(pcn.is_in(pcns.implode()))
    rows = with_billing_provider(underpayments.underpayment_denials(
        priced.underpaid, histories, history_remits, inputs["remit_remarks"], submitted), lake)
    return priced, rows, _denial_lines(rows, inputs)


# A night that prices every claim again reads the adjudications' month parts in groups of about
# this many rows (10 M claims held: six groups, the night at 7.3 GB; read whole, the kernel killed
# it at 24 GB).
PRICE_PART_ROWS = 1_000_000


def _every_claim_priced_of_night(settings: Settings, fee_schedule: pl.DataFrame,
                                 thresholds: underpayments.Thresholds, cut: touched.Touched
                                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """`find_underpayments` on a night that prices every claim again (another fee schedule or
    underpayment setting): the night's votes merged into the kept ones as any night does (a vote
    is the payer's allowed amount, whatever the contract says), then every claim priced against
    them a few month parts of the adjudications at a time (PRICE_PART_ROWS), so that neither the
    adjudications nor a remit table is held whole; what find_underpayments gives and keeps."""
    lake = settings.lake
    delta = _night_votes(lake, cut)
    changed = kept_votes.months_of(delta["remit_date"])
    _votes_merged(lake, delta, changed, changed)
    groups: list[list[str]] = []
    rows_in_group = PRICE_PART_ROWS
    for path in lake.files_of("adjudications"):
        if rows_in_group >= PRICE_PART_ROWS:
            groups, rows_in_group = [*groups, []], 0
        groups[-1].append(str(path))
        rows_in_group += pl.scan_parquet(str(path), glob=False).select(pl.len()).collect().item()
    found = [_priced_with_kept_votes(lake, pl.read_parquet(paths, glob=False), fee_schedule, thresholds)
             for paths in groups]
    underpaid, rows, lines = (pl.concat(part, how="diagonal_relaxed") for part in (
        [p.underpaid for p, _, _ in found], [r for _, r, _ in found], [li for _, _, li in found]))
    kept_votes.write(lake, kept_votes.UNPRICED, pl.concat([p.unpriced for p, _, _ in found]))
    _keep_underpayments(lake, underpaid, lines)
    log.info("underpayments: every claim priced again in %d part(s) of the adjudications", len(groups))
    return underpaid, rows, lines


def _of_claims(rows: pl.DataFrame, keys: pl.Series) -> pl.DataFrame:
    """The rows of these claim keys, in the rows' order."""
    return rows.join(keys.unique().cast(pl.String).to_frame("claim_key"), on="claim_key", how="semi",
                     maintain_order="left")


def _adjudications_of(lake: Lake, key: str, keys: pl.Series) -> pl.DataFrame:
    """Every column of the adjudications whose `key` is one of `keys`, in the table's order."""
    columns = lake.scan("adjudications").collect_schema().names()
    return _in_adjudications_order(lake.rows_where("adjudications", key, keys, columns))


def _in_adjudications_order(adjudications: pl.DataFrame) -> pl.DataFrame:
    return adjudications.sort(touched.PART_ORDER["adjudications"], nulls_last=True)


def front_door_rejections(lake: Lake) -> pl.DataFrame:
    """Write `claim_rejections`: the claims a 999 or 277CA rejected (claimback.rejections), each
    with its 837 and whether it is still rejected (no later acceptance, no 835 since); only the
    837s an acknowledgment can concern are read (`rejections.acknowledged_837s`), with their
    matches, and the adjudications of the claim numbers the acknowledgments or those 837s name (a
    rejection whose 837 is not in the inbox is cleared by an 835 of its claim number)."""
    acknowledgments, acknowledged = lake.read("acknowledgments"), lake.read("acknowledged_claims")
    scan = lake.scan("submitted_claims")
    present = scan.collect_schema()
    claims = acknowledged_837s(scan, acknowledgments, acknowledged).select(
        c for c in CLAIM_INPUTS if c in present).collect()
    matches = lake.rows_where(touched.MATCHES, "submitted_claim_key", claims["claim_key"],
                              ("remit_claim_key", "submitted_claim_key", "match_method"))
    pcns = touched.normalised_pcns(pl.concat([
        claims["patient_control_number"], acknowledged["patient_control_number"],
        acknowledgments["error_patient_control_numbers"].explode().alias("patient_control_number")]).to_frame())
    adjudications = among(lake.scan_unordered("adjudications", REJECTION_ADJUDICATIONS),
                          touched.pcn_of("patient_control_number"), pcns).collect()
    rejections = claim_rejections(acknowledgments, acknowledged, claims, adjudications, matches)
    lake.write_derived("claim_rejections", rejections)
    return rejections


# What clearing a rejection by an 835 reads of the adjudications (rejections._cleared).
REJECTION_ADJUDICATIONS = ("patient_control_number", "remit_date", "payer_id", "payer_name", "practice_key")


def with_billing_provider(denied: pl.DataFrame, lake: Lake) -> pl.DataFrame:
    """`billing_npi` and `billing_tax_id` of each denial: its 837's billing provider, else the
    payee of the 835 that denied it. A practice's trends and packets are keyed on them. Only the
    denied claims' 837s, remits and payments are read."""
    remits = ingest.rows_by_claim_key(lake, "remit_claims", denied["claim_key"],
                                      ("claim_key", "payee_npi", "payee_tax_id", "transaction_hash"), ordered=True)
    providers = claim_providers(
        denied.select("claim_key", "submitted_claim_key"),
        ingest.rows_by_claim_key(lake, "submitted_claims", denied["submitted_claim_key"],
                                 ("claim_key", "billing_npi", "billing_tax_id"), ordered=True),
        remits,
        lake.rows_where("remit_payments", "transaction_hash", remits["transaction_hash"],
                        ("transaction_hash", "payee_name", "payee_tax_id")),
    ).select("claim_key", pl.col("provider_npi").alias("_npi"), pl.col("provider_tin").alias("_tin"))
    return schema.conform(
        denied.join(providers, on="claim_key", how="left").with_columns(
            billing_npi=pl.coalesce("billing_npi", "_npi"), billing_tax_id=pl.col("_tin")),
        "denials")


# --- trends ----------------------------------------------------------------------------------
# What the cluster descriptions read from the 837s (plan, NPIs, place of service, procedures,
# modifiers, prior authorization, payer): the rest of those tables stays on disk.
TREND_INPUTS = {
    "submitted_claims": (
        "claim_key", "payer_id", "payer_name", "claim_filing_indicator", "rendering_npi", "place_of_service",
        "prior_authorization",
    ),
    "submitted_service_lines": ("claim_key", "procedure_code", "modifiers", "rendering_npi", "place_of_service",
                                "prior_authorization"),
}


def find_trends(settings: Settings) -> TrendsFound:
    lake = settings.lake
    rules = load_rules(settings.payer_rules)
    # A cluster holds the denials remitted in the window only; the denials and underpaid lines are
    # kept in parts by remit month, so the window's rows are read from its months' files, not the
    # history's (row groups whose remit dates all fall outside it are skipped by their statistics).
    in_window = pl.col("remit_date").is_between(
        settings.as_of - timedelta(days=trends.DEFAULT_LOOKBACK_DAYS - 1), settings.as_of)
    window = lake.scan("denials").filter(in_window).collect()
    thresholds = {
        payer_id or payer_name: rules.for_payer(payer_id, payer_name).trend_threshold
        for payer_id, payer_name in window.select("payer_id", "payer_name").unique().iter_rows()
        if payer_id or payer_name
    }
    # The clusters read the 837s of the window's denials, those read the night before kept
    # (lake/state/trend_window_*: the window slides by a day); the lift compares them with every 837
    # of their payers, counted per batch and kept (payer_counts), so the history's 837s are not read.
    sent = window["submitted_claim_key"]
    clusters, members = trends.find_clusters(
        window,
        as_of=settings.as_of,
        thresholds_by_payer=thresholds,
        **{table: ingest.rows_by_claim_key_kept(lake, table, sent, TREND_INPUTS[table], kept=f"trend_window_{table}",
                                                forget=settings.from_scratch) for table in TREND_INPUTS},
        payer_counts=payer_counts(settings),
        # an authorization burst on a procedure the payer used to pay is the payer's trend; counted
        # for the claims of flagged authorization clusters, the only ones it is read for
        paid_before=lambda claims: window_paid_before(lake, window.join(claims, on="claim_key", how="semi"),
                                                      in_window),
        underpaid_lines=lake.scan("underpaid_lines").filter(in_window).collect(),
    )
    previous = set(_reported_trend_clusters(lake))
    lake.write_derived("trend_clusters", clusters)
    lake.write_derived("trend_cluster_claims", members)
    # What changed since the last run, for the check that tells analysts a new trend appeared.
    lake.write_state("new_trend_clusters", clusters.filter(
        (pl.col("status") == "flagged") & ~pl.col("cluster_id").is_in(sorted(previous))))
    packets = write_trend_packets(settings, rules, clusters, members, window)
    log.info("trends: %d flagged clusters, %d emerging signatures",
             (clusters["status"] == "flagged").sum(), (clusters["status"] == "emerging").sum())
    return TrendsFound(clusters=clusters, packets=packets.height)


def window_paid_before(lake: Lake, window: pl.DataFrame, in_window: pl.Expr | None = None) -> pl.DataFrame:
    """`evidence.paid_before` of the window's denials (the only claims a cluster holds), counted from
    the payments the denials stage keeps (`kept_routes.payments_for`: those of the denials' practices,
    payers and procedures in the months that can count), with the practice and payer of the denials'
    own remits read by key: a night reads neither the remits of a year nor their lines and 837s.
    Without kept payments (the denials stage of other code), counted from the lake's remits.
    `in_window`: the window's remit dates, which the denials' own remit claims are read within."""
    own = ingest.rows_by_claim_key(lake, "remit_claims", window["claim_key"], ROUTING_INPUTS["remit_claims"],
                                   within=in_window)
    denied = evidence.paid_before_keys(window, own)
    payments = kept_routes.payments_for(lake, denied)
    if payments is None:
        return evidence.paid_before(window, *(lake.scan_unordered(table, ROUTING_INPUTS[table]) for table in (
            "remit_claims", "remit_service_lines", "submitted_claims")))
    return evidence.paid_before_from(denied, payments)


def payer_counts(settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`trends.payer_feature_counts` of every 837 in the lake, from counts kept per batch of the
    current tables with the fingerprint consolidation gave the batch (lake/state/trend_payer_counts):
    a batch is counted the night its part is first written, and again only when it is written again."""
    lake = settings.lake
    columns = TREND_INPUTS["submitted_claims"], TREND_INPUTS["submitted_service_lines"]
    batches = lake.read_state(ingest.CONSOLIDATED)
    if batches.is_empty() or "batch" not in batches.columns:  # nothing consolidated in parts: count it all
        return trends.payer_feature_counts(lake.read("submitted_claims", columns[0]),
                                           lake.read("submitted_service_lines", columns[1]))
    batches = batches.with_columns(version=pl.lit(PAYER_COUNTS_VERSION))
    kept = lake.read_state(PAYER_COUNTS)
    if settings.from_scratch or not set(batches.columns) <= set(kept.columns):
        kept = pl.DataFrame()
    else:
        kept = kept.join(batches, on=batches.columns, how="semi", nulls_equal=True)
    todo = batches if kept.is_empty() else batches.join(kept, on=batches.columns, how="anti", nulls_equal=True)
    counted = [kept]
    for batch in todo["batch"]:
        features, claims = trends.payer_feature_counts(lake.read_parts("submitted_claims", [batch], columns[0]),
                                                       lake.read_parts("submitted_service_lines", [batch], columns[1]))
        counted.append(pl.concat([features, claims], how="diagonal").join(
            todo.filter(pl.col("batch") == batch), how="cross"))
    every = pl.concat(counted, how="diagonal_relaxed").select(
        *batches.columns, "submitted_payer", "feature", "value", "claims", "population")
    lake.write_state(PAYER_COUNTS, every)
    features = every.filter(pl.col("claims").is_not_null()).group_by("submitted_payer", "feature", "value").agg(
        pl.col("claims").sum())
    claims = every.filter(pl.col("population").is_not_null()).group_by("submitted_payer").agg(
        pl.col("population").sum())
    return features, claims


def write_trend_packets(settings: Settings, rules, clusters: pl.DataFrame, members: pl.DataFrame,
                        denied: pl.DataFrame) -> pl.DataFrame:
    """A packet per flagged cluster, naming its practice, the payer's channel and the window."""
    lake = settings.lake
    private_dir(settings.warehouse / "packets")
    flagged = members.filter(pl.col("status") == "flagged").select("claim_key")
    mine = denied.join(flagged, on="claim_key", how="semi")
    # the flagged claims' 837s, remits and payments only, read by key (one row a claim key: in no
    # order), those read the night before kept (the clusters change little from one night to the next)
    remits = ingest.rows_by_claim_key_kept(lake, "remit_claims", mine["claim_key"],
                                           ("claim_key", "payee_npi", "payee_tax_id", "transaction_hash"),
                                           kept="trend_packet_remit_claims", forget=settings.from_scratch)
    mine = mine.join(claim_providers(
        mine, ingest.rows_by_claim_key_kept(lake, "submitted_claims", mine["submitted_claim_key"],
                                            ("claim_key", "billing_name", "billing_npi", "billing_tax_id",
                                             "billing_address", "billing_contact_name", "billing_contact_phone",
                                             "billing_contact_email"),
                                            kept="trend_packet_submitted_claims", forget=settings.from_scratch),
        remits,
        lake.rows_where("remit_payments", "transaction_hash", remits["transaction_hash"],
                        ("transaction_hash", "payee_name", "payee_tax_id")),
    ), on="claim_key", how="left")
    payer_rules = rules.payers_frame(clusters)
    clusters = clusters.join(payer_rules.select("payer_id", "payer_name", "payer_rule"),
                             on=["payer_id", "payer_name"], how="left", nulls_equal=True)
    clusters = clusters.join(window_notes(members, mine, rules, settings.as_of), on="cluster_id", how="left")
    directory = provider_directory(settings)
    previous = lake.read("trend_packets")
    # providers without a profile are said once per run, by the request packets (the last to draw)
    packets = forms.write_packets(clusters, members, mine, directory, settings.warehouse / "packets" / "trends",
                                  as_of=settings.as_of, previous=previous)
    packets = _relative_to_warehouse(packets, settings, "pdf_path", "csv_path")
    lake.write_derived("trend_packets", packets)
    return packets


# The flagged clusters of the last run that published. A new trend is new against these, not
# against the last run's lake tables: a run that found a trend and then failed never showed it to
# anyone, and the run after it must still raise the alert.
REPORTED_TRENDS = "reported_trend_clusters"


def _reported_trend_clusters(lake: Lake) -> list[str]:
    reported = lake.read_state(REPORTED_TRENDS)
    if "cluster_id" in reported.columns:
        return reported["cluster_id"].to_list()
    # a warehouse from before this was kept: the last run's clusters, as the check used to do
    return lake.read("trend_clusters").filter(pl.col("status") == "flagged")["cluster_id"].to_list()


def _relative_to_warehouse(packets: pl.DataFrame, settings: Settings, *columns: str) -> pl.DataFrame:
    """Packet paths relative to the warehouse: the folder can move, and reruns publish the same table."""
    return packets.with_columns(pl.col(*columns).map_elements(
        lambda p: Path(p).relative_to(settings.warehouse).as_posix(), return_dtype=pl.String,
        skip_nulls=True))


def provider_directory(settings: Settings):
    """The run's provider profiles (one per billing NPI/TIN) from --provider-profile, if given."""
    return ProviderDirectory.from_file(settings.provider_profile)


def report_missing_profiles(directory) -> None:
    """Said once per run, naming the providers (NPI/TIN, no patient data)."""
    message = directory.missing_message()
    if message:
        log.warning(message)


# --- routing ---------------------------------------------------------------------------------
# What the evidence rules read from the 837s and 835s (member ids only to find a claim's twins,
# never written out).
ROUTING_INPUTS = {
    "submitted_claims": (
        "claim_key", "payer_id", "payer_name", "billing_npi", "subscriber_member_id", "patient_control_number",
        "statement_from", "prior_authorization", "referral_number", "payer_responsibility",
        "other_payer_responsibility", "other_payer_name", "submitted_on", "claim_filing_indicator",
    ),
    "submitted_service_lines": ("claim_key", "procedure_code", "prior_authorization"),
    "remit_claims": (
        "claim_key", "payer_id", "payer_name", "payee_npi", "member_id", "patient_control_number",
        "payer_claim_control_number", "remit_date", "statement_from", "is_reversal", "claim_filing_indicator",
    ),
    "remit_service_lines": ("claim_key", "procedure_code", "service_date", "paid_amount"),
}
def route_denials(settings: Settings) -> QueueBuilt:
    queue, report, log_rows = build_queue(settings)
    lake = settings.lake
    # ordered once, whole: each part's rows are worked out alone (2.2 M rows at 8 M claims)
    queue = in_queue_order(with_unanswered_claims(settings, with_recoupments(settings, queue)))
    lake.write_derived("work_queue", queue)
    lake.write_derived("reconsideration_outcomes", schema.conform(log_rows, "reconsideration_outcomes"))
    log.info("work queue: %d claims routed (overturn model: %s)", queue.height, report.used)
    packets = write_request_packets(settings, queue, log_rows)
    return QueueBuilt(work_queue=queue, model=report, packets=packets.height)


class KeptOverturnModel:
    """The overturn model last fitted, kept in lake/state with the fingerprint of what it learned
    from (claimback.routing.overturn.training_fingerprint): a night whose decided Level I outcomes
    and their denials are last night's reuses it instead of fitting again (1 M claims: 7.5 s)."""

    TABLE = OVERTURN_MODEL

    def __init__(self, lake: Lake):
        self.lake = lake

    def load(self, fingerprint: str):
        kept = self.lake.read_state(self.TABLE)
        if kept.columns != ["fingerprint", "model"] or kept.height != 1 or kept["fingerprint"][0] != fingerprint:
            return None
        try:
            return pickle.loads(kept["model"][0])
        except Exception:  # noqa: BLE001 - a model kept by other code is fitted again, never trusted
            log.warning("the kept overturn model could not be read; fitting it again")
            return None

    def save(self, fingerprint: str, model) -> None:
        self.lake.write_state(self.TABLE, pl.DataFrame(
            {"fingerprint": [fingerprint], "model": [pickle.dumps(model)]},
            schema={"fingerprint": pl.String, "model": pl.Binary}))


def build_queue(settings: Settings):
    """(work queue, overturn model report, reconsideration log with inferred outcomes) from the lake."""
    lake = settings.lake
    rules = load_rules(settings.payer_rules)
    requests = lake.read("reconsiderations")
    denied, members, resolved = lake.read("denials"), lake.read("trend_cluster_claims"), lake.read("recovered_claims")
    adjudications = routed_adjudications(lake, requests, pl.concat([denied["claim_key"], resolved["claim_key"]]))
    log_rows = lifecycle.infer_level1_outcomes(requests, adjudications)
    # Each claim's route and evidence (what the routing rules read from the 837s and 835s:
    # authorization, referral, COB loops, 837 date, twins), kept from last night where its inputs
    # did not change; deadlines and priorities are worked out below for every row.
    routed = kept_routes.routed_claims(
        lake, rules, ROUTING_INPUTS, denials=denied, log_rows=normalise_log(log_rows), trend_members=members,
        resolved=resolved, adjudications=adjudications, from_scratch=settings.from_scratch)
    queue, report = build_work_queue(
        denied, log_rows, members, rules, settings.as_of, resolved=resolved,
        history=adjudications,  # won appeals drop out of `denials`: learn from every adjudication
        kept_models=KeptOverturnModel(lake), routed=routed,
    )
    return queue, report, log_rows


def routed_adjudications(lake: Lake, requests: pl.DataFrame, routed: pl.Series) -> pl.DataFrame:
    """The adjudications routing works on, in the table's order: every adjudication of a claim a
    logged request names (by account number, or payer claim number now or before: the Level I
    outcomes inferred from later 835s, and the overturn model's training rows, which are the
    requests' claims' first denials), and those of the `routed` claim keys (their CLP02); not every
    adjudication of the history (1 M claims, 60 k requests: 186 k of 1,046 k rows). Each condition
    is a semi join on its key's column alone, giving the rows' places in the table, and the rows
    are read by place: `is_in` over the long lists of keys cost twice as much (6.1 M adjudications,
    169 k requests, 688 k routed keys: 10.5 -> 6.5 CPU s), the rows joined whole held 1.3 GB more."""
    adjudications = lake.scan("adjudications").with_row_index("_row")

    def rows_of(column: str, keys: pl.Series) -> pl.LazyFrame:
        return among(adjudications.select(*dict.fromkeys(("_row", "claim_id", column))), column, keys).select(
            "_row", "claim_id")

    icns = requests["payer_claim_control_number"]
    named = pl.concat([rows_of("patient_control_number", requests["patient_control_number"]),
                       rows_of("payer_claim_control_number", icns),
                       rows_of("original_payer_claim_control_number", icns)]).collect()
    rows = pl.concat([named.lazy(), rows_of("claim_id", named["claim_id"]), rows_of("claim_key", routed)]).select(
        "_row").unique().collect()["_row"]
    return among(adjudications, "_row", rows).drop("_row").collect()


def with_recoupments(settings: Settings, queue: pl.DataFrame) -> pl.DataFrame:
    """The queue plus a `recoupment` row per payment taken back and not paid again (issue 14),
    not in queue order; writes the `recoupments` table they come from."""
    lake = settings.lake
    # a recoupment is a latest adjudication that reverses a payment: only those are read
    recouped = denial_rules.recoupments(
        lake.scan("adjudications").filter(pl.col("is_latest") & pl.col("is_reversal") & (pl.col("paid_amount") < 0))
        .collect(), settings.as_of, settings.recoupment_wait_days)
    lake.write_derived("recoupments", recouped)
    if recouped.height == 0:
        return queue
    rows = recoupment_queue(recouped, load_rules(settings.payer_rules), settings.as_of)
    return pl.concat([queue, rows.select(queue.columns)])


def with_unanswered_claims(settings: Settings, queue: pl.DataFrame) -> pl.DataFrame:
    """The queue plus a row per silent claim (claim_status_inquiry) and per claim still rejected at
    the front door (corrected_claim), with every overdue request made a follow-up (issue 22); not in
    queue order. `follow_ups` works row by row, so each part is followed up alone: the silent
    claims' rows (most of a long history's queue) are only looked at, not joined and copied."""
    lake, rules = settings.lake, load_rules(settings.payer_rules)
    ask = lambda payer_rule: channel(payer_rule, "status").send_to  # noqa: E731
    rows = [silent_claim_queue(lake.read("silent_claims", SILENT_INPUTS), rules, settings.as_of, ask),
            rejection_queue(lake.read("claim_rejections"), rules, settings.as_of)]
    return pl.concat([follow_ups(part, ask) for part in (queue, *(r.select(queue.columns) for r in rows))])


# Pre-filled Level I / Level II requests for the most valuable claims each night; the rest
# are written on demand. Bounded so a million-claim night does not render thousands of PDFs.
REQUEST_PACKETS_PER_RUN = 200


def write_request_packets(settings: Settings, queue: pl.DataFrame, log_rows: pl.DataFrame) -> pl.DataFrame:
    lake = settings.lake
    out_dir = settings.warehouse / "packets" / "requests"
    private_dir(out_dir.parent)
    # The PHI-bearing 837/835 columns are read for the claims that get a packet, and only here.
    longest = longest_windows(settings)
    wanted = request_decisions(queue, REQUEST_PACKETS_PER_RUN, longest, settings.as_of).filter(
        pl.col("write")).select("claim_key")
    denied = lake.read("denials").join(wanted, on="claim_key", how="semi")
    remits = _read_semi(lake, "remit_claims", denied, "claim_key")
    facts = packet_facts(
        denied,
        submitted_claims=_read_semi(lake, "submitted_claims", denied, "submitted_claim_key"),
        remit_claims=remits,
        remit_payments=lake.rows_where("remit_payments", "transaction_hash", remits["transaction_hash"],
                                       FACT_INPUTS["remit_payments"]),
        denial_lines=_read_semi(lake, "denial_lines", denied, "claim_key"),
        submitted_service_lines=_read_semi(lake, "submitted_service_lines", denied, "submitted_claim_key"),
        underpaid_lines=_read_semi(lake, "underpaid_lines", denied, "claim_key"),
    )
    previous = lake.read("request_packets")
    directory = provider_directory(settings)
    packets = write_reconsideration_packets(
        queue, facts, directory, out_dir, reconsiderations=log_rows, max_packets=REQUEST_PACKETS_PER_RUN,
        previous=_absolute_paths(previous, settings, "pdf_path"), longest_window_days=longest, as_of=settings.as_of,
    )
    for npi, tin in lake.read("trend_packets", ("billing_npi", "billing_tin")).iter_rows():
        directory.for_claim(ProviderProfile(npi=npi or FILL_IN, tin=tin or FILL_IN))  # tonight's trend packets too
    report_missing_profiles(directory)
    packets = _relative_to_warehouse(packets, settings, "pdf_path")
    lake.write_derived("request_packets", packets)
    return packets


def longest_windows(settings: Settings) -> dict[int, int]:
    """The longest Level I and Level II window any payer rule documents (days + mail days)."""
    windows = load_rules(settings.payer_rules).windows_frame()
    return {level: int(windows.filter(pl.col("rule_level") == f"level{level}")
                       .select((pl.col("window_days") + pl.col("mail_days").fill_null(0)).max()).item())
            for level in (1, 2)}


def _read_semi(lake, table: str, denied: pl.DataFrame, key: str) -> pl.DataFrame:
    """The FACT_INPUTS columns of `table` for the denied claims (by their `key`) only, in the table's
    order, read by predicate: a night's few hundred packets do not read the history's lines."""
    if table in ingest.KEYED_BY_THEIR_FILE:
        return ingest.rows_by_claim_key(lake, table, denied[key], FACT_INPUTS[table], ordered=True)
    return lake.rows_where(table, "claim_key", denied[key], FACT_INPUTS[table])


def _absolute_paths(packets: pl.DataFrame, settings: Settings, *columns: str) -> pl.DataFrame:
    present = [c for c in columns if c in packets.columns]
    if packets.is_empty() or not present:
        return packets
    return packets.with_columns(pl.col(c).map_elements(
        lambda p: str(settings.warehouse / p), return_dtype=pl.String) for c in present)


# --- publish ---------------------------------------------------------------------------------
def publish(settings: Settings, sql_dir: Path | None):
    """Publish claimback.duckdb; and the de-identified copy when asked for, or when one exists:
    a copy shared outside the billing team must never be older than the file it was made from,
    whichever way the run was started (UI and sensor runs do not pass --deidentify)."""

    published = publishing.publish(settings.lake, sql_dir, as_of=settings.as_of)
    if settings.deidentify or (settings.warehouse / publishing.DEIDENTIFIED_NAME).exists():
        published.deidentified = publishing.publish_deidentified(settings.warehouse, sql_dir)
    flagged = settings.lake.read("trend_clusters", ("cluster_id", "status"))
    settings.lake.write_state(REPORTED_TRENDS, flagged.filter(pl.col("status") == "flagged").select("cluster_id"))
    return published
