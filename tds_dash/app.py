"""The app factory: the Dash shell (navbar, page container) and the plain Flask routes beside it."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dash
import dash_bootstrap_components as dbc
import flask
from dash import html
from sqlalchemy.engine import Engine

from tds_dash import i18n
from tds_dash.api import alarms as api_alarms
from tds_dash.api import health, metrics
from tds_dash.api import v1 as api_v1
from tds_dash.auth import routes as auth_routes
from tds_dash.auth.guard import init_auth
from tds_dash.auth.session_key import session_secret
from tds_dash.context import EXTENSION_KEY, AppServices, current_language, current_user, has_role
from tds_dash.db import create_db_engine
from tds_dash.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _navbar() -> dbc.Navbar:
    """Built from the page registry, so a new page appears by registering itself (`nav_badge`: a callable
    language -> component drawn after the label, e.g. the alarms page's active count)."""
    language = "pt-BR"
    if flask.has_request_context():
        language = current_language()
    links = [
        dbc.NavItem(dbc.NavLink([i18n.t(page.get("nav_key", page["name"]), language),
                                 *([page["nav_badge"](language)] if page.get("nav_badge") else [])],
                                href=page["relative_path"], active="exact"))
        for page in sorted(dash.page_registry.values(), key=lambda p: p.get("order") if p.get("order") is not None else 99)
        if page.get("nav_key") and (not page.get("roles") or has_role(*page["roles"]))
    ]
    languages = [
        dbc.NavItem(dbc.NavLink(label, href=f"/lang/{code}", external_link=True, id=f"nav-lang-{code}"))
        for code, label in (("pt-BR", "PT"), ("en", "EN"))
    ]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand("TDS Telemetry", href="/"),
            dbc.Nav(links, navbar=True, className="me-auto"),
            dbc.Nav(languages + _user_menu(language), navbar=True),
        ], fluid=True),
        color="dark", dark=True, className="mb-3",
    )


def _user_menu(language: str) -> list:
    user = current_user()
    if user is None:
        return []
    return [
        dbc.NavItem(html.Span(f"{user.username} · {user.role}", className="navbar-text ms-3 me-2 small",
                              id="nav-user")),
        dbc.NavItem(html.Form(html.Button(i18n.t("nav.logout", language), type="submit", id="nav-logout",
                                          className="btn btn-outline-light btn-sm"),
                              action="/logout", method="POST")),
    ]


def _shell() -> html.Div:
    return html.Div([_navbar(), dbc.Container(dash.page_container, fluid=True, className="pb-4")])


def _register_language_route(server: flask.Flask) -> None:
    @server.get("/lang/<code>")
    def set_language(code: str):
        target = flask.request.referrer or "/"
        # Only ever redirect back into this app.
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = flask.redirect(target if target.startswith("/") and not target.startswith("//") else "/")
        if code in i18n.LANGUAGES:
            response.set_cookie(i18n.LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> dash.Dash:
    """Build the Dash app; starts no thread and opens no connection until a request needs one."""
    settings = settings or load_settings()
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (the runtime fills it in embedded mode)")
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        title="TDS Telemetry",
        update_title=None,
        # Each page's callbacks name components of that page only: without this the renderer reports
        # every other page's ids as "not found in layout" on whichever page is open.
        suppress_callback_exceptions=True,
    )
    server = app.server
    server.config["SECRET_KEY"] = session_secret(settings)
    server.extensions[EXTENSION_KEY] = AppServices(settings, engine or create_db_engine(settings.database_url))
    init_auth(server, settings.https)
    server.register_blueprint(auth_routes.blueprint)
    server.register_blueprint(health.blueprint)
    server.register_blueprint(api_v1.blueprint)
    server.register_blueprint(api_alarms.blueprint)
    metrics.register(server, server.extensions[EXTENSION_KEY])
    _register_language_route(server)
    app.layout = _shell
    return app
