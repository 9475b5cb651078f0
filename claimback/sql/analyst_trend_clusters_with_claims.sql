-- Which claims make up each payer trend, and what does each one look like? One row per cluster member: the cluster (payer, signature, status, size, dollars, description) beside the claim's own identifiers, dates, codes and amounts, example claim first.
CREATE OR REPLACE VIEW analyst_trend_clusters_with_claims AS
SELECT c.cluster_id,
       c.status,
       c.payer_name,
       c.payer_id,
       c.signature,
       c.category,
       c.claim_count,
       c.denied_amount AS cluster_denied_amount,
       c.first_remit_date AS cluster_first_remit_date,
       c.last_remit_date AS cluster_last_remit_date,
       c.description,
       m.claim_key,
       m.patient_control_number,
       m.claim_key = c.example_claim_key AS is_example_claim,
       d.payer_claim_control_number,
       d.service_date,
       d.remit_date,
       d.primary_reason,
       d.reason_codes,
       d.remark_codes,
       d.procedure_codes,
       d.rendering_npi,
       d.place_of_service,
       d.charge_amount,
       d.denied_amount,
       d.fixable_by
FROM trend_clusters AS c
JOIN trend_cluster_claims AS m USING (cluster_id)
LEFT JOIN denials AS d ON d.claim_key = m.claim_key
ORDER BY c.status = 'flagged' DESC, c.denied_amount DESC, c.cluster_id, is_example_claim DESC, m.patient_control_number;
