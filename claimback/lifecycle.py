"""A claim's life across files: which 837 each 835 answers, every adjudication in order, and what
became of each Level I reconsideration.

A claim is one payer × one billing provider (the 835 payee N1*PE NPI, else its TIN from REF*TJ or
N1*PE*FI; the 837 billing provider's NPI/TIN) × one patient control number (CLP01 = CLM01) × one
member (835 NM1*QC09, else NM1*IL09; 837 subscriber NM1*IL09) × one first date of service.
Patient control numbers are assigned by each practice's own billing system: two practices of one
organisation reuse them, and template-style 835s reuse one across members, so nothing is ever
linked across members or practices. Practices that reuse an account number as CLM01 bill many
visits under it, hence the date of service. Payers re-adjudicate (a reversal, CLP02=22 with
negated amounts, then a new CLP), and providers correct (a frequency-7 837 citing the payer's
claim number in REF*F8), so adjudications are also linked through the payer claim control number
(CLP07) and REF*F8 chains, but only within one payer, practice and member.

Adjudications are ordered by the payer's own dates: remit date (BPR16, else DTM*405), then the
production date (DTM*405), then the envelope date-time (GS04/GS05, else ISA09/ISA10), then the
CLP's place in its remit; never by file name or arrival order. A corrected remit (the same payer,
practice, check/EFT number and remit date sent again with other content) replaces the one it
corrects: the earlier one's claims are no adjudications any more. The latest adjudication decides
the claim's current state; a reversal followed by nothing means the claim is reversed and nothing
is paid now.

Everything here is Polars joins and window expressions, so it scales to millions of claims.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from claimback.among import Normalised

_REPLACEMENT_FREQUENCIES = ("7", "8")
_MAX_LINK_ROUNDS = 64  # a correction chain longer than this is not a real claim history
# An original and a corrected claim under a new patient control number share a payer claim
# number; more distinct patient control numbers than this on one number means a placeholder.
MAX_PCNS_PER_CLAIM_NUMBER = 3
# What makes two remit claims one claim, besides links through the payer's claim number.
IDENTITY = ("_payer", "_payee", "_pcn", "_member")


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def normalise_payer_name(expr: pl.Expr) -> pl.Expr:
    """'Acme Health, Inc.' and 'ACME HEALTH INC' compare equal: upper-case alphanumeric words."""
    return blank_to_null(
        expr.str.to_uppercase().str.replace_all(r"[^A-Z0-9]+", " ").str.strip_chars()
    )


def payer_key(payer_id: str = "payer_id", payer_name: str = "payer_name") -> pl.Expr:
    """One payer identity per row: the payer id when the file has one, else the normalised name."""
    return pl.coalesce(
        pl.lit("ID:") + blank_to_null(pl.col(payer_id)).str.to_uppercase(),
        pl.lit("NAME:") + normalise_payer_name(pl.col(payer_name)),
        pl.lit("UNKNOWN"),
    )


def identifier(expr: pl.Expr) -> pl.Expr:
    """An NPI, TIN or member id as compared: upper case, no spaces or dashes ('12-345 6789')."""
    return blank_to_null(expr.cast(pl.String).str.to_uppercase().str.replace_all(r"[\s\-]+", ""))


def identifier_of(column: str) -> Normalised:
    """`identifier` of a column, for `among`: a value of printable ASCII without spaces, dashes
    or lower-case letters is compared as written."""
    return Normalised(column, identifier, r"^[\x21-\x2C\x2E-\x60\x7B-\x7E]+$")


def provider_key(npi: str, tax_id: str) -> pl.Expr:
    """The practice a claim belongs to: 'NPI:1234567893', else 'TIN:123456789', else null.

    5010 835s name the payee by NPI (N1*PE*XX) whenever it has one and 837s always carry the
    billing NPI, so the NPI comes first; a TIN-only payee (N1*PE*FI, REF*TJ) is the fallback.
    """
    return pl.coalesce(pl.lit("NPI:") + identifier(pl.col(npi)), pl.lit("TIN:") + identifier(pl.col(tax_id)))


def column_or_null(frame: pl.DataFrame, name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    """A column that older tables or hand-built frames may lack: null when absent."""
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)


def claim_service_dates(
    remit_claims: pl.DataFrame, remit_service_lines: pl.DataFrame | None = None
) -> pl.DataFrame:
    """First date of service per remit claim: the earliest line date, else the statement date."""
    dates = remit_claims.select("claim_key", "statement_from")
    if remit_service_lines is not None and remit_service_lines.height:
        first_line = remit_service_lines.group_by("claim_key").agg(
            first_line_date=pl.col("service_date").min()
        )
        dates = dates.join(first_line, on="claim_key", how="left")
    else:
        dates = dates.with_columns(first_line_date=pl.lit(None, dtype=pl.Date))
    return dates.select("claim_key", service_date=pl.coalesce("first_line_date", "statement_from"))


# The payer's own order of events; the claim key (a hash of the file's bytes and the CLP's
# place in it) only breaks ties between identical stamps, so no name or arrival order counts.
ORDER = ["remit_date", "production_date", "envelope_date_time", "_reversal_first", "transaction_hash",
         "claim_ordinal", "claim_key"]


def _in_payer_order(
    remit_claims: pl.DataFrame, remit_service_lines: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Remits with their identity columns, in the payer's order, numbered as `_row`.

    Among remits stamped at the same moment a reversal comes before a new adjudication: the
    835 guide sends the reversal immediately before the correction it makes room for.
    """
    remit_claims = remit_claims.with_columns(
        column_or_null(remit_claims, "payee_npi"), column_or_null(remit_claims, "payee_tax_id"),
        column_or_null(remit_claims, "member_id"), column_or_null(remit_claims, "transaction_hash"),
        column_or_null(remit_claims, "check_number"),
        column_or_null(remit_claims, "production_date", pl.Date),
        column_or_null(remit_claims, "envelope_date_time", pl.Datetime("us")),
    )
    # a remit file names a handful of payers: normalise each (payer_id, payer_name) pair once
    payers = (
        remit_claims.select("payer_id", "payer_name")
        .unique()
        .with_columns(_payer=payer_key())
    )
    return (
        remit_claims.join(
            claim_service_dates(remit_claims, remit_service_lines), on="claim_key", how="left"
        )
        .join(payers, on=["payer_id", "payer_name"], how="left", nulls_equal=True)
        .with_columns(
            _pcn=blank_to_null(pl.col("patient_control_number")),
            _icn=blank_to_null(pl.col("payer_claim_control_number")),
            _f8=blank_to_null(pl.col("original_payer_claim_control_number")),
            _payee=provider_key("payee_npi", "payee_tax_id"),
            _member=identifier(pl.col("member_id")),
            is_reversal=pl.col("is_reversal").fill_null(pl.col("claim_status_code") == "22")
            .fill_null(False),
        )
        .with_columns(_reversal_first=~pl.col("is_reversal"))
        .sort(ORDER, nulls_last=True)
        .with_row_index("_row")
        .with_columns(_row=pl.col("_row").cast(pl.Int64))
    )


