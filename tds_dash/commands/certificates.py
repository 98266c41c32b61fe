"""`python -m tds_dash certs …` and `python -m tds_dash broker-config`: the PKI from a shell."""
from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from pathlib import Path

import click

from tds_dash.background.database import command_database
from tds_dash.certificates.broker_config import BrokerLayout, write_broker_files
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.errors import CertificateError
from tds_dash.certificates.files import write_new
from tds_dash.certificates.pki import load_or_create_authority, utc_now
from tds_dash.certificates.service import Actor, issue_for_gateway, list_for_gateway, revoke, revoke_gateway, sync_now
from tds_dash.db import create_db_engine, session_scope
from tds_dash.settings import SettingsError, load_settings


def _cli_actor():

    return Actor(None, f"cli:{getpass.getuser()}")


@contextlib.contextmanager
def _transaction() -> Iterator[tuple]:
    """(connection in one transaction, PkiConfig); a CertificateError becomes a click error, rolled back."""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.ClickException(f"configuration error: {error}") from None
    # Without DATABASE_URL: the running demo's database, or the data directory's, started for this command.
    with command_database(settings) as resolved:
        engine = create_db_engine(resolved.database_url, pool_size=1)
        try:
            with session_scope(engine) as conn:
                yield conn, PkiConfig.from_settings(resolved)
        except CertificateError as error:
            raise click.ClickException(f"{error.message} [{error.code}]") from None
        finally:
            engine.dispose()


def _echo_sync(sync) -> None:
    click.echo(f"broker files: {sync.crl_file}, {sync.acl_file}; {sync.detail}")


@click.group()
def certs() -> None:
    """Gateway certificates: our CA, issue, sign a CSR, revoke, list, re-issue the CRL."""


@certs.command("init")
def init_command() -> None:
    """Create the CA (once) and write the broker's CRL and ACL files."""
    with _transaction() as (conn, pki):
        sync = sync_now(conn, pki, create_ca=True)
        authority = load_or_create_authority(pki, create=False)
    click.echo(f"CA: {pki.ca_cert_file} (SHA-256 {authority.fingerprint})")
    _echo_sync(sync)


def _bundle_paths(out: Path, serial: str, with_p12: bool) -> dict[str, Path]:
    paths = {"cert": out / f"{serial}.crt", "key": out / f"{serial}.key", "ca": out / "ca.crt"}
    if with_p12:
        paths["p12"] = out / f"{serial}.p12"
    taken = [str(path) for path in paths.values() if path.exists()]
    if taken:
        raise click.ClickException(f"refusing to overwrite {', '.join(taken)}")
    return paths


@certs.command("issue")
@click.argument("serial")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for SERIAL.crt, SERIAL.key (0600), ca.crt [and SERIAL.p12]; created if missing.")
@click.option("--p12-password", envvar="TDS_P12_PASSWORD", default=None,
              help="Also write a PKCS#12 protected by this password (8+ characters; or TDS_P12_PASSWORD).")
def issue_command(serial: str, out: Path, p12_password: str | None) -> None:
    """Generate a key and certificate for gateway SERIAL (the key is written here once, never stored)."""
    paths = _bundle_paths(out, serial, p12_password is not None)
    with _transaction() as (conn, pki):
        bundle = issue_for_gateway(conn, _cli_actor(), serial, pki=pki, p12_password=p12_password)
        out.mkdir(parents=True, exist_ok=True)
        # Inside the transaction: if a file cannot be written the certificate is not recorded either.
        write_new(paths["key"], bundle.key_pem, mode=0o600)
        write_new(paths["cert"], bundle.cert_pem)
        write_new(paths["ca"], bundle.ca_pem)
        if bundle.pkcs12 is not None:
            write_new(paths["p12"], bundle.pkcs12, mode=0o600)
    row = bundle.certificate
    click.echo(f"certificate {row.id} for {serial}: serial {row.serial_number}, valid until {row.not_after:%Y-%m-%d}")
    click.echo("files: " + ", ".join(str(path) for path in paths.values()))
    _echo_sync(bundle.sync)


@certs.command("sign")
@click.argument("serial")
@click.argument("csr_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the signed certificate (PEM); must not exist.")
def sign_command(serial: str, csr_file: Path, out: Path) -> None:
    """Sign a CSR for gateway SERIAL (its CN must be SERIAL); the gateway keeps its key."""
    if out.exists():
        raise click.ClickException(f"refusing to overwrite {out}")
    with _transaction() as (conn, pki):
        bundle = issue_for_gateway(conn, _cli_actor(), serial, pki=pki, csr_pem=csr_file.read_bytes())
        write_new(out, bundle.cert_pem)
    click.echo(f"certificate {bundle.certificate.id} for {serial} written to {out} (CA: {pki.ca_cert_file})")
    _echo_sync(bundle.sync)


