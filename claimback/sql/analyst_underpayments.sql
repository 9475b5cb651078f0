-- Which paid lines did the payer allow below what it should have, and by how much? One row per underpaid line (table underpaid_lines: allowed materially below the contract fee schedule, else below the payer's own modal amount for the procedure over the 180 days before the remit) with its payer, claim numbers, procedure, what was charged, paid and allowed, the expected amount, where that came from, the shortfall, the adjustment that hid it (CO-45: the classic wrong fee schedule) and the claim's work-queue route and deadline; largest shortfall first.
CREATE OR REPLACE VIEW analyst_underpayments AS
SELECT u.payer_name,
       u.payer_id,
       u.practice_key,
       u.patient_control_number,
       u.payer_claim_control_number,
       u.service_date,
       u.remit_date,
       u.procedure_code,
       array_to_string(u.modifiers, ':') AS modifiers,
       u.units,
       u.charge_amount,
       u.paid_amount,
       u.allowed_amount,
       u.expected_allowed,
       u.expected_source,
       u.expected_basis,
       u.shortfall,
       u.hidden_by,
       u.is_denial,
       q.route,
       q.deadline,
       q.days_left,
       u.claim_key
FROM underpaid_lines AS u
LEFT JOIN work_queue AS q ON q.claim_key = u.claim_key
ORDER BY u.shortfall DESC, u.remit_date, u.claim_key, u.line_number;
