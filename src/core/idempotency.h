/* idempotency: the request transaction. A route (on the pool) flagged VZ_AUDIT or
 * VZ_IDEMPOTENT runs its handler inside one database transaction the dispatcher opens,
 * so what the route records about the change commits with the change or not at all:
 *
 *   BEGIN                                (db_begin; the handler's own begins nest as savepoints)
 *     claim the Idempotency-Key          (VZ_IDEMPOTENT with the header: replay / 422 end here)
 *     handler                            (status >= 400: ROLLBACK of everything it wrote)
 *     audit row                          (VZ_AUDIT, 2xx: vz_hook.audit)
 *     store the answer under the key     (VZ_IDEMPOTENT)
 *   COMMIT                               (fails: ROLLBACK, the answer becomes 503/500)
 *
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): 1..255 printable ASCII,
 * scoped to (user, route); signed-in callers only. The first request with a key runs; its
 * answer (status, the headers the handler set, body) is stored in the same transaction;
 * the same key with the same request (SHA-256 over method, path, query and the body's
 * canonical JSON) gets that answer again with `Idempotent-Replayed: true`; the same key
 * with a different request gets 422 idempotency_key_reused. A duplicate that arrives while
 * the first is still running waits for it (the claim is a row insert on the key, which
 * blocks on the first's uncommitted row) and then replays its answer, or runs if the first
 * failed: failures (>= 400) are rolled back and never stored, so a retry runs again.
 * Records live 24 hours (VZ_IDEM_TTL_MS); an expired one counts as absent. */
#ifndef VZ_IDEMPOTENCY_H
#define VZ_IDEMPOTENCY_H
#include "core/http.h"

#define VZ_IDEM_TTL_MS (24LL * 3600 * 1000)
#define VZ_IDEM_KEY_MAX 255

/* On the loop, before the request goes to the pool: a malformed, repeated or anonymous
 * Idempotency-Key gets 400 (field "Idempotency-Key"). 0: go on; else replied. */
int vz_idem_check_or_fail(vz_req *req);

/* On the worker, with req->db: runs the route's handler inside the request transaction
 * (above). Returns the reply's status. */
int vz_tx_run(vz_req *req);
/* Request transactions run again after a busy loss (for /metrics). */
long long vz_tx_busy_reruns(void);

/* Lowercase hex SHA-256 of the request as the key compares it. 0, or <0 out of memory. */
int vz_idem_request_hash(vz_req *req, char out[65]);

/* Deletes expired records, at most once a minute per process (whichever worker comes
 * first does it, outside any request transaction). A record is also ignored once expired,
 * so the sweep only bounds the table; it does not decide what a key means. */
void vz_idem_sweep(vz_db *db);
int vz_idem_delete_expired(vz_db *db, int64_t now_ms); /* the sweep's statement; <0 DB_* */
/* A deleted account's stored answers go with it (they hold what it submitted): call it in
 * the deletion's transaction. 0 or <0 DB_*. */
int vz_idem_forget_user(vz_db *db, int64_t user_id);
#endif
