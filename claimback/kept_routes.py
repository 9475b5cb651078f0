"""Routing that follows the night's changes: which claims' queue rows are worked out again.

A queue row has two parts. What does not move with the as-of date — the route, the evidence, the
Level I/II state, the trend membership, the payer rule (`queue.route_claims`) — depends on the claim
and on a few groups of other claims: the evidence rules count other 837s of the same visit, look for
a paid twin of the same member, count the payer's recent payments of the procedure. What moves with
the date — deadline, days left, expiry, P(overturn) (its days to file) and priority
(`queue.rank_claims`) — is worked out for every row every night, from the kept rows (one per open
denial or resolved claim: cheap).

So a night keeps the first part of every row (lake/state/routing_rows) with fingerprints of what it
was made from (routing_inputs: a hash of each claim's denials row, resolved row, flagged trend
cluster and CLP02, and of each patient control number's latest Level I and Level II filing;
routing_batches: the current tables' batches as consolidation fingerprinted them), and works the
first part out again only for the claims whose inputs changed:

* their denials row, resolved row (recovered_claims), flagged trend cluster or CLP02 changed,
  appeared or went, or their patient control number's latest Level I or Level II filing did;
* a batch added tonight holds an 837 of the same payer, billing NPI, member and date (the
  submissions count), a paid 835 of the same payee, member and payer (a paid twin), or a payment by
  the payer to the payee of one of the claim's procedures in the 180 days before its remit (paid
  before; an older payment counts as new when a new 837 of its account number and payer has no
  authorization). The payments "paid before" counts are kept by the denials stage
  (touched.PAYMENTS, per claim in month parts); routing reads those of the claims' practices,
  payers and procedures and days, not the remits.

Anything else — a batch rewritten or gone, kept state missing or written by other code or under
other payer rules, a claim listed twice in the denials — and every row is worked out again: never a
guess; so too when most rows would be (MOST), where the whole tables cost less than their groups,
and when the denials stage kept no payments. Those rows are worked out from the lake's rows of
their groups only (`_reader_rows`), so a quiet night reads a few thousand rows of the 837s and
835s, not the history.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from claimback import ingest, kept_votes, touched
from claimback.among import among
from claimback.lake import CURRENT_ORDER, Lake
from claimback.lifecycle import blank_to_null
from claimback.routing.evidence import PAID_BEFORE_DAYS, denials_paid_before_counts, paid_before_keys
from claimback.routing.queue import _flagged_members, _level_state, payer_denials, route_claims
from claimback.routing.rules import PayerRules

log = logging.getLogger(__name__)

# Bumped whenever route_claims or what this module fingerprints changes: rows kept by other code
# are never reused. 3: "paid before" counted for authorization denials only.
STATE_VERSION = "3"
ROWS, INPUTS, BATCHES, STAMP = "routing_rows", "routing_inputs", "routing_batches", "routing_stamp"
STATE_TABLES = (STAMP, ROWS, INPUTS, BATCHES)  # the stamp first: deleted first, written last

_READER = ("submitted_claims", "submitted_service_lines", "remit_claims", "remit_service_lines")
# Past this share of the rows to work out again (in a queue of SOME rows or more), their groups reach
# most of the 837s and 835s and the whole tables are cheaper to route (1 M claims and a 100 k night
# whose remits span nine months: 78 k of 111 k rows again took 64 CPU s, routing everything 36 s).
MOST, SOME = 0.25, 10_000


def routed_claims(lake: Lake, rules: PayerRules, columns: Mapping[str, Sequence[str]], *, denials: pl.DataFrame,
                  log_rows: pl.DataFrame, trend_members: pl.DataFrame, resolved: pl.DataFrame,
                  adjudications: pl.DataFrame, from_scratch: bool = False) -> pl.DataFrame:
    """`queue.route_claims` for every claim, the unchanged rows kept from the last night (see the
    top); `columns`: the columns of the 837 and 835 tables the evidence reads (stages.ROUTING_INPUTS).
    `log_rows` is `queue.normalise_log`'s. Keeps tonight's rows and fingerprints for the next night."""
    stamp = _stamp(rules)
    inputs = _fingerprints(denials, log_rows, trend_members, resolved, adjudications)
    batches = lake.read_state(ingest.CONSOLIDATED)
    why = _why_whole(lake, stamp, denials, batches, from_scratch)
    rows = None if why else _with_changed_rows(lake, rules, columns, inputs, batches, denials, log_rows,
                                                trend_members, resolved, adjudications)
    if rows is None:
        log.info("routing: every claim routed again (%s)", why or "most claims' inputs changed")
        rows = _every_claim_routed(lake, rules, columns, denials, log_rows, trend_members, resolved, adjudications)
    _keep(lake, stamp, rows, inputs, batches)
    return rows


# Every claim routed again: up to this many rows (denials and resolved claims) from the 837s and 835s
# read whole, which costs the least CPU; past it in parts of about this many rows, each reading only
# the rows of its claims' evidence groups as a night does, so memory follows the part, not the
# history (10 M claims, 907 k rows routed from the tables whole: 18.9 GB).
PART_ROWS = 250_000


def _every_claim_routed(lake: Lake, rules: PayerRules, columns: Mapping[str, Sequence[str]], denials: pl.DataFrame,
                        log_rows: pl.DataFrame, trend_members: pl.DataFrame, resolved: pl.DataFrame,
                        adjudications: pl.DataFrame) -> pl.DataFrame:
    routed = denials.height + resolved.height
    if routed <= PART_ROWS:
        reader = {table: lake.read(table, columns[table]) for table in _READER}
        payments = _payments_counted_for(lake, denials, reader["remit_claims"])
        return route_claims(denials, log_rows, trend_members, rules, resolved, adjudications, *reader.values(),
                            payments=payments)
    parts = -(-routed // PART_ROWS)
    # a claim's rows in one part; the resolved claims without a key (found by account number) in the first
    part = pl.when(pl.col("claim_key").is_null()).then(0).otherwise(pl.col("claim_key").hash(seed=0) % parts)
    known = payer_denials(denials).select("claim_key", "patient_control_number")
    out = []
    for number in range(parts):
        some, also = denials.filter(part == number), resolved.filter(part == number)
        mine = among(adjudications.lazy(), "claim_key", pl.concat([some["claim_key"], also["claim_key"]])).collect()
        out.append(_routed_from_groups(lake, rules, columns, some, also, mine, log_rows, trend_members, known))
        log.info("routing: part %d of %d routed (%d rows)", number + 1, parts, out[-1].height)
    return pl.concat(out, how="diagonal_relaxed")


def _why_whole(lake: Lake, stamp: str, denials: pl.DataFrame, batches: pl.DataFrame, from_scratch: bool) -> str:
    if from_scratch:
        return "from scratch"
    kept = lake.read_state(STAMP)
    if kept.columns != ["stamp"] or kept["stamp"].to_list() != [stamp]:
        return "no rows kept by this code and these payer rules"
    if not all(lake.state_path(table).exists() for table in STATE_TABLES):
        return "kept rows incomplete"
    denials_read = lake.read_state(touched.BATCHES)
    if not lake.files_of(touched.PAYMENTS) or denials_read.columns != batches.columns or not denials_read.equals(
            batches):
        return "the denials stage's kept payments not of tonight's batches"
    if payer_denials(denials)["claim_key"].is_duplicated().any():
        return "a claim listed twice in the denials"
    before = lake.read_state(BATCHES)
    if batches.is_empty() or not ingest.batches_stand(before, batches):
        return "a batch of the current tables rewritten or gone"
    return ""


def _stamp(rules: PayerRules) -> str:
    """The code, Polars (row hashes) and the payer rules' exact text the kept rows were made under."""
    text = Path(rules.path).read_bytes() if rules.path and Path(rules.path).is_file() else b""
    return hashlib.sha256(repr((STATE_VERSION, pl.__version__, rules.version)).encode() + text).hexdigest()


