"""Front-door rejections: claims a 999 or 277CA turned away, matched to their 837s.

A claim rejected at the clearinghouse or the payer's front door never gets an 835, so it is
invisible to denial work. Two acknowledgments say so:
  * a 999 rejects a whole 837 transaction set (IK5 R): every claim of that set is rejected. The
    set is found by what the 999 names: its AK102 (the 837's GS06), AK202 (the 837's ST02) and
    its receiver (GS03, else ISA08: the 837's sender), among 837s sent on or before the 999;
  * a 277CA rejects claims one by one (2200D STC category A3/A6/A7/A8 or STC03 U). Each is matched
    to its 837 by claimback.lifecycle's identity (payer × practice × patient control number ×
    member, the date of service ranking candidates), among 837s sent on or before the 277CA.
A rejection stays `still_rejected` until the same claim (patient control number, payer, practice
and date of service; the member may have been the error) comes back: a later 837 of it accepted
by a 999 or 277CA, or an 835 adjudicating it.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from claimback import lifecycle, schema

CODES_FILE = Path(__file__).parent / "codes" / "data" / "acknowledgment_codes.csv"

CLAIM_INPUTS = ("claim_key", "patient_control_number", "payer_name", "payer_id", "billing_npi", "billing_tax_id",
                 "subscriber_member_id", "statement_from", "total_charge", "submitted_on", "group_control_number",
                 "transaction_control_number", "sender_id", "frequency_code", "original_payer_claim_control_number",
                 "source_file", "claim_ordinal")


@cache
def _meanings() -> dict[tuple[str, str], str]:
    codes = pl.read_csv(CODES_FILE, infer_schema=False)
    return {(a, b): c for a, b, c in codes.iter_rows()}


def meaning(code_list: str, code: str) -> str | None:
    """The plain words for `code` of `code_list` (claim_status_category, claim_status, entity,
    IK501, AK901, IK502, IK304, IK403), None when the list does not hold it."""
    return _meanings().get((code_list, code))


def reason_277ca(status_codes: list[str], entities: list[str]) -> str:
    """'rejected for invalid information (A7): entity's contract/member number (164), subscriber'."""
    parts = []
    for i, code in enumerate(status_codes):
        category, _, status = code.partition(":")
        words = meaning("claim_status_category", category) or "claim status category"
        text = f"{words} ({category})"
        if status:
            text += f": {meaning('claim_status', status) or 'claim status code'} ({status})"
        entity = entities[i] if i < len(entities) else ""
        if entity:
            text += f", {meaning('entity', entity) or 'entity'} ({entity})"
        parts.append(text)
    return "277CA: " + "; ".join(parts)


def reason_999(status_codes: list[str], locations: list[str], named: list[str], pcn: str | None) -> str:
    """'999: rejected (IK501 R): one or more segments in error (IK502 5); ... at CLM05-3'."""
    words = []
    for code in status_codes:
        element, _, value = code.partition(":")
        # IK502 to IK506 are five places for codes of one list (data element 618)
        code_list = "IK502" if element in ("IK503", "IK504", "IK505", "IK506") else element
        words.append(f"{meaning(code_list, value) or element} ({element} {value})")
    text = "999: " + "; ".join(words)
    if locations and (not named or pcn in named):
        text += " at " + ", ".join(locations)
    elif named:
        text += f"; rejected with its transaction set, the errors are in claim {', '.join(named)}"
    return text


def _strip_zeros(column: str) -> pl.Expr:
    """Control numbers compared as numbers: GS06 '000000401' and AK102 '401' are one group."""
    text = lifecycle.blank_to_null(pl.col(column))
    return pl.when(text.str.contains(r"^0+$")).then(pl.lit("0")).otherwise(text.str.strip_chars_start("0"))


def _same_claim(pcn: str, payer_id: str, payer_name: str, practice: str, service_date: str) -> pl.Expr:
    """The claim across resubmissions: patient control number, payer, practice, date of service."""
    return pl.concat_str(
        lifecycle.blank_to_null(pl.col(pcn)), lifecycle.payer_key(payer_id, payer_name), pl.col(practice),
        pl.col(service_date).cast(pl.String), separator="|", ignore_nulls=True)


