/* Fuzz target: the PayPal webhook check on hostile headers and body. The input is split
 * at the first four newlines into transmission id, time, signature, auth algo and body;
 * a real certificate (made once) checks it. Invariant: no crash, leak or over-read, and
 * nothing verifies (the fuzzer cannot forge RSA-SHA256). Also the cert URL allow-list
 * and the message builder on the same bytes. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "integrations/paypal.h"

static char *pem;
static size_t pemlen;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  EVP_PKEY *k = EVP_RSA_gen(2048);
  X509 *x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, k);
  X509_sign(x, k, EVP_sha256());
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char *p;
  long n = BIO_get_mem_data(b, &p);
  pem = malloc((size_t)n);
  memcpy(pem, p, (size_t)n);
  pemlen = (size_t)n;
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(k);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = 0;
  char *f[5] = { buf, "", "", "", "" };
  char *p = buf;
  for (int i = 1; i < 5 && (p = strchr(p, '\n')); i++) { *p++ = 0; f[i] = p; }
  const char *body = f[4];
  paypal_wh_headers h = { f[0], f[1], f[2], "https://api.paypal.com/c", f[3] };
  if (paypal_webhook_verify_pem(&h, "WH-FUZZ", body, strlen(body), pem, pemlen) == PAYPAL_WH_OK) abort();
  (void)paypal_cert_url_allowed(f[0], f[1], f[2]);
  char msg[512];
  (void)paypal_webhook_message(f[0], f[1], "WH", body, strlen(body), msg, sizeof msg);
  int64_t v;
  (void)paypal_amount_parse(f[1], f[2], &v);
  free(buf);
  return 0;
}
