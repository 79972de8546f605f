/* account.c: account rows: creation, lookup for sign-in, the CLI's admin creation and
 * deletion. Uniqueness of email and handle is enforced by the database (UNIQUE on the
 * lower-cased columns), not by a prior SELECT, so two concurrent sign-ups cannot both win.
 * Deletion is one event (core/events.h, VZ_EV_USER_DELETED): users_delete marks the row
 * and emits it in the same transaction, and each service, this one included
 * (users_on_deleted), removes its own part, so nothing here writes another's tables. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/events.h"
#include "db/db.h"
#include "services/audit/audit.h"
#include "services/auth/auth.h"
#include "services/media/media.h"
#include "services/auth/password.h"
#include "services/users/internal.h"

void users_fail(users_err *e, int status, const char *code, const char *field, const char *fmt,
                ...) {
  va_list ap;
  if (!e) return;
  e->status = status, e->code = code, e->field = field;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

json_t *users_json_id(int64_t id) {
  char s[24];
  snprintf(s, sizeof s, "%lld", (long long)id);
  return json_string(s);
}

int users_parse_id(const char *s, int64_t *out) {
  char *end = NULL;
  if (!s || !*s || !isdigit((unsigned char)*s)) return -1;
  long long v = strtoll(s, &end, 10);
  if (*end || v <= 0) return -1;
  *out = v;
  return 0;
}

int users_email_normalize(const char *in, char out[USERS_EMAIL_MAX + 1], users_err *e) {
  size_t n = in ? strlen(in) : 0;
  const char *at = in ? strchr(in, '@') : NULL;
  if (!in || n < 3 || n > USERS_EMAIL_MAX || !at || at == in || (size_t)(at - in) > 64 ||
      strchr(at + 1, '@') || !strchr(at + 1, '.') || at[1] == '.' || in[n - 1] == '.') {
    users_fail(e, 400, "invalid_argument", "email", "email must look like name@example.com");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == ',') {
      users_fail(e, 400, "invalid_argument", "email", "email must not contain spaces or <>,\"");
      return -1;
    }
    out[i] = (char)tolower(c);
  }
  out[n] = 0;
  return 0;
}

/* Handles that would pass for the platform speaking: staff roles, system words and our
 * own name. Compared ignoring case and the '.' and '_' separators, so "Ad.Min" and
 * "VIDZO_" are refused too. A short list on purpose: it guards impersonation, it is not
 * a profanity filter. */
static const char *const reserved_handles[] = {
  "admin", "administrator", "root", "system", "sysadmin", "support", "help", "helpdesk",
  "vidzo", "vidzoteam", "vidzosupport", "staff", "official", "moderator", "mod", "api",
  "www", "mail", "null", "undefined", "anonymous", "security", "abuse", "postmaster",
  "webmaster", "hostmaster", "noreply", "billing", "legal", "team", NULL };

static int handle_reserved(const char *h) {
  char bare[USERS_HANDLE_MAX + 1];
  size_t n = 0;
  for (; *h && n < USERS_HANDLE_MAX; h++)
    if (*h != '.' && *h != '_') bare[n++] = (char)tolower((unsigned char)*h);
  bare[n] = 0;
  for (int i = 0; reserved_handles[i]; i++)
    if (!strcmp(bare, reserved_handles[i])) return 1;
  return 0;
}

int users_handle_check(const char *h, users_err *e) {
  size_t n = h ? strlen(h) : 0;
  if (n < USERS_HANDLE_MIN || n > USERS_HANDLE_MAX) {
    users_fail(e, 400, "invalid_argument", "handle", "handle must be 3 to 30 characters");
    return -1;
  }
  if (!isalnum((unsigned char)h[0])) {
    users_fail(e, 400, "invalid_argument", "handle", "handle must start with a letter or digit");
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)h[i]) && h[i] != '_' && h[i] != '.') {
      users_fail(e, 400, "invalid_argument", "handle",
                 "handle may contain only letters, digits, '_' and '.'");
      return -1;
    }
  if (handle_reserved(h)) {
    /* 409 like a taken handle: well-formed, but not available to anyone */
    users_fail(e, 409, "handle_reserved", "handle", "that handle is reserved; choose another");
    return -1;
  }
  return 0;
}

static void lower(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++) out[i] = (char)tolower((unsigned char)in[i]);
  out[i] = 0;
}

#define ACCOUNT_COLS                                                                         \
  "SELECT id, role, email_verified, totp_enabled, deleted_at, totp_last_step, email,"        \
  " password_hash, totp_secret, suspended_at, suspended_until FROM users "

