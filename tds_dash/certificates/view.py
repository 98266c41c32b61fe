"""The gateway page's "Certificates" card: the list, the sequence-gap counter and the operators' controls.

Pure rendering from rows; tds_dash/certificates/page_actions.py reads the database and runs the actions.
"""
from __future__ import annotations

import base64
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from tds_dash import i18n
from tds_dash.certificates.store import CertificateRow
from tds_dash.i18n.catalogue import MESSAGES
from tds_dash.inputs import InvalidInput

CERTS_BODY = "gateway-certs"
CERTS_RESULT = "gateway-certs-result"
ISSUE = "gateway-cert-issue"
CSR = "gateway-cert-csr"
SIGN = "gateway-cert-sign"
REVOKE = "gateway-cert-revoke"  # pattern id {"type": REVOKE, "certificate": id}
REVOKE_MODAL, REVOKE_REASON = "gateway-cert-revoke-modal", "gateway-cert-revoke-reason"
REVOKE_OK, REVOKE_CANCEL, REVOKE_TARGET = "gateway-cert-revoke-ok", "gateway-cert-revoke-cancel", "gateway-cert-target"
STATUS_COLORS = {"active": "success", "revoked": "danger", "expired": "secondary"}
MAX_CSR = 16_000  # an RSA-4096 CSR is ~1,700 characters; far more is not a CSR


def csr_text(value, what: str = "csr") -> None:
    """The callback boundary's rule for the pasted CSR: text, longer than ordinary inputs allow."""
    if value is not None and (not isinstance(value, str) or len(value) > MAX_CSR):
        raise InvalidInput(f"{what}: not a CSR-sized text")


def _row(row: CertificateRow, zone: ZoneInfo, language: str, can_manage: bool) -> html.Tr:
    revoked = (i18n.t("certs.revoked_because", language, reason=row.revocation_reason or "", by=row.revoked_by or "")
               if row.status == "revoked" else "")
    action = (dbc.Button(i18n.t("certs.revoke", language), size="sm", color="outline-danger",
                         id={"type": REVOKE, "certificate": row.id})
              if can_manage and row.status != "revoked" else None)
    cells = [html.Td(row.id), html.Td(html.Code(row.serial_number[:16])),
             html.Td(dbc.Badge(i18n.t(f"certs.status.{row.status}", language),
                               color=STATUS_COLORS.get(row.status, "secondary"), className=f"cert-{row.status}")),
             html.Td(i18n.t(f"certs.origin.{row.key_origin}", language)),
             html.Td(i18n.format_datetime(row.not_after, zone, language)), html.Td(row.issued_by),
             html.Td(revoked, className="small")]
    return html.Tr(cells + ([html.Td(action)] if can_manage else []), id=f"gateway-cert-row-{row.id}")


def table(rows: list[CertificateRow], zone: ZoneInfo, language: str, can_manage: bool):
    if not rows:
        return html.P(i18n.t("certs.none", language), className="text-muted", id="gateway-certs-empty")
    heads = [i18n.t(f"certs.col.{name}", language) for name in ("id", "serial", "status", "origin", "until", "by",
                                                                "revoked")]
    heads += [i18n.t("fleet.actions", language)] if can_manage else []
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in heads])),
                      html.Tbody([_row(row, zone, language, can_manage) for row in rows])],
                     size="sm", responsive=True, className="mb-2")


def gaps_note(seq_gaps: int, language: str) -> html.Div:
    """Why the gap counter sits here: a publish the broker refuses is acknowledged and dropped (MQTT 3.1.1)."""
    return html.Div([html.Span(i18n.t("gateway.seq_gaps", language,
                                      count=i18n.format_number(seq_gaps, language, 0)), id="gateway-cert-gaps"),
                     html.Div(i18n.t("certs.gaps_note", language), className="small text-muted")],
                    className="mb-2")


