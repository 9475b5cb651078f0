-- How many claims does each payer pay on the first try? Per payer and month of first adjudication: claims adjudicated, paid on first pass, denied on first pass, the first-pass yield (paid first pass / adjudicated), and how many first-pass denials were later paid.
CREATE OR REPLACE VIEW analyst_first_pass_yield AS
WITH first_pass AS (
    -- the first adjudication that is not a reversal; patient-responsibility zero-pays are not denials
    SELECT claim_id, payer_name, remit_date, is_denied, denied_amount
    FROM adjudications
    WHERE adjudication_kind = 'original'
),
latest AS (
    SELECT claim_id, is_denied AS still_denied
    FROM adjudications
    WHERE is_latest AND NOT is_reversal
)
SELECT f.payer_name,
       date_trunc('month', f.remit_date)::DATE AS first_remit_month,
       count(*) AS adjudicated_claims,
       count(*) FILTER (WHERE NOT f.is_denied) AS paid_first_pass,
       count(*) FILTER (WHERE f.is_denied) AS denied_first_pass,
       round(count(*) FILTER (WHERE NOT f.is_denied) / count(*), 4) AS first_pass_yield,
       coalesce(sum(f.denied_amount) FILTER (WHERE f.is_denied), 0)::DECIMAL(14, 2) AS denied_first_pass_amount,
       count(*) FILTER (WHERE f.is_denied AND l.still_denied IS NOT DISTINCT FROM false) AS denied_then_paid
FROM first_pass AS f
LEFT JOIN latest AS l USING (claim_id)
GROUP BY f.payer_name, first_remit_month
ORDER BY f.payer_name, first_remit_month;
