"""Reads behind the events page, the gateway page (history, uptime, rejections) and the overview's offline list."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries import fleet, fleet_devices
from tds_dash.queries.fleet import Page
from tds_dash.queries.scope import IN_SCOPE, Scope

EVENT_KINDS = ("gateway_offline", "gateway_online", "gateway_flapping", "device_silent", "device_back",
               "rejected_burst")
# Events of unknown accounts (bursts from unregistered traffic) are visible to all-accounts viewers only.
_EVENT_SCOPE = "(e.account_id " + IN_SCOPE + " OR (e.account_id IS NULL AND :all_accounts))"
_EVENTS_FROM = (
    " FROM fleet_events e LEFT JOIN gateways g ON g.id = e.gateway_id LEFT JOIN devices d ON d.id = e.device_id"
    " LEFT JOIN accounts a ON a.id = e.account_id WHERE " + _EVENT_SCOPE
    + " AND (CAST(:account_id AS bigint) IS NULL OR e.account_id = :account_id)"
    " AND (CAST(:gateway_id AS bigint) IS NULL OR e.gateway_id = :gateway_id)"
    " AND e.kind = ANY(:kinds) AND e.last_at >= :start AND e.at < :end"
)
_EVENTS = sa.text(
    "SELECT e.id, e.kind, e.reason, e.at, e.last_at, e.count, e.state, e.evidence_at, e.interval_s, e.detail,"
    " coalesce(g.serial, e.gateway_serial) AS gateway, e.gateway_id, g.inactivity_timeout_s AS timeout_s,"
    " d.code AS device, e.device_id, a.name AS account" + _EVENTS_FROM
    + " ORDER BY e.at DESC, e.id DESC LIMIT :limit OFFSET :offset"
)


def list_events_page(conn: Connection, scope: Scope, start: datetime, end: datetime, *,
                     account_id: int | None = None, gateway_id: int | None = None, kinds=None,
                     offset: int = 0, limit: int = 25) -> Page:
    """Events overlapping [start, end), newest first, filtered by account, gateway and kind."""
    chosen = [k for k in (kinds or EVENT_KINDS) if k in EVENT_KINDS] or list(EVENT_KINDS)
    params = {**scope.params(), "account_id": account_id, "gateway_id": gateway_id, "kinds": chosen,
              "start": start, "end": end, "offset": max(0, offset), "limit": max(1, min(limit, 500))}
    total = conn.execute(sa.text("SELECT count(*)" + _EVENTS_FROM), params).scalar_one()
    return Page([dict(row) for row in conn.execute(_EVENTS, params).mappings()], total)


_GATEWAY_SCOPE = " AND gateway_id IN (SELECT id FROM gateways WHERE account_id " + IN_SCOPE + ")"
_HISTORY = sa.text(
    "SELECT status, reason, started_at, ended_at FROM gateway_presence WHERE gateway_id = :gateway_id"
    + _GATEWAY_SCOPE + " ORDER BY started_at DESC, id DESC LIMIT :limit"
)


def gateway_history(conn: Connection, scope: Scope, gateway_id: int, limit: int = 30) -> list[dict]:
    """The gateway's online/offline intervals, newest first; the current one has no end."""
    return [dict(row) for row in conn.execute(_HISTORY, {**scope.params(), "gateway_id": gateway_id,
                                                         "limit": limit}).mappings()]


