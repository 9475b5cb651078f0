"""Pre-filled Level I Request for Reconsideration and Level II Claim Dispute packets.

One member and one date of service per request (Centene-family plans require it). The packet
carries what identifies the claim to the payer (member name, id and date of birth; claim and
payer claim numbers; dates of service; billed and denied amounts per line; authorization and
referral numbers; the claim's own billing provider), why claimback routed it here (the work
queue's reason and evidence), where to send it (the payer's documented channel, with its
source), a reason for disagreement DRAFTED from the denial category (wording in
reconsideration_wording.yaml: it asserts only what the 837/835 show and lists the rest as
"confirm before sending") and the attachments checklist. A Level II dispute also cites the
Level I request and its decision.

Which requests get a packet is decided here too (`request_decisions`): none for a request
already filed and awaiting the payer, a dispute process already exhausted, or a window closed
under a confirmed payer rule; `request_packets` says why for every Level I / II request.
A packet whose content has not changed since the last run is left as it is.

Member name, id and date of birth are printed (the packet goes to the payer) but never leave
this module in logs, messages or tables.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from claimback.codes import registry
from claimback.forms import pdf
from claimback.forms.channels import channel
from claimback.forms.provider import ProviderDirectory, ProviderProfile, printed, provider_rows
from claimback.forms.trend_packet import denial_codes
from claimback.schema import REQUEST_PACKETS

log = logging.getLogger(__name__)
WORDING_FILE = Path(__file__).with_name("reconsideration_wording.yaml")
TITLES = {1: "Level I - Request for Reconsideration", 2: "Level II - Claim Dispute"}
PACKET_ROUTES = {registry.LEVEL1: 1, registry.LEVEL2: 2}
# Kept for callers that read the remit's member columns themselves.
PATIENT_FIELDS = ("patient_last_name", "patient_first_name", "member_id")
NOT_ON_837 = "none on the claim as sent (837)"
# An 837 names a rendering provider (2310B) only when it is not the billing provider.
SAME_AS_BILLING = "the billing provider (no separate rendering provider on the 837)"


@cache
def _packaged_wording() -> dict:
    return yaml.safe_load(WORDING_FILE.read_text())


def load_wording(path: str | Path | None = None) -> dict:
    """Packaged wording, with the categories/fields of `path` (same layout) laid over it."""
    wording = dict(_packaged_wording())
    if path is None:
        return wording
    override = yaml.safe_load(Path(path).read_text()) or {}
    categories = {**wording.get("categories", {}), **override.get("categories", {})}
    return {**wording, **override, "categories": categories}


class _Blanks(dict):
    """Format mapping: a missing or empty claim field prints as "(fill in)", never a KeyError."""

    def __missing__(self, key):
        return pdf.FILL_IN


def claim_fields(claim: Mapping, level1: Mapping | None = None) -> dict:
    """The placeholders the wording may use, as printed text."""
    remarks = pdf.text(claim.get("remark_codes"))
    auth = pdf.text(claim.get("prior_authorization"))
    referral = pdf.text(claim.get("referral_number"))
    fields = {
        "payer_name": claim.get("payer_name"),
        "payer_claim_control_number": claim.get("payer_claim_control_number"),
        "patient_control_number": claim.get("patient_control_number"),
        "service_date": service_dates(claim),
        "remit_date": pdf.text(claim.get("remit_date")),
        "codes": pdf.text(claim.get("reason_codes") or claim.get("primary_reason")),
        "remarks": f"(remark {remarks})" if remarks else "",
        "procedures": pdf.text(claim.get("procedure_codes")) or "the service",
        "denied_amount": pdf.money(claim.get("denied_amount")),
        "charge_amount": pdf.money(claim.get("charge_amount")),
        # Facts from the 837 as sent: said when known, never guessed.
        "authorization_sentence": f"The claim as sent carried authorization number {auth}." if auth else "",
        "referral_sentence": f"The claim as sent carried referral number {referral}." if referral else "",
        # an underpayment: what each line was allowed, what it should have been and why we say so
        "expected_statement": pdf.text(claim.get("expected_statement")),
    }
    for key in ("reference_number", "submitted_on", "decided_on", "outcome"):
        fields[f"level1_{key}"] = pdf.text((level1 or {}).get(key))
    optional = ("remarks", "authorization_sentence", "referral_sentence", "expected_statement")
    return _Blanks({k: v for k, v in fields.items() if v not in (None, "") or k in optional})


def service_dates(claim: Mapping) -> str:
    """"2026-08-14", or "2026-08-14 to 2026-08-16" for a claim spanning days."""
    first = claim.get("service_from") or claim.get("service_date")
    last = claim.get("service_to") or first
    if first is None:
        return ""
    return pdf.text(first) if last in (None, first) else f"{pdf.text(first)} to {pdf.text(last)}"


def _entry(claim: Mapping, wording: Mapping) -> dict:
    categories = wording["categories"]
    return categories.get(claim.get("category") or "", categories["default"])


def draft_reason(claim: Mapping, level: int = 1, level1: Mapping | None = None,
                 wording: Mapping | None = None) -> str:
    """The reason-for-disagreement paragraph(s) for the claim's category and codes."""
    wording = wording or load_wording()
    values = claim_fields(claim, level1)
    paragraphs = [_entry(claim, wording)["reason"].format_map(values)]
    if level == 2:
        paragraphs.append(wording["level2_reason"].format_map(values))
    return "\n\n".join(_tidy(p) for p in paragraphs)


