// A long floating-point computation (numerical integration and a small
// matrix iteration) whose result depends on every intermediate value: run
// many copies with a short time slice, and any floating-point state lost on
// preemption or migration to another hart changes the printed result.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 200000;
  double sum = 0.0, x = 0.0, h = 1.0 / (double)steps;
  for (long i = 0; i < steps; i++) {
    x = (i + 0.5) * h;
    sum += 4.0 / (1.0 + x * x); // integrates to pi
  }
  double pi = sum * h;
  double m[4][4], v[4] = {1, 2, 3, 4};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      m[i][j] = 1.0 / (i + j + 1.0);
  float acc = 0.0f;
  for (int k = 0; k < 200; k++) {
    double w[4] = {0};
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++)
        w[i] += m[i][j] * v[j];
    double norm = w[0] + w[1] + w[2] + w[3];
    for (int i = 0; i < 4; i++)
      v[i] = w[i] / norm;
    acc += (float)v[0];
  }
  printf("fpheavy: steps=%ld pi=%.17g v=%.17g %.17g acc=%.9g\n", steps, pi, v[0], v[3], acc);
  return 0;
}
