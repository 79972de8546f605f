/* fault: an armed fault fails exactly the Nth event of its kind, once; a request-scoped
 * arm counts only the events of the one handler window that claimed it (never events
 * outside a window, as background threads make, nor a later window); each hook point
 * (arena, jansson, db_step/exec/begin/commit) fails the way the real failure would. */
#include "../test.h"

#ifdef VZ_DEBUG
#include <jansson.h>
#include <pthread.h>

#include "core/arena.h"
#include "core/fault.h"
#include "core/json.h"
#include "db/db.h"


TEST(fault_parse_specs) {
  vz_fault_spec sp;
  CHECK_EQ_INT(vz_fault_parse("db:3", &sp), 0);
  CHECK_EQ_INT(sp.kind, VZ_FAULT_DB);
  CHECK_EQ_INT(sp.nth, 3);
  CHECK_EQ_INT(sp.scope, VZ_FAULT_GLOBAL);
  CHECK_EQ_INT(sp.code, VZ_FAULT_IO);
  CHECK_EQ_INT(vz_fault_parse("alloc:12:request", &sp), 0);
  CHECK_EQ_INT(sp.kind, VZ_FAULT_ALLOC);
  CHECK_EQ_INT(sp.scope, VZ_FAULT_REQUEST);
  CHECK_EQ_INT(vz_fault_parse("call:1:thread:busy", &sp), 0);
  CHECK_EQ_INT(sp.kind, VZ_FAULT_CALL);
  CHECK_EQ_INT(sp.scope, VZ_FAULT_THREAD);
  CHECK_EQ_INT(sp.code, VZ_FAULT_BUSY);
  const char *bad[] = { "", "db", "db:", "db:0", "db:-1", "db:3x", "disk:3", "db:3:forever", "db:3:global:odd",
                        "db:3:", NULL };
  for (int i = 0; bad[i]; i++)
    if (vz_fault_parse(bad[i], &sp) == 0) {
      fprintf(stderr, "  accepted bad spec \"%s\"\n", bad[i]);
      CHECK(0);
    }
  CHECK(vz_fault_parse(NULL, &sp) < 0);
}

TEST(fault_thread_scope_fails_the_nth_once) {
  vz_arena *a = vz_arena_new(0);
  CHECK(a);
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = 3, .scope = VZ_FAULT_THREAD });
  int nulls = 0, third_null = 0;
  for (int i = 1; i <= 6; i++) {
    void *p = vz_arena_alloc(a, 32);
    if (!p) nulls++, third_null = i == 3;
  }
  vz_fault_disarm();
  vz_arena_free(a);
  CHECK_EQ_INT(nulls, 1);
  CHECK(third_null);
}

/* The worker's window: claims a request arm, allocates `n` times, reports the NULLs. */
typedef struct window_arg { int n, nulls, first_null; } window_arg;
static void *window_thread(void *p) {
  window_arg *w = p;
  vz_arena *a = vz_arena_new(0);
  vz_fault_enter("POST", "/v1/things");
  for (int i = 1; i <= w->n; i++)
    if (!vz_arena_alloc(a, 16) && !w->nulls++) w->first_null = i;
  vz_fault_leave();
  vz_arena_free(a);
  return NULL;
}
static void *background_thread(void *p) { /* a job worker: no window */
  vz_arena *a = vz_arena_new(0);
  for (int i = 0; i < 1000; i++)
    if (!vz_arena_alloc(a, 16)) ++*(int *)p;
  vz_arena_free(a);
  return NULL;
}

TEST(fault_request_scope_counts_only_the_claiming_window) {
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = 4, .scope = VZ_FAULT_REQUEST });
  int bg_nulls = 0;
  pthread_t bg, w1, w2;
  window_arg a1 = { .n = 10 }, a2 = { .n = 10 };
  CHECK_EQ_INT(pthread_create(&bg, NULL, background_thread, &bg_nulls), 0);
  pthread_join(bg, NULL); /* 1000 allocations outside any window: none counted */
  vz_fault_report r;
  vz_fault_last(&r);
  CHECK_EQ_INT(r.valid, 0);
  CHECK_EQ_INT(pthread_create(&w1, NULL, window_thread, &a1), 0);
  pthread_join(w1, NULL);
  CHECK_EQ_INT(pthread_create(&w2, NULL, window_thread, &a2), 0); /* the arm is spent */
  pthread_join(w2, NULL);
  vz_fault_last(&r);
  vz_fault_disarm();
  CHECK_EQ_INT(bg_nulls, 0);
  CHECK_EQ_INT(a1.nulls, 1);
  CHECK_EQ_INT(a1.first_null, 4);
  CHECK_EQ_INT(a2.nulls, 0);
  CHECK_EQ_INT(r.valid, 1);
  CHECK_EQ_INT(r.fired, 1);
  CHECK_EQ_INT(r.seen, 10);
  CHECK_EQ_STR(r.route, "POST /v1/things");
}

