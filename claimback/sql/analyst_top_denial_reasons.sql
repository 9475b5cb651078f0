-- What are the most common denial reasons? Per primary group-CARC (e.g. CO-197) and category: denied claims, denied dollars, payers affected, and the remark code seen most with it.
CREATE OR REPLACE VIEW analyst_top_denial_reasons AS
WITH remarks AS (
    SELECT primary_reason, unnest(remark_codes) AS remark_code
    FROM denials
)
SELECT d.primary_reason,
       d.category,
       count(*) AS denied_claims,
       sum(d.denied_amount)::DECIMAL(14, 2) AS denied_amount,
       count(DISTINCT d.payer_name) AS payers,
       (SELECT mode(r.remark_code) FROM remarks AS r WHERE r.primary_reason = d.primary_reason)
           AS most_common_remark,
       rank() OVER (ORDER BY count(*) DESC) AS rank_by_claims,
       rank() OVER (ORDER BY sum(d.denied_amount) DESC) AS rank_by_dollars
FROM denials AS d
GROUP BY d.primary_reason, d.category
ORDER BY denied_claims DESC, denied_amount DESC, d.primary_reason;
