-- What kind of work is in the queue? Per route (corrected claim, Level I, Level II, clinical appeal, rebill, trend report, expired, resolved): items, denied and expected-recovery dollars, the nearest deadline, and how many are due within 7 days or already overdue.
CREATE OR REPLACE VIEW work_queue_by_route AS
SELECT route,
       count(*) AS items,
       coalesce(sum(denied_amount), 0) AS denied_amount,
       coalesce(sum(expected_recovery), 0) AS expected_recovery,
       avg(overturn_probability) AS avg_overturn_probability,
       min(deadline) FILTER (WHERE days_left >= 0) AS next_deadline,
       count(*) FILTER (WHERE days_left BETWEEN 0 AND 7) AS due_within_7_days,
       count(*) FILTER (WHERE days_left < 0) AS past_deadline,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false)) AS awaiting_payer_decision,
       count(DISTINCT payer_name) AS payers
FROM work_queue
GROUP BY route
ORDER BY expected_recovery DESC, route;
