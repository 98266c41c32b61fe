"""Reads and writes behind the devices list and form: paging, save with a base version, delete and purge."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tds_dash.queries.fleet import Page, SaveResult, like_pattern, order_clause
from tds_dash.queries.scope import IN_SCOPE, Scope

# 'never': nothing stored yet (the writer creates device_metrics rows with the first reading).
DEVICE_STATUS = (
    "CASE WHEN NOT d.active OR NOT g.active THEN 'inactive' WHEN d.silent_since IS NOT NULL THEN 'silent'"
    " WHEN NOT EXISTS (SELECT 1 FROM device_metrics dm WHERE dm.device_id = d.id) THEN 'never'"
    " WHEN g.status = 'offline' THEN 'offline' ELSE 'online' END"
)
_DEVICE_FROM = (
    " FROM devices d JOIN gateways g ON g.id = d.gateway_id JOIN accounts a ON a.id = d.account_id"
    " WHERE d.account_id " + IN_SCOPE
    + " AND (CAST(:account_id AS bigint) IS NULL OR d.account_id = :account_id)"
    " AND (CAST(:gateway_id AS bigint) IS NULL OR d.gateway_id = :gateway_id)"
    " AND (d.code ILIKE :pattern ESCAPE '\\' OR d.name ILIKE :pattern ESCAPE '\\' OR g.serial ILIKE :pattern ESCAPE '\\')"
    " AND (CAST(:status AS text) IS NULL OR " + DEVICE_STATUS + " = :status"
    "      OR (:status = 'new' AND d.provisioned = 'auto' AND d.reviewed_at IS NULL))"
)
_DEVICE_COLUMNS = (
    "SELECT d.id, d.code, d.name, d.kind, d.active, d.provisioned, d.version, d.created_at, d.silent_since,"
    " d.provisioned = 'auto' AND d.reviewed_at IS NULL AS is_new, d.gateway_id, g.serial AS gateway,"
    " d.account_id, a.name AS account, " + DEVICE_STATUS + " AS status"
)
DEVICE_SORTS = {"code": "d.code", "name": "d.name", "gateway": "g.serial", "account": "a.name",
                "status": "status", "created_at": "d.created_at"}
# Newest reading over the device's metrics, each probe a backward walk of the readings primary key;
# computed only for the rows of the page.
_LAST_READING = (
    "(SELECT max(x.ts) FROM device_metrics dm CROSS JOIN LATERAL (SELECT r.ts FROM readings r"
    " WHERE r.device_id = dm.device_id AND r.metric_id = dm.metric_id ORDER BY r.ts DESC LIMIT 1) x"
    " WHERE dm.device_id = p.id)"
)


def list_devices_page(conn: Connection, scope: Scope, *, account_id: int | None = None,
                      gateway_id: int | None = None, search: str = "", status: str | None = None,
                      sort: str = "code", descending: bool = False, offset: int = 0, limit: int = 20) -> Page:
    """The devices list: filtered by account, gateway, text and status ('new' too), sorted and paged in SQL."""
    params = {**scope.params(), "account_id": account_id, "gateway_id": gateway_id, "pattern": like_pattern(search),
              "status": status or None, "offset": max(0, offset), "limit": max(1, min(limit, 500))}
    total = conn.execute(sa.text("SELECT count(*)" + _DEVICE_FROM), params).scalar_one()
    order = order_clause(DEVICE_SORTS, sort, descending, "d.id")
    statement = sa.text(
        "SELECT p.*, " + _LAST_READING + " AS last_reading_at FROM (" + _DEVICE_COLUMNS + _DEVICE_FROM + order
        + " LIMIT :limit OFFSET :offset) p" + order_clause({k: "p." + k for k in DEVICE_SORTS}, sort, descending, "p.id")
    )
    return Page([dict(row) for row in conn.execute(statement, params).mappings()], total)


_DEVICE_ONE = sa.text(
    _DEVICE_COLUMNS + " FROM devices d JOIN gateways g ON g.id = d.gateway_id JOIN accounts a ON a.id = d.account_id"
    " WHERE d.id = :id AND d.account_id " + IN_SCOPE
)
_DEVICE_METRICS = sa.text(
    "SELECT dm.metric_id, m.name AS metric, dm.meter_kind, dm.unit, dm.rollover_value, dm.usual_interval_s"
    " FROM device_metrics dm JOIN metrics m ON m.id = dm.metric_id JOIN devices d ON d.id = dm.device_id"
    " WHERE dm.device_id = :id AND d.account_id " + IN_SCOPE + " ORDER BY m.name"
)


def get_device(conn: Connection, scope: Scope, device_id: int) -> dict | None:
    """One device of the scope with its metric settings; None when missing or out of scope."""
    row = conn.execute(_DEVICE_ONE, {**scope.params(), "id": device_id}).mappings().first()
    if row is None:
        return None
    metrics = conn.execute(_DEVICE_METRICS, {**scope.params(), "id": device_id}).mappings()
    return {**row, "metrics": [dict(metric) for metric in metrics]}


_ONE_LAST_READING = sa.text(
    "SELECT " + _LAST_READING + " FROM (SELECT d.id FROM devices d WHERE d.id = :id AND d.account_id " + IN_SCOPE
    + ") p"
)


def last_reading_at(conn: Connection, scope: Scope, device_id: int) -> datetime | None:
    """The newest reading's time over the device's metrics (as the list shows it); None without readings."""
    return conn.execute(_ONE_LAST_READING, {**scope.params(), "id": device_id}).scalar_one_or_none()


_GATEWAY_CHOICES = sa.text(
    "SELECT g.id, g.serial, g.name, g.account_id FROM gateways g WHERE g.account_id " + IN_SCOPE
    + " AND (CAST(:account_id AS bigint) IS NULL OR g.account_id = :account_id) ORDER BY g.serial"
)


def list_gateway_choices(conn: Connection, scope: Scope, account_id: int | None = None) -> list[dict]:
    return [dict(row) for row in conn.execute(_GATEWAY_CHOICES, {**scope.params(), "account_id": account_id}).mappings()]


_CODE_TAKEN = sa.text(
    "SELECT EXISTS (SELECT 1 FROM devices WHERE gateway_id = coalesce(CAST(:gateway_id AS bigint),"
    " (SELECT gateway_id FROM devices WHERE id = :id)) AND code = :code AND id <> :id)"
)
_INSERT_DEVICE = sa.text(
    "INSERT INTO devices (gateway_id, account_id, code, name, kind, active, provisioned, reviewed_at)"
    " SELECT g.id, g.account_id, :code, :name, :kind, :active, 'manual', now() FROM gateways g"
    " WHERE g.id = :gateway_id AND g.account_id " + IN_SCOPE + " RETURNING id, version"
)
# The gateway is fixed once created: readings carry it. Saving reviews an auto-provisioned device.
_UPDATE_DEVICE = sa.text(
    "UPDATE devices SET code = :code, name = :name, kind = :kind, active = :active, reviewed_at = now(),"
    " version = version + 1, updated_at = now()"
    " WHERE id = :id AND version = :version AND account_id " + IN_SCOPE + " RETURNING id, version"
)
_DEVICE_EXISTS = sa.text("SELECT EXISTS (SELECT 1 FROM devices WHERE id = :id AND account_id " + IN_SCOPE + ")")


def code_taken(conn: Connection, code: str, gateway_id: int | None, device_id: int | None = None) -> bool:
    """Codes are unique per gateway; editing, the device's own gateway is used."""
    return conn.execute(_CODE_TAKEN, {"gateway_id": None if device_id else gateway_id, "code": code,
                                      "id": device_id or -1}).scalar_one()