def superseded_remits(remits: pl.DataFrame) -> pl.DataFrame:
    """The `claim_key`s of remits a corrected remit replaces.

    A payer that re-sends one payment (same payer, practice, check/EFT number TRN02 and remit
    date) in a later file, with other content but every claim of the first again, corrects it:
    the later transaction (by production date and envelope date-time) stands and the earlier is
    void. Otherwise every unchanged claim in the resend would count as a second adjudication.
    Transactions of one file, ones that do not re-send all the first one's claims, and ones
    whose claims cannot be told apart (one masked PCN and member on every CLP) are separate
    payments: masked sample files put one check number on every payment, and a payer may split a
    day's claims over several transactions. `remits` is `_in_payer_order`'s frame.
    """
    payment = ["_payer", "_payee", "check_number", "remit_date"]
    claim = pl.concat_str(pl.col("_pcn").fill_null(""), pl.lit("|"), pl.col("_member").fill_null(""))
    sends = (
        remits.drop_nulls(["check_number", "transaction_hash"])
        .with_columns(_file=column_or_null(remits, "file_sha256"), _claim=claim)
        .group_by([*payment, "transaction_hash"])
        .agg(_last_row=pl.col("_row").max(), _file=pl.col("_file").first(), _claims=pl.col("_claim").unique(),
             _clps=pl.len())
        # claims that cannot be told apart (masked files: one PCN and member on every CLP) prove nothing
        .filter(pl.col("_claims").list.len() == pl.col("_clps"))
    )
    later = sends.select(*payment, _later_row="_last_row", _later_file="_file", _later_claims="_claims")
    void = (
        sends.join(later, on=payment, nulls_equal=True)
        .filter(
            (pl.col("_later_row") > pl.col("_last_row"))
            & (pl.col("_later_file") != pl.col("_file")).fill_null(True)
            & (pl.col("_claims").list.set_difference("_later_claims").list.len() == 0)
        )
        .select("transaction_hash")
        .unique()
    )
    return remits.join(void, on="transaction_hash", how="semi").select("claim_key")


