"""Who is asking: Flask-Login sessions and API tokens, and the guard every request passes first."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlsplit

import flask
import flask_login

from tds_dash.auth.passwords import TOKEN_SCHEME, token_hash
from tds_dash.auth.sessions import session_is_live
from tds_dash.context import services
from tds_dash.db import session_scope
from tds_dash.errors import json_error
from tds_dash.queries import users as user_queries

# /present/ is share links (tds_dash.present.routes): each route there checks its token itself.
PUBLIC_PREFIXES = ("/login", "/assets/", "/api/health", "/favicon.ico", "/lang/", "/present/")
TOKEN_PREFIXES = ("/api/v1/", "/metrics")


class CurrentUser(flask_login.UserMixin):
    """The signed-in user; its id embeds the session version (a bump ends every session of the user) and
    the server-side session's secret (revoking that row ends this one). API-token users have no secret."""

    def __init__(self, row: user_queries.UserRow, session_secret: str | None = None) -> None:
        self.row = row
        self.session_secret = session_secret

    def get_id(self) -> str:
        return f"{self.row.id}:{self.row.session_version}:{self.session_secret}"

    @property
    def is_active(self) -> bool:
        return self.row.active


def _load_user(user_id: str) -> CurrentUser | None:
    raw_id, version, secret = (user_id.split(":", 2) + ["", ""])[:3]
    if not raw_id.isdigit() or not version.isdigit() or not secret:
        return None
    with session_scope(services().engine) as conn:
        row = user_queries.get_user(conn, int(raw_id))
        if row is None or not row.active or row.session_version != int(version):
            return None
        if not session_is_live(conn, row.id, secret):
            return None
    return CurrentUser(row, secret)


def _load_user_from_token(request: flask.Request) -> CurrentUser | None:
    if not request.path.startswith(TOKEN_PREFIXES):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.startswith(TOKEN_SCHEME):
        return None
    with session_scope(services().engine) as conn:
        row = user_queries.user_for_token(conn, token_hash(secret.strip()))
    return CurrentUser(row) if row else None


def client_address() -> str:
    """The peer's address; X-Forwarded-For counts only through ProxyFix when TDS_PROXY_HOPS > 0 (app.py)."""
    return flask.request.remote_addr or "unknown"


def safe_next(target: str | None) -> str:
    """Only paths inside this app: never an absolute or protocol-relative URL."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _guard():
    """Everything but the public paths needs a signed-in user (or an API token on /api/v1 and /metrics)."""
    path = flask.request.path
    if path.startswith(PUBLIC_PREFIXES) or flask_login.current_user.is_authenticated:
        return None
    if path.startswith("/_dash") or path.startswith(TOKEN_PREFIXES) or flask.request.method != "GET":
        return json_error(401, "unauthenticated", "authentication required")
    query = flask.request.query_string.decode()
    return flask.redirect("/login?next=" + quote(path + (f"?{query}" if query else ""), safe="/"))


def init_auth(server: flask.Flask, https: bool) -> None:
    """Wire Flask-Login and the request guard into the Dash server (the login routes are a Blueprint)."""
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
                         REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=https,
                         PERMANENT_SESSION_LIFETIME=timedelta(hours=12))
    manager = flask_login.LoginManager()
    manager.user_loader(_load_user)
    manager.request_loader(_load_user_from_token)
    manager.init_app(server)
    server.before_request(_guard)
