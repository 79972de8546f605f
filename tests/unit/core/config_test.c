/* config: flags and VIDZO_* env set every setting; anything unknown or out of range is
 * refused with a message that names the flag or variable, so the CLI can exit 2. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "core/config.h"
#include "../test.h"

static int load(vz_config *c, char *err, size_t n, int argc, ...) {
  char *argv[16];
  va_list ap;
  va_start(ap, argc);
  for (int i = 0; i < argc; i++) argv[i] = va_arg(ap, char *);
  va_end(ap);
  vz_config_defaults(c);
  err[0] = 0;
  return vz_config_load(c, argc, argv, err, n);
}

static void clear_env(void) {
  const char *v[] = { "VIDZO_PORT", "VIDZO_DB", "VIDZO_THREADS", "VIDZO_WORKERS", "VIDZO_MAX_BODY", "VIDZO_DATA_DIR",
    "VIDZO_LOG_LEVEL", "VIDZO_DEV", NULL };
  for (int i = 0; v[i]; i++) unsetenv(v[i]);
}

TEST(config_defaults_and_flags) {
  clear_env();
  vz_config c;
  char err[256];
  CHECK_EQ_INT(load(&c, err, sizeof err, 0), 0);
  CHECK_EQ_INT(c.port, 8080);
  CHECK_EQ_INT(c.max_body, 1 << 20);
  CHECK_EQ_INT(c.max_header, 16384);
  CHECK_EQ_STR(c.db_url, "sqlite:./data/vidzo.db");
  CHECK_EQ_INT(load(&c, err, sizeof err, 6, "--port", "9000", "--threads=3", "--dev", "--data-dir", "/tmp/x"), 0);
  CHECK_EQ_INT(c.port, 9000);
  CHECK_EQ_INT(c.threads, 3);
  CHECK_EQ_INT(c.workers, 12);
  CHECK_EQ_INT(c.dev, 1);
  CHECK_EQ_STR(c.db_url, "sqlite:/tmp/x/vidzo.db");
  setenv("VIDZO_PORT", "7000", 1);
  CHECK_EQ_INT(load(&c, err, sizeof err, 0), 0);
  CHECK_EQ_INT(c.port, 7000);
  CHECK_EQ_INT(load(&c, err, sizeof err, 2, "--port", "7001"), 0);
  CHECK_EQ_INT(c.port, 7001); /* flags win over env */
  clear_env();
}

TEST(config_errors_name_the_setting) {
  clear_env();
  vz_config c;
  char err[256];
  CHECK(load(&c, err, sizeof err, 1, "--bogus") < 0);
  CHECK_EQ_STR(err, "unknown flag '--bogus' (see vidzo serve --help)");
  CHECK(load(&c, err, sizeof err, 2, "--port", "0") < 0);
  CHECK_EQ_STR(err, "--port: expected an integer from 1 to 65535, got '0'");
  CHECK(load(&c, err, sizeof err, 2, "--port", "abc") < 0);
  CHECK(strstr(err, "--port"));
  CHECK(load(&c, err, sizeof err, 1, "--port=65536") < 0);
  CHECK(load(&c, err, sizeof err, 1, "--port=12 ") < 0);
  CHECK(load(&c, err, sizeof err, 1, "--port") < 0);
  CHECK_EQ_STR(err, "--port needs a value");
  CHECK(load(&c, err, sizeof err, 1, "--max-body=99999999999999999999999") < 0);
  CHECK(strstr(err, "--max-body"));
  CHECK(load(&c, err, sizeof err, 1, "--log-level=loud") < 0);
  CHECK(load(&c, err, sizeof err, 1, "--dev=2") < 0);
  CHECK(load(&c, err, sizeof err, 1, "serve") < 0);
  CHECK_EQ_STR(err, "unexpected argument 'serve'");
  CHECK(load(&c, err, sizeof err, 1, "--") < 0);
  CHECK(load(&c, err, sizeof err, 1, "--=5") < 0);
  char longv[400];
  memset(longv, 'a', sizeof longv - 1);
  longv[sizeof longv - 1] = 0;
  CHECK(load(&c, err, sizeof err, 2, "--data-dir", longv) < 0);
  CHECK(strstr(err, "--data-dir"));
  setenv("VIDZO_THREADS", "zero", 1);
  CHECK(load(&c, err, sizeof err, 0) < 0);
  CHECK(strstr(err, "VIDZO_THREADS"));
  clear_env();
}

/* --trust-proxy counts the proxies in front (their entries are the rightmost of
 * X-Forwarded-For); a bare flag or "true" keeps meaning one, as it did when it was a switch. */
TEST(config_trust_proxy_hops) {
  clear_env();
  unsetenv("VIDZO_TRUST_PROXY");
  vz_config c;
  char err[256];
  CHECK_EQ_INT(load(&c, err, sizeof err, 0), 0);
  CHECK_EQ_INT(c.trust_proxy, 0);
  CHECK_EQ_INT(load(&c, err, sizeof err, 1, "--trust-proxy"), 0);
  CHECK_EQ_INT(c.trust_proxy, 1);
  CHECK_EQ_INT(load(&c, err, sizeof err, 2, "--trust-proxy", "--dev"), 0);
  CHECK_EQ_INT(c.trust_proxy, 1);
  CHECK_EQ_INT(c.dev, 1);
  CHECK_EQ_INT(load(&c, err, sizeof err, 2, "--trust-proxy", "2"), 0);
  CHECK_EQ_INT(c.trust_proxy, 2);
  CHECK_EQ_INT(load(&c, err, sizeof err, 1, "--trust-proxy=false"), 0);
  CHECK_EQ_INT(c.trust_proxy, 0);
  CHECK(load(&c, err, sizeof err, 1, "--trust-proxy=99") < 0);
  CHECK(strstr(err, "--trust-proxy") != NULL);
  setenv("VIDZO_TRUST_PROXY", "true", 1);
  CHECK_EQ_INT(load(&c, err, sizeof err, 0), 0);
  CHECK_EQ_INT(c.trust_proxy, 1);
  unsetenv("VIDZO_TRUST_PROXY");
}
