"""What a monthly statement says, as plain JSON-ready data (decimal strings): built once, drawn as PDF and CSV.

Per metric with a tariff: per device consumption and cost by component, the metric's total (rounded to the
centavo exactly as /api/v1/cost's total is), the previous month and the same month a year before, the
meter corrections of the month and the gaps: hours after a device's first reading with no reading at all.
A gap is listed as a gap and never counted as zero consumption; days without any reading have no quantity.
The account's total is the sum of its metrics' rounded totals (each metric is billed on its own).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash import periods
from tds_dash.queries.scope import Scope
from tds_dash.statements import queries
from tds_dash.tariffs import queries as tariff_queries
from tds_dash.tariffs.costs import cost_breakdown, month_lines
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.lookup import existing_tariff
from tds_dash.tariffs.model import COMPONENTS, CURRENCY, CostLine, Tariff
from tds_dash.tariffs.money import split_centavos, to_centavos
from tds_dash.tariffs.validation import TariffInputError

HOUR = timedelta(hours=1)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def month_span(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of the 1st, local midnight of the next 1st), in UTC."""
    return periods.local_midnight(month, zone), periods.local_midnight(periods.add_months(month, 1), zone)


def versions_used(tariff: Tariff, month: date) -> list[dict]:
    """The versions in force on some day of the month: the one of the 1st and any starting later in it."""
    following = periods.add_months(month, 1)
    ordered = sorted(tariff.versions, key=lambda v: v.valid_from)
    at_first = [v for v in ordered if v.valid_from <= month][-1:]
    inside = [v for v in ordered if month < v.valid_from < following]
    return [{"metric": tariff.metric, "tariff": tariff.name, "valid_from": v.valid_from.isoformat(),
             "version_id": v.id} for v in at_first + inside]


def _label_order(component: str, label: str) -> tuple:
    """Tiers by their lower bound ('0–30.5' before '30.5–100' before '100+'), other labels by name."""
    if component == "tier":
        head = label.split("–")[0].rstrip("+")
        try:
            return (Decimal(head), label)
        except ArithmeticError:
            return (Decimal(0), label)
    return (Decimal(0), label)


def _components(lines: list[CostLine]) -> list[tuple[str, str, Decimal | None, Decimal]]:
    sums: dict[tuple[str, str], list] = {}
    for line in lines:
        entry = sums.setdefault((line.component, line.label), [None, ZERO])
        if line.quantity is not None:
            entry[0] = (entry[0] or ZERO) + line.quantity
        entry[1] += line.amount
    order = sorted(sums, key=lambda key: (COMPONENTS.index(key[0]), _label_order(key[0], key[1])))
    return [(c, label, *sums[(c, label)]) for c, label in order]


def _component_rows(lines: list[CostLine]) -> list[dict]:
    """Components in centavos adding up to the rounded sum of their lines."""
    with exact():
        found = _components(lines)
    amounts = split_centavos([amount for *_, amount in found])
    return [{"component": c, "label": label, "quantity": _text(q), "amount": _text(a)}
            for (c, label, q, _), a in zip(found, amounts)]


def gap_ranges(first_hour: datetime | None, seen: set[datetime], lo: datetime, hi: datetime) -> list[tuple]:
    """(from, to, hours) of consecutive hours in [max(lo, first_hour), hi) with no rollup row."""
    if first_hour is None:
        return []
    ranges, start, hour = [], None, max(lo, first_hour)
    while hour < hi:
        if hour not in seen and start is None:
            start = hour
        elif hour in seen and start is not None:
            ranges.append((start, hour, int((hour - start) / HOUR)))
            start = None
        hour += HOUR
    if start is not None:
        ranges.append((start, hi, int((hi - start) / HOUR)))
    return ranges


def _compare(conn: Connection, scope: Scope, account_id: int, metric: str, month: date, zone: ZoneInfo) -> dict:
    """The metric's quantity and cost in an earlier month (today's tariff terms); None without any reading."""
    start, end = month_span(month, zone)
    result = cost_breakdown(conn, scope, account_id, metric, start, end, "month", zone)
    if not result.buckets:
        return {"period": month.isoformat(), "quantity": None, "total": None}
    quantity = result.buckets[0].quantity
    priced = not (quantity > 0 and result.unpriced_quantity >= quantity)  # before any version: no cost, not R$ 0
    return {"period": month.isoformat(), "quantity": _text(quantity),
            "total": _text(to_centavos(result.total)) if priced else None}


