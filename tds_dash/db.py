"""The one place that connects to PostgreSQL: engine creation and transactional sessions."""
from __future__ import annotations

import contextlib
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def create_db_engine(database_url: str, pool_size: int = 5) -> Engine:
    """An engine with pre-ping so a restarted database costs one failed checkout, not a crash."""
    return sa.create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=5,
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
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)
