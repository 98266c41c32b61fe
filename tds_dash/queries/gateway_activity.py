"""The gateway page's charts: its devices' daily consumption and its messages per hour."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries import consumption
from tds_dash.queries.scope import IN_SCOPE, Scope

METRICS = ("energy_kwh", "water_m3", "gas_m3")  # the first the gateway's devices measure is charted
CONSUMPTION_DAYS, MESSAGE_HOURS = 14, 48

# A gateway publishes each interval's readings of all its devices in one message with one timestamp, so
# distinct timestamps per hour count its messages. Hours are UTC hours (whole-hour zones such as
# America/Sao_Paulo share their boundaries).
_MESSAGES = sa.text(
    "SELECT date_trunc('hour', r.ts) AS bucket, count(DISTINCT r.ts) AS messages FROM readings r"
    " WHERE r.account_id " + IN_SCOPE + " AND r.account_id = :account_id AND r.gateway_id = :gateway_id"
    " AND r.ts >= :start AND r.ts < :end GROUP BY 1 ORDER BY 1"
)


@dataclasses.dataclass(frozen=True)
class GatewayActivity:
    metric: str | None  # None: its devices measure no consumption metric
    unit: str
    daily: pd.DataFrame  # bucket (aware, local midnight), consumption
    messages: pd.DataFrame  # bucket (aware UTC hour, every hour of the window), messages (0 when none)


def _hourly_messages(conn: Connection, scope: Scope, gateway: dict, now: datetime) -> pd.DataFrame:
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=MESSAGE_HOURS)
    rows = conn.execute(_MESSAGES, {**scope.params(), "account_id": gateway["account_id"],
                                    "gateway_id": gateway["id"], "start": start, "end": end}).all()
    hours = pd.date_range(start, end - timedelta(hours=1), freq="h", tz="UTC")
    counts = {pd.Timestamp(row.bucket).tz_convert("UTC"): int(row.messages) for row in rows}
    return pd.DataFrame({"bucket": hours, "messages": [counts.get(hour, 0) for hour in hours]})


def fetch_gateway_activity(conn: Connection, scope: Scope, gateway: dict, now: datetime,
                           zone: ZoneInfo) -> GatewayActivity:
    """The last 14 local days of its devices' consumption (first metric with data) and 48 h of messages."""
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=CONSUMPTION_DAYS - 1), today + timedelta(days=1)
    selection = consumption.Selection(gateway_ids=(gateway["id"],))
    chosen, unit, daily = None, "", pd.DataFrame(columns=["bucket", "consumption"])
    for name in METRICS:
        metric = consumption.find_metric(conn, name)
        if metric is None:
            continue
        series = consumption.total_series(conn, scope, selection, metric["id"], "day", start, end, zone)
        if not series.empty and series["consumption"].notna().any():
            chosen, unit, daily = name, metric.get("unit") or "", series
            break
    return GatewayActivity(chosen, unit, daily, _hourly_messages(conn, scope, gateway, now))
