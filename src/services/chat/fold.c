/* chat/fold: normalisation and folding of chat text (fold.h). The tables come from the
 * Unicode Character Database through scripts/gen-chat-fold.py; src/lib/utf8 only checks
 * and counts, so full NFC (every script, canonical reordering of several marks, Hangul)
 * is out of reach without the UCD's 2,000-odd composition and combining-class entries.
 * What is here is the safe subset: a base letter followed by one combining mark is
 * composed when the UCD has that canonical pair, repeatedly ("e" + U+0323 + U+0302 is
 * U+1EC7), which covers text typed with dead keys and decomposed input from macOS in the
 * Latin, Greek and Cyrillic scripts; anything else is kept as it came (never altered
 * wrongly, so stored text is still canonically equivalent to what was sent). */
#include "services/chat/fold.h"

#include <stdint.h>
#include <string.h>

#include "services/chat/fold_tab.h"

/* One code point from valid-or-not UTF-8; returns its byte length, 0 when malformed. */
static size_t dec(const unsigned char *s, size_t n, uint32_t *cp) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) { *cp = c; return 1; }
  size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (!len || len > n) return 0;
  uint32_t v = c & (0x3F >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = v << 6 | (s[i] & 0x3F);
  }
  static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
  if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

static size_t enc(uint32_t cp, char *o) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static uint32_t compose(uint32_t a, uint32_t b) {
  size_t lo = 0, hi = sizeof fold_compose / sizeof fold_compose[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (fold_compose[mid].a < a || (fold_compose[mid].a == a && fold_compose[mid].b < b)) lo = mid + 1;
    else hi = mid;
  }
  return lo < sizeof fold_compose / sizeof fold_compose[0] && fold_compose[lo].a == a && fold_compose[lo].b == b
             ? fold_compose[lo].c : 0;
}

static int invisible(uint32_t cp) {
  return (cp < 0x20) || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200B || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0xFEFF || cp == 0x061C || cp == 0x00AD;
}

long chat_text_normalize(const char *in, size_t n, char *out, size_t cap) {
  const unsigned char *s = (const unsigned char *)in;
  size_t o = 0, last_len = 0;
  uint32_t last = 0; /* the last code point written (0: none or a space) */
  long chars = 0;
  int pending_space = 0;
  if (cap < n + 1) return -1;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t l = dec(s + i, n - i, &cp);
    if (!l) return -1;
    i += l;
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == ' ' || cp == 0x3000 || cp == 0xA0) {
      if (chars) pending_space = 1;
      continue;
    }
    if (invisible(cp)) continue;
    uint32_t c = last && !pending_space ? compose(last, cp) : 0;
    if (c) { /* replace the base with the composition: never longer than base + mark */
      o -= last_len;
      last_len = enc(c, out + o);
      o += last_len;
      last = c;
      continue;
    }
    if (pending_space) { out[o++] = ' '; chars++; pending_space = 0; }
    last_len = enc(cp, out + o);
    o += last_len;
    last = cp;
    chars++;
  }
  out[o] = 0;
  return chars;
}

static char fold_cp(uint32_t cp) {
  if (cp < 0x80) {
    if (cp >= 'A' && cp <= 'Z') cp += 32;
    switch (cp) {
    case '0': return 'o';
    case '1': case '!': case '|': case 'l': return 'i';
    case '3': return 'e';
    case '4': case '@': return 'a';
    case '5': case '$': return 's';
    case '7': return 't';
    case '8': return 'b';
    }
    return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ? (char)cp : 0;
  }
  size_t lo = 0, hi = sizeof fold_map / sizeof fold_map[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (fold_map[mid].cp < cp) lo = mid + 1;
    else hi = mid;
  }
  if (lo == sizeof fold_map / sizeof fold_map[0] || fold_map[lo].cp != cp) return 0;
  return fold_cp((unsigned char)fold_map[lo].to); /* the ASCII rules apply on top (l is i) */
}

size_t chat_fold(const char *in, size_t n, char *out, size_t cap) {
  const unsigned char *s = (const unsigned char *)in;
  size_t o = 0;
  if (!cap) return 0;
  for (size_t i = 0; i < n && o + 1 < cap;) {
    uint32_t cp;
    size_t l = dec(s + i, n - i, &cp);
    if (!l) { i++; continue; } /* malformed bytes are dropped, never read past */
    i += l;
    char c = fold_cp(cp);
    if (c && (o == 0 || out[o - 1] != c)) out[o++] = c;
  }
  out[o] = 0;
  return o;
}

int chat_fold_contains(const char *text, const char *term) {
  return term && *term && strstr(text, term) != NULL;
}

static int is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static int lower_eq(const char *s, const char *w) {
  for (; *w; s++, w++)
    if ((*s | 0x20) != *w) return 0;
  return 1;
}

int chat_has_link(const char *t) {
  static const char *const tlds[] = { "com", "net", "org", "io", "gg", "tv", "co", "ly", "me", "xyz", "ru", "de",
                                      "uk", "app", "dev", "info", "biz", "link", "site", "shop", NULL };
  for (const char *p = t; *p; p++) {
    if (lower_eq(p, "http://") || lower_eq(p, "https://") || lower_eq(p, "www.")) return 1;
    /* name.tld: a letter or digit before the dot, the TLD ending at a non-letter */
    if (*p == '.' && p > t && (is_alpha(p[-1]) || (p[-1] >= '0' && p[-1] <= '9'))) {
      for (int k = 0; tlds[k]; k++) {
        size_t l = strlen(tlds[k]);
        if (lower_eq(p + 1, tlds[k]) && !is_alpha(p[1 + l])) return 1; /* p[1 + l] is within: matched l bytes */
      }
    }
  }
  return 0;
}

/* Emoji as Unicode draws them: the pictograph and symbol blocks, regional indicators
 * (flags), dingbats and misc symbols, plus what combines with them (ZWJ, variation
 * selectors, skin tones, keycap, tags). Not exhaustive per UTS #51, but nothing here is
 * a letter or a digit, which is what the mode is about. */
static int emoji_part(uint32_t cp) {
  return (cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x2B00 && cp <= 0x2BFF) ||
         (cp >= 0x2190 && cp <= 0x21FF) || (cp >= 0x2300 && cp <= 0x23FF) || cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) ||
         cp == 0x20E3 || (cp >= 0xE0020 && cp <= 0xE007F) || cp == 0x00A9 || cp == 0x00AE || cp == 0x2122 || cp == 0x3030 ||
         cp == 0x303D || cp == 0x2764;
}

int chat_emote_only(const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  size_t n = strlen(text), i = 0;
  int any = 0;
  while (i < n) {
    if (s[i] == ' ') { i++; continue; }
    if (s[i] == ':') { /* :name: with 1-32 of [A-Za-z0-9_] */
      size_t j = i + 1;
      while (j < n && j - i <= 33 && (is_alpha((char)s[j]) || (s[j] >= '0' && s[j] <= '9') || s[j] == '_')) j++;
      if (j < n && s[j] == ':' && j > i + 1 && j - i <= 33) { i = j + 1; any = 1; continue; }
      return 0;
    }
    uint32_t cp;
    size_t l = dec(s + i, n - i, &cp);
    if (!l || !emoji_part(cp)) return 0;
    i += l;
    any = 1;
  }
  return any;
}
