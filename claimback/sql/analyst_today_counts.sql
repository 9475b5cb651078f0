-- How does today stand, in a few numbers? Items due in the next 7 days, our own deadlines already past (past_our_deadline: open items whose window is a default or unconfirmed rule, still worth filing after checking the payer's manual; past_confirmed_deadline: claims lost to a confirmed window, route expired), claims awaiting the payer and the payer's decisions overdue (kept apart from ours), the recovery still to expect from open work (expired and resolved claims excluded), and flagged payer trends.
CREATE OR REPLACE VIEW analyst_today_counts AS
SELECT (SELECT count(*) FROM analyst_today) AS due_this_week,
       count(*) FILTER (WHERE route NOT IN ('expired', 'resolved') AND NOT coalesce(awaiting_payer, false)
                        AND days_left < 0) AS past_our_deadline,
       count(*) FILTER (WHERE route = 'expired') AS past_confirmed_deadline,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false)) AS awaiting_payer,
       count(*) FILTER (WHERE coalesce(awaiting_payer, false) AND days_left < 0) AS payer_decision_overdue,
       coalesce(sum(expected_recovery) FILTER (WHERE route NOT IN ('expired', 'resolved')), 0) AS open_expected_recovery,
       (SELECT count(*) FROM trend_clusters WHERE status = 'flagged') AS flagged_trends
FROM work_queue;
