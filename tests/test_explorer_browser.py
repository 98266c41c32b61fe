"""What a person does in the explorer and on a device page, in headless Chromium against real PostgreSQL."""
from __future__ import annotations

import csv
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from ingest import simulator
from tds_dash import periods
from tds_dash.app import create_app
from tds_dash.consumption import ids
from tests.explorer_data import FLEET, ZONE_NAME, device_id, write_history
from tests.helpers import free_port, settings_for, wait_until

pytestmark = pytest.mark.browser
ZONE = ZoneInfo(ZONE_NAME)
UTC = timezone.utc


@pytest.fixture
def explorer_app(database, mosquitto):
    simulator.provision_fleet(database.engine(), FLEET)
    now = datetime.now(UTC)
    write_history(database, now - timedelta(days=20), now - timedelta(minutes=1), timedelta(hours=2))
    return create_app(settings_for(database, mosquitto, TDS_REFRESH_SECONDS="600"))


def click_label(duo, text: str) -> None:
    duo.driver.find_element(By.XPATH, f"//label[normalize-space()='{text}']").click()


def tallest_bar(duo, graph_id: str):
    """The bar segment of the first trace with the largest height (an empty bucket has nothing to click)."""
    bars = duo.find_elements(f"#{graph_id} .barlayer .trace:first-child .point path")
    return max(bars, key=lambda bar: bar.rect["height"])


def downloaded(duo, suffix: str, after: float) -> list[dict]:
    """Rows of the newest file with this suffix written to the browser's download folder after `after`."""
    folder = Path(duo.download_path)

    def ready():
        files = [f for f in folder.glob(f"*{suffix}") if f.stat().st_mtime >= after]
        return max(files, key=os.path.getmtime) if files else None
    path = wait_until(ready, timeout=10, message=f"a {suffix} download")
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_exp060_preset_bars_totals_line_compare_and_csv(dash_duo, explorer_app, database):
    dash_duo.start_server(explorer_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/explorer")
    dash_duo.wait_for_text_to_equal("h3", "Explorador de consumo")
    click_label(dash_duo, "Últimos 7 dias")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_GRANULARITY_USED}", "Mostrando por dia")
    dash_duo.wait_for_element(f"#{ids.EXPLORER_CHART} .barlayer .point")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_TABLE}", "GW-0101/MED-001")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_TABLE}", "kWh")

    # The CSV holds the charted bars: 7 local days, one column per device, equal to the stored sums.
    started = time.time()
    dash_duo.find_element(f"#{ids.EXPLORER_CSV}").click()
    rows = downloaded(dash_duo, ".csv", started)
    today = periods.local_today(datetime.now(UTC), ZONE)
    assert [row["Início do intervalo"][:10] for row in rows] == [(today - timedelta(days=6 - i)).isoformat()
                                                          for i in range(7)]
    med = device_id(database, "GW-0101", "MED-001")
    first = periods.Period(today - timedelta(days=6), today - timedelta(days=6), ZONE)
    direct = database.scalar("SELECT sum(consumption) FROM readings WHERE device_id = %s AND metric_id = 1"
                             " AND ts >= %s AND ts < %s", (med, first.start, first.end))
    assert float(rows[0]["GW-0101/MED-001 (kWh)"]) == pytest.approx(direct, abs=0.0005)  # to the meter's 0.001

    # A total line compared with the previous period; the CSV follows what is drawn.
    click_label(dash_duo, "Linha do total")
    dash_duo.find_element(f"#{ids.EXPLORER_COMPARE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_CHANGE}", "período anterior")
    wait_until(lambda: len(dash_duo.find_elements(f"#{ids.EXPLORER_CHART} .scatterlayer .trace")) == 2)
    assert not dash_duo.find_elements(f"#{ids.EXPLORER_CHART} .barlayer .point")
    started = time.time()
    dash_duo.find_element(f"#{ids.EXPLORER_CSV}").click()
    rows = downloaded(dash_duo, ".csv", started)
    assert list(rows[0]) == ["Início do intervalo", "Total (kWh)", "Início do intervalo anterior",
                             "Total do período anterior (kWh)"]
    assert rows[0]["Início do intervalo anterior"][:10] == (today - timedelta(days=13)).isoformat()
    assert dash_duo.get_logs() == []


def test_exp061_overview_bar_to_explorer_then_bar_to_device_page(dash_duo, explorer_app, database):
    dash_duo.start_server(explorer_app, port=free_port())  # signed in, on the overview
    dash_duo.wait_for_element(f"#{ids.OVERVIEW_DAILY} .barlayer .point path")
    ActionChains(dash_duo.driver).move_to_element(dash_duo.find_element(f"#{ids.OVERVIEW_DAILY} .barlayer .point path")
                                                  ).click().perform()
    dash_duo.wait_for_text_to_equal("h3", "Explorador de consumo")
    # The first daily bar: the month's first day with history (the fixture writes 20 days).
    history_start = (datetime.now(UTC) - timedelta(days=20)).astimezone(ZONE).date()
    first_day = max(periods.local_today(datetime.now(UTC), ZONE).replace(day=1), history_start).isoformat()
    assert dash_duo.driver.current_url.endswith(f"/explorer?from={first_day}&to={first_day}&metric=energy_kwh")
    dash_duo.wait_for_contains_text(f"#{ids.EXPLORER_GRANULARITY_USED}", "Mostrando por hora")

    dash_duo.wait_for_element(f"#{ids.EXPLORER_CHART} .barlayer .point path")
    ActionChains(dash_duo.driver).move_to_element(tallest_bar(dash_duo, ids.EXPLORER_CHART)).click().perform()
    dash_duo.wait_for_contains_text("h3", "Dispositivo ")
    assert f"?from={first_day}&to={first_day}" in dash_duo.driver.current_url
    dash_duo.wait_for_contains_text("#device-last-seen", "Última leitura")
    dash_duo.wait_for_element(f"#{ids.DEVICE_CHARTS} .js-plotly-plot .scatterlayer .trace")
    dash_duo.wait_for_contains_text(f"#{ids.DEVICE_CHARTS}", "Leituras brutas")
    dash_duo.wait_for_contains_text(f"#{ids.DEVICE_STATUS}", "Energia ativa (kWh)")  # named, not its key

    # Someone else's or a missing device: a clear message and no data.
    dash_duo.driver.get(f"{dash_duo.server_url}/device/999999")
    dash_duo.wait_for_text_to_equal("#device-not-found", "Dispositivo não encontrado.")
    assert not dash_duo.find_elements(f"#{ids.DEVICE_CHARTS}")
    assert dash_duo.get_logs() == []
