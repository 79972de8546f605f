#ifndef VZ_OPS_H
#define VZ_OPS_H
int vz_ops_init(void); /* /healthz, /readyz, /metrics */
#endif
