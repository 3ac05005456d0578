-- The operator console (issue 25): admins, the audit trail, groups and invitations.
--
-- `admin_since`: when `twofold user grant-admin` made the account an admin (NULL: not one).
ALTER TABLE accounts ADD COLUMN admin_since BIGINT;
CREATE INDEX accounts_admin ON accounts (admin_since) WHERE admin_since IS NOT NULL;

-- Every admin and operator action, from the console and the CLI: who (`actor`, an admin's
-- username or the OS user behind the CLI), when, from where, what (`action`, a fixed word),
-- to whom or what (`target`) and why. Kept under the activity retention rule.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    via         TEXT NOT NULL CHECK (via IN ('console', 'cli')),
    ip          TEXT,
    user_agent  TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    reason      TEXT
);
CREATE INDEX audit_at ON audit (at);

-- Groups for apps (the `groups` claim) and forward authentication (`group:NAME`).
CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups (name);

CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account ON group_members (account_id);

-- Invitations (`--sign-up invite`): only the SHA-256 of the link's 256-bit token is kept;
-- used once by a conditional UPDATE in the sign-up's transaction.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL,
    email_key   TEXT,
    group_id    TEXT REFERENCES groups (id) ON DELETE SET NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    used_by     TEXT
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
