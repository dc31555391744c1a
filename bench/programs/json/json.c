/* JSON: generates a JSON document (nested arrays and objects of integers and
   strings with escapes) from a fixed pseudo-random sequence, then N times
   parses the text with a recursive-descent parser into a tree and serializes
   the tree back to text. Objects are arrays of key/value structs (no hash
   maps). Strings are immutable length-prefixed byte strings, as in Toy: every
   concatenation, substring and number conversion makes a new one. Text is
   built as a list of pieces joined pairwise (a balanced concatenation tree).
   Argument: N (default 100). Prints the text length, the total length
   produced, tree statistics and a checksum of the final text, which must
   equal the generated one.
   Memory: a Buf records which pieces it owns and frees them (and the
   intermediate concatenations) when joined; a tree is freed after use. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- immutable strings */

typedef struct Str {
  long len;
  char data[];
} Str;

static Str *str_alloc(long len) {
  Str *s = malloc(sizeof(Str) + len + 1);
  s->len = len;
  s->data[len] = 0;
  return s;
}

static Str *str_from(const char *cs, long len) {
  Str *s = str_alloc(len);
  memcpy(s->data, cs, len);
  return s;
}

static Str *str_concat(const Str *a, const Str *b) {
  Str *s = str_alloc(a->len + b->len);
  memcpy(s->data, a->data, a->len);
  memcpy(s->data + a->len, b->data, b->len);
  return s;
}

static Str *str_sub(const Str *s, long from, long to) { return str_from(s->data + from, to - from); }

static Str *str_of_int(long v) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%ld", v);
  return str_from(buf, n);
}

static Str *str_chr(int c) {
  char ch = (char)c;
  return str_from(&ch, 1);
}

