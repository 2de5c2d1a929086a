// bench_sha256: SHA-256 (FIPS 180-4) over a buffer, many times. Usage:
// bench_sha256 [N [KIB]]. It fills a KIB KiB buffer (default 16) with a
// fixed pattern, then N times hashes the whole buffer and mixes the digest
// back into it, so each pass depends on the one before. The checksum is
// the first 8 bytes of the last digest. It first checks the
// implementation against the standard's "abc" example.
#include "bench.h"

#define USAGE "bench_sha256 [N [KIB]]"

struct sha256 {
  uint32_t h[8];
  uint8_t block[64];
  unsigned used;   // bytes in block
  uint64_t length; // bytes hashed so far
};

// The first 32 bits of the fractional parts of the cube roots of the first
// 64 primes.
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void compress(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++)
    w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g, g = f, f = e, e = d + t1;
    d = c, c = b, b = a, a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

static void sha256_init(struct sha256 *s) {
  // The first 32 bits of the fractional parts of the square roots of the
  // first 8 primes.
  static const uint32_t start[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  for (int i = 0; i < 8; i++)
    s->h[i] = start[i];
  s->used = 0;
  s->length = 0;
}

static void sha256_update(struct sha256 *s, const uint8_t *p, unsigned long n) {
  s->length += n;
  if (s->used) {
    while (n && s->used < 64)
      s->block[s->used++] = *p++, n--;
    if (s->used < 64)
      return;
    compress(s->h, s->block);
    s->used = 0;
  }
  for (; n >= 64; n -= 64, p += 64)
    compress(s->h, p);
  while (n--)
    s->block[s->used++] = *p++;
}

// Pads the message (a 1 bit, zeros, the length in bits) and writes the
// digest, big-endian.
static void sha256_final(struct sha256 *s, uint8_t out[32]) {
  uint64_t bits = s->length * 8;
  s->block[s->used++] = 0x80;
  if (s->used > 56) {
    while (s->used < 64)
      s->block[s->used++] = 0;
    compress(s->h, s->block);
    s->used = 0;
  }
  while (s->used < 56)
    s->block[s->used++] = 0;
  for (int i = 0; i < 8; i++)
    s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  compress(s->h, s->block);
  for (int i = 0; i < 32; i++)
    out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static void sha256(const uint8_t *p, unsigned long n, uint8_t out[32]) {
  struct sha256 s;
  sha256_init(&s);
  sha256_update(&s, p, n);
  sha256_final(&s, out);
}

static uint64_t first_bytes(const uint8_t d[32]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | d[i];
  return v;
}

int main(int argc, char **argv) {
  if (argc > 3)
    bench_usage(USAGE);
  long n = bench_arg(argc, argv, 1, 150, 0, USAGE);
  long kib = bench_arg(argc, argv, 2, 16, 1, USAGE);
  if (kib > 65536)
    bench_usage(USAGE);

  // FIPS 180-4's first example: SHA-256("abc") begins ba7816bf 8f01cfea.
  uint8_t digest[32];
  sha256((const uint8_t *)"abc", 3, digest);
  if (first_bytes(digest) != 0xba7816bf8f01cfeaUL) {
    printf("bench_sha256: self-test failed: %016lx\n", first_bytes(digest));
    return 1;
  }

  unsigned long len = (unsigned long)kib << 10;
  uint8_t *buf = (uint8_t *)sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (is_error((long)buf)) {
    printf("bench_sha256: mmap of %ld KiB failed\n", kib);
    return 1;
  }
  uint64_t x = 0x6a09e667f3bcc908UL;
  for (unsigned long i = 0; i < len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = (uint8_t)(x >> 32);
  }
  for (long i = 0; i < n; i++) {
    sha256(buf, len, digest);
    unsigned long at = ((unsigned long)i * 32) % (len - 31); // len >= 1024
    for (int j = 0; j < 32; j++)
      buf[at + j] ^= digest[j];
  }
  sha256(buf, len, digest);
  bench_report("bench_sha256", first_bytes(digest));
  return 0;
}
