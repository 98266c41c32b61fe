"""The deployment's certificate authority: created on first use under TDS_PKI_DIR, or loaded from files."""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tds_dash.certificates.config import PkiConfig
from tds_dash.certificates.errors import CertificateError
from tds_dash.certificates.files import write_atomic

# Twenty years: the CA must outlive every gateway certificate it signs (730 days by default).
CA_VALIDITY = timedelta(days=7300)
# Certificates start a little in the past so a broker whose clock lags ours still accepts them.
BACKDATE = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Authority:
    """A CA certificate with its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        return fingerprint_sha256(self.certificate)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key (small, fast on gateway hardware, accepted by every TLS stack)."""
    return ec.generate_private_key(ec.SECP256R1())


def random_serial() -> int:
    """A random positive 128-bit serial number (RFC 5280: positive, at most 20 octets; CA/B: unpredictable)."""
    return secrets.randbits(128) or 1


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def fingerprint_sha256(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def key_pem(key) -> bytes:
    """PKCS#8 PEM without encryption (the caller decides where it may be written)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def create_authority(common_name: str, now: datetime | None = None) -> Authority:
    """A self-signed CA that may sign end-entity certificates and CRLs only (path length 0)."""
    now = now or utc_now()
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TDS Telemetry"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(random_serial()).not_valid_before(now - BACKDATE).not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, key)


def load_authority(cert_file: Path, key_file: Path) -> Authority:
    """Read a CA from PEM files, refusing a certificate that is not a CA or a key that does not match."""
    try:
        certificate = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise CertificateError("ca_unreadable", f"cannot read the CA ({cert_file}, {key_file}): {error}") from None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise CertificateError("ca_unreadable", f"{key_file} holds neither an EC nor an RSA key")
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise CertificateError("ca_invalid", f"{cert_file} is not a CA certificate")
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise CertificateError("ca_invalid", f"{key_file} is not the key of {cert_file}")
    return Authority(certificate, key)


def load_or_create_authority(config: PkiConfig, create: bool = True) -> Authority:
    """The deployment's CA; the first call creates it (key 0600) unless the CA is given as files."""
    if config.ca_external or config.ca_cert_file.exists():
        return load_authority(config.ca_cert_file, config.ca_key_file)
    if not create:
        raise CertificateError("ca_missing", f"no CA yet under {config.pki_dir}: run `python -m tds_dash certs init`")
    # 0755: the broker (another user) reads files under it; every secret in it is 0600 by itself.
    config.pki_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    # Two processes starting at once must not each write half a pair: one creates, the other loads.
    with open(config.pki_dir / ".ca.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if config.ca_cert_file.exists():
            return load_authority(config.ca_cert_file, config.ca_key_file)
        authority = create_authority(f"TDS Telemetry gateway CA {secrets.token_hex(4)}")
        write_atomic(config.ca_key_file, key_pem(authority.key), mode=0o600)
        write_atomic(config.ca_cert_file, authority.cert_pem, mode=0o644)  # the cert last: it marks "done"
        return authority
