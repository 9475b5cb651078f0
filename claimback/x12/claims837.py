"""837P/837I/837D claims → submitted_claims and submitted_service_lines.

The 837 is hierarchical: billing provider (HL level 20) → subscriber (22, with the payer in
2010BB) → optionally patient (23) → claims (CLM). Values are read per HL from the rows
before its first CLM, then each claim takes them from its own HL and its ancestors (HL02
parent links), so a patient HL inherits the subscriber's payer and the billing provider.
Claim-level values stop at the first SBR after the CLM: loops 2320/2330 describe OTHER
payers (coordination of benefits) and must not overwrite this claim's payer or references.
The claim type comes from content (SV1 → P, SV2 → I, SV3 → D), falling back to GS08/ST03.
"""
from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from claimback.x12 import findings
from claimback.x12.fields import (
    REJECT, Segments, amount_problem, blank_to_null, claim_key, date8, date8_end, el, firsts, missing, modifiers,
    money, number, opened, part, running_count,
)

SERVICE_TAGS = {"SV1": "P", "SV2": "I", "SV3": "D"}
DIAGNOSIS_QUALIFIERS = ("ABK", "BK", "ABF", "BF")
PRINCIPAL_QUALIFIERS = ("ABK", "BK")
HI_ELEMENTS = 12
TAGS = ("HL", "NM1", "N3", "N4", "PER", "REF", "SBR", "DMG", "CLM", "DTP", "HI", "SV1", "SV2", "SV3")


# LX01 read on the whole frame without splitting every segment into elements; only LX rows carry
# text into the split (a when/then computes its branch on every row, null or not)
_lx01 = blank_to_null(
    pl.when(pl.col("tag") == "LX").then(pl.col("segment"))
    .str.splitn(pl.col("elem"), 3).struct.field("field_1").str.strip_chars(" ")
)


def with_loops(rows: pl.DataFrame) -> pl.DataFrame:
    """Add hl_seq, claim_ordinal, in_cob, line_seq and line_number columns."""
    tag = pl.col("tag")
    is_svc = tag.is_in(list(SERVICE_TAGS))

    rows = rows.with_columns(
        hl_seq=opened(tag == "HL", ("ST", "SE"), (tag == "HL").cum_sum()),
        claim_ordinal=opened(tag == "CLM", ("HL", "ST", "SE"), pl.col("clm_ordinal")),
        line_seq=opened(is_svc, ("LX", "CLM", "HL", "ST", "SE"), is_svc.cum_sum()),
        in_cob=pl.when(tag == "SBR").then(True).when(tag.is_in(("CLM", "LX", "HL", "ST", "SE"))).then(False)
        .otherwise(None).forward_fill().fill_null(False),
        lx_value=pl.when(tag == "LX").then(_lx01).when(tag.is_in(("CLM", "HL", "ST", "SE"))).then(pl.lit(""))
        .otherwise(None).forward_fill(),
    )
    position = running_count(is_svc, pl.col("claim_ordinal"))
    return rows.with_columns(
        line_number=pl.when(pl.col("line_seq").is_not_null()).then(line_number(pl.col("lx_value"), position))
    )


def _pre_claim(seg: pl.LazyFrame) -> pl.LazyFrame:
    return seg.filter(pl.col("hl_seq").is_not_null() & pl.col("claim_ordinal").is_null())


def _claim_level(seg: pl.LazyFrame) -> pl.LazyFrame:
    return seg.filter(pl.col("claim_ordinal").is_not_null() & pl.col("line_seq").is_null() & ~pl.col("in_cob"))


def _line_level(seg: pl.LazyFrame) -> pl.LazyFrame:
    return seg.filter(pl.col("line_seq").is_not_null())


