/* otp.c: the pure half of one-time codes (generation, hashing, the per-guess decision)
 * and the senders. The database half is otp_store.c. Codes are hashed with a server key
 * so a leaked table does not give away live codes: a plain hash of 10^6 values would be
 * reversed instantly. */
#include "services/auth/otp.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"

static unsigned char otp_key[32];
static otp_sender sender;

void otp_set_key(const unsigned char key[32]) { memcpy(otp_key, key, sizeof otp_key); }
void otp_set_sender(const otp_sender *s) {
  if (s) sender = *s;
}

void otp_new_code(char out[OTP_DIGITS + 1]) {
  if (sodium_init() < 0) { /* cannot happen after start-up; never hand out a fixed code */
    out[0] = 0;
    return;
  }
  snprintf(out, OTP_DIGITS + 1, "%06u", (unsigned)randombytes_uniform(1000000));
}

void otp_hash(const char *purpose, const char *dest, const char *code, char out[OTP_HASH_HEX]) {
  crypto_generichash_state st;
  unsigned char h[32];
  crypto_generichash_init(&st, otp_key, sizeof otp_key, sizeof h);
  crypto_generichash_update(&st, (const unsigned char *)purpose, strlen(purpose) + 1);
  crypto_generichash_update(&st, (const unsigned char *)dest, strlen(dest) + 1);
  crypto_generichash_update(&st, (const unsigned char *)code, strlen(code));
  crypto_generichash_final(&st, h, sizeof h);
  sodium_bin2hex(out, OTP_HASH_HEX, h, sizeof h);
}

static int code_shape_ok(const char *code) {
  if (!code || strlen(code) != OTP_DIGITS) return 0;
  for (int i = 0; i < OTP_DIGITS; i++)
    if (code[i] < '0' || code[i] > '9') return 0;
  return 1;
}

int otp_check(const otp_row *row, const char *purpose, const char *dest, const char *code,
              int64_t now_ms) {
  char h[OTP_HASH_HEX];
  if (!row || row->consumed_at) return OTP_ENONE;
  if (now_ms >= row->expires_at) return OTP_EEXPIRED;
  if (row->attempts >= OTP_MAX_ATTEMPTS) return OTP_ELOCKED;
  if (!code_shape_ok(code)) return OTP_EMISMATCH;
  otp_hash(purpose, dest, code, h);
  return sodium_memcmp(h, row->hash, OTP_HASH_HEX - 1) == 0 ? OTP_OK : OTP_EMISMATCH;
}

const char *otp_strerror(int err) {
  switch (err) {
    case OTP_OK: return "ok";
    case OTP_EMISMATCH: return "the code is not correct";
    case OTP_EEXPIRED: return "the code has expired; ask for a new one";
    case OTP_ELOCKED: return "too many wrong attempts; ask for a new code";
    case OTP_ENONE: return "no code is pending; ask for a new one";
    case OTP_ECOOLDOWN: return "a code was sent moments ago; wait a minute before asking again";
    case OTP_ERATE: return "too many codes requested; try again later";
    case OTP_EIPRATE: return "too many codes requested from this network; try again later";
    case OTP_ESEND: return "the code could not be sent; try again shortly";
    default: return "temporarily unavailable";
  }
}

int otp_send(const char *channel, const char *dest, const char *purpose, const char *code) {
  if (!sender.send) return 0; /* none set (unit tests): the code is simply not sent */
  return sender.send(sender.ctx, channel, dest, purpose, code);
}

/* ---- log sender: DATA_DIR/outbox, until a mail/SMS sender exists --------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_path[1024], sms_path[1100];

static int log_send(void *ctx, const char *channel, const char *dest, const char *purpose,
                    const char *code) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I}", "channel", channel, "to", dest, "purpose",
                        purpose, "code", code,
                        "at", (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  /* vz_json_dumps, not json_dumps: after a failed allocation jansson can drop a key and
   * still return text, and a line without its code would count as sent */
  char *line = j ? vz_json_dumps(j, NULL) : NULL;
  int rc = -1;
  json_decref(j);
  if (!line) return -1;
  pthread_mutex_lock(&log_mu);
  /* SMS goes to its own file beside the email one, as a phone and a mailbox differ; the
   * files hold live codes, so only the server's user may read them */
  int fd = open(strcmp(channel, "sms") == 0 ? sms_path : log_path,
                O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
  if (!f && fd >= 0) close(fd);
  if (f) {
    rc = fprintf(f, "%s\n", line) > 0 ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
  }
  pthread_mutex_unlock(&log_mu);
  free(line);
  return rc;
}

int otp_log_sender_init(const char *path) {
  if (!path || strlen(path) >= sizeof log_path) return -1;
  snprintf(log_path, sizeof log_path, "%s", path);
  const char *slash = strrchr(path, '/');
  snprintf(sms_path, sizeof sms_path, "%.*ssms.jsonl", slash ? (int)(slash - path + 1) : 0, path);
  otp_sender s = {log_send, NULL};
  otp_set_sender(&s);
  return 0;
}
