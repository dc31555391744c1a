/* Recursive Fibonacci: calls and integer arithmetic. Argument: n (default 35). */
#include <stdio.h>
#include <stdlib.h>

static long fib(long n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv) {
  long n = 35;
  if (argc > 1) n = atol(argv[1]);
  printf("%ld\n", fib(n));
  return 0;
}
