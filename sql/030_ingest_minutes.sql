-- 030_ingest_minutes: per-minute ingest figures for the Ingest page, written by each ingest process.
-- Durable (not an in-process buffer) because the page may be served by a process that does not ingest,
-- several processes may ingest at once (their rows add up), and the last hour survives a restart.
-- Pruned with rejected_messages by the scheduler (TDS_REJECTED_RETENTION_DAYS).
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE ingest_minutes (
    minute              timestamptz NOT NULL,  -- start of the UTC minute
    process             text NOT NULL,         -- host:pid of the ingest process
    received            integer NOT NULL DEFAULT 0,  -- messages handed over by the broker
    messages            integer NOT NULL DEFAULT 0,  -- messages committed (stored or recorded as rejected)
    acknowledged        integer NOT NULL DEFAULT 0,  -- PUBACKs sent after commit
    readings_stored     integer NOT NULL DEFAULT 0,
    readings_duplicate  integer NOT NULL DEFAULT 0,  -- already stored (redeliveries, resends)
    rejected            integer NOT NULL DEFAULT 0,  -- rejected_messages rows written
    batches             integer NOT NULL DEFAULT 0,
    commit_ms_sum       double precision NOT NULL DEFAULT 0,
    commit_ms_max       double precision NOT NULL DEFAULT 0,
    batch_readings_max  integer NOT NULL DEFAULT 0,
    queue_depth_max     integer NOT NULL DEFAULT 0,
    seq_gaps            bigint NOT NULL DEFAULT 0,   -- messages missing by the gateways' sequence numbers
    -- Up to 10 gateways per row with the largest delay (commit time - message ts):
    -- [{"gateway", "messages", "delay_ms_sum", "delay_ms_max"}]
    slowest_gateways    jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (minute, process)
);
