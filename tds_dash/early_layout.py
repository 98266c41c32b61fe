"""Dash's layout request sent from the page's <head>, while the browser still evaluates Dash's scripts.

The renderer asks for `_dash-layout` only once every script has run: ~250 ms of evaluation on this
machine's cores, after which the server spends ~150-250 ms rendering the page with its charts
(page_container.py) — one after the other on every load (issue 16, bench/RESULTS.md). This inline script,
first in <head>, sends the same GET at once (its Referer is the page's address, as the renderer's) and
hands that response to the renderer's own fetch of the same URL, so both halves overlap. Any other request,
a second one, or a failed early one go to the real fetch unchanged. Allowed by its hash in the
Content-Security-Policy (security_headers.py), like Dash's own inline scripts.
"""
from __future__ import annotations

import base64
import hashlib
import json

import dash


def script(prefix: str) -> str:
    """The inline script's source for an app whose requests go under `prefix`."""
    url = json.dumps(f"{prefix}_dash-layout")
    return ("(function() { if (!window.fetch) { return; } const url = " + url + ";"
            " const real = window.fetch;"
            " let early = real(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}});"
            " window.fetch = function(input, init) {"
            " if (early && input === url && !(init && init.method && init.method !== 'GET')) {"
            " const response = early; early = null; const self = this, args = arguments;"
            " return response.catch(function() { return real.apply(self, args); }); }"
            " return real.apply(this, arguments); }; })();")


def script_hash(prefix: str) -> str:
    """Its CSP source expression ('sha256-…')."""
    digest = hashlib.sha256(script(prefix).encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def install(app: dash.Dash) -> None:
    """Put the script first in the index page's <head> (before the stylesheets, which would delay it)."""
    tag = f"<script>{script(app.config.requests_pathname_prefix)}</script>"
    interpolate = app.interpolate_index

    def interpolate_index(**kwargs) -> str:
        return interpolate(**{**kwargs, "metas": tag + kwargs.get("metas", "")})
    app.interpolate_index = interpolate_index