TEST(fault_request_scope_reports_a_window_too_short_to_fire) {
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = 50, .scope = VZ_FAULT_REQUEST });
  pthread_t w;
  window_arg a = { .n = 7 };
  CHECK_EQ_INT(pthread_create(&w, NULL, window_thread, &a), 0);
  pthread_join(w, NULL);
  vz_fault_report r;
  vz_fault_last(&r);
  vz_fault_disarm();
  CHECK_EQ_INT(a.nulls, 0);
  CHECK_EQ_INT(r.valid, 1);
  CHECK_EQ_INT(r.fired, 0);
  CHECK_EQ_INT(r.seen, 7);
}

TEST(fault_global_scope_counts_every_window_once) {
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = 15, .scope = VZ_FAULT_GLOBAL });
  pthread_t w1, w2;
  window_arg a1 = { .n = 10 }, a2 = { .n = 10 };
  CHECK_EQ_INT(pthread_create(&w1, NULL, window_thread, &a1), 0);
  pthread_join(w1, NULL);
  CHECK_EQ_INT(pthread_create(&w2, NULL, window_thread, &a2), 0);
  pthread_join(w2, NULL);
  vz_fault_disarm();
  CHECK_EQ_INT(a1.nulls, 0);
  CHECK_EQ_INT(a2.nulls, 1);
  CHECK_EQ_INT(a2.first_null, 5);
}

TEST(fault_db_points_fail_like_the_database) {
  vz_db *db;
  char err[128];
  CHECK_EQ_INT(db_open("sqlite::memory:", &db, err, sizeof err), 0);
  CHECK_EQ_INT(db_exec(db, "CREATE TABLE t (v INTEGER)"), 0);
  /* a step: the busy code when asked, and the next step works again */
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_DB, .nth = 1, .scope = VZ_FAULT_THREAD, .code = VZ_FAULT_BUSY });
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO t (v) VALUES (1)", ""), DB_EBUSY);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO t (v) VALUES (2)", ""), DB_DONE);
  /* begin */
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_DB, .nth = 1, .scope = VZ_FAULT_THREAD });
  CHECK_EQ_INT(db_begin(db), DB_EUNAVAILABLE);
  /* commit: the transaction stays open until the caller rolls back, and nothing lands */
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_DB, .nth = 3, .scope = VZ_FAULT_THREAD, .code = VZ_FAULT_ERROR });
  CHECK_EQ_INT(db_begin(db), 0);
  CHECK_EQ_INT(db_run(db, NULL, "INSERT INTO t (v) VALUES (3)", ""), DB_DONE);
  CHECK_EQ_INT(db_commit(db), DB_ERROR);
  CHECK_EQ_INT(db_rollback(db), 0);
  vz_stmt *st;
  CHECK_EQ_INT(db_run(db, &st, "SELECT group_concat(v) FROM t", ""), DB_ROW);
  CHECK_EQ_STR(db_col_text(st, 0), "2");
  db_finalize(st);
  /* exec */
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_DB, .nth = 1, .scope = VZ_FAULT_THREAD });
  CHECK_EQ_INT(db_exec(db, "DELETE FROM t"), DB_EUNAVAILABLE);
  vz_fault_disarm();
  db_close(db);
}

TEST(fault_json_and_call_points) {
  vz_json_init(); /* the jansson allocator carries the fault point */
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_ALLOC, .nth = 1, .scope = VZ_FAULT_THREAD });
  json_t *a = json_object();
  json_t *b = json_object();
  vz_fault_disarm();
  CHECK(a == NULL);
  CHECK(b != NULL);
  json_decref(b);
  vz_fault_arm(&(vz_fault_spec){ .kind = VZ_FAULT_CALL, .nth = 2, .scope = VZ_FAULT_THREAD });
  int first = vz_fault_hit(VZ_FAULT_CALL), second = vz_fault_hit(VZ_FAULT_CALL), third = vz_fault_hit(VZ_FAULT_CALL);
  vz_fault_disarm();
  CHECK_EQ_INT(first, 0);
  CHECK_EQ_INT(second, 1);
  CHECK_EQ_INT(third, 0);
}
#endif