def _link_edges(remits: pl.DataFrame, submitted_claims: pl.DataFrame | None) -> pl.DataFrame:
    """Pairs of groups (`a`, `b`) that are the same claim through a payer claim number.

    Two groups of one practice and one member sharing a payer claim number at one payer, as CLP07
    or as REF*F8, are one claim; so are two such groups with the same patient control number and
    payer claim number under two payer keys. A frequency-7/8 837 with a new patient control
    number links its remits to the remits of the claim it replaces (its REF*F8 = their CLP07),
    again only within its own practice and member.
    """
    owner = ["_payee", "_member"]
    group_cols = remits.select("_grp", "_pcn", *owner).unique("_grp")
    icns = (
        pl.concat([
            remits.select("_payer", "_grp", pl.col("_icn").alias("icn")),
            remits.select("_payer", "_grp", pl.col("_f8").alias("icn")),
        ])
        .drop_nulls("icn")
        .unique()
        .join(group_cols, on="_grp")
    )
    # A claim number shared by many different patient control numbers is a placeholder
    # (de-identified or test files: "999999999999"), not a correction chain; it links nothing.
    pcns_per_icn = icns.group_by("_payer", "icn").agg(pcns=pl.col("_pcn").n_unique())
    icns = icns.join(
        pcns_per_icn.filter(pl.col("pcns") <= MAX_PCNS_PER_CLAIM_NUMBER), on=["_payer", "icn"],
        how="semi",
    )
    by_icn = icns.with_columns(b=pl.col("_grp").min().over("_payer", "icn", *owner))
    # The same patient control number and claim number under two payer keys is one claim whose
    # files named the payer differently (N1*PR id in one, only TRN03 in another).
    by_pcn_icn = icns.drop_nulls("_pcn").with_columns(
        b=pl.col("_grp").min().over("_pcn", "icn", *owner)
    )
    edges = [by_icn.select(pl.col("_grp").alias("a"), "b"),
             by_pcn_icn.select(pl.col("_grp").alias("a"), "b")]
    if submitted_claims is not None and submitted_claims.height:
        replacements = submitted_claims.select(
            _pcn=blank_to_null(pl.col("patient_control_number")),
            icn=blank_to_null(pl.col("original_payer_claim_control_number")),
            s_payee=provider_key_of(submitted_claims, "billing_npi", "billing_tax_id"),
            s_member=identifier(column_or_null(submitted_claims, "subscriber_member_id")),
        ).drop_nulls(["_pcn", "icn"])
        groups = remits.select("_payer", "_pcn", "_grp", *owner).drop_nulls("_pcn").unique()
        edges.append(
            replacements.join(icns.select("icn", "_payer", "_grp", *owner).rename({"_grp": "b"}), on="icn")
            .filter(same_owner("s_payee", "_payee", "s_member", "_member"))
            .join(groups.rename({"_grp": "a"}), on=["_payer", "_pcn", *owner], nulls_equal=True)
            .select("a", "b")
        )
    return pl.concat(edges).filter(pl.col("a") != pl.col("b")).unique()


def provider_key_of(frame: pl.DataFrame, npi: str, tax_id: str) -> pl.Expr:
    """`provider_key` of a frame that may lack the TIN column."""
    if tax_id in frame.columns:
        return provider_key(npi, tax_id)
    return pl.lit("NPI:") + identifier(column_or_null(frame, npi))


def same_owner(payee_a: str, payee_b: str, member_a: str, member_b: str) -> pl.Expr:
    """Both sides name the same practice and member, or one side does not say.

    Compared only when both sides know the value: a masked or older file without a member id or
    payee does not keep a claim from its own history, but two known, different values always do.
    """
    def agree(x: str, y: str) -> pl.Expr:
        return (pl.col(x) == pl.col(y)).fill_null(True)

    return agree(payee_a, payee_b) & agree(member_a, member_b)


