"""Options for the account and gateway filters, limited to the viewer's scope."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.queries.scope import IN_SCOPE, Scope

_ACCOUNTS = sa.text("SELECT id, slug, name, auto_provision FROM accounts WHERE id " + IN_SCOPE + " ORDER BY name")
_GATEWAYS = sa.text(
    "SELECT id, serial, name, account_id FROM gateways WHERE account_id " + IN_SCOPE
    + " AND (CAST(:account_id AS bigint) IS NULL OR account_id = :account_id) ORDER BY serial"
)


def list_accounts(conn: Connection, scope: Scope) -> list[dict]:
    """Accounts of the scope (with their auto-provisioning switch), for filters and forms."""
    return [dict(row) for row in conn.execute(_ACCOUNTS, scope.params()).mappings()]


def list_gateways(conn: Connection, scope: Scope, account_id: int | None = None) -> list[dict]:
    return [dict(row) for row in conn.execute(_GATEWAYS, {**scope.params(), "account_id": account_id}).mappings()]
