-- The deployment environment of the span a cost line prices, carried into the hourly
-- rollup, so spend can be filtered by environment like requests are. GPU cost rows
-- have none (a GPU serves every environment routed to it).
ALTER TABLE cost_lines ADD COLUMN environment VARCHAR;
ALTER TABLE cost_rollup_hourly ADD COLUMN environment VARCHAR;
