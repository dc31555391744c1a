// Recursive Fibonacci: calls and integer arithmetic. Argument: n (default 35).
public class Fib {
  static long fib(long n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
  }

  public static void main(String[] args) {
    long n = 35;
    if (args.length > 0) n = Long.parseLong(args[0]);
    System.out.println(fib(n));
  }
}
