-- Which claims did we send that the payer never answered? One row per silent claim (an 837 with no 835 and no front-door rejection, older than the payer's processing window): payer, practice, claim number, date of service, billed dollars, when it was sent, how long it has been silent against the payer's window, and the last day it can be sent again (the payer's timely-filing limit), the nearest deadline first.
CREATE OR REPLACE VIEW analyst_silent_claims AS
SELECT payer_name,
       payer_id,
       practice_key,
       patient_control_number,
       service_date,
       billed_amount,
       submitted_on,
       submission_count,
       days_silent,
       window_days,
       deadline,
       days_left,
       deadline_confirmed,
       payer_rule,
       source_file,
       submitted_claim_key
FROM silent_claims
ORDER BY deadline, billed_amount DESC, patient_control_number;
