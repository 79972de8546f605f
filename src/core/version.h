#ifndef VZ_VERSION_H
#define VZ_VERSION_H
#define VZ_VERSION "0.1.0"
#endif
