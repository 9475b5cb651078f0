"""The Claim Trend Identification packet: one payer problem, one example claim, every claim listed.

In the spirit of Coordinated Care's Claim Trend Identification form (10+ claims with the
same denial/payment codes; one example claim and a brief description instead of a request
per claim): a PDF for the payer's provider engagement contact and a CSV of every impacted
claim. Neither carries patient names, member ids or birth dates.
"""
from __future__ import annotations

import os

from datetime import date
from pathlib import Path

import polars as pl

from claimback.forms import pdf
from claimback.forms.provider import ProviderProfile
from claimback.schema import conform
from claimback.trends import format_codes

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
MAX_TABLE_ROWS = 300  # beyond this the PDF points to the CSV rather than growing for pages


def provider_rows(provider: ProviderProfile) -> list[tuple[str, object]]:
    return [
        ("Provider / practice name", provider.name),
        ("Billing NPI", provider.npi),
        ("Tax ID (TIN)", provider.tin),
        ("Contact person", provider.contact_name),
        ("Phone", provider.phone),
        ("E-mail", provider.email),
        ("Address", provider.address),
    ]


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

    `cluster` is a trend_clusters row; `members` its member claims joined to `denials`
    (claim_key and patient_control_number at least; the other DENIALS columns fill the
    example claim and the table when present).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = pdf.safe_name(cluster["cluster_id"], "trend")
    claims = impacted_claims(members.with_columns(pl.lit(cluster["cluster_id"]).alias("cluster_id")))
    csv_path = _write_csv(claims, out_dir / f"{stem}.csv")
    example = _example(cluster, members)
    rows = [dict(r, denial_codes=denial_codes(r)) for r in claims.head(MAX_TABLE_ROWS).iter_rows(named=True)]

    n = cluster.get("claim_count") or claims.height
    flow = pdf.header_block(
        "Claim Trend Identification",
        f"To: {cluster.get('payer_name') or pdf.FILL_IN}"
        + (f" (payer ID {cluster['payer_id']})" if cluster.get("payer_id") else ""),
        f"A recurring claim issue affecting {n} claims with the same denial codes. Instead of a "
        "request per claim, this form gives one example claim and a brief description of the "
        "trend; every impacted claim is listed below and in the attached CSV "
        f"({csv_path.name}).",
    )
    flow += [pdf.section("1. Provider"), pdf.key_value_table(provider_rows(provider))]
    flow += [
        pdf.section("2. Example claim"),
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
    flow += [
        pdf.section("3. The trend"),
        pdf.key_value_table([
            ("Denial codes", format_codes(cluster.get("signature") or "")),
            ("Brief description", cluster.get("description")),
            ("Number of claims", n),
            ("Remit dates", _range(cluster.get("first_remit_date"), cluster.get("last_remit_date"))),
            ("Dates of service", _range(cluster.get("first_service_date"), cluster.get("last_service_date"))),
            ("Dollars at stake (denied)", pdf.money(cluster.get("denied_amount"))),
            ("Billing NPI on the claims", _billing_npis(members)),
            ("Requested action", "Review how these claims were processed and reprocess every "
                                 "impacted claim listed; we believe they were billed correctly."),
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
        title=f"Claim Trend Identification {cluster['cluster_id']}",
        footer=f"claimback trend {cluster['cluster_id']}"
        + (f" - remits through {pdf.text(cluster.get('window_end'))}" if cluster.get("window_end") else ""),
    )
    return pdf_path, csv_path


def write_packets(
    clusters: pl.DataFrame,
    members: pl.DataFrame,
    denials: pl.DataFrame,
    provider: ProviderProfile,
    out_dir: str | Path,
    as_of: date | None = None,
) -> pl.DataFrame:
    """A trend packet per FLAGGED cluster (emerging ones are early warnings, not yet 10+).

    Returns the `trend_packets` table. `as_of` defaults to each cluster's window end.
    """
    flagged = clusters.filter(pl.col("status") == "flagged") if "status" in clusters.columns else clusters
    details = members.select("cluster_id", "claim_key").join(
        denials.unique("claim_key", keep="last", maintain_order=True), on="claim_key", how="left"
    )
    flagged_rows = list(flagged.iter_rows(named=True))
    jobs = [(cluster, details.filter(pl.col("cluster_id") == cluster["cluster_id"]), provider, out_dir)
            for cluster in flagged_rows]
    written = []
    for cluster, (pdf_path, csv_path) in zip(flagged_rows, pdf.draw_all(write_trend_packet, jobs)):
        written.append({
            "cluster_id": cluster["cluster_id"],
            "payer_name": cluster.get("payer_name"),
            "pdf_path": str(pdf_path),
            "csv_path": str(csv_path),
            "claim_count": cluster.get("claim_count"),
            "denied_amount": cluster.get("denied_amount"),
            "created_for_as_of": as_of or cluster.get("window_end"),
        })
    if not written:
        return conform(pl.DataFrame(), "trend_packets")
    return conform(pl.DataFrame(written, infer_schema_length=None), "trend_packets")


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
    tmp = path.with_suffix(".csv.tmp")
    flat.write_csv(tmp)
    os.chmod(tmp, 0o600)  # it lists claim numbers the payer will see: owner-only, like the PDFs
    tmp.replace(path)
    return path
