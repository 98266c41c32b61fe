"""SQL of grouped usage: hourly rollups summed set-based per device, bucket, tariff day class and ToU period.

What the engine needs of each device-hour is its quantity, its local date (→ version and day type) and local
hour (→ period). Those are turned into two small tables by the caller (day → class, class × hour → period)
and the database sums the hours of each group exactly (numeric), so Python sees thousands of groups instead
of millions of device-hours. Scoped like every tariffs read.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import IN_SCOPE, Scope

# Quantities are read as the shortest decimal that reads back as the stored double (float8 text output
# with extra_float_digits = 1, PostgreSQL 12+), exactly as queries.hourly_usage does with repr(float).
_GROUPS = sa.text(
    "WITH u AS (SELECT c.device_id, c.bucket, CAST(CAST(c.consumption AS text) AS numeric) AS q,"
    "   (c.bucket AT TIME ZONE :tz) AS l FROM consumption_hourly c"
    "   WHERE c.metric_id = :metric_id AND c.account_id = :account_id AND c.account_id " + IN_SCOPE
    + "  AND c.bucket >= :lo AND c.bucket < :hi AND c.consumption IS NOT NULL"
    "   AND (:any_device OR c.device_id = ANY(CAST(:devices AS bigint[])))),"
    " d AS (SELECT * FROM unnest(CAST(:days AS date[]), CAST(:classes AS integer[])) AS t(day, cls)),"
    " h AS (SELECT * FROM unnest(CAST(:p_classes AS integer[]), CAST(:p_hours AS integer[]),"
    "   CAST(:p_periods AS integer[])) AS t(cls, hour, period))"
    " SELECT u.device_id, date_trunc(:unit, u.bucket, :tz) AS bucket, d.cls, coalesce(h.period, -1) AS period,"
    "  width_bucket(u.bucket, CAST(:edges AS timestamptz[])) AS side, sum(u.q) FILTER (WHERE u.q > 0) AS positive,"
    "  sum(u.q) FILTER (WHERE u.q < 0) AS negative, count(*) AS n, min(u.bucket) AS first"
    " FROM u JOIN d ON d.day = CAST(u.l AS date)"
    " LEFT JOIN h ON h.cls = d.cls AND h.hour = CAST(extract(hour FROM u.l) AS integer)"
    " GROUP BY 1, 2, 3, 4, 5")


@dataclasses.dataclass(frozen=True)
class UsageGroup:
    """The hours of one device in one bucket, day class and period, inside the span or not."""

    device_id: int
    bucket: datetime  # start of the granularity's bucket (UTC)
    day_class: int
    period: int  # index into the class's version's periods; -1 when no period covers the hour
    inside: bool  # the hours lie in [start, end) (else only counted for tiers, fee and minimum)
    side: int  # the span's piece: 1 = [start, first cut), 2 = [first cut, next one)…; outside: 0 or past the last
    positive: Decimal  # exact sum of the positive hourly quantities
    negative: Decimal  # exact sum of the negative ones (not billed)
    rows: int  # hourly rows, zeros included (a device with a row in a month is billed its fee)
    first: datetime  # earliest hour of the group: orders groups in time


def usage_groups(conn: Connection, scope: Scope, account_id: int, metric_id: int, lo: datetime, hi: datetime,
                 span: tuple[datetime, datetime], unit: str, zone: str, days: Sequence[tuple[date, int]],
                 periods: Sequence[tuple[int, int, int]], device_ids: Sequence[int] = (),
                 cuts: Sequence[datetime] = ()) -> list[UsageGroup]:
    """Hourly rollups of [lo, hi) grouped; `days`: (local date, class), `periods`: (class, hour, period index);
    `cuts`: instants inside the span where its groups are split too (sides 1, 2, …: one pricing for spans that
    end there, tariffs/today_cache.py)."""
    conn.execute(sa.text("SET LOCAL extra_float_digits = 1"))
    start, end = span[0], max(span)
    edges = [start, *sorted(min(max(c, start), end) for c in cuts), end]  # width_bucket needs them in order
    params = {**scope.params(), "account_id": account_id, "metric_id": metric_id, "lo": lo, "hi": hi,
              "edges": edges, "unit": unit, "tz": zone, "any_device": not device_ids,
              "devices": list(device_ids), "days": [d for d, _ in days], "classes": [c for _, c in days],
              "p_classes": [c for c, _, _ in periods], "p_hours": [h for _, h, _ in periods],
              "p_periods": [p for _, _, p in periods]}
    zero = Decimal(0)
    last = len(edges)  # width_bucket: 0 before the span's start, len(edges) at or after its end
    return [UsageGroup(row.device_id, row.bucket, row.cls, row.period, 0 < row.side < last, row.side,
                       row.positive or zero, row.negative or zero, row.n, row.first)
            for row in conn.execute(_GROUPS, params)]
