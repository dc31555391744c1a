/* The Computer Language Benchmarks Game's binary-trees: allocation-heavy, many
   short-lived trees and one long-lived tree. Argument: max depth (default 16).
   Nodes come from malloc and are returned with free (no pools). */
#include <stdio.h>
#include <stdlib.h>

typedef struct Tree {
  struct Tree *left, *right;
} Tree;

static Tree *make(long d) {
  Tree *t = malloc(sizeof(Tree));
  if (d == 0) {
    t->left = NULL;
    t->right = NULL;
  } else {
    t->left = make(d - 1);
    t->right = make(d - 1);
  }
  return t;
}

static long check(Tree *t) {
  if (t->left == NULL) return 1;
  return 1 + check(t->left) + check(t->right);
}

static void release(Tree *t) {
  if (t->left != NULL) {
    release(t->left);
    release(t->right);
  }
  free(t);
}

int main(int argc, char **argv) {
  long n = 16;
  if (argc > 1) n = atol(argv[1]);
  long min_depth = 4;
  long max_depth = min_depth + 2 > n ? min_depth + 2 : n;
  long stretch = max_depth + 1;
  Tree *st = make(stretch);
  printf("stretch tree of depth %ld\t check: %ld\n", stretch, check(st));
  release(st);
  Tree *long_lived = make(max_depth);
  for (long d = min_depth; d <= max_depth; d += 2) {
    long iterations = 1L << (max_depth - d + min_depth);
    long sum = 0;
    for (long i = 0; i < iterations; i++) {
      Tree *t = make(d);
      sum += check(t);
      release(t);
    }
    printf("%ld\t trees of depth %ld\t check: %ld\n", iterations, d, sum);
  }
  printf("long lived tree of depth %ld\t check: %ld\n", max_depth, check(long_lived));
  release(long_lived);
  return 0;
}
