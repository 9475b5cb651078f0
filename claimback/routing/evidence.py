"""Evidence rules: what the lake already knows about a denied claim that decides its road.

Two halves. `gather` joins, onto the denials, the facts the rules read — from the 837 we sent
(REF*G1 at claim or line level, REF*9F, SBR01 and loop 2320/2330B, the day the file was made,
how many times the same member/date/procedure was sent) and from the 835s (the CLP02 of the
latest adjudication, a paid twin, the payer's recent payments of the same procedure). Then each
rule is a small named function returning a `Rule`: when it applies, the route, the reason in the
analyst's words and a machine-readable `evidence` JSON string. The router tries them in order,
before the code registry's default (`routes.category_route`); the first that applies decides.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from claimback.codes import registry as R
from claimback.lifecycle import blank_to_null, column_or_null

# The remit tables as a stage holds them, or as lazy scans of the lake (read as they stream by).
Frame = pl.DataFrame | pl.LazyFrame

# How far back a payment of the same procedure at the same payer counts as "the payer used to
# pay this without an authorization" [PRACTICE: two quarters of history, enough to span a
# payer's rule change without reaching back to a different contract year].
PAID_BEFORE_DAYS = 180

# CLP02 values saying the payer forwarded the claim to another payer (X12 835 CLP02:
# 19/20/21 "processed as primary/secondary/tertiary, forwarded to additional payer(s)",
# 23 "not our claim, forwarded to additional payer(s)").
FORWARDED_STATUS = ("19", "20", "21", "23")
# Referral CARCs (X12: 243 "services not authorized by network/primary care providers",
# 287 "referral exceeded", 288 "referral absent").
REFERRAL_CARCS = ("243", "287", "288")

# Columns `gather` adds (typed), so the rules can run on frames that lack the lake tables.
EVIDENCE_COLUMNS: dict[str, pl.DataType] = {
    "prior_authorization": pl.String,
    "authorization_level": pl.String,  # claim (2300 REF*G1) or line (2400 REF*G1)
    "referral_number": pl.String,
    "payer_responsibility": pl.String,
    "other_payer_responsibility": pl.String,
    "other_payer_name": pl.String,
    "submitted_on": pl.Date,
    "submissions": pl.Int64,
    "paid_twin_claim": pl.String,  # CLP07 of a paid claim for the same member, date and procedure
    "paid_before_count": pl.Int64,  # payer's recent payments of the procedure without authorization
    "claim_status_code": pl.String,
}


@dataclass(frozen=True)
class Rule:
    name: str
    applies: pl.Expr
    route: pl.Expr
    reason: pl.Expr
    evidence: pl.Expr  # a JSON object (String)


def _empty(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in EVIDENCE_COLUMNS.items() if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def gather(
    denials: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    submitted_lines: pl.DataFrame | None = None,
    remit_claims: pl.DataFrame | None = None,
    remit_lines: pl.DataFrame | None = None,
    adjudications: pl.DataFrame | None = None,
    payments: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`denials` plus EVIDENCE_COLUMNS from whichever lake tables are given (the rest stay null).
    `payments`: the kept `counted_payments` that can count for these denials (then "paid before"
    needs only the denials' own remits among `remit_claims`), else counted from the tables given."""
    frame = denials
    if adjudications is not None and "claim_status_code" not in frame.columns:
        frame = frame.join(adjudications.select("claim_key", "claim_status_code").unique("claim_key"),
                           on="claim_key", how="left")
    if submitted_claims is not None and "submitted_claim_key" in frame.columns:
        frame = _from_837(frame, submitted_claims, submitted_lines)
    if remit_claims is not None and remit_lines is not None:
        frame = _from_835(frame, remit_claims, remit_lines, submitted_claims, payments)
    return _empty(frame)


