"""/api/v1 gateway certificates (list, issue, revoke) and the CA and CRL the broker trusts (docs/api.md).

The routes call tds_dash.certificates.service, as the CLI does, after the same account and role checks
as the fleet routes: a gateway or certificate outside the caller's accounts is a 404 like an unknown one,
a viewer's write a 403. A generated private key is in the issue response only (no-store), never stored.
"""
from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone

import flask

from tds_dash.api import limits
from tds_dash.api.common import api_actor, json_body, plain, reject_unknown
from tds_dash.api.v1 import ApiError, api_error_response, unexpected_error
from tds_dash.certificates import service, store
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.errors import CertificateError
from tds_dash.context import Forbidden, services
from tds_dash.db import session_scope
from tds_dash.errors import json_error
from tds_dash.fleet.actor import Actor
from tds_dash.queries import fleet

blueprint = flask.Blueprint("api_certificates", __name__, url_prefix="/api/v1")
limits.limit_in_flight(blueprint)  # the same per-user budget as every /api/v1 route
log = logging.getLogger(__name__)

# A refused operation's status by its stable code; anything else the caller must fix is a 422.
STATUS_OF_CODE = {"unknown_gateway": 404, "unknown_certificate": 404, "already_revoked": 409,
                  "nothing_to_revoke": 409, "pki_absent": 404}
MAX_ROW_ID = 2**63 - 1
PEM_TYPE = "application/x-pem-file"


blueprint.register_error_handler(ApiError, api_error_response)
@blueprint.errorhandler(CertificateError)
def _refused(error: CertificateError):
    return json_error(STATUS_OF_CODE.get(error.code, 422), error.code, error.message)


@blueprint.errorhandler(Forbidden)
def _forbidden(error: Forbidden):
    return json_error(403, "forbidden", str(error))


blueprint.register_error_handler(Exception, unexpected_error)  # HTTP errors, the limiter's 429, the rest: 500


def _pki() -> PkiConfig:
    return PkiConfig.from_settings(services().settings)


def certificate_json(row: store.CertificateRow) -> dict:
    """A certificate as the gateway page lists it (never its key: none is stored)."""
    return plain({"id": row.id, "gateway": row.gateway_serial, "account": row.account_slug,
                  "serial_number": row.serial_number, "fingerprint_sha256": row.fingerprint_sha256,
                  "key_origin": row.key_origin, "not_before": row.not_before, "not_after": row.not_after,
                  "status": row.status, "revoked_at": row.revoked_at, "revocation_reason": row.revocation_reason,
                  "issued_by": row.issued_by, "revoked_by": row.revoked_by, "created_at": row.created_at})


def _gateway_in_scope(conn, actor: Actor, serial: str) -> dict:
    row = fleet.get_gateway(conn, actor.scope, datetime.now(timezone.utc), serial=serial)
    if row is None:
        raise ApiError(404, "not_found", f"gateway {serial} not found")
    return row


def _require_manager(actor: Actor) -> None:
    if not actor.can_manage:
        raise Forbidden("requires role operator or admin")


@blueprint.get("/gateways/<serial>/certificates")
def list_certificates(serial: str):
    """Every certificate of one gateway of the caller's accounts, newest first."""
    actor = api_actor()
    with session_scope(actor.engine) as conn:
        gateway = _gateway_in_scope(conn, actor, serial)
        rows = service.list_for_gateway(conn, gateway["serial"])
    return flask.jsonify({"gateway": gateway["serial"], "data": [certificate_json(row) for row in rows]})


