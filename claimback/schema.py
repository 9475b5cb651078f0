"""The data contract: every table claimback writes, its columns and their types.

One place that names the tables analysts and scheduled jobs depend on. The reader, the
lake, the domain stages and the published DuckDB file all conform to these schemas, so a
column is added here first and everything downstream sees it. Codes are strings ("045" is
not 45), money is Decimal(12, 2), dates are dates.
"""
from __future__ import annotations

import polars as pl

from claimback.codes.registry import route_names

MONEY = pl.Decimal(12, 2)
STR = pl.String
DATE = pl.Date
INT = pl.Int64
BOOL = pl.Boolean
TS = pl.Datetime("us", "UTC")
STR_LIST = pl.List(pl.String)

# Columns every table produced by the X12 reader carries, so a row can be traced to its
# bytes and de-duplicated across files: the same transaction set delivered twice (under
# another name, or another envelope) has the same `transaction_hash`.
_PROVENANCE = {
    "source_file": STR,
    "file_sha256": STR,
    "transaction_hash": STR,
    # 1-based position of the transaction set (ST) in its file: the same ST repeated inside
    # one file is de-duplicated by (file_sha256, transaction_ordinal), first copy kept.
    "transaction_ordinal": INT,
}

REMIT_PAYMENTS = {  # one row per 835 transaction set (ST..SE): the check/EFT and its parties
    **_PROVENANCE,
    "interchange_control_number": STR,  # ISA13
    "group_control_number": STR,  # GS06
    "transaction_control_number": STR,  # ST02
    "implementation_version": STR,  # GS08 or ST03
    "sender_id": STR,  # ISA06 / GS02
    "receiver_id": STR,
    "transaction_handling_code": STR,  # BPR01
    "total_payment_amount": MONEY,  # BPR02
    "credit_debit_flag": STR,  # BPR03
    "payment_method": STR,  # BPR04
    "payment_date": DATE,  # BPR16
    "check_number": STR,  # TRN02
    "payer_trace_id": STR,  # TRN03
    "production_date": DATE,  # DTM*405
    "payer_name": STR,  # N1*PR
    "payer_id": STR,  # N1*PR N104, else REF*2U, else TRN03
    "payee_name": STR,  # N1*PE
    "payee_npi": STR,  # N1*PE*XX N104
    "payee_tax_id": STR,  # REF*TJ or N1*PE*FI
    "remit_date": DATE,  # BPR16, else DTM*405, else GS04
    "claim_count": INT,
    "envelope_date_time": pl.Datetime("us"),  # GS04+GS05, else ISA09+ISA10
}

REMIT_CLAIMS = {
    "claim_key": STR,
    **_PROVENANCE,
    "transaction_control_number": STR,
    "payer_name": STR,
    "payer_id": STR,
    "payee_npi": STR,  # N1*PE*XX: with the payee TIN, the practice the claim belongs to
    "payee_tax_id": STR,  # REF*TJ or N1*PE*FI
    "remit_date": DATE,
    "production_date": DATE,  # DTM*405: orders two remits of one remit date
    "envelope_date_time": pl.Datetime("us"),  # GS04+GS05, else ISA09+ISA10: orders them further
    "check_number": STR,
    "patient_control_number": STR,  # CLP01
    "claim_status_code": STR,  # CLP02
    "charge_amount": MONEY,  # CLP03
    "paid_amount": MONEY,  # CLP04
    "patient_responsibility_amount": MONEY,  # CLP05
    "claim_filing_indicator": STR,  # CLP06
    "payer_claim_control_number": STR,  # CLP07
    "facility_type_code": STR,  # CLP08
    "claim_frequency_code": STR,  # CLP09
    "drg_code": STR,  # CLP11
    "original_payer_claim_control_number": STR,  # REF*F8
    "rendering_npi": STR,  # NM1*82
    "patient_last_name": STR,  # NM1*QC — PHI: never in logs or metadata
    "patient_first_name": STR,
    "member_id": STR,  # NM1*QC09, else NM1*IL09 — PHI; part of the claim's identity
    "insured_member_id": STR,  # NM1*IL09 (the subscriber, when not the patient) — PHI
    "statement_from": DATE,  # DTM*232
    "statement_to": DATE,  # DTM*233
    "received_date": DATE,  # DTM*050
    "allowed_amount": MONEY,  # AMT*AU (claim coverage amount)
    "is_reversal": BOOL,  # CLP02 = 22
    "claim_ordinal": INT,  # position of the CLP in its file, from 1
}

REMIT_SERVICE_LINES = {
    "claim_key": STR,
    "line_number": INT,  # 1.. within the claim, in file order
    **_PROVENANCE,
    "procedure_qualifier": STR,  # HC, AD, NU, ...
    "procedure_code": STR,
    "modifiers": STR_LIST,
    "charge_amount": MONEY,  # SVC02
    "paid_amount": MONEY,  # SVC03
    "revenue_code": STR,  # SVC04
    "units": pl.Float64,  # SVC05 (defaults to 1 when absent)
    "original_procedure_code": STR,  # SVC06, when the payer restated our code
    "service_date": DATE,  # DTM*472, or DTM*150
    "service_date_to": DATE,  # DTM*151
    "allowed_amount": MONEY,  # AMT*B6
    "line_control_number": STR,  # REF*6R
}

