-- 021_readings_compression: raw chunks can be compressed (the policy that does it, with the late-data
-- window from TDS_LATE_DATA_DAYS, is set at every start by tds_timescale_policies). Segments per device
-- and metric, newest first: the access path of rollup refreshes and device charts.
ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id, metric_id',
    timescaledb.compress_orderby = 'ts DESC'
);
