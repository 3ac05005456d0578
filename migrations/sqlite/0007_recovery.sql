-- "Forgot password?": one recovery in flight per account (a new request replaces it).
-- `channel` is how it reached the owner: 'email' (a link) or 'sms' (a 6-digit code);
-- `proof` is what `secret` holds: 'token' (the SHA-256 of a 256-bit link token) or 'code'
-- (the HMAC of a texted code). It works once (`used_at`), for 30 minutes, while the
-- password is the one it was made under (`credential_version`), and a code takes 5 wrong
-- tries (NIST SP 800-63B §5.1.3.2, §5.2.2). `new_password_hash` is the password chosen
-- while the second factor is still to come; it is applied only with that factor.
CREATE TABLE recoveries (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    channel             TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    proof               TEXT NOT NULL CHECK (proof IN ('token', 'code')),
    secret              TEXT NOT NULL,
    credential_version  BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    failures            BIGINT NOT NULL DEFAULT 0,
    used_at             BIGINT,
    new_password_hash   TEXT
);
CREATE INDEX recoveries_secret ON recoveries (secret);

-- A second step that finishes a recovery instead of (only) a login: the challenge names
-- its recovery, and whether text messages are refused as its second factor (a recovery
-- that came by text cannot also be proven by the same phone).
ALTER TABLE challenges ADD COLUMN recovery_id TEXT;
ALTER TABLE challenges ADD COLUMN sms_refused BIGINT NOT NULL DEFAULT 0;
