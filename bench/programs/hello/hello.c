/* Startup time: the smallest complete program. */
#include <stdio.h>

int main(void) {
  printf("hello, world\n");
  return 0;
}
