/* Runs every registered unit test; a filter argument runs only names containing it. */
#include <stdlib.h>
#include "test.h"

static vz_test *head, **tail = &head;
void vz_test_register(vz_test *t) { *tail = t; tail = &t->next; }

int main(int argc, char **argv) {
  int passed = 0, failed = 0;
  for (vz_test *t = head; t; t = t->next) {
    if (argc > 1 && !strstr(t->name, argv[1])) continue;
    int f = 0;
    t->fn(&f);
    if (f) { failed++; printf("FAIL unit %s (%s)\n", t->name, t->file); }
    else { passed++; printf("ok   unit %s\n", t->name); }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
