"""The payer trend packet: one practice's payer problem, one example claim, every claim listed.

For a payer that publishes a trend form (Coordinated Care's Claim Trend Identification: 10+ of
the practice's claims with the same denial/payment codes; one example claim and a brief
description instead of a request per claim) the packet follows it; any other payer gets a
plain payer trend letter with the same facts. Each packet is about ONE practice (billing TIN)
and names it, says where to send it (the payer's documented channel and its source), how many
of its claims are already past the filing window, and comes with a CSV of every impacted
claim (formula-safe: claim numbers come from payers' files). Neither carries patient names,
member ids or birth dates. A packet whose content has not changed is not drawn again.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl

from claimback.codes.vocab import format_codes
from claimback.forms import pdf
from claimback.forms.channels import channel, trend_form
from claimback.forms.provider import ProviderDirectory, ProviderProfile, provider_rows
from claimback.schema import conform, empty

# Columns of the impacted-claims CSV and table, in the users' words; never patient identity.
IMPACTED_COLUMNS = (
    ("patient_control_number", "Claim number", 1.25),
    ("payer_claim_control_number", "Payer claim number", 1.35),
    ("service_date", "Date of service", 0.85),
    ("remit_date", "Remit date", 0.85),
    ("procedure_codes", "Procedures", 0.9),
    ("denial_codes", "Denial codes", 1.3),
    ("charge_amount", "Billed", 0.75),
    ("denied_amount", "Denied", 0.75),
)
CSV_COLUMNS = (
    "cluster_id",
    "patient_control_number",
    "payer_claim_control_number",
    "service_date",
    "remit_date",
    "charge_amount",
    "denied_amount",
    "primary_reason",
    "reason_codes",
    "remark_codes",
    "procedure_codes",
)
LIST_COLUMNS = ("reason_codes", "remark_codes", "procedure_codes")
# What a packet prints from its members' rows (the table, the CSV, the example claim, the billing
# NPIs): what write_packets hands each drawing process, not every denials column (a night at
# 10 M claims pickled 395 MB of rows to its two workers, 120 MB with these).
PRINTED_COLUMNS = ("claim_key", "billing_npi", *CSV_COLUMNS)
MAX_TABLE_ROWS = 300  # beyond this the PDF points to the CSV rather than growing for pages


def denial_codes(claim: dict) -> str:
    """"CO-197, CO-16 / N54, M127": every denying group-CARC, then the remark codes."""
    reasons = claim.get("reason_codes") or ([claim["primary_reason"]] if claim.get("primary_reason") else [])
    remarks = claim.get("remark_codes") or []
    return " / ".join(part for part in (pdf.text(reasons), pdf.text(remarks)) if part)


def impacted_claims(members: pl.DataFrame) -> pl.DataFrame:
    """Members with every CSV column present (missing ones null), sorted by claim number."""
    present = [c for c in CSV_COLUMNS if c in members.columns]
    frame = members.select(present).with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in CSV_COLUMNS if c not in present
    )
    return frame.select(CSV_COLUMNS).sort("patient_control_number", "payer_claim_control_number",
                                          nulls_last=True)


def write_trend_packet(
    cluster: dict, members: pl.DataFrame, provider: ProviderProfile, out_dir: str | Path
) -> tuple[Path, Path]:
    """Write the trend packet PDF and impacted-claims CSV for one cluster; return their paths.

    `cluster` is a trend_clusters row, optionally with `payer_rule` (the payer rule name, for
    the form and the channel) and `window_note` (how many claims are past the filing window);
    `members` its member claims joined to `denials` (claim_key and patient_control_number at
    least; the other DENIALS columns fill the example claim and the table when present).
    `provider` is the practice's own billing provider.
    """
    out_dir = pdf.private_dir(out_dir)
    stem = pdf.safe_name(cluster["cluster_id"], "trend")
    claims = impacted_claims(members.with_columns(pl.lit(cluster["cluster_id"]).alias("cluster_id")))
    csv_path = _write_csv(claims, out_dir / f"{stem}.csv")
    example = _example(cluster, members)
    rows = [dict(r, denial_codes=denial_codes(r)) for r in claims.head(MAX_TABLE_ROWS).iter_rows(named=True)]
    own_form = trend_form(cluster.get("payer_rule")) == "coordinated_care"
    send = channel(cluster.get("payer_rule"), "trend")

    n = cluster.get("claim_count") or claims.height
    codes = format_codes(cluster.get("signature") or "")
    title = "Claim Trend Identification" if own_form else "Payer trend report"
    flow = pdf.header_block(
        title,
        f"To: {cluster.get('payer_name') or pdf.FILL_IN}"
        + (f" (payer ID {cluster['payer_id']})" if cluster.get("payer_id") else ""),
        (f"A recurring claim issue affecting {n} of this practice's claims with the same denial codes. "
         "Instead of a request per claim, this form gives one example claim and a brief description of "
         "the trend; every impacted claim is listed below and in the attached CSV "
         f"({csv_path.name}).") if own_form else
        (f"{n} of this practice's claims were paid below the expected allowed amount for the same procedure "
         f"({codes}). We report them together as one issue rather than one request per claim; every impacted "
         f"claim is listed below and in the attached CSV ({csv_path.name}).") if cluster.get("category") ==
        "underpayment" else
        (f"{n} of this practice's claims were denied with the same codes ({codes}). We report them "
         "together as one issue rather than one request per claim; every impacted claim is listed below "
         f"and in the attached CSV ({csv_path.name})."),
    )
    flow += [pdf.section("Send to"), pdf.key_value_table([("How to send", send.send_to), ("Source", send.source)])]
    flow += [pdf.section("1. Provider"), pdf.key_value_table(provider_rows(provider), blank="")]
    trend_rows = [
        ("Denial codes", codes),
        ("Brief description", cluster.get("description")),
        ("Number of claims", n),
        ("Remit dates", _range(cluster.get("first_remit_date"), cluster.get("last_remit_date"))),
        ("Dates of service", _range(cluster.get("first_service_date"), cluster.get("last_service_date"))),
        ("Dollars at stake (denied)", pdf.money(cluster.get("denied_amount"))),
        ("Billing NPI on the claims", _billing_npis(members)),
    ]
    if cluster.get("window_note"):
        trend_rows.append(("Filing window (check before sending)", cluster["window_note"]))
    trend_rows.append(("Requested action", requested_action(cluster)))
    flow += [pdf.section("2. The trend"), pdf.key_value_table(trend_rows)]
    flow += [
        pdf.section("3. Example claim"),
        pdf.key_value_table([
            ("Claim number", example.get("patient_control_number")),
            ("Payer claim number", example.get("payer_claim_control_number")),
            ("Date of service", example.get("service_date")),
            ("Billed amount", pdf.money(example.get("charge_amount"))),
            ("Denied amount", pdf.money(example.get("denied_amount"))),
            ("Denial codes", denial_codes(example)),
            ("Procedure codes", example.get("procedure_codes")),
            ("Remit date", example.get("remit_date")),
        ]),
    ]
    more = claims.height - len(rows)
    flow += [
        pdf.section(f"4. Impacted claims ({claims.height})"),
        pdf.claims_table(rows, IMPACTED_COLUMNS, money_columns=("charge_amount", "denied_amount")),
    ]
    if more > 0:
        flow.append(pdf.para(f"... and {more} more claims in {csv_path.name}.", "note"))
    pdf_path = pdf.build_pdf(
        out_dir / f"{stem}.pdf",
        flow,
        title=f"{title} {cluster['cluster_id']}",
        footer=f"claimback trend {cluster['cluster_id']}"
        + (f" - remits through {pdf.text(cluster.get('window_end'))}" if cluster.get("window_end") else ""),
    )
    return pdf_path, csv_path


def requested_action(cluster: dict) -> str:
    """What the practice asks, claiming only what the claims show."""
    ask = "Review how these claims were processed and reprocess every impacted claim listed."
    if cluster.get("category") == "underpayment":  # a fee schedule loaded wrong (claimback.underpayments)
        return ("Check the fee schedule loaded for this procedure against our agreement, correct it, and "
                "reprocess every impacted claim listed at the contracted allowed amount.")
    if cluster.get("evidence") == "authorization on file":
        return (ask + " Each claim as sent carried a prior authorization number; if an authorization does "
                "not cover a claim, tell us which so we can follow up on it.")
    return ask + " If you find a billing error on our side, tell us which so we can correct the claims."


def write_packets(
    clusters: pl.DataFrame,
    members: pl.DataFrame,
    denials: pl.DataFrame,
    provider: ProviderDirectory | ProviderProfile,
    out_dir: str | Path,
    as_of: date | None = None,
    previous: pl.DataFrame | None = None,
    drawing: pdf.Drawing | None = None,
) -> pl.DataFrame:
    """A trend packet per FLAGGED cluster (emerging ones are early warnings, not yet 10+; a
    provider_fix pattern is the practice's own to fix, never sent).

    `provider` is the run's profiles; each packet names its cluster's practice (billing TIN and
    NPI, with name and address from the `provider_*` columns of `denials` when present). A single
    ProviderProfile is printed only for a cluster whose claims name no provider. `previous` is
    the last run's `trend_packets`: an unchanged packet whose files are there is not drawn again,
    and packets of clusters no longer flagged are removed. Returns the `trend_packets` table.
    `as_of` defaults to each cluster's window end.
    """
    out_dir = pdf.private_dir(out_dir)
    directory = provider if isinstance(provider, ProviderDirectory) else ProviderDirectory(fallback=provider)
    flagged = clusters.filter(pl.col("status") == "flagged") if "status" in clusters.columns else clusters
    details = members.select("cluster_id", "claim_key").join(
        denials.unique("claim_key", keep="last", maintain_order=True), on="claim_key", how="left"
    )
    known = _previous_hashes(previous, out_dir)
    by_cluster = details.partition_by("cluster_id", as_dict=True, maintain_order=True)
    layout, none = pdf.layout_version(), details.clear()
    written, jobs = [], []
    for cluster in flagged.iter_rows(named=True):
        mine = by_cluster.get((cluster["cluster_id"],), none)
        practice = directory.for_claim(_practice(cluster, mine))
        digest = _content_hash(cluster, mine, practice, layout)
        job = (cluster, mine.select(c for c in PRINTED_COLUMNS if c in mine.columns), practice, out_dir)
        stem = out_dir / pdf.safe_name(cluster["cluster_id"], "trend")
        pdf_path, csv_path = stem.with_suffix(".pdf"), stem.with_suffix(".csv")
        unchanged = known.get(str(pdf_path)) == digest and csv_path.is_file()
        if not unchanged:
            jobs.append(job)
        written.append({
            "cluster_id": cluster["cluster_id"],
            "payer_name": cluster.get("payer_name"),
            "pdf_path": str(pdf_path),
            "csv_path": str(csv_path),
            "claim_count": cluster.get("claim_count"),
            "denied_amount": cluster.get("denied_amount"),
            "created_for_as_of": as_of or cluster.get("window_end"),
            "billing_tin": cluster.get("billing_tin"),
            "billing_npi": cluster.get("billing_npi"),
            "status": "written",  # also when unchanged: a rerun publishes the same table
            "content_sha256": digest,
        })
    pdf.draw_all(write_trend_packet, jobs, drawing)
    keep = {r["pdf_path"] for r in written} | {r["csv_path"] for r in written}
    for pattern in ("trend_*.pdf", "trend_*.csv"):
        for path in out_dir.glob(pattern):
            if str(path) not in keep:
                path.unlink(missing_ok=True)
    if not written:
        return empty("trend_packets")  # (conforming an empty frame would give one row of nulls)
    return conform(pl.DataFrame(written, infer_schema_length=None), "trend_packets")


def _content_hash(cluster: dict, members: pl.DataFrame, provider: ProviderProfile, layout: str) -> str:
    """What the packet prints from: the cluster, its claims' rows, the practice and the layout. The
    rows by their hashes (stable within one Polars version, which is part of the hash), not their
    text: a 40,000-claim cluster's rows as JSON took seconds a night."""
    rows = members.sort("claim_key").hash_rows(seed=0, seed_1=1, seed_2=2, seed_3=3)
    head = json.dumps([cluster, provider.__dict__, layout, pl.__version__, members.columns],
                      sort_keys=True, default=str)
    return hashlib.sha256(head.encode() + rows.to_numpy().tobytes()).hexdigest()


def _practice(cluster: dict, members: pl.DataFrame) -> ProviderProfile:
    """The cluster's practice as printed: its billing TIN/NPI, name and address from a member claim."""
    row = {}
    if "provider_npi" in members.columns:
        same = members.filter(pl.col("provider_npi") == cluster.get("billing_npi"))
        row = (same if not same.is_empty() else members).row(0, named=True) if not members.is_empty() else {}
    return ProviderProfile.from_claim(dict(row, provider_npi=cluster.get("billing_npi") or row.get("provider_npi"),
                                           provider_tin=cluster.get("billing_tin") or row.get("provider_tin")))


def _previous_hashes(previous: pl.DataFrame | None, out_dir: Path) -> dict[str, str]:
    """Last run's content hash per packet file name, for packets whose file is still there."""
    if previous is None or previous.is_empty() or "content_sha256" not in previous.columns:
        return {}
    known = {}
    for path, digest in previous.select("pdf_path", "content_sha256").drop_nulls().iter_rows():
        full = out_dir / Path(path).name
        if full.is_file():
            known[str(full)] = digest
    return known


def _example(cluster: dict, members: pl.DataFrame) -> dict:
    if members.is_empty():
        return {}
    chosen = members.filter(pl.col("claim_key") == cluster.get("example_claim_key"))
    return (chosen if not chosen.is_empty() else members).row(0, named=True)


def _billing_npis(members: pl.DataFrame) -> str:
    """The billing NPI(s) the claims went out under: a group may bill under several."""
    if "billing_npi" not in members.columns:
        return ""
    counts = members["billing_npi"].drop_nulls().value_counts(sort=True)
    if counts.is_empty():
        return ""
    parts = [f"{npi} ({n} claims)" for npi, n in counts.head(3).iter_rows()]
    if counts.height > 3:
        parts.append(f"and {counts.height - 3} more")
    return ", ".join(parts) if counts.height > 1 else counts["billing_npi"][0]


def _range(first: object, last: object) -> str:
    if first is None and last is None:
        return ""
    if first == last:
        return pdf.text(first)
    return f"{pdf.text(first)} to {pdf.text(last)}"


def _write_csv(claims: pl.DataFrame, path: Path) -> Path:
    flat = claims.with_columns(
        pl.col(c).cast(pl.List(pl.String)).list.join(";") for c in LIST_COLUMNS
        if claims.schema[c] != pl.String
    )
    # it lists claim numbers the payer will see: owner-only like the PDFs, and formula-safe
    return pdf.write_private_csv(flat, path)


def window_notes(members: pl.DataFrame, denied: pl.DataFrame, rules, as_of: date) -> pl.DataFrame:
    """Per flagged cluster, a sentence on its claims' Level I filing window (a trend report rides
    on it): how many are already past it, the earliest open deadline, and whether the window is
    the payer's documented rule or a conservative stand-in. Columns: cluster_id, window_note."""
    from claimback.routing.deadlines import filing_deadline

    claims = members.filter(pl.col("status") == "flagged").select("cluster_id", "claim_key").join(
        denied.select("claim_key", "payer_id", "payer_name", "remit_date", "first_remit_date", "service_date"),
        on="claim_key")
    if claims.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.String, "window_note": pl.String})
    claims = claims.join(rules.payers_frame(claims).select("payer_id", "payer_name", "payer_rule"),
                         on=["payer_id", "payer_name"], how="left", nulls_equal=True)
    windows = rules.windows_frame().filter(pl.col("rule_level") == "level1")
    claims = claims.join(windows, on="payer_rule", how="left").with_columns(
        pl.lit(None, dtype=pl.Date).alias("l1_decided_on"),  # a trend report is a first request
    ).with_columns(
        deadline=filing_deadline(pl.col("window_anchor"), pl.col("window_days"), pl.col("mail_days")))
    per_cluster = claims.group_by("cluster_id").agg(
        pl.len().alias("claims"),
        (pl.col("deadline") < as_of).sum().alias("past"),
        pl.col("deadline").filter(pl.col("deadline") >= as_of).min().alias("next_deadline"),
        pl.col("window_days").first(), pl.col("mail_days").first(), pl.col("window_anchor").first(),
        pl.col("rule_confirmed").first(), pl.col("rule_source").first(),
    )
    notes = []
    for row in per_cluster.iter_rows(named=True):
        mail = f" + {row['mail_days']} mail days" if row["mail_days"] else ""
        rule = ("the payer's documented rule" if row["rule_confirmed"]
                else "a conservative stand-in, not the payer's confirmed rule")
        open_part = (f"; the earliest open deadline is {row['next_deadline'].isoformat()}"
                     if row["next_deadline"] else "")
        notes.append((row["cluster_id"], (
            f"{row['past']} of {row['claims']} claims are past the Level I window "
            f"({row['window_days']} days from the {str(row['window_anchor']).replace('_', ' ')}{mail}; "
            f"{rule}: {row['rule_source']}){open_part}.")))
    return pl.DataFrame(notes, schema={"cluster_id": pl.String, "window_note": pl.String}, orient="row")
