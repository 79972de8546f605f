/* media/service.c: the media service's descriptor (core/service.h). The directory is
 * made at start, so `vidzo routes` and the fuzzers write nothing. */
#include "core/service.h"
#include "services/media/media.h"

extern vz_route media_routes[];
extern const vz_subscription media_on[]; /* on_user.c */

static int media_start(void) { return media_open(vz_cfg.data_dir); }

const vz_service media_service = { .name = "media", .about = "Stored files: images and other media", .routes = media_routes, .on = media_on, .start = media_start };