@certs.command("revoke")
@click.argument("serial", required=False)
@click.option("--id", "certificate_id", type=int, help="Revoke this one certificate instead of all of SERIAL's.")
@click.option("--reason", required=True, help="Why (kept in the database and the audit log).")
def revoke_command(serial: str | None, certificate_id: int | None, reason: str) -> None:
    """Revoke every certificate of gateway SERIAL, or one by --id; the broker drops it within seconds."""
    if (serial is None) == (certificate_id is None):
        raise click.UsageError("give either SERIAL or --id ID")
    with _transaction() as (conn, pki):
        if certificate_id is not None:
            sync, ids = revoke(conn, _cli_actor(), certificate_id, reason, pki=pki), [certificate_id]
        else:
            rows, sync = revoke_gateway(conn, _cli_actor(), serial, reason, pki=pki)
            ids = [row.id for row in rows]
    click.echo(f"revoked certificate(s) {', '.join(map(str, ids))}")
    _echo_sync(sync)


@certs.command("list")
@click.argument("serial", required=False)
def list_command(serial: str | None) -> None:
    """Certificates of gateway SERIAL (or of every gateway), newest first."""
    with _transaction() as (conn, _pki):
        rows = list_for_gateway(conn, serial)
    click.echo(f"{'id':>6}  {'gateway':<20} {'status':<8} {'not after':<10}  {'origin':<9} serial number")
    for row in rows:
        click.echo(f"{row.id:>6}  {row.gateway_serial:<20} {row.status:<8} {row.not_after:%Y-%m-%d}  "
                   f"{row.key_origin:<9} {row.serial_number}")


@certs.command("crl")
def crl_command() -> None:
    """Re-issue the CRL now (the scheduler does it when a third of its lifetime is left)."""
    with _transaction() as (conn, pki):
        sync = sync_now(conn, pki)
    click.echo(f"CRL re-issued: valid {pki.crl_days} days")
    _echo_sync(sync)


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter("use HOST:PORT, e.g. 127.0.0.1:1884", param_hint="--ingest-listen")
    return host, int(port)


@click.command("broker-config")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for mosquitto.conf, server.pem/.key, ca.pem, passwd [default: $TDS_PKI_DIR/broker].")
@click.option("--host", "hosts", multiple=True, help="Name or IP gateways use to reach the broker (repeatable).")
@click.option("--tls-port", type=click.IntRange(1, 65535), default=8883, show_default=True)
@click.option("--tls-bind", default=None, help="Address of the TLS listener [default: every interface].")
@click.option("--ingest-listen", default="127.0.0.1:1884", show_default=True, help="HOST:PORT of the ingest listener.")
@click.option("--persistence-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Broker persistence directory [default: OUT/data].")
@click.option("--user", "run_as", default=None,
              help="Account a broker started as root switches to (Mosquitto's `user`); use the app's user.")
@click.option("--ingest-address", default=None,
              help="Host the ingest connects to, when not the --ingest-listen host (e.g. `mqtt` in docker-compose).")
def broker_config(out, hosts, tls_port, tls_bind, ingest_listen, persistence_dir, run_as, ingest_address) -> None:
    """Write a complete mosquitto.conf: mTLS for gateways, a password listener for the ingest."""
    ingest_host, ingest_port = _listen(ingest_listen)
    with _transaction() as (conn, pki):
        out = (out or pki.pki_dir / "broker").resolve()
        layout = BrokerLayout(out, tuple(hosts) or ("localhost",), tls_port, tls_bind, ingest_host, ingest_port,
                              (persistence_dir or out / "data").resolve(), run_as,
                              ingest_address=ingest_address)
        sync = sync_now(conn, pki, create_ca=True)
        write_broker_files(layout, pki, load_or_create_authority(pki, create=False), utc_now())
    click.echo(f"wrote {out / 'mosquitto.conf'} (TLS :{tls_port} for {', '.join(layout.hosts)};"
               f" ingest {ingest_host}:{ingest_port})")
    click.echo(f"ingest credential and MQTT_URL: {pki.ingest_credential_file} (0600)")
    _echo_sync(sync)
