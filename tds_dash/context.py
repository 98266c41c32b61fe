"""What a request-time callback may reach: the app's services, the viewer's language and scope."""
from __future__ import annotations

import dataclasses
from typing import Any

import flask
from sqlalchemy.engine import Engine

from tds_dash import i18n
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tds_dash.settings import Settings

EXTENSION_KEY = "tds"


@dataclasses.dataclass
class AppServices:
    settings: Settings
    engine: Engine
    background: Any = None  # tds_dash.runtime.Background once started; read by /api/health


def services() -> AppServices:
    return flask.current_app.extensions[EXTENSION_KEY]


def current_language() -> str:
    default = services().settings.language
    if flask.has_request_context():
        return i18n.normalize_language(flask.request.cookies.get(i18n.LANGUAGE_COOKIE), default)
    return default


def current_scope() -> Scope:
    """Accounts the viewer may read. Single-tenant until users and roles exist: every account."""
    return ALL_ACCOUNTS
