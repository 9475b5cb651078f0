-- Which payments answer no claim we sent, and which of our claims might they be? One row per lonely payment (an 835 claim no 837 matches: sent by another billing system, or a patient control number keyed wrong) with its payer, practice, claim numbers, dates and dollars, the closest 837 candidate's patient control number and the rule that found it, the closest 3 candidates' numbers, and how many candidates there are; largest payments first, payments with no candidate at all before those with one at equal dollars.
CREATE OR REPLACE VIEW analyst_lonely_payments AS
SELECT payer_name,
       payer_id,
       practice_key,
       patient_control_number,
       payer_claim_control_number,
       service_date,
       remit_date,
       charge_amount,
       paid_amount,
       candidate_count,
       closest_candidate_pcn,
       candidate_reason,
       coalesce((SELECT string_agg(c.patient_control_number, ', ' ORDER BY c.candidate_rank)
                 FROM lonely_payment_candidates AS c WHERE c.claim_key = p.claim_key), '') AS candidate_pcns,
       claim_key
FROM lonely_payments AS p
ORDER BY paid_amount DESC, candidate_count, remit_date, claim_key;
