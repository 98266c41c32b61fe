"""The broker follows the fleet: deleting a gateway (API, CLI) revokes its certificates and takes its topics
away at once; deactivating one takes its topics away, activating gives them back. A real Mosquitto from our
broker config, real TLS sessions, the real ingest, the app's /api/v1 through Flask's test client."""
from __future__ import annotations

import time

from click.testing import CliRunner
from cryptography import x509

from tds_dash.__main__ import cli
from tds_dash.app import create_app
from tests.certificates_tools import publish_and_wait, stop_client, telemetry_for
from tests.explorer_data import api_token
from tests.helpers import settings_for, wait_until
from tests.test_certificates_broker import _marker, tls  # noqa: F401  the real mTLS broker fixture


def _api(env):
    """(client, admin headers) of an app whose PKI and broker pid file are the fixture broker's."""
    settings = settings_for(env.database, env.broker, TDS_PKI_DIR=env.pki.pki_dir,
                            TDS_BROKER_PID_FILE=env.pki.pid_file, TDS_API_RATE_LIMIT="100000/minute")
    app = create_app(settings)
    return app.server.test_client(), {**api_token(app, "fleet-admin"), "Accept-Language": "en"}


def _reached_ingest(env, serial: str) -> int:
    """Messages of this gateway the ingest saw and refused (unknown or inactive gateway): 0 if the broker dropped them."""
    return env.database.scalar("SELECT count(*) FROM rejected_messages WHERE gateway_serial = %s", (serial,))


def _blocked_within(env, live, serial: str, witness, witness_serial: str, value: float, seconds: float = 5) -> float:
    """Publish from `live` until one publish no longer reaches the ingest; returns how long that took."""
    started, seen = time.monotonic(), _reached_ingest(env, serial)
    while time.monotonic() - started < seconds:
        value += 1
        publish_and_wait(live, f"tds/acme/{serial}/telemetry", telemetry_for(value))
        _marker(env, witness, witness_serial, "acme", value + 0.5)  # the ingest has handled everything before it
        now_seen = _reached_ingest(env, serial) + env.stored(value)
        if now_seen == seen:
            return time.monotonic() - started
        seen = now_seen
    raise AssertionError(f"{serial}'s live session still reached the ingest {seconds}s after the change")


def _stays_blocked(env, live, serial: str, witness, witness_serial: str, value: float) -> None:
    """After the broker reread its ACL nothing more gets through, not even to be refused by the ingest."""
    seen = _reached_ingest(env, serial)
    for step in range(3):
        publish_and_wait(live, f"tds/acme/{serial}/telemetry", telemetry_for(value + step))
        _marker(env, witness, witness_serial, "acme", value + step + 0.5)
        assert env.stored(value + step) == 0 and _reached_ingest(env, serial) == seen, "the broker let it through"


def test_cfl001_api_delete_revokes_certificates_and_the_live_session_is_cut_off(tls, ingest):  # noqa: F811
    ingest(database=tls.database, broker=tls.broker)
    client, admin = _api(tls)
    bundle, files = tls.issue("GW-A1")
    _, witness_files = tls.issue("GW-A2")
    live, witness = tls.gateway(files), tls.gateway(witness_files)
    assert live.connected and witness.connected, (live.detail, witness.detail)
    publish_and_wait(live, "tds/acme/GW-A1/status", b"online")  # it may publish (no readings: it can be deleted)
    wait_until(lambda: tls.database.scalar("SELECT status FROM gateways WHERE serial = 'GW-A1'") == "online")

    response = client.delete("/api/v1/gateways/GW-A1", headers=admin)
    assert response.status_code == 200 and response.json["done"] == "deleted", response.json
    row = tls.database.query("SELECT status, revocation_reason, gateway_id, revoked_by FROM gateway_certificates"
                             " WHERE serial_number = %s", (bundle.certificate.serial_number,))
    assert row == [("revoked", "cessationOfOperation: gateway deleted", None, "fleet-admin")]
    crl = x509.load_pem_x509_crl(client.get("/api/v1/pki/crl.pem", headers=admin).data)
    assert crl.get_revoked_certificate_by_serial_number(int(bundle.certificate.serial_number, 16)) is not None
    assert "tds/acme/GW-A1/" not in tls.pki.acl_file.read_text()  # at most a "user GW-A1" with no topics

    # The broker rereads the ACL: the session opened before the delete can no longer get anything through.
    assert _blocked_within(tls, live, "GW-A1", witness, "GW-A2", 1000.0) < 5
    _stays_blocked(tls, live, "GW-A1", witness, "GW-A2", 1100.0)
    stop_client(live)
    assert not tls.gateway(files).connected, "the deleted gateway's certificate reconnected"

    # Registered again under the same serial, the old certificate stays revoked (the CRL kept it).
    created = client.post("/api/v1/gateways", json={"account": "acme", "serial": "GW-A1", "name": "again",
                                                      "inactivity_timeout_s": 300},
                          headers=admin)
    assert created.status_code == 201, created.json
    _, new_files = tls.issue("GW-A1")
    assert not tls.gateway(files).connected
    successor = tls.gateway(new_files)
    assert successor.connected, successor.detail
    stop_client(successor)
    stop_client(witness)


