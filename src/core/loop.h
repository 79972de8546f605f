/* loop: the io threads. One libuv loop per thread, each with its own SO_REUSEPORT
 * listener, owns its connections for life. Other threads talk to a loop only through
 * vz_loop_post, which queues a call and wakes the loop (uv_async coalesces wakeups,
 * so the loop drains the whole queue each time). */
#ifndef VZ_LOOP_H
#define VZ_LOOP_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct vz_loop vz_loop;
typedef struct vz_req vz_req;

int vz_loop_count(void);
vz_loop *vz_loop_get(int i);
vz_loop *vz_loop_current(void);     /* NULL off the io threads */
int vz_loop_index(const vz_loop *l);
uv_loop_t *vz_loop_uv(vz_loop *l);
/* Runs fn(arg) on loop l's thread, soon. Safe from any thread. 0, or <0 when stopped. */
int vz_loop_post(vz_loop *l, void (*fn)(void *arg), void *arg);
/* A 64 KB buffer shared by all reads of this loop: valid only inside a read callback. */
char *vz_loop_read_buf(vz_loop *l, size_t *len);
/* Per-loop slots for modules' state (realtime sessions, rooms...): a module takes one
 * at init (before serve) and keeps the index; -1 when all VZ_MAX_SLOTS are taken. */
#define VZ_MAX_SLOTS 16
int vz_loop_slot_new(void);
void **vz_loop_slot(vz_loop *l, int slot);

/* Called on every loop (on its thread) when draining starts: close what you own.
 * Both return <0 when the hook table (32) is full: start-up must fail, not lose a hook. */
int vz_on_drain(void (*fn)(vz_loop *l));
/* Called on every loop just before it starts running. */
int vz_on_loop_start(void (*fn)(vz_loop *l));
int vz_draining(void);
/* Keep the loop's drain from finishing while >0 (realtime sessions count themselves). */
void vz_loop_hold(vz_loop *l, int delta);

/* Takes over the TCP connection of an HTTP request (WebSocket upgrade). Returns the
 * handle; rest and rest_len receive the bytes read after the request (malloc'd, caller frees).
 * The core forgets the connection but for its memory: close it with
 * vz_conn_close_detached, which frees it after uv_close. */
uv_tcp_t *vz_conn_detach(vz_req *req, char **rest, size_t *rest_len);
void vz_conn_close_detached(uv_tcp_t *h);
/* handle->data is yours after detach; this keeps the core's own pointer. */

/* Server lifecycle (main.c). */
int vz_server_run(void);            /* blocks until shutdown; 0 on a clean drain */
void vz_server_stop(void);          /* begin graceful shutdown (what SIGTERM does) */
#endif