def _issue_request(body: dict) -> tuple[str | None, str | None]:
    """(csr, p12_password) from {"csr": PEM} or {"generate": true, "p12_password"?}."""
    reject_unknown(body, ("csr", "generate", "p12_password"))
    csr, generate, password = body.get("csr"), body.get("generate", False), body.get("p12_password")
    if not isinstance(generate, bool):
        raise ApiError(400, "invalid_body", "'generate' must be true or false", "generate")
    if (csr is None) == (generate is False):
        raise ApiError(400, "invalid_body", "send either 'csr' (PEM) or 'generate': true", "csr")
    if csr is not None and not isinstance(csr, str):
        raise ApiError(400, "invalid_body", "'csr' must be PEM text", "csr")
    if password is not None and not isinstance(password, str):
        raise ApiError(400, "invalid_body", "'p12_password' must be text", "p12_password")
    return csr, password


def bundle_json(bundle: service.IssuedBundle) -> dict:
    """The one-time answer: the certificate's row and PEMs; the key and PKCS#12 only when generated here."""
    return {"certificate": certificate_json(bundle.certificate),
            "certificate_pem": bundle.cert_pem.decode("ascii"), "ca_pem": bundle.ca_pem.decode("ascii"),
            "private_key_pem": bundle.key_pem.decode("ascii") if bundle.key_pem else None,
            "pkcs12_base64": base64.b64encode(bundle.pkcs12).decode("ascii") if bundle.pkcs12 else None,
            "broker_reloaded": bundle.sync.reloaded}


@blueprint.post("/gateways/<serial>/certificates")
def issue_certificate(serial: str):
    """Sign the gateway's CSR or generate its key (operators and admins); the answer is never cached."""
    actor = api_actor()
    csr, password = _issue_request(json_body())
    with session_scope(actor.engine) as conn:
        gateway = _gateway_in_scope(conn, actor, serial)
        _require_manager(actor)
        bundle = service.issue_for_gateway(conn, (actor.user_id, actor.username), gateway["serial"], pki=_pki(),
                                           csr_pem=csr, p12_password=password)
    response = flask.jsonify(bundle_json(bundle))
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"  # a generated private key must not stay in any cache
    response.headers["Location"] = f"/api/v1/gateways/{gateway['serial']}/certificates"
    return response


def _certificate_in_scope(conn, actor: Actor, certificate_id: int) -> store.CertificateRow:
    row = None
    if 0 < certificate_id <= MAX_ROW_ID:  # a larger id names no row (bigint)
        row = store.get_certificate(conn, certificate_id, datetime.now(timezone.utc))
    if row is None or fleet.get_gateway(conn, actor.scope, datetime.now(timezone.utc), row.gateway_id) is None:
        raise ApiError(404, "not_found", f"certificate {certificate_id} not found")
    return row


@blueprint.post("/certificates/<int:certificate_id>/revoke")
def revoke_certificate(certificate_id: int):
    """Revoke one certificate with a reason (operators and admins); CRL, ACL and broker reload follow at once."""
    actor, body = api_actor(), json_body()
    reject_unknown(body, ("reason",))
    if not isinstance(body.get("reason"), str):
        raise ApiError(400, "invalid_body", "'reason' must be text", "reason")
    with session_scope(actor.engine) as conn:
        _certificate_in_scope(conn, actor, certificate_id)
        _require_manager(actor)
        sync = service.revoke(conn, (actor.user_id, actor.username), certificate_id, body["reason"], pki=_pki())
        row = store.get_certificate(conn, certificate_id, datetime.now(timezone.utc))
    return flask.jsonify({**certificate_json(row), "broker_reloaded": sync.reloaded})


def _pem_file(path, what: str):
    if not path.exists():
        raise CertificateError("pki_absent", f"no {what} yet: run `python -m tds_dash certs init`")
    response = flask.Response(path.read_bytes(), mimetype=PEM_TYPE)
    response.headers["Content-Disposition"] = f"inline; filename={path.name}"
    return response


@blueprint.get("/pki/ca.pem")
def ca_pem():
    """The CA certificate gateways check the broker against (its key never leaves the server)."""
    return _pem_file(_pki().ca_cert_file, "CA")


@blueprint.get("/pki/crl.pem")
def crl_pem():
    """The current certificate revocation list, as the broker reads it."""
    return _pem_file(_pki().crl_file, "CRL")
