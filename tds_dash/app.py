"""The app factory: the Dash shell (navbar, page container) and the plain Flask routes beside it."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import urlsplit

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, dcc, html
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from tds_dash import early_layout, i18n, inputs, page_container, plotly_loader
from tds_dash.api import alarms as api_alarms
from tds_dash.api import certificates as api_certificates
from tds_dash.api import health, metrics, resources
from tds_dash.api import statements as api_statements
from tds_dash.api import tariffs as api_tariffs
from tds_dash.api import v1 as api_v1
from tds_dash.api.limits import init_api_limits
from tds_dash.asset_cache import install_asset_cache
from tds_dash.auth import routes as auth_routes
from tds_dash.auth.guard import init_auth
from tds_dash.auth.page_access import guard_pages
from tds_dash.auth.session_key import session_secret
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.gateway_changes import gateway_hook
from tds_dash.context import (
    EXTENSION_KEY,
    THEME_COOKIE,
    THEMES,
    AppServices,
    current_language,
    current_theme,
    current_user,
    has_role,
)
from tds_dash.db import create_db_engine
from tds_dash.present import routes as present_routes
from tds_dash.security_headers import install_security_headers
from tds_dash.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
ASSETS_PATH_IGNORE = ["^swagger-ui$", "^present$"]  # folders under assets/ Dash must not put into every page
NAV_TOGGLER, NAV_COLLAPSE = "nav-toggler", "nav-collapse"
APP_NAME = "TDS Telemetry"


def _visible_pages() -> list[dict]:
    return [page for page in sorted(dash.page_registry.values(),
                                    key=lambda p: p.get("order") if p.get("order") is not None else 99)
            if page.get("nav_key") and (not page.get("roles") or has_role(*page["roles"]))]


def _navbar() -> dbc.Navbar:
    """Built from the page registry, so a new page appears by registering itself (`nav_badge`: a callable
    language -> component drawn after the label, e.g. the alarms page's active count; `nav_more=True`: listed
    under "Mais", for pages used less often). The session's items (notifications, language, theme, sign-outs)
    are one menu labelled with the username, so the admin's navbar in Portuguese is one row from 1200 px."""
    language = "pt-BR"
    if flask.has_request_context():
        language = current_language()
    pages = _visible_pages()
    links = [
        dbc.NavItem(dbc.NavLink([i18n.t(page["nav_key"], language),
                                 *([page["nav_badge"](language)] if page.get("nav_badge") else [])],
                                href=page["relative_path"], active="exact"))
        for page in pages if not page.get("nav_more")
    ]
    more = [dbc.DropdownMenuItem(i18n.t(page["nav_key"], language), href=page["relative_path"])
            for page in pages if page.get("nav_more")]
    if more:
        links.append(dbc.DropdownMenu(more, label=i18n.t("nav.more", language), id="nav-more", nav=True,
                                      in_navbar=True))
    # Below Bootstrap's xl breakpoint (1200 px) the links fold behind the toggler: a phone sees the brand only.
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.Img(src=dash.get_asset_url("logo.png"), alt="", className="navbar-logo"), APP_NAME],
                            href="/"),
            dbc.NavbarToggler(id=NAV_TOGGLER, n_clicks=0),
            dbc.Collapse([
                dbc.Nav(links, navbar=True, className="me-auto"),
                dbc.Nav(_user_menu(language), navbar=True),
            ], id=NAV_COLLAPSE, is_open=False, navbar=True),
        ], fluid=True),
        color="dark", dark=True, expand="xl", className="mb-3",
    )


def _sign_out_form(action: str, label: str, element_id: str) -> html.Form:
    """A POST form with the session's CSRF token: a link or a cross-site form cannot sign anyone out."""
    return html.Form([
        dcc.Input(type="hidden", name="csrf", value=auth_routes.csrf_token()),
        html.Button(label, type="submit", id=element_id, className="dropdown-item"),
    ], action=action, method="POST")


def _user_menu(language: str) -> list:
    """One menu at the navbar's end, labelled with the username (#nav-user): who is signed in and as what,
    notifications, language, theme, and both sign-outs. Signed out (the 404 page) it offers language and theme."""
    user = current_user()
    other_theme = "light" if current_theme() == "dark" else "dark"
    preferences = [
        dbc.DropdownMenuItem(i18n.t("nav.language", language), header=True),
        *(dbc.DropdownMenuItem(label, href=f"/lang/{code}", external_link=True, id=f"nav-lang-{code}",
                               active=code == language)
          for code, label in (("pt-BR", "Português (PT)"), ("en", "English (EN)"))),
        dbc.DropdownMenuItem(divider=True),
        dbc.DropdownMenuItem(i18n.t(f"nav.theme.{other_theme}", language), href=f"/theme/{other_theme}",
                             external_link=True, id="nav-theme"),
    ]
    if user is None:
        return [dbc.DropdownMenu(preferences, label=i18n.t("nav.preferences", language), id="nav-user", nav=True,
                                 in_navbar=True, align_end=True)]
    return [dbc.DropdownMenu([
        dbc.DropdownMenuItem(f"{user.username} · {i18n.t(f'nav.role.{user.role}', language)}", header=True),
        dbc.DropdownMenuItem(i18n.t("nav.notifications", language), href="/notifications", id="nav-notifications"),
        dbc.DropdownMenuItem(divider=True),
        *preferences,
        dbc.DropdownMenuItem(divider=True),
        _sign_out_form("/logout", i18n.t("nav.logout", language), "nav-logout"),
        _sign_out_form("/logout/everywhere", i18n.t("nav.logout_everywhere", language), "nav-logout-everywhere"),
    ], label=html.Span(user.username, className="nav-user-name"), id="nav-user", nav=True, in_navbar=True,
        align_end=True)]


