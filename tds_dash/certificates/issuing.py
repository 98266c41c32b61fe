"""End-entity certificates signed by our CA: gateways (clientAuth) and the broker (serverAuth)."""
from __future__ import annotations

import dataclasses
import ipaddress
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tds_dash.certificates.errors import CertificateError
from tds_dash.certificates.pki import (
    BACKDATE,
    Authority,
    fingerprint_sha256,
    random_serial,
    serial_hex,
)

ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1)
MIN_RSA_BITS = 2048


@dataclasses.dataclass(frozen=True)
class SignedCertificate:
    """A certificate just signed, with the facts the database keeps about it."""

    certificate: x509.Certificate
    serial_number: str  # lowercase hex, as stored and as shown by `openssl x509 -serial` (case aside)
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _key_usage_signature_only() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _builder(authority: Authority, subject_cn: str, public_key, now: datetime, days: int) -> x509.CertificateBuilder:
    # Never past the CA's own end: a chain with a longer-lived leaf fails validation anyway.
    not_after = min(now + timedelta(days=days), authority.certificate.not_valid_after_utc)
    ca_key_id = x509.SubjectKeyIdentifier.from_public_key(authority.key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
        .issuer_name(authority.certificate.subject).public_key(public_key).serial_number(random_serial())
        .not_valid_before(now - BACKDATE).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage_signature_only(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False)
    )


def _signed(authority: Authority, builder: x509.CertificateBuilder) -> SignedCertificate:
    certificate = builder.sign(authority.key, hashes.SHA256())
    return SignedCertificate(certificate, serial_hex(certificate.serial_number), fingerprint_sha256(certificate),
                             certificate.not_valid_before_utc, certificate.not_valid_after_utc)


def sign_gateway_certificate(authority: Authority, gateway_serial: str, public_key, now: datetime,
                             days: int) -> SignedCertificate:
    """A client certificate whose CN is the gateway serial (the broker's username), clientAuth only."""
    check_public_key(public_key)
    builder = _builder(authority, gateway_serial, public_key, now, days).add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return _signed(authority, builder)


def sign_server_certificate(authority: Authority, hosts: list[str], public_key, now: datetime,
                            days: int) -> SignedCertificate:
    """The broker's certificate: the first host as CN, every host as a DNS or IP SAN, serverAuth only."""
    if not hosts:
        raise CertificateError("no_hosts", "the broker certificate needs at least one host name")
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    builder = (_builder(authority, hosts[0], public_key, now, days)
               .add_extension(x509.SubjectAlternativeName(names), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return _signed(authority, builder)


def check_public_key(public_key) -> None:
    """Refuse keys too weak for a decade of service (P-256/P-384, or RSA of 2048 bits or more)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ACCEPTED_CURVES):
        return
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= MIN_RSA_BITS:
        return
    raise CertificateError("weak_key", "the key must be ECDSA P-256/P-384 or RSA with at least 2048 bits")


def load_csr(csr_pem: bytes | str, gateway_serial: str) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check its signature and that its subject is exactly CN=<gateway serial>."""
    data = csr_pem.encode() if isinstance(csr_pem, str) else csr_pem
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError:
        raise CertificateError("invalid_csr", "the CSR is not a PEM certificate signing request") from None
    try:
        valid = csr.is_signature_valid
    except (InvalidSignature, ValueError):
        valid = False
    if not valid:
        raise CertificateError("invalid_csr", "the CSR's signature does not verify (is it corrupted?)")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = names[0].value if len(names) == 1 else None
    if common_name != gateway_serial:
        raise CertificateError("csr_cn_mismatch", f"the CSR's subject CN is {common_name!r}; it must be the gateway"
                                                  f" serial {gateway_serial!r} (e.g. -subj '/CN={gateway_serial}')")
    check_public_key(csr.public_key())
    return csr


def pkcs12_bundle(name: str, key, signed: SignedCertificate, authority: Authority, password: str) -> bytes:
    """A password-protected PKCS#12 with key, certificate and our CA (AES-256, as current tools expect)."""
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(50_000)
                  .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
                  .build(password.encode()))
    return pkcs12.serialize_key_and_certificates(name.encode(), key, signed.certificate, [authority.certificate],
                                                 encryption)
