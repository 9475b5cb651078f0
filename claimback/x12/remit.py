"""835 remittance advice → remit_payments, remit_claims, remit_service_lines,
remit_adjustments, remit_remarks and provider_adjustments.

Which claim or service line a segment belongs to is a forward-filled marker: a CLP opens a
claim, an SVC opens a line, and ST/SE/LX/PLB close them. Loop-scoped values ("the NM1*QC of
this claim", "the DTM*472 of this line") are then the first matching row per claim or line.
Amounts keep their sign, so reversals (CLP02 = 22) stay negative.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from claimback.x12.fields import (
    FLAG, REJECT, Segments, amount_problem, claim_key, date8, el, first_per, firsts, missing, modifiers, money,
    number, opened, part, running_count,
)

_CLAIM_CLOSERS = ("ST", "SE", "LX", "PLB")
_LINE_CLOSERS = ("CLP", "ST", "SE", "LX", "PLB")
TAGS = ("BPR", "TRN", "DTM", "N1", "REF", "CLP", "NM1", "AMT", "SVC", "CAS", "LQ", "MIA", "MOA", "PLB")
CAS_TRIPLETS = 6
PLB_PAIRS = 6
MIA_REMARKS = (5, 20, 21, 22, 23)
MOA_REMARKS = (3, 4, 5, 6, 7)


def with_loops(rows: pl.DataFrame) -> pl.DataFrame:
    """Add `claim_ordinal` (the CLP the row belongs to) and `line_seq`/`line_number` (its SVC).

    Expects `clp_ordinal` (file-wide position of each CLP row) to be present.
    """
    tag = pl.col("tag")
    rows = rows.with_columns(
        claim_ordinal=opened(tag == "CLP", _CLAIM_CLOSERS, pl.col("clp_ordinal")),
        line_seq=opened(tag == "SVC", _LINE_CLOSERS, (tag == "SVC").cum_sum()),
    )
    return rows.with_columns(
        line_number=pl.when(pl.col("line_seq").is_not_null())
        .then(running_count(tag == "SVC", pl.col("claim_ordinal")))
    )


def segments(rows: pl.DataFrame) -> Segments:
    return Segments(rows, TAGS)


def _header(seg: pl.LazyFrame) -> pl.LazyFrame:
    return seg.filter(pl.col("claim_ordinal").is_null() & pl.col("line_seq").is_null())


def _claim_level(seg: pl.LazyFrame) -> pl.LazyFrame:
    return seg.filter(pl.col("claim_ordinal").is_not_null() & pl.col("line_seq").is_null())


def _line_level(seg: pl.LazyFrame) -> pl.LazyFrame:
    return seg.filter(pl.col("line_seq").is_not_null())


def _envelope_date_time() -> pl.Expr:
    """When the sender built the envelope: GS04 + GS05 (CCYYMMDD HHMM[SS]), else ISA09 + ISA10.

    The last of the payer's own dates that orders two remits of one claim sent on the same day
    (a corrected remit after the one it corrects); never the file's name or arrival order.
    """
    def stamp(date: pl.Expr, time: pl.Expr) -> pl.Expr:
        digits = pl.concat_str(date.str.strip_chars(), time.str.strip_chars().str.slice(0, 4).str.pad_end(4, "0"))
        return digits.str.strptime(pl.Datetime("us"), "%Y%m%d%H%M", strict=False)

    return pl.coalesce(stamp(pl.col("gs04"), pl.col("gs05")), stamp(pl.lit("20") + pl.col("isa09"), pl.col("isa10")))


def payments(seg: Segments, txns: pl.LazyFrame) -> pl.LazyFrame:
    """One row per 835 transaction set: BPR, TRN, DTM*405, payer (N1*PR) and payee (N1*PE)."""
    k = "txn"
    is_pr, is_pe = el(1) == "PR", el(1) == "PE"
    parts = [
        first_per(_header(seg["BPR"]), k, pl.lit(True), transaction_handling_code=el(1),
                  total_payment_amount=money(el(2)), credit_debit_flag=el(3), payment_method=el(4),
                  payment_date=remit_date8(el(16)), bpr02_problem=amount_problem(el(2), "BPR02"), bpr16=el(16)),
        first_per(_header(seg["TRN"]), k, pl.lit(True), check_number=el(2), payer_trace_id=el(3)),
        firsts(_header(seg["DTM"]), k, production_date=(el(1) == "405", remit_date8(el(2))),
               dtm405=(el(1) == "405", el(2))),
        firsts(_header(seg["N1"]), k, payer_name=(is_pr, el(2)), payer_n104=(is_pr, el(4)), payee_name=(is_pe, el(2)),
               payee_id_qualifier=(is_pe, el(3)), payee_id=(is_pe, el(4))),
        firsts(_header(seg["REF"]), k, payer_ref_2u=(el(1) == "2U", el(2)), payee_ref_tj=(el(1) == "TJ", el(2))),
        seg["CLP"].group_by(k).agg(claim_count=pl.len()),
    ]
    out = txns.select(
        "txn", "transaction_hash", "location",
        interchange_control_number="isa13", group_control_number="gs06", transaction_control_number="st02",
        implementation_version=pl.coalesce("gs08", "st03"), sender_id=pl.coalesce("gs02", "isa06"),
        receiver_id=pl.coalesce("gs03", "isa08"), gs04="gs04", envelope_date_time=_envelope_date_time(),
    )
    for p in parts:
        out = out.join(p, on=k, how="left")

    def payee_is(qualifier: str) -> pl.Expr:
        return pl.when(pl.col("payee_id_qualifier") == qualifier).then(pl.col("payee_id"))

    return out.with_columns(
        payer_id=pl.coalesce("payer_n104", "payer_ref_2u", "payer_trace_id"),
        payee_npi=payee_is("XX"),
        payee_tax_id=pl.coalesce(pl.col("payee_ref_tj"), payee_is("FI")),
        remit_date=pl.coalesce("payment_date", "production_date", remit_date8(pl.col("gs04"))),
        claim_count=pl.col("claim_count").fill_null(0),
    ).with_columns(**{
        REJECT: pl.coalesce(pl.col("bpr02_problem"), _no_remit_date()),
        FLAG + "bpr16": _not_a_date("bpr16", "payment_date", "BPR16"),
        FLAG + "dtm405": _not_a_date("dtm405", "production_date", "DTM*405"),
    })


# A remit date outside these years is a typo (00000000, 99991231): deadlines would start from it.
REMIT_YEARS = (1990, 2199)


def remit_date8(expr: pl.Expr) -> pl.Expr:
    """A CCYYMMDD date that can be a remit's date, else null."""
    value = date8(expr)
    return pl.when(value.dt.year().is_between(*REMIT_YEARS)).then(value)


