"""PKI, storage, service and CLI of tds_dash.certificates against a real PostgreSQL (no broker needed:
tests/test_certificates_broker.py runs the same code against a real Mosquitto)."""
from __future__ import annotations

import base64
import hashlib
import json
import stat
import types
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tds_dash.__main__ import cli
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.crl import crl_status, load_crl
from tds_dash.certificates.errors import CertificateError
from tds_dash.certificates.issuing import load_csr, sign_server_certificate
from tds_dash.certificates.maintenance import crl_health, refresh_crl_if_due
from tds_dash.certificates.passwords import hash_password, verify_password
from tds_dash.certificates.pki import (
    load_authority,
    load_or_create_authority,
    new_key,
    utc_now,
)
from tds_dash.certificates.service import (
    Actor,
    issue_for_gateway,
    list_for_gateway,
    revoke,
    revoke_gateway,
    sync_now,
)
from tds_dash.db import session_scope
from tests.certificates_tools import provision_fleet
from tests.helpers import settings_for

ADMIN = Actor(None, "test-admin")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _csr(common_name: str, key=None) -> bytes:
    key = key or new_key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)


@pytest.fixture
def env(database, tmp_path):
    """A fleet in a fresh database and settings whose PKI lives in tmp_path (no broker pid: no reload)."""
    provision_fleet(database, {"GW-A1": "acme", "GW-A2": "acme", "GW-B1": "beta", "tds-ingest-x": "acme"})
    settings = settings_for(database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"), TDS_PKI_DIR=tmp_path / "pki",
                            TDS_DATA_DIR=tmp_path / "data")
    return types.SimpleNamespace(database=database, settings=settings, pki=PkiConfig.from_settings(settings),
                                 engine=database.engine(), tmp=tmp_path)


def _issue(env, serial: str, **kwargs):
    with session_scope(env.engine) as conn:
        return issue_for_gateway(conn, ADMIN, serial, pki=env.pki, **kwargs)


def test_pki001_ca_created_once_with_private_key(env):
    first = load_or_create_authority(env.pki)
    assert _mode(env.pki.ca_cert_file.parent / "ca.key") == 0o600
    assert load_or_create_authority(env.pki).fingerprint == first.fingerprint  # loaded, not re-created
    constraints = first.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    assert isinstance(first.key.curve, ec.SECP256R1)


def test_pki002_ca_from_env_files_is_used_and_never_created(env, tmp_path):
    given = load_or_create_authority(env.pki)  # stands in for a CA made elsewhere
    settings = settings_for(env.database, types.SimpleNamespace(url="mqtt://127.0.0.1:1"),
                            TDS_PKI_DIR=tmp_path / "other", TDS_PKI_CA_CERT_FILE=env.pki.ca_cert_file,
                            TDS_PKI_CA_KEY_FILE=env.pki.ca_key_file)
    external = PkiConfig.from_settings(settings)
    assert external.ca_external and load_or_create_authority(external).fingerprint == given.fingerprint
    assert not (tmp_path / "other" / "ca.key").exists()
    missing = PkiConfig.from_settings(settings.replace(pki_ca_cert_file=tmp_path / "nope.pem"))
    with pytest.raises(CertificateError) as error:
        load_or_create_authority(missing)
    assert error.value.code == "ca_unreadable"
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(_issue(env, "GW-A1").cert_pem)
    with pytest.raises(CertificateError, match="not a CA"):
        load_authority(leaf, env.pki.ca_key_file)