def _components(groups: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components by min-label propagation: each group gets the smallest group it reaches."""
    labels = pl.DataFrame({"_grp": groups.unique()}).with_columns(label=pl.col("_grp"))
    both_ways = pl.concat([edges, edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"))])
    for _ in range(_MAX_LINK_ROUNDS):
        reached = (
            both_ways.join(labels.rename({"_grp": "b", "label": "b_label"}), on="b")
            .group_by("a")
            .agg(pl.col("b_label").min())
        )
        updated = labels.join(reached, left_on="_grp", right_on="a", how="left").with_columns(
            label=pl.min_horizontal("label", "b_label")
        ).drop("b_label")
        if updated.sort("_grp").equals(labels.sort("_grp")):
            break
        labels = updated
    return labels


def _identity_groups(remits: pl.DataFrame) -> pl.DataFrame:
    """`_grp` per remit row: one group per payer, practice, patient control number, member and
    first date of service.

    Many practice systems send the patient's account number as CLM01 for every visit, so the
    patient control number alone would merge different encounters. Rows without a service date
    (a bare reversal) join the one dated group of their payer, practice, patient control number
    and member when there is exactly one; otherwise they stay with the undated group.
    """
    identity = list(IDENTITY)
    keyed = remits.drop_nulls("_pcn").select("_row", *identity, "service_date")
    groups = keyed.group_by(*identity, "service_date").agg(_grp=pl.col("_row").min())
    dated = groups.drop_nulls("service_date")
    only_dated = (
        dated.group_by(identity)
        .agg(_only=pl.col("_grp").first(), _n=pl.len())
        .filter(pl.col("_n") == 1)
        .select(*identity, "_only")
    )
    return (
        keyed.join(groups, on=[*identity, "service_date"], how="left", nulls_equal=True)
        .join(only_dated, on=identity, how="left", nulls_equal=True)
        .select(
            "_row",
            _grp=pl.when(pl.col("service_date").is_null())
            .then(pl.coalesce("_only", "_grp"))
            .otherwise(pl.col("_grp")),
        )
    )


def void_remits(remit_claims: pl.DataFrame) -> pl.DataFrame:
    """The `claim_key`s of the remits a corrected remit replaces (`superseded_remits`), from the
    remits alone: what `adjudication_history` leaves out. Each payment (payer, practice,
    check/EFT number, remit date) decides its own, so the remits of some payments give those
    payments' answer (the nightly denials stage keeps it per payment, claimback.touched)."""
    return superseded_remits(_in_payer_order(remit_claims))


def adjudication_history(
    remit_claims: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    remit_service_lines: pl.DataFrame | None = None,
    void: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every adjudication of every claim, in the payer's order.

    One row per remit claim (CLP) that a corrected remit has not replaced, grouped by claim in
    order of each claim's first adjudication, with `claim_id` (stable across adjudications:
    payer, practice, patient control number and first date of service of the claim's first
    adjudication, e.g. "ID:ACME1|NPI:1234567893|PCN1|2026-01-02"; when members collide on all of
    these, the second member's claim ends "|2" and so on, in the order the payer first
    adjudicated them; the member id itself is never part of it), `practice_key` (the payee:
    'NPI:…' or 'TIN:…'), `adjudication_seq` (1.. in the payer's order, see the module docstring),
    `adjudication_count`, `is_latest`, `adjudication_kind` (original, reversal, readjudication)
    and `is_reversed` (this adjudication was reversed by the next one).
    `submitted_claims` adds the links made by corrected claims that changed the patient control
    number. `remit_service_lines` gives each adjudication its first date of service
    (`service_date`), which keeps apart different visits billed under one reused patient
    control number; without it the claim's statement date is used. `void` gives the replaced
    remits' `claim_key`s already worked out (`void_remits` of every remit: the history of some
    claims alone cannot see their payments' other claims).
    """
    remits = _in_payer_order(remit_claims, remit_service_lines)
    remits = remits.join(superseded_remits(remits) if void is None else void.select("claim_key"),
                         on="claim_key", how="anti")
    remits = remits.join(_identity_groups(remits), on="_row", how="left").with_columns(
        pl.col("_grp").fill_null(pl.col("_row"))
    )
    labels = _components(remits["_grp"], _link_edges(remits, submitted_claims))
    # Rows sorted by claim then order make every per-claim step a contiguous run, so the
    # sequence and "what came next" are plain row arithmetic instead of window functions.
    remits = (
        remits.join(labels, on="_grp", how="left")
        .with_columns(pl.col("label").fill_null(pl.col("_grp")))
        .sort("label", "_row")
        .with_row_index("_pos")
    )
    claims = remits.group_by("label").agg(
        _first_pos=pl.col("_pos").min(),
        _first_row=pl.col("_row").min(),
        adjudication_count=pl.len().cast(pl.Int64),
        _first_non_reversal=pl.col("_row").filter(~pl.col("is_reversal")).min(),
        _base_id=pl.concat_str(
            pl.col("_payer").first(),
            pl.lit("|") + pl.col("_payee").first(),
            pl.lit("|"),
            pl.coalesce(pl.col("_pcn").first(), pl.col("claim_key").first()),
            pl.lit("|") + pl.col("service_date").first().dt.to_string("%Y-%m-%d"),
            ignore_nulls=True,
        ),
    )
    # Two members under one payer, practice, patient control number and date (template files)
    # are two claims: numbered in the payer's order, so no member id shows in the identifier.
    nth = pl.col("_first_row").rank("ordinal").over("_base_id")
    claims = claims.with_columns(
        claim_id=pl.when(nth > 1).then(pl.col("_base_id") + pl.lit("|") + nth.cast(pl.String))
        .otherwise(pl.col("_base_id"))
    )
    same_claim_next = pl.col("label").shift(-1) == pl.col("label")
    history = (
        remits.join(claims, on="label", how="left")
        .with_columns(
            adjudication_seq=(pl.col("_pos") - pl.col("_first_pos") + 1).cast(pl.Int64),
            adjudication_kind=pl.when(pl.col("is_reversal"))
            .then(pl.lit("reversal"))
            .when(pl.col("_row") == pl.col("_first_non_reversal"))
            .then(pl.lit("original"))
            .otherwise(pl.lit("readjudication")),
            is_reversed=~pl.col("is_reversal")
            & (same_claim_next & pl.col("is_reversal").shift(-1)).fill_null(False),
            payer_key=pl.col("_payer"),
            practice_key=pl.col("_payee"),
        )
        .with_columns(is_latest=pl.col("adjudication_seq") == pl.col("adjudication_count"))
    )
    return history.select(
        "claim_id", "claim_key", "adjudication_seq", "adjudication_count", "is_latest",
        "adjudication_kind", "is_reversal", "is_reversed", "remit_date", "payer_key",
        "practice_key", "payer_name", "payer_id", "patient_control_number", "payer_claim_control_number",
        "original_payer_claim_control_number", "claim_status_code", "service_date",
        "charge_amount", "paid_amount", "source_file", "claim_ordinal",
    )


def _match_candidates(
    remit_claims: pl.DataFrame, submitted_claims: pl.DataFrame, history: pl.DataFrame
) -> pl.DataFrame:
    """Every (remit, 837) pair with the same patient control number, with how well they agree."""
    remits = remit_claims.join(
        history.select("claim_key", r_dos="service_date"), on="claim_key", how="left"
    ).select(
        "r_dos",
        remit_claim_key="claim_key",
        _pcn=blank_to_null(pl.col("patient_control_number")),
        remit_date="remit_date",
        r_id=blank_to_null(pl.col("payer_id")).str.to_uppercase(),
        r_name=normalise_payer_name(pl.col("payer_name")),
        r_f8=blank_to_null(pl.col("original_payer_claim_control_number")),
        r_payee_npi=identifier(column_or_null(remit_claims, "payee_npi")),
        r_payee_tin=identifier(column_or_null(remit_claims, "payee_tax_id")),
        r_member=identifier(column_or_null(remit_claims, "member_id")),
        r_insured=identifier(column_or_null(remit_claims, "insured_member_id")),
    ).drop_nulls("_pcn")
    # only the 837s sharing a patient control number with these remits: normalising every
    # payer name of a large 837 history would cost more than the whole match
    submitted = submitted_claims.with_columns(
        _pcn=blank_to_null(pl.col("patient_control_number"))
    ).join(remits.select("_pcn").unique(), on="_pcn", how="semi").select(
        "_pcn",
        submitted_claim_key="claim_key",
        s_id=blank_to_null(pl.col("payer_id")).str.to_uppercase(),
        s_name=normalise_payer_name(pl.col("payer_name")),
        s_f8=blank_to_null(pl.col("original_payer_claim_control_number")),
        is_replacement=pl.col("frequency_code").is_in(_REPLACEMENT_FREQUENCIES).fill_null(False),
        s_file="source_file",
        s_ordinal="claim_ordinal",
        s_dos="statement_from",
        s_npi=identifier(column_or_null(submitted_claims, "billing_npi")),
        s_tin=identifier(column_or_null(submitted_claims, "billing_tax_id")),
        s_member=identifier(column_or_null(submitted_claims, "subscriber_member_id")),
    ).with_columns(
        payers_for_pcn=pl.struct("s_id", "s_name").n_unique().over("_pcn")
    )
    # When the payer first answered with a given claim number: a replacement citing it in REF*F8
    # cannot have been sent before then.
    icn_first_seen = (
        remit_claims.select(
            s_f8=blank_to_null(pl.col("payer_claim_control_number")), icn_first_remit="remit_date"
        )
        .drop_nulls("s_f8")
        .group_by("s_f8")
        .agg(pl.col("icn_first_remit").min())
    )
    pairs = (
        remits.join(submitted, on="_pcn")
        .filter(_same_practice_and_member())
        .join(icn_first_seen, on="s_f8", how="left")
    )
    return pairs.with_columns(
        match_tier=pl.when((pl.col("r_id") == pl.col("s_id")).fill_null(False))
        .then(1)
        .when((pl.col("r_name") == pl.col("s_name")).fill_null(False))
        .then(2)
        .when(pl.col("payers_for_pcn") == 1)
        .then(3),
        # a reused patient control number: another visit's 837 is a worse match
        dos_conflict=(pl.col("r_dos") != pl.col("s_dos")).fill_null(False),
        eligible=~pl.col("is_replacement")
        | (pl.col("r_f8") == pl.col("s_f8")).fill_null(False)
        | pl.col("icn_first_remit").is_null()
        | (pl.col("icn_first_remit") < pl.col("remit_date")).fill_null(False),
    ).filter(pl.col("match_tier").is_not_null() & pl.col("eligible"))


def _same_practice_and_member() -> pl.Expr:
    """An 835 answers an 837 only of the same practice and member, when both sides say.

    Practice: the payee NPI against the billing NPI, else the payee TIN against the billing TIN.
    Member: the 837 subscriber (NM1*IL) is the 835's NM1*IL when the patient is a dependent,
    else its NM1*QC.
    """
    npi_known = pl.col("r_payee_npi").is_not_null() & pl.col("s_npi").is_not_null()
    tin_known = pl.col("r_payee_tin").is_not_null() & pl.col("s_tin").is_not_null()
    practice = (
        pl.when(npi_known).then(pl.col("r_payee_npi") == pl.col("s_npi"))
        .when(tin_known).then(pl.col("r_payee_tin") == pl.col("s_tin"))
        .otherwise(True)
    )
    member_known = pl.col("s_member").is_not_null() & (
        pl.col("r_member").is_not_null() | pl.col("r_insured").is_not_null()
    )
    member = pl.when(member_known).then(
        (pl.col("s_member") == pl.col("r_member")).fill_null(False)
        | (pl.col("s_member") == pl.col("r_insured")).fill_null(False)
    ).otherwise(True)
    return practice & member


_MATCH_METHODS = {1: "pcn_payer_id", 2: "pcn_payer_name", 3: "pcn_only_payer"}


def match_claims(
    remit_claims: pl.DataFrame,
    submitted_claims: pl.DataFrame,
    history: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Which 837 each 835 claim answers: [remit_claim_key, submitted_claim_key, match_method].

    Never across practices or members (see `_same_practice_and_member`). Matched by patient
    control number and payer (payer id, else normalised payer name; the
    patient control number alone when the 837s know only one payer for it). When several 837s
    share a patient control number (an original and its frequency-7 replacement), the latest
    submission that could precede the remit wins: a replacement only once the payer had issued
    the claim number it cites; an 837 for another date of service ranks below one for the
    remit's date. Re-adjudications whose CLP01 matches nothing inherit the 837 of an earlier
    adjudication of the same claim (`match_method` = claim_chain). Unmatched remits are absent.
    """
    schema = {"remit_claim_key": pl.String, "submitted_claim_key": pl.String, "match_method": pl.String}
    if remit_claims.height == 0 or submitted_claims.height == 0:
        return pl.DataFrame(schema=schema)
    history = adjudication_history(remit_claims, submitted_claims) if history is None else history
    direct = (
        _match_candidates(remit_claims, submitted_claims, history)
        .sort(
            ["remit_claim_key", "match_tier", "dos_conflict", "is_replacement", "s_file", "s_ordinal"],
            descending=[False, False, False, True, True, True],
        )
        .group_by("remit_claim_key", maintain_order=True)
        .first()
        .select(
            "remit_claim_key", "submitted_claim_key",
            match_method=pl.col("match_tier").replace_strict(_MATCH_METHODS, return_dtype=pl.String),
        )
    )
    steps = history.select(
        "claim_id", "adjudication_seq", "is_reversal", remit_claim_key="claim_key"
    )
    # A reversal answers the same 837 as the adjudication it takes back, so it follows the chain
    # first; its own CLP01 match is the fallback when the chain knows no 837.
    direct_non_reversal = direct.join(
        steps.filter("is_reversal"), on="remit_claim_key", how="anti"
    )
    matched_steps = steps.join(direct_non_reversal, on="remit_claim_key").select(
        "claim_id", from_seq="adjudication_seq", submitted_claim_key="submitted_claim_key"
    )
    chained = (
        steps.join(direct_non_reversal, on="remit_claim_key", how="anti")
        .join(matched_steps, on="claim_id")
        # the nearest earlier adjudication's 837; a later one only when no earlier one matched
        .with_columns(before=pl.col("from_seq") < pl.col("adjudication_seq"),
                      distance=(pl.col("from_seq") - pl.col("adjudication_seq")).abs())
        .sort(["remit_claim_key", "before", "distance"], descending=[False, True, False])
        .group_by("remit_claim_key", maintain_order=True)
        .first()
        .select("remit_claim_key", "submitted_claim_key", match_method=pl.lit("claim_chain"))
    )
    fallback = direct.join(chained, on="remit_claim_key", how="anti").join(
        direct_non_reversal, on="remit_claim_key", how="anti"
    )
    return pl.concat([direct_non_reversal, chained, fallback]).sort("remit_claim_key")


@dataclass(frozen=True)
class Unmatched:
    """Claims on either side with no partner: remits with no 837, 837s with no remit yet."""

    remits: pl.DataFrame  # claim_key, patient_control_number, payer_name, remit_date
    submissions: pl.DataFrame  # claim_key, patient_control_number, payer_name, frequency_code

    @property
    def remit_count(self) -> int:
        return self.remits.height

    @property
    def submitted_count(self) -> int:
        return self.submissions.height


def unmatched(
    remit_claims: pl.DataFrame,
    submitted_claims: pl.DataFrame,
    matches: pl.DataFrame | None = None,
) -> Unmatched:
    """Report both sides' unmatched claims (counts and keys, no PHI)."""
    matches = match_claims(remit_claims, submitted_claims) if matches is None else matches
    remits = remit_claims.join(
        matches, left_on="claim_key", right_on="remit_claim_key", how="anti"
    ).select("claim_key", "patient_control_number", "payer_name", "remit_date")
    submissions = submitted_claims.join(
        matches, left_on="claim_key", right_on="submitted_claim_key", how="anti"
    ).select("claim_key", "patient_control_number", "payer_name", "frequency_code")
    return Unmatched(remits=remits, submissions=submissions)


def _claims_of_requests(log: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """The claim_id each logged request is about: by payer claim number first, else by CLP01."""
    by_icn = pl.concat([
        history.select("claim_id", icn="payer_claim_control_number"),
        history.select("claim_id", icn="original_payer_claim_control_number"),
    ]).drop_nulls("icn").unique()
    by_pcn = history.select("claim_id", "patient_control_number").unique()
    requests = log.select("_request", "patient_control_number", "payer_claim_control_number",
                          "submitted_on")
    found = pl.concat([
        requests.join(by_icn, left_on="payer_claim_control_number", right_on="icn")
        .select("_request", "submitted_on", "claim_id", priority=pl.lit(1)),
        requests.join(by_pcn, on="patient_control_number")
        .select("_request", "submitted_on", "claim_id", priority=pl.lit(2)),
    ])
    # Under a reused patient control number, the request is about the visit most recently
    # adjudicated before it was filed.
    adjudicated_before = (
        found.join(history.select("claim_id", "remit_date"), on="claim_id")
        .filter(pl.col("remit_date") <= pl.col("submitted_on"))
        .group_by("_request", "claim_id")
        .agg(last_before=pl.col("remit_date").max())
    )
    return (
        found.join(adjudicated_before, on=["_request", "claim_id"], how="left")
        .sort(["_request", "priority", "last_before", "claim_id"],
              descending=[False, False, True, False], nulls_last=True)
        .group_by("_request", maintain_order=True)
        .first()
        .select("_request", "claim_id")
    )


def infer_level1_outcomes(log: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """The log with every Level I outcome known: logged, inferred from later 835s, or pending.

    `history` is `adjudication_history` with a boolean `is_denied` per adjudication, i.e.
    `claimback.denials.build_adjudications(...)`. A logged "pending" counts as no outcome. For a
    Level I request without an outcome, the claim's first new (non-reversal) adjudication after
    `submitted_on` is the payer's answer: still denied -> upheld (partial when it pays more than
    before the request); not denied any more -> overturned; only a reversal so far, or nothing
    yet -> pending. Adds `outcome_source` (logged | inferred | pending); `decided_on` of an
    inferred outcome is that remit's date.
    """
    if "is_denied" not in history.columns:
        raise ValueError("history needs an is_denied column (see claimback.denials.build_adjudications)")
    log = log.with_row_index("_request").with_columns(pl.col("outcome").replace("pending", None))
    claims = _claims_of_requests(log, history)
    steps = log.select("_request", "submitted_on").join(claims, on="_request").join(
        history.select("claim_id", "adjudication_seq", "remit_date", "is_reversal", "is_denied",
                       "paid_amount"),
        on="claim_id",
    )
    # The payer's answer to this request is its first new adjudication after it (a reversal is
    # only the first half of one); later ones may answer a Level II or a corrected claim.
    later = steps.filter(pl.col("remit_date") > pl.col("submitted_on")).sort("adjudication_seq")
    answered = later.filter(~pl.col("is_reversal")).group_by("_request").first()
    after = pl.concat([
        answered,
        later.join(answered, on="_request", how="anti").group_by("_request").first(),
    ])
    paid_before = (
        steps.filter((pl.col("remit_date") <= pl.col("submitted_on")) & ~pl.col("is_reversal"))
        .sort("adjudication_seq")
        .group_by("_request")
        .agg(paid_before=pl.col("paid_amount").last())
    )
    inferred = after.join(paid_before, on="_request", how="left").select(
        "_request",
        inferred_outcome=pl.when(pl.col("is_reversal"))
        .then(None)
        .when(~pl.col("is_denied"))
        .then(pl.lit("overturned"))
        .when(pl.col("paid_amount") > pl.col("paid_before").fill_null(0))
        .then(pl.lit("partial"))
        .otherwise(pl.lit("upheld")),
        inferred_on="remit_date",
    )
    open_level1 = (pl.col("level") == 1) & pl.col("outcome").is_null()
    decided = pl.col("inferred_outcome").is_not_null()
    return (
        log.join(inferred, on="_request", how="left")
        .with_columns(
            outcome_source=pl.when(pl.col("outcome").is_not_null())
            .then(pl.lit("logged"))
            .when(open_level1 & decided)
            .then(pl.lit("inferred"))
            .otherwise(pl.lit("pending")),
        )
        .with_columns(
            outcome=pl.when(pl.col("outcome_source") == "inferred")
            .then(pl.col("inferred_outcome"))
            .otherwise(pl.col("outcome").fill_null(pl.lit("pending"))),
            decided_on=pl.when(pl.col("outcome_source") == "inferred")
            .then(pl.col("inferred_on"))
            .otherwise(pl.col("decided_on")),
        )
        .sort("_request")
        .drop("_request", "inferred_outcome", "inferred_on")
    )