def _not_a_date(text: str, value: str, element: str) -> pl.Expr:
    return pl.when(pl.col(text).is_not_null() & pl.col(value).is_null() & pl.col("remit_date").is_not_null()).then(
        pl.format("{} '{}' is not a date CCYYMMDD in {}-{}; the remit date {} comes from the next of BPR16, "
                  "DTM*405, GS04", pl.lit(element), pl.col(text).str.slice(0, 20), pl.lit(REMIT_YEARS[0]),
                  pl.lit(REMIT_YEARS[1]), pl.col("remit_date")))


def _no_remit_date() -> pl.Expr:
    """Why a transaction set has no remit date (BPR16, else DTM*405, else GS04), or null. Without
    one, nothing orders its adjudications or starts its filing windows: it is not loaded."""
    def sent(column: str) -> pl.Expr:
        return pl.when(pl.col(column).is_null()).then(pl.lit("not sent")).otherwise(
            pl.format("'{}'", pl.col(column).str.slice(0, 20)))

    return pl.when(pl.col("remit_date").is_null()).then(pl.format(
        "no valid remit date: BPR16 {}, DTM*405 {}, GS04 {} (a date CCYYMMDD in {}-{} is needed to order "
        "the claim's adjudications and start its filing windows)",
        sent("bpr16"), sent("dtm405"), sent("gs04"), pl.lit(REMIT_YEARS[0]), pl.lit(REMIT_YEARS[1])))


# Each of the three large tables is built in two steps: its rows with the raw element values they
# are read from (`*_rows`: here from the split segments by joins; the compiled core gives the same
# columns in one pass, core.py), then the values (`*_values`: money, dates, codes, what is wrong),
# shared by both, so the two paths cannot disagree on how a value is read.
CLP_ELEMENTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11)
SVC_ELEMENTS = (1, 2, 3, 4, 5, 6)


def claims(seg: Segments, pay: pl.LazyFrame, file_sha256: str | Sequence[str]) -> pl.LazyFrame:
    """One row per CLP with its claim-level names, references, dates and coverage amount."""
    return claim_values(claim_rows(seg), pay, file_sha256, seg.converted.get("claims"))


