#ifndef VZ_CATEGORIES_INTERNAL_H
#define VZ_CATEGORIES_INTERNAL_H
#include "core/http.h"
int category_list(vz_req *req);
int category_show(vz_req *req);
int category_create(vz_req *req);
int category_update(vz_req *req);
int category_delete(vz_req *req);
#endif
