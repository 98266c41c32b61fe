"""Observations of the consumption rules, read from the hourly/daily/monthly rollups (cut in TDS_TIMEZONE)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.alarms import localtime
from tds_dash.alarms.conditions import DEVICE_SCOPE, offline_gateways, scope_params
from tds_dash.alarms.model import Observation, Rule
from tds_dash.alarms.rules import effective_threshold

_TABLES = {"hour": "consumption_hourly", "day": "consumption_daily", "month": "consumption_monthly"}
_FROM = (" FROM {table} h JOIN devices d ON d.id = h.device_id JOIN gateways g ON g.id = d.gateway_id"
         " JOIN device_metrics dm ON dm.device_id = h.device_id AND dm.metric_id = h.metric_id WHERE"
         + DEVICE_SCOPE + " AND (CAST(:metric_id AS smallint) IS NULL OR h.metric_id = :metric_id)"
         " AND dm.meter_kind IN ('counter', 'delta')")
# Buckets at chosen instants (a night's hours, the same hour on earlier days): one probe per key.
_BUCKETS = sa.text("SELECT h.device_id, h.metric_id, d.code, d.gateway_id, h.bucket, h.consumption"
                   + _FROM.format(table="consumption_hourly") + " AND h.bucket = ANY(:buckets)")
# since: the hour after the counter last moved (or its first hour): stable while it stays stuck, so an
# active alarm is not re-raised every hour as the window slides.
_STUCK = sa.text(
    "SELECT h.device_id, h.metric_id, d.code, d.gateway_id, count(*) AS hours, sum(h.consumption) AS total,"
    " coalesce((SELECT max(b.bucket) + interval '1 hour' FROM consumption_hourly b WHERE b.device_id = h.device_id"
    "   AND b.metric_id = h.metric_id AND b.consumption > 0 AND b.bucket < :start),"
    "  (SELECT min(b.bucket) FROM consumption_hourly b WHERE b.device_id = h.device_id"
    "   AND b.metric_id = h.metric_id)) AS since"
    + _FROM.format(table="consumption_hourly") + " AND dm.meter_kind = 'counter' AND h.count > 0"
    " AND h.bucket >= :start AND h.bucket < :end GROUP BY 1, 2, 3, 4"
)
_PERIOD = {period: sa.text(
    "SELECT h.device_id, h.metric_id, d.code, d.gateway_id, h.consumption" + _FROM.format(table=table)
    + " AND h.bucket = :bucket") for period, table in _TABLES.items()}


def _subject(row) -> str:
    return f"device:{row.device_id}:{row.metric_id}"


def meter_stuck(conn: Connection, rule: Rule, now: datetime, zone: ZoneInfo) -> list[Observation]:
    """A counter reporting every hour of the last N local hours whose consumption was exactly 0."""
    hours = rule.params["hours"]
    end = localtime.last_completed_hour(now, zone) + localtime.HOUR
    start = end - timedelta(hours=hours)
    offline = offline_gateways(conn, rule.account_id)
    rows = conn.execute(_STUCK, {**scope_params(rule), "start": start, "end": end}).all()
    return [Observation(subject=_subject(r), firing=r.total == 0, holding=r.total == 0, since=min(r.since, start),
                        gateway_id=r.gateway_id, device_id=r.device_id, metric_id=r.metric_id, value=r.total,
                        detail=f"{r.code}: 0 for {hours} h",
                        suppressed_by=r.gateway_id if r.gateway_id in offline else None)
            for r in rows if r.hours >= hours]


def consumption_above(conn: Connection, rule: Rule, now: datetime, zone: ZoneInfo) -> list[Observation]:
    """The running local hour/day/month per device, or summed over the scope, against the threshold."""
    period = rule.params["period"]
    bucket = localtime.period_start(now, period, zone)
    limit, clear = effective_threshold(rule.params)
    totals: dict[tuple, float] = defaultdict(float)
    for row in conn.execute(_PERIOD[period], {**scope_params(rule), "bucket": bucket}):
        device = row.device_id if rule.params["per"] == "device" else None
        totals[(device, row.metric_id)] += row.consumption or 0.0
    observations = []
    for (device, metric), value in totals.items():
        subject = f"device:{device}:{metric}" if device is not None else f"account:{rule.account_id}:{metric}"
        observations.append(Observation(subject=subject, firing=value > limit, holding=value > clear, since=bucket,
                                        device_id=device, metric_id=metric, value=value, threshold=limit,
                                        detail=f"{value:g} > {limit:g} this {period}"))
    return observations


def _series(conn: Connection, rule: Rule, buckets: list[datetime]) -> dict[tuple, dict]:
    """{(device, metric): {"code", "gateway_id", "values": {bucket: consumption}}} for the chosen buckets."""
    found: dict[tuple, dict] = {}
    for row in conn.execute(_BUCKETS, {**scope_params(rule), "buckets": buckets}):
        entry = found.setdefault((row.device_id, row.metric_id), {"code": row.code, "gateway_id": row.gateway_id,
                                                                  "values": {}})
        entry["values"][row.bucket] = row.consumption or 0.0
    return found


def night_flow(conn: Connection, rule: Rule, now: datetime, zone: ZoneInfo) -> list[Observation]:
    """Every hour of the night window above the floor, for N consecutive completed nights (a leak)."""
    p = rule.params
    start_hour, end_hour = int(p["start"][:2]), int(p["end"][:2])
    last = localtime.last_completed_night(now, start_hour, end_hour, zone)
    nights = [localtime.night_hours(last - timedelta(days=k), start_hour, end_hour, zone) for k in range(p["nights"])]
    series = _series(conn, rule, [hour for night in nights for hour in night])
    offline = offline_gateways(conn, rule.account_id)
    observations = []
    for (device, metric), entry in series.items():
        values = entry["values"]
        wet = [all(values.get(hour, 0.0) > p["floor"] for hour in night) for night in nights]
        observations.append(Observation(
            subject=f"device:{device}:{metric}", firing=all(wet), holding=wet[0], since=nights[0][-1] + localtime.HOUR,
            gateway_id=entry["gateway_id"], device_id=device, metric_id=metric,
            value=min(values.get(hour, 0.0) for hour in nights[0]), threshold=p["floor"],
            detail=f"{entry['code']}: above {p['floor']:g} every hour {p['start']}–{p['end']} for {p['nights']} nights",
            suppressed_by=entry["gateway_id"] if entry["gateway_id"] in offline else None))
    return observations


def spike(conn: Connection, rule: Rule, now: datetime, zone: ZoneInfo) -> list[Observation]:
    """The latest complete hour above factor x the median of the same local hour over the last weeks."""
    p = rule.params
    hour = localtime.last_completed_hour(now, zone)
    history = localtime.same_hour_before(hour, 7 * p["weeks"], zone)
    series = _series(conn, rule, [hour, *history])
    observations = []
    for (device, metric), entry in series.items():
        values = entry["values"]
        samples = [values[b] for b in history if b in values]
        typical = localtime.median(samples)
        if hour not in values or len(samples) < p["min_samples"] or not typical:
            continue
        value, limit = values[hour], p["factor"] * typical
        observations.append(Observation(
            subject=f"device:{device}:{metric}", firing=value > limit and value > p["min_consumption"],
            holding=False, since=hour + localtime.HOUR, gateway_id=entry["gateway_id"], device_id=device,
            metric_id=metric, value=value, threshold=limit,
            detail=f"{entry['code']}: {value:g} in one hour, {value / typical:.1f}x the usual {typical:g}"))
    return observations
