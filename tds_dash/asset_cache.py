"""A year's immutable cache for the files of assets/ that Dash names with their modification time.

Dash links the CSS and scripts of assets/ as `/assets/<file>?m=<mtime>`, but Flask serves them for
revalidation at every load (`no-cache`): a reload waited for ~10 of those round trips, the render-blocking
Bootstrap CSS among them, before any script ran — 20-170 ms under load on 2 cores (issue 16,
bench/RESULTS.md). A changed file gets a new `m`, so caching those URLs for a year never serves a stale one;
an address without `m` (a link typed by hand, the logo's) keeps Flask's revalidation.
"""
from __future__ import annotations

import flask

YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR}, immutable"


def install_asset_cache(server: flask.Flask, assets_prefix: str) -> None:
    """Cache `assets_prefix…?m=…` responses (200 and 304) for a year."""

    @server.after_request
    def cache_fingerprinted_assets(response: flask.Response) -> flask.Response:
        request = flask.request
        if (request.path.startswith(assets_prefix) and request.args.get("m")
                and response.status_code in (200, 304)):
            response.headers["Cache-Control"] = IMMUTABLE
        return response