static int account_row(vz_stmt *st, int rc, users_account *a) {
  memset(a, 0, sizeof *a);
  if (rc < 0) return USERS_EDB;
  if (rc != DB_ROW) return USERS_ENOTFOUND;
  a->id = db_col_int(st, 0);
  a->role = auth_role_from_name(db_col_text(st, 1));
  a->email_verified = (int)db_col_int(st, 2);
  a->totp_enabled = (int)db_col_int(st, 3);
  a->deleted = !db_col_is_null(st, 4);
  a->totp_last_step = db_col_int(st, 5);
  if (!db_col_is_null(st, 6)) snprintf(a->email, sizeof a->email, "%s", db_col_text(st, 6));
  if (!db_col_is_null(st, 7))
    snprintf(a->password_hash, sizeof a->password_hash, "%s", db_col_text(st, 7));
  if (!db_col_is_null(st, 8))
    snprintf(a->totp_secret, sizeof a->totp_secret, "%s", db_col_text(st, 8));
  if (!db_col_is_null(st, 9)) { /* suspended; NULL until: until lifted; a past one has ended */
    int64_t until = db_col_is_null(st, 10) ? INT64_MAX : db_col_int(st, 10);
    a->suspended_until = until > db_now_ms() ? until : 0;
  }
  return USERS_OK;
}

int users_account_by_email(vz_db *db, const char *email_lower, users_account *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, ACCOUNT_COLS "WHERE email_lower = $1", "s", email_lower);
  rc = account_row(st, rc, out);
  if (st) db_finalize(st);
  return rc;
}

int users_account_by_id(vz_db *db, int64_t id, users_account *out) {
  vz_stmt *st = NULL;
  int rc = db_run(db, &st, ACCOUNT_COLS "WHERE id = $1", "i", id);
  rc = account_row(st, rc, out);
  if (st) db_finalize(st);
  return rc;
}

int users_create(vz_db *db, const char *email, int email_verified, const char *password_hash,
                 const char *handle, const char *display_name, int64_t *id_out, users_err *e) {
  char el[USERS_EMAIL_MAX + 1], hl[USERS_HANDLE_MAX + 1];
  int64_t id = db_id_new(), now = db_now_ms();
  if (users_email_normalize(email, el, e) != 0) return USERS_EINVALID;
  if (handle && users_handle_check(handle, e) != 0) return USERS_EINVALID;
  if (handle) lower(handle, hl, sizeof hl);
  vz_stmt *st = NULL;
  int rc = db_prepare(db,
                      "INSERT INTO users (id, email, email_lower, email_verified, password_hash,"
                      " role, handle, handle_lower, display_name, created_at, updated_at)"
                      " VALUES ($1, $2, $3, $4, $5, 'user', $6, $7, $8, $9, $10)",
                      &st);
  if (rc < 0) goto dberr;
  db_bind_int(st, 1, id);
  db_bind_text(st, 2, email, -1);
  db_bind_text(st, 3, el, -1);
  db_bind_int(st, 4, email_verified ? 1 : 0);
  if (password_hash) db_bind_text(st, 5, password_hash, -1);
  else db_bind_null(st, 5);
  if (handle) {
    db_bind_text(st, 6, handle, -1);
    db_bind_text(st, 7, hl, -1);
  } else {
    db_bind_null(st, 6);
    db_bind_null(st, 7);
  }
  db_bind_text(st, 8, display_name ? display_name : "", -1);
  db_bind_int(st, 9, now);
  db_bind_int(st, 10, now);
  rc = db_step(st);
  db_finalize(st);
  if (rc == DB_ECONSTRAINT) {
    users_fail(e, 409, "conflict", handle ? "handle" : "email",
               handle ? "that handle or email is already in use" : "that email is already in use");
    return USERS_ECONFLICT;
  }
  if (rc < 0) goto dberr;
  if (id_out) *id_out = id;
  return USERS_OK;
dberr:
  users_fail(e, 503, "unavailable", NULL, "database unavailable");
  return USERS_EDB;
}

