// JSON: generates a JSON document (nested arrays and objects of integers and
// strings with escapes) from a fixed pseudo-random sequence, then N times
// parses the text with a recursive-descent parser into a tree and serializes
// the tree back to text. Objects are arrays of key/value objects (no hash
// maps). Strings are java.lang.String (all ASCII here); text is built as a
// list of pieces joined pairwise (a balanced concatenation tree), as in the
// Toy version, not with StringBuilder. Argument: N (default 100). Prints the
// text length, the total length produced, tree statistics and a checksum of
// the final text, which must equal the generated one.
public class Json {
  static final int J_NUM = 0, J_STR = 1, J_ARR = 2, J_OBJ = 3;

  static long seed = 42;

  // Park-Miller minimal standard generator (products stay below 2^53).
  static long rnd() {
    seed = seed * 16807 % 2147483647;
    return seed;
  }

  // ---- string builder

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

  // ---- tree

  static final class JValue {
    int kind;
    long num;
    String text;
    JValue[] items;
    JMember[] members;
    int count;

    JValue(int kind, long num, String text, JValue[] items, JMember[] members, int count) {
      this.kind = kind; this.num = num; this.text = text; this.items = items;
      this.members = members; this.count = count;
    }
  }

  static final class JMember {
    String key;
    JValue value;

    JMember(String key, JValue value) { this.key = key; this.value = value; }
  }

  // ---- generator

  static void genString(Buf b) {
    long n = 1 + rnd() % 12;
    b.add("\"");
    for (long i = 0; i < n; i++) {
      long r = rnd() % 32;
      if (r < 26) {
        b.add(String.valueOf((char) (97 + r)));
      } else if (r == 26) {
        b.add("\\\"");
      } else if (r == 27) {
        b.add("\\\\");
      } else if (r == 28) {
        b.add("\\n");
      } else {
        b.add(" ");
      }
    }
    b.add("\"");
  }

  static void genValue(Buf b, int depth) {
    long r = rnd() % 10;
    if (depth == 0 || r < 2) {
      if (rnd() % 2 == 0) {
        b.add(Long.toString(rnd() % 2000001 - 1000000));
      } else {
        genString(b);
      }
      return;
    }
    long count = 1 + rnd() % 7;
    if (r < 6) {
      b.add("[");
      for (long i = 0; i < count; i++) {
        if (i > 0) b.add(",");
        genValue(b, depth - 1);
      }
      b.add("]");
    } else {
      b.add("{");
      for (long i = 0; i < count; i++) {
        if (i > 0) b.add(",");
        b.add("\"k" + Long.toString(rnd() % 50) + "\":");
        genValue(b, depth - 1);
      }
      b.add("}");
    }
  }

  static String generate() {
    Buf b = new Buf();
    b.add("[");
    for (int i = 0; i < 20; i++) {
      if (i > 0) b.add(",");
      genValue(b, 5);
    }
    b.add("]");
    return b.join();
  }

  // ---- parser

  static final class Parser {
    final String s;
    int pos = 0;

    Parser(String s) { this.s = s; }

    void skipWs() {
      while (pos < s.length()) {
        int c = s.charAt(pos);
        if (c != 32 && c != 10 && c != 13 && c != 9) return;
        pos++;
      }
    }

    void expect(int c) {
      if (s.charAt(pos) != c) throw new RuntimeException("json: expected " + (char) c + " at " + pos);
      pos++;
    }

    JValue parseValue() {
      skipWs();
      int c = s.charAt(pos);
      if (c == 123) return parseObject();
      if (c == 91) return parseArray();
      if (c == 34) return new JValue(J_STR, 0, parseString(), null, null, 0);
      return parseNumber();
    }

    JValue parseNumber() {
      boolean neg = false;
      if (s.charAt(pos) == 45) {
        neg = true;
        pos++;
      }
      int start = pos;
      long v = 0;
      while (pos < s.length()) {
        int c = s.charAt(pos);
        if (c < 48 || c > 57) break;
        v = v * 10 + (c - 48);
        pos++;
      }
      if (pos == start) throw new RuntimeException("json: bad value at " + pos);
      if (neg) v = -v;
      return new JValue(J_NUM, v, null, null, null, 0);
    }

    // At an opening quote; returns the unescaped contents.
    String parseString() {
      pos++;
      int start = pos;
      Buf b = null;
      while (true) {
        int c = s.charAt(pos);
        if (c == 34) break;
        if (c == 92) {
          if (b == null) b = new Buf();
          b.add(s.substring(start, pos));
          int e = s.charAt(pos + 1);
          if (e == 110) {
            b.add("\n");
          } else if (e == 116) {
            b.add("\t");
          } else {
            b.add(String.valueOf((char) e));
          }
          pos += 2;
          start = pos;
        } else {
          pos++;
        }
      }
      String last = s.substring(start, pos);
      pos++;
      if (b == null) return last;
      b.add(last);
      return b.join();
    }

