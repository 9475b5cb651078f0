"""Pre-filled Level I Request for Reconsideration and Level II Claim Dispute packets.

One member and one date of service per request (Centene-family plans require it). The
packet carries the identifiers the payer needs, a reason for disagreement DRAFTED from the
denial category and codes (wording in reconsideration_wording.yaml, meant to be reviewed
and edited), and the attachments checklist for the category. A Level II dispute also cites
the Level I request and its decision. Member name and id may be printed (the packet goes
to the payer) but never leave this module in logs or messages.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from claimback.forms import pdf
from claimback.forms.provider import ProviderProfile
from claimback.forms.trend_packet import denial_codes, provider_rows

WORDING_FILE = Path(__file__).with_name("reconsideration_wording.yaml")
TITLES = {1: "Level I - Request for Reconsideration", 2: "Level II - Claim Dispute"}


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
    fields = {
        "payer_name": claim.get("payer_name"),
        "payer_claim_control_number": claim.get("payer_claim_control_number"),
        "patient_control_number": claim.get("patient_control_number"),
        "service_date": pdf.text(claim.get("service_date")),
        "remit_date": pdf.text(claim.get("remit_date")),
        "codes": pdf.text(claim.get("reason_codes") or claim.get("primary_reason")),
        "remarks": f"(remark {remarks})" if remarks else "",
        "procedures": pdf.text(claim.get("procedure_codes")) or "the service",
        "denied_amount": pdf.money(claim.get("denied_amount")),
        "charge_amount": pdf.money(claim.get("charge_amount")),
    }
    for key in ("reference_number", "submitted_on", "decided_on", "outcome"):
        fields[f"level1_{key}"] = pdf.text((level1 or {}).get(key))
    return _Blanks({k: v for k, v in fields.items() if v not in (None, "") or k == "remarks"})


def draft_reason(claim: Mapping, level: int = 1, level1: Mapping | None = None,
                 wording: Mapping | None = None) -> str:
    """The reason-for-disagreement paragraph(s) for the claim's category and codes."""
    wording = wording or load_wording()
    categories = wording["categories"]
    entry = categories.get(claim.get("category") or "", categories["default"])
    values = claim_fields(claim, level1)
    paragraphs = [entry["reason"].format_map(values)]
    if level == 2:
        paragraphs.append(wording["level2_reason"].format_map(values))
    return "\n\n".join(_tidy(p) for p in paragraphs)


def attachments(claim: Mapping, level: int = 1, wording: Mapping | None = None) -> list[str]:
    """The checklist: the category's documents, the common ones, and the Level I file for II."""
    wording = wording or load_wording()
    categories = wording["categories"]
    entry = categories.get(claim.get("category") or "", categories["default"])
    items = list(wording.get("common_attachments", [])) + list(entry.get("attachments", []))
    if level == 2:
        items += list(wording.get("level2_attachments", []))
    return items


def write_reconsideration_packet(
    claim: Mapping,
    provider: ProviderProfile,
    out_dir: str | Path,
    level: int = 1,
    level1: Mapping | None = None,
    wording: Mapping | None = None,
) -> Path:
    """Write a Level I (level=1) or Level II (level=2) packet for one denied claim.

    `claim` is a denials row (optionally with patient_last_name, patient_first_name and
    member_id / subscriber_member_id, which print on the form). `level1` is the Level I
    reconsiderations row (reference_number, submitted_on, decided_on, outcome); a Level II
    packet without it prints "(fill in)" where the Level I details go.
    """
    if level not in TITLES:
        raise ValueError(f"level must be 1 or 2, not {level!r}")
    wording = wording or load_wording()
    ident = claim.get("payer_claim_control_number") or claim.get("claim_key")
    path = Path(out_dir) / f"{pdf.safe_name(ident, f'level{level}')}.pdf"

    flow = pdf.header_block(
        TITLES[level],
        f"To: {claim.get('payer_name') or pdf.FILL_IN}"
        + (f" (payer ID {claim['payer_id']})" if claim.get("payer_id") else ""),
        "One member and one date of service per request. "
        + ("Use only after an unsatisfactory response to a Level I Request for Reconsideration."
           if level == 2 else
           "For a claim billed correctly that the payer processed incorrectly (not for corrected claims)."),
    )
    flow += [pdf.section("Provider"), pdf.key_value_table(provider_rows(provider))]
    flow += [pdf.section("Member and claim"), pdf.key_value_table(_claim_rows(claim))]
    if level == 2:
        flow += [pdf.section("Level I reconsideration"), pdf.key_value_table([
            ("Level I reference number", (level1 or {}).get("reference_number")),
            ("Level I submitted on", (level1 or {}).get("submitted_on")),
            ("Level I decision date", (level1 or {}).get("decided_on")),
            ("Level I outcome", (level1 or {}).get("outcome")),
        ])]
    flow.append(pdf.section("Reason for disagreement (draft - review and edit before sending)"))
    flow += [pdf.para(p) for p in draft_reason(claim, level, level1, wording).split("\n\n")]
    flow += [pdf.section("Attachments"), pdf.checklist(attachments(claim, level, wording))]
    flow.append(pdf.signature_block())
    return pdf.build_pdf(
        path, flow, title=TITLES[level],
        footer=f"claimback {TITLES[level]} - claim {pdf.text(claim.get('patient_control_number'))}",
    )


