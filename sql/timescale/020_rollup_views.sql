-- migrate: no-transaction
-- migrate: parameters
-- 020_rollup_views: on TimescaleDB the rollups (sql/002's tables) become continuous aggregates of the
-- same names and columns, cut in the deployment's zone ({timezone} is bound by tds_dash/migrate.py as
-- a quoted literal). Outside a transaction because refreshing an aggregate cannot run inside one;
-- every statement is safe to run again if a later one failed.
SELECT tds_rebuild_rollups({timezone});
-- Materialize what readings already hold (a database converted from plain PostgreSQL).
CALL refresh_continuous_aggregate('consumption_hourly', NULL, NULL);
CALL refresh_continuous_aggregate('consumption_daily', NULL, NULL);
CALL refresh_continuous_aggregate('consumption_monthly', NULL, NULL);