def test_pki003_generated_certificate_profile(env):
    bundle = _issue(env, "GW-A1")
    cert = x509.load_pem_x509_certificate(bundle.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "GW-A1"
    assert 0 < cert.serial_number < 2**128
    assert format(cert.serial_number, "x") == bundle.certificate.serial_number
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not (usage.key_encipherment or usage.key_cert_sign or usage.crl_sign)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert 729 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 730
    assert bundle.certificate.fingerprint_sha256 == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    ca = x509.load_pem_x509_certificate(bundle.ca_pem)
    cert.verify_directly_issued_by(ca)
    assert bundle.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    stored = env.database.query("SELECT * FROM gateway_certificates")
    assert len(stored) == 1 and "PRIVATE" not in repr(stored)  # the key is never kept
    audit = env.database.query("SELECT action, entity, username FROM audit_log WHERE entity = 'certificate'")
    assert audit == [("issue", "certificate", "test-admin")]


def test_pki004_csr_cn_must_be_the_serial_and_signature_must_verify(env):
    with pytest.raises(CertificateError) as error:
        _issue(env, "GW-A1", csr_pem=_csr("GW-A2"))
    assert error.value.code == "csr_cn_mismatch" and "GW-A1" in error.value.message
    tampered = bytearray(_csr("GW-A1"))
    body = base64.b64decode(b"".join(tampered.splitlines()[1:-1]))
    broken = body[:-8] + bytes(8)  # the signature's last bytes zeroed
    pem = b"-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(broken) + b"-----END CERTIFICATE REQUEST-----\n"
    with pytest.raises(CertificateError) as error:
        load_csr(pem, "GW-A1")
    assert error.value.code == "invalid_csr"
    with pytest.raises(CertificateError, match="not a PEM"):
        load_csr(b"hello", "GW-A1")
    assert env.database.scalar("SELECT count(*) FROM gateway_certificates") == 0
    bundle = _issue(env, "GW-A1", csr_pem=_csr("GW-A1"))
    assert bundle.key_pem is None and bundle.certificate.key_origin == "csr"


def test_pki005_pkcs12_bundle_loads_with_its_password(env):
    bundle = _issue(env, "GW-A1", p12_password="s3cret-pass")
    key, cert, extra = pkcs12.load_key_and_certificates(bundle.pkcs12, b"s3cret-pass")
    assert cert.public_bytes(Encoding.PEM) == bundle.cert_pem
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert [c.public_bytes(Encoding.PEM) for c in extra] == [bundle.ca_pem]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(bundle.pkcs12, b"wrong")
    with pytest.raises(CertificateError):
        _issue(env, "GW-A1", p12_password="short")


@pytest.mark.parametrize("serial, code", [("GW-NOPE", "unknown_gateway"), ("tds-ingest-x", "reserved_serial")])
def test_pki006_refused_serials(env, serial, code):
    with pytest.raises(CertificateError) as error:
        _issue(env, serial)
    assert error.value.code == code


def test_pki007_rotation_revocation_crl_and_acl(env):
    old, new, other = _issue(env, "GW-A1"), _issue(env, "GW-A1"), _issue(env, "GW-B1")
    with session_scope(env.engine) as conn:
        assert [row.status for row in list_for_gateway(conn, "GW-A1")] == ["active", "active"]  # overlap
        revoke(conn, ADMIN, old.certificate.id, "rotated", pki=env.pki)
        with pytest.raises(CertificateError, match="revoked"):
            revoke(conn, ADMIN, old.certificate.id, "again", pki=env.pki)
    crl = load_crl(env.pki.crl_file)
    assert [format(entry.serial_number, "x") for entry in crl] == [old.certificate.serial_number]
    assert crl.is_signature_valid(load_or_create_authority(env.pki).key.public_key())
    acl = env.pki.acl_file.read_text()
    assert "user GW-A1\ntopic write tds/acme/GW-A1/telemetry\ntopic write tds/acme/GW-A1/status\n" in acl
    with session_scope(env.engine) as conn:
        rows, _ = revoke_gateway(conn, ADMIN, "GW-A1", "lost", pki=env.pki)
    assert [row.id for row in rows] == [new.certificate.id]
    acl = env.pki.acl_file.read_text()
    assert "tds/acme/GW-A1/" not in acl and "\nuser GW-A1\n" in acl  # listed, with no topic lines
    assert "topic write tds/beta/GW-B1/telemetry" in acl and other.certificate.status == "active"
    assert "user tds-ingest\ntopic read tds/+/+/telemetry\ntopic read tds/+/+/status\n" in acl
    assert len(list(load_crl(env.pki.crl_file))) == 2
    revokes = env.database.scalar("SELECT count(*) FROM audit_log WHERE action = 'revoke' AND entity = 'certificate'")
    assert revokes == 2


def test_pki008_expired_is_derived_and_leaves_the_acl(env):
    past = utc_now() - timedelta(days=800)
    bundle = _issue(env, "GW-A1", now=past)
    with session_scope(env.engine) as conn:
        assert list_for_gateway(conn, "GW-A1")[0].status == "expired"
        sync_now(conn, env.pki)
    assert "tds/acme/GW-A1/" not in env.pki.acl_file.read_text()
    assert bundle.certificate.status == "active"  # as seen at its (past) issue time


def test_pki009_crl_refreshed_when_a_third_of_its_life_is_left(env):
    now = utc_now()
    assert refresh_crl_if_due(env.engine, env.pki, now) is None  # no PKI yet: nothing is created
    assert not env.pki.ca_cert_file.exists() and crl_health(env.settings)["status"] == "absent"
    with session_scope(env.engine) as conn:
        sync_now(conn, env.pki, now=now, create_ca=True)
    first = load_crl(env.pki.crl_file)
    assert first.next_update_utc - first.last_update_utc == timedelta(days=30)
    assert refresh_crl_if_due(env.engine, env.pki, now + timedelta(days=19)) is None
    assert crl_status(env.pki.crl_file, now + timedelta(days=19)).status == "ok"
    assert crl_status(env.pki.crl_file, now + timedelta(days=21)).status == "due"
    assert refresh_crl_if_due(env.engine, env.pki, now + timedelta(days=21)) is not None
    second = load_crl(env.pki.crl_file)
    assert second.last_update_utc > first.last_update_utc
    assert second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > \
        first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    health = crl_health(env.settings, now + timedelta(days=60))
    assert health["status"] == "expired" and health["seconds_left"] < 0


def test_pki010_broker_certificate_has_sans_and_server_auth(env):
    authority = load_or_create_authority(env.pki)
    signed = sign_server_certificate(authority, ["mqtt.example.com", "10.0.0.5"], new_key().public_key(), utc_now(), 30)
    san = signed.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mqtt.example.com"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    eku = signed.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_pki011_mosquitto_password_hash_format():
    encoded = hash_password("pw", iterations=101, salt=b"0123456789ab")
    kind, iterations, salt, digest = encoded.split("$")[1:]
    assert (kind, iterations, base64.b64decode(salt)) == ("7", "101", b"0123456789ab")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", b"pw", b"0123456789ab", 101)
    assert verify_password("pw", encoded) and not verify_password("px", encoded)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def run(env):
    """CliRunner invoking `python -m tds_dash ...` with this test's database and PKI directory."""
    runner = CliRunner()
    environ = {"DATABASE_URL": env.database.url, "TDS_PKI_DIR": str(env.pki.pki_dir),
               "TDS_DATA_DIR": str(env.tmp / "data"), "TDS_TIMEZONE": "America/Sao_Paulo"}

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env=environ, catch_exceptions=False)

    return invoke


