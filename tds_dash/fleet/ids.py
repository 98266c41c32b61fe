"""Component ids of the fleet pages (gateways, devices, gateway detail, events), page-prefixed.

Kept apart from tds_dash/ids.py so the fleet pages and the other pages can change independently.
Pattern-matching ids are dicts built by the helpers at the bottom.
"""

GW_ACCOUNT, GW_SEARCH, GW_STATUS, GW_NEW = "gateways-account", "gateways-search", "gateways-status", "gateways-new"
GW_TABLE, GW_PAGES, GW_TOTAL, GW_ALERT = "gateways-table", "gateways-pages", "gateways-total", "gateways-alert"
GW_SORT, GW_REFRESH, GW_EDIT = "gateways-sort-state", "gateways-refresh", "gateways-editing"
GW_MODAL, GW_FORM_BODY = "gateways-modal", "gateways-form-body"
GW_SAVE, GW_CANCEL = "gateways-save", "gateways-cancel"
GW_CONFIRM, GW_CONFIRM_BODY, GW_CONFIRM_OK, GW_CONFIRM_CANCEL, GW_PENDING = (
    "gateways-confirm", "gateways-confirm-body", "gateways-confirm-ok", "gateways-confirm-cancel",
    "gateways-pending")
GW_UNKNOWN, GW_PROVISIONING = "gateways-unknown", "gateways-provisioning"

DEV_ACCOUNT, DEV_GATEWAY, DEV_SEARCH, DEV_STATUS, DEV_NEW = (
    "devices-account", "devices-gateway", "devices-search", "devices-status", "devices-new")
DEV_TABLE, DEV_PAGES, DEV_TOTAL, DEV_ALERT = "devices-table", "devices-pages", "devices-total", "devices-alert"
DEV_SORT, DEV_REFRESH, DEV_EDIT = "devices-sort-state", "devices-refresh", "devices-editing"
DEV_MODAL, DEV_FORM_BODY = "devices-modal", "devices-form-body"
DEV_SAVE, DEV_CANCEL = "devices-save", "devices-cancel"
DEV_CONFIRM, DEV_CONFIRM_BODY, DEV_CONFIRM_OK, DEV_CONFIRM_CANCEL, DEV_PENDING, DEV_PURGE = (
    "devices-confirm", "devices-confirm-body", "devices-confirm-ok", "devices-confirm-cancel", "devices-pending",
    "devices-purge")

GWD_SERIAL, GWD_BODY, GWD_INTERVAL = "gateway-serial", "gateway-body", "gateway-interval"

EV_ACCOUNT, EV_GATEWAY, EV_KINDS, EV_PERIOD, EV_DATES = (
    "events-account", "events-gateway", "events-kinds", "events-period", "events-dates")
EV_TABLE, EV_PAGES, EV_TOTAL, EV_ALERT = "events-table", "events-pages", "events-total", "events-alert"


def field(form: str, name: str) -> dict:
    """A form input: {'type': 'gateways-field', 'name': 'serial'}."""
    return {"type": f"{form}-field", "name": name}


def feedback(form: str, name: str) -> dict:
    return {"type": f"{form}-feedback", "name": name}


def metric_field(metric_id: int, name: str) -> dict:
    """One setting of one metric in the device form."""
    return {"type": "devices-metric", "metric": metric_id, "name": name}


def metric_feedback(metric_id: int, name: str) -> dict:
    return {"type": "devices-metric-feedback", "metric": metric_id, "name": name}


def flag(form: str, name: str) -> dict:
    """A switch of a form (never marked invalid): {'type': 'gateways-flag', 'name': 'active'}."""
    return {"type": f"{form}-flag", "name": name}


def row_action(table: str, action: str, row_id: int) -> dict:
    """A button in a table row. 'edit' opens the form; the others ask for confirmation first."""
    return {"type": f"{table}-{'edit' if action == 'edit' else 'act'}", "action": action, "index": row_id}


def register_button(serial: str, account_id: int) -> dict:
    """'Register this gateway' next to a serial that sent traffic but is not registered."""
    return {"type": "gateways-register", "serial": serial, "account": account_id}


def sort_button(table: str, key: str) -> dict:
    return {"type": f"{table}-sort", "key": key}
