"""Pages registered with `roles=(...)` need one of those roles for their layout and every callback.

The same `roles` list builds the navbar (tds_dash.app), so hiding a link and refusing the page are one
rule: a new page only declares its roles. Callbacks are matched to their page by the module that defines
them (Dash pages register callbacks from their own module).
"""
from __future__ import annotations

import functools
import inspect
import logging

import dash
import dash_bootstrap_components as dbc
import flask

from tds_dash import i18n
from tds_dash.context import current_language, current_user, has_role

RESTRICTED_KEY = "admin.forbidden"
log = logging.getLogger(__name__)


def restricted_alert(language: str) -> dbc.Alert:
    """What a page shows to a user without its role (the same message as /admin)."""
    return dbc.Alert(i18n.t(RESTRICTED_KEY, language), color="warning", id="page-restricted")


def page_roles() -> dict[str, tuple[str, ...]]:
    """Module of each page that declares roles -> those roles."""
    return {page["module"]: tuple(page["roles"]) for page in dash.page_registry.values() if page.get("roles")}


def guard_pages(app: dash.Dash) -> None:
    """Wrap restricted pages' layouts and refuse their callbacks to users without the role."""
    for page in dash.page_registry.values():
        if page.get("roles") and not getattr(page["layout"], "tds_roles", None):
            page["layout"] = _guarded_layout(page["layout"], tuple(page["roles"]))
    app.server.before_request(functools.partial(_guard_callback, app))


def _guarded_layout(layout, roles: tuple[str, ...]):
    @functools.wraps(layout)
    def guarded(**kwargs):
        if not has_role(*roles):
            return restricted_alert(current_language())
        return layout(**kwargs) if callable(layout) else layout

    guarded.tds_roles = roles  # the registry is per process: wrap once even when create_app runs again
    return guarded


def callback_roles(app: dash.Dash, output) -> tuple[str, ...]:
    """Roles the callback answering `output` needs: its page's, or none."""
    spec = app.callback_map.get(output) if isinstance(output, str) else None
    if spec is None or spec.get("callback") is None:  # unknown, or clientside: nothing runs here
        return ()
    return page_roles().get(getattr(inspect.unwrap(spec["callback"]), "__module__", None), ())


def _guard_callback(app: dash.Dash):
    if flask.request.method != "POST" or not flask.request.path.endswith("/_dash-update-component"):
        return None
    body = flask.request.get_json(silent=True)
    roles = callback_roles(app, body.get("output") if isinstance(body, dict) else None)
    if roles and not has_role(*roles):
        user = current_user()
        log.warning("refused callback %s to %s (needs %s)", body.get("output"), user.username if user else None,
                    "/".join(roles))
        return flask.jsonify({"error": {"code": "forbidden", "message": "requires role " + " or ".join(roles)}}), 403
    return None