REMIT_ADJUSTMENTS = {
    "claim_key": STR,
    "line_number": INT,  # null at claim level
    **_PROVENANCE,
    "group_code": STR,  # CO, PR, OA, PI, CR
    "reason_code": STR,  # CARC
    "amount": MONEY,
    "quantity": pl.Float64,
}

REMIT_REMARKS = {
    "claim_key": STR,
    "line_number": INT,  # null at claim level (MIA/MOA)
    **_PROVENANCE,
    "remark_code": STR,  # RARC
    "source_segment": STR,  # LQ, MIA, MOA
}

PROVIDER_ADJUSTMENTS = {
    **_PROVENANCE,
    "transaction_control_number": STR,
    "payee_npi": STR,  # PLB01
    "fiscal_period_date": DATE,  # PLB02
    "reason_code": STR,  # PLB03-1 (WO, L6, FB, 72, ...)
    "reference": STR,  # PLB03-2
    "amount": MONEY,
}

SUBMITTED_CLAIMS = {
    "claim_key": STR,
    **_PROVENANCE,
    "transaction_control_number": STR,
    "implementation_version": STR,
    "claim_type": STR,  # P, I, D
    "patient_control_number": STR,  # CLM01
    "payer_name": STR,  # NM1*PR (2010BB)
    "payer_id": STR,
    "billing_npi": STR,  # NM1*85
    "billing_name": STR,
    "billing_tax_id": STR,  # REF*EI
    "billing_address": STR,  # 2010AA N3/N4, as one line
    "billing_contact_name": STR,  # 2010AA PER02
    "billing_contact_phone": STR,  # 2010AA PER, qualifier TE
    "billing_contact_email": STR,  # 2010AA PER, qualifier EM
    "rendering_npi": STR,  # NM1*82 (claim level)
    "attending_npi": STR,  # NM1*71 (837I)
    "subscriber_member_id": STR,  # NM1*IL09 — PHI
    "patient_last_name": STR,  # PHI
    "patient_first_name": STR,  # PHI
    "patient_birth_date": DATE,  # DMG02 — PHI
    "total_charge": MONEY,  # CLM02
    "place_of_service": STR,  # CLM05-1 (P/D)
    "type_of_bill": STR,  # CLM05-1 + CLM05-3 (I)
    "facility_code_qualifier": STR,  # CLM05-2
    "frequency_code": STR,  # CLM05-3
    "statement_from": DATE,  # DTP*434 (I) or earliest service date
    "statement_to": DATE,
    "original_payer_claim_control_number": STR,  # REF*F8
    "prior_authorization": STR,  # REF*G1
    "referral_number": STR,  # REF*9F
    "diagnosis_codes": STR_LIST,  # HI (ABK/ABF, BK/BF), principal first
    "claim_filing_indicator": STR,  # SBR09
    "payer_responsibility": STR,  # SBR01 (P primary, S secondary, T tertiary)
    "other_payer_responsibility": STR,  # 2320 SBR01 of the first other payer (COB), null when none
    "other_payer_name": STR,  # 2330B NM1*PR of the first other payer
    "submitted_on": DATE,  # GS04 of the 837: the day the file was created (timely-filing proof)
    "claim_ordinal": INT,
    # appended for front-door acknowledgments (issue 22): what a 999 names the set by
    "group_control_number": STR,  # GS06 (a 999's AK102)
    "sender_id": STR,  # GS02, else ISA06 (a 999's GS03 / ISA08)
}

SUBMITTED_SERVICE_LINES = {
    "claim_key": STR,
    "line_number": INT,  # LX01, else position
    **_PROVENANCE,
    "service_type": STR,  # SV1, SV2, SV3
    "procedure_qualifier": STR,
    "procedure_code": STR,
    "modifiers": STR_LIST,
    "revenue_code": STR,  # SV201
    "charge_amount": MONEY,
    "units": pl.Float64,
    "place_of_service": STR,  # SV105 (P) / SV303 (D)
    "service_date": DATE,  # DTP*472
    "service_date_to": DATE,
    "rendering_npi": STR,  # line-level NM1*82
    "line_control_number": STR,  # REF*6R
    "prior_authorization": STR,  # loop 2400 REF*G1 (an authorization for this line only)
}

QUARANTINE = {
    "source_file": STR,
    "file_sha256": STR,
    "location": STR,  # "ISA 000000001 / ST 0001, segment 14, byte 2310", or "file"
    "error": STR,
    "detected_at": TS,
}

VALIDATION_FINDINGS = {
    "source_file": STR,
    "file_sha256": STR,
    "transaction_hash": STR,  # null for findings about the file or interchange as a whole
    "transaction_ordinal": INT,
    "location": STR,
    "rule": STR,  # e.g. claim_balance, transaction_balance, se_count, npi_check_digit
    "severity": STR,  # error, warning, info
    "message": STR,
    "claim_key": STR,
}

