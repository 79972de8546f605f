#!/bin/sh
# Turns src/db/migrations/*.sql into a C table of {name, sql}. Each file becomes one
# string literal; the driver picks "NNN_name.sqlite.sql" / "NNN_name.pg.sql" variants.
echo '#include "db/migrate.h"'
echo 'const vz_migration vz_migrations[] = {'
for f in "$@"; do
  name=$(basename "$f")
  printf '  { "%s",\n' "$name"
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$f"
  printf '  },\n'
done
echo '  { 0, 0 } };'
