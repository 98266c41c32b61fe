"""The plain Flask /login and /logout routes (they take precedence over the pages' catch-all route)."""
from __future__ import annotations

import flask
import flask_login

from tds_dash import auth, i18n
from tds_dash.db import session_scope
from tds_dash.queries import users as user_queries

_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>TDS Telemetry — {{ title }}</title><link rel="stylesheet" href="/assets/bootstrap.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 420px; margin-top: 10vh">
<h1 class="h3 mb-4">TDS Telemetry</h1>
{% if error %}<div class="alert alert-danger" id="login-error" role="alert">{{ error }}</div>{% endif %}
<form method="post" action="/login" class="card card-body shadow-sm" id="login-form">
  <input type="hidden" name="csrf" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
  <label class="form-label" for="login-username">{{ t_username }}</label>
  <input class="form-control mb-3" id="login-username" name="username" autocomplete="username" required autofocus
         value="{{ username }}">
  <label class="form-label" for="login-password">{{ t_password }}</label>
  <input class="form-control mb-3" id="login-password" name="password" type="password" autocomplete="current-password" required>
  <button class="btn btn-primary" type="submit" id="login-submit">{{ t_submit }}</button>
</form>
<p class="mt-3 small"><a href="/lang/pt-BR">PT</a> · <a href="/lang/en">EN</a></p>
</main></body></html>"""


def _language() -> str:
    default = flask.current_app.extensions["tds"].settings.language
    return i18n.normalize_language(flask.request.cookies.get(i18n.LANGUAGE_COOKIE), default)


def _render(error: str = "", username: str = "", status: int = 200):
    lang = _language()
    html = flask.render_template_string(
        _PAGE, lang=lang, title=i18n.t("login.title", lang), error=error, csrf=auth.csrf_token(),
        next=auth.safe_next(flask.request.values.get("next")), username=username,
        t_username=i18n.t("login.username", lang), t_password=i18n.t("login.password", lang),
        t_submit=i18n.t("login.submit", lang))
    return html, status


def login():
    if flask.request.method == "GET":
        return _render()
    lang = _language()
    form = flask.request.form
    username = (form.get("username") or "").strip().lower()[:64]
    if not auth.csrf_valid(form.get("csrf")):
        return _render(i18n.t("login.expired", lang), username, 400)
    address = auth.client_address()
    engine = flask.current_app.extensions["tds"].engine
    with session_scope(engine) as conn:
        wait = auth.login_throttled(conn, username, address)
        if wait:
            return _render(i18n.t("login.throttled", lang, minutes=wait), username, 429)
        row = auth.authenticate(conn, username, form.get("password") or "")
        user_queries.record_login_attempt(conn, username, address, row is not None)
        if row is None:
            return _render(i18n.t("login.invalid", lang), username, 401)
        user_queries.record_audit(conn, row.id, row.username, "login", "session", address=address)
    flask.session.clear()  # no fixation: a fresh session for the signed-in user
    flask_login.login_user(auth.CurrentUser(row))
    return flask.redirect(auth.safe_next(form.get("next")))


def logout():
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login")


def register(server: flask.Flask) -> None:
    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout, methods=["POST"])