def _shell(app: dash.Dash) -> html.Div:
    return html.Div([_navbar(), dbc.Container(page_container.page_container(app), fluid=True, className="pb-4")])


def _install_navbar_toggle(app: dash.Dash) -> None:
    @app.callback(Output(NAV_COLLAPSE, "is_open"), Input(NAV_TOGGLER, "n_clicks"), State(NAV_COLLAPSE, "is_open"),
                  prevent_initial_call=True)
    def on_nav_toggle(_clicks, is_open):
        return not is_open

    # "Mais" is drawn active on the pages listed under it, as the other links are on theirs.
    more = sorted(page["relative_path"] for page in dash.page_registry.values() if page.get("nav_more"))
    app.clientside_callback(f"function(path) {{ return {json.dumps(more)}.indexOf(path) >= 0 ? 'active' : ''; }}",
                            Output("nav-more", "toggle_class_name"), Input("_pages_location", "pathname"))


def _title_for(page: dict):
    """The browser tab's title, e.g. 'Visão geral · TDS Telemetry', in the viewer's language at each visit."""
    key = page.get("title_key") or page.get("nav_key")

    def title(**path_values) -> str:
        language = current_language() if flask.has_request_context() else "pt-BR"
        return f"{i18n.t(key, language, **path_values)} · {APP_NAME}"
    return title


def _install_page_titles() -> None:
    for page in dash.page_registry.values():
        if page.get("title_key") or page.get("nav_key"):
            page["title"] = _title_for(page)


def _install_page_attributes(app: dash.Dash) -> None:
    """<html lang> follows the viewer's language (screen readers, the browser and the date pickers read it);
    data-bs-theme their colour theme (Bootstrap 5.3 dark mode; assets/theme.css darkens charts and grids)."""
    interpolate = app.interpolate_index

    def interpolate_index(**kwargs) -> str:
        language = current_language() if flask.has_request_context() else "pt-BR"
        return interpolate(**kwargs).replace(
            "<html>", f'<html lang="{language}" data-bs-theme="{current_theme()}">', 1)
    app.interpolate_index = interpolate_index


def _back_with_cookie(name: str, value: str | None) -> flask.Response:
    """Redirect to the page the viewer came from (only ever inside this app), setting a year-long cookie."""
    parts = urlsplit(flask.request.referrer or "/")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    response = flask.redirect(target if target.startswith("/") and not target.startswith("//") else "/")
    if value is not None:
        response.set_cookie(name, value, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _register_preference_routes(server: flask.Flask) -> None:
    @server.get("/lang/<code>")
    def set_language(code: str):
        return _back_with_cookie(i18n.LANGUAGE_COOKIE, code if code in i18n.LANGUAGES else None)

    @server.get("/theme/<name>")
    def set_theme(name: str):
        return _back_with_cookie(THEME_COOKIE, name if name in THEMES else None)


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
        # Served from /assets/ but never put into the pages: only the /api/v1/docs page loads Swagger UI.
        assets_path_ignore=ASSETS_PATH_IGNORE,
        title=APP_NAME,
        update_title=None,
        # Each page's callbacks name components of that page only: without this the renderer reports
        # every other page's ids as "not found in layout" on whichever page is open.
        suppress_callback_exceptions=True,
    )
    plotly_loader.install(app)  # after the pages' registration: it lists the chart pages' addresses
    server = app.server
    if settings.proxy_hops:
        # Only then is X-Forwarded-For believed (its last N hops), so sign-in throttling keys on the client.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.proxy_hops)
    server.config["SECRET_KEY"] = session_secret(settings)
    server.extensions[EXTENSION_KEY] = AppServices(
        settings, engine or create_db_engine(settings.database_url),
        health_engine=create_db_engine(settings.database_url, pool_size=1, max_overflow=1, pool_timeout=2),
        gateway_hook=gateway_hook(PkiConfig.from_settings(settings)))
    init_auth(server, settings.https)
    guard_pages(app)  # after the sign-in guard: a signed-out request is a 401 first
    inputs.install(app)  # then wrong-typed callback inputs are a 400, never a 500
    # after the guard: limits key on the signed-in user; one budget for every /api/v1 blueprint
    init_api_limits(server, (api_v1.blueprint, resources.blueprint, api_alarms.blueprint, api_tariffs.blueprint,
                             api_certificates.blueprint, api_statements.blueprint), settings)
    server.register_blueprint(auth_routes.blueprint)
    server.register_blueprint(health.blueprint)
    server.register_blueprint(present_routes.blueprint)
    # A check that runs before any /api/v1 blueprint (e.g. NUL in a parameter) answers in the one error body
    # whichever blueprint the route belongs to (Flask prefers this to a blueprint's catch-all handler).
    server.register_error_handler(api_v1.ApiError, api_v1.api_error_response)
    server.register_blueprint(api_v1.blueprint)
    server.register_blueprint(resources.blueprint)
    server.register_blueprint(api_alarms.blueprint)
    server.register_blueprint(api_tariffs.blueprint)
    server.register_blueprint(api_certificates.blueprint)
    server.register_blueprint(api_statements.blueprint)
    metrics.register(server, server.extensions[EXTENSION_KEY])
    _register_preference_routes(server)
    app.layout = functools.partial(_shell, app)
    page_container.install_page_check(app)
    _install_navbar_toggle(app)
    _install_page_titles()
    _install_page_attributes(app)
    early_layout.install(app)
    early_hash = early_layout.script_hash(app.config.requests_pathname_prefix)
    install_security_headers(server, lambda: [*app.csp_hashes(), early_hash], settings.https)
    install_asset_cache(server, app.config.routes_pathname_prefix + app.config.assets_url_path.strip("/") + "/")
    return app