def to_confirm(claim: Mapping, wording: Mapping | None = None) -> list[str]:
    """What the draft does not assert because claimback cannot know it: for the analyst to check."""
    wording = wording or load_wording()
    return list(_entry(claim, wording).get("confirm", []))


def attachments(claim: Mapping, level: int = 1, wording: Mapping | None = None) -> list[str]:
    """The checklist: the category's documents, the common ones, and the Level I file for II."""
    wording = wording or load_wording()
    items = list(wording.get("common_attachments", [])) + list(_entry(claim, wording).get("attachments", []))
    if level == 2:
        items += list(wording.get("level2_attachments", []))
    return items


def packet_path(claim: Mapping, level: int, out_dir: str | Path) -> Path:
    ident = claim.get("payer_claim_control_number") or claim.get("claim_key")
    return Path(out_dir) / f"{pdf.safe_name(ident, f'level{level}')}.pdf"


def write_reconsideration_packet(
    claim: Mapping,
    provider: ProviderProfile,
    out_dir: str | Path,
    level: int = 1,
    level1: Mapping | None = None,
    wording: Mapping | None = None,
) -> Path:
    """Write a Level I (level=1) or Level II (level=2) packet for one denied claim.

    `claim` is a denials row, best with the columns of `claim_facts.packet_facts` (member,
    dates of birth and service, authorization, referral, lines) and of the work queue (reason,
    evidence, deadline, rule_source, payer_rule). `provider` is the claim's own billing provider.
    `level1` is the Level I reconsiderations row (reference_number, submitted_on, decided_on,
    outcome); a Level II packet without it prints "(fill in)" where the Level I details go.
    """
    if level not in TITLES:
        raise ValueError(f"level must be 1 or 2, not {level!r}")
    wording = wording or load_wording()
    path = packet_path(claim, level, out_dir)
    send = channel(claim.get("payer_rule"), f"level{level}")

    flow = pdf.header_block(
        TITLES[level],
        f"To: {claim.get('payer_name') or pdf.FILL_IN}"
        + (f" (payer ID {claim['payer_id']})" if claim.get("payer_id") else ""),
        "One member and one date of service per request. "
        + ("Use only after an unsatisfactory response to a Level I Request for Reconsideration."
           if level == 2 else
           "For a claim billed correctly that the payer processed incorrectly (not for corrected claims)."),
    )
    flow += [pdf.section("Send to"), pdf.key_value_table(_send_rows(claim, send))]
    flow += [pdf.section("Provider"), pdf.key_value_table(provider_rows(provider), blank="")]
    flow += [pdf.section("Member and claim"), pdf.key_value_table(_claim_rows(claim))]
    if claim.get("lines"):
        lines_title = ("Underpaid lines (Denied = the shortfall)" if claim.get("category") == "underpayment"
                       else "Denied lines")
        flow += [pdf.section(lines_title), pdf.claims_table(
            [_line_row(line, claim) for line in claim["lines"]], LINE_COLUMNS, money_columns=("billed", "denied"))]
    if level == 2:
        flow += [pdf.section("Level I reconsideration"), pdf.key_value_table([
            ("Level I reference number", (level1 or {}).get("reference_number")),
            ("Level I submitted on", (level1 or {}).get("submitted_on")),
            ("Level I decision date", (level1 or {}).get("decided_on")),
            ("Level I outcome", (level1 or {}).get("outcome")),
        ])]
    evidence = why_routed(claim)
    if evidence:
        flow += [pdf.section("What the remittances and our records show")]
        flow += [pdf.para(sentence) for sentence in evidence]
    flow.append(pdf.section("Reason for disagreement (draft - review and edit before sending)"))
    flow += [pdf.para(p) for p in draft_reason(claim, level, level1, wording).split("\n\n")]
    confirm = to_confirm(claim, wording)
    if confirm:
        flow += [pdf.section("Confirm before sending (not known from the claim data)"), pdf.checklist(confirm)]
    flow += [pdf.section("Attachments"), pdf.checklist(attachments(claim, level, wording))]
    flow.append(pdf.signature_block())
    return pdf.build_pdf(
        path, flow, title=TITLES[level],
        footer=f"claimback {TITLES[level]} - claim {pdf.text(claim.get('patient_control_number'))}",
    )


