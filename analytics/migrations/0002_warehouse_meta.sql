-- Which warehouse this file is: a random id made once, when the file is created (or first
-- migrated). The admin API reports it with the file's path, so a CLI pointed at another
-- file can tell that the running service holds a different warehouse.
CREATE TABLE warehouse_meta (
    warehouse_id VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL      -- UTC
);
INSERT INTO warehouse_meta VALUES (CAST(uuid() AS VARCHAR), now() AT TIME ZONE 'UTC');
