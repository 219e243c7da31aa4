-- Service tiers (OpenAI priority / flex, batch): their per-token prices, and the tier a span ran in.
ALTER TABLE price_versions ADD COLUMN input_price_priority DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN output_price_priority DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN cache_read_price_priority DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN input_price_flex DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN output_price_flex DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN cache_read_price_flex DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN input_price_batch DECIMAL(38, 18);
ALTER TABLE price_versions ADD COLUMN output_price_batch DECIMAL(38, 18);
-- priority | flex | batch, from the span's service-tier attribute; NULL: standard
ALTER TABLE cost_lines ADD COLUMN service_tier VARCHAR;
