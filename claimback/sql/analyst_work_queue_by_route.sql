-- What kind of work is in the queue? Per route (corrected claim, Level I, Level II, clinical appeal, rebill, trend report, expired, resolved): items, denied dollars, the recovery still to expect (none for expired or resolved claims), the nearest deadline still ahead, how many are due within 7 days, and — kept apart — our own deadlines already past and the payer's decisions overdue.
CREATE OR REPLACE VIEW analyst_work_queue_by_route AS
SELECT route,
       count(*) AS items,
       coalesce(sum(denied_amount), 0) AS denied_amount,
       -- an expired window recovers nothing more, a resolved claim already came back
       coalesce(sum(expected_recovery) FILTER (WHERE route NOT IN ('expired', 'resolved')), 0) AS expected_recovery,
       round(avg(overturn_probability), 2) AS avg_overturn_probability,
       min(deadline) FILTER (WHERE days_left >= 0 AND route NOT IN ('expired', 'resolved')) AS next_deadline,
       count(*) FILTER (WHERE days_left BETWEEN 0 AND 7 AND route NOT IN ('expired', 'resolved')) AS due_within_7_days,
       -- ours: something we still had to file whose window has passed, the payer's: a decision it owes us
       count(*) FILTER (WHERE days_left < 0 AND route NOT IN ('expired', 'resolved')
                        AND NOT coalesce(awaiting_payer, false)) AS past_our_deadline,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false)) AS awaiting_payer_decision,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false) AND days_left < 0) AS payer_decision_overdue,
       count(DISTINCT payer_name) AS payers
FROM work_queue
GROUP BY route
ORDER BY expected_recovery DESC, route;
