"""The page for an address no page owns (Dash shows it for any unknown path), in the viewer's language."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from tds_dash import i18n
from tds_dash.context import current_language

dash.register_page(__name__, path="/404", name="Not found", title_key="notfound.page_title")


def layout(**kwargs):
    language = current_language()
    return dbc.Card(dbc.CardBody([
        html.H3(i18n.t("notfound.title", language), id="notfound-title"),
        html.P(i18n.t("notfound.text", language), className="text-muted"),
        dbc.Button(i18n.t("notfound.home", language), href="/", color="primary", id="notfound-home"),
    ]), className="shadow-sm mx-auto mt-4 notfound-card")