def save_device(conn: Connection, scope: Scope, values: dict, device_id: int | None = None,
                version: int | None = None, metrics: list[dict] | None = None, timezone: str | None = None
                ) -> SaveResult:
    """Create (no id) or update a device, and on update its metric settings, from validated values."""
    if code_taken(conn, values["code"], values.get("gateway_id"), device_id):
        return SaveResult("invalid", problems={"code": "code_taken"})
    params = {**scope.params(), **values, "id": device_id, "version": version}
    try:
        with conn.begin_nested():
            row = conn.execute(_UPDATE_DEVICE if device_id else _INSERT_DEVICE, params).first()
    except sa.exc.IntegrityError:
        return SaveResult("invalid", problems={"code": "code_taken"})
    if row is None:
        if device_id is None:
            return SaveResult("invalid", problems={"gateway_id": "choice"})
        found = conn.execute(_DEVICE_EXISTS, {**scope.params(), "id": device_id}).scalar_one()
        return SaveResult("conflict" if found else "missing", device_id)
    since = _save_metrics(conn, row.id, metrics, timezone) if device_id and metrics else None
    return SaveResult("ok", row.id, row.version, recomputed_since=since)


_UPDATE_METRIC = sa.text(
    "UPDATE device_metrics SET meter_kind = :meter_kind, unit = :unit, rollover_value = :rollover_value,"
    " usual_interval_s = :usual_interval_s, updated_at = now()"
    " WHERE device_id = :device_id AND metric_id = :metric_id"
    " AND (meter_kind, unit, rollover_value, usual_interval_s)"
    "     IS DISTINCT FROM (:meter_kind, :unit, CAST(:rollover_value AS double precision),"
    "                       CAST(:usual_interval_s AS integer))"
    " RETURNING meter_kind, rollover_value"
)
_EARLIEST = sa.text("SELECT min(ts) FROM readings WHERE device_id = :device_id AND metric_id = :metric_id")
_RECOMPUTE = sa.text(
    "SELECT tds_refresh_rollups(ARRAY[CAST(:device_id AS bigint)], ARRAY[CAST(:metric_id AS smallint)],"
    " ARRAY[CAST(:since AS timestamptz)], :timezone)"
)


