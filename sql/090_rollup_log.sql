-- 090_rollup_log: changed keys appended by the writers, folded by the rollup worker (issue 17).
-- rollup_pending (sql/033) had one row per (device, metric) that every batch upserted: two writers on
-- one stream updated the same ~1,000 rows per batch and waited for each other's commit on their row
-- locks (Lock:transactionid in 42 % of a writer's samples, bench/RESULTS.md), and a writer upserting a
-- key the worker was finishing waited for the pass. Here a writer only appends, in the batch's own
-- transaction, one row per key with new readings; no unique index, no conflict target, so concurrent
-- writers and the worker never touch the same row. The worker (one pass at a time across processes)
-- takes rows in one REPEATABLE READ transaction — deletes a bounded set, folds them to one key each
-- (earliest from_ts), merges, commits — so a pass that fails leaves its rows for the next one, and the
-- merge sees exactly the readings committed with the rows it took (those committed later stay logged).
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE rollup_log (
    device_id  bigint      NOT NULL,
    metric_id  smallint    NOT NULL,
    from_ts    timestamptz NOT NULL,               -- earliest new reading of the key in that batch
    queued_at  timestamptz NOT NULL DEFAULT now()  -- the batch's transaction: the lag a pass reports
);  -- no index: only ever read whole (in bounded slices) by the worker, deleted as it is read

-- Keys still waiting under the old protocol: from the earliest reading not yet merged.
INSERT INTO rollup_log (device_id, metric_id, from_ts, queued_at)
SELECT device_id, metric_id, least(from_ts, coalesce(next_from, from_ts)), queued_at FROM rollup_pending;
DROP TABLE rollup_pending;
