"""Gateway certificates and broker mTLS: our CA, per-gateway certificates, CRL, ACL and broker config.

- pki / issuing / crl: pure X.509 work with `cryptography` (no database, no files except the CA's).
- store: the SQL of `gateway_certificates`.
- service: what routes and the CLI call (a connection, an actor, plain values; raises CertificateError).
- broker: the Mosquitto side (ACL text, password hash, mosquitto.conf, file sync and SIGHUP).
"""
