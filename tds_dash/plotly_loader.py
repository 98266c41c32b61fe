"""plotly.js starts loading while the server renders the page, not after the page arrives.

dcc.Graph loads plotly.js (4.8 MB) when the first graph mounts: with the page's chart in the layout's
response (page_container.py), that fetch (revalidated each load: Dash's URL for it has no fingerprint) and
its ~150 ms of script evaluation came after the layout, right before the drawing (issue 16). Dash's
`layout_pre` renderer hook runs just before the layout request: there the script is added, under a
fingerprinted URL Dash serves with a year's cache, and window.Plotly holds a thenable until it has run —
dcc's loader resolves `window.Plotly` with Promise.resolve, which waits for a thenable, so a graph that
mounts earlier waits for this one script instead of adding a second one. If the script fails, the
thenable loads Dash's own URL instead.
"""
from __future__ import annotations

import os
from pathlib import Path

import plotly
from dash.fingerprint import build_fingerprint

PACKAGE_PATH = "package_data/plotly.min.js"  # what dash.Dash._setup_plotlyjs registers for dcc.Graph


def plotly_url(prefix: str) -> str:
    """The fingerprinted URL of dcc.Graph's plotly.js (version and file time, as Dash builds its own)."""
    modified = int(os.stat(Path(plotly.__file__).parent / PACKAGE_PATH).st_mtime)
    return f"{prefix}_dash-component-suites/plotly/{build_fingerprint(PACKAGE_PATH, plotly.__version__, modified)}"


def layout_pre_hook(prefix: str) -> str:
    """The renderer's layout_pre hook (JavaScript) that starts loading plotly.js."""
    return ("function() { if (window.Plotly) { return; }"
            " function load(src) { return new Promise(function(resolve, reject) {"
            " const script = document.createElement('script'); script.src = src; script.async = true;"
            " script.onload = function() { resolve(); }; script.onerror = reject;"
            " document.head.appendChild(script); }); }"
            f" const ready = load('{plotly_url(prefix)}').catch(function() {{"
            f" return load('{prefix}_dash-component-suites/plotly/{PACKAGE_PATH}'); }});"
            " window.Plotly = {then: function(resolve, reject) { return ready.then(resolve, reject); }}; }")


def renderer(prefix: str) -> str:
    """Dash's renderer script with the hook (app.renderer)."""
    return f"var renderer = new DashRenderer({{layout_pre: {layout_pre_hook(prefix)}}});"