INGESTED_FILES = {
    "source_file": STR,
    "sha256": STR,
    "bytes": INT,
    "status": STR,  # loaded, duplicate_file, partly_loaded, quarantined
    "transactions": INT,
    "loaded_at": TS,
    "duplicate_of": STR,
    "duplicate_transactions": INT,
    "quarantined_transactions": INT,
    "file_type": STR,  # 835, 837, 999, 277CA, mixed, reconsiderations, unknown
    "batch_id": STR,  # the ingest batch that read it (lake/raw/<table>/<batch_id>.parquet)
    "mtime_ns": INT,  # with `bytes`, lets a rerun skip re-hashing an unchanged file
    "claims": INT,
}

RECONSIDERATIONS = {
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
    "level": INT,  # 1 or 2
    "submitted_on": DATE,
    "reference_number": STR,
    "outcome": STR,  # overturned, upheld, partial, pending (null = pending)
    "decided_on": DATE,
    "source_file": STR,
    "source_line": INT,
}

DENIALS = {
    "claim_key": STR,  # remit_claims.claim_key of the latest adjudication
    "claim_id": STR,  # the claim across its adjudications (claimback.lifecycle; no member id in it)
    "practice_key": STR,  # the payee/billing provider: "NPI:…", else "TIN:…"
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
    "payer_name": STR,
    "payer_id": STR,
    "remit_date": DATE,
    "first_remit_date": DATE,
    "service_date": DATE,
    "category": STR,
    "primary_reason": STR,  # e.g. "CO-197"
    "reason_codes": STR_LIST,  # every denying group-CARC on the claim, largest first
    "remark_codes": STR_LIST,
    "denial_level": STR,  # claim (whole claim denied) or line (some lines)
    "denied_lines": INT,
    "procedure_codes": STR_LIST,  # of the denied lines
    "charge_amount": MONEY,
    "paid_amount": MONEY,
    "denied_amount": MONEY,
    "fixable_by": STR,
    "suggested_route": STR,
    "adjudication_count": INT,
    "submitted_claim_key": STR,
    "rendering_npi": STR,
    "billing_npi": STR,  # the 837's 2010AA NPI, else the 835 payee's (N1*PE)
    "place_of_service": STR,
    "frequency_code": STR,
    "billing_tax_id": STR,  # the 837's 2010AA TIN (REF*EI), else the 835 payee's (REF*TJ)
}

TREND_CLUSTERS = {
    "cluster_id": STR,
    "payer_name": STR,
    "payer_id": STR,
    "signature": STR,  # e.g. "CO-197|N54"
    "category": STR,
    "claim_count": INT,
    "denied_amount": MONEY,
    "first_remit_date": DATE,
    "last_remit_date": DATE,
    "example_claim_key": STR,
    "example_patient_control_number": STR,
    "description": STR,
    "status": STR,  # flagged (>= threshold) or emerging (early warning)
    "threshold": INT,  # the payer's claim-count threshold the cluster was judged against
    "window_start": DATE,  # remit-date window the claims were counted in (inclusive)
    "window_end": DATE,  # = the run's as-of date
    "first_service_date": DATE,
    "last_service_date": DATE,
    "last_week_claims": INT,  # claims remitted in the 7 days ending window_end
    "baseline_weekly_claims": pl.Float64,  # mean weekly claims over the earlier weeks
    "rise_p_value": pl.Float64,  # one-sided Poisson P(X >= last_week | baseline)
    "prior_auth_claims": INT,  # members whose 837 carried a prior authorization (REF*G1)
    "shared_features": STR_LIST,  # "rendering_npi=1234567893 (100% of claims, lift 4.0)"
    "billing_tin": STR,  # the practice: one billing TIN per cluster (else its NPI)
    "billing_npi": STR,  # the billing NPI on most of its claims
    "evidence": STR,  # authorization on file / no authorization on file (auth and medical necessity), else ""
}

TREND_CLUSTER_CLAIMS = {
    "cluster_id": STR,
    "claim_key": STR,
    "patient_control_number": STR,
    "status": STR,  # the cluster's status, so routing can take flagged members without a join
}

TREND_PACKETS = {  # one row per Claim Trend Identification packet written
    "cluster_id": STR,
    "payer_name": STR,
    "pdf_path": STR,
    "csv_path": STR,
    "claim_count": INT,
    "denied_amount": MONEY,
    "created_for_as_of": DATE,
    "billing_tin": STR,  # the practice the packet is from
    "billing_npi": STR,
    "status": STR,  # written (the packet file is there; redrawn only when its content changed)
    "content_sha256": STR,  # what the packet says: a change redraws it
}

