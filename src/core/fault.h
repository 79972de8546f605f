/* fault: fail the Nth allocation, database step or outbound call, in debug builds only
 * (sqlite test/exprfault.test, curl's `runtests.md -t`). The test then asserts that only
 * a success or a clean error envelope came out and that nothing was half-written.
 *
 * Where events are counted (the hook points call vz_fault_hit):
 *   VZ_FAULT_ALLOC  every request-arena allocation (core/arena.c) and every jansson
 *                   allocation (core/json.c, once vz_json_init ran): handlers allocate
 *                   mostly through jansson, so the arena alone would leave most untried
 *   VZ_FAULT_DB     db_step, db_exec, db_begin, db_commit (db/db.c): fails as if the
 *                   database had answered an I/O error (DB_EUNAVAILABLE), or busy / error
 *   VZ_FAULT_CALL   outbound calls: an integration calls vz_fault_hit(VZ_FAULT_CALL) just
 *                   before it sends, and on 1 behaves as if the peer could not be reached
 *
 * Determinism. Background threads (job workers, the bus, replay) allocate and query all
 * the time, so counting every event in the process would make "the 3rd step" depend on
 * timing. Only events inside a handler window count: the dispatcher brackets each
 * handler (and the audit hook after it) with vz_fault_enter / vz_fault_leave on the
 * thread that runs it. Scopes:
 *   request  the next handler window to open claims the arm and counts only its own
 *            events; when it closes the arm is spent, fired or not (the e2e walk)
 *   global   every handler window on every thread counts; the Nth fails, once
 *   thread   every event on the arming thread, in a window or not (unit tests, and
 *            single-threaded commands: VIDZO_FAULT=db:2:thread vidzo migrate)
 * A fault fires once; the event after it succeeds again, so the error path itself runs.
 *
 * Control: VIDZO_FAULT="kind:N[:scope[:code]]" in the environment at start (default
 * scope global), or, with `serve --dev`, the routes of vz_fault_routes_add:
 *   POST   /v1/_debug/fault {"kind":"db","nth":3,"scope":"request","code":"io"}
 *   GET    /v1/_debug/fault   what is armed and what the last claimed request saw
 *   DELETE /v1/_debug/fault   disarm
 * Release builds compile none of it: the calls below are constants the compiler drops. */
#ifndef VZ_FAULT_H
#define VZ_FAULT_H

enum vz_fault_kind { VZ_FAULT_ALLOC = 0, VZ_FAULT_DB, VZ_FAULT_CALL, VZ_FAULT_KINDS };
enum vz_fault_scope { VZ_FAULT_REQUEST = 0, VZ_FAULT_GLOBAL, VZ_FAULT_THREAD };
/* What a failed database event returns (db.h codes): what a real outage would map to. */
enum vz_fault_code { VZ_FAULT_IO = 0, VZ_FAULT_BUSY, VZ_FAULT_ERROR };

typedef struct vz_fault_spec {
  int kind, scope, code;
  long nth; /* 1: the first event fails */
} vz_fault_spec;

/* What the last request-scoped arm saw, for the test that armed it. */
typedef struct vz_fault_report {
  int valid;      /* a request claimed an arm since the last vz_fault_arm */
  int fired;      /* the Nth event came and failed */
  long seen;      /* events of the armed kind in that request (all of them, fired or not) */
  char route[96]; /* "POST /v1/auth/signup" */
} vz_fault_report;

#ifdef VZ_DEBUG
/* Parses "db:3", "alloc:12:request", "db:1:global:busy". 0, or -1 on a bad spec. */
int vz_fault_parse(const char *s, vz_fault_spec *out);
const char *vz_fault_kind_name(int kind);
/* Arms one fault (replacing any armed before, including this thread's); disarm clears all. */
void vz_fault_arm(const vz_fault_spec *spec);
void vz_fault_disarm(void);
void vz_fault_last(vz_fault_report *out);
/* Reads VIDZO_FAULT. 0, or -1 on a bad VIDZO_FAULT. */
int vz_fault_init(void);
/* The handler window on this thread: route is "METHOD /path" of the handler, for the report. */
void vz_fault_enter(const char *method, const char *path);
void vz_fault_leave(void);
/* 1: this event must fail (the caller then behaves as the real failure would). */
int vz_fault_hit(int kind);
/* The db.h code a failed VZ_FAULT_DB event returns. */
int vz_fault_db_code(void);
/* Registers the /v1/_debug/fault routes (serve --dev only). */
int vz_fault_routes_add(void);
#else
static inline int vz_fault_init(void) { return 0; }
static inline void vz_fault_enter(const char *method, const char *path) { (void)method; (void)path; }
static inline void vz_fault_leave(void) {}
static inline int vz_fault_hit(int kind) { (void)kind; return 0; }
static inline int vz_fault_db_code(void) { return 0; }
#endif
#endif
