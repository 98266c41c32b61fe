"""Scoped reads and writes behind the alarms page and API: alarms, rules, channels, delivery log."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.alarms.model import STATES as _ALL_STATES
from tds_dash.alarms.rules import SEVERITIES as _ALL_SEVERITIES
from tds_dash.queries.scope import IN_SCOPE, Scope

_EPOCH, _FOREVER = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9999, 1, 1, tzinfo=timezone.utc)

# System rows (no account: the ingest rule, the admins' channels) are visible to all-accounts viewers only.
_SCOPED = "({t}.account_id " + IN_SCOPE + " OR ({t}.account_id IS NULL AND :all_accounts))"
_ALARMS = sa.text(
    "SELECT a.id, a.rule_id, r.name AS rule, a.kind, a.severity, a.account_id, acc.name AS account, a.subject,"
    " g.serial AS gateway, d.code AS device, m.name AS metric, a.started_at, a.raised_at, a.last_at, a.count,"
    " a.suppressed, a.value, a.threshold, a.detail, a.acked_at, a.acked_by, a.ack_comment, a.cleared_at,"
    " a.cleared_by, a.clear_comment,"
    " (CASE WHEN a.cleared_at IS NULL THEN 'active' ELSE 'cleared' END)"
    "   || (CASE WHEN a.acked_at IS NULL THEN '_unack' ELSE '_ack' END) AS state"
    " FROM alarms a JOIN alarm_rules r ON r.id = a.rule_id LEFT JOIN accounts acc ON acc.id = a.account_id"
    " LEFT JOIN gateways g ON g.id = a.gateway_id LEFT JOIN devices d ON d.id = a.device_id"
    " LEFT JOIN metrics m ON m.id = a.metric_id WHERE " + _SCOPED.format(t="a")
    + " AND (CAST(:account_id AS bigint) IS NULL OR a.account_id = :account_id)"
    " AND (CAST(:alarm_id AS bigint) IS NULL OR a.id = :alarm_id)"
    " AND (CAST(:rule_id AS bigint) IS NULL OR a.rule_id = :rule_id)"
    " AND (CAST(:device_id AS bigint) IS NULL OR a.device_id = :device_id)"
    # A gateway's alarms and its devices' (a per-device consumption alarm names only the device).
    " AND (CAST(:gateway AS text) IS NULL OR EXISTS (SELECT 1 FROM gateways gs WHERE gs.serial = :gateway"
    "   AND gs.id = coalesce(a.gateway_id, d.gateway_id)))"
    " AND a.severity = ANY(:severities) AND a.raised_at < :end AND coalesce(a.cleared_at, :end) >= :start"
    " AND ((CASE WHEN a.cleared_at IS NULL THEN 'active' ELSE 'cleared' END)"
    "   || (CASE WHEN a.acked_at IS NULL THEN '_unack' ELSE '_ack' END)) = ANY(:states)"
    " ORDER BY a.cleared_at IS NOT NULL, array_position(ARRAY['critical','major','minor','warning'], a.severity),"
    " a.raised_at DESC, a.id DESC LIMIT :limit"
)
_COUNTS = sa.text("SELECT severity, count(*) FROM alarms a WHERE cleared_at IS NULL AND " + _SCOPED.format(t="a")
                  + " GROUP BY severity")


def list_alarms(conn: Connection, scope: Scope, *, states: list[str], severities: list[str], start: datetime,
                end: datetime, account_id: int | None = None, rule_id: int | None = None,
                alarm_id: int | None = None, limit: int = 200, gateway: str | None = None,
                device_id: int | None = None) -> list[dict]:
    """Alarms overlapping [start, end) in scope; active first, then by severity, newest first.

    gateway (a serial) narrows to that gateway's and its devices' alarms, device_id to one device's.
    """
    params = {**scope.params(), "account_id": account_id, "rule_id": rule_id, "alarm_id": alarm_id,
              "gateway": gateway, "device_id": device_id,
              "states": states, "severities": severities, "start": start, "end": end,
              "limit": max(1, min(limit, 1000))}
    return [dict(row) for row in conn.execute(_ALARMS, params).mappings()]


def get_alarm(conn: Connection, scope: Scope, alarm_id: int) -> dict | None:
    """One alarm in scope, whatever its state and age; None when missing or foreign."""
    rows = list_alarms(conn, scope, states=list(_ALL_STATES), severities=list(_ALL_SEVERITIES), start=_EPOCH,
                       end=_FOREVER, alarm_id=alarm_id)
    return rows[0] if rows else None


def active_counts(conn: Connection, scope: Scope) -> dict[str, int]:
    """Active alarms per severity in scope (the navbar badge)."""
    return dict(conn.execute(_COUNTS, scope.params()).all())


def alarm_account(conn: Connection, scope: Scope, alarm_id: int) -> tuple[bool, int | None] | None:
    """(found, account id) of an alarm in scope; None when it does not exist or lies outside the scope."""
    row = conn.execute(sa.text("SELECT account_id FROM alarms a WHERE id = :id AND " + _SCOPED.format(t="a")),
                       {**scope.params(), "id": alarm_id}).first()
    return None if row is None else (True, row[0])


_RULE_COLUMNS = ("id, account_id, kind, name, enabled, severity, gateway_id, device_id, metric_id, for_seconds,"
                 " clear_seconds, params, builtin, version, created_at, updated_at")


def list_rules(conn: Connection, scope: Scope, rule_id: int | None = None) -> list[dict]:
    """Rules in scope (all of them, or the one asked for)."""
    sql = sa.text(f"SELECT {_RULE_COLUMNS} FROM alarm_rules r WHERE " + _SCOPED.format(t="r")
                  + " AND (CAST(:id AS bigint) IS NULL OR id = :id) ORDER BY account_id NULLS FIRST, id")
    return [dict(row) for row in conn.execute(sql, {**scope.params(), "id": rule_id}).mappings()]


def subject_in_account(conn: Connection, account_id: int | None, gateway_id: int | None,
                       device_id: int | None) -> bool:
    """A rule may name only its own account's gateway and device (and a device of that gateway)."""
    return conn.execute(sa.text(
        "SELECT (CAST(:g AS bigint) IS NULL OR EXISTS (SELECT 1 FROM gateways WHERE id = :g AND account_id = :a))"
        " AND (CAST(:d AS bigint) IS NULL OR EXISTS (SELECT 1 FROM devices WHERE id = :d AND account_id = :a"
        "   AND (CAST(:g AS bigint) IS NULL OR gateway_id = :g)))"), {"a": account_id, "g": gateway_id,
                                                                     "d": device_id}).scalar_one()