def _hashed(component: str, frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """(component, key, h, n): each key's rows of `frame` as one order-free hash and a count."""
    return (frame.select(pl.col(key).cast(pl.String).alias("key"), h=frame.hash_rows(seed=0))
            .group_by("key").agg(pl.col("h").sum(), n=pl.len())
            .select(pl.lit(component).alias("component"), "key", "h", pl.col("n").cast(pl.Int64)))


def _fingerprints(denials: pl.DataFrame, log_rows: pl.DataFrame, trend_members: pl.DataFrame,
                  resolved: pl.DataFrame, adjudications: pl.DataFrame) -> pl.DataFrame:
    """What each claim's route_claims row is made from, apart from the 837/835 groups (batches).
    `adjudications` holds at least every adjudication of the routed claim keys (stages.routed_adjudications):
    a claim's CLP02 is its own rows'."""
    return pl.concat([
        _hashed("denial", payer_denials(denials), "claim_key"),
        _hashed("resolved", resolved, "claim_key"),
        _hashed("trend", _flagged_members(trend_members), "claim_key"),
        _hashed("status", adjudications.select("claim_key", "claim_status_code"), "claim_key"),
        _hashed("level1", _level_state(log_rows, 1), "patient_control_number"),
        _hashed("level2", _level_state(log_rows, 2), "patient_control_number"),
    ])


def _keep(lake: Lake, stamp: str, rows: pl.DataFrame, inputs: pl.DataFrame, batches: pl.DataFrame) -> None:
    """The stamp goes first and comes back last: a night that stops half way leaves no stamp, and
    the next night routes every claim again."""
    lake.state_path(STAMP).unlink(missing_ok=True)
    lake.write_state(ROWS, rows)
    lake.write_state(INPUTS, inputs)
    lake.write_state(BATCHES, batches)
    lake.write_state(STAMP, pl.DataFrame({"stamp": [stamp]}))


def _with_changed_rows(lake: Lake, rules: PayerRules, columns: Mapping[str, Sequence[str]], inputs: pl.DataFrame,
                       batches: pl.DataFrame, denials: pl.DataFrame, log_rows: pl.DataFrame,
                       trend_members: pl.DataFrame, resolved: pl.DataFrame,
                       adjudications: pl.DataFrame) -> pl.DataFrame | None:
    """Tonight's rows: the kept ones, those whose inputs changed worked out again; None when that
    is most of them (MOST)."""
    kept_inputs = lake.read_state(INPUTS)
    changed = pl.concat([inputs.join(kept_inputs, on=inputs.columns, how="anti", nulls_equal=True),
                         kept_inputs.join(inputs, on=inputs.columns, how="anti", nulls_equal=True)])
    by_claim = changed.filter(~pl.col("component").is_in(["level1", "level2"]))["key"]
    by_account = changed.filter(pl.col("component").is_in(["level1", "level2"]))["key"]
    new_batches = batches.join(lake.read_state(BATCHES), on=batches.columns, how="anti", nulls_equal=True)
    denied = payer_denials(denials)
    reached = _touched_by_new_rows(lake, new_batches["batch"].to_list(), denied)
    account = pl.col("patient_control_number").is_in(by_account.implode())
    keys = pl.concat([
        by_claim.drop_nulls(), reached,
        denied.filter(account)["claim_key"], resolved.filter(account)["claim_key"],
    ]).unique().drop_nulls()
    # a resolved claim without a key is found by its account number alone: always worked out again
    again = pl.col("claim_key").is_in(keys.implode()) | pl.col("claim_key").is_null()
    rows = denials.height + resolved.height
    if rows >= SOME and denials.filter(again).height + resolved.filter(again).height > MOST * rows:
        return None
    fresh = _routed_from_groups(lake, rules, columns, denials.filter(pl.col("claim_key").is_in(keys.implode())),
                                resolved.filter(again), adjudications.filter(pl.col("claim_key").is_in(keys.implode())),
                                log_rows, trend_members, denied.select("claim_key", "patient_control_number"))
    kept = lake.read_state(ROWS).filter(~again)
    log.info("routing: %d of %d rows worked out again (%d claims' inputs changed, %d touched by %d new batches)",
             fresh.height, kept.height + fresh.height, by_claim.n_unique(), reached.len(), new_batches.height)
    return pl.concat([kept, fresh], how="diagonal_relaxed")


def _routed_from_groups(lake: Lake, rules: PayerRules, columns: Mapping[str, Sequence[str]], denials: pl.DataFrame,
                        resolved: pl.DataFrame, adjudications: pl.DataFrame, log_rows: pl.DataFrame,
                        trend_members: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """`route_claims` for some of the claims (`known`: every denial, for a resolved claim's lookup),
    from the 837 and 835 rows of their evidence groups only and the kept payments that can count
    for them, not the tables whole."""
    reader = _reader_rows(lake, columns, denials, resolved)
    return route_claims(denials, log_rows, trend_members, rules, resolved, adjudications, *reader, known=known,
                        payments=_payments_counted_for(lake, denials, reader[2]))


# --- the evidence's groups ----------------------------------------------------------------------
def _scan(lake: Lake, table: str, columns: Sequence[str]) -> pl.LazyFrame:
    """`columns` of a lake table and its row-order columns, as a lazy scan in no order."""
    return lake.scan_unordered(table, (*columns, *CURRENT_ORDER))


def _in_order(frame: pl.LazyFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The rows in the order Lake.read gives the whole table, then only `columns`: evidence takes
    a claim's first line authorization, so the order of the few rows read must be the table's."""
    present = frame.collect_schema()
    order = [c for c in CURRENT_ORDER if c in present]
    frame = frame.sort(order, nulls_last=True, maintain_order=True) if order else frame
    return frame.select(c for c in columns if c in present).collect()


def _payer() -> pl.Expr:
    """The payer as evidence keys it: its id, else its name."""
    return pl.coalesce("payer_id", "payer_name").alias("payer")


VISIT = ["payer", "billing_npi", "subscriber_member_id", "statement_from"]  # evidence._submissions' claim part


def _reader_rows(lake: Lake, columns: Mapping[str, Sequence[str]], denials: pl.DataFrame,
                 resolved: pl.DataFrame) -> tuple[pl.DataFrame, ...]:
    """The 837 and 835 rows `evidence.gather` and the product read for these claims, and every row of
    their groups: 837s of the same visit (payer, billing NPI, member, date) and 835s of the same
    payee, member and payer (twins). "Paid before" counts from the kept payments (`payments_for`).
    The groups are found on the few columns that define them, over the history; their rows are then
    read by claim key from the parts of the batches that read them (`ingest.rows_by_claim_key`)."""
    own_837 = denials["submitted_claim_key"] if "submitted_claim_key" in denials.columns \
        else pl.Series([], dtype=pl.String)
    sent = lake.scan_unordered("submitted_claims", ("claim_key", "payer_id", "payer_name", *VISIT[1:])) \
        .with_columns(_payer())
    visits = among(sent, "claim_key", own_837).select(*VISIT).drop_nulls().unique()
    sent_keys = _with_group_keys(own_837, sent.join(visits, on=VISIT, how="semi"))
    claim_keys = pl.concat([denials["claim_key"], resolved["claim_key"]])
    remits = lake.scan_unordered("remit_claims", ("claim_key", "payee_npi", "member_id", "payer_id", "payer_name")) \
        .with_columns(_payer())
    twins = among(remits, "claim_key", claim_keys).select("payee_npi", "member_id", "payer").drop_nulls().unique()
    remit_keys = _with_group_keys(claim_keys, remits.join(twins, on=["payee_npi", "member_id", "payer"], how="semi"))

    def rows(table: str, keys: pl.Series) -> pl.DataFrame:
        found = ingest.rows_by_claim_key(lake, table, keys, (*columns[table], *CURRENT_ORDER))
        return _in_order(found.lazy(), columns[table])

    return (rows("submitted_claims", sent_keys), rows("submitted_service_lines", sent_keys),
            rows("remit_claims", remit_keys), rows("remit_service_lines", remit_keys))


def _with_group_keys(own: pl.Series, group: pl.LazyFrame) -> pl.Series:
    """The claim keys `own` and those of the rows of their groups. No key, no group: the history is
    not scanned to join it with nothing (a night that works out again only resolved claims found by
    their account number: two scans of 10 M rows, 2.3 s)."""
    own = own.rename("claim_key")
    if own.drop_nulls().is_empty():
        return own
    return pl.concat([own.to_frame().lazy(), group.select("claim_key")]).collect()["claim_key"]


def _payments_counted_for(lake: Lake, denials: pl.DataFrame, remit_claims: pl.DataFrame) -> pl.DataFrame | None:
    """`payments_for` the denials "paid before" is counted for (`evidence.denials_paid_before_counts`)."""
    return payments_for(lake, paid_before_keys(denials_paid_before_counts(denials), remit_claims))


def payments_for(lake: Lake, denied: pl.DataFrame) -> pl.DataFrame | None:
    """The kept payments "paid before" counts (touched.PAYMENTS, `evidence.counted_payments`) that
    can count for these denied procedures (`evidence.paid_before_keys`' rows): those of their
    practice, payer and procedure remitted from PAID_BEFORE_DAYS + 1 days before the earliest of them
    to the latest, read from the month parts of those days only. None when the denials stage kept
    none (they are then counted from the 835s and 837s)."""
    files = lake.files_of(touched.PAYMENTS)
    if not files:
        return None
    first, last = denied["remit_date"].min(), denied["remit_date"].max()
    months = [] if first is None else kept_votes.months_spanning(
        pl.Series([first]), -(PAID_BEFORE_DAYS + 1), (last - first).days)
    parts = kept_votes.part_paths(lake, touched.PAYMENTS, months)
    if not parts:
        return pl.scan_parquet(str(files[0]), glob=False).head(0).collect()
    keys = denied.select("payee_npi", "payer", "procedure").unique()
    return (pl.scan_parquet(parts, glob=False)
            .filter(pl.col("remit_date").is_between(pl.lit(first) - pl.duration(days=PAID_BEFORE_DAYS + 1),
                                                    pl.lit(last)))
            .join(keys.lazy(), on=["payee_npi", "payer", "procedure"], how="semi")
            .collect(engine="streaming"))


def _touched_by_new_rows(lake: Lake, batches: list[str], denied: pl.DataFrame) -> pl.Series:
    """Claim keys of the denials whose evidence groups (see `_reader_rows`) gained rows in `batches`,
    or whose "paid before" can count a kept payment (touched.PAYMENTS) that appeared with them."""
    none = pl.Series("claim_key", [], dtype=pl.String)
    if not batches or denied.is_empty():
        return none
    new_sent = lake.read_parts("submitted_claims", batches, (
        "claim_key", "payer_id", "payer_name", "billing_npi", "subscriber_member_id", "statement_from",
        "patient_control_number", "prior_authorization"))
    new_remits = lake.read_parts("remit_claims", batches, (
        "claim_key", "payer_id", "payer_name", "payee_npi", "member_id", "patient_control_number", "remit_date",
        "is_reversal"))
    new_lines = lake.read_parts("remit_service_lines", batches, ("claim_key", "procedure_code", "paid_amount"))
    # submissions: the 837s that share a visit with a new 837, and the denials of those 837s
    visits = new_sent.select(_payer(), *VISIT[1:]).drop_nulls().unique()
    sent = _scan(lake, "submitted_claims", ("claim_key", "payer_id", "payer_name", *VISIT[1:]))
    shared = sent.with_columns(_payer()).join(visits.lazy(), on=VISIT, how="semi").select("claim_key").collect()
    by_visit = denied.filter(pl.col("submitted_claim_key").is_in(shared["claim_key"].implode()))["claim_key"]
    # the denials' own remits: payee, member, payer (those of last night's denials kept: 10 M claims,
    # a scan of the history's remits for 1.1 M denials, 2.5 s, where 2 % of them are new)
    own = ingest.rows_by_claim_key_kept(lake, "remit_claims", denied["claim_key"],
                                        ("claim_key", "payer_id", "payer_name", "payee_npi", "member_id"),
                                        kept="routing_denial_remits").select(
        "claim_key", "payee_npi", "member_id", _payer()).join(
        denied.select("claim_key", "remit_date", "procedure_codes"), on="claim_key")
    paying = new_remits.filter(~pl.col("is_reversal").fill_null(False)).join(
        new_lines.filter(pl.col("paid_amount") > 0), on="claim_key")
    twins = own.join(paying.select("payee_npi", "member_id", _payer()).unique(),
                     on=["payee_npi", "member_id", "payer"], how="semi")["claim_key"]
    # paid before: the payee x payer x procedure x day of the kept payments of the new remits, and of
    # the older ones a new 837 without authorization may now let count (its account number and
    # payer; a kept row only appears then: remits and 837s are never taken back but by a rewritten
    # batch, which routes every claim again)
    unauthorized = new_sent.filter(pl.col("prior_authorization").is_null()).select(
        patient_control_number=blank_to_null(pl.col("patient_control_number")), payer=_payer()).drop_nulls().unique()
    new_keys = new_remits["claim_key"].drop_nulls().unique().implode()
    days = (pl.scan_parquet([str(path) for path in lake.files_of(touched.PAYMENTS)], glob=False)
            .join(unauthorized.lazy().with_columns(_older=pl.lit(True)), on=["patient_control_number", "payer"],
                  how="left")
            .filter(pl.col("claim_key").is_in(new_keys) | pl.col("_older").is_not_null())
            .select("payee_npi", "payer", "procedure", day=pl.col("remit_date")).unique()
            .collect(engine="streaming"))
    before = own.join(denials_paid_before_counts(denied).select("claim_key"), on="claim_key", how="semi").explode(
        "procedure_codes").rename({"procedure_codes": "procedure"}).join(
        days, on=["payee_npi", "payer", "procedure"]).filter(
        pl.col("day").is_between(pl.col("remit_date") - pl.duration(days=PAID_BEFORE_DAYS + 1), pl.col("remit_date"))
    )["claim_key"]
    return pl.concat([by_visit, twins, before]).unique().alias("claim_key")
