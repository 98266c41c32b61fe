"""Issue 15 item 3: one number style (axes, cards, tooltips) and forms that read back what the app shows."""
from __future__ import annotations

import pytest
from babel import numbers as babel_numbers
from hypothesis import given, settings
from hypothesis import strategies as st

from tds_dash import i18n
from tds_dash.fleet import validation
from tds_dash.i18n import number_style as numbers


@pytest.mark.parametrize("value, pt, en", [
    (0, "0", "0"),
    (0.5, "0,5", "0.5"),
    (12.5, "12,5", "12.5"),
    (250, "250", "250"),
    (1_500, "1,5 mil", "1.5k"),
    (800_000, "800 mil", "800k"),
    (1_250_000, "1,25 mi", "1.25M"),
    (-2_000_000, "-2 mi", "-2M"),
    (3_000_000_000, "3 bi", "3B"),
])
def test_num001_compact_numbers_spell_mil_and_mi_in_portuguese(value, pt, en):
    assert numbers.compact_number(value, "pt-BR") == pt
    assert numbers.compact_number(value, "en") == en


def test_num002_axis_ticks_are_round_cover_the_values_and_use_the_language():
    ticks = numbers.axis_ticks(0, 683_626.0, "pt-BR")
    assert ticks["tickvals"][0] == 0 and ticks["tickvals"][-1] >= 683_626.0
    steps = {round(b - a, 6) for a, b in zip(ticks["tickvals"], ticks["tickvals"][1:])}
    assert len(steps) == 1
    assert "200 mil" in ticks["ticktext"] and not any("k" in text or "M" in text for text in ticks["ticktext"])
    assert "200k" in numbers.axis_ticks(0, 683_626.0, "en")["ticktext"]
    assert numbers.axis_ticks(None, None, "en") == {}
    near = numbers.axis_ticks(1_200_000, 1_240_000, "pt-BR", from_zero=False)
    assert near["tickvals"][0] == 1_200_000 and near["ticktext"][:2] == ["1.200.000", "1.210.000"]
    assert numbers.axis_ticks(600_000, 700_000, "pt-BR", from_zero=False)["ticktext"][:2] == ["600 mil", "620 mil"]
    small = numbers.axis_ticks(0, 0.8, "pt-BR")
    assert small["ticktext"][:3] == ["0", "0,2", "0,4"]


def test_num003_cards_and_tooltips_group_like_the_axes():
    assert i18n.format_number(683_626.0, "pt-BR") == "683.626,0"
    assert i18n.format_number(683_626.0, "en") == "683,626.0"


@pytest.mark.parametrize("text, language, expected", [
    ("1.000.000", "pt-BR", 1_000_000.0),
    ("1.000,5", "pt-BR", 1000.5),
    ("1.000", "pt-BR", 1000.0),          # what the app shows for a thousand
    ("99999,9", "pt-BR", 99999.9),
    ("99999.9", "pt-BR", 99999.9),       # a lone dot is still read as a decimal mark
    ("1\u00a0000,5", "pt-BR", 1000.5),   # spaces (a pasted French or Excel grouping) are dropped
    ("1,000,000", "en", 1_000_000.0),
    ("1,000.5", "en", 1000.5),
    ("1,000", "en", 1000.0),
    ("1.000", "en", 1.0),
    ("1.000,5", "en", None),             # the Portuguese form is not English
    ("1,000.5", "pt-BR", None),
    ("1.00.000", "pt-BR", None),
    ("abc", "pt-BR", None),
    ("1.000.000", None, None),           # no language (API strings): grouping is ambiguous, refused
    ("1,5", None, 1.5),
])
def test_num004_parse_number_reads_the_displayed_format(text, language, expected):
    assert numbers.parse_number(text, language) == expected


@pytest.mark.parametrize("language, rollover, interval, clean", [
    ("pt-BR", "1.000.000", "1.800", (1_000_000.0, 1800)),
    ("pt-BR", "1.000,5", "900", (1000.5, 900)),
    ("en", "1,000,000", "1,800", (1_000_000.0, 1800)),
    ("en", "1,000.5", "900", (1000.5, 900)),
])
def test_num005_device_form_accepts_what_the_app_displays(language, rollover, interval, clean):
    values, errors = validation.validate_metric({"meter_kind": "counter", "unit": "kWh", "rollover_value": rollover,
                                                 "usual_interval_s": interval}, language)
    assert errors == {}
    assert (values["rollover_value"], values["usual_interval_s"]) == clean
    shown = i18n.format_number(clean[0], language)
    assert validation.validate_metric({"meter_kind": "counter", "unit": "kWh", "rollover_value": shown},
                                      language)[0]["rollover_value"] == clean[0]


def test_num006_form_errors_stay_clear_in_each_language():
    _, errors = validation.validate_metric({"meter_kind": "delta", "unit": "kWh", "usual_interval_s": "1,5"}, "pt-BR")
    assert errors["usual_interval_s"].message("pt-BR") == "Informe um número inteiro (ex.: 900 ou 1.000.000)."
    _, errors = validation.validate_gateway({"account_id": 1, "serial": "GW-1", "name": "x",
                                             "inactivity_timeout_s": "1.000,5"}, [1], "en")
    assert errors["inactivity_timeout_s"].message("en") == "Enter a whole number (e.g. 900 or 1,000,000)."
    values, errors = validation.validate_gateway({"account_id": 1, "serial": "GW-1", "name": "x",
                                                  "inactivity_timeout_s": "1.200"}, [1], "pt-BR")
    assert errors == {} and values["inactivity_timeout_s"] == 1200


@given(value=st.one_of(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
                       st.integers(min_value=-10**15, max_value=10**15),
                       st.decimals(min_value=-10**6, max_value=10**6, places=3).map(float)),
       decimals=st.integers(min_value=0, max_value=3), language=st.sampled_from(["pt-BR", "en"]))
@settings(max_examples=400, deadline=None)
def test_num010_format_number_spells_every_value_as_babel_does(value, decimals, language):
    """format_number's fast path (issue 16) against babel's format_decimal, ties and signs included."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    expected = babel_numbers.format_decimal(value, format=pattern, locale=i18n.LANGUAGES[language])
    assert i18n.format_number(value, language, decimals) == expected


@pytest.mark.parametrize("value", [0.25, 0.35, 2.675, 1.05, -0.04, -0.0, 12_345_678.95, float("inf")])
def test_num011_format_number_rounds_ties_as_babel_does(value):
    for language in ("pt-BR", "en"):
        expected = babel_numbers.format_decimal(value, format="#,##0.0", locale=i18n.LANGUAGES[language])
        assert i18n.format_number(value, language) == expected
