-- Owner: users (src/services/users/routes.c). Tables: users. The avatar as a media (issue
-- 17's upload-and-claim flow: PATCH /v1/me {avatar_upload_id}): the id media_claim
-- returned, NULL when the avatar is the legacy file of PUT /v1/me/avatar (avatar_key) or
-- there is none. At most one of the two is set.
ALTER TABLE users ADD COLUMN avatar_media_id BIGINT;
