/* clock: the one clock. Monotonic time for durations, timeouts and rate limits (never
 * jumps); wall time (UTC, ms since the epoch) only for what is stored or shown. */
#ifndef VZ_LIB_CLOCK_H
#define VZ_LIB_CLOCK_H
#include <stdint.h>

uint64_t vz_mono_ns(void);
uint64_t vz_mono_ms(void);
int64_t vz_wall_ms(void);
#endif