WORK_QUEUE = {
    "claim_key": STR,
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
    "payer_name": STR,
    "route": STR,
    "deadline": DATE,
    "days_left": INT,
    "denied_amount": MONEY,
    "priority": pl.Float64,
    "reason": STR,
    "category": STR,
    "primary_reason": STR,
    "overturn_probability": pl.Float64,
    "expected_recovery": MONEY,
    "window_anchor": STR,
    "rule_source": STR,
    # appended by routing (issue 6)
    "payer_id": STR,
    "payer_rule": STR,  # name of the payer rule applied ("default" when none matched)
    "anchor_date": DATE,  # the event date the filing window counts from
    "claim_frequency_to_send": STR,  # corrected_claim: "7" replacement or "1" new claim
    "trend_cluster_id": STR,  # trend_report: the flagged cluster to report on
    "level1_outcome": STR,  # overturned, upheld, partial, pending (from the log or inferred)
    "level1_decided_on": DATE,
    "awaiting_payer": BOOL,  # filed; deadline is the date the payer's decision is due
    "appeals_exhausted": BOOL,  # Level II came back upheld/partial: nothing more to file with the payer
    "rule_confirmed": BOOL,  # the window is the payer's own documented rule (not a default or a guess)
    "expired_route": STR,  # expired: the route whose window closed
    "recovered_amount": MONEY,  # resolved: what came back
    "payer_rules_version": STR,  # `version` of the payer rules file the deadlines came from
    # appended by routing (issue 15)
    "evidence": STR,  # JSON: the rule that decided the route and the facts it used
    "deadline_confirmed": BOOL,  # false: the window is a default or unconfirmed rule; never expires
    "analyst_hours": pl.Float64,  # time one request of this route takes (code registry)
    # appended by issue 22 (silent claims, front-door rejections, follow-ups)
    "submitted_claim_key": STR,  # the 837 the row is about: a denial's matched 837, a silent or rejected claim
    "follow_up_channel": STR,  # how to chase the payer: overdue decisions and claim status inquiries
}

# A claim as of its latest adjudication, as the tables about whole claims name it.
_LATEST_CLAIM = {
    "claim_key": STR,  # latest adjudication (remit_claims.claim_key)
    "claim_id": STR,
    "practice_key": STR,
    "payer_name": STR,
    "payer_id": STR,
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
}

LONELY_PAYMENTS = {  # one row per 835 claim none of whose adjudications matches an 837 (claimback.lonely)
    **_LATEST_CLAIM,
    "claim_status_code": STR,
    "service_date": DATE,
    "remit_date": DATE,
    "adjudication_count": INT,
    "charge_amount": MONEY,
    "paid_amount": MONEY,
    "candidate_count": INT,  # every 837 meeting a candidate rule
    "candidate_reason": STR,  # the closest candidate's rule; null when there is none
    "closest_candidate_pcn": STR,  # the closest candidate's CLM01
    "closest_candidate_claim_key": STR,  # its submitted_claims.claim_key
}

LONELY_PAYMENT_CANDIDATES = {  # the closest 837s (at most 3) of each lonely payment
    "claim_key": STR,  # the lonely payment (lonely_payments.claim_key)
    "candidate_rank": INT,  # 1 = closest
    "candidate_count": INT,  # of the payment, all rules (only the closest 3 have a row)
    "candidate_reason": STR,  # the rule this 837 met (claimback.lonely)
    "submitted_claim_key": STR,
    "patient_control_number": STR,  # the 837's CLM01
    "practice_key": STR,  # the 837's billing provider: "NPI:…", else "TIN:…"
    "service_date": DATE,  # the 837's statement/first service date
    "days_apart": INT,  # between its date of service and the payment's
}

SILENT_CLAIMS = {  # one row per 837 claim the payer has not answered past its window (claimback.silent)
    "submitted_claim_key": STR,  # the claim's latest submission (submitted_claims.claim_key)
    "practice_key": STR,  # the billing provider: "NPI:…", else "TIN:…"
    "payer_name": STR,
    "payer_id": STR,
    "patient_control_number": STR,  # CLM01
    "service_date": DATE,  # the 837's statement/first service date
    "frequency_code": STR,  # CLM05-3 of the latest submission
    "claim_filing_indicator": STR,  # SBR09
    "billed_amount": MONEY,  # CLM02 of the latest submission
    "submission_count": INT,  # 837s sent for this claim (original, resends, replacements)
    "first_submitted_on": DATE,  # GS04 of the first
    "submitted_on": DATE,  # GS04 of the latest: the silence counts from here
    "days_silent": INT,  # as-of date minus submitted_on
    "window_days": INT,  # the payer's status_inquiry_after days (payer_rules.yaml)
    "window_source": STR,  # where that number comes from
    "payer_rule": STR,  # the payer rule applied ("default" when none matched)
    "filing_limit_days": INT,  # the payer's timely-filing limit from the date of service
    "filing_limit_source": STR,  # where that limit comes from
    "deadline": DATE,  # service_date + filing_limit_days: the last day the claim can be sent again
    "days_left": INT,
    "deadline_confirmed": BOOL,  # false: the limit is a default or unconfirmed rule
    "source_file": STR,  # the latest submission's 837 file, relative to the inbox
}

FEE_SCHEDULE = {  # the organisation's contract fee schedule as loaded (claimback.underpayments)
    "payer": STR,  # payer id or name, as the 835 names it
    "product": STR,  # CLP06 claim filing indicator; null = every product
    "procedure": STR,
    "modifier": STR,  # null = any modifier
    "expected_allowed": MONEY,  # per unit
    "effective_from": DATE,  # null = since always
    "effective_to": DATE,  # null = open
    "source_file": STR,
    "source_line": INT,
}

