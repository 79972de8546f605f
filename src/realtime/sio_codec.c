/* sio_codec: Socket.IO v5 packet encoder/decoder (see sio_codec.h for the format).
 * Decoding follows the reference parser's grammar but is stricter where it is lax:
 * the attachment count and ack id must be plain digits and in range, and the
 * namespace is bounded. */
#include "realtime/sio_codec.h"

#include <stdlib.h>
#include <string.h>

int sio_event_reserved(const char *name) {
  static const char *const reserved[] = { "connect", "connect_error", "disconnect",
                                          "disconnecting", "newListener", "removeListener" };
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
    if (strcmp(name, reserved[i]) == 0) return 1;
  return 0;
}

static int payload_valid(int type, const json_t *d) {
  switch (type) {
  case SIO_CONNECT: return d == NULL || json_is_object(d);
  case SIO_DISCONNECT: return d == NULL;
  case SIO_CONNECT_ERROR: return json_is_object(d) || json_is_string(d);
  case SIO_EVENT:
  case SIO_BINARY_EVENT:
    return json_is_array(d) && json_array_size(d) > 0 &&
           (json_is_integer(json_array_get(d, 0)) ||
            (json_is_string(json_array_get(d, 0)) &&
             !sio_event_reserved(json_string_value(json_array_get(d, 0)))));
  case SIO_ACK:
  case SIO_BINARY_ACK: return json_is_array(d);
  }
  return 0;
}

int sio_packet_decode(const char *s, size_t n, sio_packet *out) {
  size_t i = 0;
  memset(out, 0, sizeof *out);
  out->ack_id = -1;
  if (n == 0 || s[0] < '0' || s[0] > '6') return -1;
  out->type = s[i++] - '0';
  if (out->type == SIO_BINARY_EVENT || out->type == SIO_BINARY_ACK) {
    int a = 0, digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      a = a * 10 + (s[i++] - '0');
      if (++digits > 3 || a > SIO_MAX_ATTACHMENTS) return -2;
    }
    if (!digits || i >= n || s[i] != '-') return -2;
    i++;
    out->attachments = a;
  }
  if (i < n && s[i] == '/') {
    size_t start = i;
    while (i < n && s[i] != ',') i++;
    size_t len = i - start;
    if (len > SIO_MAX_NSP || memchr(s + start, 0, len)) return -3;
    memcpy(out->nsp, s + start, len);
    out->nsp_len = len;
    if (i < n) i++; /* the comma */
  } else {
    out->nsp[0] = '/';
    out->nsp_len = 1;
  }
  if (i < n && s[i] >= '0' && s[i] <= '9') {
    int64_t id = 0;
    int digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (++digits > 16) return -4;
      id = id * 10 + (s[i++] - '0');
    }
    if (id > SIO_ACK_MAX) return -4;
    /* Only events ask for acks and only acks carry an id back. */
    if (out->type == SIO_CONNECT || out->type == SIO_DISCONNECT || out->type == SIO_CONNECT_ERROR)
      return -4;
    out->ack_id = id;
  } else if (out->type == SIO_ACK || out->type == SIO_BINARY_ACK) {
    return -4; /* an ACK without an id answers nothing */
  }
  if (i < n) {
    json_error_t err;
    out->data = json_loadb(s + i, n - i, JSON_DECODE_ANY, &err);
    if (!out->data) return -5;
  }
  if (!payload_valid(out->type, out->data)) {
    sio_packet_clear(out);
    return -6;
  }
  if (out->attachments && sio_placeholders_check(out->data, out->attachments) < 0) {
    sio_packet_clear(out);
    return -7;
  }
  return 0;
}

void sio_packet_clear(sio_packet *p) {
  if (p->data) json_decref(p->data);
  p->data = NULL;
}

long sio_packet_encode(int type, const char *nsp, int64_t ack_id, int attachments,
                       const json_t *data, size_t headroom, char **buf) {
  char head[64 + SIO_MAX_NSP];
  size_t h = 0, nl = nsp ? strlen(nsp) : 0;
  *buf = NULL;
  if (nl > SIO_MAX_NSP || type < 0 || type > 6) return -1;
  head[h++] = (char)('0' + type);
  if (type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK)
    h += (size_t)snprintf(head + h, 16, "%d-", attachments);
  if (nl && !(nl == 1 && nsp[0] == '/')) {
    memcpy(head + h, nsp, nl);
    h += nl;
    head[h++] = ',';
  }
  if (ack_id >= 0) h += (size_t)snprintf(head + h, 24, "%lld", (long long)ack_id);
  size_t jl = data ? json_dumpb(data, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) : 0;
  if (data && jl == 0) return -1;
  char *b = malloc(headroom + h + jl + 1);
  if (!b) return -1;
  memcpy(b + headroom, head, h);
  if (data && json_dumpb(data, b + headroom + h, jl, JSON_COMPACT | JSON_ENCODE_ANY) != jl) {
    free(b);
    return -1;
  }
  b[headroom + h + jl] = 0;
  *buf = b;
  return (long)(h + jl);
}

json_t *sio_placeholder(int num) {
  return json_pack("{s:b,s:i}", "_placeholder", 1, "num", num);
}

int sio_placeholder_num(const json_t *v) {
  if (!json_is_object(v) || json_object_size(v) != 2) return -1;
  if (!json_is_true(json_object_get(v, "_placeholder"))) return -1;
  const json_t *num = json_object_get(v, "num");
  if (!json_is_integer(num) || json_integer_value(num) < 0 || json_integer_value(num) > 1 << 20)
    return -1;
  return (int)json_integer_value(num);
}

static int walk(const json_t *v, int attachments, uint32_t *seen, int depth) {
  if (depth > 64) return -1;
  if (json_is_object(v)) {
    if (json_object_get(v, "_placeholder")) {
      int num = sio_placeholder_num(v);
      if (num < 0 || num >= attachments || (*seen & (1u << num))) return -1;
      *seen |= 1u << num;
      return 0;
    }
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)v, k, c) if (walk(c, attachments, seen, depth + 1)) return -1;
  } else if (json_is_array(v)) {
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c) if (walk(c, attachments, seen, depth + 1)) return -1;
  }
  return 0;
}

int sio_placeholders_check(const json_t *data, int attachments) {
  uint32_t seen = 0;
  if (attachments < 0 || attachments > SIO_MAX_ATTACHMENTS) return -1;
  if (walk(data, attachments, &seen, 0)) return -1;
  return seen == (attachments ? (1u << attachments) - 1 : 0) ? 0 : -1;
}
