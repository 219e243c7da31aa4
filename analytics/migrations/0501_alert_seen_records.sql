-- Alert records processed above the watermark (alert_cursor). Record ids come from a
-- sequence, and a writer may commit id N after id N+1 is visible; the pipeline keeps
-- the watermark below such a gap (until it is older than a grace period) and remembers
-- here which ids above it it has already processed, so none is skipped or repeated.
CREATE TABLE alert_seen_records (
    id          BIGINT PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL
);