def controls(language: str) -> html.Div:
    """Issue (server-generated key, shown once) or sign a pasted CSR."""
    return html.Div([
        dbc.Button(i18n.t("certs.issue", language), id=ISSUE, color="primary", size="sm", className="me-2"),
        html.Span(i18n.t("certs.issue_help", language), className="small text-muted"),
        dbc.Textarea(id=CSR, placeholder="-----BEGIN CERTIFICATE REQUEST-----", rows=4, className="mt-2 mb-1",
                     style={"fontFamily": "monospace"}),
        dbc.Button(i18n.t("certs.sign", language), id=SIGN, color="secondary", size="sm"),
    ], className="mt-2")


def card_body(rows: list[CertificateRow], seq_gaps: int, zone: ZoneInfo, language: str, can_manage: bool) -> list:
    """What CERTS_BODY holds: gaps and note, the list, the CA link and (operators) the controls."""
    ca_link = html.A(i18n.t("certs.ca_link", language), href="/api/v1/pki/ca.pem", className="small",
                     id="gateway-cert-ca")
    return [gaps_note(seq_gaps, language), table(rows, zone, language, can_manage), ca_link,
            controls(language) if can_manage else None]


def _download(label: str, filename: str, pem: bytes, element_id: str) -> html.A:
    # A data: link: the bytes exist only in this one answer, never in a file or a store on the server.
    href = "data:application/x-pem-file;base64," + base64.b64encode(pem).decode("ascii")
    return html.A(label, href=href, download=filename, id=element_id, className="btn btn-sm btn-outline-primary me-2")


def issued_once(serial: str, cert_pem: bytes, key_pem: bytes | None, ca_pem: bytes, language: str) -> dbc.Alert:
    """The just-issued certificate (and generated key), shown once: leaving the page forgets them."""
    links = [_download(i18n.t("certs.download_cert", language), f"{serial}.crt", cert_pem, "gateway-cert-dl-cert"),
             _download(i18n.t("certs.download_ca", language), "ca.crt", ca_pem, "gateway-cert-dl-ca")]
    texts = [dbc.Textarea(value=cert_pem.decode("ascii"), readOnly=True, rows=4, id="gateway-cert-pem",
                          style={"fontFamily": "monospace"}, className="mb-2")]
    if key_pem is not None:
        links.insert(1, _download(i18n.t("certs.download_key", language), f"{serial}.key", key_pem,
                                  "gateway-cert-dl-key"))
        texts.append(dbc.Textarea(value=key_pem.decode("ascii"), readOnly=True, rows=4, id="gateway-cert-key",
                                  style={"fontFamily": "monospace"}))
    note = "certs.issued_key_once" if key_pem is not None else "certs.issued_csr"
    return dbc.Alert([html.Div(i18n.t(note, language), className="fw-semibold mb-2"), html.Div(links, className="mb-2"),
                      *texts], color="success", id="gateway-cert-issued")


def refused(code: str, message: str, language: str) -> dbc.Alert:
    """A refused action in the user's language when the code is known, else the service's own words."""
    key = f"certs.error.{code}"
    text = i18n.t(key, language) if key in MESSAGES else i18n.t("certs.error", language, message=message)
    return dbc.Alert(text, color="danger", id="gateway-cert-error")


def revoked_done(certificate_id: int, language: str) -> dbc.Alert:
    return dbc.Alert(i18n.t("certs.revoked_done", language, id=certificate_id), color="warning",
                     id="gateway-cert-revoked")


def revoke_modal(language: str) -> html.Div:
    """The confirmation, with the reason it asks for (required: it goes to the CRL's log and the audit)."""
    return html.Div([dcc.Store(id=REVOKE_TARGET), dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(i18n.t("certs.revoke_title", language))),
        dbc.ModalBody([html.P(i18n.t("certs.revoke_warning", language)),
                       dbc.Input(id=REVOKE_REASON, placeholder=i18n.t("certs.reason", language), maxLength=500)]),
        dbc.ModalFooter([dbc.Button(i18n.t("fleet.cancel", language), id=REVOKE_CANCEL, color="secondary"),
                         dbc.Button(i18n.t("certs.revoke", language), id=REVOKE_OK, color="danger")]),
    ], id=REVOKE_MODAL, is_open=False)])
