-- migrate: no-transaction
-- migrate: parameters
-- 081_fleet_rollup_views: on TimescaleDB the fleet rollups (sql/080's tables) become hierarchical
-- continuous aggregates of the same names and columns (tds_create_fleet_views, cut in the deployment's
-- zone, {timezone} bound by tds_dash/migrate.py), then are materialized from what readings hold.
-- Outside a transaction because refreshing an aggregate cannot run inside one; safe to run again.
SELECT tds_create_fleet_views({timezone});
CALL refresh_continuous_aggregate('fleet_hourly', NULL, NULL);
CALL refresh_continuous_aggregate('fleet_daily', NULL, NULL);
CALL refresh_continuous_aggregate('fleet_monthly', NULL, NULL);