def _hl_values(seg: Segments) -> pl.LazyFrame:
    """Per HL: its id, parent and level, and the party values read before its first CLM."""
    k = "hl_seq"
    hl = seg["HL"].select("txn", k, hl_id=el(1), parent_id=el(2), level=el(3))
    is_85, is_il, is_qc, is_pr = (el(1) == q for q in ("85", "IL", "QC", "PR"))
    always = pl.lit(True)
    parts = [
        firsts(_pre_claim(seg["NM1"]), k, billing_name=(is_85, el(3)), billing_id_qualifier=(is_85, el(8)),
               billing_id=(is_85, el(9)), sub_last=(is_il, el(3)), sub_first=(is_il, el(4)),
               subscriber_member_id=(is_il, el(9)), pat_last=(is_qc, el(3)), pat_first=(is_qc, el(4)),
               payer_name=(is_pr, el(3)), payer_id=(is_pr, el(9))),
        firsts(_pre_claim(seg["REF"]), k, billing_ref_ei=(el(1) == "EI", el(2))),
        firsts(_pre_claim(seg["SBR"]), k, payer_responsibility=(always, el(1)), claim_filing_indicator=(always, el(9))),
        firsts(_pre_claim(seg["DMG"]), k, birth_date=(always, date8(el(2)))),
        # In a billing provider HL (level 20) the first N3/N4/PER belong to 2010AA, which comes
        # before the pay-to loops; in other HLs they are the subscriber's or patient's (dropped below).
        firsts(_pre_claim(seg["N3"]), k, addr_line1=(always, el(1)), addr_line2=(always, el(2))),
        firsts(_pre_claim(seg["N4"]), k, addr_city=(always, el(1)), addr_state=(always, el(2)),
               addr_zip=(always, el(3))),
        firsts(_pre_claim(seg["PER"]), k, per_name=(always, el(2)),
               per_phone=(always, _per_number("TE")), per_email=(always, _per_number("EM"))),
    ]
    for p in parts:
        hl = hl.join(p, on=k, how="left")
    level = pl.col("level")
    return hl.with_columns(
        billing_npi=pl.when(pl.col("billing_id_qualifier") == "XX").then(pl.col("billing_id")),
        billing_tax_id=pl.coalesce(
            pl.col("billing_ref_ei"),
            pl.when(pl.col("billing_id_qualifier").is_in(("24", "FI"))).then(pl.col("billing_id"))),
        sub_birth=pl.when(level == "22").then(pl.col("birth_date")),
        pat_birth=pl.when(level == "23").then(pl.col("birth_date")),
        billing_address=pl.when(level == "20").then(_address()),
        billing_contact_name=pl.when(level == "20").then(pl.col("per_name")),
        billing_contact_phone=pl.when(level == "20").then(pl.col("per_phone")),
        billing_contact_email=pl.when(level == "20").then(pl.col("per_email")),
    ).drop("billing_id_qualifier", "billing_id", "billing_ref_ei", "birth_date", "addr_line1", "addr_line2",
           "addr_city", "addr_state", "addr_zip", "per_name", "per_phone", "per_email")


def _per_number(qualifier: str) -> pl.Expr:
    """PER04/06/08 whose qualifier (PER03/05/07) is `qualifier` (TE phone, EM e-mail, FX fax)."""
    return pl.coalesce(*[pl.when(el(i) == qualifier).then(el(i + 1)) for i in (3, 5, 7)])


def _address() -> pl.Expr:
    """N3/N4 as one mailing line: "100 MAIN ST, SUITE 2, SEATTLE, WA 98101-1234"."""
    zip_code = pl.col("addr_zip")
    zip_code = pl.when(zip_code.str.len_chars() == 9).then(
        pl.concat_str(zip_code.str.slice(0, 5), pl.lit("-"), zip_code.str.slice(5))).otherwise(zip_code)
    state_zip = pl.concat_str(pl.col("addr_state"), zip_code, separator=" ", ignore_nulls=True)
    line = pl.concat_str(pl.col("addr_line1"), pl.col("addr_line2"), pl.col("addr_city"), state_zip,
                         separator=", ", ignore_nulls=True)
    return pl.when(pl.col("addr_line1").is_not_null()).then(line)


_INHERITED = ("billing_npi", "billing_name", "billing_tax_id", "billing_address", "billing_contact_name",
              "billing_contact_phone", "billing_contact_email", "payer_responsibility", "claim_filing_indicator",
              "sub_last", "sub_first", "subscriber_member_id", "pat_last", "pat_first", "payer_name", "payer_id",
              "sub_birth", "pat_birth")


def _inherit(claims: pl.LazyFrame, hl: pl.LazyFrame) -> pl.LazyFrame:
    """Each claim's party values from its HL, the parent HL and the grandparent HL."""
    # HL02 names the parent by HL01; ids may repeat in sloppy files, so take the nearest earlier one
    link = hl.select("txn", "hl_seq", "hl_id", "parent_id").sort("hl_seq")
    targets = link.select("txn", parent_id="hl_id", parent_seq="hl_seq").sort("parent_seq")
    parent = link.join_asof(targets, left_on="hl_seq", right_on="parent_seq", by=["txn", "parent_id"],
                            strategy="backward", allow_exact_matches=False, check_sortedness=False)
    up = parent.select("hl_seq", "parent_seq")
    chain = up.join(up.select(parent_seq="hl_seq", grand_seq="parent_seq"), on="parent_seq", how="left")
    values = hl.select("hl_seq", *_INHERITED)
    out = claims.join(chain, on="hl_seq", how="left")
    for level, key in (("own", "hl_seq"), ("par", "parent_seq"), ("gra", "grand_seq")):
        out = out.join(values.rename({c: f"{level}_{c}" for c in _INHERITED}).rename({"hl_seq": key}), on=key, how="left")
    return out.with_columns(
        pl.coalesce(f"own_{c}", f"par_{c}", f"gra_{c}").alias(c) for c in _INHERITED
    ).with_columns(
        patient_last_name=pl.coalesce("pat_last", "sub_last"),
        patient_first_name=pl.coalesce("pat_first", "sub_first"),
        patient_birth_date=pl.coalesce("pat_birth", "sub_birth"),
    )


