-- Unmapped keys per instrumentation scope (library name and version), so an operator sees
-- which library sends what we do not read. Keys counted before this have scope ''.
CREATE TABLE ingest_unmapped_keys_scoped (
    tenant         VARCHAR NOT NULL,
    scope_name     VARCHAR NOT NULL,
    scope_version  VARCHAR NOT NULL,
    key            VARCHAR NOT NULL,
    spans          BIGINT NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, scope_name, scope_version, key)
);
INSERT INTO ingest_unmapped_keys_scoped SELECT tenant, '', '', key, spans, last_seen FROM ingest_unmapped_keys;
DROP TABLE ingest_unmapped_keys;
ALTER TABLE ingest_unmapped_keys_scoped RENAME TO ingest_unmapped_keys;
