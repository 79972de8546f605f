/* media/image.c: the image pipeline, libvips, in the media.image job (never on an io
 * loop or a request worker). Untrusted bytes are decoded here, so the order matters:
 *   1. magic bytes again (the object may have been replaced after confirm);
 *   2. the header only (vips loads lazily): width, height and their product against the
 *      limits before a single pixel is decoded, so a 20,000 x 20,000 PNG of a few KB
 *      (a decompression bomb) is refused without allocating 1.6 GB;
 *   3. one decode, shrunk on load to fit 1080 px (JPEG and WebP decode at 1/2, 1/4, 1/8
 *      directly), orientation applied (autorotate from the EXIF tag), then made
 *      concrete in memory (<= 1080 x 1080 x 4 bytes) with fail_on=truncated: a truncated
 *      JPEG fails here instead of yielding a grey half;
 *   4. the 480 and 160 variants from that, WebP and JPEG each, saved with strip: EXIF
 *      (GPS!), XMP and comments never reach an output;
 *   5. the placeholder colour: the average of the 160 px variant.
 * Untrusted loaders (ImageMagick, PDF, SVG...) are blocked process-wide at init, and the
 * operation cache is off (memory would otherwise grow with every distinct image). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

#include "core/log.h"
#include "services/media/internal.h"

static const int sizes[3] = { 1080, 480, 160 };

int media_image_init(void) {
  if (VIPS_INIT("vidzo")) return -1;
  vips_cache_set_max(0);
  vips_cache_set_max_mem(0);
  vips_concurrency_set(1); /* one job, one thread: job workers are the parallelism */
#if VIPS_MAJOR_VERSION > 8 || (VIPS_MAJOR_VERSION == 8 && VIPS_MINOR_VERSION >= 13)
  vips_block_untrusted_set(TRUE);
#endif
  return 0;
}

static void set_err(media_image_out *o, const char *why) {
  snprintf(o->error, sizeof o->error, "%s", why);
}

/* The variant key: content-hashed (sha256 of the media id and the bytes), so a new
 * version is a new URL and every URL can be cached forever; the id in the hash keeps
 * two users' identical pictures apart (releasing one never deletes the other's). */
static void variant_key(int64_t id, int private_, int size, const char *ext, const void *b, size_t n, char *out,
                        size_t cap) {
  crypto_hash_sha256_state c;
  unsigned char md[32];
  char hex[33];
  crypto_hash_sha256_init(&c);
  crypto_hash_sha256_update(&c, (const unsigned char *)&id, sizeof id);
  crypto_hash_sha256_update(&c, b, n);
  crypto_hash_sha256_final(&c, md);
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  snprintf(out, cap, "%s-%s-%d.%s", private_ ? "p" : "i", hex, size, ext);
}

/* Drops the EXIF, XMP and ICCP chunks of a WebP we just encoded (RIFF container:
 * "RIFF" size "WEBP", then chunks fourcc, size LE, data padded to even) and clears
 * their VP8X flags; the length shrinks in place. libvips 8.14 writes EXIF into WebP
 * even with strip set. Our own encoder's output, but bounds are checked all the same. */
size_t media_webp_strip(unsigned char *b, size_t n) {
  if (n < 30 || memcmp(b, "RIFF", 4) || memcmp(b + 8, "WEBPVP8X", 8)) return n;
  size_t in = 12, out = 12;
  while (in + 8 <= n) {
    size_t cl = (size_t)b[in + 4] | (size_t)b[in + 5] << 8 | (size_t)b[in + 6] << 16 | (size_t)b[in + 7] << 24;
    size_t whole = 8 + cl + (cl & 1);
    if (whole > n - in) return n; /* malformed: leave it as libvips made it */
    int drop = !memcmp(b + in, "EXIF", 4) || !memcmp(b + in, "XMP ", 4) || !memcmp(b + in, "ICCP", 4);
    if (!drop) {
      memmove(b + out, b + in, whole);
      out += whole;
    }
    in += whole;
  }
  b[20] &= (unsigned char)~(0x20 | 0x08 | 0x04); /* VP8X flags: ICC, EXIF, XMP */
  size_t riff = out - 8;
  b[4] = (unsigned char)riff, b[5] = (unsigned char)(riff >> 8), b[6] = (unsigned char)(riff >> 16),
  b[7] = (unsigned char)(riff >> 24);
  return out;
}

