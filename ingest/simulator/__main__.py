"""`python -m ingest.simulator`: publish a simulated fleet, or provision and backfill it."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import click

from ingest.db import create_db_engine, normalize_database_url, raw_dsn
from ingest.simulator.fleet import build_fleet
from ingest.simulator.history import backfill
from ingest.simulator.provision import provision_fleet
from ingest.simulator.publisher import LivePublisher, TlsFiles


@click.command()
@click.option("--mqtt-url", default="mqtt://127.0.0.1:1883", show_default=True,
              help="Broker to publish to; mqtts://host:8883 for TLS.")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), help="CA to verify the broker with (TLS).")
@click.option("--certfile", help="Client certificate (mTLS); {serial} is replaced by each gateway's serial.")
@click.option("--keyfile", help="Its private key; {serial} as for --certfile.")
@click.option("--database-url", envvar="DATABASE_URL", help="Needed by --provision and --backfill.")
@click.option("--accounts", default="demo", show_default=True, help="Comma-separated account slugs.")
@click.option("--gateways", default=2, show_default=True, type=click.IntRange(1, 10_000), help="Per account.")
@click.option("--devices", default=5, show_default=True, type=click.IntRange(1, 1000), help="Per gateway.")
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.01, 86400),
              help="Seconds between a gateway's messages.")
@click.option("--qos", default=1, show_default=True, type=click.IntRange(0, 2))
@click.option("--protocol", default="5", type=click.Choice(["5", "3.1.1"]), show_default=True)
@click.option("--rate", type=click.FloatRange(0.1, 100_000), help="Max messages/s across the fleet.")
@click.option("--status/--no-status", default=True, show_default=True,
              help="One connection per gateway with a Last Will and a birth on tds/{account}/{gateway}/status.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many messages.")
@click.option("--duration", type=click.FloatRange(0.1), help="Stop after this many seconds.")
@click.option("--provision", is_flag=True, help="Create the fleet's accounts, gateways and devices first.")
@click.option("--backfill", "backfill_days", type=click.IntRange(1, 3650), help="Write DAYS of history, then exit.")
@click.option("--backfill-interval", default=900, show_default=True, type=click.IntRange(1, 86400),
              help="Seconds between backfilled readings.")
@click.option("--timezone", "timezone_name", default="America/Sao_Paulo", envvar="TDS_TIMEZONE", show_default=True)
def main(mqtt_url, cafile, certfile, keyfile, database_url, accounts, gateways, devices, interval, qos, protocol, rate, status, count,
         duration, provision, backfill_days, backfill_interval, timezone_name):
    """Simulate gateways publishing telemetry (or backfill history into the database)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fleet = build_fleet([a.strip() for a in accounts.split(",") if a.strip()], gateways, devices)
    if (provision or backfill_days) and not database_url:
        raise click.UsageError("--provision and --backfill need --database-url (or DATABASE_URL)")
    if provision or backfill_days:
        url = normalize_database_url(database_url)
        provision_fleet(create_db_engine(url, pool_size=1), fleet)
        if backfill_days:
            end = datetime.now(timezone.utc)
            stored = backfill(raw_dsn(url), timezone_name, fleet, end - timedelta(days=backfill_days), end,
                              timedelta(seconds=backfill_interval))
            click.echo(f"backfilled {stored} readings")
            return
    if count is None and duration is None:
        click.echo("publishing until Ctrl-C (bound it with --count or --duration)")
    publisher = LivePublisher(mqtt_url, fleet, interval, qos, 5 if protocol == "5" else 4, count, duration, rate,
                              status=status, tls=_tls_files(cafile, certfile, keyfile, status, len(fleet)))
    publisher.start()
    try:
        while publisher.is_alive():
            publisher.join(0.5)
    except KeyboardInterrupt:
        publisher.stop()
        publisher.join(5)
    if publisher.error:
        raise click.ClickException(publisher.error)
    click.echo(f"published {publisher.published} messages")


def _tls_files(cafile, certfile, keyfile, status: bool, gateways: int) -> TlsFiles | None:
    """The TLS files, checked: a certificate needs its key, and one certificate cannot be several gateways."""
    if bool(certfile) != bool(keyfile):
        raise click.UsageError("--certfile and --keyfile go together")
    per_gateway = bool(certfile) and "{serial}" in certfile
    if certfile and not per_gateway and gateways > 1:
        # The broker makes the certificate's CN the identity: other gateways' topics would be refused.
        raise click.UsageError("one --certfile is one gateway: put {serial} in the paths, or simulate one gateway")
    if per_gateway and not status:
        raise click.UsageError("{serial} in --certfile needs --status (one connection per gateway)")
    return TlsFiles(cafile, certfile, keyfile) if (cafile or certfile) else None


if __name__ == "__main__":
    main()