UNDERPAID_LINES = {  # one row per paid line allowed materially below expected (claimback.underpayments)
    **_LATEST_CLAIM,
    "remit_date": DATE,
    "service_date": DATE,
    "line_number": INT,
    "procedure_code": STR,
    "modifiers": STR_LIST,
    "units": pl.Float64,
    "charge_amount": MONEY,  # SVC02
    "paid_amount": MONEY,  # SVC03
    "allowed_amount": MONEY,  # AMT*B6, else paid + PR adjustments
    "allowed_source": STR,  # AMT*B6 | paid + patient share
    "expected_per_unit": MONEY,
    "expected_allowed": MONEY,  # per unit x units, at most the charge
    "expected_source": STR,  # fee_schedule | payer_modal_180d
    "expected_basis": STR,  # the fee schedule file and line, or the mode and its count
    "modal_observations": INT,  # payer_modal_180d: lines the mode was taken over
    "shortfall": MONEY,  # expected_allowed - allowed_amount
    "hidden_by": STR,  # the line's largest non-PR adjustment, e.g. CO-45
    "is_denial": BOOL,  # false: the claim is already a denial for another reason
}

# The adjudication-level table the publisher can write beside `denials` (one row per CLP), so the
# analyst views can tell claims that were once denied and are paid now ("recovered").
ADJUDICATIONS = {
    "claim_id": STR,
    "claim_key": STR,
    "adjudication_seq": INT,
    "adjudication_count": INT,
    "is_latest": BOOL,
    "adjudication_kind": STR,  # original, reversal, readjudication
    "is_reversal": BOOL,
    "is_reversed": BOOL,
    "remit_date": DATE,
    "practice_key": STR,  # the payee: "NPI:1234567893", else "TIN:…" (see claimback.lifecycle)
    "payer_name": STR,
    "payer_id": STR,
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
    "original_payer_claim_control_number": STR,
    "claim_status_code": STR,
    "service_date": DATE,  # first date of service (distinguishes visits under one reused PCN)
    "charge_amount": MONEY,
    "paid_amount": MONEY,
    "is_denied": BOOL,
    "denied_amount": MONEY,
    "primary_reason": STR,
}

# Claims once denied whose latest adjudication pays (claimback.denials.recovered_claims).
RECOVERED_CLAIMS = {
    "claim_key": STR,  # latest (paying) adjudication
    "claim_id": STR,
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
    "payer_name": STR,
    "payer_id": STR,
    "first_denied_remit_date": DATE,
    "recovered_on": DATE,
    "denied_amount": MONEY,  # at the last denied adjudication
    "recovered_amount": MONEY,  # paid now minus paid at the last denied adjudication
}

# Payments taken back (CLP02 22) and not paid again within the wait (claimback.denials.recoupments).
RECOUPMENTS = {
    "claim_key": STR,  # the reversal (remit_claims.claim_key)
    "claim_id": STR,
    "practice_key": STR,
    "patient_control_number": STR,
    "payer_claim_control_number": STR,
    "payer_name": STR,
    "payer_id": STR,
    "reversed_on": DATE,  # remit date of the reversal
    "recouped_amount": MONEY,  # the payment taken back (the reversal's CLP04, sign turned)
    "days_without_replacement": INT,  # from the reversal to the as-of date
}

# One row per denying adjustment on a service line of a currently denied claim (claimback.denials.denial_lines).
DENIAL_LINES = {
    "claim_key": STR,
    "patient_control_number": STR,
    "line_number": INT,
    "procedure_code": STR,
    "modifiers": STR_LIST,
    "service_date": DATE,
    "line_charge_amount": MONEY,
    "line_paid_amount": MONEY,
    "reason": STR,  # group-CARC, e.g. CO-197
    "group_code": STR,
    "reason_code": STR,
    "carc_label": STR,
    "category": STR,
    "amount": MONEY,
    "remark_codes": STR_LIST,
}

# The reconsideration log with every Level I outcome known (claimback.lifecycle.infer_level1_outcomes).
RECONSIDERATION_OUTCOMES = {
    **RECONSIDERATIONS,
    "outcome_source": STR,  # logged, inferred (from a later 835) or pending
}

# Rows of an input CSV that could not be used, and why: the reconsideration log
# (claimback.reconsiderations), the fee schedule (claimback.underpayments).
INPUT_PROBLEMS = {"source_file": STR, "line_number": INT, "problem": STR}
RECONSIDERATION_LOG_PROBLEMS = INPUT_PROBLEMS
FEE_SCHEDULE_PROBLEMS = INPUT_PROBLEMS

# One row per Level I / Level II request considered for a packet tonight (claimback.forms.reconsideration).
REQUEST_PACKETS = {
    "claim_key": STR, "patient_control_number": STR, "payer_name": STR,
    "route": STR, "level": INT, "pdf_path": STR, "status": STR, "why": STR,
    "billing_npi": STR, "billing_tin": STR, "content_sha256": STR,
}