def _count(env) -> int:
    return env.database.scalar("SELECT count(*) FROM gateway_certificates")


def test_cli001_init_issue_list_revoke_crl(env, run):
    result = run("certs", "init")
    assert result.exit_code == 0, result.output
    assert "SHA-256" in result.output and env.pki.crl_file.exists() and env.pki.acl_file.exists()
    out = env.tmp / "bundle"
    result = run("certs", "issue", "GW-A1", "--out", str(out), "--p12-password", "longenough")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["GW-A1.crt", "GW-A1.key", "GW-A1.p12", "ca.crt"]
    assert _mode(out / "GW-A1.key") == 0o600 and _mode(out / "GW-A1.p12") == 0o600
    result = run("certs", "list", "GW-A1")
    assert result.exit_code == 0 and "active" in result.output and "GW-A1" in result.output
    result = run("certs", "revoke", "GW-A1", "--reason", "lost in transport")
    assert result.exit_code == 0, result.output
    assert env.database.scalar("SELECT revocation_reason FROM gateway_certificates") == "lost in transport"
    result = run("certs", "crl")
    assert result.exit_code == 0 and "TDS_BROKER_PID_FILE is not set" in result.output
    assert len(list(load_crl(env.pki.crl_file))) == 1


def test_cli002_sign_csr(env, run, tmp_path):
    good, bad = tmp_path / "good.csr", tmp_path / "bad.csr"
    good.write_bytes(_csr("GW-A2"))
    bad.write_bytes(_csr("GW-A1"))
    result = run("certs", "sign", "GW-A2", str(bad), "--out", str(tmp_path / "bad.crt"))
    assert result.exit_code != 0 and "must be the gateway serial" in result.output
    assert not (tmp_path / "bad.crt").exists() and _count(env) == 0
    result = run("certs", "sign", "GW-A2", str(good), "--out", str(tmp_path / "good.crt"))
    assert result.exit_code == 0, result.output
    cert = x509.load_pem_x509_certificate((tmp_path / "good.crt").read_bytes())
    cert.verify_directly_issued_by(load_or_create_authority(env.pki, create=False).certificate)


