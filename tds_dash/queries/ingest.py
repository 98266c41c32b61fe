"""Reads behind the Ingest and Rejected pages: per-minute ingest figures, rejections, slowest gateways."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import IN_SCOPE, Scope

MINUTE_COLUMNS = ("received", "messages", "acknowledged", "readings_stored", "readings_duplicate", "rejected",
                  "batches", "commit_ms_sum", "commit_ms_max", "batch_readings_max", "queue_depth_max", "seq_gaps")

# Every minute of the window, zeros where no process recorded anything (an idle or stopped ingest).
# Sums over processes; maxima are the largest of any process.
_MINUTES = sa.text(
    "SELECT s.minute, count(m.process) AS processes,"
    " coalesce(sum(m.received), 0) AS received, coalesce(sum(m.messages), 0) AS messages,"
    " coalesce(sum(m.acknowledged), 0) AS acknowledged, coalesce(sum(m.readings_stored), 0) AS readings_stored,"
    " coalesce(sum(m.readings_duplicate), 0) AS readings_duplicate, coalesce(sum(m.rejected), 0) AS rejected,"
    " coalesce(sum(m.batches), 0) AS batches, coalesce(sum(m.commit_ms_sum), 0) AS commit_ms_sum,"
    " coalesce(max(m.commit_ms_max), 0) AS commit_ms_max, coalesce(max(m.batch_readings_max), 0) AS batch_readings_max,"
    " coalesce(max(m.queue_depth_max), 0) AS queue_depth_max, coalesce(sum(m.seq_gaps), 0) AS seq_gaps"
    " FROM generate_series(date_trunc('minute', CAST(:since AS timestamptz)),"
    "                      date_trunc('minute', CAST(:until AS timestamptz)), interval '1 minute') AS s(minute)"
    " LEFT JOIN ingest_minutes m ON m.minute = s.minute"
    " GROUP BY s.minute ORDER BY s.minute"
)

# Rejections whose account is unknown (bad topic, unregistered account) are visible to all-account scopes only.
_REJECTIONS_BY_REASON = sa.text(
    "SELECT r.reason, count(*) AS messages, sum(r.readings_rejected) AS readings,"
    " count(*) FILTER (WHERE r.readings_accepted > 0) AS partial"
    " FROM rejected_messages r LEFT JOIN accounts a ON a.slug = r.account_slug"
    " WHERE r.received_at >= :since AND (:all_accounts OR a.id " + IN_SCOPE + ")"
    " GROUP BY r.reason ORDER BY count(*) DESC, r.reason"
)

# Each ingest_minutes row keeps its 10 slowest gateways; their merge over the window ranks gateways by
# their worst delay (commit time minus the message's own ts: network, broker backlog, gateway buffering or
# a wrong gateway clock).
_SLOWEST_GATEWAYS = sa.text(
    "SELECT g.serial, a.slug AS account, sum(s.messages) AS messages,"
    " sum(s.delay_ms_sum) / nullif(sum(s.messages), 0) AS delay_ms_avg, max(s.delay_ms_max) AS delay_ms_max,"
    " g.seq_gaps, g.last_seen_at"
    " FROM ingest_minutes m"
    " CROSS JOIN LATERAL jsonb_to_recordset(m.slowest_gateways)"
    "   AS s(gateway text, messages integer, delay_ms_sum double precision, delay_ms_max double precision)"
    " JOIN gateways g ON g.serial = s.gateway JOIN accounts a ON a.id = g.account_id"
    " WHERE m.minute >= date_trunc('minute', CAST(:since AS timestamptz)) AND g.account_id " + IN_SCOPE
    + " GROUP BY g.id, g.serial, a.slug ORDER BY max(s.delay_ms_max) DESC, g.serial LIMIT :limit"
)


def fetch_minutes(conn: Connection, scope: Scope, since: datetime, until: datetime) -> list[dict]:
    """Per-minute figures summed over ingest processes; system-wide, so only an all-accounts scope sees them."""
    if scope.account_ids is not None:
        return []
    return [dict(row) for row in conn.execute(_MINUTES, {"since": since, "until": until}).mappings()]


def fetch_rejections_by_reason(conn: Connection, scope: Scope, since: datetime) -> list[dict]:
    return [dict(row) for row in conn.execute(_REJECTIONS_BY_REASON, {**scope.params(), "since": since}).mappings()]


def fetch_slowest_gateways(conn: Connection, scope: Scope, since: datetime, limit: int = 10) -> list[dict]:
    return [dict(row) for row in
            conn.execute(_SLOWEST_GATEWAYS, {**scope.params(), "since": since, "limit": limit}).mappings()]


def fetch_ingest_page(conn: Connection, scope: Scope, since: datetime, until: datetime) -> dict:
    """Everything the Ingest page shows, in one transaction."""
    return {"minutes": fetch_minutes(conn, scope, since, until),
            "rejections": fetch_rejections_by_reason(conn, scope, since),
            "slowest": fetch_slowest_gateways(conn, scope, since)}


_REJECTED_LIST = sa.text(
    "SELECT r.id, r.received_at, r.topic, r.reason, r.detail, r.account_slug, r.gateway_serial,"
    " r.readings_rejected, r.readings_accepted, r.payload_size,"
    " substring(r.payload_excerpt from 1 for 300) AS excerpt"  # bytes: may be any encoding, decoded for display
    " FROM rejected_messages r LEFT JOIN accounts a ON a.slug = r.account_slug"
    " WHERE (:all_accounts OR a.id " + IN_SCOPE + ")"
    " AND (CAST(:reason AS text) IS NULL OR r.reason = :reason)"
    " AND (CAST(:gateway AS text) IS NULL OR r.gateway_serial = :gateway)"
    " ORDER BY r.id DESC LIMIT :limit"
)


def list_rejected(conn: Connection, scope: Scope, reason: str | None = None, gateway: str | None = None,
                  limit: int = 200) -> list[dict]:
    """Newest rejected messages in the scope, optionally of one reason or one gateway serial."""
    params = {**scope.params(), "reason": reason or None, "gateway": gateway or None, "limit": limit}
    return [dict(row) for row in conn.execute(_REJECTED_LIST, params).mappings()]
