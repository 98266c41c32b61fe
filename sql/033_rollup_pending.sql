-- Rollups off the commit path (issue 17): the writer commits raw readings and records here, in the same
-- transaction, which (device, metric) keys changed and from when; the rollup worker merges them in
-- larger passes (once per key per pass, not per batch) and deletes what it merged. A crash between the
-- two loses nothing: the rows stay until a pass commits. A pass first claims keys in a statement of its
-- own (row locks for milliseconds: a writer never waits for a merge), merges them, and at its end deletes
-- the rows no writer touched since the claim; a touched row moves on to `next_from`, the earliest
-- reading written since the claim, so a hot key's range does not grow pass after pass.
CREATE TABLE rollup_pending (
    device_id  bigint      NOT NULL,
    metric_id  smallint    NOT NULL,
    from_ts    timestamptz NOT NULL,              -- earliest new reading not yet in the rollups
    queued_at  timestamptz NOT NULL DEFAULT now(), -- first commit still waiting: the lag a pass reports
    version    bigint      NOT NULL DEFAULT 0,     -- +1 on every batch touching the key
    next_from  timestamptz,                        -- earliest new reading since the last claim (NULL: none)
    PRIMARY KEY (device_id, metric_id)
) WITH (fillfactor = 70);  -- updated in place by every batch touching the key (HOT updates)

CREATE INDEX rollup_pending_queued ON rollup_pending (queued_at);
