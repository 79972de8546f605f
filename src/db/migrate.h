/* The migrations compiled into the binary (generated from src/db/migrations/). A file
 * NNN_name.sql applies to every driver; NNN_name.sqlite.sql or NNN_name.pg.sql to one. */
#ifndef VZ_DB_MIGRATE_H
#define VZ_DB_MIGRATE_H
typedef struct vz_migration { const char *name; const char *sql; } vz_migration;
extern const vz_migration vz_migrations[];
#endif
