/* String building: the decimal numbers 0..N-1, each followed by a comma, are
   appended one by one to a chunk string (each append makes a new string, as
   with Toy's immutable strings: the old one is freed); every 100 numbers the
   chunk goes into a list, and the list is joined pairwise (a balanced
   concatenation tree) into one large string. Argument: N (default 3000000).
   Prints the length, a checksum of the bytes and the last 16 bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Str *str_of_int(long v) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%ld", v);
  return str_from(buf, n);
}

typedef struct Buf {
  Str **parts;
  long n, cap;
} Buf;

static Buf *buf_new(void) {
  Buf *b = malloc(sizeof(Buf));
  b->cap = 16; b->n = 0;
  b->parts = malloc(b->cap * sizeof(Str *));
  return b;
}

/* The buffer owns its pieces. */
static void buf_add(Buf *b, Str *s) {
  if (b->n == b->cap) {
    Str **bigger = malloc(2 * b->n * sizeof(Str *));
    for (long i = 0; i < b->n; i++) bigger[i] = b->parts[i];
    free(b->parts);
    b->parts = bigger;
    b->cap = 2 * b->n;
  }
  b->parts[b->n] = s;
  b->n++;
}

/* Concatenates adjacent pairs until one string is left; consumes b. */
static Str *buf_join(Buf *b) {
  Str *result;
  if (b->n == 0) {
    result = str_alloc(0);
  } else {
    Str **parts = b->parts;
    long n = b->n;
    while (n > 1) {
      long m = 0, i = 0;
      while (i + 1 < n) {
        Str *s = str_concat(parts[i], parts[i + 1]);
        free(parts[i]);
        free(parts[i + 1]);
        parts[m] = s;
        m++;
        i += 2;
      }
      if (i < n) {
        parts[m] = parts[i];
        m++;
      }
      n = m;
    }
    result = parts[0];
  }
  free(b->parts);
  free(b);
  return result;
}

static long checksum(const Str *s) {
  long h = 0;
  for (long i = 0; i < s->len; i++) h = (h * 31 + (unsigned char)s->data[i]) % 1000000007;
  return h;
}

int main(int argc, char **argv) {
  long n = 3000000;
  if (argc > 1) n = atol(argv[1]);
  Str *comma = str_from(",", 1);
  Buf *chunks = buf_new();
  Str *chunk = str_alloc(0);
  for (long i = 0; i < n; i++) {
    Str *num = str_of_int(i);
    Str *piece = str_concat(num, comma);
    Str *longer = str_concat(chunk, piece);
    free(num);
    free(piece);
    free(chunk);
    chunk = longer;
    if ((i + 1) % 100 == 0) {
      buf_add(chunks, chunk);
      chunk = str_alloc(0);
    }
  }
  if (chunk->len > 0) buf_add(chunks, chunk); else free(chunk);
  Str *s = buf_join(chunks);
  long from = s->len - 16 > 0 ? s->len - 16 : 0;
  printf("length: %ld\n", s->len);
  printf("checksum: %ld\n", checksum(s));
  printf("tail: %.*s\n", (int)(s->len - from), s->data + from);
  free(s);
  free(comma);
  return 0;
}
