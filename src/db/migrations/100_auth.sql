-- Owners: users (src/services/users/) owns users; auth (src/services/auth/) owns
-- oauth_identities, refresh_tokens, otp_codes, auth_failures. The users table was made
-- here, in auth's range, before the ranges existed; auth changes its sign-in columns
-- (password_hash, totp_*, email_verified, phone) only through services/users/users.h.
-- Accounts and everything sign-in needs (issue #4). Times are unix ms, ids from db_id_new.
CREATE TABLE users (
  id              BIGINT PRIMARY KEY,
  email           TEXT,
  email_lower     TEXT UNIQUE,
  email_verified  INTEGER NOT NULL DEFAULT 0,
  phone           TEXT UNIQUE,
  phone_verified  INTEGER NOT NULL DEFAULT 0,
  password_hash   TEXT,
  role            TEXT NOT NULL DEFAULT 'user',  -- user | seller | moderator | admin
  handle          TEXT,
  handle_lower    TEXT UNIQUE,
  display_name    TEXT NOT NULL DEFAULT '',
  bio             TEXT NOT NULL DEFAULT '',
  avatar_key      TEXT,
  links           TEXT NOT NULL DEFAULT '[]',    -- JSON array of {"label","url"}
  totp_secret     TEXT,
  totp_enabled    INTEGER NOT NULL DEFAULT 0,
  totp_last_step  BIGINT NOT NULL DEFAULT 0,
  followers_count BIGINT NOT NULL DEFAULT 0,
  following_count BIGINT NOT NULL DEFAULT 0,
  deleted_at      BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX users_display_name ON users(display_name);

-- Sign-in with Google / Apple: one row per (provider, subject).
CREATE TABLE oauth_identities (
  provider   TEXT NOT NULL,
  subject    TEXT NOT NULL,
  user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email      TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth_identities_user ON oauth_identities(user_id);

-- Rotating refresh tokens; a family is one signed-in device.
CREATE TABLE refresh_tokens (
  id           BIGINT PRIMARY KEY,
  user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  family_id    BIGINT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,           -- hex SHA-256 of the token
  parent_id    BIGINT,
  device       TEXT,
  user_agent   TEXT,
  ip           TEXT,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  revoked_at   BIGINT,
  replaced_by  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id, family_id);

-- One-time codes: only keyed hashes are stored.
CREATE TABLE otp_codes (
  id          BIGINT PRIMARY KEY,
  purpose     TEXT NOT NULL,                   -- signin | verify_email | reset_password | verify_phone
  channel     TEXT NOT NULL,                   -- email | sms
  destination TEXT NOT NULL,                   -- lower-cased email or E.164 phone
  code_hash   TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  ip          TEXT,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  consumed_at BIGINT
);
CREATE INDEX otp_codes_dest ON otp_codes(destination, purpose, created_at);
CREATE INDEX otp_codes_ip ON otp_codes(ip, created_at);

-- Failed sign-ins, counted per account key and per IP for rate limiting.
CREATE TABLE auth_failures (
  id         BIGINT PRIMARY KEY,
  kind       TEXT NOT NULL,                    -- signin | reset | otp | totp
  key        TEXT NOT NULL,                    -- lower-cased email / destination
  ip         TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX auth_failures_key ON auth_failures(kind, key, created_at);
CREATE INDEX auth_failures_ip ON auth_failures(kind, ip, created_at);
