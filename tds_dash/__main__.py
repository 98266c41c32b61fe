"""Command line: `python -m tds_dash run | migrate | rebuild-rollups`."""
from __future__ import annotations

import logging
import signal
import sys

import click

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
    import waitress

    from tds_dash.app import create_app
    from tds_dash.runtime import start_background

    settings = _settings()
    signal.signal(signal.SIGTERM, _terminate_once)
    background = None
    try:
        background = start_background(settings, progress=sys.stderr.isatty() or True)
        app = create_app(background.settings)
        app.server.extensions["tds"].background = background
        url = f"http://{settings.host}:{settings.port}"
        click.echo(f"\nTDS Telemetry is running: {url}")
        click.echo(f"MQTT broker: {background.settings.mqtt_url} (topic tds/{{account}}/{{gateway}}/telemetry)")
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
def migrate() -> None:
    """Apply pending migrations (the Procfile's release phase)."""
    from tds_dash.runtime import prepare_database

    settings = _settings()
    if settings.database_url is None:
        raise click.ClickException("DATABASE_URL is not set")
    prepare_database(settings)
    click.echo("database is up to date")


@cli.command("rebuild-rollups")
def rebuild_rollups() -> None:
    """Recompute every rollup from raw readings (e.g. after changing TDS_TIMEZONE)."""
    from tds_dash.db import raw_dsn
    from tds_dash.migrate import ensure_rollup_timezone

    settings = _settings()
    if settings.database_url is None:
        raise click.ClickException("DATABASE_URL is not set")
    ensure_rollup_timezone(raw_dsn(settings.database_url), settings.timezone)
    click.echo("rollups are current")


if __name__ == "__main__":
    cli()
