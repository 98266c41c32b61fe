"""Writes and reads of the fleet itself: accounts, gateways, devices."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.filters import list_accounts  # noqa: F401  one query for the account choices, re-exported
from tds_dash.queries.scope import IN_SCOPE, Scope

# --------------------------------------------------------------------------- the fleet pages


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list and the number of rows matching the filters."""

    rows: list[dict]
    total: int


@dataclasses.dataclass(frozen=True)
class SaveResult:
    """What a write did. status: ok | invalid (problems) | conflict (edited meanwhile) | missing |
    has_readings (delete refused: deactivate or purge instead)."""

    status: str
    id: int | None = None
    version: int | None = None
    problems: dict[str, str] = dataclasses.field(default_factory=dict)  # field -> problem code (e.g. serial_taken)
    readings: int = 0
    recomputed_since: datetime | None = None  # meter settings changed: consumption recomputed from here

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def like_pattern(search: str | None) -> str:
    """An ILIKE pattern matching the text anywhere, with the user's % and _ taken literally."""
    text = (search or "").strip()[:100]
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# Shown status; the presence job keeps gateways.status current, the fallback covers a process without it.
GATEWAY_STATUS = (
    "CASE WHEN NOT g.active THEN 'inactive' WHEN g.status IS NOT NULL THEN g.status"
    " WHEN g.last_seen_at IS NULL THEN 'never'"
    " WHEN g.last_seen_at > :now - g.inactivity_timeout_s * interval '1 second' THEN 'online' ELSE 'offline' END"
)
_GATEWAY_FROM = (
    " FROM gateways g JOIN accounts a ON a.id = g.account_id WHERE g.account_id " + IN_SCOPE
    + " AND (CAST(:account_id AS bigint) IS NULL OR g.account_id = :account_id)"
    " AND (g.serial ILIKE :pattern ESCAPE '\\' OR g.name ILIKE :pattern ESCAPE '\\'"
    "      OR g.location ILIKE :pattern ESCAPE '\\')"
    " AND (CAST(:status AS text) IS NULL OR " + GATEWAY_STATUS + " = :status)"
)
_GATEWAY_COLUMNS = (
    "SELECT g.id, g.serial, g.name, g.location, g.account_id, a.name AS account, a.slug AS account_slug,"
    " g.active, g.inactivity_timeout_s, g.last_seen_at, g.status_since, g.status_reason, g.seq_gaps, g.version,"
    " g.created_at, " + GATEWAY_STATUS + " AS status,"
    " (SELECT count(*) FROM devices d WHERE d.gateway_id = g.id) AS devices"
)
# Sort keys the lists accept; anything else falls back to the first. Constants, never user text.
GATEWAY_SORTS = {"serial": "g.serial", "name": "g.name", "account": "a.name", "status": "status",
                 "last_seen_at": "g.last_seen_at", "devices": "devices"}


def order_clause(sorts: dict[str, str], key: str | None, descending: bool, tiebreak: str) -> str:
    column = sorts.get(key or "", next(iter(sorts.values())))
    direction = "DESC NULLS LAST" if descending else "ASC NULLS FIRST"
    return f" ORDER BY {column} {direction}, {tiebreak}"


def list_gateways_page(conn: Connection, scope: Scope, now: datetime, *, account_id: int | None = None,
                       search: str = "", status: str | None = None, sort: str = "serial", descending: bool = False,
                       offset: int = 0, limit: int = 20) -> Page:
    """The gateways list: filtered by account, text and shown status, sorted and paged in SQL."""
    params = {**scope.params(), "now": now, "account_id": account_id, "pattern": like_pattern(search),
              "status": status or None, "offset": max(0, offset), "limit": max(1, min(limit, 500))}
    total = conn.execute(sa.text("SELECT count(*)" + _GATEWAY_FROM), params).scalar_one()
    statement = sa.text(_GATEWAY_COLUMNS + _GATEWAY_FROM + order_clause(GATEWAY_SORTS, sort, descending, "g.id")
                        + " LIMIT :limit OFFSET :offset")
    return Page([dict(row) for row in conn.execute(statement, params).mappings()], total)


