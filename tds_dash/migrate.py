"""Applies sql/NNN_*.sql once each, then re-applies the idempotent sql/functions/*.sql."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Any fixed number works; it only has to be the same in every process of this app.
MIGRATION_LOCK_KEY = 7_301_001
_NUMBERED = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

log = logging.getLogger(__name__)


def numbered_migrations(sql_dir: Path = SQL_DIR) -> list[Path]:
    """Migration files in apply order; a malformed name is an error, not silently skipped."""
    files = sorted(p for p in sql_dir.glob("*.sql"))
    for path in files:
        if not _NUMBERED.match(path.name):
            raise ValueError(f"{path.name}: migration files must be named NNN_name.sql")
    return files


def apply_migrations(dsn: str, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations under an advisory lock; returns the names applied now."""
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
            for path in numbered_migrations(sql_dir):
                if path.name in done:
                    continue
                log.info("applying migration %s", path.name)
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                applied_now.append(path.name)
            for path in sorted((sql_dir / "functions").glob("*.sql")):
                with conn.transaction():
                    conn.execute(path.read_text())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


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
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
