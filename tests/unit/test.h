/* Minimal unit-test harness: each TEST registers itself at load time, so a new test
 * file needs no edit anywhere else. main.c runs them all and prints "N passed, N failed". */
#ifndef VZ_UNIT_TEST_H
#define VZ_UNIT_TEST_H
#include <stdio.h>
#include <string.h>

typedef struct vz_test { const char *name; const char *file; void (*fn)(int *failed); struct vz_test *next; } vz_test;
void vz_test_register(vz_test *t);

#define TEST(name_)                                                                    \
  static void test_##name_(int *vz_failed);                                            \
  static vz_test test_reg_##name_ = { #name_, __FILE__, test_##name_, 0 };             \
  __attribute__((constructor)) static void test_ctor_##name_(void) {                   \
    vz_test_register(&test_reg_##name_);                                               \
  }                                                                                    \
  static void test_##name_(int *vz_failed)

#define CHECK(cond)                                                                    \
  do { if (!(cond)) { fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
       *vz_failed = 1; return; } } while (0)
#define CHECK_EQ_INT(a, b)                                                             \
  do { long long a_ = (long long)(a), b_ = (long long)(b);                             \
       if (a_ != b_) { fprintf(stderr, "  %s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #a, a_, b_); \
       *vz_failed = 1; return; } } while (0)
#define CHECK_EQ_STR(a, b)                                                             \
  do { const char *a_ = (a), *b_ = (b);                                                \
       if (!a_ || !b_ || strcmp(a_, b_) != 0) { fprintf(stderr, "  %s:%d: %s == \"%s\", want \"%s\"\n", \
         __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); *vz_failed = 1; return; } } while (0)
#endif
