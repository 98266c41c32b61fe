"""Dash's page container, with the page of the browser's address already in the layout's response.

On a full load Dash asks for the layout (the shell and an empty page container); dcc.Location then tells
Dash's router callback the address, whose answer is the page, whose callbacks then ask for its data: three
round trips one after the other before a chart is drawn (issue 16, bench/browser_pages.py --payloads).
The layout request's Referer is the page's address (same-origin requests carry it whole under our
Referrer-Policy, security_headers.py): the page is rendered there, from the same registry entry as the
router's (role guard included) with the same arguments, and dcc.Location starts with that pathname and
search, so it does not call the router. Without a usable Referer (none, another host, too long) the
container is Dash's own and the router renders the page as before; PAGE_CHECK_SCRIPT hands a page
rendered for another address than the browser's (a Referer trimmed by an extension) back to the router.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import dash
import flask
from dash import Input, Output, State, dcc, html
from dash._pages import _parse_query_string, _path_to_page  # the router's own parsing (dash 4.4, dash.py)

from tds_dash import inputs

log = logging.getLogger(__name__)
# Dash's ids for the container (dash.py: _ID_LOCATION, _ID_CONTENT, _ID_STORE, _ID_DUMMY) and ours.
LOCATION, CONTENT, STORE, DUMMY = "_pages_location", "_pages_content", "_pages_store", "_pages_dummy"
PAGE_CHECK = "page-container-check"
# Once the container is drawn: when the page in it was rendered for another address than the window's, the
# event dcc.Location listens to for a client-side navigation makes it tell the router the real address.
PAGE_CHECK_SCRIPT = ("function(pathname, search) { if (typeof pathname === 'string' &&"
                     " pathname + (search || '') !== window.location.pathname + window.location.search) {"
                     " window.dispatchEvent(new CustomEvent('_dashprivate_pushstate')); }"
                     " return window.dash_clientside.no_update; }")


def requested_address(app: dash.Dash) -> tuple[str, str] | None:
    """(pathname, search) of the page asking for Dash's layout, from the request's Referer; None when this
    is not a layout request or the Referer is not a page address of this host."""
    request = flask.request
    if not request.path.endswith("/_dash-layout") or not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    if parts.netloc != request.host or not parts.path.startswith(app.config.requests_pathname_prefix):
        return None
    search = f"?{parts.query}" if parts.query else ""
    if len(search) > inputs.MAX_TEXT:  # what the router's callback would refuse (inputs.py: search)
        return None
    return parts.path, search


def _render(app: dash.Dash, pathname: str, search: str) -> tuple[object, str] | None:
    """(layout, title) of the page at this address, as Dash's router would answer; None when the router should."""
    page, path_variables = _path_to_page(app.strip_relative_path(pathname))
    if not page or app.routing_callback_inputs:
        return None  # the 404 page and routing states: left to the router
    layout, title = page.get("layout", ""), page["title"]
    try:
        if callable(layout):
            layout = layout(**{**(path_variables or {}), **_parse_query_string(search)})
        if callable(title):
            title = title(**(path_variables or {}))
    except Exception:  # logged; the router renders the page again and shows its error as before
        log.exception("page %s%s not rendered in the layout", pathname, search)
        return None
    return layout, title


def page_container(app: dash.Dash) -> html.Div:
    """dash.page_container, holding the requested page when the request says which (see the module's text)."""
    address = requested_address(app) if flask.has_request_context() else None
    rendered = _render(app, *address) if address else None
    if rendered is None:
        return html.Div([dash.page_container, html.Div(id=PAGE_CHECK, hidden=True)])
    (pathname, search), (layout, title) = address, rendered
    return html.Div([
        dcc.Location(id=LOCATION, refresh="callback-nav", pathname=pathname, search=search),
        html.Div(layout, id=CONTENT, disable_n_clicks=True),
        dcc.Store(id=STORE, data={"title": title}),
        html.Div(id=DUMMY, disable_n_clicks=True),
        html.Div(id=PAGE_CHECK, hidden=True),
    ])


def install_page_check(app: dash.Dash) -> None:
    app.clientside_callback(PAGE_CHECK_SCRIPT, Output(PAGE_CHECK, "children"), Input(LOCATION, "pathname"),
                            State(LOCATION, "search"))
