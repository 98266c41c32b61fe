"""What pages and routes call: tariff CRUD with audit, and costs per bucket. Plain values in, typed rows out.

Every function takes an open connection (the caller owns the transaction: tds_dash.db.session_scope),
the viewer's Scope and plain values. An account outside the scope is reported exactly like one that does
not exist. Writes need an Actor allowed to manage the fleet (admin, operator) and are audited in the
same transaction.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.queries.users import record_audit
from tds_dash.tariffs import queries
from tds_dash.tariffs.costs import (
    CostBreakdown,
    DeviceCost,
    DeviceSums,
    consumption_with_cost,
    cost_breakdown,
    device_sums,
    running_totals,
)
from tds_dash.tariffs.lookup import account_metric, existing_tariff
from tds_dash.tariffs.model import Surcharge, Tariff, TariffVersion, to_plain
from tds_dash.tariffs.preview import Preview, preview_month
from tds_dash.tariffs.validation import (
    TariffInputError,
    parse_date,
    parse_month,
    parse_surcharge,
    parse_tariff,
    parse_version,
)

__all__ = ["Actor", "CostBreakdown", "DeviceCost", "DeviceSums", "Preview", "TariffInputError", "TariffPermissionError",
           "consumption_with_cost", "cost_breakdown", "create_tariff", "device_sums", "delete_surcharge", "delete_tariff", "delete_version", "get_tariff",
           "list_tariffs", "preview_month", "running_totals", "save_version", "set_surcharge", "update_tariff"]

MANAGER_ROLES = ("admin", "operator")  # who may change the fleet may change its tariffs


class TariffPermissionError(PermissionError):
    """The actor may read but not change tariffs."""


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who makes a change, for the permission check and the audit log."""

    user_id: int | None
    username: str
    role: str
    address: str | None = None

    @classmethod
    def of(cls, user: Any, address: str | None = None) -> Actor:
        """From a UserRow (e.g. tds_dash.auth.current_row())."""
        return cls(user.id, user.username, user.role, address)


def _require_manager(actor: Actor) -> None:
    if actor.role not in MANAGER_ROLES:
        raise TariffPermissionError(f"{actor.username} may not change tariffs")


def _audit(conn: Connection, actor: Actor, action: str, entity: str, entity_id: object, account_id: int,
           before: Any = None, after: Any = None) -> None:
    record_audit(conn, actor.user_id, actor.username, action, entity, entity_id, account_id,
                 None if before is None else to_plain(before), None if after is None else to_plain(after),
                 actor.address)


def get_tariff(conn: Connection, scope: Scope, account_id: Any, metric: str) -> Tariff | None:
    """The tariff with its versions and surcharges, or None when the account has none for the metric."""
    account, row = account_metric(conn, scope, account_id, metric)
    return queries.load_tariff(conn, scope, account, row.id)


def list_tariffs(conn: Connection, scope: Scope, account_id: int | None = None) -> list[Tariff]:
    """Tariffs (without versions) of the viewer's accounts, or of one of them."""
    return queries.list_tariffs(conn, scope, account_id)


def create_tariff(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str,
                  data: Mapping) -> Tariff:
    """A new tariff for an account and metric: {'name': …, 'holiday_subdivision': 'SP' or empty}."""
    _require_manager(actor)
    account, row = account_metric(conn, scope, account_id, metric)
    name, subdivision = parse_tariff(data)
    if queries.find_tariff(conn, scope, account, row.id) is not None:
        raise TariffInputError("metric", f"this account already has a tariff for {metric!r}")
    tariff_id = queries.insert_tariff(conn, account, row.id, name, subdivision)
    tariff = Tariff(tariff_id, account, row.id, row.name, name, subdivision)
    _audit(conn, actor, "create", "tariff", tariff_id, account, after=tariff)
    return tariff


def update_tariff(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str,
                  data: Mapping) -> Tariff:
    """Rename a tariff or change its holiday state."""
    _require_manager(actor)
    tariff = existing_tariff(conn, scope, account_id, metric)
    name, subdivision = parse_tariff(data)
    queries.update_tariff(conn, tariff.id, name, subdivision)
    after = dataclasses.replace(tariff, name=name, holiday_subdivision=subdivision)
    _audit(conn, actor, "update", "tariff", tariff.id, tariff.account_id,
           before={"name": tariff.name, "holiday_subdivision": tariff.holiday_subdivision},
           after={"name": name, "holiday_subdivision": subdivision})
    return after


def delete_tariff(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str) -> None:
    """The tariff with all its versions and surcharges (the audit log keeps them)."""
    _require_manager(actor)
    tariff = existing_tariff(conn, scope, account_id, metric)
    queries.delete_tariff(conn, tariff.id)
    _audit(conn, actor, "delete", "tariff", tariff.id, tariff.account_id, before=tariff)


def save_version(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str,
                 data: Mapping) -> TariffVersion:
    """Add a version from its valid_from on, or replace the one of that date (retroactive entry allowed)."""
    _require_manager(actor)
    tariff = existing_tariff(conn, scope, account_id, metric)
    version = parse_version(data)
    before = next((v for v in tariff.versions if v.valid_from == version.valid_from), None)
    if before is not None:
        queries.delete_version(conn, tariff.id, version.valid_from)
    saved = dataclasses.replace(version, id=queries.insert_version(conn, tariff.id, version))
    _audit(conn, actor, "update" if before else "create", "tariff_version", saved.id, tariff.account_id,
           before=before, after={"tariff_id": tariff.id, **to_plain(saved)})
    return saved


def delete_version(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str,
                   valid_from: Any) -> None:
    """Remove a version: the one before it stays in force until the next."""
    _require_manager(actor)
    tariff, day = existing_tariff(conn, scope, account_id, metric), parse_date(valid_from, "valid_from")
    before = next((v for v in tariff.versions if v.valid_from == day), None)
    if before is None:
        raise TariffInputError("valid_from", f"no version starts on {day.isoformat()}")
    queries.delete_version(conn, tariff.id, day)
    _audit(conn, actor, "delete", "tariff_version", before.id, tariff.account_id, before=before)


def set_surcharge(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str,
                  data: Mapping) -> Surcharge:
    """Enter or change one month's surcharge per unit: {'month': '2026-11', 'value': '0,01885', 'label': …}."""
    _require_manager(actor)
    tariff = existing_tariff(conn, scope, account_id, metric)
    surcharge = parse_surcharge(data)
    before = next((s for s in tariff.surcharges if s.month == surcharge.month), None)
    queries.upsert_surcharge(conn, tariff.id, surcharge)
    _audit(conn, actor, "update" if before else "create", "tariff_surcharge", f"{tariff.id}:{surcharge.month:%Y-%m}",
           tariff.account_id, before=before, after=surcharge)
    return surcharge


def delete_surcharge(conn: Connection, scope: Scope, actor: Actor, account_id: Any, metric: str,
                     month: Any) -> None:
    """Remove one month's surcharge (that month then has none)."""
    _require_manager(actor)
    tariff, first = existing_tariff(conn, scope, account_id, metric), parse_month(month)
    before = next((s for s in tariff.surcharges if s.month == first), None)
    if before is None:
        raise TariffInputError("month", f"no surcharge for {first:%Y-%m}")
    queries.delete_surcharge(conn, tariff.id, first)
    _audit(conn, actor, "delete", "tariff_surcharge", f"{tariff.id}:{first:%Y-%m}", tariff.account_id, before=before)