_GATEWAY_ONE = sa.text(
    _GATEWAY_COLUMNS + " FROM gateways g JOIN accounts a ON a.id = g.account_id WHERE g.account_id " + IN_SCOPE
    + " AND (g.id = CAST(:gateway_id AS bigint) OR g.serial = CAST(:serial AS text))"
)


def get_gateway(conn: Connection, scope: Scope, now: datetime, gateway_id: int | None = None,
                serial: str | None = None) -> dict | None:
    """One gateway of the scope, by id or serial; None when it does not exist or is out of scope."""
    row = conn.execute(_GATEWAY_ONE, {**scope.params(), "now": now, "gateway_id": gateway_id,
                                      "serial": serial}).mappings().first()
    return dict(row) if row else None


_SERIAL_TAKEN = sa.text("SELECT EXISTS (SELECT 1 FROM gateways WHERE serial = :serial AND id <> :id)")
_INSERT_GATEWAY = sa.text(
    "INSERT INTO gateways (account_id, serial, name, location, inactivity_timeout_s, active)"
    " SELECT :account_id, :serial, :name, :location, :inactivity_timeout_s, :active"
    " WHERE :account_id " + IN_SCOPE + " RETURNING id, version"
)
# The account is fixed once created: devices and readings carry it, and moving them is not an edit.
_UPDATE_GATEWAY = sa.text(
    "UPDATE gateways SET serial = :serial, name = :name, location = :location,"
    " inactivity_timeout_s = :inactivity_timeout_s, active = :active, version = version + 1, updated_at = now()"
    " WHERE id = :id AND version = :version AND account_id " + IN_SCOPE + " RETURNING id, version"
)
_GATEWAY_EXISTS = sa.text("SELECT EXISTS (SELECT 1 FROM gateways WHERE id = :id AND account_id " + IN_SCOPE + ")")


def serial_taken(conn: Connection, serial: str, gateway_id: int | None = None) -> bool:
    """Serials are unique across all accounts (they are MQTT topic segments)."""
    return conn.execute(_SERIAL_TAKEN, {"serial": serial, "id": gateway_id or -1}).scalar_one()


def save_gateway(conn: Connection, scope: Scope, values: dict, gateway_id: int | None = None,
                 version: int | None = None) -> SaveResult:
    """Create (no id) or update a gateway from validated form values; the update names its base version."""
    if serial_taken(conn, values["serial"], gateway_id):
        return SaveResult("invalid", problems={"serial": "serial_taken"})
    params = {**scope.params(), **values, "id": gateway_id, "version": version}
    try:
        with conn.begin_nested():  # a concurrent insert of the same serial fails only this savepoint
            row = conn.execute(_UPDATE_GATEWAY if gateway_id else _INSERT_GATEWAY, params).first()
    except sa.exc.IntegrityError:
        return SaveResult("invalid", problems={"serial": "serial_taken"})
    if row is None:
        return _missing_or_conflict(conn, scope, _GATEWAY_EXISTS, gateway_id)
    return SaveResult("ok", row.id, row.version)


def _missing_or_conflict(conn: Connection, scope: Scope, exists, row_id: int | None) -> SaveResult:
    if row_id is None:
        return SaveResult("missing")
    found = conn.execute(exists, {**scope.params(), "id": row_id}).scalar_one()
    return SaveResult("conflict" if found else "missing", row_id)


_SET_GATEWAY_ACTIVE = sa.text(
    "UPDATE gateways SET active = :active, version = version + 1, updated_at = now()"
    " WHERE id = :id AND version = :version AND account_id " + IN_SCOPE + " RETURNING id, version"
)


