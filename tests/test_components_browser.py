"""Shared fleet components in tiny apps of their own (the dash-bootstrap-components style): the sortable
header and the confirmation dialog behave the same wherever a page uses them."""
from __future__ import annotations

from pathlib import Path

import dash
import pytest
from dash import ALL, Input, Output, State, ctx, html
from dash import _callback as dash_callbacks

from tds_dash.app import ASSETS_PATH_IGNORE
from tds_dash.fleet import components

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = [("serial", "Serial"), ("name", "Nome"), (None, "Ações")]


@pytest.fixture
def tiny_app():
    """A bare Dash app that does not take the pages' global callbacks (they belong to the real app)."""
    saved_list, saved_map = list(dash_callbacks.GLOBAL_CALLBACK_LIST), dict(dash_callbacks.GLOBAL_CALLBACK_MAP)
    dash_callbacks.GLOBAL_CALLBACK_LIST.clear()
    dash_callbacks.GLOBAL_CALLBACK_MAP.clear()
    app = dash.Dash(__name__, assets_folder=str(ROOT / "assets"), assets_path_ignore=ASSETS_PATH_IGNORE)
    yield app
    dash_callbacks.GLOBAL_CALLBACK_LIST[:] = saved_list
    dash_callbacks.GLOBAL_CALLBACK_MAP.update(saved_map)


def test_cmp001_sortable_header_flips_and_moves(dash_duo, tiny_app):
    tiny_app.layout = html.Div([dash.dcc.Store(id="sort", data=None), html.Table(id="head"),
                                html.Div(id="state")])

    @tiny_app.callback(Output("sort", "data"), Input({"type": "t-sort", "key": ALL}, "n_clicks"),
                       State("sort", "data"), prevent_initial_call=True)
    def on_sort(_clicks, sort):
        if not any(_clicks):
            raise dash.exceptions.PreventUpdate  # a re-rendered header, not a click
        return components.next_sort(sort, ctx.triggered_id["key"])

    @tiny_app.callback(Output("head", "children"), Output("state", "children"), Input("sort", "data"))
    def update_head(sort):
        return components.sortable_header("t", COLUMNS, sort), f"{(sort or {}).get('key')}:{(sort or {}).get('desc')}"

    dash_duo.start_server(tiny_app, sign_in_as=None)
    button = '#head button[id*="serial"]'
    dash_duo.wait_for_text_to_equal(button, "Serial")
    assert len(dash_duo.find_elements("#head button")) == 2  # "Ações" is not sortable
    dash_duo.find_element(button).click()
    dash_duo.wait_for_text_to_equal("#state", "serial:False")
    dash_duo.wait_for_text_to_equal(button, "Serial ▲")
    dash_duo.find_element(button).click()
    dash_duo.wait_for_text_to_equal("#state", "serial:True")
    dash_duo.wait_for_text_to_equal(button, "Serial ▼")
    dash_duo.find_element('#head button[id*="name"]').click()
    dash_duo.wait_for_text_to_equal("#state", "name:False")
    dash_duo.wait_for_text_to_equal(button, "Serial")
    assert dash_duo.get_logs() == []


def test_cmp002_confirm_dialog_confirms_once_and_cancels_without_effect(dash_duo, tiny_app):
    tiny_app.layout = html.Div([
        html.Button("Excluir", id="ask"), html.Div("0", id="done"),
        components.confirm_modal("dlg", "dlg-body", "dlg-ok", "dlg-cancel", "pt-BR")])

    @tiny_app.callback(Output("dlg", "is_open"), Output("dlg-body", "children"), Input("ask", "n_clicks"),
                       Input("dlg-ok", "n_clicks"), Input("dlg-cancel", "n_clicks"), prevent_initial_call=True)
    def on_dialog(_ask, _ok, _cancel):
        return ctx.triggered_id == "ask", "Excluir o gateway GW-1?"

    @tiny_app.callback(Output("done", "children"), Input("dlg-ok", "n_clicks"), State("done", "children"),
                       prevent_initial_call=True)
    def on_confirm(_ok, done):
        return str(int(done) + 1)

    dash_duo.start_server(tiny_app, sign_in_as=None)
    dash_duo.find_element("#ask").click()
    dash_duo.wait_for_text_to_equal("#dlg-body", "Excluir o gateway GW-1?")
    assert dash_duo.find_element("#dlg-cancel").text == "Cancelar"
    dash_duo.find_element("#dlg-cancel").click()
    dash_duo.wait_for_no_elements("#dlg-body")
    assert dash_duo.find_element("#done").text == "0"
    dash_duo.find_element("#ask").click()
    dash_duo.wait_for_element("#dlg-ok").click()
    dash_duo.wait_for_text_to_equal("#done", "1")
    dash_duo.wait_for_no_elements("#dlg-body")
    assert dash_duo.get_logs() == []
