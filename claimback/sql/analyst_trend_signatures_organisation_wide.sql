-- Which denial signatures hit several of our practices at one payer? ORGANISATION-WIDE view, for internal review only: per payer and signature, the practices (billing TINs) with a trend cluster of it, their claims and dollars summed across practices. A payer's trend form is about one practice's claims, so these sums are never a trend to report: each practice reports its own flagged cluster.
CREATE OR REPLACE VIEW analyst_trend_signatures_organisation_wide AS
SELECT 'organisation-wide (sum across practices; not a trend to report)' AS scope,
       payer_name,
       payer_id,
       signature,
       count(DISTINCT billing_tin) AS practices,
       sum(claim_count)::BIGINT AS claims_all_practices,
       sum(denied_amount) AS denied_amount_all_practices,
       count(*) FILTER (WHERE status = 'flagged') AS flagged_practice_clusters,
       list(DISTINCT billing_tin ORDER BY billing_tin) AS billing_tins,
       min(first_remit_date) AS first_remit_date,
       max(last_remit_date) AS last_remit_date
FROM trend_clusters
GROUP BY payer_name, payer_id, signature
ORDER BY claims_all_practices DESC, payer_name, signature;
