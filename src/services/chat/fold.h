/* chat/fold: what a chat message becomes before it is stored (normalised) and what it is
 * matched as against banned terms (folded). Pure functions, no allocation: the unit
 * tests and the libFuzzer target (tests/fuzz/fuzz_chat_fold.c) call them directly. */
#ifndef VZ_CHAT_FOLD_H
#define VZ_CHAT_FOLD_H
#include <stddef.h>

/* Normalises valid UTF-8 in[0..n) into out (cap bytes, NUL-terminated; cap >= n + 1
 * always suffices, the result is never longer): control characters removed (tab and
 * line breaks become a space), invisible format characters that hide or reorder text
 * removed (bidi overrides and isolates, zero width space, word joiner, BOM; ZWJ stays:
 * emoji sequences need it), runs of spaces collapsed, ends trimmed, and base letter +
 * combining mark composed canonically (the NFC subset fold_tab.h covers: Latin, Greek,
 * Cyrillic). Returns the length in code points, or -1 on invalid UTF-8 or a short cap. */
long chat_text_normalize(const char *in, size_t n, char *out, size_t cap);

/* The matching form of normalised text: each letter or digit folded to one lower-case
 * ASCII character (case, diacritics, fullwidth forms, Cyrillic and Greek look-alikes,
 * digits and symbols used as letters: 0 o, 1 ! | l i, 3 e, 4 @ a, 5 $ s, 7 t, 8 b),
 * everything else dropped (spaces, punctuation, marks, emoji: "b.a d" matches "bad"),
 * and repeats squeezed ("baaad" is "bad"). Terms are folded the same way. Returns the
 * length written into out (cap bytes, NUL-terminated; cap >= n + 1 suffices). */
size_t chat_fold(const char *in, size_t n, char *out, size_t cap);

/* 1 when the folded term occurs in the folded text (empty terms never match). */
int chat_fold_contains(const char *folded_text, const char *folded_term);

/* 1 when text carries a link (scheme, "www.", or a name.tld with a common TLD). */
int chat_has_link(const char *text);
/* 1 when normalised text is only emoji (pictographs, symbols, flags, keycaps, with
 * joiners, variation selectors and skin tones) and :emote: codes, separated by spaces. */
int chat_emote_only(const char *text);
#endif
