-- Do our reconsiderations and disputes win money back? Per payer and level: requests filed, outcomes (overturned, partial, upheld, pending), the overturn rate among decided requests, days to a decision, and the claims and dollars recovered by a remittance after the request (credited to the latest request filed before the money came).
CREATE OR REPLACE VIEW analyst_recovered_after_reconsideration AS
WITH requests AS (
    SELECT row_number() OVER () AS request_id, *
    FROM reconsideration_outcomes
),
request_claims AS (
    -- a request names the payer's claim number of any adjudication of the claim (or its original
    -- claim number); without one, the patient control number. Three equality joins, not one join
    -- on an OR: that one compared every request with every adjudication (minutes at a million claims).
    SELECT r.request_id, a.claim_id
    FROM requests AS r JOIN adjudications AS a ON r.payer_claim_control_number = a.payer_claim_control_number
    UNION
    SELECT r.request_id, a.claim_id
    FROM requests AS r JOIN adjudications AS a ON r.payer_claim_control_number = a.original_payer_claim_control_number
    UNION
    SELECT r.request_id, a.claim_id
    FROM requests AS r JOIN adjudications AS a ON r.patient_control_number = a.patient_control_number
    WHERE r.payer_claim_control_number IS NULL
),
payer_of_claim AS (
    SELECT claim_id, arg_max(payer_name, adjudication_seq) AS payer_name
    FROM adjudications
    GROUP BY claim_id
),
credited AS (
    SELECT r.request_id, rc.claim_id, rec.recovered_amount, rec.recovered_on,
           lead(r.submitted_on) OVER (PARTITION BY rc.claim_id ORDER BY r.submitted_on, r.level) AS next_request_on
    FROM requests AS r
    JOIN request_claims AS rc USING (request_id)
    LEFT JOIN recovered_claims AS rec USING (claim_id)
),
per_request AS (
    SELECT r.request_id,
           coalesce(any_value(p.payer_name), 'unmatched claim') AS payer_name,
           any_value(r.level) AS level,
           any_value(r.outcome) AS outcome,
           any_value(r.decided_on) - any_value(r.submitted_on) AS days_to_decision,
           bool_or(c.recovered_on > r.submitted_on
                   AND (c.next_request_on IS NULL OR c.recovered_on <= c.next_request_on)) AS recovered,
           sum(c.recovered_amount) FILTER (
               WHERE c.recovered_on > r.submitted_on
                 AND (c.next_request_on IS NULL OR c.recovered_on <= c.next_request_on)) AS recovered_amount
    FROM requests AS r
    LEFT JOIN credited AS c USING (request_id)
    LEFT JOIN payer_of_claim AS p ON p.claim_id = c.claim_id
    GROUP BY r.request_id
)
SELECT payer_name,
       level,
       count(*) AS requests,
       count(*) FILTER (WHERE outcome = 'overturned') AS overturned,
       count(*) FILTER (WHERE outcome = 'partial') AS partial,
       count(*) FILTER (WHERE outcome = 'upheld') AS upheld,
       count(*) FILTER (WHERE outcome = 'pending' OR outcome IS NULL) AS pending,
       round(count(*) FILTER (WHERE outcome IN ('overturned', 'partial'))
             / nullif(count(*) FILTER (WHERE outcome IN ('overturned', 'partial', 'upheld')), 0), 4) AS overturn_rate,
       round(median(days_to_decision), 1) AS median_days_to_decision,
       count(*) FILTER (WHERE recovered) AS recovered_claims,
       coalesce(sum(recovered_amount), 0)::DECIMAL(14, 2) AS recovered_amount
FROM per_request
GROUP BY payer_name, level
ORDER BY recovered_amount DESC, payer_name, level;
