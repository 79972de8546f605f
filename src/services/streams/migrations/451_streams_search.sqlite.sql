-- Owner: streams. Tables: streams_fts (and its triggers on streams).
-- Title and tag search on SQLite: an FTS5 index kept in step by triggers (every status:
-- the feed query filters). Prefix queries ("gui*") use the prefix index.
CREATE VIRTUAL TABLE streams_fts USING fts5(title, tags, content='', prefix='2 3');
CREATE TRIGGER streams_fts_ai AFTER INSERT ON streams BEGIN
  INSERT INTO streams_fts(rowid, title, tags) VALUES (new.id, new.title, new.tags_text);
END;
CREATE TRIGGER streams_fts_au AFTER UPDATE OF title, tags_text ON streams BEGIN
  INSERT INTO streams_fts(streams_fts, rowid, title, tags) VALUES ('delete', old.id, old.title, old.tags_text);
  INSERT INTO streams_fts(rowid, title, tags) VALUES (new.id, new.title, new.tags_text);
END;
CREATE TRIGGER streams_fts_ad AFTER DELETE ON streams BEGIN
  INSERT INTO streams_fts(streams_fts, rowid, title, tags) VALUES ('delete', old.id, old.title, old.tags_text);
END;