def _diagnoses(seg: Segments) -> pl.LazyFrame:
    hi = _claim_level(seg["HI"])
    codes = pl.concat([
        hi.select("claim_ordinal", "seg_index", pos=pl.lit(i), qualifier=part(el(i), 0), code=part(el(i), 1))
        for i in range(1, HI_ELEMENTS + 1)
    ]).filter(pl.col("qualifier").is_in(DIAGNOSIS_QUALIFIERS) & pl.col("code").is_not_null())
    return (
        codes.sort(~pl.col("qualifier").is_in(PRINCIPAL_QUALIFIERS), "seg_index", "pos")
        .group_by("claim_ordinal", maintain_order=True)
        .agg(diagnosis_codes=pl.col("code"))
    )


def service_lines(seg: Segments, sha: str | Sequence[str]) -> pl.LazyFrame:
    """One row per SV1/SV2/SV3 with its dates, line control number and line rendering NPI."""
    tag = pl.col("tag")
    svc = pl.concat([seg[t] for t in SERVICE_TAGS], how="diagonal").sort("seg_index")
    # the procedure composite is SV101 / SV202 / SV301
    proc = pl.when(tag == "SV2").then(el(2)).otherwise(el(1))
    charge = pl.when(tag == "SV2").then(el(3)).otherwise(el(2))  # SV203, else SV102 / SV302
    base = svc.select(
        "txn", "line_seq", "claim_ordinal", "line_number", "seg_index", "offset",
        service_type=tag,
        procedure_qualifier=part(proc, 0),
        procedure_code=part(proc, 1),
        modifiers=modifiers(proc),
        revenue_code=pl.when(tag == "SV2").then(el(1)),
        charge_amount=money(charge),
        **{REJECT: amount_problem(charge, "SV203 / SV102 / SV302 (line charge)")},
        units=number(pl.when(tag == "SV1").then(el(4)).when(tag == "SV2").then(el(5)).otherwise(el(6))),
        place_of_service=pl.when(tag == "SV1").then(el(5)).when(tag == "SV3").then(el(3)),
    )
    k = "line_seq"
    is_472 = el(1) == "472"
    parts = [
        firsts(_line_level(seg["DTP"]), k, service_date=(is_472, date8(el(3))), service_date_to=(is_472, date8_end(el(3)))),
        # loop 2400 REF*G1: an authorization sent for one line only (claim-level G1 is in 2300)
        firsts(_line_level(seg["REF"]), k, line_control_number=(el(1) == "6R", el(2)),
               prior_authorization=(el(1) == "G1", el(2))),
        firsts(_line_level(seg["NM1"]), k, rendering_npi=(el(1) == "82", pl.when(el(8) == "XX").then(el(9)))),
    ]
    for p in parts:
        base = base.join(p, on=k, how="left")
    return base.with_columns(claim_key=claim_key(sha, pl.col("claim_ordinal")))


def _other_payer(seg: Segments) -> pl.LazyFrame:
    """Loop 2320/2330B of a claim: the first other payer's SBR01 (P/S/T) and name (NM1*PR).

    Their presence says the claim told this payer about other coverage (coordination of benefits).
    """
    k = "claim_ordinal"
    in_other = lambda frame: frame.filter(  # noqa: E731 - one filter, two segment kinds
        pl.col("claim_ordinal").is_not_null() & pl.col("line_seq").is_null() & pl.col("in_cob"))
    always = pl.lit(True)
    sbr = firsts(in_other(seg["SBR"]), k, other_payer_responsibility=(always, el(1)))
    name = firsts(in_other(seg["NM1"]), k, other_payer_name=(el(1) == "PR", el(3)))
    return sbr.join(name, on=k, how="full", coalesce=True)


def _type_from_version(version: pl.Expr) -> pl.Expr:
    v = version.str.to_uppercase()
    return (
        pl.when(v.str.contains("X222|X098")).then(pl.lit("P"))
        .when(v.str.contains("X223|X096")).then(pl.lit("I"))
        .when(v.str.contains("X224|X097")).then(pl.lit("D"))
    )


