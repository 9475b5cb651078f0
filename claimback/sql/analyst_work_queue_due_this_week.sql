-- What must be filed (or chased) in the next 7 days? Open work-queue items whose deadline falls within a week of the run's as-of date, most valuable first within each day.
CREATE OR REPLACE VIEW analyst_work_queue_due_this_week AS
SELECT deadline,
       days_left,
       route,
       payer_name,
       patient_control_number,
       payer_claim_control_number,
       category,
       primary_reason,
       denied_amount,
       expected_recovery,
       round(overturn_probability, 2) AS overturn_probability,
       round(priority, 2) AS priority,
       awaiting_payer,
       claim_frequency_to_send,
       trend_cluster_id,
       reason
FROM work_queue
WHERE route NOT IN ('expired', 'resolved')
  AND deadline IS NOT NULL
  AND days_left BETWEEN 0 AND 7
ORDER BY deadline, work_queue.priority DESC;
