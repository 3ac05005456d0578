-- OpenID Connect for every kind of app (issue 26).

-- The authentication context class (`acr`, OIDC Core §2) the login met, decided when the code
-- is issued, and only when the app asked for one with `acr_values`.
ALTER TABLE oidc_grants ADD COLUMN acr TEXT;

-- Back-channel logout 1.0: where the app takes its logout tokens (`--backchannel-logout-uri`).
ALTER TABLE oidc_clients ADD COLUMN backchannel_logout_uri TEXT;

-- The device authorization grant (RFC 8628) for apps registered with \`--device\`.
ALTER TABLE oidc_clients ADD COLUMN device BIGINT NOT NULL DEFAULT 0;

-- The logout tokens still to send: one row per app and ended session, written by
-- `end_credentials` in the transaction that ended the session or revoked the grant (so a
-- crash cannot lose it). A worker on any node claims a row with a conditional update
-- (`claimed_until`), signs the token when it sends it, and retries with back-off.
CREATE TABLE oidc_logouts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id      TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_at        BIGINT NOT NULL,
    claimed_until  BIGINT NOT NULL DEFAULT 0,
    done_at        BIGINT,
    outcome        TEXT
);
CREATE INDEX oidc_logouts_due ON oidc_logouts (next_at) WHERE done_at IS NULL;

-- The device authorization grant (RFC 8628): one row per request of a device. The device
-- code is kept as its SHA-256 (`id`, 256 random bits), the user code as a keyed hash
-- (`user_code_mac`: 8 letters, so a plain hash would be guessed from a copy of the
-- database). `status`: pending, then approved (with the code of the grant made for it),
-- denied, or done (its tokens handed out) — each change one conditional update, so a code is
-- decided once and its tokens go out once. `last_polled_at` and `interval_secs` answer
-- polling that comes too fast with `slow_down` (§3.5).
CREATE TABLE oidc_device_requests (
    id              TEXT PRIMARY KEY,
    user_code_mac   TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    interval_secs   BIGINT NOT NULL,
    last_polled_at  BIGINT,
    status          TEXT NOT NULL,
    code_hash       TEXT
);
CREATE UNIQUE INDEX oidc_device_requests_user_code ON oidc_device_requests (user_code_mac);

-- Pushed authorization requests (RFC 9126): the request's parameters, posted by the
-- authenticated client, kept under the SHA-256 of the `request_uri`'s random part for 60
-- seconds and taken once (one DELETE … RETURNING) by the authorization request that names it.
CREATE TABLE oidc_pushed_requests (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    params      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
