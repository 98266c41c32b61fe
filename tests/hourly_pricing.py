"""The hour-by-hour engine over the database's hourly rollups: the plain reading of the rules, kept as the
reference that grouped and cached pricing (tds_dash/tariffs/grouped.py, month_cache.py) are compared with."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.tariffs import costs, queries
from tds_dash.tariffs.engine import cost_lines
from tds_dash.tariffs.model import CostLine, Tariff, Usage


def engine_priced(conn: Connection, scope: Scope, tariff: Tariff, start: datetime, end: datetime, zone: ZoneInfo,
                  device_ids: Sequence[int]) -> tuple[list[Usage], list[CostLine]]:
    """Usage of the span and the cost lines of the whole months around it, kept to the span, hour by hour."""
    lo, hi = costs._whole_months(start, end, zone)
    usage = queries.hourly_usage(conn, scope, tariff.account_id, tariff.metric_id, lo, hi, device_ids)
    lines = cost_lines(usage, tariff.versions, tariff.surcharges, zone, tariff.holiday_subdivision)
    inside = [line for line in lines if start <= line.bucket < end]
    return [u for u in usage if start <= u.hour < end], inside
