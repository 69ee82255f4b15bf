/*
 * What the two parts of the native addon share: the socket record of udp_batch.c, which
 * durable_commit.c sends on from a thread-pool thread, and the address parsing.
 */
#ifndef AAAPROXY_UDP_BATCH_H
#define AAAPROXY_UDP_BATCH_H
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 32
/* RFC 2865 §3: a packet is at most 4096 octets; nothing past that is ever needed. One more
   octet is read so that the decoder still sees a longer datagram as too long. */
#define MAX_DATAGRAM 4096
#define READ_SIZE (MAX_DATAGRAM + 1)
#define SEND_ARENA (64 * 1024)
/* Per received datagram in the shared metadata array: offset, length, port. */
#define META_WORDS 3
/* Batches read per readiness event before other handles get their turn. */
#define MAX_ROUNDS 4

typedef struct sock_s sock_t;

typedef struct {
  /* > 0 while a batch callback runs: its sends are flushed when it returns. */
  int depth;
  /* Set when a send outside a batch asked JavaScript for a flush (setImmediate). */
  int flush_requested;
  sock_t *pending;
} instance_t;

struct sock_s {
  uv_poll_t poll;
  int fd;
  int family;
  int closed;
  napi_env env;
  instance_t *inst;
  napi_ref on_batch;
  napi_ref resource;
  napi_ref meta_ref;
  uint32_t *meta;
  napi_ref addrs_ref;
  napi_async_context async_ctx;
  /* The last peer address seen and its JavaScript string: peers repeat. */
  struct sockaddr_storage last_peer;
  napi_ref last_peer_string;
  /* Receive buffers. */
  struct mmsghdr rmsgs[BATCH];
  struct iovec riov[BATCH];
  struct sockaddr_storage raddr[BATCH];
  unsigned char rbuf[BATCH][READ_SIZE];
  /* Queued sends. */
  struct mmsghdr smsgs[BATCH];
  struct iovec siov[BATCH];
  struct sockaddr_storage saddr[BATCH];
  unsigned char sarena[SEND_ARENA];
  size_t sused;
  int scount;
  int in_pending;
  sock_t *next_pending;
  /* Durable commits in flight that will send on this socket (durable_commit.c): while any
     is, closing the socket stops reading but keeps the descriptor open. Loop thread only. */
  int users;
  int close_deferred;
  /* Closed and its resources released; the JavaScript handle still points here until collected. */
  int released;
  int handle_alive;
};

/* In a Node-API function: on a failed call, throw and return. */
#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      napi_throw_error(env, NULL, #call " failed");   \
      return NULL;                                    \
    }                                                 \
  } while (0)

/* Parses "a.b.c.d" or an IPv6 literal and port into a sockaddr of the socket's family. */
int to_sockaddr(int family, const char *address, int port, struct sockaddr_storage *ss, socklen_t *len);
/* The socket behind a handle from open(), or NULL. */
sock_t *get_sock(napi_env env, napi_value v);
/* A durable commit that used the socket ended: frees it if it was closed meanwhile. */
void sock_unuse(sock_t *s);
/* Adds commitOpen and commitWrite to the exports (durable_commit.c). */
void register_durable_commit(napi_env env, napi_value exports);

#endif
