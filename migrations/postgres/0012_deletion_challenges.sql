-- A challenge made to confirm deleting one's own account (DELETE /api/v1/me,
-- /settings/account) is that and nothing else: no login or recovery takes it, and the
-- deletion takes no other challenge.
ALTER TABLE challenges ADD COLUMN for_deletion BIGINT NOT NULL DEFAULT 0;
