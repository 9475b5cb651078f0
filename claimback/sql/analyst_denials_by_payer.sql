-- Which payers deny the most? Per payer: claims adjudicated, claims whose latest adjudication is a denial, the denial rate (denied claims / adjudicated claims) and the denied dollars.
CREATE OR REPLACE VIEW analyst_denials_by_payer AS
WITH adjudicated AS (
    -- a claim (claim_id: payer, patient control number, date of service, correction chain) counts
    -- once however often it was re-adjudicated; reversals are not adjudications
    SELECT payer_name, count(DISTINCT claim_id) AS adjudicated_claims
    FROM adjudications
    WHERE NOT is_reversal
    GROUP BY payer_name
),
denied AS (
    SELECT payer_name,
           count(*) AS denied_claims,
           count(*) FILTER (WHERE denial_level = 'claim') AS whole_claim_denials,
           count(*) FILTER (WHERE denial_level = 'line') AS line_denials,
           sum(denied_amount) AS denied_amount
    FROM denials
    GROUP BY payer_name
)
SELECT a.payer_name,
       a.adjudicated_claims,
       coalesce(d.denied_claims, 0) AS denied_claims,
       round(coalesce(d.denied_claims, 0) / a.adjudicated_claims, 4) AS denial_rate,
       coalesce(d.whole_claim_denials, 0) AS whole_claim_denials,
       coalesce(d.line_denials, 0) AS line_denials,
       coalesce(d.denied_amount, 0)::DECIMAL(14, 2) AS denied_amount
FROM adjudicated AS a
LEFT JOIN denied AS d USING (payer_name)
ORDER BY denied_amount DESC, a.payer_name;