def claim_rows(seg: Segments) -> pl.LazyFrame:
    """Per CLP: its elements, and the raw values of the first claim-level REF*F8, NM1*82, NM1*QC,
    NM1*IL, DTM*232 / 233 / 050 and AMT*AU (each first of its kind, as sent, even when empty)."""
    if "claims" in seg.read:  # read by the compiled core (core.py)
        return seg.read["claims"]
    k = "claim_ordinal"
    base = seg["CLP"].select("txn", k, "seg_index", "offset", *[el(i) for i in CLP_ELEMENTS])
    is_qc, is_82 = el(1) == "QC", el(1) == "82"
    parts = [
        firsts(_claim_level(seg["REF"]), k, ref_f8=(el(1) == "F8", el(2))),
        firsts(_claim_level(seg["NM1"]), k, nm1_82_e8=(is_82, el(8)), nm1_82_e9=(is_82, el(9)), qc_e3=(is_qc, el(3)),
               qc_e4=(is_qc, el(4)), qc_e9=(is_qc, el(9)), il_e9=(el(1) == "IL", el(9))),
        firsts(_claim_level(seg["DTM"]), k, dtm_232=(el(1) == "232", el(2)), dtm_233=(el(1) == "233", el(2)),
               dtm_050=(el(1) == "050", el(2))),
        firsts(_claim_level(seg["AMT"]), k, amt_au=(el(1) == "AU", el(2))),
    ]
    for p in parts:
        base = base.join(p, on=k, how="left")
    return base


def _values(rows: pl.LazyFrame, build: Callable[[pl.LazyFrame, dict[str, pl.Expr]], pl.LazyFrame],
            values: dict[str, pl.Expr], problems: dict[str, pl.Expr], odd: int | None,
            kept: dict[str, pl.Expr] | None = None) -> pl.LazyFrame:
    """build(rows, expressions): a table's rows with its `values` and `problems` (what is wrong, a
    sentence or null) computed by these expressions — or, where the compiled core converted the
    values (`odd` is then how many rows it left here: an amount that is not an X12 amount, a date
    that is not plain CCYYMMDD), its columns of the same names, with no problem to word but those
    in `kept`, for every row its `_odd` count leaves to it. The rows keep their order."""
    if odd is None:
        return build(rows, values | problems)
    from_core = {name: pl.col(name) for name in values} | {name: _NO_PROBLEM for name in problems} | (kept or {})
    if not odd:
        return build(rows, from_core)
    # Every row built from the core's columns, then the few odd rows' values replaced by those the
    # expressions read, matched by the odd row's number (a join that keeps the rows' order):
    # appending the odd rows instead would leave the table to be sorted back into file order, which
    # gathers every column of every row (5-9 ms a piece).
    odd_row = pl.col("_odd") > 0
    changed = list(values | problems)
    fixed = build(rows.filter(odd_row), values | problems).select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_at"), *[pl.col(c).alias(f"_odd_{c}") for c in changed])
    at = rows.select(_at=pl.when(odd_row).then(odd_row.cum_sum().cast(pl.UInt32) - 1))
    plain = build(rows, from_core)
    return pl.concat([plain, at], how="horizontal").join(fixed, on="_at", how="left", maintain_order="left").select(
        pl.when(pl.col("_at").is_not_null()).then(pl.col(f"_odd_{c}")).otherwise(pl.col(c)).alias(c)
        if c in changed else pl.col(c) for c in plain.collect_schema().names())


_NO_PROBLEM = pl.lit(None, pl.String)


def claim_values(rows: pl.LazyFrame, pay: pl.LazyFrame, file_sha256: str | Sequence[str],
                 odd: int | None = None) -> pl.LazyFrame:
    k = "claim_ordinal"
    pcn_missing = missing(el(1), "CLP01 (patient control number)")
    base = _values(
        rows, _claim_columns,
        dict(charge_amount=money(el(3)), paid_amount=money(el(4)), patient_responsibility_amount=money(el(5)),
             statement_from=date8(pl.col("dtm_232")), statement_to=date8(pl.col("dtm_233")),
             received_date=date8(pl.col("dtm_050")), allowed_amount=money(pl.col("amt_au")),
             claim_key=claim_key(file_sha256, pl.col(k))),
        # CLP03 - CLP04 balances against the CAS amounts; CLP05 is reported, not balanced
        {REJECT: pl.coalesce(pcn_missing, amount_problem(el(3), "CLP03"), amount_problem(el(4), "CLP04")),
         FLAG + "clp05": amount_problem(el(5), "CLP05"), FLAG + "au": amount_problem(pl.col("amt_au"), "AMT02 (AMT*AU)")},
        odd, {REJECT: pcn_missing})
    payment_cols = pay.select("txn", "transaction_hash", "transaction_control_number", "payer_name", "payer_id",
                              "payee_npi", "payee_tax_id", "remit_date", "production_date", "envelope_date_time",
                              "check_number")
    return base.join(payment_cols, on="txn", how="left", maintain_order="left").with_columns(
        member_id=pl.coalesce("qc_member", "il_member"),
        insured_member_id=pl.col("il_member"),
        is_reversal=(pl.col("claim_status_code") == "22").fill_null(False),
    )


