"""docs/api.md's "Provision a fleet from a script" Python block, run as written against a live server with
the real ingest and mosquitto; then the viewer's side: reads work, every write is a 403 in the JSON body."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ingest import simulator
from tds_dash.app import create_app
from tests.explorer_data import api_token
from tests.helpers import settings_for

DOC = Path(__file__).parent.parent / "docs" / "api.md"


def walkthrough_script() -> str:
    section = DOC.read_text().split("## Provision a fleet from a script", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def live(database, mosquitto, ingest):
    """(base URL, app): the app served on 127.0.0.1 by a thread, the ingest subscribed to the test broker."""
    from werkzeug.serving import make_server

    simulator.provision_fleet(database.engine(), simulator.build_fleet(["acme-energia"], 1, 1),
                              {"acme-energia": "Acme Energia"})
    settings = settings_for(database, mosquitto)
    app = create_app(settings)
    ingest(settings)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="walkthrough-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(10)


@pytest.mark.slow
def test_api130_the_python_walkthrough_runs_as_written(live, mosquitto, tmp_path, database):
    import requests

    base, app = live
    script = tmp_path / "provision.py"
    script.write_text(walkthrough_script())
    operator = api_token(app, "walk-operator", "operator", ("acme-energia",))["Authorization"].split()[1]
    env = {**os.environ, "TDS": base, "TOKEN": operator, "ACCOUNT": "acme-energia", "SERIAL": "GW-SCRIPT-01",
           "MQTT_HOST": mosquitto.host, "MQTT_PORT": str(mosquitto.port)}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == {"gateway": "GW-SCRIPT-01", "devices": 300, "consumption_kwh": 450.0}
    assert "listed 300 devices, 300 with readings" in done.stdout
    assert database.scalar("SELECT count(*) FROM audit_log WHERE entity = 'device' AND action = 'create'"
                           " AND username = 'walk-operator'") == 300

    viewer = {"Authorization": api_token(app, "walk-viewer", "viewer", ("acme-energia",))["Authorization"]}
    listed = requests.get(f"{base}/api/v1/devices", params={"gateway": "GW-SCRIPT-01", "limit": 500},
                          headers=viewer, timeout=30)
    assert listed.status_code == 200 and listed.json()["total"] == 300
    device = listed.json()["data"][0]["id"]
    writes = [("post", "/api/v1/gateways", {"json": {"account": "acme-energia", "serial": "GW-V", "name": "v",
                                                     "inactivity_timeout_s": 300}}),
              ("post", "/api/v1/devices/import", {"data": b"gateway;code;name\nGW-SCRIPT-01;V-1;v\n",
                                                  "headers": {**viewer, "Content-Type": "text/csv"}}),
              ("patch", f"/api/v1/devices/{device}", {"json": {"name": "v"}}),
              ("delete", f"/api/v1/devices/{device}", {"params": {"purge": "true"}}),
              ("post", "/api/v1/gateways/GW-SCRIPT-01/deactivate", {})]
    for method, path, kwargs in writes:
        response = requests.request(method, base + path, headers=kwargs.pop("headers", viewer), timeout=30,
                                    **kwargs)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    assert database.scalar("SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id"
                           " WHERE d.id = %s", (device,)) == 2
