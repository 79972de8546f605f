/* server: io threads, listeners, the cross-thread post queue and graceful shutdown.
 * Each io thread runs one libuv loop with its own SO_REUSEPORT listener, so the kernel
 * spreads connections and a loop never hands a connection to another. Sockets are
 * created and bound in the main thread first, so "port in use" fails before start. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop_internal.h"
#include "core/respcache.h"
#include "lib/clock.h"

#define READ_BUF_SIZE 65536
#define MAX_HOOKS 32

static vz_loop *loops;
static int nloops;
static _Thread_local vz_loop *tl_loop;
static atomic_int draining_flag;
static void (*drain_hooks[MAX_HOOKS])(vz_loop *);
static int ndrain_hooks;
static void (*start_hooks[MAX_HOOKS])(vz_loop *);
static int nstart_hooks;
static uv_signal_t sig_term, sig_int;


int vz_loop_count(void) { return nloops; }
vz_loop *vz_loop_get(int i) { return i >= 0 && i < nloops ? &loops[i] : NULL; }
vz_loop *vz_loop_current(void) { return tl_loop; }
int vz_loop_index(const vz_loop *l) { return l->index; }
uv_loop_t *vz_loop_uv(vz_loop *l) { return &l->uv; }
static int nslots;
int vz_loop_slot_new(void) { return nslots < VZ_MAX_SLOTS ? nslots++ : -1; }
void **vz_loop_slot(vz_loop *l, int slot) { return &l->slots[slot]; }
int vz_draining(void) { return atomic_load_explicit(&draining_flag, memory_order_relaxed); }
void vz_loop_hold(vz_loop *l, int delta) { l->holds += delta; }

char *vz_loop_read_buf(vz_loop *l, size_t *len) {
  *len = READ_BUF_SIZE;
  return l->read_buf;
}

int vz_on_drain(void (*fn)(vz_loop *l)) {
  if (ndrain_hooks >= MAX_HOOKS) return -1;
  drain_hooks[ndrain_hooks++] = fn;
  return 0;
}
int vz_on_loop_start(void (*fn)(vz_loop *l)) {
  if (nstart_hooks >= MAX_HOOKS) return -1;
  start_hooks[nstart_hooks++] = fn;
  return 0;
}

int vz_loop_post(vz_loop *l, void (*fn)(void *arg), void *arg) {
  vz_post *p = malloc(sizeof *p);
  if (!p) return -1;
  p->fn = fn;
  p->arg = arg;
  p->next = NULL;
  pthread_mutex_lock(&l->post_lock);
  if (l->stopped) {
    pthread_mutex_unlock(&l->post_lock);
    free(p);
    return -1;
  }
  if (l->post_tail) l->post_tail->next = p;
  else l->post_head = p;
  l->post_tail = p;
  pthread_mutex_unlock(&l->post_lock);
  uv_async_send(&l->wake);
  return 0;
}

/* uv_async_send coalesces: one callback may stand for many posts, so take them all. */
static void on_wake(uv_async_t *a) {
  vz_loop *l = a->data;
  pthread_mutex_lock(&l->post_lock);
  vz_post *p = l->post_head;
  l->post_head = l->post_tail = NULL;
  pthread_mutex_unlock(&l->post_lock);
  while (p) {
    vz_post *next = p->next;
    p->fn(p->arg);
    free(p);
    p = next;
  }
}

static int make_listener_at(const char *bind_addr, int port, int probe_first);
static int make_listener(const char *bind_addr, int port) { return make_listener_at(bind_addr, port, 1); }
static int make_listener_shared(const char *bind_addr, int port) { return make_listener_at(bind_addr, port, 0); }