LINE_COLUMNS = (
    ("line_number", "Line", 0.45),
    ("procedure", "Procedure", 1.0),
    ("service_date", "Date of service", 1.0),
    ("billed", "Billed", 0.8),
    ("denied", "Denied", 0.8),
    ("reasons", "Denial codes", 1.4),
)


def _line_row(line: Mapping, claim: Mapping) -> dict:
    if line.get("line_number") is None:  # a claim-level adjustment denies the claim as a whole
        return {"line_number": "claim", "procedure": "whole claim", "service_date": service_dates(claim),
                "billed": claim.get("charge_amount"), "denied": line.get("denied"), "reasons": line.get("reasons")}
    modifiers = [m for m in (line.get("modifiers") or []) if m]
    procedure = pdf.text(line.get("procedure_code")) + (f"-{'-'.join(modifiers)}" if modifiers else "")
    return {"line_number": line.get("line_number"), "procedure": procedure,
            "service_date": line.get("service_date"), "billed": line.get("billed"),
            "denied": line.get("denied"), "reasons": line.get("reasons")}


def _send_rows(claim: Mapping, send) -> list[tuple[str, object]]:
    rows = [("How to send", send.send_to), ("Source", send.source)]
    if claim.get("deadline"):
        rule = f" ({claim['rule_source']})" if claim.get("rule_source") else ""
        rows.append(("File by", f"{pdf.text(claim['deadline'])}{rule}"))
    return rows


def why_routed(claim: Mapping) -> list[str]:
    """The route's evidence in plain sentences: the work queue's reason, then the facts of its
    `evidence` (a JSON object naming the rule and the facts it used) in words."""
    sentences = [pdf.text(claim["reason"])] if claim.get("reason") else []
    facts = evidence_sentence(claim.get("evidence"))
    return sentences + ([facts] if facts else [])


def evidence_sentence(evidence: object) -> str:
    """'{"rule":"authorization_on_file","prior_authorization":"A1","authorization_level":"line"}' ->
    'Facts behind this route (authorization on file): prior authorization A1; authorization level line.'"""
    if not evidence:
        return ""
    try:
        data = json.loads(evidence) if isinstance(evidence, str) else dict(evidence)
    except (ValueError, TypeError):
        return pdf.text(evidence)
    if not isinstance(data, dict):
        return pdf.text(evidence)
    rule = str(data.pop("rule", "") or "").replace("_", " ")
    facts = "; ".join(f"{k.replace('_', ' ')} {pdf.text(v)}" for k, v in data.items() if v not in (None, "", []))
    if not facts:
        return ""
    return f"Facts behind this route{f' ({rule})' if rule else ''}: {facts}."


def _authorization_value(claim: Mapping, key: str) -> str:
    """An 837 reference: its value, or "none on the claim as sent" when the 837 was read without it.
    Only a claim whose 837 was never seen leaves it to be filled in."""
    value = pdf.text(claim.get(key))
    if value:
        return value
    return NOT_ON_837 if claim.get("has_837") else ""


