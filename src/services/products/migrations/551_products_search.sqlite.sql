-- Owner: products. Tables: products_fts (and its triggers on products).
-- Title / description / tags search on SQLite: a contentless FTS5 index kept in step by
-- triggers; words match as prefixes (the prefix index serves 2 and 3 letters).
CREATE VIRTUAL TABLE products_fts USING fts5(title, description, tags, content='', prefix='2 3');
CREATE TRIGGER products_fts_ai AFTER INSERT ON products BEGIN
  INSERT INTO products_fts(rowid, title, description, tags) VALUES (new.id, new.title, new.description, new.tags);
END;
CREATE TRIGGER products_fts_au AFTER UPDATE OF title, description, tags ON products BEGIN
  INSERT INTO products_fts(products_fts, rowid, title, description, tags)
  VALUES ('delete', old.id, old.title, old.description, old.tags);
  INSERT INTO products_fts(rowid, title, description, tags) VALUES (new.id, new.title, new.description, new.tags);
END;
CREATE TRIGGER products_fts_ad AFTER DELETE ON products BEGIN
  INSERT INTO products_fts(products_fts, rowid, title, description, tags)
  VALUES ('delete', old.id, old.title, old.description, old.tags);
END;
