-- Passkeys and security keys (WebAuthn, issue 24).
--
-- `credential` is the whole credential as webauthn-rs-core serialises it (its public key, the
-- policy it was registered under, its attestation); `credential_id` (base64url) is unique
-- across accounts, as WebAuthn requires: one authenticator's credential belongs to one
-- account. `counter` is the signature counter last accepted: an assertion is used up by the
-- conditional UPDATE that raises it (`counter < new`, or both 0 for authenticators that keep
-- none), so the same assertion, or one from a clone whose counter went back, is refused.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    credential_id  TEXT NOT NULL,
    credential     TEXT NOT NULL,
    counter        BIGINT NOT NULL DEFAULT 0,
    aaguid         TEXT NOT NULL,
    user_verified  BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_account ON passkeys (account_id);

-- A registration or authentication in progress: the state webauthn-rs-core must get back
-- (its challenge among it), in the database so that any node can finish it. Keyed by the
-- SHA-256 of a 256-bit token the client holds (`flow`), or for the second step of a login
-- by the challenge's own id; used once (a conditional DELETE), 5 minutes at most, purged by
-- housekeeping. `kind`: register, passwordless, second_step. `session_id`: the session
-- that started a registration (only it may finish it).
CREATE TABLE webauthn_flows (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    session_id  TEXT,
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX webauthn_flows_expires ON webauthn_flows (expires_at);

-- What a login's first factor was, for OpenID Connect's `amr` (RFC 8176): `pwd`, or `hwk`
-- for a passkey and no password (then a passkey without user verification is the only
-- factor: `["hwk"]`). Every session and grant before this was a password's.
ALTER TABLE sessions ADD COLUMN first_factor TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE oidc_grants ADD COLUMN first_factor TEXT NOT NULL DEFAULT 'pwd';
