-- Owner: users (src/services/users/). Tables: follows, blocks, device_tokens,
-- seller_applications. In auth's range because it predates the per-service ranges.
-- Social graph, devices and seller applications (issue #4).
CREATE TABLE follows (
  follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows(followee_id, created_at);
CREATE INDEX follows_follower ON follows(follower_id, created_at);

CREATE TABLE blocks (
  blocker_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  blocked_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks(blocked_id);

CREATE TABLE device_tokens (
  id         BIGINT PRIMARY KEY,
  user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  platform   TEXT NOT NULL,                    -- fcm | apns | web
  token      TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX device_tokens_user ON device_tokens(user_id);

CREATE TABLE seller_applications (
  id            BIGINT PRIMARY KEY,
  user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  business_name TEXT NOT NULL,
  business_type TEXT NOT NULL,                 -- individual | company
  tax_id        TEXT,
  country       TEXT NOT NULL,                 -- ISO 3166-1 alpha-2
  address       TEXT NOT NULL DEFAULT '',
  phone         TEXT,
  website       TEXT,
  description   TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL DEFAULT 'pending', -- pending | approved | rejected
  reviewer_id   BIGINT,
  review_note   TEXT,
  created_at    BIGINT NOT NULL,
  reviewed_at   BIGINT
);
CREATE INDEX seller_applications_user ON seller_applications(user_id, id);
CREATE INDEX seller_applications_status ON seller_applications(status, id);
