/* payments/provider.c: the registry of payment providers (provider.h). Filled from the
 * services' .init calls, which run on one thread before any worker starts; read-only
 * afterwards, so lookups need no lock. */
#include "services/payments/provider.h"

#include <string.h>

#define PAY_PROVIDERS_MAX 8

static const pay_provider *providers[PAY_PROVIDERS_MAX];
static int nproviders;

int pay_provider_register(const pay_provider *p) {
  if (!p || !p->name || !p->create || !p->ready || !p->webhook) return -1;
  if (pay_provider_find(p->name) || nproviders == PAY_PROVIDERS_MAX) return -1;
  providers[nproviders++] = p;
  return 0;
}

const pay_provider *pay_provider_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < nproviders; i++)
    if (strcmp(providers[i]->name, name) == 0) return providers[i];
  return NULL;
}
