-- 005_users: people, their roles and accounts, API tokens, login attempts (throttling) and the audit log.

CREATE TABLE users (
    id               bigserial PRIMARY KEY,
    username         text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
    name             text NOT NULL DEFAULT '',
    password_hash    text NOT NULL,        -- argon2id
    role             text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    active           boolean NOT NULL DEFAULT true,
    session_version  integer NOT NULL DEFAULT 1, -- bumped on disable/password reset: old sessions stop working
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Accounts a non-admin user may see; admins see every account.
CREATE TABLE user_accounts (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, account_id)
);

CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          text NOT NULL,
    token_hash    text NOT NULL UNIQUE,    -- sha256 of the secret; the secret itself is shown once
    prefix        text NOT NULL,           -- first characters, to recognise a token in lists
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE TABLE login_attempts (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    username   text NOT NULL,
    address    text NOT NULL,
    success    boolean NOT NULL
);
CREATE INDEX login_attempts_username_idx ON login_attempts (username, at DESC);
CREATE INDEX login_attempts_address_idx ON login_attempts (address, at DESC);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    bigint REFERENCES users(id) ON DELETE SET NULL,
    username   text NOT NULL,              -- kept when the user is deleted
    action     text NOT NULL,              -- create | update | delete | purge | deactivate | login | ...
    entity     text NOT NULL,              -- gateway | device | user | account | token | session
    entity_id  text,
    account_id bigint,                     -- the tenant the change belongs to, when there is one
    before     jsonb,
    after      jsonb,
    address    text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
