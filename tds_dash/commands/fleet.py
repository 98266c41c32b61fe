"""Fleet commands for scripts and shells: `tokens create`, `gateways list|create|import|delete|deactivate|activate`,
`devices list|import`.

They call what the pages and /api/v1 call (tds_dash.fleet.actions and .imports, tds_dash.auth.users), as an
administrator named 'cli' in the audit log, or with `--as USER` with that user's role and accounts. The
database comes from the shell (tds_dash.__main__ passes open_database: DATABASE_URL, else the running demo's
embedded PostgreSQL, else that one started for the command).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import click

from tds_dash.auth import users as user_rules
from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.gateway_changes import gateway_hook
from tds_dash.db import create_db_engine, session_scope
from tds_dash.fleet import actions, imports
from tds_dash.fleet.actor import Actor, cli_actor
from tds_dash.queries import fleet, fleet_devices
from tds_dash.queries import users as user_queries
from tds_dash.queries.filters import list_accounts


def register(group: click.Group, open_database: Callable, load_settings: Callable) -> None:
    """Add the commands to the shell's group; open_database(settings) yields settings with database_url set."""
    for command in _commands(actor_opener(open_database, load_settings)):
        group.add_command(command)


def actor_opener(open_database: Callable, load_settings: Callable) -> Callable:
    """actor_for(username) -> a context manager yielding the CLI actor on its own engine (every command group)."""

    @contextlib.contextmanager
    def actor_for(username: str | None):
        with open_database(load_settings()) as settings:
            engine = create_db_engine(settings.database_url, pool_size=1)
            try:
                user = _user(engine, username) if username else None
                # As in the app: deleting or deactivating a gateway rewrites the broker's CRL/ACL and reloads it.
                yield cli_actor(engine, settings.timezone, user,
                                on_gateway_change=gateway_hook(PkiConfig.from_settings(settings)))
            finally:
                engine.dispose()

    return actor_for


def _user(engine, username: str) -> user_queries.UserRow:
    with session_scope(engine) as conn:
        user = user_queries.get_user_by_username(conn, username.strip().lower())
    if user is None or not user.active:
        raise click.ClickException(f"no active user {username!r}")
    return user


AS_USER = click.option("--as", "as_user", default=None, metavar="USER",
                       help="Act with this user's role and accounts (default: administrator 'cli').")


