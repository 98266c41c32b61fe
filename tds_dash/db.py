"""The app's database access: the one connection helper (shared with ingest/, which owns it)."""
from ingest.db import create_db_engine, normalize_database_url, raw_dsn, session_scope

__all__ = ["create_db_engine", "normalize_database_url", "raw_dsn", "session_scope"]
