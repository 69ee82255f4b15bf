/*
 * MD5 per RFC 1321 §3, written from the RFC. Its answers are checked by the load generator,
 * which verifies every reply's authenticator, and by test/integration/bench-responder.test.ts.
 */
#include "md5.h"

#include <string.h>

/* RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i))), i = 1..64. */
static const uint32_t T[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
/* RFC 1321 §3.4: the shift amounts of each round. */
static const unsigned char S[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void compress(uint32_t state[4], const unsigned char block[64]) {
  uint32_t x[16];
  for (int i = 0; i < 16; i++)
    x[i] = (uint32_t)block[i * 4] | (uint32_t)block[i * 4 + 1] << 8 | (uint32_t)block[i * 4 + 2] << 16 | (uint32_t)block[i * 4 + 3] << 24;
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int k;
    int round = i >> 4;
    switch (round) {
      case 0: f = (b & c) | (~b & d); k = i; break;
      case 1: f = (b & d) | (c & ~d); k = (5 * i + 1) & 15; break;
      case 2: f = b ^ c ^ d; k = (3 * i + 5) & 15; break;
      default: f = c ^ (b | ~d); k = (7 * i) & 15; break;
    }
    uint32_t t = a + f + x[k] + T[i];
    a = d;
    d = c;
    c = b;
    b = b + ROTL(t, S[round][i & 3]);
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

void md5_init(md5_t *m) {
  /* RFC 1321 §3.3 */
  m->state[0] = 0x67452301;
  m->state[1] = 0xefcdab89;
  m->state[2] = 0x98badcfe;
  m->state[3] = 0x10325476;
  m->length = 0;
  m->tail_length = 0;
}

void md5_update(md5_t *m, const void *data, size_t n) {
  const unsigned char *p = data;
  m->length += n;
  if (m->tail_length) {
    size_t take = 64 - m->tail_length < n ? 64 - m->tail_length : n;
    memcpy(m->tail + m->tail_length, p, take);
    m->tail_length += take;
    p += take;
    n -= take;
    if (m->tail_length < 64) return;
    compress(m->state, m->tail);
    m->tail_length = 0;
  }
  for (; n >= 64; p += 64, n -= 64) compress(m->state, p);
  memcpy(m->tail, p, n);
  m->tail_length = n;
}

void md5_final(md5_t *m, unsigned char out[16]) {
  /* RFC 1321 §3.1-3.2: a 1 bit, zeros to 56 mod 64, then the bit length, little-endian. */
  uint64_t bits = m->length * 8;
  unsigned char pad[72] = {0x80};
  size_t padding = (m->tail_length < 56 ? 56 : 120) - m->tail_length;
  for (int i = 0; i < 8; i++) pad[padding + i] = (unsigned char)(bits >> (8 * i));
  md5_update(m, pad, padding + 8);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) out[i * 4 + j] = (unsigned char)(m->state[i] >> (8 * j));
}
