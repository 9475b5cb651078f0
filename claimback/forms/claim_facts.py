"""Everything claimback knows about a denied claim that a payer asks for on a request.

A Level I / Level II request is rejected or misrouted when it lacks what identifies the claim
to the payer: member name, id and date of birth, the claim and payer claim numbers, the dates of
service, the billed and denied amount of each line, the authorization and referral numbers,
and the billing provider. The `denials` row has the codes and amounts; the rest is in the 837
that was sent (2010AA/2010BA/2010CA, REF*G1, REF*9F, DTP*472) and the 835 that denied it
(NM1*QC, N1*PE, the service lines). `packet_facts` gathers them per claim, the 837 first.

These columns carry PHI: they go onto the packet the payer receives and nowhere else (no log,
no metadata, no published table).
"""
from __future__ import annotations

import polars as pl

from claimback.forms.provider import claim_providers

# The lake columns read for the packets (nothing else of those tables is loaded).
FACT_INPUTS = {
    "submitted_claims": (
        "claim_key", "patient_last_name", "patient_first_name", "subscriber_member_id", "patient_birth_date",
        "rendering_npi", "diagnosis_codes", "type_of_bill", "prior_authorization", "referral_number", "statement_from", "statement_to", "billing_name",
        "billing_npi", "billing_tax_id", "billing_address", "billing_contact_name", "billing_contact_phone",
        "billing_contact_email",
    ),
    "remit_claims": (
        "claim_key", "patient_last_name", "patient_first_name", "member_id", "payee_npi", "payee_tax_id",
        "transaction_hash",
        "statement_from", "statement_to",
    ),
    "remit_payments": ("transaction_hash", "payee_name", "payee_tax_id"),
    "submitted_service_lines": ("claim_key", "line_number", "procedure_code", "modifiers", "prior_authorization"),
    "denial_lines": (
        "claim_key", "line_number", "procedure_code", "modifiers", "service_date", "line_charge_amount",
        "reason", "amount",
    ),
    "underpaid_lines": (
        "claim_key", "line_number", "procedure_code", "modifiers", "service_date", "charge_amount", "allowed_amount",
        "expected_allowed", "expected_source", "expected_basis", "shortfall", "hidden_by", "is_denial",
    ),
}
# How a packet names where an underpaid line's expected amount comes from (underpaid_lines.expected_source).
EXPECTED_SOURCE_WORDS = {
    "fee_schedule": "our contract fee schedule",
    "payer_modal_180d": "your own payments for this service",
}
LINE_FIELDS = ("line_number", "procedure_code", "modifiers", "service_date", "billed", "denied", "reasons")