static bool str_eq(const Str *a, const Str *b) {
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* String constants: built once, never freed (like literals in the others). */
static Str *S_EMPTY, *S_QUOTE, *S_ESC_QUOTE, *S_ESC_BACKSLASH, *S_ESC_N, *S_ESC_T, *S_SPACE,
    *S_LBRACKET, *S_RBRACKET, *S_LBRACE, *S_RBRACE, *S_COMMA, *S_COLON, *S_NEWLINE, *S_TAB, *S_K,
    *S_QUOTE_COLON;

static Str *lit(const char *cs) { return str_from(cs, strlen(cs)); }

static void init_literals(void) {
  S_EMPTY = lit(""); S_QUOTE = lit("\""); S_ESC_QUOTE = lit("\\\""); S_ESC_BACKSLASH = lit("\\\\");
  S_ESC_N = lit("\\n"); S_ESC_T = lit("\\t"); S_SPACE = lit(" "); S_LBRACKET = lit("[");
  S_RBRACKET = lit("]"); S_LBRACE = lit("{"); S_RBRACE = lit("}"); S_COMMA = lit(",");
  S_COLON = lit(":"); S_NEWLINE = lit("\n"); S_TAB = lit("\t"); S_K = lit("\"k");
  S_QUOTE_COLON = lit("\":");
}

/* ---- string builder */

typedef struct Buf {
  Str **parts;
  bool *owned;
  long n, cap;
} Buf;

static Buf *buf_new(void) {
  Buf *b = malloc(sizeof(Buf));
  b->cap = 16; b->n = 0;
  b->parts = malloc(b->cap * sizeof(Str *));
  b->owned = malloc(b->cap * sizeof(bool));
  return b;
}

static void buf_push(Buf *b, Str *s, bool owned) {
  if (b->n == b->cap) {
    long cap = 2 * b->n;
    Str **bigger = malloc(cap * sizeof(Str *));
    bool *bigger_owned = malloc(cap * sizeof(bool));
    for (long i = 0; i < b->n; i++) {
      bigger[i] = b->parts[i];
      bigger_owned[i] = b->owned[i];
    }
    free(b->parts); free(b->owned);
    b->parts = bigger; b->owned = bigger_owned; b->cap = cap;
  }
  b->parts[b->n] = s;
  b->owned[b->n] = owned;
  b->n++;
}

/* A piece that stays valid elsewhere (a constant, or a string of the tree). */
static void buf_add(Buf *b, Str *s) { buf_push(b, s, false); }
/* A fresh piece that the buffer frees once joined. */
static void buf_add_owned(Buf *b, Str *s) { buf_push(b, s, true); }

/* Concatenates adjacent pairs until one string is left; consumes b.
   The result is always a fresh string. */
static Str *buf_join(Buf *b) {
  Str *result;
  if (b->n == 0) {
    result = str_concat(S_EMPTY, S_EMPTY);
  } else {
    Str **parts = b->parts;
    bool *owned = b->owned;
    long n = b->n;
    while (n > 1) {
      long m = 0, i = 0;
      while (i + 1 < n) {
        Str *s = str_concat(parts[i], parts[i + 1]);
        if (owned[i]) free(parts[i]);
        if (owned[i + 1]) free(parts[i + 1]);
        parts[m] = s;
        owned[m] = true;
        m++;
        i += 2;
      }
      if (i < n) {
        parts[m] = parts[i];
        owned[m] = owned[i];
        m++;
      }
      n = m;
    }
    result = owned[0] ? parts[0] : str_concat(parts[0], S_EMPTY);
  }
  free(b->parts); free(b->owned); free(b);
  return result;
}

/* ---- tree */

enum { J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct JValue JValue;
typedef struct JMember { Str *key; JValue *value; } JMember;
struct JValue {
  long kind, num;
  Str *text;
  JValue **items;
  JMember **members;
  long count;
};

static JValue *jvalue_new(long kind, long num, Str *text, JValue **items, JMember **members, long count) {
  JValue *v = malloc(sizeof(JValue));
  v->kind = kind; v->num = num; v->text = text; v->items = items; v->members = members; v->count = count;
  return v;
}

static void jvalue_free(JValue *v) {
  if (v->kind == J_STR) {
    free(v->text);
  } else if (v->kind == J_ARR) {
    for (long i = 0; i < v->count; i++) jvalue_free(v->items[i]);
    free(v->items);
  } else if (v->kind == J_OBJ) {
    for (long i = 0; i < v->count; i++) {
      free(v->members[i]->key);
      jvalue_free(v->members[i]->value);
      free(v->members[i]);
    }
    free(v->members);
  }
  free(v);
}

/* ---- generator */

static long seed = 42;

/* Park-Miller minimal standard generator (products stay below 2^53). */
static long rnd(void) {
  seed = seed * 16807 % 2147483647;
  return seed;
}

static void gen_string(Buf *b) {
  long n = 1 + rnd() % 12;
  buf_add(b, S_QUOTE);
  for (long i = 0; i < n; i++) {
    long r = rnd() % 32;
    if (r < 26) {
      buf_add_owned(b, str_chr(97 + r));
    } else if (r == 26) {
      buf_add(b, S_ESC_QUOTE);
    } else if (r == 27) {
      buf_add(b, S_ESC_BACKSLASH);
    } else if (r == 28) {
      buf_add(b, S_ESC_N);
    } else {
      buf_add(b, S_SPACE);
    }
  }
  buf_add(b, S_QUOTE);
}

static void gen_value(Buf *b, long depth) {
  long r = rnd() % 10;
  if (depth == 0 || r < 2) {
    if (rnd() % 2 == 0) {
      buf_add_owned(b, str_of_int(rnd() % 2000001 - 1000000));
    } else {
      gen_string(b);
    }
    return;
  }
  long count = 1 + rnd() % 7;
  if (r < 6) {
    buf_add(b, S_LBRACKET);
    for (long i = 0; i < count; i++) {
      if (i > 0) buf_add(b, S_COMMA);
      gen_value(b, depth - 1);
    }
    buf_add(b, S_RBRACKET);
  } else {
    buf_add(b, S_LBRACE);
    for (long i = 0; i < count; i++) {
      if (i > 0) buf_add(b, S_COMMA);
      Str *num = str_of_int(rnd() % 50);
      Str *k = str_concat(S_K, num);
      buf_add_owned(b, str_concat(k, S_QUOTE_COLON));
      free(num); free(k);
      gen_value(b, depth - 1);
    }
    buf_add(b, S_RBRACE);
  }
}

static Str *generate(void) {
  Buf *b = buf_new();
  buf_add(b, S_LBRACKET);
  for (long i = 0; i < 20; i++) {
    if (i > 0) buf_add(b, S_COMMA);
    gen_value(b, 5);
  }
  buf_add(b, S_RBRACKET);
  return buf_join(b);
}

/* ---- parser */

typedef struct Parser { Str *s; long pos; } Parser;

static void fail(const char *what, long pos) {
  fprintf(stderr, "error: json: %s at %ld\n", what, pos);
  exit(1);
}

static int byte_at(const Str *s, long i) {
  if (i < 0 || i >= s->len) fail("index out of range", i);
  return (unsigned char)s->data[i];
}

static void skip_ws(Parser *p) {
  while (p->pos < p->s->len) {
    int c = byte_at(p->s, p->pos);
    if (c != 32 && c != 10 && c != 13 && c != 9) return;
    p->pos++;
  }
}

static void expect(Parser *p, int c) {
  if (byte_at(p->s, p->pos) != c) fail("unexpected character", p->pos);
  p->pos++;
}

static JValue *parse_object(Parser *p);
static JValue *parse_array(Parser *p);
static JValue *parse_number(Parser *p);
static Str *parse_string(Parser *p);

static JValue *parse_value(Parser *p) {
  skip_ws(p);
  int c = byte_at(p->s, p->pos);
  if (c == 123) return parse_object(p);
  if (c == 91) return parse_array(p);
  if (c == 34) return jvalue_new(J_STR, 0, parse_string(p), NULL, NULL, 0);
  return parse_number(p);
}

static JValue *parse_number(Parser *p) {
  bool neg = false;
  if (byte_at(p->s, p->pos) == 45) {
    neg = true;
    p->pos++;
  }
  long start = p->pos;
  long v = 0;
  while (p->pos < p->s->len) {
    int c = byte_at(p->s, p->pos);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p->pos++;
  }
  if (p->pos == start) fail("bad value", p->pos);
  if (neg) v = -v;
  return jvalue_new(J_NUM, v, NULL, NULL, NULL, 0);
}

/* At an opening quote; returns the unescaped contents (a fresh string). */
static Str *parse_string(Parser *p) {
  p->pos++;
  long start = p->pos;
  Buf *b = NULL;
  for (;;) {
    int c = byte_at(p->s, p->pos);
    if (c == 34) break;
    if (c == 92) {
      if (b == NULL) b = buf_new();
      buf_add_owned(b, str_sub(p->s, start, p->pos));
      int e = byte_at(p->s, p->pos + 1);
      if (e == 110) {
        buf_add(b, S_NEWLINE);
      } else if (e == 116) {
        buf_add(b, S_TAB);
      } else {
        buf_add_owned(b, str_chr(e));
      }
      p->pos += 2;
      start = p->pos;
    } else {
      p->pos++;
    }
  }
  Str *last = str_sub(p->s, start, p->pos);
  p->pos++;
  if (b == NULL) return last;
  buf_add_owned(b, last);
  return buf_join(b);
}

static JValue *parse_array(Parser *p) {
  p->pos++;
  long cap = 4;
  JValue **items = malloc(cap * sizeof(JValue *));
  long count = 0;
  skip_ws(p);
  if (byte_at(p->s, p->pos) == 93) {
    p->pos++;
  } else {
    for (;;) {
      JValue *v = parse_value(p);
      if (count == cap) {
        JValue **bigger = malloc(2 * count * sizeof(JValue *));
        for (long i = 0; i < count; i++) bigger[i] = items[i];
        free(items);
        items = bigger;
        cap = 2 * count;
      }
      items[count] = v;
      count++;
      skip_ws(p);
      int c = byte_at(p->s, p->pos);
      p->pos++;
      if (c == 93) break;
      if (c != 44) fail("expected , or ]", p->pos - 1);
    }
  }
  return jvalue_new(J_ARR, 0, NULL, items, NULL, count);
}

static JValue *parse_object(Parser *p) {
  p->pos++;
  long cap = 4;
  JMember **members = malloc(cap * sizeof(JMember *));
  long count = 0;
  skip_ws(p);
  if (byte_at(p->s, p->pos) == 125) {
    p->pos++;
  } else {
    for (;;) {
      skip_ws(p);
      if (byte_at(p->s, p->pos) != 34) fail("expected a key", p->pos);
      Str *key = parse_string(p);
      skip_ws(p);
      expect(p, 58);
      JValue *v = parse_value(p);
      if (count == cap) {
        JMember **bigger = malloc(2 * count * sizeof(JMember *));
        for (long i = 0; i < count; i++) bigger[i] = members[i];
        free(members);
        members = bigger;
        cap = 2 * count;
      }
      JMember *m = malloc(sizeof(JMember));
      m->key = key;
      m->value = v;
      members[count] = m;
      count++;
      skip_ws(p);
      int c = byte_at(p->s, p->pos);
      p->pos++;
      if (c == 125) break;
      if (c != 44) fail("expected , or }", p->pos - 1);
    }
  }
  return jvalue_new(J_OBJ, 0, NULL, NULL, members, count);
}

static JValue *parse(Str *s) {
  Parser p = {s, 0};
  JValue *v = parse_value(&p);
  skip_ws(&p);
  if (p.pos != s->len) fail("trailing text", p.pos);
  return v;
}

/* ---- serializer */

static void write_string(Buf *b, Str *s) {
  buf_add(b, S_QUOTE);
  long start = 0, n = s->len;
  for (long i = 0; i < n; i++) {
    int c = byte_at(s, i);
    if (c == 34 || c == 92 || c == 10 || c == 9) {
      if (i > start) buf_add_owned(b, str_sub(s, start, i));
      if (c == 34) {
        buf_add(b, S_ESC_QUOTE);
      } else if (c == 92) {
        buf_add(b, S_ESC_BACKSLASH);
      } else if (c == 10) {
        buf_add(b, S_ESC_N);
      } else {
        buf_add(b, S_ESC_T);
      }
      start = i + 1;
    }
  }
  if (start == 0) {
    buf_add(b, s);
  } else if (start < n) {
    buf_add_owned(b, str_sub(s, start, n));
  }
  buf_add(b, S_QUOTE);
}

static void write_value(Buf *b, JValue *v) {
  long k = v->kind;
  if (k == J_NUM) {
    buf_add_owned(b, str_of_int(v->num));
  } else if (k == J_STR) {
    write_string(b, v->text);
  } else if (k == J_ARR) {
    buf_add(b, S_LBRACKET);
    for (long i = 0; i < v->count; i++) {
      if (i > 0) buf_add(b, S_COMMA);
      write_value(b, v->items[i]);
    }
    buf_add(b, S_RBRACKET);
  } else {
    buf_add(b, S_LBRACE);
    for (long i = 0; i < v->count; i++) {
      if (i > 0) buf_add(b, S_COMMA);
      JMember *m = v->members[i];
      write_string(b, m->key);
      buf_add(b, S_COLON);
      write_value(b, m->value);
    }
    buf_add(b, S_RBRACE);
  }
}

static Str *serialize(JValue *v) {
  Buf *b = buf_new();
  write_value(b, v);
  return buf_join(b);
}

/* ---- statistics */

static long count_values(JValue *v) {
  long n = 1;
  if (v->kind == J_ARR) {
    for (long i = 0; i < v->count; i++) n += count_values(v->items[i]);
  } else if (v->kind == J_OBJ) {
    for (long i = 0; i < v->count; i++) n += count_values(v->members[i]->value);
  }
  return n;
}

static long sum_numbers(JValue *v) {
  if (v->kind == J_NUM) return v->num;
  long s = 0;
  if (v->kind == J_ARR) {
    for (long i = 0; i < v->count; i++) s += sum_numbers(v->items[i]);
  } else if (v->kind == J_OBJ) {
    for (long i = 0; i < v->count; i++) s += sum_numbers(v->members[i]->value);
  }
  return s;
}

static long checksum(Str *s) {
  long h = 0;
  for (long i = 0; i < s->len; i++) h = (h * 31 + byte_at(s, i)) % 1000000007;
  return h;
}

int main(int argc, char **argv) {
  long reps = 100;
  if (argc > 1) reps = atol(argv[1]);
  init_literals();
  Str *text = generate();
  Str *out = text;
  long total = 0;
  JValue *tree = NULL;
  for (long r = 0; r < reps; r++) {
    if (tree != NULL) jvalue_free(tree);
    tree = parse(out);
    Str *next = serialize(tree);
    if (out != text) free(out);
    out = next;
    total += out->len;
  }
  if (!str_eq(out, text)) {
    printf("json: the round trip changed the text\n");
    return 1;
  }
  if (tree == NULL) tree = parse(text);
  printf("length: %ld\n", out->len);
  printf("total: %ld\n", total);
  printf("values: %ld\n", count_values(tree));
  printf("sum: %ld\n", sum_numbers(tree));
  printf("checksum: %ld\n", checksum(out));
  jvalue_free(tree);
  if (out != text) free(out);
  free(text);
  return 0;
}
