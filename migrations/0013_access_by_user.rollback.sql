DROP INDEX users_view_role_since_idx;
ALTER TABLE users_view DROP COLUMN role_since;
DROP INDEX revoked_access_tokens_user_idx;
ALTER TABLE revoked_access_tokens DROP COLUMN user_id;
