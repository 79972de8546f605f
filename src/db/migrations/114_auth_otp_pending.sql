-- Owner: auth. Tables: otp_codes.
-- A sign-up's password hash waits beside its verification code and becomes the account's
-- only when that code is verified (services/auth/handlers.c, auth_h_verify_email): a later
-- sign-up with the same unverified address gets its own code bound to its own password,
-- so nobody can choose the password a mailbox owner's code activates.
ALTER TABLE otp_codes ADD COLUMN pending_secret TEXT;