ACKNOWLEDGMENTS = {  # one row per 837 transaction set a 999 answers (AK2/IK5), per 277CA 2200B/2200C level
    "acknowledgment_key": STR,  # file_sha256[:16]-position of the AK2 / HL segment in the file (stable)
    **_PROVENANCE,
    "kind": STR,  # '999' | '277CA'
    "level": STR,  # 999: transaction_set (an AK2), functional_group (an AK9 with no AK2);
    #                277CA: information_receiver (2200B), billing_provider (2200C)
    "interchange_control_number": STR,  # ISA13 of the acknowledgment itself
    "transaction_control_number": STR,  # its ST02
    "sender_id": STR,  # GS02, else ISA06: the clearinghouse or payer that answered
    "receiver_id": STR,  # GS03, else ISA08: the submitter of the 837s it answers
    "acknowledged_on": DATE,  # 999: GS04; 277CA: BHT04
    "acknowledged_group_control_number": STR,  # 999 AK102: the 837's GS06
    "acknowledged_transaction_type": STR,  # 999 AK201 ('837')
    "acknowledged_transaction_control_number": STR,  # 999 AK202: the 837's ST02
    "acknowledged_implementation": STR,  # 999 AK203, else AK103 (e.g. 005010X222A1)
    "status": STR,  # accepted, accepted_with_errors, partially_accepted, rejected
    "status_code": STR,  # 999: IK501 (AK901 at group level); 277CA: STC01-1 (claim status category)
    "status_codes": STR_LIST,  # 999: IK501/IK502.., IK304 and IK403 codes as "IK403:7"; 277CA: STC01 "A7:21"
    "error_locations": STR_LIST,  # 999: the segment/element each IK3/IK4 names, e.g. "CLM05-3"
    "error_patient_control_numbers": STR_LIST,  # 999: the claims its CTX*CLM01 names
    "group_status_code": STR,  # 999 AK901: A, E, P (partially accepted), R
    "group_transaction_sets": INT,  # AK902: sets the 837's group held
    "group_accepted_sets": INT,  # AK904
    "trace_number": STR,  # 277CA TRN02 of the level
    "payer_name": STR,  # 277CA 2100A NM1*PR
    "payer_id": STR,  # 277CA 2100A NM109
    "billing_npi": STR,  # 277CA 2100C NM1*85*XX (billing_provider level)
    "billing_tax_id": STR,  # 277CA 2100C NM1*85*FI, else 2200C REF*TJ
    "accepted_claims": INT,  # 277CA QTY*90 (2200B) / QTY*QA (2200C)
    "rejected_claims": INT,  # 277CA QTY*AA (2200B) / QTY*QC (2200C)
    "accepted_amount": MONEY,  # 277CA AMT*YU
    "rejected_amount": MONEY,  # 277CA AMT*YY
    "location": STR,
}

ACKNOWLEDGED_CLAIMS = {  # one row per claim a 277CA reports on (2200D), accepted or rejected
    "acknowledgment_key": STR,  # file_sha256[:16]-position of the claim's TRN in the file (stable)
    **_PROVENANCE,
    "transaction_control_number": STR,  # ST02 of the 277CA
    "acknowledged_on": DATE,  # BHT04
    "status": STR,  # accepted or rejected (STC01-1 A3/A6/A7/A8, or STC03 'U')
    "status_codes": STR_LIST,  # every claim-level STC01/STC10/STC11 as "category:status", e.g. "A7:21"
    "entity_codes": STR_LIST,  # STC01-3.. the entity each status is about ('IL', '85'), "" when none
    "action_code": STR,  # STC03: WQ accepted, U rejected
    "status_date": DATE,  # STC02
    "patient_control_number": STR,  # 2200D TRN02 = the 837's CLM01
    "payer_claim_control_number": STR,  # REF*1K
    "clearinghouse_trace_number": STR,  # REF*D9
    "payer_name": STR,  # 2100A NM1*PR
    "payer_id": STR,
    "billing_npi": STR,  # 2100C NM1*85*XX
    "billing_tax_id": STR,  # 2100C NM1*85*FI, else 2200C REF*TJ
    "member_id": STR,  # 2100D NM1*QC09 (or *IL09) — PHI; only for matching to the 837
    "billed_amount": MONEY,  # STC04
    "service_date": DATE,  # DTP*472 (first date of a range)
    "service_date_to": DATE,
    "location": STR,
}

CLAIM_REJECTIONS = {  # one row per claim rejected at the front door by a 999 or 277CA (claimback.rejections)
    "acknowledgment_key": STR,  # acknowledgments (999) / acknowledged_claims (277CA) row that rejected it
    "submitted_claim_key": STR,  # submitted_claims.claim_key; null when the 837 is not in the inbox
    "practice_key": STR,  # "NPI:…", else "TIN:…" (lifecycle.provider_key)
    "payer_name": STR,
    "payer_id": STR,
    "patient_control_number": STR,
    "payer_claim_control_number": STR,  # 277CA REF*1K, when the payer assigned one
    "service_date": DATE,
    "billed_amount": MONEY,  # the 837's CLM02, else the 277CA's STC04
    "submitted_on": DATE,  # the 837's GS04
    "rejected_on": DATE,
    "acknowledgment": STR,  # '999' | '277CA'
    "status_codes": STR_LIST,  # 277CA "A7:21"; 999 "IK501:R", "IK502:5", "IK304:8", "IK403:7"
    "error_location": STR,  # 999: the segment/element named ("CLM05-3"; several joined by ", "); null for 277CA
    "reason": STR,  # the codes in plain words (claimback/codes/data/acknowledgment_codes.csv)
    "source_file": STR,  # the acknowledgment's file
    "still_rejected": BOOL,  # false once a later 837 of the claim was accepted or an 835 adjudicated it
}

