"""`python -m ingest.simulator` over mTLS: each simulated gateway connects with its own certificate to a real
Mosquitto started from our broker config, and the real ingest stores what they publish."""
from __future__ import annotations

from click.testing import CliRunner

from ingest import simulator
from ingest.simulator.__main__ import main
from ingest.simulator.publisher import TlsFiles
from tds_dash.certificates.service import issue_for_gateway
from tds_dash.db import session_scope
from tests.certificates_tools import write_files
from tests.helpers import wait_until
from tests.test_certificates_broker import ADMIN, tls  # noqa: F401  the real mTLS broker fixture


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sim001_fleet_publishes_with_one_certificate_per_gateway(tls, ingest):  # noqa: F811
    fleet = simulator.build_fleet(["acme"], 2, 1)
    simulator.provision_fleet(tls.engine, fleet)
    for gateway in fleet:
        with session_scope(tls.engine) as conn:
            bundle = issue_for_gateway(conn, ADMIN, gateway.serial, pki=tls.pki)
        write_files(tls.directory, gateway.serial, bundle.cert_pem, bundle.key_pem)
    ingest(database=tls.database, broker=tls.broker)
    result = _run("--mqtt-url", f"mqtts://127.0.0.1:{tls.broker.tls_port}", "--cafile", str(tls.broker.ca_file),
                  "--certfile", str(tls.directory / "{serial}.crt"), "--keyfile", str(tls.directory / "{serial}.key"),
                  "--accounts", "acme", "--gateways", "2", "--devices", "1", "--count", "4", "--interval", "0.2")
    assert result.exit_code == 0 and "published 4 messages" in result.output, result.output
    stored = lambda: dict(tls.database.query(  # noqa: E731
        "SELECT g.serial, count(DISTINCT r.ts) FROM readings r JOIN gateways g ON g.id = r.gateway_id GROUP BY g.serial"))
    assert wait_until(lambda: stored() == {"GW-0101": 2, "GW-0102": 2}, timeout=15, message="both gateways' readings")


def test_sim002_without_a_client_certificate_the_broker_refuses(tls):  # noqa: F811
    result = _run("--mqtt-url", f"mqtts://127.0.0.1:{tls.broker.tls_port}", "--cafile", str(tls.broker.ca_file),
                  "--accounts", "acme", "--gateways", "1", "--devices", "1", "--count", "1")
    assert result.exit_code == 1 and "refused the connection" in result.output, result.output
    assert "published" not in result.output


def test_sim003_tls_options_are_checked():
    assert "go together" in CliRunner().invoke(main, ["--certfile", "a.crt", "--count", "1"]).output
    assert "one gateway" in CliRunner().invoke(main, ["--certfile", "a.crt", "--keyfile", "a.key"]).output
    assert "needs --status" in CliRunner().invoke(main, ["--certfile", "{serial}.crt", "--keyfile", "{serial}.key",
                                                         "--no-status"]).output
    files = TlsFiles("ca.pem", "/c/{serial}.crt", "/c/{serial}.key")
    assert files.for_gateway("GW-1") == {"ca_certs": "ca.pem", "certfile": "/c/GW-1.crt", "keyfile": "/c/GW-1.key"}
