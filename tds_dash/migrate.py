"""Applies sql/NNN_*.sql once each, then re-applies the idempotent sql/functions/*.sql.

TimescaleDB: sql/003 installs the extension when the server offers it. When it is installed in the
database with its community features (has_timescale), two more steps follow; elsewhere nothing
below sql/timescale/ is ever read:
- sql/timescale/functions/*.sql are re-applied right after sql/functions/*.sql, in the same
  transaction, so they replace plain-PostgreSQL functions of the same name (tds_refresh_rollups,
  tds_rebuild_rollups) and no other session ever sees the plain version in between.
- sql/timescale/NNN_*.sql are applied once each, recorded as "timescale/NNN_name.sql".

Directives, as comment lines at the top of a migration file (before its first statement):
- `-- migrate: no-transaction`: the statements run one by one in autocommit, for what PostgreSQL
  refuses inside a transaction block (CALL refresh_continuous_aggregate, CREATE INDEX CONCURRENTLY).
  The file is recorded only after its last statement succeeded, so every statement must be safe to
  run again (IF EXISTS, idempotent functions).
- `-- migrate: parameters`: the file is composed with psycopg.sql, `{timezone}` becoming the rollup
  zone as a quoted SQL literal (never pasted as text); write `{{` and `}}` for literal braces.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg
from psycopg import sql

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
TIMESCALE_DIR_NAME = "timescale"
# Any fixed number works; it only has to be the same in every process of this app.
MIGRATION_LOCK_KEY = 7_301_001
# Zone for sql/timescale/ migrations when the caller names none and the database records none yet.
DEFAULT_TIMEZONE = "America/Sao_Paulo"
# Hierarchy order: each continuous aggregate is refreshed after the one it reads.
ROLLUP_VIEWS = ("consumption_hourly", "consumption_daily", "consumption_monthly", "fleet_hourly", "fleet_daily",
                "fleet_monthly")
DIRECTIVES = frozenset({"no-transaction", "parameters"})
_NUMBERED = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_DIRECTIVE = re.compile(r"^--\s*migrate:\s*(.*?)\s*$")
_SQL_TOKEN = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\$(?:[A-Za-z_]\w*)?\$)|;", re.S)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)

log = logging.getLogger(__name__)


def numbered_migrations(sql_dir: Path = SQL_DIR) -> list[Path]:
    """Migration files in apply order; a malformed name is an error, not silently skipped."""
    files = sorted(p for p in sql_dir.glob("*.sql"))
    for path in files:
        if not _NUMBERED.match(path.name):
            raise ValueError(f"{path.name}: migration files must be named NNN_name.sql")
    return files


def timescale_migrations(sql_dir: Path = SQL_DIR) -> list[Path]:
    """sql/timescale/NNN_*.sql in apply order (applied only where the extension is installed)."""
    return numbered_migrations(sql_dir / TIMESCALE_DIR_NAME)


def file_directives(text: str, name: str = "migration") -> set[str]:
    """The `-- migrate: ...` words in the file's leading comment lines; an unknown one is an error."""
    found: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("--"):
            break
        match = _DIRECTIVE.match(line)
        if match:
            found.update(match.group(1).replace(",", " ").split())
    unknown = found - DIRECTIVES
    if unknown:
        raise ValueError(f"{name}: unknown migrate directive(s) {sorted(unknown)}; known: {sorted(DIRECTIVES)}")
    return found


def split_statements(text: str) -> list[str]:
    """Split SQL on top-level semicolons (not inside quotes, dollar quotes or comments)."""
    statements, start, pos = [], 0, 0
    while (match := _SQL_TOKEN.search(text, pos)) is not None:
        pos = match.end()
        if match.group(1):  # a dollar quote: jump past its closing tag
            close = text.find(match.group(1), pos)
            if close < 0:
                raise ValueError(f"unterminated dollar quote {match.group(1)}")
            pos = close + len(match.group(1))
        elif match.group(0) == ";":
            statements.append(text[start:match.start()])
            start = pos
    statements.append(text[start:])
    return [s.strip() for s in statements if _COMMENTS.sub("", s).strip()]


