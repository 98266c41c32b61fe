"""The API's own description: /api/v1/openapi.yaml (docs/openapi.yaml) and a Swagger UI page at /api/v1/docs.

Swagger UI is vendored under assets/swagger-ui/ (npm swagger-ui-dist, see its LICENSE there): no CDN.
Any other path under /api/v1 answers a JSON 404 rather than falling through to the Dash pages.
"""
from __future__ import annotations

from pathlib import Path

import flask

from tds_dash.api.common import blueprint
from tds_dash.errors import json_error

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TDS Telemetry API</title>
<link rel="stylesheet" href="/assets/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/assets/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/assets/swagger-ui/init.js"></script>
</body></html>
"""


@blueprint.get("/openapi.yaml")
def openapi_document():
    return flask.Response(OPENAPI.read_bytes(), mimetype="application/yaml")


@blueprint.get("/docs")
def docs_page():
    return flask.Response(PAGE, mimetype="text/html")


@blueprint.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_route(rest: str):
    return json_error(404, "not_found", f"no route /api/v1/{rest}")
