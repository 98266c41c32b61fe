"""Resolving what a caller names (account id, metric name) within the viewer's scope."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.tariffs import queries
from tds_dash.tariffs.model import Tariff
from tds_dash.tariffs.validation import TariffInputError


def account_metric(conn: Connection, scope: Scope, account_id: Any, metric: str) -> tuple[int, queries.MetricRow]:
    """The account (in scope) and the consumption metric named, or a TariffInputError.

    An account outside the scope gets the same answer as one that does not exist.
    """
    try:
        account = int(account_id)
    except (TypeError, ValueError):
        raise TariffInputError("account", "unknown account") from None
    if not queries.account_visible(conn, scope, account):
        raise TariffInputError("account", "unknown account")
    row = queries.find_metric(conn, str(metric or ""))
    if row is None:
        raise TariffInputError("metric", f"unknown metric {metric!r}")
    if row.meter_kind == "gauge":
        raise TariffInputError("metric", f"{metric!r} has no consumption to price (it is a gauge)")
    return account, row


def existing_tariff(conn: Connection, scope: Scope, account_id: Any, metric: str) -> Tariff:
    """The tariff with versions and surcharges, or a TariffInputError when the account has none."""
    account, row = account_metric(conn, scope, account_id, metric)
    tariff = queries.load_tariff(conn, scope, account, row.id)
    if tariff is None:
        raise TariffInputError("metric", f"this account has no tariff for {metric!r}")
    return tariff
