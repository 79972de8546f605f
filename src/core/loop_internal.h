/* Private to the core: what a loop holds. Services use loop.h. */
#ifndef VZ_LOOP_INTERNAL_H
#define VZ_LOOP_INTERNAL_H
#include <pthread.h>
#include <uv.h>
#include "core/loop.h"
#include "core/metrics.h"

typedef struct vz_post { void (*fn)(void *); void *arg; struct vz_post *next; } vz_post;

struct vz_loop {
  uv_loop_t uv;
  int index;
  pthread_t thread;
  int listen_fd;
  uv_tcp_t listener;
  uv_async_t wake;
  pthread_mutex_t post_lock;
  vz_post *post_head, *post_tail;
  int stopped;                     /* no more posts accepted */
  struct vz_conn *conns;           /* doubly linked, for drain */
  long nconns;
  long holds;
  int draining;
  uv_timer_t drain_timer;
  uint64_t drain_deadline_ns;
  char *read_buf;
  int read_busy;
  void *slots[VZ_MAX_SLOTS];
  char date[40];                   /* cached "Date: ..." value */
  time_t date_sec;
  struct rcache *rcache;           /* respcache.c */
  vz_metrics m;
};
#endif