def set_gateway_active(conn: Connection, scope: Scope, gateway_id: int, version: int, active: bool) -> SaveResult:
    row = conn.execute(_SET_GATEWAY_ACTIVE, {**scope.params(), "id": gateway_id, "version": version,
                                             "active": active}).first()
    if row is None:
        return _missing_or_conflict(conn, scope, _GATEWAY_EXISTS, gateway_id)
    return SaveResult("ok", row.id, row.version)


_GATEWAY_READINGS = sa.text(
    "SELECT count(*) FROM (SELECT 1 FROM devices d WHERE d.gateway_id = :id"
    " AND EXISTS (SELECT 1 FROM readings r WHERE r.device_id = d.id)) x"
)
_GATEWAYS_WITH_READINGS = sa.text(
    "SELECT DISTINCT d.gateway_id FROM devices d WHERE d.gateway_id = ANY(:ids)"
    " AND EXISTS (SELECT 1 FROM readings r WHERE r.device_id = d.id)"
)


def gateways_with_readings(conn: Connection, gateway_ids: list[int]) -> set[int]:
    """Those of the listed gateways that cannot be deleted (a device has readings): the list offers deactivate."""
    if not gateway_ids:
        return set()
    return {row[0] for row in conn.execute(_GATEWAYS_WITH_READINGS, {"ids": list(gateway_ids)})}


_LOCK_GATEWAY = sa.text(
    "SELECT id FROM gateways WHERE id = :id AND version = :version AND account_id " + IN_SCOPE + " FOR UPDATE"
)


def delete_gateway(conn: Connection, scope: Scope, gateway_id: int, version: int,
                   before_delete: Callable[[], None] | None = None) -> SaveResult:
    """Delete a gateway and its devices, refused when any of them has readings (deactivate it instead).

    before_delete runs once the delete is sure to happen, in this transaction (its certificates are revoked)."""
    if conn.execute(_LOCK_GATEWAY, {**scope.params(), "id": gateway_id, "version": version}).first() is None:
        return _missing_or_conflict(conn, scope, _GATEWAY_EXISTS, gateway_id)
    with_readings = conn.execute(_GATEWAY_READINGS, {"id": gateway_id}).scalar_one()
    if with_readings:
        return SaveResult("has_readings", gateway_id, version, readings=with_readings)
    if before_delete is not None:
        before_delete()
    conn.execute(sa.text("DELETE FROM devices WHERE gateway_id = :id"), {"id": gateway_id})
    conn.execute(sa.text("DELETE FROM gateways WHERE id = :id"), {"id": gateway_id})
    return SaveResult("ok", gateway_id)


_SET_AUTO_PROVISION = sa.text(
    "UPDATE accounts SET auto_provision = :enabled WHERE id = :account_id AND id " + IN_SCOPE + " RETURNING id"
)


def set_auto_provision(conn: Connection, scope: Scope, account_id: int, enabled: bool) -> bool:
    """Turn creating devices from traffic on or off for one account; False when out of scope."""
    return conn.execute(_SET_AUTO_PROVISION, {**scope.params(), "account_id": account_id,
                                              "enabled": bool(enabled)}).first() is not None


# Serials that sent traffic but are not registered, under accounts of the scope: 'register this gateway'.
_UNKNOWN_GATEWAYS = sa.text(
    "SELECT r.gateway_serial AS serial, a.id AS account_id, a.slug AS account_slug, a.name AS account,"
    " count(*) AS messages, max(r.received_at) AS last_received_at"
    " FROM rejected_messages r JOIN accounts a ON a.slug = r.account_slug"
    " WHERE r.reason = 'unknown_gateway' AND a.id " + IN_SCOPE
    + " AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.serial = r.gateway_serial)"
    " GROUP BY 1, 2, 3, 4 ORDER BY max(r.received_at) DESC LIMIT :limit"
)


def list_unknown_gateways(conn: Connection, scope: Scope, limit: int = 10) -> list[dict]:
    return [dict(row) for row in conn.execute(_UNKNOWN_GATEWAYS, {**scope.params(), "limit": limit}).mappings()]