# Seconds online and seconds with a known state, per window; time before the gateway was first seen
# is not counted, so a gateway installed yesterday is not '3% up' over 30 days.
_UPTIME = sa.text(
    "SELECT w.seconds,"
    " sum(extract(epoch FROM least(coalesce(p.ended_at, :now), :now)"
    "     - greatest(p.started_at, :now - w.seconds * interval '1 second'))) FILTER (WHERE p.status = 'online')"
    "   AS online_s,"
    " sum(extract(epoch FROM least(coalesce(p.ended_at, :now), :now)"
    "     - greatest(p.started_at, :now - w.seconds * interval '1 second'))) AS known_s"
    " FROM unnest(CAST(:windows AS integer[])) AS w(seconds)"
    " JOIN gateway_presence p ON p.gateway_id = :gateway_id AND p.started_at < :now"
    "  AND coalesce(p.ended_at, :now) > :now - w.seconds * interval '1 second'"
    " WHERE p.gateway_id IN (SELECT id FROM gateways WHERE account_id " + IN_SCOPE + ")"
    " GROUP BY w.seconds"
)
UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def uptime(conn: Connection, scope: Scope, gateway_id: int, now: datetime) -> dict[str, float | None]:
    """Share of monitored time online over 24 h, 7 d and 30 d (None: no known state in the window)."""
    seconds = {label: int(span.total_seconds()) for label, span in UPTIME_WINDOWS.items()}
    rows = conn.execute(_UPTIME, {**scope.params(), "gateway_id": gateway_id, "now": now,
                                  "windows": list(seconds.values())}).all()
    by_window = {row.seconds: (float(row.online_s or 0), float(row.known_s or 0)) for row in rows}
    result = {}
    for label, window in seconds.items():
        online, known = by_window.get(window, (0.0, 0.0))
        result[label] = online / known if known > 0 else None
    return result


_MONITORED_SINCE = sa.text(
    "SELECT min(p.started_at) FROM gateway_presence p WHERE p.gateway_id = :gateway_id"
    " AND p.gateway_id IN (SELECT id FROM gateways WHERE account_id " + IN_SCOPE + ")"
)


def monitored_since(conn: Connection, scope: Scope, gateway_id: int) -> datetime | None:
    """When the gateway's first known state began (uptime counts from there), or None."""
    return conn.execute(_MONITORED_SINCE, {**scope.params(), "gateway_id": gateway_id}).scalar_one()


# Only messages under the gateway's own account's topic: another account's topic naming this serial is
# that account's traffic, and its payloads must not show on this gateway's page.
_REJECTIONS = sa.text(
    "SELECT r.received_at, r.reason, r.detail, r.readings_rejected, r.readings_accepted, r.topic"
    " FROM rejected_messages r JOIN gateways g ON g.serial = r.gateway_serial"
    " JOIN accounts a ON a.id = g.account_id AND a.slug = r.account_slug"
    " WHERE g.id = :gateway_id AND g.account_id " + IN_SCOPE + " ORDER BY r.received_at DESC LIMIT :limit"
)


def gateway_rejections(conn: Connection, scope: Scope, gateway_id: int, limit: int = 20) -> list[dict]:
    """Newest rejected messages whose topic named this gateway's account and serial."""
    return [dict(row) for row in conn.execute(_REJECTIONS, {**scope.params(), "gateway_id": gateway_id,
                                                            "limit": limit}).mappings()]


_OFFLINE = sa.text(
    "SELECT g.id, g.serial, g.name, a.name AS account, g.status_since, g.status_reason, g.last_seen_at"
    " FROM gateways g JOIN accounts a ON a.id = g.account_id WHERE g.account_id " + IN_SCOPE
    + " AND g.active AND g.status = 'offline' AND (CAST(:gateway_id AS bigint) IS NULL OR g.id = :gateway_id)"
    " ORDER BY g.status_since DESC, g.serial LIMIT :limit"
)


def offline_gateways(conn: Connection, scope: Scope, gateway_id: int | None = None, limit: int = 20) -> list[dict]:
    """Active gateways the presence job declared offline, most recent first."""
    return [dict(row) for row in conn.execute(_OFFLINE, {**scope.params(), "gateway_id": gateway_id,
                                                         "limit": limit}).mappings()]


def fetch_gateway_page(conn: Connection, scope: Scope, serial: str, now: datetime) -> dict | None:
    """Everything the gateway page shows, or None when the serial is unknown or out of scope."""
    gateway = fleet.get_gateway(conn, scope, now, serial=serial)
    if gateway is None:
        return None
    devices = fleet_devices.list_devices_page(conn, scope, gateway_id=gateway["id"], limit=200)
    return {"gateway": gateway, "devices": devices.rows, "history": gateway_history(conn, scope, gateway["id"]),
            "uptime": uptime(conn, scope, gateway["id"], now),
            "monitored_since": monitored_since(conn, scope, gateway["id"]),
            "rejections": gateway_rejections(conn, scope, gateway["id"])}
