/* bench/streams.c: GET /v1/streams?limit=&cursor= exactly as the peer serves it: 1000
 * streams from the same seeded generator, sorted by viewer_count, cursor = base64url of
 * the offset. Each item is rendered to JSON once at start (the data never changes), and
 * a page is assembled per request on the io loop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "apps/bench/bench.h"

#define STREAMS 1000

typedef struct item { int id, host, viewers; char *json; size_t len; } item;
static item items[STREAMS];

/* The peer's generator (a 32-bit mix over a Weyl sequence), bit for bit. */
static uint32_t state;
static double rnd(void) {
  state += 0x6d2b79f5u;
  uint32_t t = state;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

static int by_viewers(const void *a, const void *b) {
  const item *x = a, *y = b;
  if (x->viewers != y->viewers) return y->viewers - x->viewers;
  return x->id - y->id;
}

static void generate(void) {
  static const char *cats[] = { "fashion", "beauty", "gaming", "music", "cooking", "tech", "fitness", "art" };
  static const char *topics[] = { "spring drop", "live unboxing", "Q&A", "flash sale", "studio session",
                                  "tutorial", "auction night", "behind the scenes" };
  state = 20240601u;
  const int64_t base = 1735732800000LL; /* 2025-01-01T12:00:00.000Z */
  for (int i = 1; i <= STREAMS; i++) {
    item *it = &items[i - 1];
    it->id = i;
    it->host = 1 + (int)(rnd() * 400);
    const char *cat = cats[(int)(rnd() * 8)];
    const char *topic = topics[(int)(rnd() * 8)];
    it->viewers = (int)(rnd() * 50000);
    int64_t started = base - (int64_t)(rnd() * 6 * 3600 * 1000);
    char when[32];
    vz_format_time(when, started);
    char buf[512];
    int len = snprintf(buf, sizeof buf,
                       "{\"id\":\"str_%06d\",\"title\":\"%c%s %s #%d\",\"host\":{\"id\":\"usr_%06d\",\"name\":\"Creator %d\"},"
                       "\"category\":\"%s\",\"viewer_count\":%d,\"started_at\":\"%s\","
                       "\"thumbnail_url\":\"https://cdn.example.com/thumbs/str_%06d.jpg\"}",
                       i, cat[0] - 32, cat + 1, topic, i, it->host, it->host, cat, it->viewers, when, i);
    it->json = strndup(buf, (size_t)len);
    it->len = (size_t)len;
  }
  qsort(items, STREAMS, sizeof items[0], by_viewers);
}

static int streams_page(vz_req *req) {
  int limit = vz_req_limit(req);
  long offset = 0;
  const char *cursor = vz_req_query(req, "cursor");
  if (cursor) {
    const char *plain = vz_cursor_decode_or_fail(req, cursor);
    char *end;
    if (!plain) return 400;
    offset = strtol(plain, &end, 10);
    if (*end || offset < 0 || offset > STREAMS || strlen(plain) > 9)
      return vz_fail(req, 400, "bad_request", "cursor", "invalid cursor");
  }
  long stop = offset + limit < STREAMS ? offset + limit : STREAMS;
  size_t cap = 64;
  for (long i = offset; i < stop; i++) cap += items[i].len + 1;
  char *body = malloc(cap), *p = body;
  if (!body) return vz_fail(req, 503, "unavailable", NULL, "out of memory");
  memcpy(p, "{\"data\":[", 9);
  p += 9;
  for (long i = offset; i < stop; i++) {
    if (i > offset) *p++ = ',';
    memcpy(p, items[i].json, items[i].len);
    p += items[i].len;
  }
  if (stop < STREAMS) {
    char off[16];
    snprintf(off, sizeof off, "%ld", stop);
    p += snprintf(p, (size_t)(body + cap - p), "],\"next_cursor\":\"%s\"}", vz_cursor_encode(req->arena, off));
  } else {
    p += snprintf(p, (size_t)(body + cap - p), "],\"next_cursor\":null}");
  }
  vz_reply_empty(req, 200);
  req->res_body = body;
  req->res_len = (size_t)(p - body);
  req->res_type = "application/json";
  return 200;
}

vz_route bench_routes[] = {
  /* from memory: the loop's own speed; a benchmark fixture, not the API */
  VZ_GET("/v1/streams", streams_page, .flags = VZ_ON_LOOP | VZ_NO_LOG | VZ_UNLISTED),
  { 0 },
};

static void free_items(void) {
  for (int i = 0; i < STREAMS; i++) free(items[i].json);
}

int bench_init(void) {
  generate();
  atexit(free_items);
  return 0;
}
