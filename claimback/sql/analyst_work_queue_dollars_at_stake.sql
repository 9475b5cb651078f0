-- How much money is at stake, and how soon is it lost? Denied and expected-recovery dollars by time left to act (past an unconfirmed deadline, overdue decision, due in 0-7 / 8-30 / 31-90 / 90+ days), next to what is awaiting the payer, the patient's to bill, already lost to expired windows, and already recovered (expected recovery counts only what can still come back: none for expired or resolved claims).
CREATE OR REPLACE VIEW analyst_work_queue_dollars_at_stake AS
WITH bucketed AS (
    SELECT *,
           CASE
               WHEN route = 'resolved' THEN 8
               WHEN route = 'expired' THEN 7
               WHEN coalesce(awaiting_payer, false) AND days_left < 0 THEN 5
               WHEN coalesce(awaiting_payer, false) THEN 6
               WHEN route = 'bill_patient' THEN 10
               WHEN deadline IS NULL THEN 9
               WHEN days_left < 0 THEN 0
               WHEN days_left <= 7 THEN 1
               WHEN days_left <= 30 THEN 2
               WHEN days_left <= 90 THEN 3
               ELSE 4
           END AS sort_order
    FROM work_queue
),
buckets (sort_order, time_left) AS (
    VALUES (0, 'act: past an unconfirmed deadline (verify)'),
           (1, 'act: due in 0-7 days'),
           (2, 'act: due in 8-30 days'),
           (3, 'act: due in 31-90 days'),
           (4, 'act: due in 90+ days'),
           (5, 'awaiting payer: decision overdue'),
           (6, 'awaiting payer'),
           (7, 'lost: window closed'),
           (8, 'recovered'),
           (9, 'no deadline (appeals exhausted)'),
           (10, 'patient to bill')
)
SELECT time_left,
       count(*) AS items,
       coalesce(sum(denied_amount), 0) AS denied_amount,
       coalesce(sum(expected_recovery) FILTER (WHERE route NOT IN ('expired', 'resolved')), 0) AS expected_recovery,
       coalesce(sum(recovered_amount), 0) AS recovered_amount,
       count(DISTINCT payer_name) AS payers
FROM bucketed
JOIN buckets USING (sort_order)
GROUP BY time_left, sort_order
ORDER BY sort_order;
