"""`statements list|generate|export`: the Relatórios page's statements from a shell, through the same service.

As an administrator named 'cli', or with `--as USER` with that user's role and accounts (a viewer lists
and exports, only operators and administrators generate).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from tds_dash.commands.fleet import AS_USER, actor_opener
from tds_dash.context import Forbidden
from tds_dash.db import session_scope
from tds_dash.queries.filters import list_accounts
from tds_dash.statements import service
from tds_dash.tariffs.validation import TariffInputError

LIST_COLUMNS = ("id", "account", "period", "generated_at", "generated_by", "reason", "total", "current")


def register(group: click.Group, open_database: Callable, load_settings: Callable) -> None:
    """Add the `statements` group to the shell's group (see tds_dash.commands.fleet.register)."""
    group.add_command(_group(actor_opener(open_database, load_settings)))


def _account(conn, actor, slug: str) -> int:
    found = {a["slug"]: a["id"] for a in list_accounts(conn, actor.scope)}.get(slug)
    if found is None:
        raise click.ClickException(f"no account {slug!r} among yours")
    return found


def _group(actor_for) -> click.Group:
    @click.group()
    def statements() -> None:
        """Monthly client statements (written on the 1st by the scheduler)."""

    @statements.command("list")
    @AS_USER
    @click.option("--account", default=None, help="Account slug.")
    @click.option("--all", "with_superseded", is_flag=True, help="Include superseded statements.")
    def list_statements(as_user, account, with_superseded) -> None:
        """Statements newest month first (tab-separated)."""
        with actor_for(as_user) as actor, session_scope(actor.engine) as conn:
            account_id = _account(conn, actor, account) if account else None
            rows = service.list_statements(conn, actor.scope, account_id, with_superseded)
        click.echo("\t".join(LIST_COLUMNS))
        for r in rows:
            values = (r["id"], r["account"], f"{r['period']:%Y-%m}", r["generated_at"].isoformat(), r["generated_by"],
                      r["reason"], format(r["total"], "f"), "yes" if r["superseded_at"] is None else "no")
            click.echo("\t".join(str(v) for v in values))

    @statements.command("generate")
    @AS_USER
    @click.option("--account", required=True, help="Account slug.")
    @click.option("--month", required=True, help="YYYY-MM (local months of TDS_TIMEZONE).")
    def generate(as_user, account, month) -> None:
        """Write the account's statement for a month, or regenerate it when one exists."""
        with actor_for(as_user) as actor, session_scope(actor.engine) as conn:
            try:
                new_id = service.generate_requested(conn, actor.scope, actor.role, _account(conn, actor, account),
                                                    month, ZoneInfo(actor.timezone), datetime.now(timezone.utc),
                                                    actor.username)
            except (TariffInputError, Forbidden) as error:
                raise click.ClickException(str(getattr(error, "message", error))) from None
            row = service.find(conn, actor.scope, new_id)
        versions = ", ".join(f"{v['metric']} {v['valid_from']}" for v in row["tariff_versions"])
        click.echo(f"statement {new_id} for {account} {row['period']:%Y-%m}: total {row['total']} BRL"
                   f" ({row['reason']}; tariff versions: {versions})")

    @statements.command("export")
    @AS_USER
    @click.argument("statement_id", type=int)
    @click.option("--format", "kind", type=click.Choice(["pdf", "csv"]), default="pdf", show_default=True)
    @click.option("--lang", type=click.Choice(service.LANGUAGES), default=None, help="Default: as stored.")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
    def export(as_user, statement_id, kind, lang, output) -> None:
        """Write a statement's PDF or CSV to a file."""
        with actor_for(as_user) as actor, session_scope(actor.engine) as conn:
            try:
                body = service.file_of(conn, actor.scope, statement_id, kind, lang)
            except service.StatementMissing:
                raise click.ClickException(f"no statement {statement_id} among yours") from None
        output.write_bytes(body)
        click.echo(f"wrote {output} ({len(body)} bytes)")

    return statements