/* WebP and JPEG of im; JPEG has no alpha, so it is flattened on white first. */
static int encode(VipsImage *im, void **webp, size_t *wl, void **jpeg, size_t *jl) {
  VipsImage *flat = NULL;
  *webp = *jpeg = NULL;
  if (vips_webpsave_buffer(im, webp, wl, "Q", 80, "strip", TRUE, NULL)) return -1;
  *wl = media_webp_strip(*webp, *wl);
  VipsImage *src = im;
  if (vips_image_hasalpha(im)) {
    VipsArrayDouble *bg = vips_array_double_newv(3, 255.0, 255.0, 255.0);
    int rc = vips_flatten(im, &flat, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    if (rc) return -1;
    src = flat;
  }
  int rc = vips_jpegsave_buffer(src, jpeg, jl, "Q", 82, "strip", TRUE, "optimize_coding", TRUE, NULL);
  if (flat) g_object_unref(flat);
  return rc;
}

/* Drops every metadata field of im: EXIF (GPS), XMP, IPTC, ICC, comments. The savers'
 * "strip" is asked for too, but libvips 8.14's WebP saver still writes the EXIF block it
 * finds on the image, so nothing is left on the image to find. */
static void strip_meta(VipsImage *im) {
  gchar **f = vips_image_get_fields(im);
  for (int i = 0; f && f[i]; i++)
    if (!strncmp(f[i], "exif-", 5) || !strncmp(f[i], "xmp-", 4) || !strncmp(f[i], "iptc-", 5) ||
        !strncmp(f[i], "icc-", 4) || !strncmp(f[i], "png-comment", 11) || !strcmp(f[i], "orientation") ||
        !strncmp(f[i], "jpeg-", 5) || !strncmp(f[i], "gif-", 4))
      vips_image_remove(im, f[i]);
  g_strfreev(f);
}

typedef int (*sink_fn)(void *ctx, int size, const char *ext, const void *b, size_t n, char *key, size_t kcap);

/* The pipeline; sink stores each output (or, for the bench, counts it). */
static int run(const void *bytes, size_t len, media_image_out *out, sink_fn sink, void *sctx) {
  VipsImage *hdr = NULL, *big = NULL, *mem = NULL;
  int rc = MEDIA_EINVAL;
  memset(out, 0, sizeof *out);
  if (!media_sniff_image(bytes, len)) { set_err(out, "not a JPEG, PNG or WebP image"); return MEDIA_EINVAL; }
  if (!(hdr = vips_image_new_from_buffer(bytes, len, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL))) {
    set_err(out, "the image cannot be read");
    goto done;
  }
  int w = vips_image_get_width(hdr), h = vips_image_get_height(hdr);
  if (w <= 0 || h <= 0 || w > media_cfg.max_dimension || h > media_cfg.max_dimension) {
    set_err(out, "the image is too large (width or height)");
    goto done;
  }
  if ((int64_t)w * h > media_cfg.max_pixels) {
    set_err(out, "the image has too many pixels");
    goto done;
  }
  /* fail_on=truncated: a cut-off file is an error, not a partial picture */
  if (vips_thumbnail_buffer((void *)bytes, len, &big, sizes[0], "height", sizes[0], "size", VIPS_SIZE_DOWN,
                            "option_string", "fail_on=truncated", NULL) ||
      !(mem = vips_image_copy_memory(big))) {
    set_err(out, "the image is damaged or truncated");
    goto done;
  }
  strip_meta(mem);
  /* orientation: the thumbnail is upright; report the original's upright dimensions */
  int upright_w = w, upright_h = h;
  if (vips_image_get_orientation_swap(hdr)) upright_w = h, upright_h = w;
  out->width = upright_w, out->height = upright_h;
  int longest = vips_image_get_width(mem) > vips_image_get_height(mem) ? vips_image_get_width(mem)
                                                                      : vips_image_get_height(mem);
  for (int i = 0; i < 3; i++) {
    int s = sizes[i];
    /* sizes larger than the original are left out, but the smallest always exists */
    if (s > longest && !(i == 2 && out->nv == 0)) continue;
    VipsImage *v = NULL;
    if (s >= longest) {
      v = mem;
      g_object_ref(v);
    } else if (vips_thumbnail_image(mem, &v, s, "height", s, "size", VIPS_SIZE_DOWN, NULL)) {
      set_err(out, "the image could not be resized");
      goto done;
    }
    void *wb = NULL, *jb = NULL;
    size_t wl = 0, jl = 0;
    if (encode(v, &wb, &wl, &jb, &jl)) {
      g_free(wb), g_free(jb);
      g_object_unref(v);
      set_err(out, "the image could not be encoded");
      goto done;
    }
    media_variant *mv = &out->v[out->nv];
    mv->size = s;
    int e = sink(sctx, s, "webp", wb, wl, mv->webp, sizeof mv->webp);
    if (!e) e = sink(sctx, s, "jpg", jb, jl, mv->jpeg, sizeof mv->jpeg);
    g_free(wb), g_free(jb);
    if (e) { g_object_unref(v); rc = e; goto done; }
    out->nv++;
    if (i == 2) { /* the smallest: its average is the placeholder */
      double avg[4] = { 0 };
      for (int b = 0; b < 3 && b < v->Bands; b++) {
        VipsImage *band = NULL;
        if (!vips_extract_band(v, &band, b, NULL)) {
          vips_avg(band, &avg[b], NULL);
          g_object_unref(band);
        }
      }
      if (v->Bands < 3) avg[1] = avg[2] = avg[0];
      snprintf(out->color, sizeof out->color, "#%02x%02x%02x", (int)avg[0] & 255, (int)avg[1] & 255, (int)avg[2] & 255);
    }
    g_object_unref(v);
  }
  rc = 0;
done:
  if (mem) g_object_unref(mem);
  if (big) g_object_unref(big);
  if (hdr) g_object_unref(hdr);
  vips_error_clear();
  vips_thread_shutdown(); /* per-thread buffers of this job thread */
  return rc;
}

typedef struct store_ctx { int64_t id; int private_; } store_ctx;

static int store_sink(void *arg, int size, const char *ext, const void *b, size_t n, char *key, size_t kcap) {
  store_ctx *c = arg;
  variant_key(c->id, c->private_, size, ext, b, n, key, kcap);
  const char *type = !strcmp(ext, "webp") ? "image/webp" : "image/jpeg";
  int rc = media_store_get()->put(key, b, n, type, c->private_ ? "private, max-age=900" : "public, max-age=31536000, immutable");
  return rc == MEDIA_EUNAVAILABLE ? MEDIA_EUNAVAILABLE : rc ? MEDIA_EIO : 0;
}

int media_image_process(int64_t id, int private_, const void *bytes, size_t len, media_image_out *out) {
  store_ctx c = { id, private_ };
  return run(bytes, len, out, store_sink, &c);
}

static int count_sink(void *arg, int size, const char *ext, const void *b, size_t n, char *key, size_t kcap) {
  *(size_t *)arg += n;
  snprintf(key, kcap, "bench-%d.%s", size, ext);
  return 0;
}

int media_image_bench(const void *bytes, size_t len, size_t *out_bytes, char *err, size_t errlen) {
  media_image_out o;
  *out_bytes = 0;
  int rc = run(bytes, len, &o, count_sink, out_bytes);
  if (rc) snprintf(err, errlen, "%s", o.error);
  return rc;
}
