// The Computer Language Benchmarks Game's binary-trees: allocation-heavy, many
// short-lived trees and one long-lived tree. Argument: max depth (default 16).
public class Binarytrees {
  static final class Tree {
    Tree left, right;
    Tree(Tree left, Tree right) { this.left = left; this.right = right; }
  }

  static Tree make(long d) {
    if (d == 0) return new Tree(null, null);
    return new Tree(make(d - 1), make(d - 1));
  }

  static long check(Tree t) {
    if (t.left == null) return 1;
    return 1 + check(t.left) + check(t.right);
  }

  public static void main(String[] args) {
    long n = 16;
    if (args.length > 0) n = Long.parseLong(args[0]);
    long minDepth = 4;
    long maxDepth = Math.max(minDepth + 2, n);
    long stretch = maxDepth + 1;
    System.out.println("stretch tree of depth " + stretch + "\t check: " + check(make(stretch)));
    Tree longLived = make(maxDepth);
    for (long d = minDepth; d <= maxDepth; d += 2) {
      long iterations = 1L << (maxDepth - d + minDepth);
      long sum = 0;
      for (long i = 0; i < iterations; i++) {
        sum += check(make(d));
      }
      System.out.println(iterations + "\t trees of depth " + d + "\t check: " + sum);
    }
    System.out.println("long lived tree of depth " + maxDepth + "\t check: " + check(longLived));
  }
}
