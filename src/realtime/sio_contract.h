/* sio_contract: the AsyncAPI 3.0 document of the declared Socket.IO events (`vidzo
 * asyncapi`, docs/asyncapi.yaml): per namespace a channel; per client event a receive
 * operation whose payload is the declared input and whose reply is the ack; per
 * SIO_EMITTED row a send operation (what clients get, and in which room). Schemas are
 * the HTTP contract's (core/contract.h), so an event and a route that answer the same
 * object say so once. */
#ifndef VZ_SIO_CONTRACT_H
#define VZ_SIO_CONTRACT_H
#include <jansson.h>

#include "core/service.h"

/* New reference; problems as vz_openapi's. NULL on a schemas.json error. */
json_t *sio_asyncapi(const vz_service *const *list, json_t *problems);
#endif
