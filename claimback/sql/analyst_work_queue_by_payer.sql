-- Where is the open work, payer by payer? Per payer: open items and their denied and expected-recovery dollars, items due within 7 / 30 days, decisions the payer owes, and what was lost to expired windows or already recovered.
CREATE OR REPLACE VIEW analyst_work_queue_by_payer AS
SELECT payer_name,
       any_value(payer_rule) AS payer_rule,
       count(*) FILTER (WHERE route NOT IN ('expired', 'resolved')) AS open_items,
       coalesce(sum(denied_amount) FILTER (WHERE route NOT IN ('expired', 'resolved')), 0) AS open_denied_amount,
       coalesce(sum(expected_recovery) FILTER (WHERE route NOT IN ('expired', 'resolved')), 0) AS open_expected_recovery,
       count(*) FILTER (WHERE route NOT IN ('expired', 'resolved') AND NOT coalesce(awaiting_payer, false)
                        AND days_left BETWEEN 0 AND 7) AS due_within_7_days,
       count(*) FILTER (WHERE route NOT IN ('expired', 'resolved') AND NOT coalesce(awaiting_payer, false)
                        AND days_left BETWEEN 0 AND 30) AS due_within_30_days,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false)) AS awaiting_payer_decision,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false) AND days_left < 0) AS payer_decision_overdue,
       count(*) FILTER (WHERE route = 'trend_report') AS in_flagged_trends,
       count(*) FILTER (WHERE route = 'expired') AS expired_items,
       coalesce(sum(denied_amount) FILTER (WHERE route = 'expired'), 0) AS expired_denied_amount,
       count(*) FILTER (WHERE route = 'resolved') AS resolved_items,
       coalesce(sum(recovered_amount) FILTER (WHERE route = 'resolved'), 0) AS recovered_amount
FROM work_queue
GROUP BY payer_name
ORDER BY open_expected_recovery DESC, payer_name;