def packet_facts(
    denials: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    remit_claims: pl.DataFrame | None = None,
    remit_payments: pl.DataFrame | None = None,
    denial_lines: pl.DataFrame | None = None,
    submitted_service_lines: pl.DataFrame | None = None,
    underpaid_lines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`denials` rows with member, dates, authorization, provider and per-line columns added.

    Added: patient_last_name, patient_first_name, member_id, patient_birth_date,
    prior_authorization, referral_number, diagnosis_codes (837 HI, principal first), service_from, service_to, has_837 (the 837 was
    matched: a blank authorization then means the 837 carried none), the provider_* columns of
    `claim_providers`, `lines` (one struct per denied line: LINE_FIELDS) and `billed_procedures`
    (the 837's procedure codes with modifiers, for a claim denied as a whole). For an underpayment,
    `lines` are its underpaid lines (denied = the shortfall) and `expected_statement` says, line by
    line, what was allowed, what was expected and where that comes from.
    """
    frame = denials.with_columns(
        pl.lit(None, dtype=dtype).alias(c)
        for c, dtype in (("submitted_claim_key", pl.String), ("rendering_npi", pl.String), ("service_date", pl.Date))
        if c not in denials.columns
    )
    sent = _pick(submitted_claims, FACT_INPUTS["submitted_claims"]).rename(
        {"claim_key": "submitted_claim_key"}, strict=False)
    remit = _pick(remit_claims, FACT_INPUTS["remit_claims"])
    frame = frame.join(_prefixed(sent, "s_", "submitted_claim_key").unique("submitted_claim_key"),
                       on="submitted_claim_key", how="left")
    frame = frame.join(_prefixed(remit, "r_", "claim_key").unique("claim_key"), on="claim_key", how="left")
    frame = frame.with_columns(
        has_837=pl.col("s_submitted_claim_key_present").fill_null(False),
        patient_last_name=pl.coalesce("s_patient_last_name", "r_patient_last_name"),
        patient_first_name=pl.coalesce("s_patient_first_name", "r_patient_first_name"),
        member_id=pl.coalesce("s_subscriber_member_id", "r_member_id"),
        patient_birth_date=pl.col("s_patient_birth_date"),
        prior_authorization=pl.col("s_prior_authorization"),
        referral_number=pl.col("s_referral_number"),
        diagnosis_codes=pl.col("s_diagnosis_codes"),
        type_of_bill=pl.col("s_type_of_bill"),
        rendering_npi=pl.coalesce("rendering_npi", "s_rendering_npi"),
        service_from=pl.coalesce("s_statement_from", "r_statement_from", "service_date"),
        service_to=pl.coalesce("s_statement_to", "r_statement_to", "s_statement_from", "r_statement_from",
                               "service_date"),
    )
    providers = claim_providers(frame.select("claim_key", "submitted_claim_key"), submitted_claims,
                                remit_claims, remit_payments)
    frame = frame.join(providers, on="claim_key", how="left")
    frame = frame.join(_lines(denial_lines), on="claim_key", how="left")
    frame = _with_underpaid_lines(frame, underpaid_lines)
    frame = frame.join(_billed_procedures(submitted_service_lines), on="submitted_claim_key", how="left")
    # an authorization sent on a line (2400 REF*G1) when the claim (2300) carries none
    frame = frame.with_columns(prior_authorization=pl.coalesce(
        "prior_authorization", pl.col("line_authorizations").list.join(", ").replace("", None)))
    return frame.drop([c for c in frame.columns if c.startswith(("s_", "r_"))])


def _pick(frame: pl.DataFrame | None, columns: tuple[str, ...]) -> pl.DataFrame:
    """The named columns (missing ones as nulls) of a lake table that may be absent."""
    if frame is None:
        return pl.DataFrame(schema={c: pl.String for c in columns})
    return frame.select([pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c)
                         for c in columns])


def _prefixed(frame: pl.DataFrame, prefix: str, key: str) -> pl.DataFrame:
    return frame.rename({c: prefix + c for c in frame.columns if c != key}).with_columns(
        pl.lit(True).alias(f"{prefix}{key}_present"))


def _lines(denial_lines: pl.DataFrame | None) -> pl.DataFrame:
    """Per claim, its denied lines in order: billed, denied (summed over the line's denying
    adjustments) and the codes. Claim-level adjustments (no line number) are a line of their own."""
    schema = {"claim_key": pl.String, "lines": pl.List(pl.Struct({
        "line_number": pl.Int64, "procedure_code": pl.String, "modifiers": pl.List(pl.String),
        "service_date": pl.Date, "billed": pl.Decimal(12, 2), "denied": pl.Decimal(12, 2),
        "reasons": pl.List(pl.String)}))}
    if denial_lines is None or denial_lines.is_empty():
        return pl.DataFrame(schema=schema)
    lines = (
        denial_lines.group_by("claim_key", "line_number")
        .agg(
            pl.col("procedure_code").first(),
            pl.col("modifiers").first(),
            pl.col("service_date").first(),
            pl.col("line_charge_amount").first().alias("billed"),
            pl.col("amount").sum().alias("denied"),
            pl.col("reason").unique(maintain_order=True).alias("reasons"),
        )
        .sort("claim_key", "line_number", nulls_last=True)
        .group_by("claim_key", maintain_order=True)
        .agg(pl.struct(*LINE_FIELDS).alias("lines"))
    )
    return lines.cast(schema, strict=False)


def _with_underpaid_lines(frame: pl.DataFrame, underpaid_lines: pl.DataFrame | None) -> pl.DataFrame:
    """`lines` of an underpayment (its underpaid lines, where no denial line is) and `expected_statement`."""
    if underpaid_lines is None or underpaid_lines.is_empty():
        return frame.with_columns(expected_statement=pl.lit(None, dtype=pl.String))
    lines = underpaid_lines.filter(pl.col("is_denial")).sort("claim_key", "line_number")
    modifiers = pl.col("modifiers").list.eval(pl.element().filter(pl.element() != "")).list.join("-").fill_null("")
    procedure = pl.when(modifiers != "").then(pl.concat_str("procedure_code", pl.lit("-"), modifiers)).otherwise(
        pl.col("procedure_code"))
    dollars = lambda column: pl.format("${}", pl.col(column).cast(pl.String))  # noqa: E731
    sentence = pl.format(
        "Line {} ({}, date of service {}) was allowed {}; the expected allowed amount is {}, from {} ({}): {} short.",
        pl.col("line_number"), procedure, pl.col("service_date").cast(pl.String), dollars("allowed_amount"),
        dollars("expected_allowed"),
        pl.col("expected_source").replace_strict(EXPECTED_SOURCE_WORDS, default=pl.col("expected_source")),
        pl.col("expected_basis"), dollars("shortfall"))
    per_claim = lines.group_by("claim_key", maintain_order=True).agg(
        underpaid=pl.struct(
            "line_number", "procedure_code", "modifiers", "service_date",
            billed=pl.col("charge_amount"), denied=pl.col("shortfall"),
            reasons=pl.concat_list(pl.col("hidden_by").fill_null("underpaid"))),
        expected_statement=sentence.str.join(" "),
    )
    template = _lines(None).schema["lines"]
    return frame.join(per_claim.with_columns(pl.col("underpaid").cast(template, strict=False)),
                      on="claim_key", how="left").with_columns(
        lines=pl.when(pl.col("lines").list.len().fill_null(0) > 0).then("lines").otherwise("underpaid"),
    ).drop("underpaid")


def _billed_procedures(lines: pl.DataFrame | None) -> pl.DataFrame:
    """Per 837 claim, its lines' procedure codes ("97110-GP") in line order and line authorizations."""
    schema = {"submitted_claim_key": pl.String, "billed_procedures": pl.List(pl.String),
              "line_authorizations": pl.List(pl.String)}
    if lines is None or lines.is_empty():
        return pl.DataFrame(schema=schema)
    if "prior_authorization" not in lines.columns:
        lines = lines.with_columns(pl.lit(None, dtype=pl.String).alias("prior_authorization"))
    modifiers = pl.col("modifiers").list.eval(pl.element().filter(pl.element() != "")).list.join("-")
    code = pl.when(modifiers.fill_null("") != "").then(
        pl.concat_str("procedure_code", pl.lit("-"), modifiers)).otherwise(pl.col("procedure_code"))
    return (
        lines.sort("claim_key", "line_number")
        .group_by("claim_key", maintain_order=True)
        .agg(code.drop_nulls().alias("billed_procedures"),
             pl.col("prior_authorization").drop_nulls().unique(maintain_order=True).alias("line_authorizations"))
        .rename({"claim_key": "submitted_claim_key"})
        .cast(schema)
    )