PACKET_ROUTES = {"level1_reconsideration": 1, "level2_dispute": 2}
PATIENT_FIELDS = ("patient_last_name", "patient_first_name", "member_id")


def write_reconsideration_packets(
    work_queue: pl.DataFrame,
    denials: pl.DataFrame,
    provider: ProviderProfile,
    out_dir: str | Path,
    reconsiderations: pl.DataFrame | None = None,
    remit_claims: pl.DataFrame | None = None,
    max_packets: int | None = None,
    wording: Mapping | None = None,
) -> pl.DataFrame:
    """A packet for every work-queue row routed to Level I or Level II, highest priority first.

    The claim detail comes from `denials`; member name and id from `remit_claims` (the
    latest adjudication, by claim_key) when given; a Level II packet cites the claim's most
    recent Level I row in `reconsiderations` (same patient control number, preferring the
    same payer claim number). Returns one row per packet: claim_key,
    patient_control_number, payer_name, route, level, pdf_path.
    """
    queue = work_queue.filter(pl.col("route").is_in(list(PACKET_ROUTES)))
    if "priority" in queue.columns:
        queue = queue.sort("priority", "claim_key", descending=[True, False], nulls_last=True)
    if max_packets is not None:
        queue = queue.head(max_packets)
    claims = queue.select("claim_key", "route").join(
        denials.unique("claim_key", keep="last", maintain_order=True), on="claim_key", how="left"
    )
    if remit_claims is not None:
        patients = remit_claims.select("claim_key", *[c for c in PATIENT_FIELDS if c in remit_claims.columns])
        claims = claims.join(patients.unique("claim_key"), on="claim_key", how="left")
    level1_rows = _latest_level1(reconsiderations)
    wording = wording or load_wording()
    jobs = []
    for claim in claims.iter_rows(named=True):
        level = PACKET_ROUTES[claim["route"]]
        level1 = _level1_for(claim, level1_rows) if level == 2 else None
        jobs.append((claim, provider, out_dir, level, level1, wording))
    written = [
        {
            "claim_key": claim["claim_key"],
            "patient_control_number": claim.get("patient_control_number"),
            "payer_name": claim.get("payer_name"),
            "route": claim["route"],
            "level": level,
            "pdf_path": str(path),
        }
        for (claim, _, _, level, _, _), path in zip(jobs, pdf.draw_all(write_reconsideration_packet, jobs))
    ]
    return pl.DataFrame(written, schema={
        "claim_key": pl.String, "patient_control_number": pl.String, "payer_name": pl.String,
        "route": pl.String, "level": pl.Int64, "pdf_path": pl.String,
    })


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


def _claim_rows(claim: Mapping) -> list[tuple[str, object]]:
    member_name = ", ".join(
        part for part in (claim.get("patient_last_name"), claim.get("patient_first_name")) if part
    )
    return [
        ("Member name", member_name),
        ("Member ID", claim.get("member_id") or claim.get("subscriber_member_id")),
        ("Claim number", claim.get("patient_control_number")),
        ("Payer claim number", claim.get("payer_claim_control_number")),
        ("Date of service", claim.get("service_date")),
        ("Remit (EOP) date", claim.get("remit_date")),
        ("Billed amount", pdf.money(claim.get("charge_amount"))),
        ("Paid amount", pdf.money(claim.get("paid_amount"))),
        ("Denied amount", pdf.money(claim.get("denied_amount"))),
        ("Denial codes", denial_codes(claim)),
        ("Procedure codes", claim.get("procedure_codes")),
        ("Rendering NPI", claim.get("rendering_npi")),
    ]


def _tidy(paragraph: str) -> str:
    return re.sub(r"\s+([.,;)])", r"\1", re.sub(r"\s{2,}", " ", paragraph)).strip()
