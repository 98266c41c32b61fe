"""The demo's words below the browser: component texts, metric titles, event details and errors by language."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tds_dash import i18n
from tds_dash.auth.users import UserInputError, validate_new_user
from tds_dash.consumption import device as device_model
from tds_dash.i18n.grid import grid_options, locale_text


def test_uxt001_grids_get_their_own_texts_in_the_viewers_language():
    options = grid_options("pt-BR", pagination=True)
    assert options["pagination"] is True
    assert options["localeText"]["noRowsToShow"] == "Nenhuma linha para mostrar"
    assert options["localeText"]["to"] == "até" and options["localeText"]["of"] == "de"
    assert locale_text("en")["noRowsToShow"] == "No Rows To Show"
    assert set(locale_text("en")) == set(locale_text("pt-BR"))


@pytest.mark.parametrize(("metric", "unit", "language", "title"), [
    ("energy_kwh", "kWh", "pt-BR", "Energia ativa (kWh)"),
    ("energy_kwh", "kWh", "en", "Active energy (kWh)"),
    ("power_kw", "kW", "pt-BR", "Potência ativa (kW)"),
    ("pressure_bar", "bar", "pt-BR", "pressure_bar (bar)"),
    ("pressure_bar", None, "en", "pressure_bar"),
])
def test_uxt002_metric_titles_come_from_the_catalogue(metric, unit, language, title):
    assert i18n.metric_title(metric, unit, language) == title
    # The device page's latest-values grid names each metric the same way.
    latest = pd.DataFrame({"metric": [metric], "unit": [unit], "value": [1000.5],
                           "ts": [pd.Timestamp("2026-12-01T15:00Z")]})
    assert device_model.latest_rows(latest, ZoneInfo("America/Sao_Paulo"), language)[0]["metric"] == title


@pytest.mark.parametrize(("detail", "language", "text"), [
    ("mostly invalid_json", "pt-BR", "principalmente JSON inválido"),
    ("mostly invalid_json", "en", "mostly invalid JSON"),
    ("mostly something_new", "pt-BR", "principalmente something_new"),
    (None, "pt-BR", ""),
    ("free text", "en", "free text"),
])
def test_uxt003_event_details_read_as_sentences(detail, language, text):
    assert i18n.event_detail(detail, language) == text


def test_uxt004_validation_errors_are_translated_for_pages_and_english_for_the_api():
    with pytest.raises(UserInputError) as caught:
        validate_new_user("x", "long enough password", "viewer")
    assert str(caught.value).startswith("username: 3-64 characters")
    assert caught.value.localized("pt-BR").startswith("Usuário: 3 a 64 caracteres")
    with pytest.raises(UserInputError) as caught:
        validate_new_user("maria", "curta", "viewer")
    assert caught.value.localized("pt-BR") == "Senha: pelo menos 10 caracteres"


def test_uxt005_dropdown_and_date_picker_texts():
    labels = i18n.dropdown_labels("pt-BR")
    assert labels["search"] == "Buscar" and labels["no_options_found"] == "Nenhuma opção encontrada"
    assert labels["selected_count"] == "{num_selected} selecionados"  # the component fills the count in
    assert i18n.date_range_texts("pt-BR")["display_format"] == "DD/MM/YYYY"
    assert i18n.date_range_texts("en")["start_date_placeholder_text"] == "Start date"
