"""Command line: `python -m tds_dash run | migrate | rebuild-rollups`."""
from __future__ import annotations

import logging
import signal
import time

import click
import waitress

from ingest.heap import freeze_startup_heap, tune_garbage_collector
from tds_dash.auth.users import UserInputError, create_user
from tds_dash.background import broker_credentials
from tds_dash.background.database import command_database
from tds_dash.background.runtime import prepare_database, start_background
from tds_dash.commands import certificates as certificate_commands
from tds_dash.commands import fleet as fleet_cli
from tds_dash.commands import statements as statement_cli
from tds_dash.db import create_db_engine, raw_dsn
from tds_dash.migrate import ensure_rollup_timezone
from tds_dash.settings import SettingsError, load_settings


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("waitress.queue", "apscheduler.executors.default", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings():
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(f"configuration error: {error}") from None


def _terminate_once(signum, frame) -> None:
    """SIGTERM (a platform stopping us) takes the same clean path as Ctrl-C; repeats are ignored."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


@click.group()
def cli() -> None:
    """TDS Telemetry."""
    _configure_logging()


@cli.command()
def run() -> None:
    """Start the web app with ingest, scheduler and (without DATABASE_URL/MQTT_URL) the embedded demo."""
    settings = _settings()
    signal.signal(signal.SIGTERM, _terminate_once)
    background = None
    tune_garbage_collector()
    # Imported here, after the collector's thresholds: with the defaults it rescanned the growing heap all
    # through the app's imports (Dash, Plotly, pandas, every page), twice their CPU (ingest/heap.py).
    from tds_dash.app import create_app  # noqa: PLC0415 - after the thresholds above
    try:
        background = start_background(settings)
        app = create_app(background.settings)
        app.server.extensions["tds"].background = background
        freeze_startup_heap()
        url = f"http://{settings.host}:{settings.port}"
        click.echo(f"\nTDS Telemetry is running: {url}")
        for line in background.broker_lines():
            click.echo(line)
        for entry in background.demo_credentials:
            scope = ", ".join(entry["accounts"]) or "all accounts"
            click.echo(f"  sign in as {entry['username']} / {entry['password']} ({entry['role']}, {scope})")
        click.echo("Press Ctrl-C to stop.\n")
        waitress.serve(app.server, host=settings.host, port=settings.port, threads=8, _quiet=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the flush short
        click.echo("stopping…")
        if background is not None:
            background.stop()
    click.echo("stopped")


@cli.command()
def ingest() -> None:
    """Run only the MQTT ingest (no web server, no scheduler): a Procfile `worker:` process, or a benchmark."""
    settings = _settings()
    if settings.database_url is None or settings.mqtt_url is None:
        raise click.ClickException("ingest needs DATABASE_URL and MQTT_URL")
    signal.signal(signal.SIGTERM, _terminate_once)
    background = None
    tune_garbage_collector()
    try:
        background = start_background(settings.replace(start_ingest=True, start_scheduler=False, demo_fleet=False))
        freeze_startup_heap()
        click.echo(f"ingesting from {broker_credentials.redact(settings.mqtt_url)} ({settings.ingest_slots} slot(s));"
                   " Ctrl-C to stop")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if background is not None:
            background.stop()
    click.echo("stopped")


@cli.command()
def migrate() -> None:
    """Apply pending migrations (the Procfile's release phase)."""
    settings = _settings()
    if settings.database_url is None:
        raise click.ClickException("DATABASE_URL is not set")
    prepare_database(settings)
    click.echo("database is up to date")


@cli.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recompute every rollup from raw readings (e.g. after changing TDS_TIMEZONE)."""
    settings = _settings()
    if settings.database_url is None:
        raise click.ClickException("DATABASE_URL is not set")
    ensure_rollup_timezone(raw_dsn(settings.database_url), settings.timezone)
    click.echo("rollups are current")


@cli.group()
def users() -> None:
    """Manage users (the first admin is created here)."""


@users.command("create")
@click.argument("username")
@click.option("--admin", "is_admin", is_flag=True, help="Shortcut for --role admin.")
@click.option("--role", type=click.Choice(["admin", "operator", "viewer"]), default="viewer", show_default=True)
@click.option("--account", "accounts", multiple=True, help="Account slug the user may see (repeatable).")
@click.option("--name", default="", help="Display name.")
@click.password_option(envvar="TDS_NEW_PASSWORD", help="Asked for when not given (or set TDS_NEW_PASSWORD).")
def create_user_command(username, is_admin, role, accounts, name, password) -> None:
    """Create a user; prints nothing secret."""
    settings = _settings()
    if settings.database_url is None:
        raise click.ClickException("DATABASE_URL is not set")
    prepare_database(settings)
    engine = create_db_engine(settings.database_url, pool_size=1)
    try:
        user_id = create_user(engine, None, username, name, password, "admin" if is_admin else role, list(accounts))
    except UserInputError as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()
    click.echo(f"user {username} created (id {user_id})")


cli.add_command(certificate_commands.certs)
cli.add_command(certificate_commands.broker_config)
fleet_cli.register(cli, command_database, _settings)  # tokens, gateways, devices (tds_dash/commands/fleet.py)
statement_cli.register(cli, command_database, _settings)  # statements list|generate|export

if __name__ == "__main__":
    cli()
