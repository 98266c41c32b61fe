"""The certificate revocation list the broker checks at every TLS handshake."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tds_dash.certificates.pki import Authority


@dataclasses.dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate as the CRL lists it."""

    serial_number: str  # hex, as stored
    revoked_at: datetime


@dataclasses.dataclass(frozen=True)
class CrlStatus:
    """How long the broker's CRL stays usable; /api/health shows it."""

    status: str  # ok | due (re-issue soon) | expired (every client is refused) | absent (PKI not set up)
    path: str
    last_update: datetime | None = None
    next_update: datetime | None = None
    seconds_left: float | None = None

    def as_dict(self) -> dict:
        return {"status": self.status, "next_update": self.next_update.isoformat() if self.next_update else None,
                "seconds_left": None if self.seconds_left is None else round(self.seconds_left)}


def build_crl(authority: Authority, revoked: Iterable[RevokedEntry], now: datetime,
              days: int) -> x509.CertificateRevocationList:
    """A CRL signed by our CA, valid `days`, numbered by its issue time so numbers only grow."""
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(authority.key.public_key())
    builder = (x509.CertificateRevocationListBuilder().issuer_name(authority.certificate.subject)
               .last_update(now).next_update(now + timedelta(days=days))
               .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
                              critical=False))
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(int(entry.serial_number, 16))
            .revocation_date(entry.revoked_at).build())
    return builder.sign(authority.key, hashes.SHA256())


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def load_crl(path: Path) -> x509.CertificateRevocationList | None:
    """The CRL in `path`, or None when there is none (or it is unreadable: treated as absent)."""
    try:
        return x509.load_pem_x509_crl(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


def is_due(crl: x509.CertificateRevocationList | None, now: datetime) -> bool:
    """True when less than a third of the CRL's lifetime is left (or there is no usable CRL)."""
    if crl is None or crl.next_update_utc is None:
        return True
    lifetime = crl.next_update_utc - crl.last_update_utc
    return crl.next_update_utc - now < lifetime / 3


def crl_status(path: Path, now: datetime) -> CrlStatus:
    """The CRL's remaining lifetime, read from the file the broker reads."""
    crl = load_crl(path)
    if crl is None:
        return CrlStatus("absent", str(path))
    left = (crl.next_update_utc - now).total_seconds()
    status = "expired" if left <= 0 else "due" if is_due(crl, now) else "ok"
    return CrlStatus(status, str(path), crl.last_update_utc, crl.next_update_utc, left)
