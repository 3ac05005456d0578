-- Sign in with Twofold (OpenID Connect): how each session was authenticated, signing keys,
-- clients, consents, authorization codes and the tokens issued from them.

-- The second factor a session's login used ('totp', 'sms', 'backup_code'), NULL for a
-- password alone: the `amr` of ID tokens, and two-factor-only clients, read it.
ALTER TABLE sessions ADD COLUMN second_factor TEXT;

-- Signing keys, sealed with AES-256-GCM under a key derived from the server secret, so that
-- every node signs with the same key. The newest unretired key signs; a retired key stays in
-- the JWKS until `retired_at` plus the longest ID-token lifetime.
CREATE TABLE oidc_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- Relying parties. `secret_hash` is the SHA-256 of a 256-bit secret (NULL for a public
-- client); the URI lists are JSON arrays matched exactly.
CREATE TABLE oidc_clients (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    secret_hash           TEXT,
    redirect_uris         TEXT NOT NULL,
    post_logout_uris      TEXT NOT NULL,
    require_two_factor    BIGINT NOT NULL,
    skip_consent          BIGINT NOT NULL,
    created_at            BIGINT NOT NULL
);

-- What an account allowed a client to see (space-separated, sorted scopes).
CREATE TABLE oidc_consents (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- One authorization: its code (the SHA-256 of it), used at most once, and everything the
-- tokens issued from it will say. Every token of a grant carries its id, so a reused code or
-- refresh token revokes them all at once.
CREATE TABLE oidc_grants (
    id              TEXT PRIMARY KEY,
    code_hash       TEXT NOT NULL UNIQUE,
    client_id       TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    nonce           TEXT,
    code_challenge  TEXT,
    auth_time       BIGINT NOT NULL,
    second_factor   TEXT,
    created_at      BIGINT NOT NULL,
    code_expires_at BIGINT NOT NULL,
    code_used_at    BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX oidc_grants_account ON oidc_grants (account_id, client_id);

-- Access and refresh tokens (their SHA-256). A refresh token is used once: its use rotates
-- it (`used_at`), and a second use revokes the grant.
CREATE TABLE oidc_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
