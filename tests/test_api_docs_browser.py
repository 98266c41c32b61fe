"""/api/v1/docs in a real headless Chromium: the vendored Swagger UI renders every operation offline."""
from __future__ import annotations

import pytest

from tests.helpers import free_port


@pytest.mark.browser
def test_api140_docs_page_renders_every_operation_from_vendored_files(dash_duo, app):
    import yaml

    from tds_dash.api.docs import OPENAPI

    document = yaml.safe_load(OPENAPI.read_text())
    operations = sum(1 for item in document["paths"].values() for method in item if method != "parameters")
    dash_duo.start_server(app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/api/v1/docs")
    dash_duo.wait_for_element(".swagger-ui .info .title", timeout=20)
    dash_duo.wait_for_element(".opblock-summary-path", timeout=20)
    assert len(dash_duo.driver.find_elements("css selector", ".opblock")) == operations
    assert "TDS Telemetry API" in dash_duo.find_element(".swagger-ui .info .title").text
    severe = [entry for entry in dash_duo.get_logs() if entry.get("level") == "SEVERE"]
    assert severe == []  # no CDN or missing file: everything came from this server
