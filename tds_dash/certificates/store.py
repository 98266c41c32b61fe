"""SQL of gateway_certificates: small named statements with bound parameters, typed rows."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tds_dash.certificates.crl import RevokedEntry
from tds_dash.certificates.issuing import SignedCertificate

# Every certificate change rewrites the broker's files from the table: one writer at a time, so a later
# writer's snapshot always includes the earlier one's commit (any fixed number; unique to this purpose).
BROKER_FILES_LOCK_KEY = 7_301_040


@dataclasses.dataclass(frozen=True)
class GatewayRef:
    """The gateway a certificate is for, with its account (the topic's first level)."""

    id: int
    serial: str
    account_id: int
    account_slug: str
    active: bool


@dataclasses.dataclass(frozen=True)
class CertificateRow:
    """One issued certificate; `status` is effective (an active one past not_after reads 'expired')."""

    id: int
    gateway_id: int
    gateway_serial: str
    account_slug: str
    serial_number: str
    fingerprint_sha256: str
    key_origin: str
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    revocation_reason: str | None
    issued_by: str
    revoked_by: str | None
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class AclIdentity:
    """A gateway identity (certificate CN) allowed on the broker and the account its topics sit under."""

    serial: str
    account_slug: str


_SELECT = (
    "SELECT c.id, c.gateway_id, g.serial AS gateway_serial, a.slug AS account_slug, c.serial_number,"
    " c.fingerprint_sha256, c.key_origin, c.not_before, c.not_after,"
    " CASE WHEN c.status = 'active' AND c.not_after <= :now THEN 'expired' ELSE c.status END AS status,"
    " c.revoked_at, c.revocation_reason, c.issued_by, c.revoked_by, c.created_at"
    " FROM gateway_certificates c JOIN gateways g ON g.id = c.gateway_id JOIN accounts a ON a.id = g.account_id"
)


def lock_broker_files(conn: Connection) -> None:
    """Serialise writers of the ACL/CRL files until this transaction ends."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": BROKER_FILES_LOCK_KEY})


def get_gateway(conn: Connection, serial: str) -> GatewayRef | None:
    row = conn.execute(sa.text(
        "SELECT g.id, g.serial, g.account_id, a.slug AS account_slug, g.active FROM gateways g"
        " JOIN accounts a ON a.id = g.account_id WHERE g.serial = :serial"), {"serial": serial}).one_or_none()
    return None if row is None else GatewayRef(row.id, row.serial, row.account_id, row.account_slug, row.active)


def insert_certificate(conn: Connection, gateway: GatewayRef, signed: SignedCertificate, key_origin: str,
                       user_id: int | None, username: str) -> int:
    return conn.execute(sa.text(
        "INSERT INTO gateway_certificates (gateway_id, serial_number, fingerprint_sha256, subject_cn, key_origin,"
        " not_before, not_after, issued_by, issued_by_id)"
        " VALUES (:gateway_id, :serial_number, :fingerprint, :cn, :origin, :not_before, :not_after, :by, :by_id)"
        " RETURNING id"),
        {"gateway_id": gateway.id, "serial_number": signed.serial_number, "fingerprint": signed.fingerprint_sha256,
         "cn": gateway.serial, "origin": key_origin, "not_before": signed.not_before, "not_after": signed.not_after,
         "by": username, "by_id": user_id}).scalar_one()


def get_certificate(conn: Connection, certificate_id: int, now: datetime,
                    for_update: bool = False) -> CertificateRow | None:
    lock = " FOR UPDATE OF c" if for_update else ""
    row = conn.execute(sa.text(_SELECT + " WHERE c.id = :id" + lock), {"id": certificate_id, "now": now}).one_or_none()
    return None if row is None else CertificateRow(**row._mapping)


def list_certificates(conn: Connection, now: datetime, gateway_id: int | None = None) -> list[CertificateRow]:
    """Newest first; every gateway's when gateway_id is None."""
    where = " WHERE c.gateway_id = :gateway_id" if gateway_id is not None else ""
    rows = conn.execute(sa.text(_SELECT + where + " ORDER BY g.serial, c.created_at DESC, c.id DESC"),
                        {"gateway_id": gateway_id, "now": now})
    return [CertificateRow(**row._mapping) for row in rows]


def mark_revoked(conn: Connection, certificate_id: int, now: datetime, reason: str, user_id: int | None,
                 username: str) -> None:
    conn.execute(sa.text(
        "UPDATE gateway_certificates SET status = 'revoked', revoked_at = :now, revocation_reason = :reason,"
        " revoked_by = :by, revoked_by_id = :by_id WHERE id = :id"),
        {"id": certificate_id, "now": now, "reason": reason, "by": username, "by_id": user_id})


def revoked_entries(conn: Connection, now: datetime) -> list[RevokedEntry]:
    """Revoked and not yet expired: an expired certificate is refused by its dates, the CRL need not grow."""
    rows = conn.execute(sa.text(
        "SELECT serial_number, revoked_at FROM gateway_certificates WHERE status = 'revoked' AND not_after > :now"
        " ORDER BY revoked_at, id"), {"now": now})
    return [RevokedEntry(row.serial_number, row.revoked_at) for row in rows]


def acl_identities(conn: Connection, now: datetime) -> list[AclIdentity]:
    """Active gateways holding at least one active, unexpired certificate: only they get topic lines."""
    rows = conn.execute(sa.text(
        "SELECT DISTINCT g.serial, a.slug FROM gateway_certificates c JOIN gateways g ON g.id = c.gateway_id"
        " JOIN accounts a ON a.id = g.account_id WHERE c.status = 'active' AND c.not_after > :now AND g.active"
        " ORDER BY g.serial"), {"now": now})
    return [AclIdentity(row.serial, row.slug) for row in rows]


def revoked_only_identities(conn: Connection, now: datetime) -> list[str]:
    """Gateways that had certificates but hold no usable one now, or are deactivated (in the ACL, no topics)."""
    rows = conn.execute(sa.text(
        "SELECT g.serial FROM gateway_certificates c JOIN gateways g ON g.id = c.gateway_id GROUP BY g.serial"
        " HAVING NOT bool_or(c.status = 'active' AND c.not_after > :now AND g.active) ORDER BY g.serial"),
        {"now": now})
    return [row.serial for row in rows]


def has_certificates(conn: Connection, gateway_id: int) -> bool:
    """Whether the broker's files mention this gateway at all (any certificate, even revoked or expired)."""
    return conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM gateway_certificates WHERE gateway_id = :id)"),
                        {"id": gateway_id}).scalar_one()
