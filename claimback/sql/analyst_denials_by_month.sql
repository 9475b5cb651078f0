-- Is the denial rate going up? Per month of first adjudication: claims adjudicated, claims still denied at their latest adjudication, the denial rate and the denied dollars.
CREATE OR REPLACE VIEW analyst_denials_by_month AS
WITH first_adjudication AS (
    SELECT claim_id, min(remit_date) AS first_remit_date
    FROM adjudications
    WHERE NOT is_reversal
    GROUP BY claim_id
),
adjudicated AS (
    SELECT date_trunc('month', first_remit_date)::DATE AS month, count(*) AS adjudicated_claims
    FROM first_adjudication
    GROUP BY ALL
),
denied AS (
    SELECT date_trunc('month', first_remit_date)::DATE AS month,
           count(*) AS denied_claims,
           sum(denied_amount) AS denied_amount
    FROM denials
    GROUP BY ALL
)
SELECT month,
       coalesce(a.adjudicated_claims, 0) AS adjudicated_claims,
       coalesce(d.denied_claims, 0) AS denied_claims,
       round(coalesce(d.denied_claims, 0) / nullif(a.adjudicated_claims, 0), 4) AS denial_rate,
       coalesce(d.denied_amount, 0)::DECIMAL(14, 2) AS denied_amount
FROM adjudicated AS a
FULL JOIN denied AS d USING (month)
ORDER BY month;
