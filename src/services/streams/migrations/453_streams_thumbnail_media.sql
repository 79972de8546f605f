-- Owner: streams (src/services/streams/). Tables: streams (thumbnail_media_id).
-- The chosen thumbnail is a media the host uploaded for purpose stream_thumbnail and the
-- stream claimed (media.h media_claim); thumbnail_key (450) is no longer written.
ALTER TABLE streams ADD COLUMN thumbnail_media_id BIGINT;
