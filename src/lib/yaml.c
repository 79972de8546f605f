/* yaml: a JSON document (jansson) as YAML text, for the generated contract files
 * (core/contract.h). Block style, keys in the document's order, scalars plain when YAML
 * reads them back as the same string and JSON-quoted otherwise (a JSON string is a valid
 * YAML double-quoted scalar), so the output is deterministic and diffs line by line. */
#include "lib/yaml.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct sbuf { char *p; size_t n, cap; int oom; } sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
    char *np = realloc(b->p, cap);
    if (!np) { b->oom = 1; return; }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }
static void indent(sbuf *b, int n) { for (int i = 0; i < n; i++) put(b, " ", 1); }

/* A string that YAML reads back as the same string without quotes. */
static int plain_ok(const char *s) {
  static const char *const words[] = { "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", NULL };
  if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ') return 0;
  for (const char *const *w = words; *w; w++)
    if (!strcasecmp(s, *w)) return 0;
  if (strchr("-?:,[]{}#&*!|>'\"%@`0123456789.+", s[0])) return 0;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == '#' || c == '"' || c == '\'' || c == '\\' || c >= 0x80) return 0;
    if (c == ':' && (p[1] == ' ' || !p[1])) return 0;
    if (c == ' ' && p[1] == '#') return 0;
  }
  return 1;
}

static void scalar(sbuf *b, const json_t *v) {
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (plain_ok(s)) { puts_(b, s); return; }
    /* a JSON string is a valid YAML double-quoted scalar */
    char *q = json_dumps(v, JSON_ENCODE_ANY);
    if (q) puts_(b, q);
    else b->oom = 1;
    free(q);
    return;
  }
  char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (t) puts_(b, t);
  else b->oom = 1;
  free(t);
}

static int is_block(const json_t *v) {
  return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

static void key(sbuf *b, const char *k) {
  json_t *s = json_string(k);
  scalar(b, s);
  json_decref(s);
  puts_(b, ":");
}

static void node(sbuf *b, const json_t *v, int ind);

static void node_after_key(sbuf *b, const json_t *v, int ind) {
  if (is_block(v)) {
    puts_(b, "\n");
    node(b, v, json_is_array(v) ? ind : ind + 2);
  } else {
    puts_(b, " ");
    if (json_is_object(v)) puts_(b, "{}");
    else if (json_is_array(v)) puts_(b, "[]");
    else scalar(b, v);
    puts_(b, "\n");
  }
}

/* A block node at indentation ind; the caller has ended its line. */
static void node(sbuf *b, const json_t *v, int ind) {
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      indent(b, ind);
      key(b, k);
      node_after_key(b, x, ind);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) {
      indent(b, ind);
      puts_(b, "- ");
      if (json_is_object(x) && json_object_size(x)) {
        /* the first key on the dash's line, the rest under it */
        int first = 1;
        const char *k;
        json_t *y;
        json_object_foreach(x, k, y) {
          if (!first) indent(b, ind + 2);
          first = 0;
          key(b, k);
          node_after_key(b, y, ind + 2);
        }
      } else if (json_is_array(x) && json_array_size(x)) {
        puts_(b, "\n");
        node(b, x, ind + 2);
      } else {
        if (json_is_object(x)) puts_(b, "{}");
        else if (json_is_array(x)) puts_(b, "[]");
        else scalar(b, x);
        puts_(b, "\n");
      }
    }
  } else {
    indent(b, ind);
    scalar(b, v);
    puts_(b, "\n");
  }
}

char *vz_yaml_dump(const json_t *doc) {
  sbuf b = { 0 };
  node(&b, doc, 0);
  if (b.oom) { free(b.p); return NULL; }
  return b.p;
}
