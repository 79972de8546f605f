/* categories: hierarchical stream/product categories. Public reads, admin writes. */
#ifndef VZ_CATEGORIES_H
#define VZ_CATEGORIES_H
extern const struct vz_service categories_service;
#endif
