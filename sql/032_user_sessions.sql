-- 032_user_sessions: one row per signed-in browser session, so that signing out ends the session on the
-- server and not only in the browser (a cookie copied before POST /logout used to keep working until
-- it expired). The signed cookie carries a random secret; only its SHA-256 is stored here, so a read of
-- this table gives nobody a usable session. "Sign out everywhere" and a password change revoke rows.
-- Frozen once applied: change the schema with a new numbered file.

CREATE TABLE user_sessions (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash  text NOT NULL UNIQUE,      -- sha256 of the secret in the session cookie
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,      -- absolute lifetime, whatever the browser keeps
    revoked_at   timestamptz,               -- sign-out, sign-out everywhere, password change
    address      text,                      -- where the sign-in came from (for the audit, not for checks)
    user_agent   text
);
CREATE INDEX user_sessions_live_idx ON user_sessions (user_id) WHERE revoked_at IS NULL;
