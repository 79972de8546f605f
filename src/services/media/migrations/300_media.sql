-- Owner: media (src/services/media/). Tables: media, media_migration.
-- Uploads and what they became (issue 17). One row per upload: the client PUTs to
-- upload_key, confirms, the image job writes the variants and sets state ready. Other
-- services keep media ids (media_claim); only media writes these rows.
CREATE TABLE media (
  id            BIGINT PRIMARY KEY,
  owner_id      BIGINT NOT NULL,
  purpose       TEXT NOT NULL,
  -- pending (waiting for the bytes) | processing (confirmed, job queued) | ready | failed
  -- | expired (never confirmed) | released (its holder let go; objects deleted by a job)
  state         TEXT NOT NULL,
  private       INTEGER NOT NULL DEFAULT 0,
  declared_type TEXT NOT NULL,
  declared_size BIGINT NOT NULL,
  token_hash    TEXT,            -- local one-time upload URL: hex SHA-256 of its token
  upload_key    TEXT NOT NULL,   -- the original as uploaded (deleted once processed)
  content_type  TEXT,            -- by magic bytes, at confirm
  object_key    TEXT,            -- non-image media: the stored object
  size          BIGINT,
  width         INTEGER,
  height        INTEGER,
  color         TEXT,            -- placeholder, #rrggbb
  variants      TEXT,            -- JSON [{"size":160,"webp":key,"jpeg":key},...]
  error         TEXT,
  claimed_ref   TEXT,
  claimed_at    BIGINT,
  expires_at    BIGINT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE INDEX media_owner ON media(owner_id, id);
CREATE INDEX media_state ON media(state, expires_at);

-- `vidzo media migrate --to s3`: one row per object copied, so a second run resumes.
CREATE TABLE media_migration (
  object_key TEXT NOT NULL,
  target     TEXT NOT NULL,
  size       BIGINT NOT NULL,
  copied_at  BIGINT NOT NULL,
  PRIMARY KEY (object_key, target)
);
