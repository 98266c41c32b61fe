"""Read-only certificate facts the fleet pages show beside a gateway (the certificates package owns the writes)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

EXPIRING_DAYS = 30  # the gateways list warns this long before a gateway's last valid certificate ends

_STATES = sa.text(
    "SELECT g.id, max(c.not_after) FILTER (WHERE c.status = 'active' AND c.not_after > :now) AS valid_until,"
    " coalesce(bool_or(c.status = 'revoked'), false) AS any_revoked"
    " FROM gateways g LEFT JOIN gateway_certificates c ON c.gateway_id = g.id"
    " WHERE g.id = ANY(:ids) GROUP BY g.id")


def state_of(valid_until: datetime | None, any_revoked: bool, now: datetime) -> str:
    """'ok', 'expiring' (its last valid certificate ends within EXPIRING_DAYS), 'revoked' or 'none'."""
    if valid_until is not None:
        return "expiring" if valid_until - now < timedelta(days=EXPIRING_DAYS) else "ok"
    return "revoked" if any_revoked else "none"  # only expired ones count as none: nothing valid is left


def certificate_states(conn: Connection, gateway_ids: list[int], now: datetime) -> dict[int, str]:
    """Gateway id -> its certificate state (see state_of); the caller has already scoped the ids."""
    if not gateway_ids:
        return {}
    rows = conn.execute(_STATES, {"ids": list(gateway_ids), "now": now})
    return {row.id: state_of(row.valid_until, row.any_revoked, now) for row in rows}
