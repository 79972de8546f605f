/* streams/hooks.c: nginx-rtmp's HTTP notifications, answered by vidzo (ingest.c writes
 * the URLs into nginx's config, with a secret generated at each start).
 *   on_publish       name = the ingest key. A good key of a stream that may go live: 302
 *                    with Location: rtmp://127.0.0.1:PORT/origin/<stream id>, which
 *                    nginx-rtmp turns into a relay of the stream to the origin app under
 *                    its id, where HLS, recordings and thumbnails are made: the key never
 *                    appears in a URL. (A plain local rename, Location: <id>, is not honoured
 *                    by Debian's module 1.2.2 for HLS: the directory kept the key's name.)
 *                    Anything else: 403 / 409 (publish refused).
 *   on_publish_done  the publisher left: the session waits for the reconnect grace.
 *   on_update        every 5 s while publishing (name = the key), for the encoder and for
 *                    the relay: 403 disconnects them when the key was rotated or the
 *                    stream ended.
 * The bodies are application/x-www-form-urlencoded (call, app, name, clientid, addr...). */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/respcache.h"
#include "db/db.h"
#include "services/streams/internal.h"

static int hexval(int c) { return isdigit(c) ? c - '0' : (tolower(c) >= 'a' && tolower(c) <= 'f') ? tolower(c) - 'a' + 10 : -1; }

int streams_form_get(const char *body, size_t len, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  const char *p = body, *end = body + len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *e = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(e - p));
    if (eq && (size_t)(eq - p) == nl && !memcmp(p, name, nl)) {
      size_t o = 0;
      for (const char *q = eq + 1; q < e; q++) {
        int c = (unsigned char)*q;
        if (c == '+') c = ' ';
        else if (c == '%') {
          if (e - q < 3 || hexval(q[1]) < 0 || hexval(q[2]) < 0) return -1;
          c = hexval(q[1]) * 16 + hexval(q[2]);
          q += 2;
        }
        if (c == 0 || o + 1 >= cap) return -1; /* no NUL inside, and it must fit */
        out[o++] = (char)c;
      }
      out[o] = 0;
      return 0;
    }
    p = e + 1;
  }
  return -1;
}

/* The secret nginx was given, compared in constant time; 404 to anyone else, as if the
 * endpoint did not exist. */
static int nginx_or_fail(vz_req *req) {
  const char *s = vz_req_query(req, "secret");
  size_t want = strlen(streams_conf.hook_secret);
  if (want && s && strlen(s) == want && sodium_memcmp(s, streams_conf.hook_secret, want) == 0) return 0;
  return vz_fail(req, 404, "not_found", NULL, "no such endpoint");
}

typedef struct hook_ctx {
  vz_req *req;
  int64_t id;
  char client[64];
  int rc, resumed;
} hook_ctx;

static int publish_tx(vz_db *db, void *arg) {
  hook_ctx *h = arg;
  h->rc = streams_go_live(db, h->id, "rtmp", h->client, &h->resumed);
  return h->rc == STREAMS_ECONFLICT || h->rc == STREAMS_ENOTFOUND ? 0 : h->rc;
}

int streams_h_publish(vz_req *req) {
  if (nginx_or_fail(req)) return req->status;
  hook_ctx h = { .req = req };
  char key[128], app[32];
  if (streams_form_get(req->body, req->body_len, "name", key, sizeof key) ||
      streams_form_get(req->body, req->body_len, "clientid", h.client, sizeof h.client) ||
      streams_form_get(req->body, req->body_len, "app", app, sizeof app) || strcmp(app, "live"))
    return vz_fail(req, 400, "invalid_argument", "name", "publish needs app=live, name and clientid");
  /* only a key goes live: publishing to the id itself would skip the key */
  int rc = streams_by_key(req->db, key, &h.id);
  if (rc == STREAMS_ENOTFOUND) {
    vz_log_warn("rtmp publish refused: unknown or rotated key", "client", h.client);
    return vz_fail(req, 403, "forbidden", "name", "unknown stream key");
  }
  if (rc < 0) return vz_fail_db(req, rc);
  if (vz_tx_or_fail(req, publish_tx, &h) < 0) return req->status;
  if (h.rc == STREAMS_ECONFLICT) {
    vz_log_warn("rtmp publish refused: stream not in a state to go live, or another publisher", "client", h.client);
    return vz_fail(req, 409, "conflict", "name", "the stream cannot go live now");
  }
  vz_cache_bump("streams");
  char loc[96];
  snprintf(loc, sizeof loc, "rtmp://127.0.0.1:%d/origin/%lld", streams_conf.rtmp_port, (long long)h.id);
  vz_add_header(req, "Location", loc);
  return vz_reply_empty(req, 302);
}

static int done_tx(vz_db *db, void *arg) {
  hook_ctx *h = arg;
  return streams_publisher_gone(db, h->id, h->client);
}

int streams_h_publish_done(vz_req *req) {
  if (nginx_or_fail(req)) return req->status;
  hook_ctx h = { .req = req };
  char name[128];
  if (streams_form_get(req->body, req->body_len, "name", name, sizeof name) ||
      streams_form_get(req->body, req->body_len, "clientid", h.client, sizeof h.client))
    return vz_fail(req, 400, "invalid_argument", "name", "publish_done needs name and clientid");
  /* A rotated key no longer finds its stream: the grace job never comes and the stream
   * stays live without a publisher until the host ends it or publishes with the new key.
   * So the session is found by the client id, which nginx gives every connection. */
  int rc = streams_by_key(req->db, name, &h.id);
  if (rc == STREAMS_ENOTFOUND) rc = streams_by_client(req->db, h.client, &h.id);
  if (rc == STREAMS_ENOTFOUND) return vz_reply_empty(req, 200); /* a refused publish ends too */
  if (rc < 0) return vz_fail_db(req, rc);
  if (vz_tx_or_fail(req, done_tx, &h) < 0) return req->status;
  return vz_reply_empty(req, 200);
}

/* Asked for the encoder's connection and for the relay nginx made from it (both carry
 * the key as their name): the key must still be the stream's and the stream still live. */
int streams_h_update(vz_req *req) {
  if (nginx_or_fail(req)) return req->status;
  char name[128];
  if (streams_form_get(req->body, req->body_len, "name", name, sizeof name))
    return vz_fail(req, 400, "invalid_argument", "name", "update needs name");
  int64_t id;
  int rc = streams_by_key(req->db, name, &id); /* a rotated key no longer finds it */
  if (rc == STREAMS_ENOTFOUND) return vz_fail(req, 403, "forbidden", "name", "unknown stream key");
  if (rc < 0) return vz_fail_db(req, rc);
  vz_stmt *st = NULL;
  rc = db_run(req->db, &st, "SELECT 1 FROM streams WHERE id = $1 AND status = 'live'", "i", id);
  db_finalize(st);
  if (rc < 0) return vz_fail_db(req, rc);
  if (rc != DB_ROW) return vz_fail(req, 403, "forbidden", "name", "the stream is not live");
  return vz_reply_empty(req, 200);
}
