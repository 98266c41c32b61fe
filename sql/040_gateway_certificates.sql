-- 040_gateway_certificates: the client certificates our CA issued to gateways (issue 12, broker mTLS).
-- Only public facts are kept: never a private key. The broker's ACL and CRL files are derived from this
-- table (tds_dash.certificates.service.sync_broker_files). Frozen once applied.

CREATE TABLE gateway_certificates (
    id                  bigserial PRIMARY KEY,
    -- Deleting a gateway drops its certificate history; the next broker sync then removes its ACL lines.
    gateway_id          bigint NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    serial_number       text NOT NULL UNIQUE CHECK (serial_number ~ '^[0-9a-f]{1,40}$'), -- hex, as in the CRL
    fingerprint_sha256  text NOT NULL UNIQUE CHECK (fingerprint_sha256 ~ '^[0-9a-f]{64}$'), -- of the DER
    subject_cn          text NOT NULL,          -- the gateway serial at issue time: the broker's username
    key_origin          text NOT NULL CHECK (key_origin IN ('generated', 'csr')), -- generated: handed out once
    not_before          timestamptz NOT NULL,
    not_after           timestamptz NOT NULL,
    -- 'expired' is derived from not_after when read; the column records what people did.
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'expired')),
    revoked_at          timestamptz,
    revocation_reason   text,
    issued_by           text NOT NULL,          -- username (kept when the user is deleted), 'cli:<os user>' from the CLI
    issued_by_id        bigint REFERENCES users(id) ON DELETE SET NULL,
    revoked_by          text,
    revoked_by_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
    CHECK (not_after > not_before)
);
-- "Certificates of a gateway", newest first.
CREATE INDEX gateway_certificates_gateway_idx ON gateway_certificates (gateway_id, created_at DESC);
-- "Active ones": the ACL file is rebuilt from these on every change.
CREATE INDEX gateway_certificates_active_idx ON gateway_certificates (gateway_id, not_after) WHERE status = 'active';
