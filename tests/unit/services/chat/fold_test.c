/* chat/fold: normalisation (controls and invisible characters out, spaces collapsed,
 * base + combining mark composed, length in characters) and folding for banned terms
 * (case, diacritics, look-alikes, separators, repeats), and the links detector. */
#include <string.h>

#include "services/chat/fold.h"
#include "../../test.h"

static long norm(const char *in, char *out, size_t cap) { return chat_text_normalize(in, strlen(in), out, cap); }
static const char *fold(const char *in, char *out, size_t cap) {
  chat_fold(in, strlen(in), out, cap);
  return out;
}

TEST(chat_normalize_strips_and_composes) {
  char out[256];
  CHECK_EQ_INT(norm("  hello\tworld \n", out, sizeof out), 11);
  CHECK_EQ_STR(out, "hello world");
  CHECK_EQ_INT(norm("cafe\xcc\x81", out, sizeof out), 4); /* e + U+0301 */
  CHECK_EQ_STR(out, "caf\xc3\xa9");
  CHECK_EQ_INT(norm("e\xcc\xa3\xcc\x82", out, sizeof out), 1); /* e + dot below + circumflex: U+1EC7 */
  CHECK_EQ_STR(out, "\xe1\xbb\x87");
  CHECK_EQ_INT(norm("a\x07" "b\x7f" "c\xc2\x85", out, sizeof out), 3); /* C0, DEL, C1 */
  CHECK_EQ_STR(out, "abc");
  CHECK_EQ_INT(norm("\xe2\x80\xaeok\xe2\x80\x8b!\xef\xbb\xbf", out, sizeof out), 3); /* RLO, ZWSP, BOM */
  CHECK_EQ_STR(out, "ok!");
  CHECK_EQ_INT(norm("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", out, sizeof out), 3); /* ZWJ stays */
  CHECK_EQ_INT(norm("\x01\x02  \t", out, sizeof out), 0);
  CHECK_EQ_STR(out, "");
  CHECK_EQ_INT(norm("\xcc\x81x", out, sizeof out), 2); /* a lone mark stays: nothing to compose with */
  CHECK_EQ_INT(norm("\xff", out, sizeof out), -1);      /* invalid UTF-8 */
  CHECK_EQ_INT(norm("\xed\xa0\x80", out, sizeof out), -1); /* a surrogate */
  CHECK_EQ_INT(norm("abc", out, 3), -1);                 /* cap must hold n + 1 */
}

TEST(chat_fold_catches_variants) {
  char a[128], b[128];
  CHECK_EQ_STR(fold("BadWord", a, sizeof a), "badword");
  CHECK_EQ_STR(fold("b\xc3\xa0" "dw\xc3\xb6rd", a, sizeof a), "badword");       /* diacritics */
  CHECK_EQ_STR(fold("b4dw0rd", a, sizeof a), "badword");                      /* leet */
  CHECK_EQ_STR(fold("b.a d-w_o r d!!", a, sizeof a), "badwordi");             /* separators; ! is i */
  CHECK_EQ_STR(fold("baaaadword", a, sizeof a), "badword");                   /* repeats */
  CHECK_EQ_STR(fold("b\xd0\xb0" "dword", a, sizeof a), "badword");            /* Cyrillic a */
  CHECK_EQ_STR(fold("\xef\xbd\x82" "adword", a, sizeof a), "badword");        /* fullwidth b */
  CHECK_EQ_STR(fold("$C\xc3\x84M", a, sizeof a), "scam");
  CHECK_EQ_STR(fold("kill", a, sizeof a), fold("k1ii", b, sizeof b));        /* l and 1 fold to i */
  CHECK(chat_fold_contains(fold("you are a b4dw0rd!", a, sizeof a), fold("badword", b, sizeof b)));
  CHECK(!chat_fold_contains(fold("bad word-ish? no: bad", a, sizeof a), "badwordx"));
  CHECK(!chat_fold_contains("anything", ""));
  CHECK_EQ_STR(fold("\xf0\x9f\x98\x80\xe2\x9d\xa4", a, sizeof a), "");        /* emoji drop */
  CHECK_EQ_INT(chat_fold("abcdef", 6, a, 4), 3);                              /* short cap */
  CHECK_EQ_STR(a, "abc");
  CHECK_EQ_INT(chat_fold("\xff\xfe" "a", 3, a, sizeof a), 1);                 /* junk bytes skipped */
}

TEST(chat_links_detected) {
  CHECK(chat_has_link("see https://x.io"));
  CHECK(chat_has_link("HTTP://X"));
  CHECK(chat_has_link("www.example"));
  CHECK(chat_has_link("go to evil.com now"));
  CHECK(chat_has_link("EVIL.COM"));
  CHECK(chat_has_link("a.tv"));
  CHECK(!chat_has_link("no link. com on"));
  CHECK(!chat_has_link("3.14 and e.g. this"));
  CHECK(!chat_has_link("x.comet"));
  CHECK(!chat_has_link("."));
  CHECK(chat_has_link("a.co"));
  CHECK(chat_has_link("a.co "));
}

TEST(chat_emote_only_mode) {
  CHECK(chat_emote_only("\xf0\x9f\x98\x80"));                                  /* U+1F600 */
  CHECK(chat_emote_only(":kappa: \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd :pog_1:"));  /* emote, thumbs up + skin tone */
  CHECK(chat_emote_only("\xf0\x9f\x87\xab\xf0\x9f\x87\xb7"));                  /* a flag */
  CHECK(chat_emote_only("\xe2\x9d\xa4\xef\xb8\x8f"));                          /* heart + VS16 */
  CHECK(!chat_emote_only("hi \xf0\x9f\x98\x80"));
  CHECK(!chat_emote_only(":not an emote:"));
  CHECK(!chat_emote_only("::"));
  CHECK(!chat_emote_only(":unclosed"));
  CHECK(!chat_emote_only("1\xe2\x83\xa3x"));
  CHECK(!chat_emote_only(""));
  CHECK(!chat_emote_only("   "));
}