def _from_837(frame: pl.DataFrame, claims: pl.DataFrame, lines: pl.DataFrame | None) -> pl.DataFrame:
    sent = claims.select(
        submitted_claim_key=pl.col("claim_key"),
        _claim_auth=blank_to_null(column_or_null(claims, "prior_authorization")),
        referral_number=blank_to_null(column_or_null(claims, "referral_number")),
        payer_responsibility=column_or_null(claims, "payer_responsibility"),
        other_payer_responsibility=column_or_null(claims, "other_payer_responsibility"),
        other_payer_name=column_or_null(claims, "other_payer_name"),
        submitted_on=column_or_null(claims, "submitted_on", pl.Date),
    ).unique("submitted_claim_key")
    if lines is not None and "prior_authorization" in lines.columns:
        line_auth = (
            lines.filter(blank_to_null(pl.col("prior_authorization")).is_not_null())
            .group_by("claim_key").agg(_line_auth=blank_to_null(pl.col("prior_authorization")).first())
            .rename({"claim_key": "submitted_claim_key"})
        )
        sent = sent.join(line_auth, on="submitted_claim_key", how="left")
    else:
        sent = sent.with_columns(_line_auth=pl.lit(None, dtype=pl.String))
    sent = sent.with_columns(
        prior_authorization=pl.coalesce("_claim_auth", "_line_auth"),
        authorization_level=pl.when(pl.col("_claim_auth").is_not_null()).then(pl.lit("claim"))
        .when(pl.col("_line_auth").is_not_null()).then(pl.lit("line")),
    ).drop("_claim_auth", "_line_auth")
    drop = [c for c in sent.columns if c in frame.columns and c != "submitted_claim_key"]
    frame = frame.drop(drop).join(sent, on="submitted_claim_key", how="left")
    if lines is not None and {"subscriber_member_id", "billing_npi"} <= set(claims.columns):
        frame = frame.join(_submissions(claims, lines), on="submitted_claim_key", how="left")
    return frame


