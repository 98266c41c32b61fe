"""Who acts, with what rights and where: the explicit values the fleet's writes take instead of the request.

The pages build one from the signed-in session (request_actor), the API from its caller (the same thing:
a token signs the caller in for the request), the CLI from its own flags (cli_actor). The rules in
tds_dash.fleet.actions read only this, so the three cannot drift apart.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import flask
from sqlalchemy.engine import Engine

from tds_dash.context import current_language, current_scope, current_user, services
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope

MANAGER_ROLES = ("admin", "operator")


@dataclasses.dataclass(frozen=True)
class Actor:
    """The caller of a fleet write: its scope and role decide, its name and address go to the audit log."""

    engine: Engine
    timezone: str
    scope: Scope
    role: str | None
    user_id: int | None = None
    username: str = "system"
    language: str = "pt-BR"
    address: str | None = None
    # hook(conn, action, serial, (user_id, username)) inside the transaction of a gateway's delete (before it)
    # or (de)activation (after it): the broker's ACL and CRL follow (tds_dash.certificates.gateway_changes).
    on_gateway_change: Callable | None = None

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def request_actor() -> Actor:
    """The signed-in user of the current request (session or API token)."""
    user = current_user()
    app = services()
    address = flask.request.remote_addr if flask.has_request_context() else None
    return Actor(app.engine, app.settings.timezone, current_scope(), user.role if user else None,
                 user.id if user else None, user.username if user else "system", current_language(), address,
                 app.gateway_hook)


def cli_actor(engine: Engine, timezone: str, user=None, language: str = "en",
              on_gateway_change: Callable | None = None) -> Actor:
    """The command line: acting as `user` (a UserRow) when given, else as an administrator named 'cli'."""
    if user is None:
        return Actor(engine, timezone, ALL_ACCOUNTS, "admin", None, "cli", language, None, on_gateway_change)
    scope = ALL_ACCOUNTS if user.role == "admin" else Scope(account_ids=tuple(user.account_ids))
    return Actor(engine, timezone, scope, user.role, user.id, user.username, language, None, on_gateway_change)