def _claim_columns(rows: pl.LazyFrame, values: dict[str, pl.Expr]) -> pl.LazyFrame:
    k = "claim_ordinal"
    return rows.select(
        "txn", k, "seg_index", "offset",
        patient_control_number=el(1), claim_status_code=el(2), charge_amount=values["charge_amount"],
        paid_amount=values["paid_amount"], patient_responsibility_amount=values["patient_responsibility_amount"],
        claim_filing_indicator=el(6),
        payer_claim_control_number=el(7), facility_type_code=el(8), claim_frequency_code=el(9), drg_code=el(11),
        **{REJECT: values[REJECT], FLAG + "clp05": values[FLAG + "clp05"]},
        original_payer_claim_control_number=pl.col("ref_f8"),
        rendering_npi=pl.when(pl.col("nm1_82_e8") == "XX").then(pl.col("nm1_82_e9")),
        patient_last_name=pl.col("qc_e3"), patient_first_name=pl.col("qc_e4"), qc_member=pl.col("qc_e9"),
        il_member=pl.col("il_e9"),
        statement_from=values["statement_from"], statement_to=values["statement_to"],
        received_date=values["received_date"],
        allowed_amount=values["allowed_amount"],
        **{FLAG + "au": values[FLAG + "au"]},
        claim_key=values["claim_key"],
    )


def service_lines(seg: Segments, file_sha256: str | Sequence[str]) -> pl.LazyFrame:
    """One row per SVC: the (possibly restated) procedure, amounts, units and line references."""
    return service_line_values(service_line_rows(seg), file_sha256, seg.converted.get("lines"))


def service_line_rows(seg: Segments) -> pl.LazyFrame:
    """Per SVC: its elements and component separator, and the raw values of the first line-level
    DTM*472 / 150 / 151, AMT*B6 and REF*6R."""
    if "lines" in seg.read:  # read by the compiled core (core.py)
        return seg.read["lines"]
    k = "line_seq"
    base = seg["SVC"].select("txn", k, "claim_ordinal", "line_number", "seg_index", "offset", "comp",
                             *[el(i) for i in SVC_ELEMENTS])
    parts = [
        firsts(_line_level(seg["DTM"]), k, dtm_472=(el(1) == "472", el(2)), dtm_150=(el(1) == "150", el(2)),
               dtm_151=(el(1) == "151", el(2))),
        firsts(_line_level(seg["AMT"]), k, amt_b6=(el(1) == "B6", el(2))),
        firsts(_line_level(seg["REF"]), k, ref_6r=(el(1) == "6R", el(2))),
    ]
    for p in parts:
        base = base.join(p, on=k, how="left")
    return base


def service_line_values(rows: pl.LazyFrame, file_sha256: str | Sequence[str], odd: int | None = None
                        ) -> pl.LazyFrame:
    return _values(
        rows, _line_columns,
        dict(procedure_qualifier=part(el(1), 0), procedure_code=part(el(1), 1), modifiers=modifiers(el(1)),
             charge_amount=money(el(2)), paid_amount=money(el(3)), original_procedure_code=part(el(6), 1),
             d472=date8(pl.col("dtm_472")), d150=date8(pl.col("dtm_150")), service_date_to=date8(pl.col("dtm_151")),
             allowed_amount=money(pl.col("amt_b6")), claim_key=claim_key(file_sha256, pl.col("claim_ordinal"))),
        {REJECT: pl.coalesce(amount_problem(el(2), "SVC02"), amount_problem(el(3), "SVC03"))},
        odd).with_columns(service_date=pl.coalesce("d472", "d150"))


def _line_columns(rows: pl.LazyFrame, values: dict[str, pl.Expr]) -> pl.LazyFrame:
    return rows.select(
        "txn", "line_seq", "claim_ordinal", "line_number", "seg_index", "offset",
        procedure_qualifier=values["procedure_qualifier"],
        procedure_code=values["procedure_code"],
        modifiers=values["modifiers"],
        charge_amount=values["charge_amount"],
        paid_amount=values["paid_amount"],
        **{REJECT: values[REJECT]},
        revenue_code=el(4),
        units=number(el(5)).fill_null(1.0),
        original_procedure_code=values["original_procedure_code"],
        d472=values["d472"], d150=values["d150"], service_date_to=values["service_date_to"],
        allowed_amount=values["allowed_amount"],
        line_control_number=pl.col("ref_6r"),
        claim_key=values["claim_key"],
    )


