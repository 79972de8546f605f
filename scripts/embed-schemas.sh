#!/bin/sh
# Turns the contract's component schema files given (src/core/schemas.json, the shared
# ones, and each service's src/services/<name>/schemas.json) into a C table of
# {path, json} for `vidzo openapi` (core/contract.h). The binary checks the JSON and that
# no schema name is defined twice; this only embeds.
set -e
echo '#include "core/contract.h"'
echo 'const vz_schema_file vz_schema_files[] = {'
for f in "$@"; do
  printf '  { "%s",\n' "$f"
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$f"
  printf '  },\n'
done
echo '  { 0, 0 } };'