def test_cfl002_deactivate_takes_the_topics_away_and_activate_gives_them_back(tls, ingest):  # noqa: F811
    ingest(database=tls.database, broker=tls.broker)
    client, admin = _api(tls)
    _, files = tls.issue("GW-A1")
    _, witness_files = tls.issue("GW-A2")
    live, witness = tls.gateway(files), tls.gateway(witness_files)
    _marker(tls, live, "GW-A1", "acme", 2001.0)

    assert client.post("/api/v1/gateways/GW-A1/deactivate", headers=admin).status_code == 200
    acl = tls.pki.acl_file.read_text()
    assert "user GW-A1" in acl and "tds/acme/GW-A1/telemetry" not in acl
    assert _blocked_within(tls, live, "GW-A1", witness, "GW-A2", 2100.0) < 5
    _stays_blocked(tls, live, "GW-A1", witness, "GW-A2", 2150.0)  # the broker, not the ingest, refuses it

    # PATCH active=true (the edit form's checkbox) is an activation too.
    assert client.patch("/api/v1/gateways/GW-A1", json={"active": True}, headers=admin).status_code == 200
    assert "tds/acme/GW-A1/telemetry" in tls.pki.acl_file.read_text()
    wait_until(lambda: (publish_and_wait(live, "tds/acme/GW-A1/telemetry", telemetry_for(2201.0)),
                        tls.stored(2201.0) >= 1)[1], timeout=10, interval=0.3, message="readings accepted again")
    stop_client(live)
    stop_client(witness)


def test_cfl003_cli_delete_and_deactivate(tls, monkeypatch):  # noqa: F811
    bundle, _ = tls.issue("GW-A1")
    tls.issue("GW-B1")
    for name, value in {"DATABASE_URL": tls.database.url, "TDS_PKI_DIR": str(tls.pki.pki_dir),
                        "TDS_BROKER_PID_FILE": str(tls.pki.pid_file)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MQTT_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["gateways", "deactivate", "GW-B1"])
    assert result.exit_code == 0, result.output
    assert "tds/beta/GW-B1/telemetry" not in tls.pki.acl_file.read_text()
    result = runner.invoke(cli, ["gateways", "delete", "GW-A1"])
    assert result.exit_code == 0, result.output
    assert tls.database.scalar("SELECT status FROM gateway_certificates WHERE serial_number = %s",
                               (bundle.certificate.serial_number,)) == "revoked"
    assert "tds/acme/GW-A1/" not in tls.pki.acl_file.read_text()
    assert runner.invoke(cli, ["gateways", "delete", "GW-NOPE"]).exit_code == 1


def test_cfl004_a_gateway_deleted_behind_the_apps_back_leaves_its_certificates_revoked(tls):  # noqa: F811
    bundle, _ = tls.issue("GW-B1")
    tls.database.execute("DELETE FROM gateways WHERE serial = 'GW-B1'")  # psql, a script: the trigger revokes
    row = tls.database.query("SELECT status, revocation_reason FROM gateway_certificates WHERE serial_number = %s",
                             (bundle.certificate.serial_number,))
    assert row == [("revoked", "cessationOfOperation: gateway deleted")]


def test_cfl005_a_new_serial_voids_the_certificates_issued_for_the_old_one(tls):  # noqa: F811
    client, admin = _api(tls)
    bundle, files = tls.issue("GW-B1")
    before = tls.gateway(files)
    assert before.connected, before.detail
    stop_client(before)
    response = client.patch("/api/v1/gateways/GW-B1", json={"serial": "GW-B9"}, headers=admin)
    assert response.status_code == 200, response.json
    row = tls.database.query("SELECT status, revocation_reason FROM gateway_certificates WHERE serial_number = %s",
                             (bundle.certificate.serial_number,))
    assert row == [("revoked", "superseded: gateway serial changed")]
    # Its CN (GW-B1) names no gateway now and the CRL lists it; the broker rereads the CRL on the SIGHUP
    # the PATCH sent, a few milliseconds later: a handshake in between may still pass.
    wait_until(lambda: _refused(tls.gateway(files)), timeout=5, message="the old serial's certificate is refused")


def _refused(outcome) -> bool:
    if outcome.connected:
        stop_client(outcome)
    return not outcome.connected
