-- How much denied money do we win back? Per payer, from the remit history (table adjudications: every adjudication with its denial status): claims ever denied and their denied dollars, claims recovered (once denied, latest adjudication pays more than the denied one did) and recovered dollars, and what is still denied.
CREATE OR REPLACE VIEW analyst_denied_and_recovered_dollars AS
WITH denied_steps AS (
    SELECT claim_id,
           arg_min(denied_amount, adjudication_seq) AS first_denied_amount,
           arg_max(paid_amount, adjudication_seq) AS paid_when_denied,
           max(adjudication_seq) AS last_denied_seq
    FROM adjudications
    WHERE is_denied
    GROUP BY claim_id
),
claims AS (
    SELECT l.payer_name,
           ds.first_denied_amount,
           l.is_denied AS still_denied,
           l.denied_amount AS still_denied_amount,
           (NOT l.is_denied AND NOT l.is_reversal AND l.adjudication_seq > ds.last_denied_seq
               AND l.paid_amount > ds.paid_when_denied) AS recovered,
           greatest(l.paid_amount - ds.paid_when_denied, 0) AS recovered_amount
    FROM denied_steps AS ds
    JOIN adjudications AS l ON l.claim_id = ds.claim_id AND l.is_latest
)
SELECT payer_name,
       count(*) AS claims_ever_denied,
       sum(first_denied_amount)::DECIMAL(14, 2) AS denied_amount,
       count(*) FILTER (WHERE recovered) AS recovered_claims,
       coalesce(sum(recovered_amount) FILTER (WHERE recovered), 0)::DECIMAL(14, 2) AS recovered_amount,
       count(*) FILTER (WHERE still_denied) AS still_denied_claims,
       coalesce(sum(still_denied_amount) FILTER (WHERE still_denied), 0)::DECIMAL(14, 2)
           AS still_denied_amount,
       round(count(*) FILTER (WHERE recovered) / count(*), 4) AS recovered_claim_rate
FROM claims
GROUP BY payer_name
ORDER BY denied_amount DESC, payer_name;
