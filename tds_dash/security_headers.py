"""Security headers on every response: pages, Dash's JSON and assets, /login, the API.

The Content-Security-Policy is the narrowest under which every page renders with no violation in
Chromium (tests/test_security_http.py visits each registered page): scripts only from this origin plus
the hashes of Dash's own inline scripts (`app.csp_hashes()`) and of early_layout.py's, no 'unsafe-eval'
(Plotly's SVG charts and AG Grid do not need it), nothing framed, no plugins; fonts and the rest fall back to default-src 'self'.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import flask

HSTS = "max-age=31536000"  # one year; only sent when the deployment says it is served over HTTPS


def content_security_policy(script_hashes: Iterable[str]) -> str:
    """The policy for this app, given the hashes of its inline scripts."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        # React and Plotly write style attributes and <style> elements at run time (Plotly injects its
        # modebar and hover styles, dash-ag-grid and dbc set inline widths): without 'unsafe-inline'
        # charts and grids lose their layout (checked: with style-src 'self' Chromium blocked ~500 inline
        # styles on the overview alone). Styles cannot run code, so scripts stay closed.
        "style-src": ["'self'", "'unsafe-inline'"],
        # Bootstrap's CSS draws select arrows, switches and close buttons as data: SVG images.
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # callbacks and the API only ever talk to this origin
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def install_security_headers(server: flask.Flask, script_hashes: Callable[[], Iterable[str]], https: bool) -> None:
    """Add the headers to every response of `server` (after_request runs for assets and errors too).

    `script_hashes` is asked at each response: Dash adds its pages' inline title script at the first
    request, after create_app returns, and hashing two short scripts costs microseconds.
    """
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
        # Explorer URLs carry account and device ids: never sent away; kept whole on same-origin requests,
        # where Dash's layout request names its page by it (page_container.py).
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS

    @server.after_request
    def add_security_headers(response: flask.Response) -> flask.Response:
        response.headers["Content-Security-Policy"] = content_security_policy(script_hashes())
        for name, value in headers.items():
            response.headers[name] = value
        return response
