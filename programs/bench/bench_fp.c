// bench_fp: double-precision floating point (F and D). Usage: bench_fp
// [STEPS]. A gravitational n-body simulation of 16 bodies with fixed
// starting positions, velocities and masses: each step computes every
// pairwise force (subtractions, fused multiply-adds, a square root and a
// division per pair) and moves the bodies. The checksum is the bits of the
// final total energy and of the sum of the positions, so it depends on
// every rounding; the emulators must agree on them bit for bit.
#include "bench.h"

#define USAGE "bench_fp [STEPS]"
#define BODIES 16

struct body {
  double x, y, z, vx, vy, vz, m;
};

static struct body b[BODIES];

// A double in [-1, 1) from a xorshift generator.
static double uniform(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (double)(*s >> 11) * 0x1p-52 - 1.0;
}

static void advance(double dt) {
  for (int i = 0; i < BODIES; i++) {
    for (int j = i + 1; j < BODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      double d2 = dx * dx + dy * dy + dz * dz + 0.01; // softened
      double mag = dt / (d2 * __builtin_sqrt(d2));
      double mi = b[i].m * mag, mj = b[j].m * mag;
      b[i].vx -= dx * mj, b[i].vy -= dy * mj, b[i].vz -= dz * mj;
      b[j].vx += dx * mi, b[j].vy += dy * mi, b[j].vz += dz * mi;
    }
  }
  for (int i = 0; i < BODIES; i++) {
    b[i].x += dt * b[i].vx;
    b[i].y += dt * b[i].vy;
    b[i].z += dt * b[i].vz;
  }
}

static double energy(void) {
  double e = 0;
  for (int i = 0; i < BODIES; i++) {
    e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < BODIES; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].m * b[j].m / __builtin_sqrt(dx * dx + dy * dy + dz * dz + 0.01);
    }
  }
  return e;
}

static uint64_t bits(double d) {
  union {
    double d;
    uint64_t u;
  } v = {d};
  return v.u;
}

int main(int argc, char **argv) {
  if (argc > 2)
    bench_usage(USAGE);
  long steps = bench_arg(argc, argv, 1, 16000, 0, USAGE);
  uint64_t s = 0x3243f6a8885a308dUL;
  for (int i = 0; i < BODIES; i++) {
    b[i].x = 10 * uniform(&s), b[i].y = 10 * uniform(&s), b[i].z = 10 * uniform(&s);
    b[i].vx = 0.1 * uniform(&s), b[i].vy = 0.1 * uniform(&s), b[i].vz = 0.1 * uniform(&s);
    b[i].m = 1.5 + uniform(&s);
  }
  for (long t = 0; t < steps; t++)
    advance(0.001);
  double where = 0;
  for (int i = 0; i < BODIES; i++)
    where += b[i].x + b[i].y + b[i].z;
  bench_report("bench_fp", bits(energy()) ^ (bits(where) << 1 | bits(where) >> 63));
  return 0;
}
