/* arena: every allocation is 16-byte aligned and usable, the budget caps the total (NULL,
 * never a crash, past it), and cleanups run exactly once, last registered first. */
#include <stdint.h>
#include <stdlib.h>
#include "core/arena.h"
#include "../test.h"

TEST(arena_alignment_and_reuse) {
  vz_arena *a = vz_arena_new(0);
  CHECK(a);
  for (size_t n = 0; n < 300; n += 7) {
    char *p = vz_arena_alloc(a, n);
    CHECK(p);
    CHECK_EQ_INT((uintptr_t)p % 16, 0);
    memset(p, 0xab, n);
  }
  char *big = vz_arena_alloc(a, 100000); /* larger than a chunk */
  CHECK(big);
  memset(big, 1, 100000);
  char *z = vz_arena_calloc(a, 64);
  for (int i = 0; i < 64; i++) CHECK_EQ_INT(z[i], 0);
  vz_arena_free(a);
}

TEST(arena_budget_refuses_instead_of_growing) {
  vz_arena *a = vz_arena_new(64 * 1024);
  CHECK(a);
  CHECK(vz_arena_alloc(a, 32 * 1024));
  CHECK(vz_arena_alloc(a, 128 * 1024) == NULL);
  int got = 0;
  while (vz_arena_alloc(a, 1000)) got++;
  CHECK(got < 64);
  CHECK(vz_arena_used(a) <= 64 * 1024);
  vz_arena_free(a);
}

TEST(arena_huge_request_does_not_wrap) {
  vz_arena *a = vz_arena_new(0);
  CHECK(vz_arena_alloc(a, SIZE_MAX) == NULL);
  CHECK(vz_arena_alloc(a, SIZE_MAX - 10) == NULL);
  CHECK(vz_arena_alloc(a, SIZE_MAX / 2) == NULL);
  vz_arena_free(a);
}

static int order[4], norder;
static void rec(void *p) { order[norder++] = (int)(intptr_t)p; }

TEST(arena_cleanups_run_once_lifo) {
  vz_arena *a = vz_arena_new(0);
  norder = 0;
  for (int i = 1; i <= 3; i++) CHECK_EQ_INT(vz_arena_defer(a, rec, (void *)(intptr_t)i), 0);
  vz_arena_free(a);
  CHECK_EQ_INT(norder, 3);
  CHECK_EQ_INT(order[0], 3);
  CHECK_EQ_INT(order[2], 1);
  vz_arena_free(NULL);
}

TEST(arena_strings) {
  vz_arena *a = vz_arena_new(0);
  CHECK_EQ_STR(vz_arena_strdup(a, "hello"), "hello");
  CHECK_EQ_STR(vz_arena_strndup(a, "hello", 3), "hel");
  CHECK_EQ_STR(vz_arena_printf(a, "%d-%s", 42, "x"), "42-x");
  vz_arena_free(a);
}