TABLES: dict[str, dict[str, pl.DataType]] = {
    "remit_payments": REMIT_PAYMENTS,
    "remit_claims": REMIT_CLAIMS,
    "remit_service_lines": REMIT_SERVICE_LINES,
    "remit_adjustments": REMIT_ADJUSTMENTS,
    "remit_remarks": REMIT_REMARKS,
    "provider_adjustments": PROVIDER_ADJUSTMENTS,
    "submitted_claims": SUBMITTED_CLAIMS,
    "submitted_service_lines": SUBMITTED_SERVICE_LINES,
    "quarantine": QUARANTINE,
    "validation_findings": VALIDATION_FINDINGS,
    "ingested_files": INGESTED_FILES,
    "reconsiderations": RECONSIDERATIONS,
    "denials": DENIALS,
    "trend_clusters": TREND_CLUSTERS,
    "trend_cluster_claims": TREND_CLUSTER_CLAIMS,
    "trend_packets": TREND_PACKETS,
    "work_queue": WORK_QUEUE,
    "lonely_payments": LONELY_PAYMENTS,
    "lonely_payment_candidates": LONELY_PAYMENT_CANDIDATES,
    "silent_claims": SILENT_CLAIMS,
    "fee_schedule": FEE_SCHEDULE,
    "underpaid_lines": UNDERPAID_LINES,
    "adjudications": ADJUDICATIONS,
    "recovered_claims": RECOVERED_CLAIMS,
    "recoupments": RECOUPMENTS,
    "denial_lines": DENIAL_LINES,
    "reconsideration_outcomes": RECONSIDERATION_OUTCOMES,
    "reconsideration_log_problems": RECONSIDERATION_LOG_PROBLEMS,
    "fee_schedule_problems": FEE_SCHEDULE_PROBLEMS,
    "request_packets": REQUEST_PACKETS,
    "acknowledgments": ACKNOWLEDGMENTS,
    "acknowledged_claims": ACKNOWLEDGED_CLAIMS,
    "claim_rejections": CLAIM_REJECTIONS,
}


