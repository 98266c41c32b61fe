"""plotly.js: the partial bundle our charts need, loaded while the server renders a chart page.

dcc.Graph loads plotly.js when the first graph mounts: with the page's chart in the layout's response
(page_container.py), that fetch and its script evaluation came after the layout, right before the drawing
(issue 16). Dash's `layout_pre` renderer hook runs just before the layout request: there window.Plotly
becomes a thenable — dcc's loader resolves `window.Plotly` with Promise.resolve, which waits for a
thenable, so a graph waits for this one script instead of adding a second one — and on a page that draws
charts (registered with `charts=True`) the script is added at once, so it evaluates while the server
renders the page. Other pages load it only if a graph asks (a navigation to a chart page).

The script is plotly.js's basic partial bundle (npm plotly.js-basic-dist-min, the same version as the
plotly package's full one, MIT, tests/test_plotly_loader.py checks both), served under a fingerprinted URL
with a year's immutable cache: 1.2 MB instead of 4.8, a third of the full bundle's evaluation on every page
load. It holds the trace types `bar`, `pie` and `scatter`; every figure of the app uses only those
(tests/test_plotly_loader.py walks them). If it fails to load, the thenable loads Dash's full bundle.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path

import dash
import flask
import plotly
from dash.fingerprint import build_fingerprint

from tds_dash.asset_cache import IMMUTABLE, YEAR

PACKAGE_PATH = "package_data/plotly.min.js"  # what dash.Dash._setup_plotlyjs registers for dcc.Graph
BUNDLE_VERSION = "4.1.1"  # plotly.js of the plotly package pinned in requirements.txt
BUNDLE = Path(__file__).resolve().parent / "vendor" / f"plotly-basic-{BUNDLE_VERSION}.min.js"
TRACE_TYPES = frozenset({"bar", "pie", "scatter"})  # what the basic bundle draws (its README)
ROUTE = "_tds-plotly"


def full_bundle_url(prefix: str) -> str:
    """The fingerprinted URL of dcc.Graph's own (full) plotly.js, as Dash builds it."""
    modified = int(os.stat(Path(plotly.__file__).parent / PACKAGE_PATH).st_mtime)
    return f"{prefix}_dash-component-suites/plotly/{build_fingerprint(PACKAGE_PATH, plotly.__version__, modified)}"


@functools.cache  # the file ships with the code: hashed once per process
def _digest() -> str:
    return hashlib.sha256(BUNDLE.read_bytes()).hexdigest()[:16]


def bundle_url(prefix: str) -> str:
    """The basic bundle's URL, named by its content's hash (so a year's cache never serves a stale one)."""
    return f"{prefix}{ROUTE}/plotly-basic.{_digest()}.min.js"


def _path_pattern(prefix: str, page: dict) -> str:
    """A JavaScript regex source for the page's address: '/device/<device_id>' -> '^/device/[^/]+/?$'."""
    template = page.get("path_template") or page["path"]
    parts = re.split(r"(<[^>]+>)", template.lstrip("/"))
    body = "".join("[^/]+" if part.startswith("<") else re.escape(part) for part in parts)
    return f"^{re.escape(prefix)}{body}/?$"


def chart_paths(prefix: str) -> list[str]:
    """Regex sources of the addresses of the pages registered with charts=True."""
    return sorted(_path_pattern(prefix, page) for page in dash.page_registry.values() if page.get("charts"))


def layout_pre_hook(prefix: str) -> str:
    """The renderer's layout_pre hook (JavaScript): window.Plotly as a thenable, loading at once on chart pages."""
    return ("function() { if (window.Plotly) { return; }"
            " function load(src) { return new Promise(function(resolve, reject) {"
            " const script = document.createElement('script'); script.src = src; script.async = true;"
            " script.onload = function() { resolve(); }; script.onerror = reject;"
            " document.head.appendChild(script); }); }"
            " let ready = null;"
            f" function start() {{ if (!ready) {{ ready = load('{bundle_url(prefix)}').catch(function() {{"
            f" return load('{full_bundle_url(prefix)}'); }}); }} return ready; }}"
            " window.Plotly = {then: function(resolve, reject) { return start().then(resolve, reject); }};"
            f" const charts = {json.dumps(chart_paths(prefix))};"
            " if (charts.some(function(source) { return new RegExp(source).test(window.location.pathname); })) {"
            " start(); } }")


def renderer(prefix: str) -> str:
    """Dash's renderer script with the hook (app.renderer)."""
    return f"var renderer = new DashRenderer({{layout_pre: {layout_pre_hook(prefix)}}});"


def install(app: dash.Dash) -> None:
    """Serve the bundle (a year's immutable cache under its hash) and set the renderer's hook."""
    digest = _digest()
    prefix = app.config.requests_pathname_prefix

    def serve_bundle(digest_in_url: str) -> flask.Response:
        if digest_in_url != digest:
            flask.abort(404)
        response = flask.send_file(BUNDLE, mimetype="text/javascript", max_age=YEAR, conditional=True)
        response.headers["Cache-Control"] = IMMUTABLE
        return response

    app.server.add_url_rule(f"{app.config.routes_pathname_prefix}{ROUTE}/plotly-basic.<digest_in_url>.min.js",
                            "plotly_basic_bundle", serve_bundle)
    app.renderer = renderer(prefix)
