/* postgres.c: placeholder until the libpq driver lands; db_open reports it missing. */
#include <stdio.h>

#include "db/db.h"

static int pg_open(const char *url, vz_db **out, char *err, size_t errlen) {
  *out = NULL;
  snprintf(err, errlen, "postgres: driver not built yet");
  return DB_EUNAVAILABLE;
}

const db_driver db_postgres_driver = { .name = "postgres", .open = pg_open };
