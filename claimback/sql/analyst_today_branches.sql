-- Where is money waiting today, branch by branch? One row per branch of the payer's decision tree, in a fixed order: denials and take-backs to work (open work-queue items we must file), silent claims (sent, no 835 past the payer's window: ask for their status), front-door rejections (the payer never accepted the claim: fix and send it again), lonely payments (835s answering no claim we sent: post them), underpayments, and payer overdue (requests filed and not decided by the payer's decision time: chase them); each with its items, its dollars and what those dollars are, the recovery still to expect, and the nearest deadline still ahead.
CREATE OR REPLACE VIEW analyst_today_branches AS
WITH queue AS (
    SELECT *,
           CASE
               WHEN route = 'claim_status_inquiry' THEN 'silent claims'
               WHEN category = 'front_door_rejection' THEN 'front-door rejections'
               -- paid lines allowed below the contract (or the payer's usual amount), still to dispute
               WHEN category = 'underpayment' AND route NOT IN ('expired', 'resolved')
                    AND NOT coalesce(awaiting_payer, false) THEN 'underpayments'
               WHEN coalesce(awaiting_payer, false) AND days_left < 0
                    AND route IN ('level1_reconsideration', 'level2_dispute') THEN 'payer overdue'
               WHEN route NOT IN ('expired', 'resolved') AND NOT coalesce(awaiting_payer, false)
                    AND route <> 'bill_patient' THEN 'denials and take-backs to work'
           END AS branch
    FROM work_queue
),
branches (branch_order, branch, dollars_are) AS (
    VALUES (1, 'denials and take-backs to work', 'denied or taken back'),
           (2, 'silent claims', 'billed'),
           (3, 'front-door rejections', 'billed'),
           (4, 'lonely payments', 'paid, on no claim of ours'),
           (5, 'underpayments', 'short of the expected allowed amount'),
           (6, 'payer overdue', 'denied, decision overdue')
),
counted AS (
    SELECT branch, count(*) AS items, sum(denied_amount) AS dollars, sum(expected_recovery) AS expected_recovery,
           min(deadline) FILTER (WHERE days_left >= 0) AS next_deadline
    FROM queue
    WHERE branch IS NOT NULL
    GROUP BY branch
    UNION ALL
    SELECT 'lonely payments', count(*), sum(paid_amount), NULL, NULL
    FROM lonely_payments
)
SELECT b.branch,
       coalesce(c.items, 0) AS items,
       coalesce(c.dollars, 0) AS dollars,
       b.dollars_are,
       c.expected_recovery,
       c.next_deadline
FROM branches AS b
LEFT JOIN counted AS c USING (branch)
ORDER BY b.branch_order;
