"""SQL of tariffs and of the hourly consumption they price; every read scoped by the viewer's accounts.

Each statement is a named constant with bound parameters; IN_SCOPE is appended as constant text.
Writes take ids the service already resolved through a scoped read.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import IN_SCOPE, Scope
from tds_dash.tariffs.model import Period, Surcharge, Tariff, TariffVersion, Tax, Tier, Usage, Window


@dataclasses.dataclass(frozen=True)
class MetricRow:
    id: int
    name: str
    unit: str
    meter_kind: str


_METRIC = sa.text("SELECT id, name, unit, meter_kind FROM metrics WHERE name = :name")
_ACCOUNT = sa.text("SELECT id FROM accounts WHERE id = :account_id AND id " + IN_SCOPE)
_TARIFF = sa.text(
    "SELECT t.id, t.account_id, t.metric_id, m.name AS metric, t.name, t.holiday_subdivision FROM tariffs t"
    " JOIN metrics m ON m.id = t.metric_id WHERE t.account_id = :account_id AND t.metric_id = :metric_id"
    " AND t.account_id " + IN_SCOPE)
_TARIFFS = sa.text(
    "SELECT t.id, t.account_id, t.metric_id, m.name AS metric, t.name, t.holiday_subdivision FROM tariffs t"
    " JOIN metrics m ON m.id = t.metric_id WHERE (CAST(:account_id AS bigint) IS NULL OR t.account_id = :account_id)"
    " AND t.account_id " + IN_SCOPE + " ORDER BY t.account_id, m.name")
_VERSIONS = sa.text("SELECT id, valid_from, currency, fixed_fee, minimum_charge FROM tariff_versions"
                    " WHERE tariff_id = :tariff_id ORDER BY valid_from")
_PERIODS = sa.text("SELECT p.version_id, p.id, p.name, p.price FROM tariff_periods p"
                   " JOIN tariff_versions v ON v.id = p.version_id WHERE v.tariff_id = :tariff_id ORDER BY p.position")
_WINDOWS = sa.text("SELECT w.period_id, w.day_type, w.start_hour, w.end_hour FROM tariff_windows w"
                   " JOIN tariff_periods p ON p.id = w.period_id JOIN tariff_versions v ON v.id = p.version_id"
                   " WHERE v.tariff_id = :tariff_id ORDER BY w.position")
_TIERS = sa.text("SELECT t.version_id, t.up_to, t.price FROM tariff_tiers t"
                 " JOIN tariff_versions v ON v.id = t.version_id"
                 " WHERE v.tariff_id = :tariff_id ORDER BY t.position")
_TAXES = sa.text("SELECT t.version_id, t.name, t.rate FROM tariff_taxes t JOIN tariff_versions v ON v.id = t.version_id"
                 " WHERE v.tariff_id = :tariff_id ORDER BY t.position")
_SURCHARGES = sa.text("SELECT month, value, label FROM tariff_surcharges WHERE tariff_id = :tariff_id ORDER BY month")

# The account filter twice on purpose: the asked account, and that it lies in the viewer's scope.
_USAGE = sa.text(
    "SELECT c.device_id, c.bucket, c.consumption FROM consumption_hourly c"
    " WHERE c.metric_id = :metric_id AND c.account_id = :account_id AND c.account_id " + IN_SCOPE
    + " AND c.bucket >= :lo AND c.bucket < :hi AND c.consumption IS NOT NULL"
    " AND (:any_device OR c.device_id = ANY(CAST(:devices AS bigint[]))) ORDER BY c.bucket, c.device_id")

_INSERT_TARIFF = sa.text("INSERT INTO tariffs (account_id, metric_id, name, holiday_subdivision)"
                         " VALUES (:account_id, :metric_id, :name, :subdivision) RETURNING id")
_UPDATE_TARIFF = sa.text("UPDATE tariffs SET name = :name, holiday_subdivision = :subdivision, updated_at = now()"
                         " WHERE id = :tariff_id")
_DELETE_TARIFF = sa.text("DELETE FROM tariffs WHERE id = :tariff_id")
_INSERT_VERSION = sa.text(
    "INSERT INTO tariff_versions (tariff_id, valid_from, currency, fixed_fee, minimum_charge)"
    " VALUES (:tariff_id, :valid_from, :currency, :fixed_fee, :minimum_charge) RETURNING id")
_INSERT_PERIOD = sa.text("INSERT INTO tariff_periods (version_id, position, name, price)"
                         " VALUES (:version_id, :position, :name, :price) RETURNING id")
_INSERT_WINDOW = sa.text("INSERT INTO tariff_windows (period_id, position, day_type, start_hour, end_hour)"
                         " VALUES (:period_id, :position, :day_type, :start_hour, :end_hour)")
_INSERT_TIER = sa.text("INSERT INTO tariff_tiers (version_id, position, up_to, price)"
                       " VALUES (:version_id, :position, :up_to, :price)")
_INSERT_TAX = sa.text("INSERT INTO tariff_taxes (version_id, position, name, rate)"
                      " VALUES (:version_id, :position, :name, :rate)")
_DELETE_VERSION = sa.text("DELETE FROM tariff_versions WHERE tariff_id = :tariff_id AND valid_from = :valid_from")
_UPSERT_SURCHARGE = sa.text(
    "INSERT INTO tariff_surcharges (tariff_id, month, value, label) VALUES (:tariff_id, :month, :value, :label)"
    " ON CONFLICT (tariff_id, month) DO UPDATE SET value = EXCLUDED.value, label = EXCLUDED.label")
_DELETE_SURCHARGE = sa.text("DELETE FROM tariff_surcharges WHERE tariff_id = :tariff_id AND month = :month")


def find_metric(conn: Connection, name: str) -> MetricRow | None:
    """A metric of the catalogue by name (metrics are global, not per account)."""
    row = conn.execute(_METRIC, {"name": name}).one_or_none()
    return MetricRow(row.id, row.name, row.unit, row.meter_kind) if row else None


def account_visible(conn: Connection, scope: Scope, account_id: int) -> bool:
    """Whether the account exists and lies in the viewer's scope (the two are never told apart)."""
    return conn.execute(_ACCOUNT, {**scope.params(), "account_id": account_id}).one_or_none() is not None