def _daily(usage, zone: ZoneInfo, month: date) -> list[dict]:
    """Per local day: the quantity, or None when no device had a single reading that day (a gap, not zero)."""
    days: dict[date, Decimal] = {}
    with exact():
        for row in usage:
            day = row.hour.astimezone(zone).date()
            days[day] = days.get(day, ZERO) + row.quantity
    following, out, day = periods.add_months(month, 1), [], month
    while day < following:
        out.append({"day": day.isoformat(), "quantity": _text(days.get(day))})
        day += timedelta(days=1)
    return out


def metric_section(conn: Connection, scope: Scope, account_id: int, metric: str, month: date, zone: ZoneInfo,
                   now: datetime) -> dict:
    """One metric's part of the statement (see the module docstring)."""
    tariff = existing_tariff(conn, scope, account_id, metric)
    unit = tariff_queries.find_metric(conn, metric).unit
    lo, hi = month_span(month, zone)
    usage = tariff_queries.hourly_usage(conn, scope, account_id, tariff.metric_id, lo, hi)
    lines = month_lines(conn, scope, tariff, month, zone, now)  # the cache /api/v1/cost reads: the same sums
    by_device: dict[int, list[CostLine]] = defaultdict(list)
    quantity: dict[int, Decimal] = defaultdict(lambda: ZERO)
    seen: dict[int, set[datetime]] = defaultdict(set)
    with exact():
        for line in lines:
            by_device[line.device_id].append(line)
        for row in usage:
            quantity[row.device_id] += row.quantity
            seen[row.device_id].add(row.hour)
        exact_total = sum((line.amount for line in lines), ZERO)
        device_exact = {d: sum((x.amount for x in by_device[d]), ZERO) for d in by_device}
        metric_quantity = sum(quantity.values(), ZERO)
        unpriced = sum((x.quantity for x in lines if x.component == "unpriced"), ZERO)
    total = to_centavos(exact_total)
    end = min(hi, periods.floor_hour(now, zone))  # a month still running has no gaps in its future
    devices, gaps = [], []
    rows = queries.devices_with_first_hour(conn, scope, account_id, tariff.metric_id, hi)
    listed = [r for r in rows if r["first_hour"] is not None]
    device_totals = split_centavos([device_exact.get(r["id"], ZERO) for r in listed])
    for row, device_total in zip(listed, device_totals):
        ranges = gap_ranges(row["first_hour"], seen[row["id"]], lo, end)
        gaps += [{"device": row["code"], "from": a.isoformat(), "to": b.isoformat(), "hours": n} for a, b, n in ranges]
        devices.append({"id": row["id"], "code": row["code"], "name": row["name"],
                        "quantity": _text(quantity[row["id"]]) if seen[row["id"]] else None,
                        "total": _text(device_total), "gap_hours": sum(n for *_, n in ranges),
                        "components": _component_rows(by_device.get(row["id"], []))})
    corrections = [{"device": c["device"], "ts": c["ts"].isoformat(), "kind": c["kind"],
                    "previous_value": repr(float(c["previous_value"])), "value": repr(float(c["value"])),
                    "consumption": repr(float(c["consumption"]))}
                   for c in queries.corrections(conn, scope, account_id, tariff.metric_id, lo, hi)]
    return {"metric": metric, "unit": unit, "tariff": tariff.name, "versions": versions_used(tariff, month),
            "quantity": _text(metric_quantity), "total": _text(total), "exact_total": _text(exact_total),
            "unpriced_quantity": _text(unpriced), "components": _component_rows(lines), "devices": devices,
            "daily": _daily(usage, zone, month), "gaps": gaps, "corrections": corrections,
            "previous": _compare(conn, scope, account_id, metric, periods.add_months(month, -1), zone),
            "last_year": _compare(conn, scope, account_id, metric, periods.add_months(month, -12), zone)}


def build_report(conn: Connection, scope: Scope, account_id: int, month: date, zone: ZoneInfo,
                 now: datetime) -> dict:
    """The whole statement of one account and local month; raises TariffInputError (unknown account, no tariff)."""
    account = queries.find_account(conn, scope, account_id)
    if account is None:
        raise TariffInputError("account", "unknown account")
    metrics = queries.account_metrics(conn, account_id)
    if not metrics:
        raise TariffInputError("account", "this account has no tariff")
    sections = [metric_section(conn, scope, account_id, m, month, zone, now) for m in metrics]
    total = sum((Decimal(s["total"]) for s in sections), Decimal(0))
    return {"account": {"id": account["id"], "slug": account["slug"], "name": account["name"]},
            "period": month.isoformat(), "generated_at": now.isoformat(), "timezone": zone.key,
            "currency": CURRENCY, "total": _text(total), "metrics": sections,
            "tariff_versions": [v for s in sections for v in s["versions"]]}
