"""Reads behind GET /api/health: aggregate counts only, never tenant data."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Planner estimates keep this O(1) on a table of hundreds of millions of rows.
_HEALTH = sa.text(
    "SELECT"
    " (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'readings'::regclass) AS readings_estimate,"
    " (SELECT EXISTS (SELECT 1 FROM readings)) AS has_readings,"
    " (SELECT max(last_seen_at) FROM gateways) AS last_message_at,"
    " (SELECT max(r.ts) FROM accounts a CROSS JOIN LATERAL (SELECT ts FROM readings x WHERE x.account_id = a.id"
    "   ORDER BY x.ts DESC LIMIT 1) r) AS last_reading_at,"
    " (SELECT count(*) FROM rejected_messages) AS rejected_total"
)


HEALTH_TIMEOUT_MS = 2000  # a health check that cannot answer in 2 s reports the database as unreachable


def fetch_health(conn: Connection) -> dict:
    """One cheap statement under a short timeout (lock waits included), in the caller's transaction."""
    conn.execute(sa.text(f"SET LOCAL statement_timeout = {HEALTH_TIMEOUT_MS}"))
    return dict(conn.execute(_HEALTH).mappings().one())
