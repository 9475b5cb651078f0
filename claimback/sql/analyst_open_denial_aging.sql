-- How old are the denials we still have to work, and how much money sits in each age bucket? Per route and age bucket (days from the denying remittance to the run's as-of date): open denied claims, denied dollars, the recovery still to expect (none once a window expired), and — kept apart — how many are past our own deadline and how many wait on a payer decision that is overdue. Resolved claims are left out.
CREATE OR REPLACE VIEW analyst_open_denial_aging AS
WITH as_of AS (
    -- the run's as-of date, recovered from the queue itself (days_left counts from it), so the
    -- view does not depend on table publish_info, which is written after the views
    SELECT coalesce(max(deadline - days_left::INTEGER), current_date) AS as_of
    FROM work_queue
    WHERE deadline IS NOT NULL AND days_left IS NOT NULL
),
open_denials AS (
    SELECT w.route,
           w.denied_amount,
           CASE WHEN w.route = 'expired' THEN 0 ELSE w.expected_recovery END AS expected_recovery,
           w.days_left,
           coalesce(w.awaiting_payer, false) AS awaiting_payer,
           (SELECT as_of FROM as_of) - d.remit_date AS days_since_remit
    FROM work_queue AS w
    JOIN denials AS d USING (claim_key)
    WHERE w.route <> 'resolved'
)
SELECT route,
       CASE WHEN days_since_remit IS NULL THEN 'unknown'
            WHEN days_since_remit <= 30 THEN '0-30 days'
            WHEN days_since_remit <= 60 THEN '31-60 days'
            WHEN days_since_remit <= 90 THEN '61-90 days'
            WHEN days_since_remit <= 180 THEN '91-180 days'
            WHEN days_since_remit <= 365 THEN '181-365 days'
            ELSE 'over 365 days' END AS age_bucket,
       min(days_since_remit) AS youngest_days,
       max(days_since_remit) AS oldest_days,
       count(*) AS open_claims,
       sum(denied_amount)::DECIMAL(14, 2) AS denied_amount,
       coalesce(sum(expected_recovery), 0)::DECIMAL(14, 2) AS expected_recovery,
       count(*) FILTER (WHERE days_left < 0 AND route <> 'expired' AND NOT awaiting_payer) AS past_our_deadline_claims,
       count(*) FILTER (WHERE days_left < 0 AND awaiting_payer) AS payer_decision_overdue_claims
FROM open_denials
GROUP BY route, age_bucket
ORDER BY route, min(coalesce(days_since_remit, 100000));
