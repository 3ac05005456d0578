-- Hardening (issue 10): credential versions, text budgets, login throttling by subject,
-- device cookies, the key check value and counted authenticator confirmations.

-- Bumped by every password change: a login binds its session, challenge and re-hash to the
-- version it verified, so a login in flight during a change cannot survive it.
ALTER TABLE accounts ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;
-- The per-account hard pause gives way to login_throttle.
ALTER TABLE accounts DROP COLUMN failed_logins;
ALTER TABLE accounts DROP COLUMN locked_until;

-- Fixed-window budgets (text messages, sign-ups). A bucket is charged by one conditional
-- upsert, so parallel requests on several nodes cannot overspend it.
CREATE TABLE rate_buckets (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    used          BIGINT NOT NULL
);

-- Wrong-password counters. `subject` is an account id, or a keyed hash of a username that
-- has no account (shadow counters: unknown names behave exactly like real ones).
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    subject       TEXT NOT NULL,
    failures      BIGINT NOT NULL,
    locked_until  BIGINT,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX login_throttle_subject ON login_throttle (subject);

-- Browsers that logged in to an account before (OWASP device cookies); only the SHA-256 of
-- the cookie is kept.
CREATE TABLE devices (
    token_hash    TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    PRIMARY KEY (token_hash, account_id)
);
CREATE INDEX devices_account ON devices (account_id);

-- Facts about the installation, such as the check value of the secret key.
CREATE TABLE server_meta (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Authenticator set-up confirmations are counted, like every other code.
ALTER TABLE totp_pending ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