# What one row of each table is: the description of its Dagster asset, and the first sentence of its
# section in docs/data-dictionary.md, which goes on from there (tests/ui/test_data_dictionary.py).
DESCRIPTIONS: dict[str, str] = {
    "remit_payments": (
        "One row per 835 remittance (transaction set): the payment or EFT, the payer "
        "and the payee."
    ),
    "remit_claims": (
        "One row per claim adjudication on an 835 (CLP), duplicates of an already-loaded "
        "transaction excluded."
    ),
    "remit_service_lines": "One row per service line (SVC) of an 835 adjudication.",
    "remit_adjustments": (
        "One row per adjustment (CAS reason and amount), at claim or line level: why"
        " billed dollars were not paid."
    ),
    "remit_remarks": (
        "One row per remark code (RARC) on an 835: the payer's explanation beside the "
        "CARC."
    ),
    "provider_adjustments": (
        "One row per provider-level adjustment (PLB): money taken or given back "
        "outside any one claim (recoupments, interest, forward balances)."
    ),
    "submitted_claims": (
        "One row per claim we sent (837 CLM): professional (P), institutional (I) or "
        "dental (D)."
    ),
    "submitted_service_lines": (
        "One row per service line we sent (SV1 professional, SV2 "
        "institutional, SV3 dental)."
    ),
    "quarantine": "One row per file or transaction set that could not be read.",
    "validation_findings": (
        "One row per problem found while validating a readable file: balancing, "
        "segment counts, NPI check digits, codes no code list knows."
    ),
    "ingested_files": "One row per inbox file the pipeline has seen, and what became of it.",
    "reconsiderations": (
        "One row per line of the reconsideration log(s) in the inbox (any file ending"
        " reconsiderations.csv): what we filed with payers and what came back."
    ),
    "denials": (
        "One row per claim whose latest adjudication (as of the run's as-of date) denies all "
        "or part of the charge: every denying adjustment counts, at claim or line level, "
        "whatever was paid (a CO-210 of $50 on a line paid $550 is $50 denied)."
    ),
    "trend_clusters": (
        "One row per payer trend: 10 or more denied claims (the payer's threshold) of "
        "ONE practice (billing TIN) at one payer sharing the same denial codes within "
        "the look-back window — one problem to report to the payer once (Claim Trend "
        "Identification), not claim by claim."
    ),
    "trend_cluster_claims": "Which claims belong to which trend cluster.",
    "trend_packets": (
        "One row per Claim Trend Identification packet written for a flagged cluster "
        "(PDF to send, CSV of its claims)."
    ),
    "work_queue": (
        "One row per denied claim needing (or past) action: what to do, by when, and how "
        "much it is worth."
    ),
    "lonely_payments": (
        "Lonely payments (Da Vinci's Postable Remittance term): one row per 835 claim "
        "none of whose adjudications matches an 837 in the lake (sent by another "
        "billing system, or a patient control number keyed wrong), from its latest "
        "adjudication, with up to 3 of the closest 837 claims to look at."
    ),
    "lonely_payment_candidates": (
        "The closest 837 claims (at most 3) of each lonely payment, one row "
        "each, closest first (rules and order as in "
        "[lonely_payments](#lonely_payments))."
    ),
    "silent_claims": (
        "Silent claims (Da Vinci's Postable Remittance term): one row per claim we sent "
        "that the payer has not answered in time, from its latest submission."
    ),
    "fee_schedule": (
        "The organisation's contract fee schedule as loaded: every inbox file whose name "
        "ends in `fee_schedule.csv` (or the file the fee schedule setting names), one row"
        " per good line."
    ),
    "underpaid_lines": (
        "One row per paid service line of a claim's latest adjudication that the payer"
        " allowed materially below what it should have (`claimback/underpayments.py`)."
    ),
    "adjudications": (
        "Every adjudication of every claim in order, with its denial status: the remit "
        "history the denials, recovery and Level I outcome logic use."
    ),
    "recovered_claims": (
        "Claims once denied whose latest adjudication pays: money won back (by a "
        "corrected claim, a reconsideration or the payer's own reprocessing)."
    ),
    "recoupments": (
        "Payments the payer took back and has not paid again: a claim whose latest "
        "adjudication is a reversal (CLP02 = 22) that took money back, standing for at "
        "least the run's `recoupment_wait_days` (default 30)."
    ),
    "denial_lines": (
        "One row per denying adjustment on a service line of a currently denied claim: "
        "the line-level detail behind `denials`."
    ),
    "reconsideration_outcomes": (
        "The reconsideration log with every Level I outcome known: logged, "
        "inferred from later 835s, or pending (same columns as "
        "reconsiderations, plus the source of the outcome)."
    ),
    "reconsideration_log_problems": (
        "Rows of the reconsideration log that could not be used, and why "
        "(fix them in the log)."
    ),
    "fee_schedule_problems": (
        "Lines of the fee schedule that could not be used, and why (fix them in "
        "the CSV); the other lines load."
    ),
    "request_packets": (
        "One row per Level I / Level II request in the work queue (routed to "
        "level1_reconsideration or level2_dispute, or expired from them), saying "
        "whether its pre-filled Request for Reconsideration / Claim Dispute PDF was "
        "written and why not: none for a request already filed and awaiting the payer,"
        " a dispute process exhausted (Level II upheld), or a window closed under a "
        "confirmed payer rule; at most 200 packets a night, highest priority first."
    ),
    "acknowledgments": (
        "Front-door acknowledgments of the 837s we sent, as read from the inbox (issue"
        " 22)."
    ),
    "acknowledged_claims": (
        "One row per claim a 277CA reports (loop 2200D), accepted or rejected, as "
        "read from the file."
    ),
    "claim_rejections": (
        "Front-door rejections (issue 22): one row per claim a 999 or 277CA rejected,"
        " matched to the 837 we sent."
    ),
}

# The tables the X12 reader produces for every file (`claimback parse` writes these).
PARSED_TABLES = (
    "remit_payments",
    "remit_claims",
    "remit_service_lines",
    "remit_adjustments",
    "remit_remarks",
    "provider_adjustments",
    "submitted_claims",
    "submitted_service_lines",
    "acknowledgments",
    "acknowledged_claims",
    "validation_findings",
    "quarantine",
)

# Every work_queue.route value, defined in the code registry (claimback/codes/data/registry.yaml).
ROUTES = route_names()


# Tables whose names and columns are a promise (docs/data-dictionary.md "Contract table"): columns
# may be added, never renamed or dropped. The others are published as supporting tables.
CONTRACT_TABLES = (
    "remit_payments", "remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks",
    "provider_adjustments", "submitted_claims", "submitted_service_lines", "quarantine", "validation_findings",
    "ingested_files", "reconsiderations", "denials", "trend_clusters", "trend_cluster_claims", "trend_packets",
    "work_queue", "underpaid_lines", "fee_schedule",
)


def duckdb_type(dtype: pl.DataType) -> str:
    """The type DuckDB gives a column the lake writes with `dtype`, as `DESCRIBE` and the data
    dictionary show it."""
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.List):
        return duckdb_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP WITH TIME ZONE" if dtype.time_zone else "TIMESTAMP"
    return {pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Boolean: "BOOLEAN", pl.Date: "DATE",
            pl.Float64: "DOUBLE"}[dtype.base_type()]


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the table's exact schema."""
    return pl.DataFrame(schema=TABLES[table])


def conform(frame: pl.DataFrame | pl.LazyFrame, table: str, keep: tuple[str, ...] = ()
            ) -> pl.DataFrame | pl.LazyFrame:
    """Cast and order `frame` to the contract schema; missing columns become nulls.

    Extra columns are dropped so every writer of a table produces the same file schema
    (those named in `keep` stay, last, for a caller that still needs them).
    """
    schema = TABLES[table]
    present = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
    cols = []
    for name, dtype in schema.items():
        if name in present:
            cols.append(pl.col(name).cast(dtype, strict=False))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(*cols, *keep)