def _claim_rows(claim: Mapping) -> list[tuple[str, object]]:
    member_name = ", ".join(
        part for part in (claim.get("patient_last_name"), claim.get("patient_first_name")) if part
    )
    return [
        ("Member name", member_name),
        ("Member ID", claim.get("member_id") or claim.get("subscriber_member_id")),
        ("Member date of birth", claim.get("patient_birth_date")),
        ("Claim number", claim.get("patient_control_number")),
        ("Payer claim number", claim.get("payer_claim_control_number")),
        ("Date(s) of service", service_dates(claim)),
        ("Remit (EOP) date", claim.get("remit_date")),
        ("Billed amount", pdf.money(claim.get("charge_amount"))),
        ("Paid amount", pdf.money(claim.get("paid_amount"))),
        ("Denied amount", pdf.money(claim.get("denied_amount"))),
        ("Denial codes", denial_codes(claim)),
        ("Procedure codes", claim.get("procedure_codes") or claim.get("billed_procedures")),
        ("Diagnosis codes", claim.get("diagnosis_codes")),
        # an institutional (837I) claim has a type of bill where a professional one has a place
        ("Type of bill", claim.get("type_of_bill")) if claim.get("type_of_bill") and not claim.get("place_of_service")
        else ("Place of service", claim.get("place_of_service")),
        ("Prior authorization number", _authorization_value(claim, "prior_authorization")),
        ("Referral number", _authorization_value(claim, "referral_number")),
        ("Rendering NPI", claim.get("rendering_npi") or (SAME_AS_BILLING if claim.get("has_837") else "")),
    ]


# --- which requests get a packet -----------------------------------------------------------------
def request_decisions(work_queue: pl.DataFrame, max_packets: int | None = None,
                      longest_window_days: Mapping[int, int] | None = None,
                      as_of: date | None = None) -> pl.DataFrame:
    """Every Level I / Level II request of the queue with `write` (bool), `level` and `why`.

    A request filed and awaiting the payer, a dispute process already exhausted (Level II came
    back upheld), or a window closed under a confirmed payer rule gets no packet. A window closed
    under the conservative default (or an unconfirmed) rule still does, saying so — the payer's
    real window may be longer — unless even the longest window any payer rule documents for
    that level (`longest_window_days`, by level, counted from the queue's `anchor_date` to
    `as_of`) has passed too. Beyond `max_packets` the lower priorities wait for another night.
    """
    queue = work_queue
    for column, dtype in (("awaiting_payer", pl.Boolean), ("appeals_exhausted", pl.Boolean),
                          ("rule_confirmed", pl.Boolean), ("expired_route", pl.String),
                          ("priority", pl.Float64), ("deadline", pl.Date), ("anchor_date", pl.Date)):
        if column not in queue.columns:
            queue = queue.with_columns(pl.lit(None, dtype=dtype).alias(column))
    request_route = pl.when(pl.col("route") == registry.EXPIRED).then(pl.col("expired_route")).otherwise(pl.col("route"))
    queue = queue.with_columns(request_route.alias("request_route")).filter(
        pl.col("request_route").is_in(list(PACKET_ROUTES)))
    level = pl.col("request_route").replace_strict(PACKET_ROUTES, return_dtype=pl.Int64)
    awaiting = pl.col("awaiting_payer").fill_null(False)
    exhausted = pl.col("appeals_exhausted").fill_null(False)
    expired = pl.col("route") == registry.EXPIRED
    # routing's own word on the window (deadline_confirmed) when the queue has it
    confirmed = (pl.coalesce("deadline_confirmed", "rule_confirmed") if "deadline_confirmed" in queue.columns
                 else pl.col("rule_confirmed"))
    closed_confirmed = expired & confirmed.fill_null(False)
    longest = pl.lit(None, dtype=pl.Int64)
    past_any_window = pl.lit(False)
    if longest_window_days and as_of is not None:
        longest = level.replace_strict({k: int(v) for k, v in longest_window_days.items()}, default=None,
                                       return_dtype=pl.Int64)
        past_any_window = expired & (pl.col("anchor_date") + pl.duration(days=longest) < as_of).fill_null(False)
    why = (
        pl.when(awaiting).then(pl.lit("not written: already filed, awaiting the payer's decision"))
        .when(exhausted).then(pl.lit("not written: the payer's dispute process is exhausted (Level II upheld)"))
        .when(closed_confirmed).then(pl.concat_str(pl.lit("not written: the filing window closed on "),
                                                   pl.col("deadline").cast(pl.String).fill_null("?"),
                                                   pl.lit(" under a confirmed payer rule")))
        .when(past_any_window).then(pl.concat_str(
            pl.lit("not written: past even the longest documented window of any payer ("),
            longest.cast(pl.String), pl.lit(" days from "), pl.col("anchor_date").cast(pl.String), pl.lit(")")))
    )
    queue = queue.with_columns(level.alias("level"), why.alias("why")).with_columns(
        eligible=pl.col("why").is_null())
    queue = queue.sort(["eligible", "priority", "claim_key"], descending=[True, True, False], nulls_last=True)
    rank = pl.col("eligible").cum_sum()
    limit = max_packets if max_packets is not None else queue.height
    return queue.with_columns(
        write=pl.col("eligible") & (rank <= limit),
        why=pl.when(~pl.col("eligible")).then(pl.col("why"))
        .when(rank > limit).then(pl.lit(f"not written: beyond tonight's {limit} highest-priority requests"))
        .when(expired).then(pl.concat_str(pl.lit("written: the window per an unconfirmed payer rule closed on "),
                                          pl.col("deadline").cast(pl.String).fill_null("?"),
                                          pl.lit("; verify the payer's real window before sending")))
        .otherwise(pl.lit("written")),
    ).drop("eligible")