def _tariff(row) -> Tariff:
    return Tariff(row.id, row.account_id, row.metric_id, row.metric, row.name, row.holiday_subdivision)


def find_tariff(conn: Connection, scope: Scope, account_id: int, metric_id: int) -> Tariff | None:
    """The tariff row alone (no versions), None when absent or outside the scope."""
    row = conn.execute(_TARIFF, {**scope.params(), "account_id": account_id, "metric_id": metric_id}).one_or_none()
    return _tariff(row) if row else None


def list_tariffs(conn: Connection, scope: Scope, account_id: int | None = None) -> list[Tariff]:
    """Tariff rows (no versions) of the scope's accounts, or of one of them."""
    return [_tariff(row) for row in conn.execute(_TARIFFS, {**scope.params(), "account_id": account_id})]


def _periods(conn: Connection, tariff_id: int) -> dict[int, list[Period]]:
    windows: dict[int, list[Window]] = defaultdict(list)
    for row in conn.execute(_WINDOWS, {"tariff_id": tariff_id}):
        windows[row.period_id].append(Window(row.day_type, row.start_hour, row.end_hour))
    periods: dict[int, list[Period]] = defaultdict(list)
    for row in conn.execute(_PERIODS, {"tariff_id": tariff_id}):
        periods[row.version_id].append(Period(row.name, row.price, tuple(windows[row.id])))
    return periods


def load_versions(conn: Connection, tariff_id: int) -> tuple[TariffVersion, ...]:
    """Every version of a tariff with its periods, tiers and taxes, oldest first."""
    periods = _periods(conn, tariff_id)
    tiers: dict[int, list[Tier]] = defaultdict(list)
    for row in conn.execute(_TIERS, {"tariff_id": tariff_id}):
        tiers[row.version_id].append(Tier(row.up_to, row.price))
    taxes: dict[int, list[Tax]] = defaultdict(list)
    for row in conn.execute(_TAXES, {"tariff_id": tariff_id}):
        taxes[row.version_id].append(Tax(row.name, row.rate))
    return tuple(
        TariffVersion(row.valid_from, row.fixed_fee, row.minimum_charge, tuple(periods[row.id]), tuple(tiers[row.id]),
                      tuple(taxes[row.id]), row.currency, row.id)
        for row in conn.execute(_VERSIONS, {"tariff_id": tariff_id}))


def load_surcharges(conn: Connection, tariff_id: int) -> tuple[Surcharge, ...]:
    """The tariff's monthly surcharges, oldest month first."""
    rows = conn.execute(_SURCHARGES, {"tariff_id": tariff_id})
    return tuple(Surcharge(row.month, row.value, row.label) for row in rows)


