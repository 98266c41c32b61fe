"""What a month would have cost: under the tariff as stored, and under a version being entered (not saved)."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from tds_dash.queries.scope import Scope
from tds_dash.tariffs.costs import month_lines
from tds_dash.tariffs.engine import ZERO, exact
from tds_dash.tariffs.lookup import existing_tariff
from tds_dash.tariffs.model import Tariff
from tds_dash.tariffs.validation import parse_version


@dataclasses.dataclass(frozen=True)
class Preview:
    """A whole local month's exact cost under the stored tariff and, when given, under a draft version."""

    month: date
    stored: Decimal
    draft: Decimal | None


def _month_cost(conn: Connection, scope: Scope, tariff: Tariff, month: date, zone: ZoneInfo, cached: bool) -> Decimal:
    with exact():
        return sum((line.amount for line in month_lines(conn, scope, tariff, month, zone, cached=cached)), ZERO)


def preview_month(conn: Connection, scope: Scope, account_id: int, metric: str, month: date, zone: ZoneInfo,
                  draft: Mapping | None = None) -> Preview:
    """The month's cost as stored, and as if the draft version (checked like a save) had been in force all month.

    The draft is priced from the month's 1st whatever its valid_from, with the tariff's own surcharges, so
    the two figures differ only by the terms being entered. Raises TariffInputError like save_version.
    """
    tariff = existing_tariff(conn, scope, account_id, metric)
    first = month.replace(day=1)
    stored = _month_cost(conn, scope, tariff, first, zone, True)
    if draft is None:
        return Preview(first, stored, None)
    version = dataclasses.replace(parse_version({**draft, "valid_from": draft.get("valid_from") or first}),
                                  valid_from=first)
    draft_tariff = dataclasses.replace(tariff, versions=(version,))  # not stored: priced live, never cached
    return Preview(first, stored, _month_cost(conn, scope, draft_tariff, first, zone, False))
