"""The plain Flask /login and /logout routes (they take precedence over the pages' catch-all route)."""
from __future__ import annotations

import hmac
import secrets

import flask
import flask_login

from tds_dash import i18n
from tds_dash.auth import sessions, throttle
from tds_dash.auth.guard import CurrentUser, client_address, safe_next
from tds_dash.auth.passwords import authenticate
from tds_dash.context import current_language, current_user, services
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
    # Counted and committed before the password is checked: a parallel attempt waits for this one's row.
    with session_scope(engine) as conn:
        attempt_id, wait = throttle.begin_attempt(conn, username, address)
    if wait:
        html, status = _render(i18n.t("login.throttled", lang, seconds=wait), username, 429)
        return html, status, {"Retry-After": str(wait)}
    with session_scope(engine) as conn:
        row = authenticate(conn, username, form.get("password") or "")
        throttle.finish_attempt(conn, attempt_id, row is not None)
        if row is None:
            return _render(i18n.t("login.invalid", lang), username, 401)
        user_queries.record_audit(conn, row.id, row.username, "login", "session", address=address)
        secret = sessions.start_session(conn, row.id, address)
    flask.session.clear()  # no fixation: a fresh session for the signed-in user
    flask_login.login_user(CurrentUser(row, secret))
    csrf_token()  # the navbar's sign-out forms need one
    return flask.redirect(safe_next(form.get("next")))


def _signed_out(everywhere: bool):
    """End this session (or every session of the user) on the server, then in the browser."""
    if not csrf_valid(flask.request.form.get("csrf")):
        return i18n.t("logout.expired", current_language()), 400  # a cross-site form signs nobody out
    user = current_user()
    with session_scope(services().engine) as conn:
        if everywhere:
            sessions.end_user_sessions(conn, user.id)
        else:
            sessions.end_current_session(conn)
        user_queries.record_audit(conn, user.id, user.username, "logout_everywhere" if everywhere else "logout",
                                  "session", address=client_address())
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login")


@blueprint.post("/logout")
def logout():
    return _signed_out(everywhere=False)


@blueprint.post("/logout/everywhere")
def logout_everywhere():
    return _signed_out(everywhere=True)