static int make_listener_at(const char *bind_addr, int port, int probe_first) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t slen;
  int family;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, bind_addr, &s4->sin_addr) == 1) {
    family = AF_INET;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    slen = sizeof *s4;
  } else if (inet_pton(AF_INET6, bind_addr, &s6->sin6_addr) == 1) {
    family = AF_INET6;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    slen = sizeof *s6;
  } else {
    vz_log_error("bad bind address", "bind", bind_addr);
    return -1;
  }
  /* SO_REUSEPORT would let us silently share a port with another server (a stale one,
   * or a second instance by mistake): probe with a plain bind first. */
  int probe = probe_first ? socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
  if (probe >= 0) {
    int yes = 1;
    setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    int taken = bind(probe, (struct sockaddr *)&ss, slen) < 0 && errno == EADDRINUSE;
    close(probe);
    if (taken) {
      char port_s[16];
      snprintf(port_s, sizeof port_s, "%d", port);
      vz_log_error("cannot listen: address in use", "bind", bind_addr, "port", port_s);
      return -1;
    }
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, 4096) < 0) {
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    vz_log_error("cannot listen", "bind", bind_addr, "port", port_s, "error", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static void on_connection(uv_stream_t *server, int status) {
  vz_loop *l = server->data;
  if (status < 0) return;
  vz_conn_accept(l, server);
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* The loop is done when draining and nothing it owns is left (or the deadline passed). */
static void drain_check(uv_timer_t *t) {
  vz_loop *l = t->data;
  int past = vz_mono_ns() >= l->drain_deadline_ns;
  if (past && (l->nconns > 0 || l->holds > 0)) {
    char n[32];
    snprintf(n, sizeof n, "%ld", l->nconns + l->holds);
    vz_log_warn("shutdown deadline: closing what is left", "open", n);
    vz_conn_close_all(l, 1);
    l->holds = 0;
  }
  if (l->nconns == 0 && l->holds == 0) {
    uv_timer_stop(t);
    pthread_mutex_lock(&l->post_lock);
    l->stopped = 1;
    pthread_mutex_unlock(&l->post_lock);
    on_wake(&l->wake); /* run what was posted before we closed the queue */
    uv_walk(&l->uv, close_walk_cb, NULL);
  }
}

static void start_drain(void *arg) {
  vz_loop *l = arg;
  if (l->draining) return;
  l->draining = 1;
  if (!uv_is_closing((uv_handle_t *)&l->listener)) uv_close((uv_handle_t *)&l->listener, NULL);
  if (l->index == 0) {
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
  }
  for (int i = 0; i < ndrain_hooks; i++) drain_hooks[i](l);
  vz_conn_close_all(l, 0); /* idle ones now; busy ones after their reply */
  l->drain_deadline_ns = vz_mono_ns() + (uint64_t)vz_cfg.shutdown_timeout * 1000000000ull;
  uv_timer_start(&l->drain_timer, drain_check, 0, 20);
}

void vz_server_stop(void) {
  int was = atomic_exchange(&draining_flag, 1);
  if (was) return;
  vz_log_info("draining: no new connections, finishing in-flight requests");
  for (int i = 0; i < nloops; i++) vz_loop_post(&loops[i], start_drain, &loops[i]);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  vz_log_info(signum == SIGTERM ? "SIGTERM" : "SIGINT");
  vz_server_stop();
}

static void *loop_thread(void *arg) {
  vz_loop *l = arg;
  tl_loop = l;
  for (int i = 0; i < nstart_hooks; i++) start_hooks[i](l);
  uv_run(&l->uv, UV_RUN_DEFAULT);
  return NULL;
}

static int loop_init(vz_loop *l, int index, int fd) {
  memset(l, 0, sizeof *l);
  l->index = index;
  l->listen_fd = fd;
  if (uv_loop_init(&l->uv)) return -1;
  l->uv.data = l;
  pthread_mutex_init(&l->post_lock, NULL);
  uv_async_init(&l->uv, &l->wake, on_wake);
  l->wake.data = l;
  uv_timer_init(&l->uv, &l->drain_timer);
  l->drain_timer.data = l;
  l->read_buf = malloc(READ_BUF_SIZE);
  if (!l->read_buf) return -1;
  uv_tcp_init(&l->uv, &l->listener);
  l->listener.data = l;
  if (uv_tcp_open(&l->listener, fd) || uv_listen((uv_stream_t *)&l->listener, 4096, on_connection)) return -1;
  return 0;
}

int vz_server_run(void) {
  signal(SIGPIPE, SIG_IGN);
  nloops = vz_cfg.threads;
  loops = calloc((size_t)nloops, sizeof *loops);
  if (!loops) return -1;
  for (int i = 0; i < nloops; i++) {
    /* The probe in make_listener must only run before our own first bind. */
    int fd = i == 0 ? make_listener(vz_cfg.bind, vz_cfg.port) : make_listener_shared(vz_cfg.bind, vz_cfg.port);
    if (fd < 0) {
      for (int k = 0; k < i; k++) close(loops[k].listen_fd);
      free(loops);
      return -1;
    }
    if (loop_init(&loops[i], i, fd) < 0) return -1;
  }
  uv_signal_init(&loops[0].uv, &sig_term);
  uv_signal_init(&loops[0].uv, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  char port_s[16], threads_s[16];
  snprintf(port_s, sizeof port_s, "%d", vz_cfg.port);
  snprintf(threads_s, sizeof threads_s, "%d", nloops);
  vz_log_info("listening", "bind", vz_cfg.bind, "port", port_s, "threads", threads_s);
  for (int i = 1; i < nloops; i++) pthread_create(&loops[i].thread, NULL, loop_thread, &loops[i]);
  loop_thread(&loops[0]);
  for (int i = 1; i < nloops; i++) pthread_join(loops[i].thread, NULL);
  for (int i = 0; i < nloops; i++) {
    while (uv_run(&loops[i].uv, UV_RUN_NOWAIT)) {}
    uv_loop_close(&loops[i].uv);
    vz_respcache_free(&loops[i]);
    free(loops[i].read_buf);
    pthread_mutex_destroy(&loops[i].post_lock);
  }
  free(loops);
  loops = NULL;
  nloops = 0;
  vz_log_info("stopped");
  return 0;
}