    JValue parseArray() {
      pos++;
      JValue[] items = new JValue[4];
      int count = 0;
      skipWs();
      if (s.charAt(pos) == 93) {
        pos++;
      } else {
        while (true) {
          JValue v = parseValue();
          if (count == items.length) {
            JValue[] bigger = new JValue[2 * count];
            for (int i = 0; i < count; i++) bigger[i] = items[i];
            items = bigger;
          }
          items[count] = v;
          count++;
          skipWs();
          int c = s.charAt(pos);
          pos++;
          if (c == 93) break;
          if (c != 44) throw new RuntimeException("json: expected , or ] at " + (pos - 1));
        }
      }
      return new JValue(J_ARR, 0, null, items, null, count);
    }

    JValue parseObject() {
      pos++;
      JMember[] members = new JMember[4];
      int count = 0;
      skipWs();
      if (s.charAt(pos) == 125) {
        pos++;
      } else {
        while (true) {
          skipWs();
          if (s.charAt(pos) != 34) throw new RuntimeException("json: expected a key at " + pos);
          String key = parseString();
          skipWs();
          expect(58);
          JValue v = parseValue();
          if (count == members.length) {
            JMember[] bigger = new JMember[2 * count];
            for (int i = 0; i < count; i++) bigger[i] = members[i];
            members = bigger;
          }
          members[count] = new JMember(key, v);
          count++;
          skipWs();
          int c = s.charAt(pos);
          pos++;
          if (c == 125) break;
          if (c != 44) throw new RuntimeException("json: expected , or } at " + (pos - 1));
        }
      }
      return new JValue(J_OBJ, 0, null, null, members, count);
    }
  }

  static JValue parse(String s) {
    Parser p = new Parser(s);
    JValue v = p.parseValue();
    p.skipWs();
    if (p.pos != s.length()) throw new RuntimeException("json: trailing text at " + p.pos);
    return v;
  }

  // ---- serializer

  static void writeString(Buf b, String s) {
    b.add("\"");
    int start = 0, n = s.length();
    for (int i = 0; i < n; i++) {
      int c = s.charAt(i);
      if (c == 34 || c == 92 || c == 10 || c == 9) {
        if (i > start) b.add(s.substring(start, i));
        if (c == 34) {
          b.add("\\\"");
        } else if (c == 92) {
          b.add("\\\\");
        } else if (c == 10) {
          b.add("\\n");
        } else {
          b.add("\\t");
        }
        start = i + 1;
      }
    }
    if (start == 0) {
      b.add(s);
    } else if (start < n) {
      b.add(s.substring(start, n));
    }
    b.add("\"");
  }

  static void writeValue(Buf b, JValue v) {
    int k = v.kind;
    if (k == J_NUM) {
      b.add(Long.toString(v.num));
    } else if (k == J_STR) {
      writeString(b, v.text);
    } else if (k == J_ARR) {
      b.add("[");
      for (int i = 0; i < v.count; i++) {
        if (i > 0) b.add(",");
        writeValue(b, v.items[i]);
      }
      b.add("]");
    } else {
      b.add("{");
      for (int i = 0; i < v.count; i++) {
        if (i > 0) b.add(",");
        JMember m = v.members[i];
        writeString(b, m.key);
        b.add(":");
        writeValue(b, m.value);
      }
      b.add("}");
    }
  }

  static String serialize(JValue v) {
    Buf b = new Buf();
    writeValue(b, v);
    return b.join();
  }

  // ---- statistics

  static long countValues(JValue v) {
    long n = 1;
    if (v.kind == J_ARR) {
      for (int i = 0; i < v.count; i++) n += countValues(v.items[i]);
    } else if (v.kind == J_OBJ) {
      for (int i = 0; i < v.count; i++) n += countValues(v.members[i].value);
    }
    return n;
  }

  static long sumNumbers(JValue v) {
    if (v.kind == J_NUM) return v.num;
    long s = 0;
    if (v.kind == J_ARR) {
      for (int i = 0; i < v.count; i++) s += sumNumbers(v.items[i]);
    } else if (v.kind == J_OBJ) {
      for (int i = 0; i < v.count; i++) s += sumNumbers(v.members[i].value);
    }
    return s;
  }

  static long checksum(String s) {
    long h = 0;
    for (int i = 0; i < s.length(); i++) h = (h * 31 + s.charAt(i)) % 1000000007;
    return h;
  }

  public static void main(String[] args) {
    long reps = 100;
    if (args.length > 0) reps = Long.parseLong(args[0]);
    String text = generate();
    String out = text;
    long total = 0;
    JValue tree = null;
    for (long r = 0; r < reps; r++) {
      tree = parse(out);
      out = serialize(tree);
      total += out.length();
    }
    if (!out.equals(text)) {
      System.out.println("json: the round trip changed the text");
      System.exit(1);
    }
    if (tree == null) tree = parse(text);
    System.out.println("length: " + out.length());
    System.out.println("total: " + total);
    System.out.println("values: " + countValues(tree));
    System.out.println("sum: " + sumNumbers(tree));
    System.out.println("checksum: " + checksum(out));
  }
}
