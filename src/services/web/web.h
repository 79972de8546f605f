/* web: the built web app served at / (web.c). */
#ifndef VZ_WEB_H
#define VZ_WEB_H
#include "core/service.h"

extern const vz_service web_service;
/* Loads every file under root into memory (serve calls it at start); 0 or -1. */
int web_load(const char *root);
void web_unload(void);
#endif
