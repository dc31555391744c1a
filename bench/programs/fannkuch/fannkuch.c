/* The Computer Language Benchmarks Game's fannkuch-redux: small int arrays,
   tight loops. Argument: n (default 10). */
#include <stdio.h>
#include <stdlib.h>

static long checksum = 0;

static long fannkuch(long n) {
  long *perm = calloc(n, sizeof(long));
  long *perm1 = calloc(n, sizeof(long));
  long *count = calloc(n, sizeof(long));
  long max_flips = 0, perm_count = 0;
  for (long i = 0; i < n; i++) perm1[i] = i;
  long r = n;
  for (;;) {
    while (r != 1) {
      count[r - 1] = r;
      r--;
    }
    for (long i = 0; i < n; i++) perm[i] = perm1[i];
    long flips = 0;
    long k = perm[0];
    while (k != 0) {
      long k2 = (k + 1) / 2;
      for (long i = 0; i < k2; i++) {
        long t = perm[i];
        perm[i] = perm[k - i];
        perm[k - i] = t;
      }
      flips++;
      k = perm[0];
    }
    if (flips > max_flips) max_flips = flips;
    if (perm_count % 2 == 0) checksum += flips; else checksum -= flips;
    /* Next permutation, incrementally. */
    for (;;) {
      if (r == n) {
        free(perm); free(perm1); free(count);
        return max_flips;
      }
      long perm0 = perm1[0];
      long i = 0;
      while (i < r) {
        long j = i + 1;
        perm1[i] = perm1[j];
        i = j;
      }
      perm1[r] = perm0;
      count[r]--;
      if (count[r] > 0) break;
      r++;
    }
    perm_count++;
  }
}

int main(int argc, char **argv) {
  long n = 10;
  if (argc > 1) n = atol(argv[1]);
  long m = fannkuch(n);
  printf("%ld\nPfannkuchen(%ld) = %ld\n", checksum, n, m);
  return 0;
}
