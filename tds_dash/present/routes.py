"""Presentation mode's routes: a full-screen page and the JSON it refreshes from.

Plain Flask, not a Dash page, on purpose: a share-link visitor is signed out, and letting one reach Dash's
layout and callback endpoints would expose every page's callbacks to whoever holds a link. Here the
token reaches exactly two routes (the page and its data) and the data is read with a Scope of the
token's account only (tds_dash.consumption.presentation.build), whatever the request adds.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import flask
import plotly

from tds_dash import i18n
from tds_dash.auth.guard import client_address
from tds_dash.consumption import presentation
from tds_dash.context import current_language, current_scope, services
from tds_dash.db import session_scope
from tds_dash.errors import json_error
from tds_dash.queries.filters import list_accounts
from tds_dash.queries.scope import Scope
from tds_dash.sharing import links

blueprint = flask.Blueprint("present", __name__, template_folder="templates")
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _page(data_url: str, title: str, status: int = 200, message: str | None = None) -> flask.Response:
    language, settings = current_language(), services().settings
    html = flask.render_template(
        "present.html", lang=language, title=title, data_url=data_url, message=message,
        rotate=presentation.rotate_seconds(flask.request.args.get("seconds"), settings.present_seconds),
        refresh=settings.refresh_seconds, t_loading=i18n.t("present.loading", language),
        t_gone=i18n.t("present.gone", language), t_error=i18n.t("present.error", language))
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _data(scope: Scope, account: dict) -> flask.Response:
    settings, now = services().settings, datetime.now(timezone.utc)
    with session_scope(services().engine) as conn:
        body = presentation.build(conn, scope, account, now, settings.zone, current_language())
    response = flask.jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in_account() -> dict | None:
    """The account named by ?account=<slug> among the viewer's, or their first one when none is named."""
    slug = flask.request.args.get("account", "").strip()
    with session_scope(services().engine) as conn:
        accounts = list_accounts(conn, current_scope())
    if not slug:
        return accounts[0] if accounts else None
    return next((a for a in accounts if a["slug"] == slug), None)


@blueprint.get("/present")
def present_signed_in():
    account = _signed_in_account()
    language = current_language()
    if account is None:
        return _page("", i18n.t("present.title", language), 404, i18n.t("present.no_account", language))
    query = {"account": account["slug"]}
    return _page(flask.url_for("present.present_signed_in_data", **query), account["name"])


@blueprint.get("/present.json")
def present_signed_in_data():
    account = _signed_in_account()
    if account is None:
        return json_error(404, "not_found", "account not found")
    return _data(Scope(account_ids=(account["id"],)), account)


def _open(token: str) -> links.OpenLink | None:
    try:
        return links.open_link(services().engine, token, flask.current_app.config["SECRET_KEY"], client_address())
    except links.LinkDenied:
        return None


@blueprint.get("/present/<token>")
def present_shared(token: str):
    opened, language = _open(token), current_language()
    if opened is None:
        return _page("", i18n.t("present.title", language), 404, i18n.t("present.gone", language))
    return _page(flask.url_for("present.present_shared_data", token=token), opened.account_name)


@blueprint.get("/present/<token>/data")
def present_shared_data(token: str):
    opened = _open(token)
    if opened is None:
        return json_error(404, "not_found", "this link does not exist, has expired or was revoked")
    account = {"id": opened.account_id, "slug": opened.account_slug, "name": opened.account_name}
    return _data(Scope(account_ids=(opened.account_id,)), account)


@blueprint.get("/present/plotly.min.js")
def plotly_js():
    """plotly.js from the plotly package (the Dash bundle sits behind the sign-in; visitors are signed out)."""
    return flask.send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)


@blueprint.route("/present/", defaults={"rest": ""})
@blueprint.route("/present/<path:rest>")
def present_nothing_else(rest: str):
    """Anything else under the public /present/ prefix is a 404 here, never the Dash app's catch-all page."""
    return json_error(404, "not_found", "not found")