def write_reconsideration_packets(
    work_queue: pl.DataFrame,
    denials: pl.DataFrame,
    provider: ProviderDirectory | ProviderProfile,
    out_dir: str | Path,
    reconsiderations: pl.DataFrame | None = None,
    remit_claims: pl.DataFrame | None = None,
    max_packets: int | None = None,
    wording: Mapping | None = None,
    previous: pl.DataFrame | None = None,
    longest_window_days: Mapping[int, int] | None = None,
    as_of: date | None = None,
    drawing: pdf.Drawing | None = None,
) -> pl.DataFrame:
    """A packet for every Level I / Level II request that should go out, highest priority first.

    `denials` are denials rows, best already through `claim_facts.packet_facts`; `remit_claims`
    may add member name and id for claims that lack them. `provider` is the run's profiles
    (a single ProviderProfile is printed only on claims that name no provider of their own). A Level II packet cites the
    claim's most recent Level I row in `reconsiderations`. `previous` is the last run's
    `request_packets`: a packet whose content is unchanged and whose file is still there is not
    drawn again. Packets in `out_dir` for requests that no longer get one are removed.
    Returns `request_packets`: one row per request with status written / not_written and why
    (the same on a rerun: whether a packet was redrawn is only logged).
    """
    out_dir = pdf.private_dir(out_dir)
    directory = provider if isinstance(provider, ProviderDirectory) else ProviderDirectory(fallback=provider)
    wording = wording or load_wording()
    decisions = request_decisions(work_queue, max_packets, longest_window_days, as_of)
    # The claim's facts from `denials`; the queue's own columns where the claim has none there
    # (a request that gets no packet needs no facts, and the caller may not have read them).
    claims = decisions.join(denials.unique("claim_key", keep="last", maintain_order=True), on="claim_key",
                            how="left", suffix="_facts")
    claims = claims.with_columns(
        pl.coalesce(f"{c}_facts", c).alias(c) for c in decisions.columns if f"{c}_facts" in claims.columns
    ).drop([c for c in claims.columns if c.endswith("_facts")])
    if remit_claims is not None:
        extra = [c for c in PATIENT_FIELDS if c in remit_claims.columns and c not in claims.columns]
        if extra:
            claims = claims.join(remit_claims.select("claim_key", *extra).unique("claim_key"), on="claim_key",
                                 how="left")
    level1_rows = None  # worked out for the first Level II packet drawn
    known = _previous_hashes(previous, out_dir)
    # Most requests get no packet tonight (beyond the night's packets, already filed, ...): their
    # rows are columns of the queue (10 M claims' history: 269 k requests, 3 s as a row each); the
    # whole row is read for the packets drawn only (about 200).
    listed = claims.select(c for c in (*_LISTED, "write") if c in claims.columns).with_row_index("_row")
    rows, jobs = [], []
    for index in listed.filter(pl.col("write").fill_null(False))["_row"]:
        claim = claims.row(index, named=True)
        level = claim["level"]
        own = directory.for_claim(claim)
        if level == 2 and level1_rows is None:
            level1_rows = _latest_level1(reconsiderations)
        level1 = _level1_for(claim, level1_rows) if level == 2 else None
        job = (claim, own, out_dir, level, level1, wording)
        path = packet_path(claim, level, out_dir)
        digest = _content_hash(job)
        rows.append({"_row": index, "claim_key": claim["claim_key"],
                     "patient_control_number": claim.get("patient_control_number"),
                     "payer_name": claim.get("payer_name"), "route": claim["route"], "level": level,
                     "pdf_path": str(path), "status": "written", "why": claim["why"],
                     "billing_npi": None if own.npi == pdf.FILL_IN else own.npi,
                     "billing_tin": None if own.tin == pdf.FILL_IN else own.tin, "content_sha256": digest})
        if known.get(str(path)) != digest:  # unchanged packets stay as they are
            jobs.append(job)
    pdf.draw_all(write_reconsideration_packet, jobs, drawing)
    log.info("request packets: %d drawn, %d unchanged", len(jobs), len(rows) - len(jobs))
    _remove_stale(out_dir, "level*.pdf", {r["pdf_path"] for r in rows})
    unwritten = listed.filter(~pl.col("write").fill_null(False)).select(
        "_row", *(pl.col(c) if c in listed.columns else pl.lit(None).alias(c)
                  for c in ("claim_key", "patient_control_number", "payer_name", "route", "level")),
        pdf_path=pl.lit(None), status=pl.lit("not_written"), why="why",
        **{f"billing_{name}": _as_printed(listed, f"provider_{name}") for name in ("npi", "tin")},
        content_sha256=pl.lit(None))
    written = pl.DataFrame(rows, schema={"_row": pl.UInt32, **REQUEST_PACKETS})
    return pl.concat([unwritten.cast({"_row": pl.UInt32, **REQUEST_PACKETS}), written]).sort("_row").drop("_row")