def _save_metrics(conn: Connection, device_id: int, metrics: list[dict], timezone: str | None) -> datetime | None:
    """Meter settings per metric; a changed setting recomputes that key's consumption and rollups.

    Returns the earliest instant recomputed (None: nothing was), for the continuous aggregates on TimescaleDB."""
    earliest = None
    for metric in metrics:
        changed = conn.execute(_UPDATE_METRIC, {**metric, "device_id": device_id}).first()
        if changed is None or timezone is None:
            continue
        since = conn.execute(_EARLIEST, {"device_id": device_id, "metric_id": metric["metric_id"]}).scalar_one()
        if since is not None:
            conn.execute(_RECOMPUTE, {"device_id": device_id, "metric_id": metric["metric_id"], "since": since,
                                      "timezone": timezone})
            earliest = since if earliest is None else min(earliest, since)
    return earliest


_SET_DEVICE_ACTIVE = sa.text(
    "UPDATE devices SET active = :active, version = version + 1, updated_at = now()"
    " WHERE id = :id AND version = :version AND account_id " + IN_SCOPE + " RETURNING id, version"
)


def set_device_active(conn: Connection, scope: Scope, device_id: int, version: int, active: bool) -> SaveResult:
    row = conn.execute(_SET_DEVICE_ACTIVE, {**scope.params(), "id": device_id, "version": version,
                                            "active": active}).first()
    if row is None:
        found = conn.execute(_DEVICE_EXISTS, {**scope.params(), "id": device_id}).scalar_one()
        return SaveResult("conflict" if found else "missing", device_id)
    return SaveResult("ok", row.id, row.version)


_LOCK_DEVICE = sa.text(
    "SELECT id FROM devices WHERE id = :id AND version = :version AND account_id " + IN_SCOPE + " FOR UPDATE"
)
_READINGS_COUNT = sa.text("SELECT count(*) FROM readings WHERE device_id = :id")
_READING_RANGE = sa.text("SELECT min(ts), max(ts), count(*) FROM readings WHERE device_id = :id")
# Relations keyed by device_id without a foreign key (hypertables and rollups cannot cascade cheaply).
PURGED_TABLES = ("readings", "consumption_hourly", "consumption_daily", "consumption_monthly", "meter_corrections")
_FLEET_TABLES = ("fleet_hourly",)  # gateway totals (sql/080): rebuilt, not deleted by device
_REBUILD_FLEET_GATEWAY = sa.text("SELECT tds_rebuild_fleet_gateway(:gateway_id)")
_BASE_TABLES = sa.text(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    " AND table_type = 'BASE TABLE' AND table_name = ANY(:names)"
)