def has_timescale(conn: psycopg.Connection) -> bool:
    """True when the timescaledb extension is installed in this database (not merely available) with
    its community features: an Apache-2-only build has no continuous aggregates or compression, so
    there the plain-PostgreSQL rollups stay (readings is still a hypertable)."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
        " AND coalesce(current_setting('timescaledb.license', true), 'timescale') = 'timescale'"
    ).fetchone()[0]


def _compose(text: str, directives: set[str], parameters: dict) -> sql.Composable | str:
    if "parameters" not in directives:
        return text
    try:
        return sql.SQL(text).format(**{key: sql.Literal(value) for key, value in parameters.items()})
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"bad placeholder in a parameters migration ({error!r}); known: {sorted(parameters)}") from None


def _run_file(conn: psycopg.Connection, path: Path, recorded_as: str, parameters: dict) -> None:
    text = path.read_text()
    directives = file_directives(text, path.name)
    if "no-transaction" not in directives:
        with conn.transaction():
            conn.execute(_compose(text, directives, parameters))
            conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (recorded_as,))
        return
    for statement in split_statements(text):
        conn.execute(_compose(statement, directives, parameters))
    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (recorded_as,))


def _apply_pending(conn: psycopg.Connection, files: list[Path], done: set[str], prefix: str,
                   parameters: dict) -> list[str]:
    applied: list[str] = []
    for path in files:
        name = prefix + path.name
        if name in done:
            continue
        log.info("applying migration %s", name)
        _run_file(conn, path, name, parameters)
        applied.append(name)
    return applied


def _recorded_timezone(conn: psycopg.Connection) -> str | None:
    if conn.execute("SELECT to_regclass('rollup_settings') IS NULL").fetchone()[0]:
        return None
    row = conn.execute("SELECT timezone FROM rollup_settings").fetchone()
    return row[0] if row else None


def apply_migrations(dsn: str, sql_dir: Path = SQL_DIR, timezone: str | None = None) -> list[str]:
    """Apply pending migrations under an advisory lock; returns the names applied now.

    `timezone` is the `{timezone}` of parameters migrations (default: the zone the rollups were
    cut in, else DEFAULT_TIMEZONE); ensure_rollup_timezone() afterwards moves rollups to another zone.
    """
    applied_now: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Session-level lock: a second process waits here until the first has finished.
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
            parameters = {"timezone": timezone or _recorded_timezone(conn) or DEFAULT_TIMEZONE}
            applied_now += _apply_pending(conn, numbered_migrations(sql_dir), done, "", parameters)
            timescale = has_timescale(conn)
            functions = sorted((sql_dir / "functions").glob("*.sql"))
            if timescale:
                functions += sorted((sql_dir / TIMESCALE_DIR_NAME / "functions").glob("*.sql"))
            with conn.transaction():
                for path in functions:
                    conn.execute(path.read_text())
            if timescale:
                applied_now += _apply_pending(conn, timescale_migrations(sql_dir), done,
                                              TIMESCALE_DIR_NAME + "/", parameters)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def refresh_rollup_views(conn: psycopg.Connection) -> None:
    """TimescaleDB: materialize every rollup over all time (autocommit connection; not in a transaction)."""
    for view in ROLLUP_VIEWS:
        conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, NULL, NULL)").format(sql.Literal(view)))


def ensure_rollup_timezone(dsn: str, timezone: str) -> bool:
    """Rebuild rollups when the deployment's zone differs from the one they were cut in."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            row = conn.execute("SELECT timezone FROM rollup_settings").fetchone()
            if row is not None and row[0] == timezone:
                return False
            log.warning("rollups were cut in %s, rebuilding for %s", row and row[0], timezone)
            conn.execute("SELECT tds_rebuild_rollups(%s)", (timezone,))
            if has_timescale(conn):
                # The rebuilt continuous aggregates start empty; real-time aggregation answers from
                # the raw readings meanwhile, but slowly, so materialize them now.
                refresh_rollup_views(conn)
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


def ensure_timescale_policies(dsn: str, late_data_days: int, retention_days: int | None = None) -> bool:
    """TimescaleDB: compress raw chunks older than the late-data window, drop those older than
    retention_days (None: keep everything). Returns False, doing nothing, on plain PostgreSQL."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not has_timescale(conn):
            return False
        conn.execute("SELECT tds_timescale_policies(%s, %s)", (late_data_days, retention_days))
        return True
