"""What routes and the CLI call: a connection (inside the caller's transaction), an actor, plain values.

Every function raises CertificateError(code, message) for input the caller must fix and writes issue
and revoke to the audit log. Private keys generated here are returned once and never stored.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from tds_dash.certificates import store
from tds_dash.certificates.broker import SyncResult, sync_broker_files
from tds_dash.certificates.config import RESERVED_PREFIX, PkiConfig
from tds_dash.certificates.errors import CertificateError
from tds_dash.certificates.issuing import (
    SignedCertificate,
    load_csr,
    pkcs12_bundle,
    sign_gateway_certificate,
)
from tds_dash.certificates.pki import (
    key_pem,
    load_or_create_authority,
    new_key,
    utc_now,
)
from tds_dash.queries.users import record_audit

MAX_REASON = 500


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who does it: a user (id and username) or the CLI (no id)."""

    user_id: int | None
    username: str


@dataclasses.dataclass(frozen=True)
class IssuedBundle:
    """The one-time answer to an issue: PEM certificate, CA and (server-generated) key, optional PKCS#12."""

    certificate: store.CertificateRow
    cert_pem: bytes
    ca_pem: bytes
    key_pem: bytes | None  # None when the gateway sent a CSR (its key never left it)
    pkcs12: bytes | None
    sync: SyncResult


def as_actor(actor: Any) -> Actor:
    """Accept an Actor, a user row (`.id`, `.username`) or a (user_id, username) pair."""
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, tuple):
        return Actor(actor[0], actor[1])
    return Actor(actor.id, actor.username)


def _gateway(conn: Connection, serial: str) -> store.GatewayRef:
    if serial.lower().startswith(RESERVED_PREFIX):
        # The ingest's username and client ids: a certificate with this CN would get the ingest's rights.
        raise CertificateError("reserved_serial", f"{serial!r}: serials starting with {RESERVED_PREFIX!r} are reserved")
    gateway = store.get_gateway(conn, serial)
    if gateway is None:
        raise CertificateError("unknown_gateway", f"no gateway with serial {serial!r} (register it first)")
    return gateway


def _sign(conn: Connection, pki: PkiConfig, serial: str, csr_pem: bytes | str | None, now: datetime):
    gateway = _gateway(conn, serial)
    key = None
    if csr_pem is not None:
        public_key = load_csr(csr_pem, gateway.serial).public_key()
    else:
        key = new_key()
        public_key = key.public_key()
    authority = load_or_create_authority(pki)
    signed = sign_gateway_certificate(authority, gateway.serial, public_key, now, pki.validity_days)
    return gateway, authority, key, signed


def issue_for_gateway(conn: Connection, actor: Any, serial: str, *, pki: PkiConfig, csr_pem: bytes | str | None = None,
                      p12_password: str | None = None, now: datetime | None = None) -> IssuedBundle:
    """Issue a certificate for a registered gateway: sign its CSR, or generate its key (returned once).

    Earlier certificates stay active (rotation with overlap) until revoked.
    """
    now, actor = now or utc_now(), as_actor(actor)
    if p12_password is not None and (csr_pem is not None or len(p12_password) < 8):
        raise CertificateError("invalid_p12_password",
                               "a PKCS#12 needs a generated key and a password of 8+ characters")
    gateway, authority, key, signed = _sign(conn, pki, serial, csr_pem, now)
    origin = "csr" if key is None else "generated"
    certificate_id = store.insert_certificate(conn, gateway, signed, origin, actor.user_id, actor.username)
    record_audit(conn, actor.user_id, actor.username, "issue", "certificate", certificate_id,
                 account_id=gateway.account_id, after=_audit_facts(gateway.serial, signed, origin))
    sync = sync_broker_files(conn, pki, authority, now)
    p12 = pkcs12_bundle(gateway.serial, key, signed, authority, p12_password) if p12_password else None
    return IssuedBundle(store.get_certificate(conn, certificate_id, now), signed.cert_pem, authority.cert_pem,
                        key_pem(key) if key is not None else None, p12, sync)