int users_admin_create(vz_db *db, const char *email, const char *password, int if_missing,
                       char *err, size_t errlen) {
  users_err e = {0};
  users_account a;
  char el[USERS_EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
  const char *msg = NULL;
  int64_t id = 0;
  if (users_email_normalize(email, el, &e) != 0) goto fail;
  int rc = users_account_by_email(db, el, &a);
  if (rc == USERS_OK) {
    if (if_missing) return 0;
    snprintf(err, errlen, "an account with email %s already exists", el);
    return -1;
  }
  if (rc != USERS_ENOTFOUND) {
    snprintf(err, errlen, "database error: %s", db_errmsg(db));
    return -1;
  }
  if (password_check_rules(password, &msg) != 0) {
    snprintf(err, errlen, "%s", msg);
    return -1;
  }
  if (password_hash(password, hash) != 0) {
    snprintf(err, errlen, "password hashing failed");
    return -1;
  }
  if (db_begin(db) < 0) {
    snprintf(err, errlen, "database error: %s", db_errmsg(db));
    return -1;
  }
  if (users_create(db, email, 1, hash, NULL, "Admin", &id, &e) != USERS_OK) {
    db_rollback(db);
    goto fail;
  }
  if (db_run(db, NULL, "UPDATE users SET role = 'admin' WHERE id = $1", "i", id) < 0 ||
      audit_record(db, 0, "user.admin_create", "user", id, NULL) < 0 || db_commit(db) < 0) {
    db_rollback(db);
    snprintf(err, errlen, "database error: %s", db_errmsg(db));
    return -1;
  }
  return 0;
fail:
  snprintf(err, errlen, "%s", e.message);
  return -1;
}

int users_delete(vz_db *db, int64_t uid, int64_t actor, users_err *e) {
  int64_t now = db_now_ms();
  vz_stmt *st = NULL;
  char avatar[128] = "";
  int rc = db_begin(db);
  if (rc < 0) goto dberr;
  /* The mark is the guard: of two concurrent deletions one changes the row, the other
   * finds it deleted (404). RETURNING hands over the avatar key before users_on_deleted
   * forgets it, for media to delete the file. */
  rc = db_run(db, &st, "UPDATE users SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL"
              " RETURNING avatar_key", "ii", now, uid);
  int found = rc == DB_ROW;
  if (found && !db_col_is_null(st, 0)) snprintf(avatar, sizeof avatar, "%s", db_col_text(st, 0));
  if (st) db_finalize(st);
  if (rc < 0) goto rollback;
  if (!found) {
    db_rollback(db);
    users_fail(e, 404, "not_found", NULL, "no such user");
    return USERS_ENOTFOUND;
  }
  vz_ev_user_deleted ev = { .user_id = uid, .actor_id = actor, .avatar_key = avatar[0] ? avatar : NULL };
  if ((rc = vz_event_emit(db, VZ_EV_USER_DELETED, &ev)) < 0 ||
      (rc = audit_record(db, actor, "user.delete", "user", uid, NULL)) < 0 || (rc = db_commit(db)) < 0)
    goto rollback;
  return USERS_OK;
rollback:
  db_rollback(db);
dberr:
  if (rc == DB_EBUSY || rc == DB_EUNAVAILABLE)
    users_fail(e, 503, "unavailable", NULL, "database unavailable");
  else /* a statement or a subscriber failed otherwise: retrying will not help */
    users_fail(e, 500, "internal", NULL, "the account could not be deleted");
  return USERS_EDB;
}

/* users' part of a deletion (VZ_EV_USER_DELETED, in the deletion's transaction): the
 * personal data of the row goes (the row stays so orders and payouts keep their buyer or
 * seller), and so do the follow and block edges, with the counts of the people on their
 * other end, and the push devices. */
static int users_on_deleted(vz_db *db, const vz_event *ev) {
  int64_t uid = ev->user_deleted.user_id;
  int rc;
  vz_stmt *st = NULL;
  /* the avatar claimed through the upload flow: released in this transaction (media's
   * job deletes its files once the deletion committed) */
  rc = db_run(db, &st, "SELECT avatar_media_id FROM users WHERE id = $1", "i", uid);
  int64_t avatar_media = rc == DB_ROW && !db_col_is_null(st, 0) ? db_col_int(st, 0) : 0;
  db_finalize(st);
  if (rc < 0) return rc;
  if (avatar_media && (rc = media_release(db, avatar_media)) < 0) return rc;
  if ((rc = db_run(db, NULL,
                   "UPDATE users SET email = NULL, email_lower = NULL, email_verified = 0,"
                   " phone = NULL, phone_verified = 0, password_hash = NULL, handle = NULL,"
                   " handle_lower = NULL, display_name = $1, bio = '', avatar_key = NULL, avatar_media_id = NULL,"
                   " links = '[]', totp_secret = NULL, totp_enabled = 0, followers_count = 0,"
                   " following_count = 0, suspended_at = NULL, suspended_until = NULL WHERE id = $2",
                   "si", "Deleted user", uid)) < 0 ||
      (rc = db_run(db, NULL,
                   "UPDATE users SET followers_count = followers_count - 1 WHERE id IN"
                   " (SELECT followee_id FROM follows WHERE follower_id = $1)", "i", uid)) < 0 ||
      (rc = db_run(db, NULL,
                   "UPDATE users SET following_count = following_count - 1 WHERE id IN"
                   " (SELECT follower_id FROM follows WHERE followee_id = $1)", "i", uid)) < 0 ||
      (rc = db_run(db, NULL, "DELETE FROM follows WHERE follower_id = $1 OR followee_id = $1", "i", uid)) < 0 ||
      (rc = db_run(db, NULL, "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1", "i", uid)) < 0 ||
      (rc = db_run(db, NULL, "DELETE FROM device_tokens WHERE user_id = $1", "i", uid)) < 0)
    return rc;
  return 0;
}

const vz_subscription users_on[] = {
  { VZ_EV_USER_DELETED, users_on_deleted, VZ_EV_IN_TX },
  { 0 },
};