def _commands(actor_for) -> list[click.Command]:
    @click.group()
    def tokens() -> None:
        """Personal API tokens."""

    @tokens.command("create")
    @click.argument("username")
    @click.option("--name", default="cli", show_default=True, help="What the token is for.")
    def create_token(username: str, name: str) -> None:
        """Create a token for USER and print its secret (shown this once, stored only as a hash)."""
        with actor_for(username) as actor:
            user = _user(actor.engine, username)
            try:
                token_id, secret = user_rules.create_token_record(actor.engine, user, name)
            except user_rules.UserInputError as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"token {token_id} for {user.username} ({name}); send it as 'Authorization: Bearer <secret>':",
                   err=True)
        click.echo(secret)

    @click.group()
    def gateways() -> None:
        """List, register, bulk-import, delete, deactivate and activate gateways."""

    @gateways.command("list")
    @AS_USER
    @click.option("--account", default=None, help="Account slug.")
    @click.option("--status", type=click.Choice(["online", "offline", "never", "inactive"]), default=None)
    @click.option("--search", default="")
    def list_gateways(as_user, account, status, search) -> None:
        """Gateways with their status, as on the gateways page (tab-separated)."""
        with actor_for(as_user) as actor, session_scope(actor.engine) as conn:
            account_id = _account_id(conn, actor, account)
            page = fleet.list_gateways_page(conn, actor.scope, datetime.now(timezone.utc), account_id=account_id,
                                            search=search, status=status, limit=500)
        _table(["serial", "account_slug", "status", "devices", "name"], page.rows, page.total)

    @gateways.command("create")
    @AS_USER
    @click.argument("serial")
    @click.option("--account", required=True, help="Account slug.")
    @click.option("--name", required=True)
    @click.option("--location", default="")
    @click.option("--timeout", "timeout_s", default="300", show_default=True, help="Inactivity timeout, seconds.")
    def create_gateway(as_user, serial, account, name, location, timeout_s) -> None:
        """Register a gateway (validated as the form validates it)."""
        with actor_for(as_user) as actor:
            with session_scope(actor.engine) as conn:
                account_id = _account_id(conn, actor, account)
            raw = {"account_id": account_id, "serial": serial, "name": name, "location": location,
                   "inactivity_timeout_s": timeout_s, "active": True}
            outcome = actions.submit_gateway(raw, None, actor)
        _say(outcome, {"account_id": "account"})

    @gateways.command("import")
    @AS_USER
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Validate every row, store nothing.")
    def import_gateways(as_user, file, dry_run) -> None:
        """Create gateways from a CSV (docs/samples/gateways.csv), all rows or none."""
        _import(actor_for, as_user, "gateways", file, dry_run)

    def gateway_action(action: str, help_text: str) -> click.Command:
        @gateways.command(action, help=help_text)
        @AS_USER
        @click.argument("serial")
        def command(as_user, serial) -> None:
            with actor_for(as_user) as actor:
                with session_scope(actor.engine) as conn:
                    row = fleet.get_gateway(conn, actor.scope, datetime.now(timezone.utc), serial=serial)
                if row is None:
                    raise click.ClickException(f"no gateway {serial!r}")
                pending = {"action": action, "id": row["id"], "version": row["version"], "name": row["serial"]}
                outcome = actions.run_action("gateway", pending, False, actor)
            _say(outcome, {})
        return command

    gateway_action("delete", "Delete a gateway without readings and its devices; its certificates are revoked first.")
    gateway_action("deactivate", "Reject its messages and take its topics from the broker's ACL.")
    gateway_action("activate", "Accept its messages again (and give its certificates their topics back).")

    @click.group()
    def devices() -> None:
        """List and bulk-import devices."""

    @devices.command("list")
    @AS_USER
    @click.option("--account", default=None, help="Account slug.")
    @click.option("--gateway", default=None, help="Gateway serial.")
    @click.option("--status", type=click.Choice(["online", "offline", "never", "inactive", "silent", "new"]))
    @click.option("--search", default="")
    def list_devices(as_user, account, gateway, status, search) -> None:
        """Devices with their status, as on the devices page (tab-separated)."""
        with actor_for(as_user) as actor, session_scope(actor.engine) as conn:
            account_id = _account_id(conn, actor, account)
            gateway_id = None
            if gateway:
                row = fleet.get_gateway(conn, actor.scope, datetime.now(timezone.utc), serial=gateway)
                gateway_id = row["id"] if row else -1
            page = fleet_devices.list_devices_page(conn, actor.scope, account_id=account_id, gateway_id=gateway_id,
                                                   search=search, status=status, limit=500)
        _table(["id", "gateway", "code", "status", "kind", "name"], page.rows, page.total)

    @devices.command("import")
    @AS_USER
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Validate every row, store nothing.")
    def import_devices(as_user, file, dry_run) -> None:
        """Create devices from a CSV (docs/samples/devices.csv), all rows or none."""
        _import(actor_for, as_user, "devices", file, dry_run)

    return [tokens, gateways, devices]


def _account_id(conn, actor: Actor, slug: str | None) -> int | None:
    if not slug:
        return None
    found = {a["slug"]: a["id"] for a in list_accounts(conn, actor.scope)}
    return found.get(slug, -1)


def _table(columns: list[str], rows: list[dict], total: int) -> None:
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join("" if row.get(c) is None else str(row.get(c)) for c in columns))
    if total > len(rows):
        click.echo(f"({total - len(rows)} more: narrow with --account, --status or --search)", err=True)


def _say(outcome, renames: dict[str, str]) -> None:
    if outcome.saved:
        click.echo(outcome.message)
        return
    problems = [f"  {renames.get(name, name)}: {error.message('en')}" for name, error in outcome.errors.items()]
    raise click.ClickException("\n".join([outcome.form_alert or outcome.message or outcome.status] + problems))


def _import(actor_for, as_user, kind: str, file: Path, dry_run: bool) -> None:
    with actor_for(as_user) as actor:
        report = imports.import_csv(actor, kind, file.read_bytes(), dry_run)
    if report.problem:
        raise click.ClickException(report.problem)
    if report.errors:
        lines = [f"  line {e['row']}, {e['column'] or 'row'}: {e['reason']}" for e in report.errors]
        raise click.ClickException("\n".join([f"{len(report.errors)} problem(s) in {file}: nothing was stored"]
                                             + lines))
    verb = "would create" if dry_run else "created"
    click.echo(f"{verb} {len(report.created)} {kind} from {report.rows} row(s)")
