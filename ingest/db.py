"""The one connection helper of the codebase: SQLAlchemy engines, transactions and libpq DSNs.

It lives in ingest/ because ingest imports nothing from tds_dash/; tds_dash.db re-exports it, so the
web app and the ingest connect the same way (UTC on the wire, pre-ping, recycled connections).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

SQLALCHEMY_PREFIX = "postgresql+psycopg://"


class DatabaseUrlError(ValueError):
    """DATABASE_URL is not a PostgreSQL URL."""


def normalize_database_url(raw: str | None) -> str | None:
    """The SQLAlchemy form (postgresql+psycopg://) of a postgres:// or postgresql:// URL; None when unset."""
    if not raw:
        return None
    # Heroku-style platforms hand out postgres://; SQLAlchemy needs the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return SQLALCHEMY_PREFIX + raw[len(prefix):]
    if raw.startswith(SQLALCHEMY_PREFIX):
        return raw
    raise DatabaseUrlError("DATABASE_URL must start with postgres:// or postgresql://")


def create_db_engine(database_url: str, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 30) -> Engine:
    """An engine with pre-ping so a restarted database costs one failed checkout, not a crash."""
    return sa.create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        # UTC on the wire: every conversion to the deployment's zone is explicit in SQL or Python.
        connect_args={"options": "-c timezone=UTC", "application_name": "tds-telemetry"},
    )


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on error."""
    with engine.begin() as connection:
        yield connection


def raw_dsn(database_url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for psycopg connections owned by one thread."""
    return database_url.replace(SQLALCHEMY_PREFIX, "postgresql://", 1)
