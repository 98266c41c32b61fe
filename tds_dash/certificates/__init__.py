"""Gateway certificates and broker mTLS (issue 12): our CA, per-gateway certificates, CRL, ACL, broker config.

- pki, issuing, crl: X.509 work with `cryptography` (the CA's files are the only files they touch).
- store: the SQL of `gateway_certificates` (sql/040). service: what routes and the CLI call (a connection,
  an actor, plain values; raises CertificateError). maintenance: the scheduler's CRL refresh, /api/health.
- acl, passwords, broker_config, broker: the Mosquitto side (ACL text, `$7$` password lines,
  mosquitto.conf, writing the files atomically and SIGHUP). cli: `certs …` and `broker-config`.
"""
