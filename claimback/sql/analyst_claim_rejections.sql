-- Which claims did the clearinghouse or the payer turn away at the front door, and are they still out? One row per claim a 999 or 277CA rejected: still-rejected claims first, oldest rejection first, with the practice, payer, claim number, date of service, billed dollars, the acknowledgment and its codes, the segment/element a 999 named, and the reason in plain words; a rejected claim never gets an 835, so it is worked from here (corrected and sent again before the timely-filing limit).
CREATE OR REPLACE VIEW analyst_claim_rejections AS
SELECT still_rejected,
       practice_key,
       payer_name,
       payer_id,
       patient_control_number,
       service_date,
       billed_amount,
       submitted_on,
       rejected_on,
       acknowledgment,
       array_to_string(status_codes, ', ') AS status_codes,
       error_location,
       reason,
       payer_claim_control_number,
       source_file,
       submitted_claim_key
FROM claim_rejections
ORDER BY still_rejected DESC, rejected_on, billed_amount DESC, patient_control_number;