def insert_rule(conn: Connection, account_id: int | None, rule: dict) -> int:
    """Store a validated rule; returns its id."""
    return conn.execute(sa.text(
        "INSERT INTO alarm_rules (account_id, kind, name, enabled, severity, gateway_id, device_id, metric_id,"
        " for_seconds, clear_seconds, params) VALUES (:account_id, :kind, :name, :enabled, :severity, :gateway_id,"
        " :device_id, :metric_id, :for_seconds, :clear_seconds, CAST(:params AS jsonb)) RETURNING id"),
        {**rule, "account_id": account_id, "params": json.dumps(rule["params"])}).scalar_one()


def update_rule(conn: Connection, rule_id: int, rule: dict, version: int | None) -> bool:
    """Save over the version the editor read (None: whatever is stored); False when someone saved in between."""
    return conn.execute(sa.text(
        "UPDATE alarm_rules SET name = :name, enabled = :enabled, severity = :severity, gateway_id = :gateway_id,"
        " device_id = :device_id, metric_id = :metric_id, for_seconds = :for_seconds, clear_seconds = :clear_seconds,"
        " params = CAST(:params AS jsonb), version = version + 1, updated_at = now() WHERE id = :id"
        " AND (CAST(:version AS integer) IS NULL OR version = :version) RETURNING id"),
        {**rule, "id": rule_id, "version": version, "params": json.dumps(rule["params"])}).first() is not None


