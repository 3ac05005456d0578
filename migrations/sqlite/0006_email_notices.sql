-- Email, and security notices that always arrive.

-- One verified email per account, stored as given; `email_key` is the address with its
-- domain in lower case, what lookups compare (several accounts may share an inbox).
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN email_key TEXT;
ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT;
CREATE INDEX accounts_email_key ON accounts (email_key);

-- An address waiting for its 6-digit code (the HMAC of it): 15 minutes, 5 wrong codes.
CREATE TABLE email_pending (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    failures    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

-- The notice queue: one row per event the owner must be told about, written in the same
-- transaction as the change (so a crash cannot lose it), with the destinations known at
-- that moment (a removed phone is still told it was removed). A worker claims a row with a
-- conditional update (`claimed_until`), so with several nodes each notice goes out once,
-- and retries a failing channel with back-off.
CREATE TABLE notices (
    event_id       BIGINT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone          TEXT,
    email          TEXT,
    old_email      TEXT,
    sms_done       BIGINT NOT NULL DEFAULT 0,
    email_done     BIGINT NOT NULL DEFAULT 0,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_at        BIGINT NOT NULL,
    claimed_until  BIGINT NOT NULL DEFAULT 0,
    done_at        BIGINT,
    outcome        TEXT
);
CREATE INDEX notices_due ON notices (next_at) WHERE done_at IS NULL;
