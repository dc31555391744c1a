// The Computer Language Benchmarks Game's fannkuch-redux: small int arrays,
// tight loops. Argument: n (default 10).
public class Fannkuch {
  static long checksum = 0;

  static long fannkuch(int n) {
    long[] perm = new long[n];
    long[] perm1 = new long[n];
    long[] count = new long[n];
    long maxFlips = 0, permCount = 0;
    for (int i = 0; i < n; i++) perm1[i] = i;
    int r = n;
    while (true) {
      while (r != 1) {
        count[r - 1] = r;
        r--;
      }
      for (int i = 0; i < n; i++) perm[i] = perm1[i];
      long flips = 0;
      int k = (int) perm[0];
      while (k != 0) {
        int k2 = (k + 1) / 2;
        for (int i = 0; i < k2; i++) {
          long t = perm[i];
          perm[i] = perm[k - i];
          perm[k - i] = t;
        }
        flips++;
        k = (int) perm[0];
      }
      if (flips > maxFlips) maxFlips = flips;
      if (permCount % 2 == 0) checksum += flips; else checksum -= flips;
      // Next permutation, incrementally.
      while (true) {
        if (r == n) return maxFlips;
        long perm0 = perm1[0];
        int i = 0;
        while (i < r) {
          int j = i + 1;
          perm1[i] = perm1[j];
          i = j;
        }
        perm1[r] = perm0;
        count[r]--;
        if (count[r] > 0) break;
        r++;
      }
      permCount++;
    }
  }

  public static void main(String[] args) {
    int n = 10;
    if (args.length > 0) n = Integer.parseInt(args[0]);
    long m = fannkuch(n);
    System.out.println(checksum);
    System.out.println("Pfannkuchen(" + n + ") = " + m);
  }
}
