/* http_request: any bytes a client can send, through the HTTP parser with the server's
 * callbacks, the router and declared-input validation (src/core/fuzz_entry.c). The
 * invariant: no crash, no leak, no sanitizer report, whatever arrives.
 * Build (tests/fuzz/build.sh does the same):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/http_request.c $(find src -name '*.c' ! -name main.c) build/debug/gen/migrations.c \
 *     -luv -lhttp_parser -lwslay -ljansson -lsodium -lssl -lcrypto -lsqlite3 -lpq -lhiredis -lcurl -lz -lm -lpthread
 * Run: ./http_request -max_len=20000 tests/fuzz/corpus/http_request
 * A crash input goes to tests/fuzz/regression/ and is replayed by the unit test
 * tests/unit/core/fuzz_regression_test.c. */
#include <stddef.h>
#include <stdint.h>

int vz_fuzz_http(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vz_fuzz_http(data, size);
  return 0;
}
