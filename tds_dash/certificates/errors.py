"""Domain errors of the certificates package: a stable code for callers, a message for people."""
from __future__ import annotations


class CertificateError(Exception):
    """A refused certificate operation; `code` is stable (for an API body), `message` says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
