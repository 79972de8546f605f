/* yaml: JSON to YAML text (yaml.c). */
#ifndef VZ_YAML_H
#define VZ_YAML_H
#include <jansson.h>

/* YAML text of a JSON document (block style, deterministic), malloc'd; NULL when out of
 * memory. */
char *vz_yaml_dump(const json_t *doc);
#endif