def _claims_of_999(acks: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
    """Each 999 row (transaction set, or whole group) with the 837 claims it answers."""
    sets = acks.filter(pl.col("kind") == "999").with_columns(
        _gcn=_strip_zeros("acknowledged_group_control_number"),
        _tcn=lifecycle.blank_to_null(pl.col("acknowledged_transaction_control_number")),
        _receiver=lifecycle.identifier(pl.col("receiver_id")),
    )
    subs = claims.select(
        submitted_claim_key="claim_key", _gcn=_strip_zeros("group_control_number"),
        _tcn=lifecycle.blank_to_null(pl.col("transaction_control_number")),
        _sender=lifecycle.identifier(pl.col("sender_id")), _sent="submitted_on",
    )
    joined = sets.join(subs, on="_gcn", how="inner").filter(
        (pl.col("_tcn").is_null() | (pl.col("_tcn") == pl.col("_tcn_right")))
        & (pl.col("_receiver").is_null() | pl.col("_sender").is_null() | (pl.col("_receiver") == pl.col("_sender")))
        & (pl.col("_sent").is_null() | pl.col("acknowledged_on").is_null()
           | (pl.col("_sent") <= pl.col("acknowledged_on")))
    )
    # control numbers come round again: the latest 837 set sent before the 999 is the one it answers
    latest = joined.group_by("acknowledgment_key").agg(pl.col("_sent").max().alias("_latest"))
    return joined.join(latest, on="acknowledgment_key").filter(
        pl.col("_latest").is_null() | (pl.col("_sent") == pl.col("_latest"))).drop("_latest")


def _claims_of_277ca(ack_claims: pl.DataFrame, claims: pl.DataFrame) -> pl.DataFrame:
    """[acknowledgment_key, submitted_claim_key] through lifecycle.match_claims, each 277CA claim
    matched only among the 837s sent on or before its acknowledgment."""
    if ack_claims.height == 0 or claims.height == 0:
        return pl.DataFrame(schema={"acknowledgment_key": pl.String, "submitted_claim_key": pl.String})
    # the acknowledgment in the shape of an adjudication: what match_claims compares
    as_remits = ack_claims.select(
        claim_key="acknowledgment_key", patient_control_number="patient_control_number", payer_id="payer_id",
        payer_name="payer_name", payee_npi="billing_npi", payee_tax_id="billing_tax_id", member_id="member_id",
        insured_member_id=pl.lit(None, pl.String), original_payer_claim_control_number=pl.lit(None, pl.String),
        payer_claim_control_number="payer_claim_control_number", remit_date="acknowledged_on",
        statement_from="service_date",
    )
    # one adjudication per acknowledged claim: nothing to chain
    history = as_remits.select("claim_key", service_date="statement_from", claim_id="claim_key",
                               adjudication_seq=pl.lit(1, pl.Int64), is_reversal=pl.lit(False))
    out = []
    for (day,), part in as_remits.group_by("remit_date", maintain_order=True):
        sent = claims.filter(pl.col("submitted_on").is_null() | (day is None) | (pl.col("submitted_on") <= day))
        keys = part["claim_key"].implode()
        matches = lifecycle.match_claims(part, sent, history.filter(pl.col("claim_key").is_in(keys)))
        out.append(matches.select(acknowledgment_key="remit_claim_key", submitted_claim_key="submitted_claim_key"))
    return pl.concat(out)


def acknowledged_837s(submitted_claims: pl.LazyFrame, acknowledgments: pl.DataFrame,
                      acknowledged_claims: pl.DataFrame) -> pl.LazyFrame:
    """The rows of `submitted_claims` (the lake's, lazily) that `claim_rejections` needs: the 837s
    of every group a 999 answers (by GS06), and every 837 of a patient control number that a 277CA
    claim, a 999's CTX or one of those 837s names (a 277CA is matched by patient control number, a
    rejection cleared by a later 837 or an 835 of the same claim number), or of none. The other
    837s cannot make, match or clear a rejection: an inbox without acknowledgments reads none."""
    groups = acknowledgments.filter(pl.col("kind") == "999").select(
        _strip_zeros("acknowledged_group_control_number").alias("g"))["g"].drop_nulls().unique()
    in_group = pl.lit(False)
    if "group_control_number" in submitted_claims.collect_schema() and groups.len():
        # compared as numbers on the column's distinct values (a few thousand in ten million 837s),
        # then the 837s read by their values as written
        written = submitted_claims.select(pl.col("group_control_number").unique()).filter(
            _strip_zeros("group_control_number").is_in(groups.implode())).collect()["group_control_number"]
        in_group = pl.col("group_control_number").is_in(written.implode()).fill_null(False)
    pcn = lifecycle.blank_to_null(pl.col("patient_control_number"))
    named = pl.concat([
        acknowledged_claims.select(pcn.alias("p"))["p"],
        acknowledgments.select(pl.col("error_patient_control_numbers").explode())
        .select(lifecycle.blank_to_null(pl.col("error_patient_control_numbers")).alias("p"))["p"],
        submitted_claims.filter(in_group).select(pcn.alias("p")).collect()["p"],
    ]).drop_nulls().unique()
    return submitted_claims.filter(in_group | pcn.is_null() | pcn.is_in(named.implode()).fill_null(False))


def claim_rejections(acknowledgments: pl.DataFrame, acknowledged_claims: pl.DataFrame,
                     submitted_claims: pl.DataFrame, adjudications: pl.DataFrame | None = None,
                     matches: pl.DataFrame | None = None) -> pl.DataFrame:
    """The `claim_rejections` table (claimback.schema): one row per claim rejected at the front door.

    `adjudications` (claimback.denials.build_adjudications) and `matches` (lifecycle.match_claims
    of the 835s to these 837s) say which claims an 835 answered; without them no rejection is
    cleared by an 835."""
    # a lake written before 999s were read has no group control number or sender on its 837s
    claims = submitted_claims.select(lifecycle.column_or_null(submitted_claims, c, schema.SUBMITTED_CLAIMS[c])
                                     for c in CLAIM_INPUTS).with_columns(
        _practice=lifecycle.provider_key("billing_npi", "billing_tax_id"))
    sets = _claims_of_999(acknowledgments, claims)
    ack_claims = acknowledged_claims.with_columns(_practice=lifecycle.provider_key("billing_npi", "billing_tax_id"))
    matched = _claims_of_277ca(ack_claims, claims)
    ack_claims = ack_claims.join(matched, on="acknowledgment_key", how="left")
    subs = claims.select(
        submitted_claim_key="claim_key", s_pcn="patient_control_number", s_payer_name="payer_name", s_payer_id="payer_id", s_practice="_practice",
        s_date="statement_from", s_amount="total_charge", s_sent="submitted_on")
    rejected_999 = _rejections_999(sets, subs, acknowledgments)
    rejected_277 = _rejections_277ca(ack_claims, subs)
    rows = pl.concat([rejected_999, rejected_277], how="diagonal_relaxed")
    if rows.height == 0:
        return schema.empty("claim_rejections")
    rows = rows.with_columns(_claim=_same_claim("patient_control_number", "payer_id", "payer_name", "practice_key",
                                                "service_date"))
    rows = rows.with_row_index("_row")
    cleared = _cleared(rows, _acceptances(sets, ack_claims, subs), claims, adjudications, matches)
    return (
        rows.with_columns(still_rejected=~pl.col("_row").is_in(cleared.implode()))
        .pipe(schema.conform, "claim_rejections")
        .sort("rejected_on", "practice_key", "patient_control_number", "acknowledgment_key", nulls_last=True)
    )


def _rejections_999(sets: pl.DataFrame, subs: pl.DataFrame, acks: pl.DataFrame) -> pl.DataFrame:
    """One row per claim of each rejected 837 set; a set whose 837 is not in the inbox gives a row
    per claim its CTX*CLM01 names (nothing else is known of them)."""
    rejected = sets.filter(pl.col("status") == "rejected").join(subs, on="submitted_claim_key", how="left")
    found = rejected.select(
        "acknowledgment_key", "submitted_claim_key", "status_codes", "error_locations",
        "error_patient_control_numbers", "source_file", rejected_on="acknowledged_on",
        practice_key="s_practice", payer_name="s_payer_name", payer_id="s_payer_id",
        patient_control_number="s_pcn", service_date="s_date", billed_amount="s_amount", submitted_on="s_sent",
    )
    unknown = (
        acks.filter((pl.col("kind") == "999") & (pl.col("status") == "rejected"))
        .join(sets.select("acknowledgment_key").unique(), on="acknowledgment_key", how="anti")
        .filter(pl.col("error_patient_control_numbers").list.len() > 0)
        .explode("error_patient_control_numbers")
        .select("acknowledgment_key", "status_codes", "error_locations", "source_file",
                rejected_on="acknowledged_on", patient_control_number="error_patient_control_numbers",
                error_patient_control_numbers=pl.concat_list("error_patient_control_numbers"))
    )
    rows = pl.concat([found, unknown], how="diagonal_relaxed")
    reasons, locations = [], []
    for codes, locs, named, pcn in rows.select("status_codes", "error_locations", "error_patient_control_numbers",
                                               "patient_control_number").iter_rows():
        codes, locs, named = codes or [], locs or [], named or []
        reasons.append(reason_999(codes, locs, named, pcn))
        locations.append(", ".join(locs) if locs and (not named or pcn in named) else None)
    return rows.with_columns(reason=pl.Series(reasons, dtype=pl.String), error_location=pl.Series(
        locations, dtype=pl.String), acknowledgment=pl.lit("999"))


def _rejections_277ca(ack_claims: pl.DataFrame, subs: pl.DataFrame) -> pl.DataFrame:
    rejected = ack_claims.filter(pl.col("status") == "rejected").join(subs, on="submitted_claim_key", how="left")
    reasons = [reason_277ca(codes or [], entities or [])
               for codes, entities in rejected.select("status_codes", "entity_codes").iter_rows()]
    return rejected.select(
        "acknowledgment_key", "submitted_claim_key", "status_codes", "source_file", "payer_claim_control_number",
        rejected_on=pl.coalesce("status_date", "acknowledged_on"),
        practice_key=pl.coalesce("s_practice", "_practice"),
        payer_name=pl.coalesce("payer_name", "s_payer_name"), payer_id=pl.coalesce("payer_id", "s_payer_id"),
        patient_control_number="patient_control_number", service_date=pl.coalesce("s_date", "service_date"),
        billed_amount=pl.coalesce("s_amount", "billed_amount"), submitted_on="s_sent",
    ).with_columns(reason=pl.Series(reasons, dtype=pl.String), error_location=pl.lit(None, pl.String),
                   acknowledgment=pl.lit("277CA"))


def _acceptances(sets: pl.DataFrame, ack_claims: pl.DataFrame, subs: pl.DataFrame) -> pl.DataFrame:
    """Every claim a 999 or 277CA accepted: [_claim, submitted_claim_key, _sent, accepted_on]."""
    accepted_999 = sets.filter(pl.col("status").is_in(["accepted", "accepted_with_errors"])).join(
        subs, on="submitted_claim_key").select(
        "submitted_claim_key", accepted_on="acknowledged_on", _sent="s_sent",
        _claim=_same_claim("s_pcn", "s_payer_id", "s_payer_name", "s_practice", "s_date"))
    accepted_277 = ack_claims.filter(pl.col("status") == "accepted").join(
        subs, on="submitted_claim_key", how="left").select(
        "submitted_claim_key", accepted_on="acknowledged_on", _sent="s_sent",
        _claim=_same_claim("patient_control_number", "payer_id", "payer_name", "_practice",
                           "service_date"))
    # a 277CA names the payer as the payer does; the 837's own names make its claim comparable too
    accepted_277_as_sent = ack_claims.filter(pl.col("status") == "accepted").join(
        subs, on="submitted_claim_key").select(
        "submitted_claim_key", accepted_on="acknowledged_on", _sent="s_sent",
        _claim=_same_claim("s_pcn", "s_payer_id", "s_payer_name", "s_practice", "s_date"))
    return pl.concat([accepted_999, accepted_277, accepted_277_as_sent])


def _cleared(rows: pl.DataFrame, accepted: pl.DataFrame, claims: pl.DataFrame,
             adjudications: pl.DataFrame | None, matches: pl.DataFrame | None) -> pl.Series:
    """`_row` of the rejections a later acceptance or an 835 answered."""
    later_837 = rows.join(accepted, on="_claim").filter(
        # another 837 of the claim, sent since; without 837s on either side, a later acknowledgment
        pl.when(pl.col("submitted_claim_key").is_not_null() & pl.col("submitted_claim_key_right").is_not_null())
        .then((pl.col("submitted_claim_key") != pl.col("submitted_claim_key_right"))
              & (pl.col("submitted_on").is_null() | (pl.col("_sent") >= pl.col("submitted_on"))))
        .otherwise(pl.col("accepted_on") > pl.col("rejected_on")).fill_null(False)
    ).select("_row")
    answered = [later_837]
    if matches is not None and matches.height:
        by_837 = claims.join(matches, left_on="claim_key", right_on="submitted_claim_key", how="semi").select(
            _claim=_same_claim("patient_control_number", "payer_id", "payer_name", "_practice", "statement_from"))
        answered.append(rows.join(by_837.unique(), on="_claim").select("_row"))
    unkeyed = rows.filter(pl.col("submitted_claim_key").is_null()).with_columns(
        _pcn=lifecycle.blank_to_null(pl.col("patient_control_number")), _payer=lifecycle.payer_key(),
        _practice="practice_key")
    if adjudications is not None and unkeyed.height:
        # a rejection with no 837 in the inbox: an 835 of the same claim number, payer and practice
        # since (only the adjudications of those claim numbers: every payer name is not normalised)
        pcn = lifecycle.blank_to_null(pl.col("patient_control_number"))
        remits = adjudications.filter(pcn.is_in(unkeyed["_pcn"].drop_nulls().unique().implode()).fill_null(False)).select(
            "remit_date", _pcn=pcn, _payer=lifecycle.payer_key(), _practice="practice_key")
        answered.append(unkeyed.join(remits, on=["_pcn", "_payer", "_practice"]).filter(
            pl.col("remit_date") >= pl.col("rejected_on")).select("_row"))
    return pl.concat(answered)["_row"].unique()
