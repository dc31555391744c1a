// The Computer Language Benchmarks Game's spectral-norm: float arrays and
// nested loops. Argument: n (default 1000).
import java.util.Locale;

public class Spectralnorm {
  static double a(long i, long j) {
    return 1.0 / (double) ((i + j) * (i + j + 1) / 2 + i + 1);
  }

  static void mulAv(int n, double[] v, double[] av) {
    for (int i = 0; i < n; i++) {
      double sum = 0.0;
      for (int j = 0; j < n; j++) sum += a(i, j) * v[j];
      av[i] = sum;
    }
  }

  static void mulAtv(int n, double[] v, double[] atv) {
    for (int i = 0; i < n; i++) {
      double sum = 0.0;
      for (int j = 0; j < n; j++) sum += a(j, i) * v[j];
      atv[i] = sum;
    }
  }

  static void mulAtAv(int n, double[] v, double[] out, double[] tmp) {
    mulAv(n, v, tmp);
    mulAtv(n, tmp, out);
  }

  public static void main(String[] args) {
    int n = 1000;
    if (args.length > 0) n = Integer.parseInt(args[0]);
    double[] u = new double[n];
    double[] v = new double[n];
    double[] tmp = new double[n];
    for (int i = 0; i < n; i++) u[i] = 1.0;
    for (int i = 0; i < 10; i++) {
      mulAtAv(n, u, v, tmp);
      mulAtAv(n, v, u, tmp);
    }
    double vbv = 0.0, vv = 0.0;
    for (int i = 0; i < n; i++) {
      vbv += u[i] * v[i];
      vv += v[i] * v[i];
    }
    System.out.println(String.format(Locale.ROOT, "%.9f", Math.sqrt(vbv / vv)));
  }
}
