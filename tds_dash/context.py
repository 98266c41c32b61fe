"""What a request-time callback may reach: the app's services, the viewer's language and scope."""
from __future__ import annotations

import dataclasses
from typing import Any

import flask
import flask_login
from sqlalchemy.engine import Engine

from tds_dash import i18n
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.settings import Settings

EXTENSION_KEY = "tds"


@dataclasses.dataclass
class AppServices:
    settings: Settings
    engine: Engine
    background: Any = None  # tds_dash.background.runtime.Background once started; read by /api/health
    health_engine: Engine | None = None  # /api/health's own small pool: busy API requests cannot starve it
    gateway_hook: Any = None  # tds_dash.certificates.gateway_changes.gateway_hook: the broker follows the fleet


def services() -> AppServices:
    return flask.current_app.extensions[EXTENSION_KEY]


def current_language() -> str:
    default = services().settings.language
    if flask.has_request_context():
        return i18n.normalize_language(flask.request.cookies.get(i18n.LANGUAGE_COOKIE), default)
    return default


THEME_COOKIE = "tds_theme"
THEMES = ("light", "dark")


def current_theme() -> str:
    """The viewer's colour theme from its cookie: 'light' unless they chose 'dark'."""
    if flask.has_request_context() and flask.request.cookies.get(THEME_COOKIE) == "dark":
        return "dark"
    return "light"


class Forbidden(PermissionError):
    """The signed-in user's role or accounts do not allow this; pages show it, APIs answer 403."""


def current_user():
    """The signed-in user's row (tds_dash.queries.users.UserRow), or None."""
    if not flask.has_request_context():
        return None
    user = flask_login.current_user
    return user.row if user and user.is_authenticated else None


def current_scope() -> Scope:
    """Accounts the viewer may read: all for admins, their own for others, none when signed out."""
    user = current_user()
    if user is None:
        return Scope(account_ids=())
    if user.role == "admin":
        return ALL_ACCOUNTS
    return Scope(account_ids=tuple(user.account_ids))


def has_role(*roles: str) -> bool:
    user = current_user()
    return user is not None and user.role in roles


def require_role(*roles: str) -> None:
    """Server-side check for every write: hiding a button is not a permission."""
    if not has_role(*roles):
        raise Forbidden(f"requires role {' or '.join(roles)}")


def require_account(account_id: int | None) -> None:
    """A write naming an account outside the viewer's scope is refused, whatever the UI sent."""
    scope = current_scope()
    if account_id is None or (scope.account_ids is not None and account_id not in scope.account_ids):
        raise Forbidden("account outside your scope")
