"""Monthly statements: centavo lines that add up to the rounded exact total, as CSV and PDF, via the API."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tds_dash.db import session_scope
from tds_dash.queries.scope import ALL_ACCOUNTS
from tds_dash.tariffs import statements
from tds_dash.tariffs.money import to_centavos
from tds_dash.tariffs.validation import TariffInputError
from tests.explorer_data import api_token
from tests.test_tariffs_db import METRIC, Fleet, at, sample_usage

ZONE = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def fleet(database) -> Fleet:
    fleet = Fleet(database)
    fleet.put(fleet.acme, sample_usage(fleet.devices["acme"]))
    fleet.tariff(fleet.acme)
    return fleet


def test_stm001_lines_in_centavos_add_up_to_the_rounded_exact_month(fleet):
    with session_scope(fleet.engine) as conn:
        got = statements.build_statement(conn, ALL_ACCOUNTS, fleet.acme, METRIC, "2026-11", ZONE)
        with pytest.raises(TariffInputError) as error:
            statements.build_statement(conn, ALL_ACCOUNTS, fleet.globex, METRIC, "2026-11", ZONE)
    exact = fleet.breakdown(at(date(2026, 11, 1)), at(date(2026, 12, 1)), "month").total
    assert got.exact_total == exact and got.total == to_centavos(exact) and got.month == date(2026, 11, 1)
    assert sum(line.amount for line in got.lines) == got.total
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in got.lines)
    assert {"energy", "tier", "surcharge", "fixed_fee", "tax"} <= {line.component for line in got.lines}
    assert error.value.field == "metric"  # globex has no tariff


def test_stm002_csv_and_pdf_through_the_api(app, client, fleet):
    viewer = api_token(app, "acme-viewer", "viewer", ("acme",))
    other = api_token(app, "globex-viewer", "viewer", ("globex",))
    tariff_id = client.get("/api/v1/tariffs", headers=viewer).json["data"][0]["id"]
    url = f"/api/v1/tariffs/{tariff_id}/statements/2026-11"
    text = client.get(url, headers=viewer, query_string={"format": "csv"}).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    with session_scope(fleet.engine) as conn:
        want = statements.build_statement(conn, ALL_ACCOUNTS, fleet.acme, METRIC, "2026-11", ZONE)
    assert rows[-1]["component"] == "total" and rows[-1]["amount"] == format(want.total, "f")
    assert sum(Decimal(r["amount"]) for r in rows[:-1]) == want.total and {r["currency"] for r in rows} == {"BRL"}
    pdf = client.get(url, headers={**viewer, "Accept-Language": "pt-BR"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "statement_acme_energy_kwh_2026-11.pdf" in pdf.headers["Content-Disposition"]
    assert client.get(url, headers=other).status_code == 404
    bad_month = client.get(f"/api/v1/tariffs/{tariff_id}/statements/2026-13", headers=viewer)
    assert bad_month.status_code == 422 and bad_month.json["error"]["parameter"] == "month"
    bad_format = client.get(url, headers=viewer, query_string={"format": "xls"})
    assert bad_format.status_code == 400 and bad_format.json["error"]["parameter"] == "format"