def _as_printed(claims: pl.DataFrame, column: str) -> pl.Expr:
    """A request's billing NPI or TIN as its ProviderProfile prints it (`provider.printed`; None where
    it prints "(fill in)"), each distinct value worked out once."""
    if column not in claims.columns:
        return pl.lit(None, pl.String)
    distinct = claims[column].drop_nulls().unique().to_list()
    shown = [None if (p := printed(v)) == pdf.FILL_IN else p for v in distinct]
    return pl.col(column).replace_strict(distinct, shown, default=None, return_dtype=pl.String)


# What the row of a request that gets no packet tonight reads of its claim.
_LISTED = ("claim_key", "patient_control_number", "payer_name", "route", "level", "why", "provider_npi", "provider_tin")


def _content_hash(job: tuple) -> str:
    claim, provider, _, level, level1, wording = job
    # days_left and priority change every night without changing a word of the packet
    printed = {k: v for k, v in claim.items() if k not in ("days_left", "priority", "overturn_probability",
                                                            "expected_recovery", "write", "why")}
    payload = json.dumps([printed, provider.__dict__, level, level1, wording, pdf.layout_version()],
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _previous_hashes(previous: pl.DataFrame | None, out_dir: Path) -> dict[str, str]:
    """Last run's content hash per packet path, for packets whose file is still there."""
    if previous is None or previous.is_empty() or "content_sha256" not in previous.columns:
        return {}
    known = {}
    for path, digest in previous.select("pdf_path", "content_sha256").drop_nulls().iter_rows():
        full = Path(path) if Path(path).is_absolute() else out_dir / Path(path).name
        if full.is_file():
            known[str(out_dir / full.name)] = digest
    return known


def _remove_stale(out_dir: Path, pattern: str, keep: set[str]) -> None:
    """Packets of an earlier run that no request of this run keeps (filed since, resolved, ...)."""
    for path in out_dir.glob(pattern):
        if str(path) not in keep:
            path.unlink(missing_ok=True)


def _latest_level1(reconsiderations: pl.DataFrame | None) -> dict[str, list[dict]]:
    """Level I log rows by patient control number, most recently submitted first."""
    if reconsiderations is None or reconsiderations.is_empty():
        return {}
    rows = reconsiderations.filter(pl.col("level") == 1).sort(
        "submitted_on", descending=True, nulls_last=True
    )
    by_claim: dict[str, list[dict]] = {}
    for row in rows.iter_rows(named=True):
        by_claim.setdefault(row["patient_control_number"], []).append(row)
    return by_claim


def _level1_for(claim: Mapping, level1_rows: dict[str, list[dict]]) -> dict | None:
    """The Level I for this payer claim number, else the claim's latest (re-adjudication
    can give the claim a new payer claim number after the Level I was filed)."""
    rows = level1_rows.get(claim.get("patient_control_number"), [])
    same = [r for r in rows if r.get("payer_claim_control_number") == claim.get("payer_claim_control_number")]
    return (same or rows or [None])[0]


def _tidy(paragraph: str) -> str:
    return re.sub(r"\s+([.,;)])", r"\1", re.sub(r"\s{2,}", " ", paragraph)).strip()
