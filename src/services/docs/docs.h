/* docs: the help centre (FAQ now; privacy, terms and about pages next). */
#ifndef VZ_DOCS_H
#define VZ_DOCS_H
extern const struct vz_service docs_service;
#endif
