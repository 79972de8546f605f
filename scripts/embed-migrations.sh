#!/bin/sh
# Turns the migration files given (src/db/migrations/*.sql and each service's
# src/services/<name>/migrations/*.sql) into a C table of {name, sql}, in the order of
# their file names wherever they live: the number orders them across folders, and the
# name alone is what a database records as applied. Two files with one name stop the
# build. The driver picks "NNN_name.sqlite.sql" / "NNN_name.pg.sql" variants.
set -e
sorted=$(for f in "$@"; do printf '%s %s\n' "$(basename "$f")" "$f"; done | LC_ALL=C sort)
dup=$(printf '%s\n' "$sorted" | cut -d' ' -f1 | uniq -d)
if [ -n "$dup" ]; then echo "embed-migrations: two migrations named $dup" >&2; exit 1; fi
echo '#include "db/migrate.h"'
echo 'const vz_migration vz_migrations[] = {'
printf '%s\n' "$sorted" | while read -r name f; do
  printf '  { "%s",\n' "$name"
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$f"
  printf '  },\n'
done
echo '  { 0, 0 } };'
