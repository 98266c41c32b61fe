"""Where the PKI and the broker files live, resolved once from Settings."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tds_dash.settings import Settings

INGEST_USERNAME = "tds-ingest"  # the ingest listener's only user; gateway serials may not start with it
RESERVED_PREFIX = "tds-ingest"


@dataclasses.dataclass(frozen=True)
class PkiConfig:
    """Paths and lifetimes of the deployment's PKI; built by `from_settings`, overridable in tests."""

    pki_dir: Path
    ca_cert_file: Path  # ours under pki_dir, or the production CA given by TDS_PKI_CA_CERT_FILE
    ca_key_file: Path
    ca_external: bool  # True: the CA files are given, never created here
    validity_days: int
    crl_days: int
    acl_file: Path
    crl_file: Path
    pid_file: Path | None
    ingest_topics: tuple[str, ...] = ("tds/+/+/telemetry", "tds/+/+/status")  # what the ingest may read

    @property
    def ingest_credential_file(self) -> Path:
        return self.pki_dir / "ingest-credential.json"

    @classmethod
    def from_settings(cls, settings: Settings) -> PkiConfig:
        """Resolve the defaults: everything under <TDS_DATA_DIR>/pki unless set."""
        pki_dir = settings.pki_dir or settings.data_dir / "pki"
        external = settings.pki_ca_cert_file is not None
        return cls(
            pki_dir=pki_dir,
            ca_cert_file=settings.pki_ca_cert_file or pki_dir / "ca.pem",
            ca_key_file=settings.pki_ca_key_file or pki_dir / "ca.key",
            ca_external=external,
            validity_days=settings.cert_validity_days,
            crl_days=settings.crl_days,
            acl_file=settings.broker_acl_file or pki_dir / "broker" / "acl",
            crl_file=settings.broker_crl_file or pki_dir / "broker" / "crl.pem",
            pid_file=settings.broker_pid_file,
            # The ingest's own filters (TDS_MQTT_TOPIC, TDS_MQTT_STATUS_TOPIC), so the ACL follows them.
            ingest_topics=tuple(topic for topic in (settings.mqtt_topic, settings.mqtt_status_topic) if topic),
        )