def _visits(claims: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """One row per 837 claim × procedure: who (payer, billing NPI, member), when, what."""
    return claims.select(
        "claim_key", "billing_npi", "subscriber_member_id", "statement_from",
        payer=pl.coalesce(column_or_null(claims, "payer_id"), column_or_null(claims, "payer_name")),
    ).join(lines.select("claim_key", "procedure_code").unique(), on="claim_key").drop_nulls(
        ["subscriber_member_id", "procedure_code"])


def _submissions(claims: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """How many 837 claims were sent for this claim's member, date and procedure (itself included)."""
    visits = _visits(claims, lines)
    keys = ["payer", "billing_npi", "subscriber_member_id", "statement_from", "procedure_code"]
    same = visits.join(visits.select(*keys, other=pl.col("claim_key")), on=keys, nulls_equal=False)
    return same.group_by(submitted_claim_key=pl.col("claim_key")).agg(submissions=pl.col("other").n_unique().cast(pl.Int64))


def _paid_lines(remit_claims: Frame, remit_lines: Frame) -> tuple[Frame, Frame]:
    """(non-reversal remit claims keyed for matching, their paid lines with a visit date), eager or
    lazy as the inputs are."""
    paid_lines = remit_lines.filter(pl.col("paid_amount") > 0).select("claim_key", "procedure_code", "service_date")
    # A professional 835 often names the visit only on its lines (DTM*472, no claim DTM*232): the
    # first line's date is then the claim's, or no twin or earlier payment would ever match.
    first_day = remit_lines.group_by("claim_key").agg(_first_day=pl.col("service_date").min())
    claims = remit_claims.filter(~pl.col("is_reversal").fill_null(False)).join(
        first_day, on="claim_key", how="left").select(
        "claim_key", "payee_npi", "member_id", "payer_claim_control_number", "remit_date",
        "patient_control_number", statement_from=pl.coalesce("statement_from", "_first_day"),
        payer=pl.coalesce("payer_id", "payer_name"))
    paid = claims.join(paid_lines, on="claim_key").with_columns(
        visit_date=pl.coalesce("service_date", "statement_from"))
    return claims, paid


def _denied_procedures(frame: pl.DataFrame, claims: Frame) -> Frame:
    """Each denied procedure of `frame` with its claim's practice, member, payer and visit date
    (lazy when `claims` is)."""
    out = frame.lazy().select(
        "claim_key", "payer_claim_control_number", "remit_date",
        procedure=column_or_null(frame, "procedure_codes", pl.List(pl.String))).explode("procedure").join(
        claims.lazy().select("claim_key", "payee_npi", "member_id", "payer", "statement_from"), on="claim_key")
    return out if isinstance(claims, pl.LazyFrame) else out.collect()


def counted_payments(remit_claims: Frame, remit_lines: Frame, submitted: Frame | None) -> pl.LazyFrame:
    """The payments "paid before" counts: one row per remit claim and procedure (claim_key,
    patient_control_number, payee_npi, payer, procedure, remit_date) of a non-reversal remit claim
    with a paid line of the procedure whose 837 carried no authorization, matched by account number
    (a blank one matches no 837, as in every match of claimback.lifecycle), payer and date of
    service; without the 837s every payment counts. A row depends on its own remit claim, its lines
    and the 837s of its account number only: kept per claim (claimback.touched.PAYMENTS), a night
    works out the rows of the claims it touched, and a new 837 puts its account number's remits
    among those."""
    claims, paid = _paid_lines(remit_claims.lazy(), remit_lines.lazy())
    paid = paid.with_columns(patient_control_number=blank_to_null(pl.col("patient_control_number")))
    if submitted is not None and "prior_authorization" in submitted.collect_schema().names():
        submitted = submitted.lazy()
        no_auth = submitted.filter(pl.col("prior_authorization").is_null()).select(
            blank_to_null(pl.col("patient_control_number")).alias("patient_control_number"), "statement_from",
            payer=pl.coalesce(*_present(submitted, "payer_id", "payer_name"))).unique()
        paid = paid.join(no_auth, on=["patient_control_number", "statement_from", "payer"], how="semi")
    return (paid.select("claim_key", "patient_control_number", "payee_npi", "payer",
                        procedure=pl.col("procedure_code"), remit_date=pl.col("remit_date"))
            .drop_nulls(["payee_npi", "payer", "procedure", "remit_date"])
            .unique(["claim_key", "procedure"]))


def denials_paid_before_counts(denials: pl.DataFrame) -> pl.DataFrame:
    """The denials "paid before" is counted for: the authorization denials, the only ones a rule
    reads it for (`authorization_paid_before`). Counted for every denial, a payment of a common
    procedure moved the count of every denial of its practice and payer in the 180 days after, and
    a night routed them all again (10 M claims: 109 k of the 110 k rows its new remits touched);
    a frame without categories: all of them."""
    return denials.filter(pl.col("category") == "authorization") if "category" in denials.columns else denials


def paid_before_keys(denials: pl.DataFrame, remit_claims: Frame) -> pl.DataFrame:
    """(claim_key, remit_date, procedure, payee_npi, payer): each denied procedure with the practice
    and payer of the denial's own remit claim, non-reversal ones only (a reversal counts nothing);
    `remit_claims` holds at least those."""
    own = remit_claims.lazy().filter(~pl.col("is_reversal").fill_null(False)).select(
        "claim_key", "payee_npi", payer=pl.coalesce(*_present(remit_claims, "payer_id", "payer_name")))
    return (denials.lazy().select(
        "claim_key", "remit_date", procedure=column_or_null(denials, "procedure_codes", pl.List(pl.String)))
        .explode("procedure").join(own, on="claim_key")
        .drop_nulls(["payee_npi", "payer", "procedure", "remit_date"])
        .collect(engine="streaming"))


def paid_before(
    denials: pl.DataFrame, remit_claims: Frame, remit_lines: Frame, submitted: Frame | None,
) -> pl.DataFrame:
    """claim_key -> paid_before_count: how many claims of the same practice this payer paid for the
    denied procedure in the PAID_BEFORE_DAYS before the denial, on claims whose 837 carried no
    authorization (`counted_payments`; unmatched ones not counted). Without the 837s every payment
    counts. The remits, lines and 837s may be lazy scans (counted as they stream by)."""
    return paid_before_from(paid_before_keys(denials, remit_claims),
                            counted_payments(remit_claims, remit_lines, submitted))


def paid_before_from(denied: pl.DataFrame, payments: Frame) -> pl.DataFrame:
    """claim_key -> paid_before_count of `denied_procedures`' rows, from `counted_payments`' rows
    (those that can count for them, or more: one row per remit claim and procedure)."""
    # Paid claims per practice, payer, procedure and day as a running total, so each denial's
    # count is two as-of lookups (before the denial, before the window) instead of a join with
    # every payment of a common procedure (97110 at one payer: tens of thousands a year). A claim
    # has one payee, payer and remit date, and a row per procedure, so a day's rows of a procedure
    # are its claims: counted, not made distinct (8.5 M kept payments: 0.5 CPU s against 4.4).
    keys = ["payee_npi", "payer", "procedure"]
    running = (
        payments.lazy().group_by(*keys, day=pl.col("remit_date"))
        .agg(n=pl.len())
        .sort(*keys, "day")
        .with_columns(total=pl.col("n").cum_sum().over(keys))
        .select(*keys, "day", "total")
        .collect(engine="streaming")  # small: a row per practice, payer, procedure and day
    )
    denied = denied.with_columns(before=pl.col("remit_date") - pl.duration(days=1),
                                 window_start=pl.col("remit_date") - pl.duration(days=PAID_BEFORE_DAYS + 1))

    def total_by(column: str) -> pl.DataFrame:
        # both sides sorted on the date; polars cannot verify it per `by` group, so it is told
        return denied.sort(column).join_asof(
            running.rename({"day": column}).sort(column), on=column, by=keys, strategy="backward",
            check_sortedness=False,
        ).select("claim_key", "procedure", pl.col("total").fill_null(0))

    counts = total_by("before").join(total_by("window_start"), on=["claim_key", "procedure"], suffix="_old")
    return (
        counts.group_by("claim_key")
        .agg(paid_before_count=(pl.col("total") - pl.col("total_old")).max().cast(pl.Int64))
        .filter(pl.col("paid_before_count") > 0)
    )


def _present(frame: Frame, *names: str) -> list[pl.Expr]:
    """These columns of `frame` (eager or lazy), null where it lacks one."""
    have = frame.collect_schema().names()
    return [pl.col(name) if name in have else pl.lit(None, dtype=pl.String).alias(name) for name in names]


def _from_835(
    frame: pl.DataFrame, remit_claims: pl.DataFrame, remit_lines: pl.DataFrame, submitted: pl.DataFrame | None,
    payments: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Paid twin (same member, date, procedure, another payer claim number, paid) and `paid_before`."""
    claims, paid = _paid_lines(remit_claims, remit_lines)
    twins = (
        _denied_procedures(frame, claims)
        .join(paid.select("payee_npi", "member_id", "payer", "procedure_code", "visit_date",
                          twin=pl.col("payer_claim_control_number"), twin_key=pl.col("claim_key")),
              left_on=["payee_npi", "member_id", "payer", "procedure", "statement_from"],
              right_on=["payee_npi", "member_id", "payer", "procedure_code", "visit_date"])
        .filter((pl.col("twin_key") != pl.col("claim_key"))
                & (pl.col("twin") != pl.col("payer_claim_control_number")).fill_null(True))
        .group_by("claim_key").agg(paid_twin_claim=pl.col("twin").min())
    )
    drop = [c for c in ("paid_twin_claim", "paid_before_count") if c in frame.columns]
    counted_for = denials_paid_before_counts(frame)
    counted = paid_before(counted_for, remit_claims, remit_lines, submitted) if payments is None else \
        paid_before_from(paid_before_keys(counted_for, remit_claims), payments)
    return frame.drop(drop).join(twins, on="claim_key", how="left").join(counted, on="claim_key", how="left")


# --- the rules ---------------------------------------------------------------------------------
def _carc() -> pl.Expr:
    return pl.col("primary_reason").str.split("-").list.last()


def _code() -> pl.Expr:
    return pl.col("primary_reason").fill_null("no code")


def _json(rule: str, **fields: pl.Expr) -> pl.Expr:
    return pl.struct(rule=pl.lit(rule), **fields).struct.json_encode()


def _text(*parts: str | pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def replacement_called_duplicate() -> Rule:
    """A duplicate denial on a claim we sent as a replacement (frequency 7/8): the payer's error."""
    freq = pl.col("frequency_code")
    return Rule(
        "replacement_called_duplicate",
        (pl.col("category") == "duplicate") & freq.is_in(["7", "8"]),
        pl.lit(R.LEVEL1),
        _text("Denied as a duplicate (", _code(), ") although it was sent as a replacement (frequency ", freq,
              "): the payer processed it wrong; file a Level I reconsideration."),
        _json("replacement_called_duplicate", frequency_code=freq),
    )


def duplicate_paid_twin() -> Rule:
    """A duplicate denial while another claim for the same member, date and procedure was paid."""
    twin = pl.col("paid_twin_claim")
    return Rule(
        "duplicate_paid_twin",
        (pl.col("category") == "duplicate") & twin.is_not_null(),
        pl.lit(R.RESOLVED),
        _text("Denied as a duplicate (", _code(), ") and the same member, date and procedure was paid on payer "
              "claim ", twin, ": nothing to recover."),
        _json("duplicate_paid_twin", paid_twin_claim=twin),
    )


def duplicate_single_submission() -> Rule:
    """A duplicate denial although the 837s show the service was sent once: the payer's error."""
    n = pl.col("submissions")
    return Rule(
        "duplicate_single_submission",
        (pl.col("category") == "duplicate") & (n == 1) & pl.col("paid_twin_claim").is_null(),
        pl.lit(R.LEVEL1),
        _text("Denied as a duplicate (", _code(), ") but our 837s show this member, date and procedure sent once "
              "and nothing paid for it: file a Level I reconsideration."),
        _json("duplicate_single_submission", submissions=n),
    )


def duplicate_resubmitted() -> Rule:
    """A duplicate denial of a claim we really sent again as a new claim (frequency 1)."""
    n = pl.col("submissions")
    return Rule(
        "duplicate_resubmitted",
        (pl.col("category") == "duplicate") & (n > 1),
        pl.lit(R.CORRECTED_CLAIM),
        _text("Denied as a duplicate (", _code(), ") of another claim we sent (", n.cast(pl.String),
              " submissions of this member, date and procedure as new claims): make the resubmission a replacement"),
        _json("duplicate_resubmitted", submissions=n),
    )


def authorization_on_file() -> Rule:
    """An authorization denial while our 837 carried REF*G1 (claim or line): the payer's error."""
    auth, level = pl.col("prior_authorization"), pl.col("authorization_level")
    return Rule(
        "authorization_on_file",
        (pl.col("category") == "authorization") & auth.is_not_null() & ~_carc().is_in(REFERRAL_CARCS),
        pl.lit(R.LEVEL1),
        _text("Authorization denial (", _code(), ") although authorization ", auth, " was on the claim (",
              level.fill_null("claim"), " level): file a Level I reconsideration citing it."),
        _json("authorization_on_file", prior_authorization=auth, authorization_level=level),
    )


def authorization_paid_before() -> Rule:
    """An authorization denial of a procedure this payer paid without an authorization lately."""
    n = pl.col("paid_before_count")
    return Rule(
        "authorization_paid_before",
        (pl.col("category") == "authorization") & (n > 0) & ~_carc().is_in(REFERRAL_CARCS),
        pl.lit(R.LEVEL1),
        _text("Authorization denial (", _code(), ") of a procedure this payer paid ", n.cast(pl.String),
              f" time(s) without an authorization in the previous {PAID_BEFORE_DAYS} days: the payer changed or "
              "mis-loaded its rule; file a Level I reconsideration and ask which notice required it."),
        _json("authorization_paid_before", paid_before_count=n, days=pl.lit(PAID_BEFORE_DAYS)),
    )


def referral_on_file() -> Rule:
    """A referral denial (243/287/288) while our 837 carried the referral number (REF*9F)."""
    ref = pl.col("referral_number")
    return Rule(
        "referral_on_file",
        _carc().is_in(REFERRAL_CARCS) & ref.is_not_null(),
        pl.lit(R.LEVEL1),
        _text("Referral denial (", _code(), ") although referral ", ref,
              " was on the claim: file a Level I reconsideration with the referral."),
        _json("referral_on_file", referral_number=ref),
    )


def forwarded_by_payer() -> Rule:
    """The remit says the payer forwarded the claim (CLP02 19/20/21/23): the other payer's remit is due."""
    status = pl.col("claim_status_code")
    return Rule(
        "forwarded_by_payer",
        status.is_in(FORWARDED_STATUS),
        pl.lit(R.AWAIT_CROSSOVER),
        _text("The payer forwarded the claim to another payer (CLP02 ", status, ", ", _code(),
              "): wait for that payer's remittance; do not rebill."),
        _json("forwarded_by_payer", claim_status_code=status),
    )


def billed_as_secondary() -> Rule:
    """A COB denial of a claim we sent as secondary with the other payer's loop: the payer's error."""
    ours, other = pl.col("payer_responsibility"), pl.col("other_payer_name")
    return Rule(
        "billed_as_secondary",
        (pl.col("category") == "wrong_payer_cob") & ours.is_in(["S", "T"]) & other.is_not_null(),
        pl.lit(R.LEVEL1),
        _text("Coordination-of-benefits denial (", _code(), ") although the claim was sent as ",
              pl.when(ours == "S").then(pl.lit("secondary")).otherwise(pl.lit("tertiary")),
              " with the primary payer (", other, ") in loop 2320: file a Level I reconsideration."),
        _json("billed_as_secondary", payer_responsibility=ours, other_payer=other),
    )


def other_payer_known() -> Rule:
    """A COB denial of a claim sent as primary while our 837 names another payer: bill that one first."""
    ours, other = pl.col("payer_responsibility"), pl.col("other_payer_name")
    return Rule(
        "other_payer_known",
        (pl.col("category") == "wrong_payer_cob") & (ours == "P") & other.is_not_null(),
        pl.lit(R.REBILL_OTHER_PAYER),
        _text("Coordination-of-benefits denial (", _code(), "): the claim was sent to this payer as primary but "
              "names another payer (", other, "); bill that payer first, then this one as secondary with its EOB."),
        _json("other_payer_known", payer_responsibility=ours, other_payer=other),
    )


def timely_filing_proof() -> Rule:
    """A timely-filing denial while our 837 was made within the payer's filing limit of the service."""
    sent, limit = pl.col("submitted_on"), pl.col("filing_limit_days")
    within = (sent <= pl.col("service_date") + pl.duration(days=limit))
    return Rule(
        "timely_filing_proof",
        (pl.col("category") == "timely_filing") & sent.is_not_null() & pl.col("service_date").is_not_null()
        & limit.is_not_null() & within,
        pl.lit(R.LEVEL1),
        _text("Timely-filing denial (", _code(), ") but our 837 was created on ", sent.cast(pl.String),
              ", within the payer's ", limit.cast(pl.String), "-day filing limit from the service date ",
              pl.col("service_date").cast(pl.String),
              ": file a Level I reconsideration with the clearinghouse acceptance report."),
        _json("timely_filing_proof", submitted_on=sent.cast(pl.String), service_date=pl.col("service_date").cast(pl.String),
              filing_limit_days=limit, limit_confirmed=pl.col("filing_limit_confirmed")),
    )


def timely_filing_late() -> Rule:
    """A timely-filing denial where our own 837 was made after the payer's filing limit."""
    sent, limit = pl.col("submitted_on"), pl.col("filing_limit_days")
    late = (sent > pl.col("service_date") + pl.duration(days=limit))
    confirmed = pl.col("filing_limit_confirmed").fill_null(False)
    return Rule(
        "timely_filing_late",
        (pl.col("category") == "timely_filing") & sent.is_not_null() & pl.col("service_date").is_not_null()
        & limit.is_not_null() & late,
        # Only a confirmed limit may stop the work; an unconfirmed one says to verify it first.
        pl.when(confirmed).then(pl.lit(R.EXPIRED)).otherwise(pl.lit(R.LEVEL1)),
        _text("Timely-filing denial (", _code(), "): our 837 was created on ", sent.cast(pl.String), ", after the ",
              limit.cast(pl.String), "-day filing limit from the service date ", pl.col("service_date").cast(pl.String),
              pl.when(confirmed).then(pl.lit(": the denial stands; write it off."))
              .otherwise(pl.lit(": the limit is not confirmed for this payer; verify it before writing the claim "
                                "off, and file a Level I reconsideration if the real limit is longer."))),
        _json("timely_filing_late", submitted_on=sent.cast(pl.String), service_date=pl.col("service_date").cast(pl.String),
              filing_limit_days=limit, limit_confirmed=confirmed),
    )


# The order rules are tried in: the first that applies decides the route.
RULES: tuple[Callable[[], Rule], ...] = (
    forwarded_by_payer,
    replacement_called_duplicate,
    duplicate_paid_twin,
    duplicate_single_submission,
    duplicate_resubmitted,
    referral_on_file,
    authorization_on_file,
    authorization_paid_before,
    billed_as_secondary,
    other_payer_known,
    timely_filing_proof,
    timely_filing_late,
)


def decide(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `evidence_route`, `evidence_reason`, `evidence` (JSON) from the first rule that applies."""
    frame = _empty(frame)
    for column, dtype in (("filing_limit_days", pl.Int64), ("filing_limit_confirmed", pl.Boolean)):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    route = reason = evidence = None
    for make in reversed(RULES):
        rule = make()
        applies = rule.applies.fill_null(False)
        route = pl.when(applies).then(rule.route).otherwise(route if route is not None else pl.lit(None, pl.String))
        reason = pl.when(applies).then(rule.reason).otherwise(reason if reason is not None else pl.lit(None, pl.String))
        evidence = pl.when(applies).then(rule.evidence).otherwise(
            evidence if evidence is not None else pl.lit(None, pl.String))
    return frame.with_columns(evidence_route=route, evidence_reason=reason, evidence=evidence)
