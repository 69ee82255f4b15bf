/*
 * MD5 (RFC 1321) for the benchmark's accounting responder: the Response Authenticator of
 * RFC 2866 §3.
 */
#ifndef AAAPROXY_MD5_H
#define AAAPROXY_MD5_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t state[4];
  uint64_t length;
  unsigned char tail[64];
  size_t tail_length;
} md5_t;

void md5_init(md5_t *m);
void md5_update(md5_t *m, const void *data, size_t n);
void md5_final(md5_t *m, unsigned char out[16]);

#endif
