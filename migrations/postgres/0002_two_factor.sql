-- Two-factor authentication: methods, pending enrolments, login challenges, backup codes.
ALTER TABLE accounts ADD COLUMN two_factor_since BIGINT;
ALTER TABLE accounts ADD COLUMN sf_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN sf_locked_until BIGINT;
ALTER TABLE accounts ADD COLUMN sf_lockouts BIGINT NOT NULL DEFAULT 0;

-- A verified phone; the unique index keeps a number on one account only.
CREATE TABLE sms_phones (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    added_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX sms_phones_phone ON sms_phones (phone);

-- A phone waiting for its verification code (only a keyed hash of the code is kept).
CREATE TABLE sms_pending (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    code_mac    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0
);

-- An authenticator app: the secret sealed with AES-256-GCM, and the last accepted step.
CREATE TABLE totp_factors (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_sealed  TEXT NOT NULL,
    added_at       BIGINT NOT NULL,
    last_step      BIGINT NOT NULL
);

CREATE TABLE totp_pending (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_sealed  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- The second step of a login. The id is a keyed hash of the token the client holds.
CREATE TABLE challenges (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('web', 'api')),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    failures        BIGINT NOT NULL DEFAULT 0,
    finished_at     BIGINT,
    sms_code_mac    TEXT,
    sms_expires_at  BIGINT,
    sms_sent_at     BIGINT,
    sms_sends       BIGINT NOT NULL DEFAULT 0,
    ip              TEXT,
    user_agent      TEXT
);
CREATE INDEX challenges_account ON challenges (account_id);

-- One batch of backup codes per account; getting new codes replaces it in one transaction.
CREATE TABLE backup_batches (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX backup_batches_account ON backup_batches (account_id);

CREATE TABLE backup_codes (
    batch_id    TEXT NOT NULL REFERENCES backup_batches (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    position    BIGINT NOT NULL,
    code_mac    TEXT NOT NULL,
    sealed      TEXT,
    used_at     BIGINT,
    PRIMARY KEY (batch_id, position)
);
CREATE UNIQUE INDEX backup_codes_lookup ON backup_codes (account_id, code_mac);
