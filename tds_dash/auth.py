"""Login, sessions, roles and API tokens (Flask-Login on the Dash server)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import flask
import flask_login
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tds_dash import i18n
from tds_dash.db import session_scope
from tds_dash.queries import users as user_queries

HASHER = PasswordHasher()
# A hash of a random password: unknown usernames cost the same time as known ones.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
PUBLIC_PREFIXES = ("/login", "/assets/", "/api/health", "/favicon.ico", "/lang/")
TOKEN_PREFIXES = ("/api/v1/", "/metrics")
TOKEN_SCHEME = "tds_"

i18n.add_messages({
    "login.title": {"pt-BR": "Entrar", "en": "Sign in"},
    "login.username": {"pt-BR": "Usuário", "en": "Username"},
    "login.password": {"pt-BR": "Senha", "en": "Password"},
    "login.submit": {"pt-BR": "Entrar", "en": "Sign in"},
    "login.invalid": {"pt-BR": "Usuário ou senha inválidos.", "en": "Invalid username or password."},
    "login.throttled": {"pt-BR": "Muitas tentativas. Tente novamente em {minutes} min.",
                        "en": "Too many attempts. Try again in {minutes} min."},
    "login.expired": {"pt-BR": "O formulário expirou; tente de novo.", "en": "The form expired; please try again."},
    "nav.logout": {"pt-BR": "Sair", "en": "Sign out"},
})


class CurrentUser(flask_login.UserMixin):
    """The signed-in user; its id embeds the session version so a bump ends old sessions."""

    def __init__(self, row: user_queries.UserRow) -> None:
        self.row = row

    def get_id(self) -> str:
        return f"{self.row.id}:{self.row.session_version}"

    @property
    def is_active(self) -> bool:
        return self.row.active


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> tuple[str, str, str]:
    """(secret shown once, sha256 stored, prefix for lists)."""
    secret = TOKEN_SCHEME + secrets.token_urlsafe(32)
    return secret, token_hash(secret), secret[:10]


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _engine():
    return flask.current_app.extensions["tds"].engine


def _load_user(user_id: str) -> CurrentUser | None:
    raw_id, _, version = user_id.partition(":")
    if not raw_id.isdigit() or not version.isdigit():
        return None
    with session_scope(_engine()) as conn:
        row = user_queries.get_user(conn, int(raw_id))
    if row is None or not row.active or row.session_version != int(version):
        return None
    return CurrentUser(row)


def _load_user_from_token(request: flask.Request) -> CurrentUser | None:
    if not request.path.startswith(TOKEN_PREFIXES):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.startswith(TOKEN_SCHEME):
        return None
    with session_scope(_engine()) as conn:
        row = user_queries.user_for_token(conn, token_hash(secret.strip()))
    return CurrentUser(row) if row else None


def client_address() -> str:
    # Behind a proxy configure ProxyFix; never trust X-Forwarded-For blindly.
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
        return flask.jsonify({"error": "authentication required"}), 401
    query = flask.request.query_string.decode()
    return flask.redirect("/login?next=" + quote(path + (f"?{query}" if query else ""), safe="/"))


def init_auth(server: flask.Flask, https: bool) -> None:
    """Wire Flask-Login, the request guard and the login/logout routes into the Dash server."""
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
                         REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=https,
                         PERMANENT_SESSION_LIFETIME=timedelta(hours=12))
    manager = flask_login.LoginManager()
    manager.user_loader(_load_user)
    manager.request_loader(_load_user_from_token)
    manager.init_app(server)
    server.before_request(_guard)
    from tds_dash import login_views
    login_views.register(server)


def current_row() -> user_queries.UserRow | None:
    user = flask_login.current_user
    return user.row if user and user.is_authenticated else None


def login_throttled(conn, username: str, address: str, now: datetime | None = None) -> int:
    """Minutes to wait when there were too many failures for this user or address, else 0."""
    now = now or datetime.now(timezone.utc)
    by_user, by_address = user_queries.recent_failures(conn, username, address, now - THROTTLE_WINDOW)
    if by_user >= MAX_FAILURES_PER_USER or by_address >= MAX_FAILURES_PER_ADDRESS:
        return int(THROTTLE_WINDOW.total_seconds() // 60)
    return 0


def authenticate(conn, username: str, password: str) -> user_queries.UserRow | None:
    row = user_queries.get_user_by_username(conn, username)
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(row.password_hash, password) or not row.active:
        return None
    return row


def csrf_token() -> str:
    token = flask.session.get("csrf")
    if not token:
        token = flask.session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_valid(submitted: str | None) -> bool:
    expected = flask.session.get("csrf")
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))
