-- The per-request check of an access token asks about its user: is this token revoked, is its role still the
-- user's. Revocations name their user (so one user's record can be loaded at once), and users_view says when
-- each user's role last changed (tokens issued before are refused).
-- depends: 0012_audit_tree

ALTER TABLE revoked_access_tokens ADD COLUMN user_id uuid;
CREATE INDEX revoked_access_tokens_user_idx ON revoked_access_tokens (user_id, expires_at);

ALTER TABLE users_view ADD COLUMN role_since timestamptz;
-- Until now a role change (UserRoleChanged) was the only event of a user after registering: the latest event's
-- time is the role's. (`taskflow projections rebuild users_view` computes the same from the log.)
UPDATE users_view SET role_since = updated_at WHERE version > 1;
-- The upkeep loop republishes the role changes of the last day (a publication Redis may have missed).
CREATE INDEX users_view_role_since_idx ON users_view (role_since) WHERE role_since IS NOT NULL;
