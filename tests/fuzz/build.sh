#!/usr/bin/env bash
# Builds every tests/fuzz/*.c libFuzzer target with clang
# (-fsanitize=fuzzer,address,undefined) against the library sources (all of src/
# except src/main.c) into build/fuzz/, and with `--run SECONDS` runs each for that
# long on its corpus (tests/fuzz/corpus/<name>/ plus tests/fuzz/regression/<name>*).
# usage: tests/fuzz/build.sh [--run SECONDS] [name...]
set -euo pipefail
cd "$(dirname "$0")/../.."
run=0
if [[ "${1:-}" == "--run" ]]; then run="$2"; shift 2; fi
out=build/fuzz
mkdir -p "$out"
flags=(-std=c11 -D_GNU_SOURCE -pthread -g -O1 -Isrc -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Wall -Wextra -Werror -Wno-unused-parameter
       -Wno-missing-field-initializers)  # as the Makefile's WARN
libs=(-luv -lhttp_parser -lwslay -ljansson -lsodium -lssl -lcrypto -lsqlite3 -lpq -lhiredis -lcurl -lz
      $(pkg-config --libs vips) -lpthread -lm)
# libvips' headers (media/image.c) as system headers: our warning flags are not theirs
read -ra vips_cflags < <(pkg-config --cflags vips | sed 's/-I/-isystem /g')
flags+=("${vips_cflags[@]}")
# Library sources compiled once without the fuzzer main (fuzzer-no-link).
mapfile -t srcs < <(find src -name '*.c' ! -name main.c | sort)
objs=()
# A header change rebuilds everything: a struct that grew while its users' objects stayed
# old is a layout mismatch (a crash that is no bug of the code under test).
newest_h=$(find src -name '*.h' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)
for s in "${srcs[@]}"; do
  o="$out/obj/${s%.c}.o"
  mkdir -p "$(dirname "$o")"
  if [[ ! -f "$o" || "$s" -nt "$o" || "$newest_h" -nt "$o" ]]; then
    clang "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" -c -o "$o" "$s"
  fi
  objs+=("$o")
done
# The migrations table, generated as the Makefile does (the HTTP target links the
# dispatcher, which reaches the db code).
mkdir -p "$out/gen"
sh scripts/embed-migrations.sh src/db/migrations/*.sql src/services/*/migrations/*.sql >"$out/gen/migrations.c"
clang "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" \
  -c -o "$out/gen/migrations.o" "$out/gen/migrations.c"
objs+=("$out/gen/migrations.o")
# The contract's schemas likewise (the ops routes serve /v1/openapi.json).
sh scripts/embed-schemas.sh src/core/schemas.json $(ls src/services/*/schemas.json 2>/dev/null | LC_ALL=C sort) >"$out/gen/schemas.c"
clang "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" \
  -c -o "$out/gen/schemas.o" "$out/gen/schemas.c"
objs+=("$out/gen/schemas.o")
# An archive, so a target links only the objects it uses.
rm -f "$out/libvidzo-fuzz.a"
ar rcs "$out/libvidzo-fuzz.a" "${objs[@]}"
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(for f in tests/fuzz/*.c; do basename "$f" .c; done)
status=0
for t in "${targets[@]}"; do
  echo "fuzz: building $t"
  clang "${flags[@]}" -o "$out/$t" "tests/fuzz/$t.c" "$out/libvidzo-fuzz.a" "${libs[@]}"
  if ((run > 0)); then
    mkdir -p "tests/fuzz/corpus/$t" "$out/corpus-$t"
    reg=(); for r in tests/fuzz/regression/"$t"*; do [[ -e "$r" ]] && reg+=("$r"); done
    ((${#reg[@]})) && { "$out/$t" "${reg[@]}" || status=1; }
    echo "fuzz: running $t for ${run}s"
    rc=0
    "$out/$t" -max_total_time="$run" -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/$t-" \
      "$out/corpus-$t" "tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|SUMMARY|==.*ERROR)' "$out/$t.log" || true
    ((rc == 0)) || { echo "fuzz: $t FAILED (log $out/$t.log)"; status=1; }
  fi
done
exit $status
