-- Owner: users. Tables: seller_applications, device_tokens. Predates the ranges.
-- Seller applications carry the legal name; one pending application per user is enforced
-- by the database (a partial unique index), so two concurrent submissions cannot both win.
ALTER TABLE seller_applications ADD COLUMN legal_name TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX seller_applications_one_pending ON seller_applications(user_id) WHERE status = 'pending';
-- Push device tokens: platform is ios | android | web.
CREATE INDEX device_tokens_user_id ON device_tokens(user_id, id);