def delete_rule(conn: Connection, rule_id: int) -> None:
    """Delete a rule; its alarms and their outbox rows cascade."""
    conn.execute(sa.text("DELETE FROM alarm_rules WHERE id = :id"), {"id": rule_id})


_CHANNEL_COLUMNS = ("id, account_id, type, name, target, secret IS NOT NULL AS has_secret, severities, language,"
                    " on_ack, enabled, version, created_at, updated_at")


def list_channels(conn: Connection, scope: Scope, channel_id: int | None = None) -> list[dict]:
    """Channels in scope, never their secrets."""
    sql = sa.text(f"SELECT {_CHANNEL_COLUMNS} FROM notification_channels c WHERE " + _SCOPED.format(t="c")
                  + " AND (CAST(:id AS bigint) IS NULL OR id = :id) ORDER BY account_id NULLS FIRST, id")
    return [dict(row) for row in conn.execute(sql, {**scope.params(), "id": channel_id}).mappings()]


def insert_channel(conn: Connection, account_id: int | None, channel: dict) -> int:
    """Store a validated channel; returns its id."""
    return conn.execute(sa.text(
        "INSERT INTO notification_channels (account_id, type, name, target, secret, severities, language, on_ack,"
        " enabled) VALUES (:account_id, :type, :name, :target, :secret, :severities, :language, :on_ack, :enabled)"
        " RETURNING id"), {**channel, "account_id": account_id}).scalar_one()


def update_channel(conn: Connection, channel_id: int, channel: dict) -> None:
    """Save a validated channel; a missing secret keeps the stored one."""
    conn.execute(sa.text(
        "UPDATE notification_channels SET name = :name, target = :target, secret = coalesce(:secret, secret),"
        " severities = :severities, language = :language, on_ack = :on_ack, enabled = :enabled,"
        " version = version + 1, updated_at = now() WHERE id = :id"), {**channel, "id": channel_id})


def delete_channel(conn: Connection, channel_id: int) -> None:
    """Delete a channel and its queued notifications."""
    conn.execute(sa.text("DELETE FROM notification_channels WHERE id = :id"), {"id": channel_id})


def recent_deliveries(conn: Connection, scope: Scope, limit: int = 50) -> list[dict]:
    """The delivery log: each attempt, newest first."""
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT d.at, d.ok, d.detail, o.event, o.alarm_id, c.type, c.target FROM notification_deliveries d"
        " JOIN notification_outbox o ON o.id = d.outbox_id JOIN notification_channels c ON c.id = o.channel_id"
        " WHERE " + _SCOPED.format(t="c") + " ORDER BY d.at DESC, d.id DESC LIMIT :limit"),
        {**scope.params(), "limit": limit}).mappings()]


# Certificates are the certificates package's table; alarms read it here, in SQL, as a sibling must.
_CERTIFICATE_ENDS = sa.text(
    "SELECT g.id, g.serial, max(c.not_after) AS not_after FROM gateway_certificates c"
    " JOIN gateways g ON g.id = c.gateway_id WHERE g.active AND c.status = 'active'"
    " AND g.account_id = :account_id AND (CAST(:gateway_id AS bigint) IS NULL OR g.id = :gateway_id)"
    " GROUP BY g.id, g.serial ORDER BY g.id"
)


def certificate_ends(conn: Connection, account_id: int, gateway_id: int | None) -> list:
    """(id, serial, not_after) of each gateway in scope holding an unrevoked certificate: its latest end.

    Only the latest counts: after a rotation the old certificate's end is no longer the gateway's problem.
    """
    return list(conn.execute(_CERTIFICATE_ENDS, {"account_id": account_id, "gateway_id": gateway_id}))
