-- 070_share_links: read-only presentation links for one account, opened without a user account
-- (/present/<token>). The token a visitor holds is signed with the session key and names a row here by id
-- and a random nonce; only the nonce's sha256 is stored, so neither this table nor the key alone opens
-- anything. The row, not the token, decides: revoking or expiring it ends the link at the next request.
-- Frozen once applied: change it with a new numbered file.

CREATE TABLE share_links (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    label            text NOT NULL DEFAULT '' CHECK (length(label) <= 80),
    nonce_hash       text NOT NULL UNIQUE,               -- sha256 hex of the token's nonce
    created_by       bigint REFERENCES users(id) ON DELETE SET NULL,
    created_by_name  text NOT NULL,                      -- kept when the user is deleted
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    revoked_by_name  text,
    last_used_at     timestamptz,                        -- at most once a minute (each refresh reads the row)
    CHECK (expires_at > created_at)
);
CREATE INDEX share_links_account_idx ON share_links (account_id, created_at DESC);
