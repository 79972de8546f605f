-- Owner: users (src/services/users/suspend.c). Tables: users. Account suspension by an
-- admin (POST /v1/admin/users/:id/suspend): suspended_at is set while the account is
-- suspended; suspended_until is when it ends by itself, NULL until an admin lifts it.
-- Auth reads both through users_account (services/users/users.h) and refuses sign-in.
ALTER TABLE users ADD COLUMN suspended_at BIGINT;
ALTER TABLE users ADD COLUMN suspended_until BIGINT;
