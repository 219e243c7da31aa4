-- How much of each GPU's time the samples cover, per device-hour: the time billed
-- (observed_s), the time inside coverage gaps (gap_s, never billed) and the sampling
-- interval learned from the device's own samples. Reconciliation reads it.
CREATE TABLE gpu_coverage (
    hour          TIMESTAMP NOT NULL,
    tenant        VARCHAR NOT NULL,
    host          VARCHAR,
    gpu_uuid      VARCHAR,
    gpu_model     VARCHAR,
    mig_profile   VARCHAR,
    mig_instance  VARCHAR,
    gpu_share     DOUBLE NOT NULL,     -- of a whole GPU; a MIG parent holds only its unsliced remainder
    observed_s    DOUBLE NOT NULL,     -- wall-clock seconds the samples stand for
    gap_s         DOUBLE NOT NULL,     -- seconds inside gaps longer than gpu_gap_factor x interval
    gaps          INTEGER NOT NULL,
    interval_s    DOUBLE NOT NULL
);
