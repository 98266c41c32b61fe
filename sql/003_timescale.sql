-- 003_timescale: when the timescaledb extension is installable, readings become a hypertable
-- with 1-day chunks (the seed's plan). On plain PostgreSQL this file changes nothing.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('readings', 'ts', chunk_time_interval => interval '1 day', migrate_data => true);
    END IF;
END
$$;