def _audit_facts(serial: str, signed: SignedCertificate, origin: str) -> dict:
    return {"gateway": serial, "serial_number": signed.serial_number, "fingerprint_sha256": signed.fingerprint_sha256,
            "not_after": signed.not_after.isoformat(), "key_origin": origin}


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise CertificateError("invalid_reason", f"say why it is revoked (1-{MAX_REASON} characters)")
    return reason


def revoke(conn: Connection, actor: Any, certificate_id: int, reason: str, *, pki: PkiConfig,
           now: datetime | None = None) -> SyncResult:
    """Revoke one certificate: CRL, ACL and broker reload follow before this returns."""
    now, actor, reason = now or utc_now(), as_actor(actor), _check_reason(reason)
    row = store.get_certificate(conn, certificate_id, now, for_update=True)
    if row is None:
        raise CertificateError("unknown_certificate", f"no certificate with id {certificate_id}")
    if row.status == "revoked":
        raise CertificateError("already_revoked", f"certificate {certificate_id} was revoked at {row.revoked_at}")
    authority = load_or_create_authority(pki, create=False)
    mark_revoked_audited(conn, actor, row, reason, now)
    return sync_broker_files(conn, pki, authority, now)


def revoke_gateway(conn: Connection, actor: Any, serial: str, reason: str, *, pki: PkiConfig,
                   now: datetime | None = None) -> tuple[list[store.CertificateRow], SyncResult]:
    """Revoke every unrevoked certificate of a gateway (lost or compromised device) in one broker sync."""
    now, actor, reason = now or utc_now(), as_actor(actor), _check_reason(reason)
    gateway = store.get_gateway(conn, serial)
    if gateway is None:
        raise CertificateError("unknown_gateway", f"no gateway with serial {serial!r}")
    rows = [row for row in store.list_certificates(conn, now, gateway.id) if row.status != "revoked"]
    if not rows:
        raise CertificateError("nothing_to_revoke", f"gateway {serial!r} has no unrevoked certificate")
    authority = load_or_create_authority(pki, create=False)
    for row in rows:
        mark_revoked_audited(conn, actor, row, reason, now)
    return rows, sync_broker_files(conn, pki, authority, now)


def mark_revoked_audited(conn: Connection, actor: Actor, row: store.CertificateRow, reason: str, now: datetime) -> None:
    """Mark one certificate revoked and write the audit row; the caller syncs the broker's files after."""
    store.mark_revoked(conn, row.id, now, reason, actor.user_id, actor.username)
    gateway = store.get_gateway(conn, row.gateway_serial)
    record_audit(conn, actor.user_id, actor.username, "revoke", "certificate", row.id,
                 account_id=gateway.account_id if gateway else None,
                 before={"status": row.status}, after={"status": "revoked", "reason": reason,
                                                       "gateway": row.gateway_serial,
                                                       "serial_number": row.serial_number})


def list_for_gateway(conn: Connection, serial: str | None = None,
                     now: datetime | None = None) -> list[store.CertificateRow]:
    """A gateway's certificates, newest first (every gateway's when serial is None)."""
    now = now or utc_now()
    if serial is None:
        return store.list_certificates(conn, now)
    gateway = store.get_gateway(conn, serial)
    if gateway is None:
        raise CertificateError("unknown_gateway", f"no gateway with serial {serial!r}")
    return store.list_certificates(conn, now, gateway.id)


def sync_now(conn: Connection, pki: PkiConfig, now: datetime | None = None, create_ca: bool = False) -> SyncResult:
    """Re-issue the CRL, rewrite the ACL and reload the broker (`certs crl`, `certs init`)."""
    now = now or utc_now()
    return sync_broker_files(conn, pki, load_or_create_authority(pki, create=create_ca), now)
