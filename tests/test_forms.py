"""Table tests of the gateway and device form validation (tds_dash/validation.py): pure, no database."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import payload
from tds_dash.fleet import validation

ROOT = Path(__file__).resolve().parent.parent
GOOD_GATEWAY = {"account_id": 1, "serial": "GW-0101", "name": "Subestação", "location": "",
                "inactivity_timeout_s": "300", "active": True}
GOOD_DEVICE = {"gateway_id": 7, "code": "MED-001", "name": "Medidor 1", "kind": "energy_meter", "active": True}


def errors_of(result) -> dict[str, str]:
    return {field: error.code for field, error in result[1].items()}


@pytest.mark.parametrize("change, expected", [
    ({}, {}),
    ({"serial": ""}, {"serial": "required"}),
    ({"serial": "   "}, {"serial": "required"}),
    ({"serial": "G"}, {"serial": "serial_format"}),                 # 2 characters at least
    ({"serial": "-GW1"}, {"serial": "serial_format"}),
    ({"serial": "GW 01"}, {"serial": "serial_format"}),
    ({"serial": "GW/01"}, {"serial": "serial_format"}),             # would break the topic
    ({"serial": "GW+01"}, {"serial": "serial_format"}),             # an MQTT wildcard
    ({"serial": "GW-01\n"}, {}),                                   # surrounding blanks are trimmed
    ({"serial": "GW-\n01"}, {"serial": "serial_format"}),
    ({"serial": "GWÇ1"}, {"serial": "serial_format"}),
    ({"serial": "G" * 64}, {}),
    ({"serial": "G" * 65}, {"serial": "serial_format"}),
    ({"name": ""}, {"name": "required"}),
    ({"name": "x" * 121}, {"name": "too_long"}),
    ({"location": "x" * 201}, {"location": "too_long"}),
    ({"account_id": None}, {"account_id": "required"}),
    ({"account_id": 99}, {"account_id": "choice"}),                # not an account the viewer may use
    ({"inactivity_timeout_s": ""}, {"inactivity_timeout_s": "required"}),
    ({"inactivity_timeout_s": "9"}, {"inactivity_timeout_s": "range"}),
    ({"inactivity_timeout_s": "10"}, {}),
    ({"inactivity_timeout_s": 86400}, {}),
    ({"inactivity_timeout_s": "86401"}, {"inactivity_timeout_s": "range"}),
    ({"inactivity_timeout_s": "5 min"}, {"inactivity_timeout_s": "integer"}),
    ({"inactivity_timeout_s": "1.000"}, {"inactivity_timeout_s": "integer"}),
    ({"inactivity_timeout_s": 300.5}, {"inactivity_timeout_s": "integer"}),
    ({"inactivity_timeout_s": float("nan")}, {"inactivity_timeout_s": "integer"}),
    ({"inactivity_timeout_s": True}, {"inactivity_timeout_s": "integer"}),
    ({"inactivity_timeout_s": "9" * 40}, {"inactivity_timeout_s": "integer"}),
    ({"serial": "", "name": "", "inactivity_timeout_s": "0"},
     {"serial": "required", "name": "required", "inactivity_timeout_s": "range"}),
])
def test_frm001_gateway_form(change, expected):
    result = validation.validate_gateway({**GOOD_GATEWAY, **change}, account_ids=[1, 2])
    assert errors_of(result) == expected
    if not expected:
        assert result[0]["serial"] == ({**GOOD_GATEWAY, **change})["serial"].strip()
        assert isinstance(result[0]["inactivity_timeout_s"], int)


@pytest.mark.parametrize("change, expected", [
    ({}, {}),
    ({"code": "M"}, {}),                                            # 1 character is a valid code
    ({"code": "MED:01.a_b-c"}, {}),
    ({"code": ""}, {"code": "required"}),
    ({"code": ":MED"}, {"code": "code_format"}),
    ({"code": "MED 01"}, {"code": "code_format"}),
    ({"code": "M" * 65}, {"code": "code_format"}),
    ({"gateway_id": None}, {"gateway_id": "required"}),
    ({"gateway_id": 8}, {"gateway_id": "choice"}),
    ({"kind": "toaster"}, {"kind": "choice"}),
    ({"kind": None}, {"kind": "required"}),
    ({"name": " "}, {"name": "required"}),
])
def test_frm002_device_form(change, expected):
    assert errors_of(validation.validate_device({**GOOD_DEVICE, **change}, gateway_ids=[7])) == expected


@pytest.mark.parametrize("raw, expected, clean", [
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": "99999,9"}, {}, 99999.9),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": "99999.9"}, {}, 99999.9),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": 1e6}, {}, 1e6),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": ""}, {}, None),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": "99.999,9"}, {"rollover_value": "number"}, None),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": "0,5"}, {"rollover_value": "range"}, None),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": "-5"}, {"rollover_value": "range"}, None),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": "1e20"}, {"rollover_value": "number"}, None),
    ({"meter_kind": "counter", "unit": "kWh", "rollover_value": float("inf")}, {"rollover_value": "number"}, None),
    ({"meter_kind": "gauge", "unit": "kW", "rollover_value": "100"}, {"rollover_value": "rollover_counter_only"}, None),
    ({"meter_kind": "ramp", "unit": "kW"}, {"meter_kind": "choice"}, None),
    ({"meter_kind": None, "unit": "kW"}, {"meter_kind": "required"}, None),
    ({"meter_kind": "gauge", "unit": "furlong"}, {"unit": "choice"}, None),
    ({"meter_kind": "gauge", "unit": None}, {}, None),              # no unit is a choice of its own
    ({"meter_kind": "delta", "unit": "kWh", "usual_interval_s": "900"}, {}, None),
    ({"meter_kind": "delta", "unit": "kWh", "usual_interval_s": "0"}, {"usual_interval_s": "range"}, None),
    ({"meter_kind": "delta", "unit": "kWh", "usual_interval_s": "15m"}, {"usual_interval_s": "integer"}, None),
])
def test_frm003_metric_row(raw, expected, clean):
    values, errors = validation.validate_metric(raw)
    assert {field: error.code for field, error in errors.items()} == expected
    if "rollover_value" not in expected:
        assert values["rollover_value"] == clean


def test_frm004_messages_are_portuguese_by_default_and_english_on_request():
    _, errors = validation.validate_gateway({**GOOD_GATEWAY, "serial": "", "inactivity_timeout_s": "5"}, [1])
    assert errors["serial"].message("pt-BR") == "Campo obrigatório."
    assert errors["serial"].message("en") == "Required."
    assert errors["inactivity_timeout_s"].message("pt-BR") == "Informe um valor entre 10 e 86.400."
    assert errors["inactivity_timeout_s"].message("en") == "Enter a value between 10 and 86,400."
    for code in ("serial_format", "code_format", "serial_taken", "code_taken", "integer", "number", "choice",
                 "rollover_counter_only"):
        text = validation.FieldError(code).message("pt-BR")
        assert text != f"form.{code}" and text != validation.FieldError(code).message("en")


def test_frm005_patterns_are_the_ones_ingest_and_sql_enforce():
    """The form must accept exactly what a topic/reading and the CHECK constraints accept."""
    core = (ROOT / "sql" / "001_core.sql").read_text()
    assert f"serial ~ '^{validation.SERIAL_PATTERN.pattern}$'" in core
    assert f"code ~ '^{validation.CODE_PATTERN.pattern}$'" in core
    assert validation.SERIAL_PATTERN.pattern in payload.TOPIC_PATTERN.pattern
    assert validation.CODE_PATTERN.pattern == payload.DEVICE_PATTERN.pattern
    assert re.search(r"inactivity_timeout_s BETWEEN %d AND %d" % validation.TIMEOUT_RANGE, core)
