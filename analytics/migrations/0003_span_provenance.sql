-- Which instrumentation produced a span, whether it is a model call, and which stored
-- span it duplicates (the same call reported by two instrumentations).
ALTER TABLE spans ADD COLUMN scope_name VARCHAR;            -- instrumentation scope (library) name
ALTER TABLE spans ADD COLUMN scope_version VARCHAR;
ALTER TABLE spans ADD COLUMN is_inference BOOLEAN;          -- false: workflow / agent / tool / task / retrieval structure
ALTER TABLE spans ADD COLUMN response_id VARCHAR;           -- gen_ai.response.id / ai.response.id
ALTER TABLE spans ADD COLUMN input_includes_cache BOOLEAN;  -- from collector.token_semantics; NULL: provider default
ALTER TABLE spans ADD COLUMN duplicate_of VARCHAR;          -- span_id of the inference row this span duplicates
ALTER TABLE spans ADD COLUMN deduped_at TIMESTAMP;          -- when duplicate_of last changed (jobs re-read from it)
UPDATE spans SET is_inference = (vocabulary = 'inference_service' OR operation IS NULL
    OR operation NOT IN ('invoke_workflow', 'invoke_agent', 'create_agent', 'execute_tool', 'task', 'retrieval'));

