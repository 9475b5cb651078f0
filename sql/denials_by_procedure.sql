-- Which procedures get denied? Per procedure code on denied lines: denied claims, denied dollars on those lines, and the most common denial reason.
CREATE OR REPLACE VIEW denials_by_procedure AS
WITH denied_procedures AS (
    SELECT d.claim_key, d.primary_reason, unnest(d.procedure_codes) AS procedure_code
    FROM denials AS d
),
line_dollars AS (
    -- denying adjustments (the claim's own denial reasons) on lines billed with a denied procedure
    SELECT d.claim_key, l.procedure_code, sum(a.amount) AS denied_amount
    FROM denials AS d
    JOIN remit_adjustments AS a ON a.claim_key = d.claim_key AND a.line_number IS NOT NULL
    JOIN remit_service_lines AS l ON l.claim_key = a.claim_key AND l.line_number = a.line_number
    WHERE list_contains(d.reason_codes, a.group_code || '-' || a.reason_code)
      AND list_contains(d.procedure_codes, l.procedure_code)
    GROUP BY d.claim_key, l.procedure_code
)
SELECT p.procedure_code,
       count(DISTINCT p.claim_key) AS denied_claims,
       coalesce(sum(ld.denied_amount), 0)::DECIMAL(14, 2) AS denied_amount,
       mode(p.primary_reason) AS most_common_reason
FROM denied_procedures AS p
LEFT JOIN line_dollars AS ld USING (claim_key, procedure_code)
GROUP BY p.procedure_code
ORDER BY denied_claims DESC, denied_amount DESC, p.procedure_code;
