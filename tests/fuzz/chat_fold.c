/* Fuzz target: chat text normalisation and term folding on arbitrary bytes (the
 * message text of chat:send after JSON decoding, and terms). Invariants: no crash or
 * overread; normalised output is valid UTF-8, never longer than the input, holds no
 * control characters, and normalising it again changes nothing (idempotent); folded
 * output is lower-case ASCII letters and digits only, with no character repeated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "services/chat/fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = malloc(size + 1), *out = malloc(size + 1), *again = malloc(size + 1), *f = malloc(size + 1);
  memcpy(in, data, size);
  in[size] = 0;
  long n = chat_text_normalize(in, size, out, size + 1);
  if (n >= 0) {
    size_t ol = strlen(out);
    if (ol > size || !vz_utf8_valid(out, ol)) abort();
    for (size_t i = 0; i < ol; i++)
      if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) abort();
    if ((size_t)n != vz_utf8_chars(out)) abort();
    /* idempotent: a second pass keeps it as it is (a first pass may compose; the
     * result has nothing left to compose) */
    if (chat_text_normalize(out, ol, again, size + 1) != n || strcmp(out, again) != 0) abort();
  } else if (vz_utf8_valid(in, size) && memchr(in, 0, size) == NULL) {
    abort(); /* valid UTF-8 is always accepted */
  }
  size_t fl = chat_fold(in, size, f, size + 1);
  for (size_t i = 0; i < fl; i++) {
    char c = f[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) abort();
    if (i && f[i - 1] == c) abort();
  }
  (void)chat_fold_contains(f, "ab");
  (void)chat_has_link(in);
  if (n >= 0) (void)chat_emote_only(out);
  free(in); free(out); free(again); free(f);
  return 0;
}