@pytest.mark.parametrize("args, message", [
    (("certs", "issue", "GW-NOPE", "--out", "{tmp}/x"), "no gateway with serial"),
    (("certs", "issue", "tds-ingest-x", "--out", "{tmp}/x"), "reserved"),
    (("certs", "issue", "GW-A1", "--out", "{tmp}/x", "--p12-password", "short"), "8+ characters"),
    (("certs", "issue", "GW-A1"), "Missing option '--out'"),
    (("certs", "sign", "GW-A1", "{tmp}/missing.csr", "--out", "{tmp}/x.crt"), "does not exist"),
    (("certs", "revoke", "--reason", "x"), "give either SERIAL or --id"),
    (("certs", "revoke", "GW-A1", "--id", "1", "--reason", "x"), "give either SERIAL or --id"),
    (("certs", "revoke", "--id", "999", "--reason", "x"), "no certificate with id 999"),
    (("certs", "revoke", "GW-A1", "--reason", "x"), "no unrevoked certificate"),
    (("certs", "revoke", "GW-A1", "--reason", "  "), "say why"),
    (("certs", "list", "GW-NOPE"), "no gateway with serial"),
    (("broker-config", "--ingest-listen", "nonsense"), "HOST:PORT"),
])
def test_cli003_bad_input_is_a_clear_error_and_changes_nothing(env, run, args, message):
    result = run(*(arg.replace("{tmp}", str(env.tmp)) for arg in args))
    assert result.exit_code != 0
    assert message in result.output
    assert _count(env) == 0 and not (env.tmp / "x").exists()
    assert env.database.scalar("SELECT count(*) FROM audit_log") == 0


def test_cli004_issue_refuses_to_overwrite_files(env, run):
    out = env.tmp / "bundle"
    out.mkdir()
    (out / "GW-A1.key").write_text("precious")
    result = run("certs", "issue", "GW-A1", "--out", str(out))
    assert result.exit_code != 0 and "refusing to overwrite" in result.output
    assert (out / "GW-A1.key").read_text() == "precious" and _count(env) == 0


