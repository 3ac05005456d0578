-- One lifecycle for every credential (API contract v3).
--
-- A grant descends from the login session that authorized it (`session_id`, the ID token's
-- `sid`). Without `offline_access` (`offline` = 0) its tokens end with that session; with it
-- they outlive the session but never the account's security events, nor `refresh_until`:
-- the absolute end of its refresh tokens, counted from the login, that rotation never moves.
-- Grants made before this migration name no session: those with offline_access keep
-- working until the next security event or 90 days after their login; the others end (their
-- access tokens lived 10 minutes).
ALTER TABLE oidc_grants ADD COLUMN session_id TEXT;
ALTER TABLE oidc_grants ADD COLUMN offline BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oidc_grants ADD COLUMN refresh_until BIGINT;
UPDATE oidc_grants SET offline = 1 WHERE (' ' || scope || ' ') LIKE '% offline_access %';
UPDATE oidc_grants SET refresh_until = auth_time + 7776000;
CREATE INDEX oidc_grants_session ON oidc_grants (session_id);

-- What a client may receive (`--scopes`, space-separated). NULL: registered before v3, when
-- every client could get every scope; they keep that. `allow_no_pkce`: a confidential client
-- registered with `--allow-no-pkce` (every other client must send PKCE S256).
ALTER TABLE oidc_clients ADD COLUMN scopes TEXT;
ALTER TABLE oidc_clients ADD COLUMN allow_no_pkce BIGINT NOT NULL DEFAULT 0;

-- `prompt=login` and `max_age`: the server's own record that a login was asked for. The
-- authorization request that sends the browser to log in again stores when (keyed by the
-- SHA-256 of a 256-bit token carried through the login); only a session made after that
-- counts as the new login. Nothing in the request itself can mark a login fresh.
CREATE TABLE oidc_login_requests (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Activity older than `--activity-retention-days` is purged (OWASP ASVS 4.0.3 8.3.8).
CREATE INDEX events_at ON events (at);
