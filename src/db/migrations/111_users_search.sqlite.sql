-- Owner: users. Tables: users_fts (and its triggers on users). Predates the ranges.
-- Handle / display-name search on SQLite: an FTS5 index kept in step by triggers.
-- Prefix queries ("ann*") use the prefix index; deleted users are not indexed.
CREATE VIRTUAL TABLE users_fts USING fts5(handle, display_name, content='', prefix='2 3');
CREATE TRIGGER users_fts_ai AFTER INSERT ON users WHEN new.deleted_at IS NULL BEGIN
  INSERT INTO users_fts(rowid, handle, display_name)
  VALUES (new.id, coalesce(new.handle, ''), new.display_name);
END;
CREATE TRIGGER users_fts_au AFTER UPDATE OF handle, display_name, deleted_at ON users BEGIN
  INSERT INTO users_fts(users_fts, rowid, handle, display_name)
  SELECT 'delete', old.id, coalesce(old.handle, ''), old.display_name WHERE old.deleted_at IS NULL;
  INSERT INTO users_fts(rowid, handle, display_name)
  SELECT new.id, coalesce(new.handle, ''), new.display_name WHERE new.deleted_at IS NULL;
END;
CREATE TRIGGER users_fts_ad AFTER DELETE ON users WHEN old.deleted_at IS NULL BEGIN
  INSERT INTO users_fts(users_fts, rowid, handle, display_name)
  VALUES ('delete', old.id, coalesce(old.handle, ''), old.display_name);
END;
