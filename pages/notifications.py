"""Notificações: where my alarm e-mails go and which accounts' severities reach me (at once or hourly);
operators also name an account's default recipients. Linked from the user menu."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, html

from tds_dash import i18n, inputs
from tds_dash.alarms import preferences_view as pv
from tds_dash.context import current_language

dash.register_page(__name__, path="/notifications", name="Notifications", title_key="notif.title")
inputs.declare({f"{pv.EMAIL}.value": inputs.text, f"{pv.LANGUAGE}.value": inputs.text,
                f"{pv.ON_ACK}.value": inputs.flag, f"{pv.RCP_ACCOUNT}.value": inputs.optional_id,
                f"{pv.RCP_USERS}.value": inputs.text_list})


def layout(**_query):
    language = current_language()
    return html.Div([html.H3(i18n.t("notif.title", language), className="mb-3"), pv.my_card(language),
                     pv.recipients_card(language)])


@callback(Output(pv.ALERT, "children"), Output(pv.ACCOUNTS, "children"), Input(pv.SAVE, "n_clicks"),
          State(pv.EMAIL, "value"), State(pv.LANGUAGE, "value"), State(pv.ON_ACK, "value"),
          State({"type": pv.SEVERITIES_TYPE, "account": ALL}, "value"),
          State({"type": pv.DIGEST_TYPE, "account": ALL}, "value"),
          State({"type": pv.SEVERITIES_TYPE, "account": ALL}, "id"), prevent_initial_call=True)
def on_save(_clicks, email, language_choice, on_ack, severities, digests, ids):
    """Save my settings; the account rows are redrawn as stored (the 'why' column changes)."""
    alert, rows = pv.save_mine(email, language_choice, on_ack, severities, digests, ids, current_language())
    return alert, rows.children if rows is not None else dash.no_update


@callback(Output(pv.RCP_USERS, "options"), Output(pv.RCP_USERS, "value"), Output(pv.RCP_ALERT, "children"),
          Input(pv.RCP_ACCOUNT, "value"))
def update_recipients(account_id):
    """The chosen account's possible and current default recipients."""
    return pv.recipient_choices(account_id, current_language())


@callback(Output(pv.RCP_ALERT, "children", allow_duplicate=True), Input(pv.RCP_SAVE, "n_clicks"),
          State(pv.RCP_ACCOUNT, "value"), State(pv.RCP_USERS, "value"), prevent_initial_call=True)
def on_save_recipients(_clicks, account_id, usernames):
    """Replace the account's default recipients."""
    return pv.save_recipients(account_id, usernames, current_language())
