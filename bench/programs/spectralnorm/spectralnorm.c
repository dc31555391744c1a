/* The Computer Language Benchmarks Game's spectral-norm: float arrays and
   nested loops. Argument: n (default 1000). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double a(long i, long j) {
  return 1.0 / (double)((i + j) * (i + j + 1) / 2 + i + 1);
}

static void mul_av(long n, const double *v, double *av) {
  for (long i = 0; i < n; i++) {
    double sum = 0.0;
    for (long j = 0; j < n; j++) sum += a(i, j) * v[j];
    av[i] = sum;
  }
}

static void mul_atv(long n, const double *v, double *atv) {
  for (long i = 0; i < n; i++) {
    double sum = 0.0;
    for (long j = 0; j < n; j++) sum += a(j, i) * v[j];
    atv[i] = sum;
  }
}

static void mul_atav(long n, const double *v, double *out, double *tmp) {
  mul_av(n, v, tmp);
  mul_atv(n, tmp, out);
}

int main(int argc, char **argv) {
  long n = 1000;
  if (argc > 1) n = atol(argv[1]);
  double *u = calloc(n, sizeof(double));
  double *v = calloc(n, sizeof(double));
  double *tmp = calloc(n, sizeof(double));
  for (long i = 0; i < n; i++) u[i] = 1.0;
  for (int i = 0; i < 10; i++) {
    mul_atav(n, u, v, tmp);
    mul_atav(n, v, u, tmp);
  }
  double vbv = 0.0, vv = 0.0;
  for (long i = 0; i < n; i++) {
    vbv += u[i] * v[i];
    vv += v[i] * v[i];
  }
  printf("%.9f\n", sqrt(vbv / vv));
  free(u); free(v); free(tmp);
  return 0;
}
