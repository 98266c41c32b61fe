"""The plain Flask /login and /logout routes (they take precedence over the pages' catch-all route)."""
from __future__ import annotations

import hmac
import secrets

import flask
import flask_login

from tds_dash import i18n
from tds_dash.auth.guard import CurrentUser, client_address, safe_next
from tds_dash.auth.passwords import authenticate
from tds_dash.auth.throttle import login_throttled
from tds_dash.context import current_language, services
from tds_dash.db import session_scope
from tds_dash.queries import users as user_queries

blueprint = flask.Blueprint("auth", __name__, template_folder="templates")


def csrf_token() -> str:
    token = flask.session.get("csrf")
    if not token:
        token = flask.session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_valid(submitted: str | None) -> bool:
    expected = flask.session.get("csrf")
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))


def _render(error: str = "", username: str = "", status: int = 200):
    lang = current_language()
    html = flask.render_template(
        "login.html", lang=lang, title=i18n.t("login.title", lang), error=error, csrf=csrf_token(),
        next=safe_next(flask.request.values.get("next")), username=username,
        t_username=i18n.t("login.username", lang), t_password=i18n.t("login.password", lang),
        t_submit=i18n.t("login.submit", lang))
    return html, status


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if flask.request.method == "GET":
        return _render()
    lang = current_language()
    form = flask.request.form
    username = (form.get("username") or "").strip().lower()[:64]
    if not csrf_valid(form.get("csrf")):
        return _render(i18n.t("login.expired", lang), username, 400)
    address = client_address()
    engine = services().engine
    with session_scope(engine) as conn:
        wait = login_throttled(conn, username, address)
        if wait:
            return _render(i18n.t("login.throttled", lang, minutes=wait), username, 429)
        row = authenticate(conn, username, form.get("password") or "")
        user_queries.record_login_attempt(conn, username, address, row is not None)
        if row is None:
            return _render(i18n.t("login.invalid", lang), username, 401)
        user_queries.record_audit(conn, row.id, row.username, "login", "session", address=address)
    flask.session.clear()  # no fixation: a fresh session for the signed-in user
    flask_login.login_user(CurrentUser(row))
    return flask.redirect(safe_next(form.get("next")))


@blueprint.post("/logout")
def logout():
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login")