def test_cli005_broker_config_writes_a_complete_config(env, run):
    out = env.tmp / "broker"
    result = run("broker-config", "--out", str(out), "--host", "mqtt.example.com", "--tls-port", "9883")
    assert result.exit_code == 0, result.output
    conf = (out / "mosquitto.conf").read_text()
    for directive in ("per_listener_settings true", "listener 9883", "require_certificate true",
                      "use_identity_as_username true", "use_username_as_clientid true", f"crlfile {env.pki.crl_file}",
                      f"acl_file {env.pki.acl_file}", "listener 1884 127.0.0.1", f"password_file {out / 'passwd'}",
                      "message_size_limit 300000", f"persistence_location {out / 'data'}/"):
        assert directive in conf, directive
    directives = [line.split()[0] for line in conf.splitlines() if line and not line.startswith("#")]
    assert directives.count("allow_anonymous") == 2 and directives.count("acl_file") == 2
    assert "allow_anonymous true" not in conf
    credential = json.loads(env.pki.ingest_credential_file.read_text())
    assert _mode(env.pki.ingest_credential_file) == 0o600 and _mode(out / "passwd") == 0o600
    assert credential["mqtt_url"] == f"mqtt://tds-ingest:{credential['password']}@127.0.0.1:1884"
    user, encoded = (out / "passwd").read_text().strip().split(":", 1)
    assert user == "tds-ingest" and verify_password(credential["password"], encoded)
    assert _mode(out / "server.key") == 0o600
    server = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    assert server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["mqtt.example.com"]
    rerun = run("broker-config", "--out", str(out))
    assert rerun.exit_code == 0
    kept = json.loads(env.pki.ingest_credential_file.read_text())
    assert kept["password"] == credential["password"]
    moved = run("broker-config", "--out", str(out), "--ingest-listen", "0.0.0.0:1884", "--ingest-address", "mqtt")
    assert moved.exit_code == 0 and "listener 1884 0.0.0.0" in (out / "mosquitto.conf").read_text()
    assert json.loads(env.pki.ingest_credential_file.read_text())["mqtt_url"].endswith(
        f":{credential['password']}@mqtt:1884")


def test_pki012_health_reports_the_crl_lifetime(env, mosquitto):
    from tds_dash.app import create_app

    settings = settings_for(env.database, mosquitto, TDS_PKI_DIR=env.pki.pki_dir, TDS_DATA_DIR=env.tmp / "data")
    client = create_app(settings).server.test_client()
    assert client.get("/api/health").get_json()["crl"] == {"status": "absent", "next_update": None,
                                                           "seconds_left": None}
    with session_scope(env.engine) as conn:
        sync_now(conn, env.pki, create_ca=True)
    body = client.get("/api/health").get_json()
    assert body["crl"]["status"] == "ok" and 29 * 86400 < body["crl"]["seconds_left"] <= 30 * 86400
    assert str(env.pki.pki_dir) not in str(body)  # no paths in a public endpoint


def test_pki013_scheduler_refreshes_a_due_crl(env):
    from tds_dash.background.scheduler import start_scheduler
    from tds_dash.certificates.maintenance import refresh_crl_job

    scheduler = start_scheduler(env.settings)
    try:
        assert scheduler.get_job("refresh-crl") is not None
    finally:
        scheduler.shutdown(wait=True)
    assert not env.pki.ca_cert_file.exists()  # the job never creates a PKI nobody asked for
    with session_scope(env.engine) as conn:
        sync_now(conn, env.pki, now=utc_now() - timedelta(days=25), create_ca=True)
    assert crl_status(env.pki.crl_file, utc_now()).status == "due"
    refresh_crl_job(env.engine, env.settings)
    assert crl_status(env.pki.crl_file, utc_now()).status == "ok"


def test_pki014_pki_settings_defaults_and_errors(tmp_path):
    from tds_dash.settings import SettingsError, load_settings

    settings = load_settings({"TDS_DATA_DIR": str(tmp_path)})
    pki = PkiConfig.from_settings(settings)
    assert (pki.pki_dir, pki.acl_file, pki.crl_file) == (tmp_path / "pki", tmp_path / "pki/broker/acl",
                                                         tmp_path / "pki/broker/crl.pem")
    assert (pki.validity_days, pki.crl_days, pki.pid_file, pki.ca_external) == (730, 30, None, False)
    with pytest.raises(SettingsError, match="set together"):
        load_settings({"TDS_PKI_CA_CERT_FILE": "/x/ca.pem"})
    with pytest.raises(SettingsError, match="TDS_CRL_DAYS"):
        load_settings({"TDS_CRL_DAYS": "0"})