def claims(seg: Segments, txns: pl.LazyFrame, lines: pl.LazyFrame, sha: str | Sequence[str]) -> pl.LazyFrame:
    """One row per CLM with its HL parties, dates, references, diagnoses and claim type."""
    k = "claim_ordinal"
    clm05 = el(5)
    base = seg["CLM"].select(
        "txn", k, "hl_seq", "seg_index", "offset",
        patient_control_number=el(1), total_charge=money(el(2)),
        # CLM02 is the sum of the line charges (837 TR3 2300 CLM02 note): a balance
        **{REJECT: pl.coalesce(missing(el(1), "CLM01 (patient control number)"), amount_problem(el(2), "CLM02"))},
        clm05_1=part(clm05, 0), facility_code_qualifier=part(clm05, 1), frequency_code=part(clm05, 2),
    )
    line_summary = lines.group_by(k).agg(
        content_type=pl.col("service_type").first().replace_strict(SERVICE_TAGS, default=None),
        first_service=pl.col("service_date").min(),
        last_service=pl.coalesce("service_date_to", "service_date").max(),
    )
    is_434, is_472 = el(1) == "434", el(1) == "472"
    xx_npi = pl.when(el(8) == "XX").then(el(9))
    parts = [
        firsts(_claim_level(seg["DTP"]), k, stmt_from=(is_434, date8(el(3))), stmt_to=(is_434, date8_end(el(3))),
               svc_from=(is_472, date8(el(3))), svc_to=(is_472, date8_end(el(3)))),
        firsts(_claim_level(seg["REF"]), k, original_payer_claim_control_number=(el(1) == "F8", el(2)),
               prior_authorization=(el(1) == "G1", el(2)), referral_number=(el(1) == "9F", el(2))),
        firsts(_claim_level(seg["NM1"]), k, rendering_npi=(el(1) == "82", xx_npi), attending_npi=(el(1) == "71", xx_npi)),
        _diagnoses(seg),
        _other_payer(seg),
        line_summary,
    ]
    for p in parts:
        base = base.join(p, on=k, how="left")
    envelope = txns.select("txn", "transaction_hash", transaction_control_number="st02",
                           implementation_version=pl.coalesce("gs08", "st03"),
                           # GS04: the day the file was created, our proof of when the claim was sent
                           submitted_on=date8(pl.col("gs04")),
                           # what a 999 names the acknowledged set by (AK102, GS03/ISA08)
                           group_control_number="gs06", sender_id=pl.coalesce("gs02", "isa06"))
    out = _inherit(base, _hl_values(seg)).join(envelope, on="txn", how="left")
    claim_type = pl.coalesce("content_type", _type_from_version(pl.col("implementation_version")))
    return out.with_columns(claim_type=claim_type).with_columns(
        claim_key=claim_key(sha, pl.col(k)),
        place_of_service=pl.when(pl.col("claim_type") != "I").then(pl.col("clm05_1")),
        type_of_bill=pl.when(pl.col("claim_type") == "I").then(
            pl.concat_str(pl.col("clm05_1"), pl.col("frequency_code").fill_null(""))),
        statement_from=pl.coalesce("stmt_from", "svc_from", "first_service"),
        statement_to=pl.coalesce("stmt_to", "svc_to", "last_service"),
        diagnosis_codes=pl.col("diagnosis_codes").fill_null(pl.lit([], pl.List(pl.String))),
    )


def segments(rows: pl.DataFrame) -> Segments:
    """The segments build reads, with their loops (the compiled core gives the same: core.py)."""
    return Segments(with_loops(rows), TAGS)


def line_number(lx_value: pl.Expr, position: pl.Expr) -> pl.Expr:
    """A line's number: its LX01 when that is a number, else its position among the claim's lines."""
    return pl.coalesce(lx_value.cast(pl.Int64, strict=False), position)


def build(seg: Segments, txns: pl.LazyFrame, sha: str | Sequence[str]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(submitted_claims, submitted_service_lines) plans for 837 transaction sets."""
    tcn = txns.select("txn", "transaction_hash", transaction_control_number="st02")
    # no location per claim or line: a finding about one is located once found (structure.locate_found)
    lines = service_lines(seg, sha).join(tcn, on="txn", how="left")
    return claims(seg, txns, lines, sha), lines


def npi_findings(claims_: pl.LazyFrame, lines: pl.LazyFrame) -> pl.LazyFrame:
    """Billing, rendering and line rendering NPIs whose check digit is wrong."""
    return pl.concat([
        findings.npi_check_digits(claims_, "billing_npi", "billing"),
        findings.npi_check_digits(claims_, "rendering_npi", "rendering"),
        findings.npi_check_digits(lines, "rendering_npi", "line rendering"),
    ], how="diagonal_relaxed")
