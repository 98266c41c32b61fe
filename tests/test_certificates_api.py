"""/api/v1 certificates through Flask's test client against a real PostgreSQL, with tokens: roles, accounts,
one-time keys, bad CSRs and the CA/CRL downloads (every JSON answer checked against docs/openapi.yaml)."""
from __future__ import annotations

import base64
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import NameOID

from tds_dash.app import create_app
from tds_dash.certificates.pki import new_key
from tests.certificates_tools import provision_fleet
from tests.explorer_data import api_token
from tests.helpers import settings_for
from tests.test_api_resources import error_of, schema_checked


def _csr(common_name: str, key=None) -> str:
    key = key or new_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM).decode()


@pytest.fixture
def certs_api(database, tmp_path):
    """(client, headers by role, database): acme GW-A1 and beta GW-B1; acme's viewer and operator, an admin."""
    provision_fleet(database, {"GW-A1": "acme", "GW-B1": "beta"})
    # No broker pid file: the files are written, nothing is signalled; no broker is needed for these routes.
    settings = settings_for(database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"), TDS_PKI_DIR=tmp_path / "pki")
    app = create_app(settings)
    headers = {"admin": api_token(app, "cert-admin"),
               "operator": api_token(app, "cert-operator", "operator", ("acme",)),
               "viewer": api_token(app, "cert-viewer", "viewer", ("acme",))}
    for value in headers.values():
        value["Accept-Language"] = "en"
    return schema_checked(app.server.test_client()), headers, database


def _issue(client, headers, serial="GW-A1", **body):
    return client.post(f"/api/v1/gateways/{serial}/certificates", json=body or {"generate": True}, headers=headers)


def test_capi001_generated_bundle_once_and_no_store(certs_api):
    client, headers, database = certs_api
    assert client.get("/api/v1/gateways/GW-A1/certificates", headers=headers["viewer"]).json["data"] == []
    issued = _issue(client, headers["operator"], generate=True, p12_password="long passphrase")
    assert issued.status_code == 201, issued.get_data(as_text=True)
    assert issued.headers["Cache-Control"] == "no-store"
    body = issued.json
    cert = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    key = serialization.load_pem_private_key(body["private_key_pem"].encode(), None)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "GW-A1"
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert x509.load_pem_x509_certificate(body["ca_pem"].encode()).subject == cert.issuer
    p12 = pkcs12.load_pkcs12(base64.b64decode(body["pkcs12_base64"]), b"long passphrase")
    assert p12.cert.certificate == cert
    row = body["certificate"]
    assert row["status"] == "active" and row["key_origin"] == "generated" and row["issued_by"] == "cert-operator"
    listed = client.get("/api/v1/gateways/GW-A1/certificates", headers=headers["viewer"]).json["data"]
    assert [c["id"] for c in listed] == [row["id"]] and "private_key_pem" not in listed[0]
    # Nothing of the key is in the database: no column of any table holds its PEM.
    stored = database.query("SELECT row_to_json(c)::text FROM gateway_certificates c")
    assert "PRIVATE KEY" not in stored[0][0] and body["private_key_pem"][40:80] not in stored[0][0]


def test_capi002_csr_signed_and_bad_csrs_are_422_with_the_code(certs_api):
    client, headers, _ = certs_api
    signed = _issue(client, headers["operator"], csr=_csr("GW-A1"))
    assert signed.status_code == 201 and signed.json["private_key_pem"] is None
    assert signed.json["pkcs12_base64"] is None and signed.json["certificate"]["key_origin"] == "csr"
    assert error_of(_issue(client, headers["operator"], csr=_csr("GW-B1")), 422)["code"] == "csr_cn_mismatch"
    assert error_of(_issue(client, headers["operator"], csr="not a csr"), 422)["code"] == "invalid_csr"
    short = _issue(client, headers["operator"], generate=True, p12_password="short")
    assert error_of(short, 422)["code"] == "invalid_p12_password"
    for body, name in (({"csr": _csr("GW-A1"), "generate": True}, "csr"), ({"generate": "yes"}, "generate"),
                       ({"generate": False}, "csr"), ({"csr": 5}, "csr"), ({"key": "x"}, "key")):
        assert error_of(_issue(client, headers["operator"], **body), 400)["parameter"] == name


def test_capi003_other_accounts_are_404_and_viewers_403(certs_api, database):
    client, headers, _ = certs_api
    foreign = _issue(client, headers["admin"], "GW-B1").json["certificate"]["id"]
    own = _issue(client, headers["operator"]).json["certificate"]["id"]
    for response in (client.get("/api/v1/gateways/GW-B1/certificates", headers=headers["viewer"]),
                     _issue(client, headers["operator"], "GW-B1"),
                     _issue(client, headers["operator"], "GW-NOPE"),
                     client.post(f"/api/v1/certificates/{foreign}/revoke", json={"reason": "x"},
                                 headers=headers["operator"]),
                     client.post("/api/v1/certificates/999999/revoke", json={"reason": "x"},
                                 headers=headers["operator"]),
                     client.post(f"/api/v1/certificates/{2**63}/revoke", json={"reason": "x"},
                                 headers=headers["admin"])):
        assert error_of(response, 404)["code"] == "not_found"
    assert error_of(_issue(client, headers["viewer"]), 403)["code"] == "forbidden"
    assert error_of(client.post(f"/api/v1/certificates/{own}/revoke", json={"reason": "x"},
                                headers=headers["viewer"]), 403)["code"] == "forbidden"
    assert database.query("SELECT count(*) FROM gateway_certificates WHERE status = 'revoked'")[0][0] == 0
    assert client.get("/api/v1/gateways/GW-B1/certificates", headers={}).status_code == 401


def test_capi004_revoke_with_reason_then_crl_lists_it(certs_api, database):
    client, headers, _ = certs_api
    assert error_of(client.get("/api/v1/pki/ca.pem", headers=headers["viewer"]), 404)["code"] == "pki_absent"
    issued = _issue(client, headers["operator"]).json
    certificate_id = issued["certificate"]["id"]
    path = f"/api/v1/certificates/{certificate_id}/revoke"
    assert error_of(client.post(path, json={}, headers=headers["operator"]), 400)["parameter"] == "reason"
    assert error_of(client.post(path, json={"reason": "  "}, headers=headers["operator"]), 422)["code"] == \
        "invalid_reason"
    revoked = client.post(path, json={"reason": "stolen"}, headers=headers["operator"])
    assert revoked.status_code == 200, revoked.json
    assert revoked.json["status"] == "revoked" and revoked.json["revocation_reason"] == "stolen"
    assert revoked.json["revoked_by"] == "cert-operator"
    again = client.post(path, json={"reason": "stolen"}, headers=headers["operator"])
    assert error_of(again, 409)["code"] == "already_revoked"
    ca = client.get("/api/v1/pki/ca.pem", headers=headers["viewer"])
    assert ca.status_code == 200 and ca.mimetype == "application/x-pem-file"
    assert ca.get_data(as_text=True) == issued["ca_pem"]
    crl = x509.load_pem_x509_crl(client.get("/api/v1/pki/crl.pem", headers=headers["viewer"]).data)
    serial = int(issued["certificate"]["serial_number"], 16)
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    actions = database.query("SELECT username, action FROM audit_log WHERE entity = 'certificate' ORDER BY id")
    assert [tuple(row) for row in actions] == [("cert-operator", "issue"), ("cert-operator", "revoke")]