def reading_count(conn: Connection, scope: Scope, device_id: int) -> int:
    """Readings stored for a device of the scope (what a purge would remove)."""
    if not conn.execute(_DEVICE_EXISTS, {**scope.params(), "id": device_id}).scalar_one():
        return 0
    return conn.execute(_READINGS_COUNT, {"id": device_id}).scalar_one()


@dataclasses.dataclass(frozen=True)
class Span:
    """Time span of purged or recomputed readings: continuous aggregates over it are refreshed after commit."""

    start: datetime
    end: datetime


def delete_device(conn: Connection, scope: Scope, device_id: int, version: int,
                  purge: bool = False) -> tuple[SaveResult, Span | None]:
    """Delete a device; with readings it is refused unless purge, which removes readings and rollups too."""
    if conn.execute(_LOCK_DEVICE, {**scope.params(), "id": device_id, "version": version}).first() is None:
        found = conn.execute(_DEVICE_EXISTS, {**scope.params(), "id": device_id}).scalar_one()
        return SaveResult("conflict" if found else "missing", device_id), None
    start, end, count = conn.execute(_READING_RANGE, {"id": device_id}).one()
    if count and not purge:
        return SaveResult("has_readings", device_id, version, readings=count), None
    tables = set(conn.execute(_BASE_TABLES, {"names": [*PURGED_TABLES, *_FLEET_TABLES]}).scalars())
    for table in PURGED_TABLES:  # a fixed list of names, checked against the catalogue above
        if table in tables:
            conn.execute(sa.text(f"DELETE FROM {table} WHERE device_id = :id"), {"id": device_id})
    gateway_id = conn.execute(sa.text("DELETE FROM devices WHERE id = :id RETURNING gateway_id"),
                              {"id": device_id}).scalar_one()
    if count and "fleet_hourly" in tables:  # plain PostgreSQL: its gateway's totals lose the device
        conn.execute(_REBUILD_FLEET_GATEWAY, {"gateway_id": gateway_id})
    return SaveResult("ok", device_id, readings=count), Span(start, end) if count else None


_CAGGS = sa.text(
    "SELECT view_name FROM timescaledb_information.continuous_aggregates WHERE view_name = ANY(:names)"
)
_HAS_TIMESCALE = sa.text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')")
ROLLUP_LEVELS = ("consumption_hourly", "consumption_daily", "consumption_monthly")  # refresh order: hierarchical
FLEET_LEVELS = ("fleet_hourly", "fleet_daily", "fleet_monthly")  # per gateway (sql/080, timescale/081); same order


def purge_device(engine: Engine, scope: Scope, device_id: int, version: int,
                 before_commit: Callable[[Connection, SaveResult], None] | None = None) -> SaveResult:
    """Purge a device in one transaction; on TimescaleDB then refresh the continuous aggregates it fed.

    before_commit(conn, result) runs inside that transaction (the audit record).
    """
    with engine.begin() as conn:
        result, span = delete_device(conn, scope, device_id, version, purge=True)
        if result.ok and before_commit is not None:
            before_commit(conn, result)
    if span is not None:
        refresh_continuous_aggregates(engine, span)
    return result


def refresh_continuous_aggregates(engine: Engine, span: Span) -> None:
    """On TimescaleDB, rebuild the rollup buckets over a span whose readings were purged or recomputed.

    refresh_continuous_aggregate cannot run inside a transaction, so this follows the commit: until it
    finishes (seconds) the materialized buckets may still show the old numbers. No-op on plain PostgreSQL,
    where the rollup tables changed in the same transaction.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(_HAS_TIMESCALE).scalar_one():
            return
        names = set(conn.execute(_CAGGS, {"names": [*ROLLUP_LEVELS, *FLEET_LEVELS]}).scalars())
        # Widen to whole months (plus a day for zone offsets) so every bucket touching the span is rebuilt.
        start, end = span.start - timedelta(days=32), span.end + timedelta(days=32)
        for name in (level for level in (*ROLLUP_LEVELS, *FLEET_LEVELS) if level in names):  # fixed, in order
            conn.execute(sa.text(f"CALL refresh_continuous_aggregate('{name}', :start, :end)"),
                         {"start": start, "end": end})
