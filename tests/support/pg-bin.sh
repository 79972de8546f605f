# Sourced by postgres.sh and postgres-replica.sh: sets BIN to the PostgreSQL server
# binaries (VZ_PG_BIN, else /usr/lib/postgresql/<v>/bin, 15 first as on Debian 12), or
# exits with a message naming the caller (PG_CALLER).
BIN=${VZ_PG_BIN:-}
if [ -z "$BIN" ]; then
  for v in 15 16 17 14; do
    if [ -x /usr/lib/postgresql/$v/bin/pg_ctl ]; then BIN=/usr/lib/postgresql/$v/bin; break; fi
  done
fi
[ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || { echo "${PG_CALLER:-postgres}: PostgreSQL not installed (apt-get install postgresql)" >&2; exit 1; }
