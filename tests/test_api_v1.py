"""/api/v1 through Flask's test client against a real PostgreSQL: numbers, CSV, every bad input, scope."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingest import simulator
from tds_dash import periods
from tds_dash.app import create_app
from tds_dash.db import session_scope
from tds_dash.queries import explorer
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import ALL_ACCOUNTS
from tests.explorer_data import FLEET, ZONE_NAME, api_token, device_id, write_history
from tests.helpers import settings_for

ZONE = ZoneInfo(ZONE_NAME)
UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def api(database, mosquitto):
    """(client, headers of an admin token, ids): history from 2026-02-25 to 2026-03-05 plus the last day."""
    simulator.provision_fleet(database.engine(), FLEET)
    write_history(database, datetime(2026, 2, 25, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC), timedelta(hours=1))
    write_history(database, NOW - timedelta(days=1), NOW, timedelta(minutes=30))
    app = create_app(settings_for(database, mosquitto))
    ids = {"med": device_id(database, "GW-0101", "MED-001"), "globex": device_id(database, "GW-0201", "MED-001")}
    return app.server.test_client(), api_token(app, "api-admin"), ids, app


def get(client, headers, path, **params):
    return client.get(path, query_string=params, headers=headers)


def test_exp040_consumption_json_equals_the_explorer(api, database):
    client, headers, ids, _ = api
    response = get(client, headers, "/api/v1/consumption", device=ids["med"], **{"from": "2026-02-26",
                                                                                 "to": "2026-03-03"},
                   granularity="day", metric="energy_kwh")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["from"] == "2026-02-26T00:00:00-03:00" and body["timezone"] == ZONE_NAME
    assert body["granularity"] == "day" and body["devices"][0]["code"] == "MED-001"
    assert [row["bucket"][:10] for row in body["data"]] == ["2026-02-26", "2026-02-27", "2026-02-28", "2026-03-01",
                                                           "2026-03-02"]
    period = periods.Period(date(2026, 2, 26), date(2026, 3, 2), ZONE)
    with session_scope(database.engine()) as conn:
        data = explorer.fetch_explorer(conn, ALL_ACCOUNTS, Selection(device_ids=(ids["med"],)), "energy_kwh", period,
                                       "day", False, NOW)
    assert [row["consumption"] for row in body["data"]] == pytest.approx(list(data.by_device["consumption"]))
    first = body["data"][0]
    assert first["count"] == 24 and first["min"] <= first["avg"] <= first["max"]


def test_exp041_consumption_every_metric_csv_and_month_granularity(api):
    client, headers, ids, _ = api
    params = {"device": f"{ids['med']},{ids['globex']}", "from": "2026-02-25T00:00:00-03:00",
              "to": "2026-03-05T00:00:00Z", "granularity": "month"}
    body = get(client, headers, "/api/v1/consumption", **params).json
    assert {(row["device_id"], row["metric"]) for row in body["data"]} == {
        (ids["med"], "energy_kwh"), (ids["med"], "power_kw"), (ids["globex"], "energy_kwh"),
        (ids["globex"], "power_kw")}
    gauge = next(row for row in body["data"] if row["metric"] == "power_kw")
    assert gauge["consumption"] is None and gauge["avg"] is not None
    response = get(client, headers, "/api/v1/consumption", format="csv", **params)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["device_id", "metric", "unit", "bucket", "consumption", "min", "avg", "max", "count"]
    assert len(rows) == len(body["data"])
    assert float(rows[0]["consumption"]) == pytest.approx(body["data"][0]["consumption"])
    assert [row["consumption"] for row in rows if row["metric"] == "power_kw"] == ["", "", "", ""]


def test_exp042_readings_json_and_csv(api, database):
    client, headers, ids, _ = api
    params = {"device": ids["med"], "from": (NOW - timedelta(hours=6)).isoformat(), "to": NOW.isoformat(),
              "metric": "energy_kwh"}
    body = get(client, headers, "/api/v1/readings", **params).json
    expected = database.query("SELECT ts, value, consumption FROM readings WHERE device_id = %s AND metric_id = 1"
                              " AND ts >= %s AND ts < %s ORDER BY ts", (ids["med"], NOW - timedelta(hours=6), NOW))
    assert body["count"] == len(expected) == 12
    assert [datetime.fromisoformat(row["ts"]) for row in body["data"]] == [row[0] for row in expected]
    assert [row["value"] for row in body["data"]] == [row[1] for row in expected]
    assert body["data"][0]["ts"].endswith("-03:00")
    text = get(client, headers, "/api/v1/readings", format="CSV", **params).get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0] == "device_id,metric,unit,ts,value,consumption" and len(lines) == 13


BAD_INPUTS = [
    ({"from": "2026-02-26", "to": "2026-03-01"}, "device", "missing_parameter"),
    ({"device": "abc", "from": "2026-02-26", "to": "2026-03-01"}, "device", "invalid_parameter"),
    ({"device": "1.5", "from": "2026-02-26", "to": "2026-03-01"}, "device", "invalid_parameter"),
    ({"device": "-1", "from": "2026-02-26", "to": "2026-03-01"}, "device", "invalid_parameter"),
    ({"device": ",".join(str(i) for i in range(1, 60)), "from": "2026-02-26", "to": "2026-03-01"}, "device",
     "invalid_parameter"),
    ({"device": "{med}", "to": "2026-03-01"}, "from", "missing_parameter"),
    ({"device": "{med}", "from": "26/02/2026", "to": "2026-03-01"}, "from", "invalid_parameter"),
    ({"device": "{med}", "from": "2026-02-30", "to": "2026-03-01"}, "from", "invalid_parameter"),
    ({"device": "{med}", "from": "2026-02-26T10:00:00", "to": "2026-03-01"}, "from", "invalid_parameter"),
    ({"device": "{med}", "from": "2026-02-26", "to": "soon"}, "to", "invalid_parameter"),
    ({"device": "{med}", "from": "2026-03-01", "to": "2026-03-01"}, "from", "invalid_range"),
    ({"device": "{med}", "from": "2026-03-02", "to": "2026-03-01"}, "from", "invalid_range"),
    ({"device": "{med}", "from": "2026-01-01", "to": "2026-03-01", "granularity": "hour"}, "to", "range_too_large"),
    ({"device": "{med}", "from": "2010-01-01", "to": "2026-03-01", "granularity": "month"}, "to", "range_too_large"),
    ({"device": "{med}", "from": "2026-02-26", "to": "2026-03-01", "granularity": "week"}, "granularity",
     "invalid_parameter"),
    ({"device": "{med}", "from": "2026-02-26", "to": "2026-03-01", "format": "xml"}, "format", "invalid_parameter"),
    ({"device": "{med}", "from": "2026-02-26", "to": "2026-03-01", "metric": "nope"}, "metric", "invalid_parameter"),
]


def test_exp043_bad_parameters_get_a_400_naming_them(api):
    """One database for the whole table (each case is a request, not a fixture)."""
    client, headers, ids, _ = api
    for params, parameter, code in BAD_INPUTS:
        params = {key: value.format(**ids) for key, value in params.items()}
        for path in ("/api/v1/consumption", "/api/v1/readings"):
            if path.endswith("readings") and "granularity" in params:
                continue  # readings take no granularity
            response = get(client, headers, path, **params)
            assert response.status_code == 400, (path, params, response.json)
            error = response.json["error"]
            assert (error["parameter"], error["code"]) == (parameter, code), (path, params)
            assert error["message"]


def test_exp044_too_many_readings_is_a_400(api, monkeypatch):
    client, headers, ids, _ = api
    from tds_dash.api import v1 as api_v1
    monkeypatch.setattr(api_v1, "MAX_READINGS", 10)
    response = get(client, headers, "/api/v1/readings", device=ids["med"], **{"from": "2026-02-25", "to": "2026-03-01"})
    assert response.status_code == 400 and response.json["error"]["code"] == "too_many_readings"


def test_exp045_unknown_or_foreign_devices_are_404(api):
    client, headers, ids, app = api
    window = {"from": "2026-02-26", "to": "2026-03-01"}
    for path in ("/api/v1/consumption", "/api/v1/readings"):
        assert get(client, headers, path, device=999999, **window).status_code == 404
        assert get(client, headers, path, device=f"{ids['med']},999999", **window).status_code == 404
    # A viewer of globex sees its own device and not acme's, and cannot tell acme's from a missing one.
    viewer = api_token(app, "globex-viewer", "viewer", ("globex",))
    assert get(client, viewer, "/api/v1/consumption", device=ids["globex"], **window).status_code == 200
    foreign = get(client, viewer, "/api/v1/consumption", device=ids["med"], **window)
    missing = get(client, viewer, "/api/v1/consumption", device=999999, **window)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json["error"]["code"] == "not_found"
    assert get(client, {}, "/api/v1/consumption", device=ids["med"], **window).status_code == 401


def test_exp046_openapi_document_matches_the_routes_and_errors():
    import yaml  # installed with amqtt

    document = yaml.safe_load((Path(__file__).parent.parent / "docs" / "openapi.yaml").read_text())
    alarms = {"/api/v1/alarms", "/api/v1/alarms/{id}/ack", "/api/v1/alarms/{id}/clear", "/api/v1/alarm-rules",
              "/api/v1/alarm-rules/{id}", "/api/v1/notification-channels", "/api/v1/notification-channels/{id}",
              "/api/v1/notification-channels/{id}/test"}  # tds_dash/api/alarms.py (tests/test_alarms_api.py too)
    assert set(document["paths"]) == {"/api/v1/consumption", "/api/v1/readings"} | alarms
    codes = set(document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    assert {code for _, _, code in BAD_INPUTS} | {"not_found", "too_many_readings"} <= codes
    granularity = next(p for p in document["paths"]["/api/v1/consumption"]["get"]["parameters"]
                       if p.get("name") == "granularity")
    assert granularity["schema"]["enum"] == list(periods.GRANULARITIES)


def test_exp047_every_error_has_one_json_shape(app, client):
    """The guard (401), /metrics (403) and /api/v1 (400) answer in the same body."""
    unauthenticated = client.get("/api/v1/consumption")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json == {"error": {"code": "unauthenticated", "message": "authentication required",
                                              "parameter": None}}
    headers = api_token(app, "shape-viewer", "viewer")
    forbidden = client.get("/metrics", headers=headers)
    assert forbidden.status_code == 403 and set(forbidden.json["error"]) == {"code", "message", "parameter"}
    missing = client.get("/api/v1/consumption", headers=headers)
    assert missing.status_code == 400 and set(missing.json["error"]) == {"code", "message", "parameter"}