def load_tariff(conn: Connection, scope: Scope, account_id: int, metric_id: int) -> Tariff | None:
    """The tariff with its versions and surcharges, None when absent or outside the scope."""
    tariff = find_tariff(conn, scope, account_id, metric_id)
    if tariff is None:
        return None
    return dataclasses.replace(tariff, versions=load_versions(conn, tariff.id),
                               surcharges=load_surcharges(conn, tariff.id))


def hourly_usage(conn: Connection, scope: Scope, account_id: int, metric_id: int, lo: datetime, hi: datetime,
                 device_ids: Sequence[int] = ()) -> list[Usage]:
    """Hourly rollup rows of [lo, hi) of one account and metric (some devices, or all), in time order.

    Rollups store double precision; each becomes the shortest decimal that reads back as that double,
    so 0.1 kWh is priced as 0.1, not as 0.1000000000000000055….
    """
    params = {**scope.params(), "account_id": account_id, "metric_id": metric_id, "lo": lo, "hi": hi,
              "any_device": not device_ids, "devices": list(device_ids)}
    return [Usage(row.device_id, row.bucket, Decimal(repr(float(row.consumption))))
            for row in conn.execute(_USAGE, params)]


def insert_tariff(conn: Connection, account_id: int, metric_id: int, name: str, subdivision: str | None) -> int:
    """A new tariff row; its id."""
    return conn.execute(_INSERT_TARIFF, {"account_id": account_id, "metric_id": metric_id, "name": name,
                                         "subdivision": subdivision}).scalar_one()


def update_tariff(conn: Connection, tariff_id: int, name: str, subdivision: str | None) -> None:
    """Name and holiday state of a tariff."""
    conn.execute(_UPDATE_TARIFF, {"tariff_id": tariff_id, "name": name, "subdivision": subdivision})


def delete_tariff(conn: Connection, tariff_id: int) -> None:
    """The tariff and, by cascade, its versions and surcharges."""
    conn.execute(_DELETE_TARIFF, {"tariff_id": tariff_id})


def insert_version(conn: Connection, tariff_id: int, version: TariffVersion) -> int:
    """A version and its children; the caller has removed any version of the same date."""
    version_id = conn.execute(_INSERT_VERSION, {
        "tariff_id": tariff_id, "valid_from": version.valid_from, "currency": version.currency,
        "fixed_fee": version.fixed_fee, "minimum_charge": version.minimum_charge}).scalar_one()
    for position, period in enumerate(version.periods):
        period_id = conn.execute(_INSERT_PERIOD, {"version_id": version_id, "position": position,
                                                  "name": period.name, "price": period.price}).scalar_one()
        if period.windows:
            conn.execute(_INSERT_WINDOW, [{"period_id": period_id, "position": i, "day_type": w.day_type,
                                           "start_hour": w.start_hour, "end_hour": w.end_hour}
                                          for i, w in enumerate(period.windows)])
    if version.tiers:
        conn.execute(_INSERT_TIER, [{"version_id": version_id, "position": i, "up_to": t.up_to, "price": t.price}
                                    for i, t in enumerate(version.tiers)])
    if version.taxes:
        conn.execute(_INSERT_TAX, [{"version_id": version_id, "position": i, "name": t.name, "rate": t.rate}
                                   for i, t in enumerate(version.taxes)])
    return version_id


def delete_version(conn: Connection, tariff_id: int, valid_from: date) -> bool:
    """The version of that date with its children (cascade); whether one existed."""
    return conn.execute(_DELETE_VERSION, {"tariff_id": tariff_id, "valid_from": valid_from}).rowcount > 0


def upsert_surcharge(conn: Connection, tariff_id: int, surcharge: Surcharge) -> None:
    """A month's surcharge, replacing the one entered before for that month."""
    conn.execute(_UPSERT_SURCHARGE, {"tariff_id": tariff_id, "month": surcharge.month, "value": surcharge.value,
                                     "label": surcharge.label})


def delete_surcharge(conn: Connection, tariff_id: int, month: date) -> bool:
    """A month's surcharge; whether one existed."""
    return conn.execute(_DELETE_SURCHARGE, {"tariff_id": tariff_id, "month": month}).rowcount > 0


def rollup_zone(conn: Connection) -> str | None:
    """The zone the rollups were cut in (TDS_TIMEZONE at the last start); None before the first start."""
    return conn.execute(sa.text("SELECT timezone FROM rollup_settings")).scalar_one_or_none()
