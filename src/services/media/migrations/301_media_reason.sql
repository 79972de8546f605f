-- Owner: media. A failed media says why in a machine-readable code next to the human
-- `error` (issue 17 follow-up): verification_failed (confirm: size or magic bytes),
-- image_refused (the pipeline: not decodable, truncated, over a limit), file_changed
-- (the original vanished or grew after confirm), processing_failed (the image job's last
-- retry failed: the store stayed down). NULL on rows that never failed.
ALTER TABLE media ADD COLUMN reason TEXT;