def adjustments(seg: Segments, file_sha256: str | Sequence[str]) -> pl.LazyFrame:
    """Every CAS reason/amount/quantity triplet (up to six per CAS), claim and line level."""
    return adjustment_values(adjustment_rows(seg), file_sha256, seg.converted.get("adjustments"))


def adjustment_rows(seg: Segments) -> pl.LazyFrame:
    """One row per CAS triplet that names a reason, in file order, amount and quantity as sent."""
    if "adjustments" in seg.read:  # read by the compiled core (core.py)
        return seg.read["adjustments"]
    cas = seg["CAS"].filter(pl.col("claim_ordinal").is_not_null())
    triplets = [
        cas.select("txn", "seg_index", "claim_ordinal", "line_number", "line_seq",
                   triplet=pl.lit(t), group_code=el(1), reason_code=el(2 + 3 * t),
                   amount_text=el(3 + 3 * t), quantity_text=el(4 + 3 * t))
        for t in range(CAS_TRIPLETS)
    ]
    return pl.concat(triplets).filter(pl.col("reason_code").is_not_null()).sort("seg_index", "triplet")


def adjustment_values(rows: pl.LazyFrame, file_sha256: str | Sequence[str], odd: int | None = None
                      ) -> pl.LazyFrame:
    amount = pl.col("amount_text")
    element = pl.format("CAS{}", (pl.col("triplet") * 3 + 3).cast(pl.String).str.zfill(2))  # CAS03, CAS06 ...
    return _values(rows, _adjustment_columns,
                   dict(amount=money(amount), claim_key=claim_key(file_sha256, pl.col("claim_ordinal"))),
                   {REJECT: amount_problem(amount, element)}, odd)


def _adjustment_columns(rows: pl.LazyFrame, values: dict[str, pl.Expr]) -> pl.LazyFrame:
    return rows.select(
        "txn", "seg_index", "claim_ordinal", "line_number", "line_seq", "triplet", "group_code", "reason_code",
        amount=values["amount"], quantity=number(pl.col("quantity_text")),
        **{REJECT: values[REJECT]}, claim_key=values["claim_key"],
    )


def remarks(seg: Segments, file_sha256: str | Sequence[str]) -> pl.LazyFrame:
    """RARCs: LQ*HE on lines; MIA and MOA remark elements on claims."""
    def from_elements(tag: str, positions: tuple[int, ...]) -> list[pl.LazyFrame]:
        rows = seg[tag].filter(pl.col("claim_ordinal").is_not_null())
        return [rows.select("txn", "seg_index", "claim_ordinal", line_number=pl.lit(None, pl.Int64),
                            pos=pl.lit(i), remark_code=el(i), source_segment=pl.lit(tag)) for i in positions]

    lq = seg["LQ"].filter(pl.col("claim_ordinal").is_not_null() & (el(1) == "HE")).select(
        "txn", "seg_index", "claim_ordinal", "line_number", pos=pl.lit(2), remark_code=el(2),
        source_segment=pl.lit("LQ"))
    frames = [lq] + from_elements("MIA", MIA_REMARKS) + from_elements("MOA", MOA_REMARKS)
    return (
        pl.concat(frames)
        .filter(pl.col("remark_code").is_not_null())
        .sort("seg_index", "pos")
        .with_columns(claim_key=claim_key(file_sha256, pl.col("claim_ordinal")))
    )


def provider_adjustments(seg: Segments, pay: pl.LazyFrame) -> pl.LazyFrame:
    """Every PLB reason/amount pair (PLB03/04 .. PLB13/14); reason composites are reason:reference."""
    plb = seg["PLB"]
    pairs = [
        plb.select("txn", "seg_index", pair=pl.lit(p), payee_npi=el(1), fiscal_period_date=date8(el(2)),
                   reason_code=part(el(3 + 2 * p), 0), reference=part(el(3 + 2 * p), 1),
                   amount=money(el(4 + 2 * p)),
                   **{REJECT: amount_problem(el(4 + 2 * p), f"PLB{4 + 2 * p:02d}")})
        for p in range(PLB_PAIRS)
    ]
    return (
        pl.concat(pairs)
        .filter(pl.col("reason_code").is_not_null() | pl.col("amount").is_not_null())
        .sort("seg_index", "pair")
        .join(pay.select("txn", "transaction_hash", "transaction_control_number"), on="txn", how="left")
    )
