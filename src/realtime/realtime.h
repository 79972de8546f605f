/* realtime: the real-time gateway as a module: WebSocket (ws), Engine.IO (eio),
 * Socket.IO (sio), rooms, recovery, presence. Services use sio.h; main.c sees only the
 * descriptor. */
#ifndef VZ_REALTIME_H
#define VZ_REALTIME_H
extern const struct vz_service realtime_service;
#endif
