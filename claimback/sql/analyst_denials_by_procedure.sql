-- Which procedures get denied? Per procedure code on denied lines: denied claims, the denied dollars on those lines (from denial_lines, the adjustments that make each denial), and the most common denial reason.
CREATE OR REPLACE VIEW analyst_denials_by_procedure AS
WITH denied_procedures AS (
    SELECT claim_key, primary_reason, unnest(procedure_codes) AS procedure_code
    FROM denials
),
line_dollars AS (
    SELECT claim_key, procedure_code, sum(amount) AS denied_amount
    FROM denial_lines
    WHERE line_number IS NOT NULL
    GROUP BY claim_key, procedure_code
)
SELECT p.procedure_code,
       count(DISTINCT p.claim_key) AS denied_claims,
       coalesce(sum(ld.denied_amount), 0)::DECIMAL(14, 2) AS denied_amount,
       mode(p.primary_reason) AS most_common_reason
FROM denied_procedures AS p
LEFT JOIN line_dollars AS ld USING (claim_key, procedure_code)
GROUP BY p.procedure_code
ORDER BY denied_claims DESC, denied_amount DESC, p.procedure_code;
