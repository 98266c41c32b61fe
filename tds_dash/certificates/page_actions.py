"""What the gateway page's certificate callbacks call: one function each, with an explicit viewer.

Role and account are checked here on every action (hiding a button is not a permission): a gateway
outside the viewer's accounts reads as absent, a viewer's write is refused. A generated key goes to
the browser in the answer and nowhere else.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from tds_dash import i18n
from tds_dash.certificates import service, store, view
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.errors import CertificateError
from tds_dash.context import current_language, current_scope, current_user, services
from tds_dash.db import session_scope
from tds_dash.queries import fleet
from tds_dash.queries.scope import Scope

MANAGER_ROLES = ("admin", "operator")


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who looks at the page and may act: scope, role, name for the audit log, language and zone."""

    engine: Engine
    pki: PkiConfig
    scope: Scope
    role: str | None
    user_id: int | None
    username: str
    language: str
    zone: ZoneInfo

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


def request_viewer() -> Viewer:
    """The signed-in user of this request."""
    app, user = services(), current_user()
    return Viewer(app.engine, PkiConfig.from_settings(app.settings), current_scope(), user.role if user else None,
                  user.id if user else None, user.username if user else "system", current_language(),
                  app.settings.zone)


def _gateway(conn, viewer: Viewer, serial: str) -> dict | None:
    return fleet.get_gateway(conn, viewer.scope, datetime.now(timezone.utc), serial=serial or "")


def body(viewer: Viewer, serial: str) -> list:
    """CERTS_BODY's children: gap counter and note, the certificates, the operators' controls."""
    with session_scope(viewer.engine) as conn:
        gateway = _gateway(conn, viewer, serial)
        if gateway is None:
            return []
        rows = service.list_for_gateway(conn, gateway["serial"])
    return view.card_body(rows, gateway["seq_gaps"] or 0, viewer.zone, viewer.language, viewer.can_manage)


def _refusal(viewer: Viewer, serial: str, code: str, message: str) -> tuple:
    return view.refused(code, message, viewer.language), body(viewer, serial)


def issue(viewer: Viewer, serial: str, csr: str | None) -> tuple:
    """(result, body) after issuing: from the pasted CSR when given, else with a key generated once."""
    if not viewer.can_manage:
        return _refusal(viewer, serial, "forbidden", "")
    if csr is not None and not csr.strip():
        return _refusal(viewer, serial, "csr_empty", "")
    try:
        with session_scope(viewer.engine) as conn:
            gateway = _gateway(conn, viewer, serial)
            if gateway is None:
                return _refusal(viewer, serial, "unknown_gateway", "")
            bundle = service.issue_for_gateway(conn, (viewer.user_id, viewer.username), gateway["serial"],
                                               pki=viewer.pki, csr_pem=csr)
    except CertificateError as error:
        return _refusal(viewer, serial, error.code, error.message)
    result = view.issued_once(serial, bundle.cert_pem, bundle.key_pem, bundle.ca_pem, viewer.language)
    return result, body(viewer, serial)


def ask_revoke(certificate_id) -> tuple[bool, int | None, str]:
    """(modal open, target, empty reason) when a revoke button was clicked; closed otherwise."""
    if not isinstance(certificate_id, int) or isinstance(certificate_id, bool):
        return False, None, ""
    return True, certificate_id, ""


def _certificate_of(conn, viewer: Viewer, serial: str, certificate_id) -> store.CertificateRow | None:
    gateway = _gateway(conn, viewer, serial)
    if gateway is None or not isinstance(certificate_id, int) or not 0 < certificate_id < 2**63:
        return None
    row = store.get_certificate(conn, certificate_id, datetime.now(timezone.utc))
    return row if row is not None and row.gateway_id == gateway["id"] else None


def revoke(viewer: Viewer, serial: str, certificate_id, reason: str | None) -> tuple:
    """(result, body) after revoking one certificate of this gateway with the reason typed in the modal."""
    if not viewer.can_manage:
        return _refusal(viewer, serial, "forbidden", "")
    try:
        with session_scope(viewer.engine) as conn:
            if _certificate_of(conn, viewer, serial, certificate_id) is None:
                return _refusal(viewer, serial, "unknown_certificate", "")
            service.revoke(conn, (viewer.user_id, viewer.username), certificate_id, reason or "", pki=viewer.pki)
    except CertificateError as error:
        return _refusal(viewer, serial, error.code, error.message)
    return view.revoked_done(certificate_id, viewer.language), body(viewer, serial)


def card_title(language: str) -> str:
    return i18n.t("certs.title", language)
