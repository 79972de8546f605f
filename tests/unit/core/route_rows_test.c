/* Route rows and the role policy. A row written with the macros is the struct it says
 * (method, path, handler, named extras, zero elsewhere) and runs on the worker pool unless
 * it says VZ_ON_LOOP or VZ_ASYNC. Registration refuses, as a whole table and naming the
 * route in the log, VZ_AUDIT or VZ_IDEMPOTENT on a route that runs on the loop (their
 * request transaction exists only on the pool), and a row without a handler. One role
 * policy decides for every caller: no auth flag admits anyone; VZ_AUTH any signed-in role;
 * a role flag that role or admin, nobody else; an unknown role nothing that needs a role. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"
#include "core/http.h"
#include "core/log.h"

static int h_ok(vz_req *r) { (void)r; return 200; }
static const vz_field in[] = { { "n", VZ_INT, 0, 0, 9, 0 }, { 0 } };

TEST(route_macros_fill_the_row) {
  vz_route r = VZ_PATCH("/v1/x/:id", h_ok, .body = in, .flags = VZ_AUTH | VZ_RATE_USER, .rate_per_min = 20);
  CHECK_EQ_STR(r.method, "PATCH");
  CHECK_EQ_STR(r.path, "/v1/x/:id");
  CHECK(r.handler == h_ok);
  CHECK(r.body == in);
  CHECK_EQ_INT(r.flags, VZ_AUTH | VZ_RATE_USER);
  CHECK_EQ_INT(r.rate_per_min, 20);
  CHECK(r.query == NULL && r.max_body == 0 && r.cache_ms == 0 && r.cache_group == NULL);
  CHECK(vz_route_on_pool(&r));
  vz_route bare = VZ_GET("/v1/y", h_ok), any = VZ_ANY_METHOD("/p/", h_ok, .flags = VZ_PREFIX);
  CHECK_EQ_STR(bare.method, "GET");
  CHECK(bare.handler == h_ok && bare.flags == 0 && vz_route_on_pool(&bare));
  CHECK_EQ_STR(any.method, "*");
  vz_route loop = VZ_GET("/h", h_ok, .flags = VZ_ON_LOOP), async = VZ_GET("/m", h_ok, .flags = VZ_ASYNC);
  CHECK(!vz_route_on_pool(&loop) && !vz_route_on_pool(&async));
}

/* Runs vz_routes_add with stdout (the log) captured; returns its value, *out the log. */
static int add_captured(vz_route *table, char *out, size_t cap) {
  char path[] = "/tmp/vz-route-log-XXXXXX";
  int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
  fflush(stdout);
  dup2(fd, STDOUT_FILENO);
  int rc = vz_routes_add(table);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  ssize_t n = pread(fd, out, cap - 1, 0);
  out[n > 0 ? n : 0] = 0;
  close(fd);
  unlink(path);
  return rc;
}

TEST(route_registration_refuses_pool_only_flags_on_the_loop) {
  static vz_route audit_on_loop[] = {
    VZ_GET("/t/rows/fine", h_ok),
    VZ_POST("/t/rows/audited", h_ok, .flags = VZ_ROLE_ADMIN | VZ_AUDIT | VZ_ON_LOOP),
    { 0 } };
  static vz_route idem_async[] = {
    VZ_POST("/t/rows/idem", h_ok, .flags = VZ_AUTH | VZ_IDEMPOTENT | VZ_ASYNC), { 0 } };
  static vz_route no_handler[] = { VZ_GET("/t/rows/none", NULL), { 0 } };
  static vz_route fine[] = {
    VZ_POST("/t/rows/ok", h_ok, .flags = VZ_AUTH | VZ_IDEMPOTENT | VZ_AUDIT), { 0 } };
  char log[2048];
  int before = vz_route_count();
  CHECK_EQ_INT(add_captured(audit_on_loop, log, sizeof log), -1);
  CHECK(strstr(log, "\"route\":\"POST /t/rows/audited\""));
  CHECK(strstr(log, "worker pool"));
  CHECK_EQ_INT(add_captured(idem_async, log, sizeof log), -1);
  CHECK(strstr(log, "\"route\":\"POST /t/rows/idem\""));
  CHECK_EQ_INT(add_captured(no_handler, log, sizeof log), -1);
  CHECK(strstr(log, "/t/rows/none"));
  CHECK_EQ_INT(vz_route_count(), before); /* nothing of a refused table, not even its good rows */
  CHECK_EQ_INT(add_captured(fine, log, sizeof log), 0);
  CHECK_EQ_INT(vz_route_count(), before + 1);
}

TEST(role_policy_is_one_table) {
  enum { A = VZ_AUTH, S = VZ_ROLE_SELLER, M = VZ_ROLE_MODERATOR, D = VZ_ROLE_ADMIN };
  /* rows: need; columns: none, user, seller, moderator, admin, unknown (7) */
  static const struct { int need; int ok[6]; } t[] = {
    { 0, { 1, 1, 1, 1, 1, 1 } },
    { VZ_NO_LOG | VZ_RATE_USER, { 1, 1, 1, 1, 1, 1 } }, /* flags that are not about roles */
    { A, { 0, 1, 1, 1, 1, 0 } },
    { S, { 0, 0, 1, 0, 1, 0 } },
    { A | S, { 0, 0, 1, 0, 1, 0 } },
    { M, { 0, 0, 0, 1, 1, 0 } },
    { D, { 0, 0, 0, 0, 1, 0 } },
    { S | M, { 0, 0, 1, 1, 1, 0 } },
  };
  static const int have[6] = { VZ_R_NONE, VZ_R_USER, VZ_R_SELLER, VZ_R_MODERATOR, VZ_R_ADMIN, 7 };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    for (int j = 0; j < 6; j++)
      if (vz_role_allows(have[j], t[i].need) != t[i].ok[j]) {
        fprintf(stderr, "  need 0x%x, role %d: got %d\n", t[i].need, have[j], !t[i].ok[j]);
        CHECK(0);
      }
  CHECK_EQ_INT(vz_role_flag(VZ_R_USER), VZ_AUTH);
  CHECK_EQ_INT(vz_role_flag(VZ_R_SELLER), VZ_ROLE_SELLER);
  CHECK_EQ_INT(vz_role_flag(VZ_R_ADMIN), VZ_ROLE_ADMIN);
  CHECK_EQ_INT(vz_role_flag(VZ_R_NONE), 0);
}
