"""The key that signs session cookies: from SECRET_KEY, else one random key per data directory.

Never a constant: a key anyone can read in the source lets anyone sign `{"_user_id": "1:1"}` and be
admin. Without SECRET_KEY the first process to start writes a random key (0600) under the data
directory and every later process of that deployment (gunicorn workers, restarts) reads the same file.
"""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from tds_dash.settings import Settings, SettingsError

KEY_FILE_NAME = "secret_key"
MIN_KEY_CHARS = 32
log = logging.getLogger(__name__)


def session_secret(settings: Settings) -> str:
    """SECRET_KEY when set; otherwise the data directory's key file, created on first use."""
    if settings.secret_key:
        return settings.secret_key
    if settings.environment == "production":
        raise SettingsError("SECRET_KEY must be set (16+ characters) when TDS_ENV=production")
    return load_or_create_key_file(settings.data_dir / KEY_FILE_NAME)


def load_or_create_key_file(path: Path) -> str:
    """Read the key file, creating it atomically (no reader ever sees a half-written key)."""
    if not path.exists():
        _create_key_file(path)
    _tighten_permissions(path)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_CHARS:
        raise SettingsError(f"{path} holds a key shorter than {MIN_KEY_CHARS} characters: delete it to get a new one")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() fails if the name exists: of two workers starting together, the first wins and
            # the second reads the winner's key.
            os.link(temporary, path)
            log.info("generated a session key in %s (set SECRET_KEY to share one across machines)", path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def _tighten_permissions(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s was readable by others (%o): set to 0600", path, mode)
        path.chmod(0o600)
