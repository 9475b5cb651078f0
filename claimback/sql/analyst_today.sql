-- What do I do today? Open work whose deadline falls in the next 7 days (what we must file, and the payer decisions falling due that we may have to chase), soonest deadline first and, within a day, the most valuable first (front-door rejections whose 837 is not in the inbox, so whose deadline is unknown, last): the route, payer, claim numbers, dollars, days left and the packet to send (a path inside the warehouse folder).
CREATE OR REPLACE VIEW analyst_today AS
WITH request AS (
    -- the pre-filled Level I / Level II request of a claim and route, when one was written (a request
    -- awaiting the payer or beyond the night's limit has a row saying why, and no PDF)
    SELECT claim_key, route, any_value(pdf_path) FILTER (WHERE status = 'written') AS pdf_path
    FROM request_packets
    GROUP BY claim_key, route
),
trend AS (
    SELECT cluster_id, any_value(pdf_path) AS pdf_path
    FROM trend_packets
    GROUP BY cluster_id
)
SELECT w.deadline,
       w.days_left,
       w.route,
       CASE WHEN coalesce(w.awaiting_payer, false) THEN 'payer decision due'
            WHEN w.route = 'claim_status_inquiry' THEN 'ask the claim''s status, resend by deadline'
            WHEN w.deadline IS NULL THEN 'fix and resend now: its 837 is not in the inbox, deadline unknown'
            ELSE 'file by deadline' END AS action,
       w.payer_name,
       w.patient_control_number,
       w.payer_claim_control_number,
       w.denied_amount,
       w.expected_recovery,
       round(w.overturn_probability, 2) AS overturn_probability,
       coalesce(r.pdf_path, t.pdf_path) AS packet
FROM work_queue AS w
LEFT JOIN request AS r ON r.claim_key = w.claim_key AND r.route = w.route
LEFT JOIN trend AS t ON t.cluster_id = w.trend_cluster_id AND w.route = 'trend_report'
WHERE w.route NOT IN ('expired', 'resolved')
  AND ((w.deadline IS NOT NULL AND w.days_left BETWEEN 0 AND 7)
       -- a rejected claim whose date of service nobody here knows: today, deadline last
       OR (w.deadline IS NULL AND w.category = 'front_door_rejection'))
ORDER BY w.deadline, w.priority DESC, w.patient_control_number;
