// libm: results printed with 17 significant digits, so any difference in
// the floating-point instructions shows.
#include <math.h>
#include <stdio.h>

int main(void) {
  double xs[] = {0.0, 0.5, 1.0, 2.0, 3.141592653589793, 10.0, 1e-300, 123456.789};
  for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    printf("x=%.17g sqrt=%.17g sin=%.17g cos=%.17g exp=%.17g log1p=%.17g pow=%.17g atan2=%.17g\n", x, sqrt(x),
           sin(x), cos(x), exp(-x), log1p(x), pow(x + 1.0, 0.37), atan2(x, 3.0));
  }
  float f = 0.1f;
  printf("float: %.9g %.9g %.9g\n", sqrtf(f), sinf(f), expf(f));
  printf("special: %f %f %f %d\n", sqrt(-1.0), 1.0 / 0.0, -1.0 / 0.0, isnan(nan("")));
  printf("rounding: %.1f %.1f %ld %ld\n", round(2.5), floor(-2.5), lrint(2.5), lrint(3.5));
  return 0;
}
