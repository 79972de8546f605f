-- Owner: auth. Tables: refresh_tokens (an index).
-- At start, each instance loads the sessions revoked within one access-token lifetime
-- (services/auth/denylist.c): a partial index keeps that a range read.
CREATE INDEX refresh_tokens_revoked ON refresh_tokens(revoked_at) WHERE revoked_at IS NOT NULL;
