// String building: the decimal numbers 0..N-1, each followed by a comma, are
// appended one by one to a chunk string with += (a new String each time, not
// a StringBuilder); every 100 numbers the chunk goes into a list, and the list
// is joined pairwise (a balanced concatenation tree) into one large string.
// Argument: N (default 3000000). Prints the length, a checksum of the bytes
// and the last 16 bytes.
public class Strbuild {
  static final class Buf {
    String[] parts = new String[16];
    int n = 0;

    void add(String s) {
      if (n == parts.length) {
        String[] bigger = new String[2 * n];
        for (int i = 0; i < n; i++) bigger[i] = parts[i];
        parts = bigger;
      }
      parts[n] = s;
      n++;
    }

    // Concatenates adjacent pairs until one string is left; consumes the buffer.
    String join() {
      if (n == 0) return "";
      while (n > 1) {
        int m = 0, i = 0;
        while (i + 1 < n) {
          parts[m] = parts[i] + parts[i + 1];
          m++;
          i += 2;
        }
        if (i < n) {
          parts[m] = parts[i];
          m++;
        }
        n = m;
      }
      return parts[0];
    }
  }

  static long checksum(String s) {
    long h = 0;
    for (int i = 0; i < s.length(); i++) h = (h * 31 + s.charAt(i)) % 1000000007;
    return h;
  }

  public static void main(String[] args) {
    long n = 3000000;
    if (args.length > 0) n = Long.parseLong(args[0]);
    Buf chunks = new Buf();
    String chunk = "";
    for (long i = 0; i < n; i++) {
      chunk += Long.toString(i) + ",";
      if ((i + 1) % 100 == 0) {
        chunks.add(chunk);
        chunk = "";
      }
    }
    if (chunk.length() > 0) chunks.add(chunk);
    String s = chunks.join();
    System.out.println("length: " + s.length());
    System.out.println("checksum: " + checksum(s));
    System.out.println("tail: " + s.substring(Math.max(0, s.length() - 16), s.length()));
  }
}
