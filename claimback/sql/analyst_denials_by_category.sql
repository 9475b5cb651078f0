-- Why are claims denied? Per root-cause category and who can fix it: denied claims, denied dollars, share of all denied claims and dollars, and the average denial.
CREATE OR REPLACE VIEW analyst_denials_by_category AS
SELECT category,
       fixable_by,
       count(*) AS denied_claims,
       sum(denied_amount)::DECIMAL(14, 2) AS denied_amount,
       round(count(*) / sum(count(*)) OVER (), 4) AS claim_share,
       round(sum(denied_amount) / nullif(sum(sum(denied_amount)) OVER (), 0), 4) AS dollar_share,
       round(avg(denied_amount), 2) AS average_denied_amount,
       count(DISTINCT payer_name) AS payers
FROM denials
GROUP BY category, fixable_by
ORDER BY denied_amount DESC, category, fixable_by;
